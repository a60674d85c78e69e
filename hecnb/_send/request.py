"""What one request of a send is and shares: the run's common state, an attempt's progress, and
the outcome that the calling thread accounts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._compress import gzip_compress
from .._report.reasons import (
    INTERRUPTED,
    MAYBE_RECEIVED,
    NOT_SENT,
    STOPPED,
    _transport_failure,
    describe_timeout,
    is_delivered,
)
from .._report.report import BatchResult, FailedEvent, SendReport
from .._settings.config import IngestConfig
from .._settings.secret import MAX_ANSWER_BYTES, KeyAuth, Secret
from .answers import Answer, _maybe_received, _parse_answer, _read_bounded, _within
from .batching import Batch
from .retry import RetryPolicy, is_transient
from .throttle import Throttle, is_throttled
from .window import Window

USER_AGENT = "hecnb/0.1 (+httpx)"


INLINE_BODY_BYTES = 64 * 1024  # smaller bodies are compressed on the loop, not handed over


@dataclass
class Outcome:
    """One finished request: its result and the events it carried."""

    result: BatchResult
    batch: Batch
    reason: str = ""
    invalid_event: int | None = None  # position the collector named as bad (400 code 6/12/13)
    permanent: bool = False  # a failure no other batch can fare better with: stop the send
    halted: bool = False  # never sent, because an earlier permanent failure stopped the send
    warning: str | None = None  # delivered, but the answer was not a clean success


@dataclass
class _Send:
    """What every request of one run shares (no key: ``auth`` writes it into each request)."""

    config: IngestConfig
    url: str
    headers: dict[str, str]
    client: httpx.AsyncClient
    pool: cf.Executor | None  # the worker threads that make bodies
    window: Window | None
    auth: KeyAuth = field(repr=False)
    secrets: tuple[Secret, ...] = field(repr=False, default=())
    halt: str | None = None  # the permanent failure that stopped the run
    delivered_any: bool = False  # some request of the run was delivered
    throttle: Throttle | None = None  # the shared pause and pace (429 / 503 + Retry-After)
    answers: dict[int | None, int] = field(default_factory=dict)  # every attempt's status


@dataclass
class _Attempts:
    """How far one request got: enough to account for it when it is cancelled."""

    body: bytes = field(default=b"", repr=False)
    raw_len: int = 0
    attempts: int = 0
    errors: int = 0  # failed attempts that were not throttled (they use up retry_count)
    ambiguous: int = 0
    on_wire: bool = False  # this attempt's request went out: the collector may have it


def _headers(content_type: str, compress: bool) -> dict[str, str]:
    """The headers every request of a run carries; the key is not among them (``KeyAuth``
    writes it into each request). Answers are asked for uncompressed: they are read bounded."""
    headers = {"Content-Type": content_type, "Accept-Encoding": "identity"}
    if compress:
        headers["Content-Encoding"] = "gzip"
    return headers


def _unsent(batch: Batch) -> list[Outcome]:
    """The outcome of a batch whose task Ctrl-C cancelled before it started."""
    return [outcome(batch, None, None, NOT_SENT, 0, 0, b"", time.perf_counter())]


def _by_index(f: FailedEvent) -> int:
    return f.index


def _fail_all(report: SendReport, batch: Batch, reason: str, status: int | None = None,
              hec_code: int | None = None) -> None:
    """List every event of ``batch`` as failed, keeping the bytes for a resend."""
    for idx, original, part in zip(batch.indices, batch.originals, batch.parts, strict=True):
        report.failed.append(FailedEvent(idx, original, reason, status, hec_code, part))


def outcome(batch: Batch, status: int | None, hec_code: int | None, message: str,
             attempts: int, raw_len: int, body: bytes, t0: float,
             ambiguous: int = 0) -> Outcome:
    result = BatchResult(batch.seq, len(batch), status, hec_code, message, attempts,
                         raw_len, len(body) if attempts else 0, time.perf_counter() - t0,
                         ambiguous)
    return Outcome(result, batch, "" if is_delivered(status) else message)


class Requests:
    """The request part of :class:`~hecnb._send.engine.Engine` (a mixin): one batch posted
    with its retries, the 413 split and the shared throttle; it uses the engine's ``_stop``,
    ``_sleep``/``_slept``, ``retry``, ``_rng``, ``_log``, ``_transport`` and
    ``compress_level``."""

    _stop: threading.Event
    _sleep: Callable[[float], None] | None
    _slept: float
    retry: RetryPolicy
    _rng: random.Random
    _log: Callable[[str], None] | None
    _transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None
    compress_level: int

    async def _wait(self, seconds: float, send: _Send) -> bool:
        """Sleep between attempts; True when the send was stopped (or halted) meanwhile."""
        if self._sleep is not None:  # tests: no real waiting; the throttle's clock follows
            self._sleep(seconds)
            self._slept += seconds
            return self._stop.is_set() or send.halt is not None
        end = time.monotonic() + seconds
        while not self._stop.is_set() and send.halt is None:
            left = end - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, 0.1))  # Engine.stop() from a thread ends it soon
        return True

    async def _paced(self, throttle: Throttle, events: int, send: _Send) -> None:
        """Wait out the shared pause and this request's slot of the pace (if throttled)."""
        while True:
            seconds, slot = throttle.plan(events)
            if seconds <= 0:
                return
            if await self._wait(seconds, send):
                return  # stopped or halted meanwhile: the caller sees it
            if slot and throttle.paused_for() <= 0:
                return

    def _body(self, batch: Batch, compress: bool) -> tuple[bytes, int]:
        """``(request body, uncompressed length)``: assembled and, if asked, gzip-compressed."""
        body = batch.body()
        raw_len = len(body)
        if compress:
            body = gzip_compress(body, self.compress_level)
        return body, raw_len

    async def _exchange(self, send: _Send, body: bytes, state: _Attempts) -> Answer:
        """One attempt: POST ``body`` and read at most MAX_ANSWER_BYTES of the answer, all
        within one deadline of ``ingest_timeout`` (connect, upload and answer together, so a
        server that trickles bytes cannot hold a request longer). Never raises for HTTP or
        network trouble; a cancellation (Ctrl-C) propagates with ``state.on_wire`` telling
        whether the request had gone out."""
        timeout = send.config.ingest_timeout
        state.on_wire = self._transport is not None  # a custom transport: assume it went out

        phase = "connecting"

        async def trace(name: str, info: dict[str, Any]) -> None:
            nonlocal phase
            if name == "http11.send_request_headers.started" and getattr(
                    info.get("request"), "method", None) == b"POST":  # not a proxy's CONNECT
                state.on_wire = True  # from here the collector may get the whole request
                phase = "sending the request"
            elif name == "http11.send_request_body.complete" and state.on_wire:
                phase = "waiting for the answer"

        request = send.client.build_request("POST", send.url, content=body,
                                            headers=send.headers, timeout=timeout,
                                            extensions={"trace": trace})
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        deadline = t0 + timeout
        try:
            resp = await _within(deadline, send.client.send(request, auth=send.auth,
                                                            stream=True))
        except asyncio.TimeoutError:
            if state.on_wire and phase == "connecting":  # a custom transport: no trace
                phase = "waiting for the answer"
            host = httpx.URL(send.url).host
            state.on_wire, received = False, state.on_wire
            return Answer(None, reason=describe_timeout(host, timeout, phase),
                          received=received, seconds=loop.time() - t0)
        except httpx.TransportError as exc:  # the one place httpx errors are translated
            reason, permanent = _transport_failure(exc, send.url, timeout, send.secrets)
            received = _maybe_received(exc) and state.on_wire
            state.on_wire = False
            return Answer(None, reason=reason, permanent=permanent, received=received,
                          seconds=loop.time() - t0)
        chunks: list[bytes] = []
        note = ""
        in_memory = resp.is_stream_consumed  # made whole by a mock transport (decoded already)
        try:
            try:
                cut = await _within(deadline, _read_bounded(resp, chunks))
            except asyncio.TimeoutError:
                cut, note = True, f"the rest of the answer did not come within {timeout:g} s"
            except httpx.TransportError:
                cut, note = True, "the connection broke during the answer"
        finally:
            await resp.aclose()
        state.on_wire = False
        seconds = loop.time() - t0
        answer = _parse_answer(resp.status_code, resp.headers, b"".join(chunks)[
            :MAX_ANSWER_BYTES], cut, send.secrets, note, decoded=in_memory)
        answer.seconds = seconds
        return answer

    async def _post(self, batch: Batch, send: _Send) -> Outcome:
        """POST one batch with retries; never raises for HTTP or network trouble.

        The body is made on a worker thread (inline when small); a cancelled task (Ctrl-C)
        becomes an outcome that says whether the request had gone out.
        """
        t0 = time.perf_counter()
        if self._stop.is_set():
            return outcome(batch, None, None, NOT_SENT, 0, 0, b"", t0)
        if send.halt is not None:
            return self._halted(batch, send, t0)
        state = _Attempts()
        try:
            if batch.size < INLINE_BODY_BYTES or send.pool is None:
                state.body, state.raw_len = self._body(batch, send.config.compress)
            else:
                state.body, state.raw_len = await asyncio.get_running_loop().run_in_executor(
                    send.pool, self._body, batch, send.config.compress)
            assert send.window is not None
            await send.window.acquire()
            rtt: float | None = None
            try:
                out, rtt = await self._attempts(batch, send, state, t0)
                return out
            finally:
                send.window.release(rtt)  # a first attempt's round trip tunes the window
        except (asyncio.CancelledError, RuntimeError) as exc:
            # cancelled by an interrupt, or the worker pool was already shut down by one
            if isinstance(exc, RuntimeError) and not self._stop.is_set():
                raise
            reason = INTERRUPTED if state.attempts else NOT_SENT
            if state.on_wire:  # the request was (being) sent: the collector may have it
                state.ambiguous += 1
                reason = INTERRUPTED + MAYBE_RECEIVED
            return outcome(batch, None, None, reason, state.attempts, state.raw_len,
                                 state.body, t0, state.ambiguous)

    def _halted(self, batch: Batch, send: _Send, t0: float, state: _Attempts | None = None
                ) -> Outcome:
        """The outcome of a batch an earlier permanent failure kept from being sent."""
        out = outcome(batch, None, None, STOPPED + (send.halt or ""), 0,
                            state.raw_len if state else 0, b"", t0)
        out.halted = True
        return out

    async def _attempts(self, batch: Batch, send: _Send, state: _Attempts, t0: float
                        ) -> tuple[Outcome, float | None]:
        """The attempts of one request: ``(outcome, first attempt's round trip if delivered)``.
        ``state`` is kept up to date so that a cancellation can still be accounted."""
        body = state.body
        last: Outcome | None = None
        throttle = send.throttle
        while True:
            if throttle is not None:  # the shared pause and pace come before every attempt
                await self._paced(throttle, len(batch), send)
            if self._stop.is_set():
                return outcome(batch, None, None,
                                     INTERRUPTED if state.attempts else NOT_SENT,
                                     state.attempts, state.raw_len, body, t0,
                                     state.ambiguous), None
            if send.halt is not None:  # another request met a permanent failure
                return (last or self._halted(batch, send, t0, state)), None
            state.attempts += 1
            ans = await self._exchange(send, body, state)
            if ans.received:
                state.ambiguous += 1
            status = ans.status
            send.answers[status] = send.answers.get(status, 0) + 1
            if is_delivered(status):
                send.delivered_any = True
                if throttle is not None:
                    throttle.delivered(len(batch))
                rtt = ans.seconds if state.attempts == 1 else None
                if self._log:
                    self._log(f"BATCH {batch.seq}: {len(batch)} events, STATUS CODE: {status}, "
                              f"RESPONSE: {ans.text}")
                out = outcome(batch, status, ans.hec_code, ans.text, state.attempts,
                                    state.raw_len, body, t0, state.ambiguous)
                out.warning = ans.warning
                return out, rtt
            reason = ans.reason
            if status is None and self._stop.is_set():
                reason = INTERRUPTED
            if ans.received:
                reason += MAYBE_RECEIVED
            if self._log:
                self._log(f"BATCH {batch.seq}: attempt {state.attempts} failed: {reason}")
            out = outcome(batch, status, ans.hec_code, ans.text, state.attempts,
                                state.raw_len, body, t0, state.ambiguous)
            out.reason = reason
            out.invalid_event = ans.invalid_event if status == 400 else None
            out.permanent = ans.permanent
            if throttle is not None and is_throttled(status, ans.retry_after):
                # back-pressure, not failure: one pause for the whole send, a slower pace,
                # and no retry used up; only a collector that accepts nothing for
                # retry_max_elapsed seconds ends the send
                throttle.throttled(ans.retry_after)
                if send.window is not None:
                    send.window.throttled()
                if throttle.exhausted():
                    out.permanent = True
                    out.reason = (f"{reason}; throttled for more than "
                                  f"{throttle.budget:g} s with nothing accepted "
                                  "(retry_max_elapsed)")
                    return out, None
                if self._stop.is_set():
                    return out, None
                last = out
                continue
            state.errors += 1
            if (ans.permanent or not is_transient(status) or state.errors > self.retry.retries
                    or self._stop.is_set()):
                return out, None
            last = out
            if await self._wait(self.retry.delay(state.errors - 1, ans.retry_after,
                                                 self._rng), send):
                if send.halt is not None and not self._stop.is_set():
                    return out, None  # its own last failure, not the other request's
                return outcome(batch, None, None, INTERRUPTED, state.attempts,
                                     state.raw_len, body, t0, state.ambiguous), None

    async def _deliver(self, batch: Batch, send: _Send) -> list[Outcome]:
        """POST a batch; split it on 413, set aside an event the collector names as bad, and
        stop the run at a permanent failure."""
        outcomes: list[Outcome] = []
        todo = [batch]
        while todo:
            b = todo.pop()
            out = await self._post(b, send)
            status = out.result.status
            if status == 413 and len(b) == 1 and not send.delivered_any:
                # not even one event fits, and nothing was accepted: the limit is not about
                # this batch, and halving further cannot help (a collector answering 413 to
                # everything costs one path of halvings, not 2N - 1 requests)
                out.permanent = True
                out.reason += ("; even a single event was refused before any request was "
                               "accepted: check the collector's (or a proxy's) size limit")
            if out.permanent and send.halt is None:
                send.halt = out.reason
            if status == 413 and len(b) > 1 and not self._stop.is_set() and send.halt is None:
                first, second = b.split()
                todo += [second, first]
                continue
            position = out.invalid_event
            if status == 400 and position is not None and len(b) > 1 and 0 <= position < len(b):
                one, rest = b.without(position)
                outcomes.append(Outcome(BatchResult(b.seq, 1, 400, out.result.hec_code,
                                                    out.result.message, out.result.attempts),
                                        one, out.reason))
                todo.append(rest)
                continue
            outcomes.append(out)
        return outcomes
