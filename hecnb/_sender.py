"""The engine: encode -> batch -> (worker threads) gzip -> (event loop) POST with retries ->
SendReport.

One ``httpx.AsyncClient`` (a keep-alive connection pool) per engine, driven by one event-loop
thread (``_aio.LoopThread``) and kept from send to send. The calling thread encodes events and
hands full batches to the loop; worker threads make the bodies; as many requests are in flight
as the adaptive window (``_window.Window``) allows, and at most the window plus
``thread_count`` batches exist at once, so memory stays bounded for streams of any length. The
calling thread also collects outcomes and updates the progress bar, so the bar is only touched
from one thread.

Every event ends in exactly one place: ``delivered`` (a 200 answer for its request) or
``failed`` (with the reason). A request whose answer was lost may have been accepted by the
server anyway, so delivery is at least once, never at most once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
import os
import random
import signal
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import httpx

from ._aio import LoopThread, ThreadedTransport
from ._batching import Batch, Batcher
from ._compress import gzip_compress
from ._config import DEFAULT_MAX_IN_FLIGHT, MAX_EVENT_BYTES, IngestConfig
from ._errors import ConversionError
from ._report import BatchResult, FailedEvent, SendReport
from ._retry import RetryPolicy, is_transient, parse_retry_after
from ._window import Window

__all__ = ["Encoder", "Engine", "Outcome", "describe_status", "describe_transport_error"]

USER_AGENT = "hecnb/0.1 (+httpx)"
INTERRUPTED = "interrupted before the collector confirmed it"
INLINE_BODY_BYTES = 64 * 1024  # smaller bodies are compressed on the loop, not handed over
NOT_SENT = "interrupted before it was sent"


class Encoder(Protocol):
    """What the engine needs from a format: one event -> bytes, and parts -> a request body."""

    content_type: str

    def encode(self, evt: Any) -> bytes: ...

    def body(self, parts: list[bytes]) -> bytes: ...


_STATUS_HINTS = {
    400: "the collector rejected the data as invalid",
    401: "the API key is missing or malformed",
    403: "the API key is not valid for this connector",
    404: "no HEC endpoint at this URL: check the URL key, region and path",
    405: "this URL does not accept POST: check the path",
    408: "the collector timed out reading the request",
    413: "the request is larger than the collector accepts",
    429: "the collector is rate limiting this connector",
    500: "the collector had an internal error",
    502: "a gateway in front of the collector failed",
    503: "the collector is busy",
    504: "a gateway in front of the collector timed out",
}


def describe_status(status: int, hec_code: int | None, text: str) -> str:
    """A stable, readable reason for an HTTP error answer (used to group failures)."""
    hint = _STATUS_HINTS.get(status, "unexpected answer")
    detail = f": {text}" if text else ""
    code = f", code {hec_code}" if hec_code is not None else ""
    return f"HTTP {status} ({hint}{code}){detail}"


def describe_transport_error(exc: BaseException, url: str, timeout: float) -> str:
    """A reason a user can act on for a request that got no HTTP answer."""
    host = httpx.URL(url).host
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    text = " ".join(str(e) for e in chain).lower()
    if isinstance(exc, httpx.TimeoutException):
        what = "connecting" if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)) else (
            "waiting for the answer")
        return (f"timeout: no progress for {timeout:g} s while {what} ({host}); "
                "check proxies and firewalls or raise ingest_timeout")
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or (
            "certificate verify failed" in text):
        return (f"TLS: the certificate of {host} could not be verified; behind a TLS-inspecting "
                "proxy pass verify='/path/to/corporate-ca.pem'")
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return f"TLS: the secure connection to {host} failed ({exc})"
    if ("name or service not known" in text or "nodename nor servname" in text
            or "getaddrinfo failed" in text or "temporary failure in name resolution" in text
            or "no address associated" in text or "[errno -2]" in text or "[errno -3]" in text
            or "[errno -5]" in text or "[errno 8]" in text):
        return (f"DNS: cannot resolve {host}; check the URL key and region (or the API URL) "
                "and your DNS/proxy settings")
    if "refused" in text or any(isinstance(e, ConnectionRefusedError) for e in chain):
        return f"connection refused by {host}: nothing is listening at that address and port"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return f"connection to {host} dropped before an answer arrived"
    return f"network error talking to {host}: {type(exc).__name__}: {exc}"


@dataclass
class Outcome:
    """One finished request: its result and the events it carried."""

    result: BatchResult
    batch: Batch
    reason: str = ""
    invalid_event: int | None = None  # position the collector named as bad (400 code 6/12/13)


@dataclass
class _Send:
    """What every request of one run shares."""

    config: IngestConfig
    url: str
    headers: dict[str, str] = field(repr=False)  # they carry the API key
    client: httpx.AsyncClient
    pool: cf.Executor  # the worker threads that make bodies
    window: Window


@dataclass
class _Attempts:
    """How far one request got: enough to account for it when it is cancelled."""

    body: bytes = field(default=b"", repr=False)
    raw_len: int = 0
    attempts: int = 0
    ambiguous: int = 0
    in_request: bool = False


class Engine:
    """Sends events for one HEC instance. Holds the HTTP clients; knows nothing of notebooks.

    ``thread_count`` worker threads assemble and gzip request bodies (zlib releases the GIL);
    one event-loop thread (``hecnb-io``) keeps up to ``max_in_flight`` requests going at once
    over an ``httpx.AsyncClient`` pool, so a slow round trip does not idle the CPUs.
    """

    def __init__(
        self,
        *,
        thread_count: int,
        retry: RetryPolicy,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        compress_level: int = 1,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        log: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.thread_count = thread_count
        self.max_in_flight = max_in_flight
        self.retry = retry
        self.compress_level = compress_level
        self._transport = transport
        self._sleep = sleep
        self._log = log
        self._rng = rng or random.Random()
        self._io: LoopThread | None = None
        self._contexts: dict[str, ssl.SSLContext] = {}  # per CA bundle path ('' = default)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.last_report: SendReport | None = None
        self.last_window: Window | None = None  # the last run's window (how it adapted)
        self.last_placed = 0  # input position the last run had reached
        self._interrupted = False

    # -- clients -----------------------------------------------------------------------------
    def _verify(self, config: IngestConfig) -> Any:
        """What the pool gets for ``verify``: one SSL context per setting, made once (loading
        a CA bundle takes ~20 ms, and the pool is remade when settings change); a CA bundle
        path becomes a context here because httpx deprecates paths."""
        verify = config.verify
        if verify is True:
            key = ""
        elif isinstance(verify, (str, os.PathLike)):
            key = os.fspath(verify)
        else:
            return verify  # False, or the user's own SSLContext
        cached = self._contexts.get(key)
        if cached is None:
            if not key:
                cached = httpx.create_ssl_context(verify=True, trust_env=True)
            elif os.path.isdir(key):
                cached = ssl.create_default_context(capath=key)
            else:
                cached = ssl.create_default_context(cafile=key)
            self._contexts[key] = cached
        return cached

    def _loop(self) -> LoopThread:
        """The event-loop thread, started on first use and kept until ``close``."""
        with self._lock:
            if self._io is None or not self._io.alive:
                self._io = LoopThread()
            return self._io

    async def _ready(self, config: IngestConfig) -> httpx.AsyncClient:
        """The pooled async client for this configuration, made (and the async stack loaded)
        before a send starts encoding; runs on the loop.

        Done while the calling thread waits: the same work under the first request would
        contend for the GIL with the encoder, and imports and certificate loading (many small
        GIL releases) would then take several times as long.
        """
        io = self._io
        assert io is not None
        key = (id(config.verify), config.verify, self.max_in_flight)
        client = io.client
        if client is None or client.is_closed or io.client_key != key:
            if client is not None:
                await client.aclose()
            limits = httpx.Limits(max_connections=self.max_in_flight,
                                  max_keepalive_connections=self.max_in_flight,
                                  keepalive_expiry=30.0)
            transport: httpx.AsyncBaseTransport | None = None
            if isinstance(self._transport, httpx.AsyncBaseTransport):
                transport = self._transport
            elif self._transport is not None:
                transport = ThreadedTransport(self._transport)
            client = httpx.AsyncClient(transport=transport, verify=self._verify(config),
                                       limits=limits, headers={"User-Agent": USER_AGENT},
                                       follow_redirects=False, trust_env=True)
            io.client, io.client_key = client, key
            import anyio  # httpx's own dependency; its asyncio backend loads on first use

            await anyio.sleep(0)
        return client

    def request(self, config: IngestConfig, url: str, body: bytes, headers: dict[str, str]
                ) -> tuple[httpx.Response, float]:
        """One POST on the send pool from the calling thread, no retries (connection checks):
        ``(answer, seconds it took)``; raises ``httpx.TransportError`` when none came."""
        io = self._loop()

        async def post() -> tuple[httpx.Response, float]:
            client = await self._ready(config)
            t0 = time.perf_counter()
            resp = await client.post(url, content=body, headers=headers,
                                     timeout=config.ingest_timeout)
            return resp, time.perf_counter() - t0

        return io.run(post())

    def close(self) -> None:
        """Close the connection pool and stop the event-loop thread."""
        with self._lock:
            io, self._io = self._io, None
        if io is not None:
            io.close()

    @property
    def clients(self) -> list[httpx.AsyncClient]:
        """The HTTP client in use (none before the first request)."""
        io = self._io
        if io is not None and io.client is not None and not io.client.is_closed:
            return [io.client]
        return []

    # -- one request -------------------------------------------------------------------------
    async def _wait(self, seconds: float) -> bool:
        """Sleep between attempts; True when the send was stopped meanwhile."""
        if self._sleep is not None:
            self._sleep(seconds)
            return self._stop.is_set()
        end = time.monotonic() + seconds
        while not self._stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, 0.1))  # Engine.stop() from a thread ends it soon
        return True

    def _body(self, batch: Batch, compress: bool) -> tuple[bytes, int]:
        """``(request body, uncompressed length)``: assembled and, if asked, gzip-compressed."""
        body = batch.body()
        raw_len = len(body)
        if compress:
            body = gzip_compress(body, self.compress_level)
        return body, raw_len

    async def _post(self, batch: Batch, send: _Send) -> Outcome:
        """POST one batch with retries; never raises for HTTP or network trouble.

        The body is made on a worker thread (inline when small); a cancelled task (Ctrl-C)
        becomes an outcome that says whether the request had gone out.
        """
        t0 = time.perf_counter()
        if self._stop.is_set():
            return self._outcome(batch, None, None, NOT_SENT, 0, 0, b"", t0)
        state = _Attempts()
        try:
            if batch.size < INLINE_BODY_BYTES:
                state.body, state.raw_len = self._body(batch, send.config.compress)
            else:
                state.body, state.raw_len = await asyncio.get_running_loop().run_in_executor(
                    send.pool, self._body, batch, send.config.compress)
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
            if state.in_request:
                state.ambiguous += 1
                reason += " (the collector may have received it)"
            return self._outcome(batch, None, None, reason, state.attempts, state.raw_len,
                                 state.body, t0, state.ambiguous)

    async def _attempts(self, batch: Batch, send: _Send, state: _Attempts, t0: float
                        ) -> tuple[Outcome, float | None]:
        """The attempts of one request: ``(outcome, first attempt's round trip if it was 200)``.
        ``state`` is kept up to date so that a cancellation can still be accounted."""
        url, timeout, body = send.url, send.config.ingest_timeout, state.body
        while True:
            if self._stop.is_set():
                return self._outcome(batch, None, None,
                                     INTERRUPTED if state.attempts else NOT_SENT,
                                     state.attempts, state.raw_len, body, t0,
                                     state.ambiguous), None
            state.attempts += 1
            retry_after = None
            invalid = None
            state.in_request = True
            sent_at = time.perf_counter()
            try:
                resp = await send.client.post(url, content=body, headers=send.headers,
                                              timeout=timeout)
            except httpx.TransportError as exc:  # the one place httpx errors are translated
                status, hec_code, text = None, None, ""
                reason = (INTERRUPTED if self._stop.is_set()
                          else describe_transport_error(exc, url, timeout))
                if _maybe_received(exc):
                    state.ambiguous += 1
                    reason += " (the collector may have received it)"
            else:
                status = resp.status_code
                hec_code, text, invalid = _hec_answer(resp)
                if status == 200:
                    rtt = time.perf_counter() - sent_at if state.attempts == 1 else None
                    if self._log:
                        self._log(f"BATCH {batch.seq}: {len(batch)} events, STATUS CODE: 200, "
                                  f"RESPONSE: {resp.text[:200]}")
                    return self._outcome(batch, 200, hec_code, text, state.attempts,
                                         state.raw_len, body, t0, state.ambiguous), rtt
                reason = describe_status(status, hec_code, text)
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
            finally:
                state.in_request = False
            if self._log:
                self._log(f"BATCH {batch.seq}: attempt {state.attempts} failed: {reason}")
            if (not is_transient(status) or state.attempts > self.retry.retries
                    or self._stop.is_set()):
                out = self._outcome(batch, status, hec_code, text, state.attempts,
                                    state.raw_len, body, t0, state.ambiguous)
                out.reason = reason
                out.invalid_event = invalid if status == 400 else None
                return out, None
            if await self._wait(self.retry.delay(state.attempts - 1, retry_after, self._rng)):
                return self._outcome(batch, None, None, INTERRUPTED, state.attempts,
                                     state.raw_len, body, t0, state.ambiguous), None

    @staticmethod
    def _outcome(batch: Batch, status: int | None, hec_code: int | None, message: str,
                 attempts: int, raw_len: int, body: bytes, t0: float,
                 ambiguous: int = 0) -> Outcome:
        result = BatchResult(batch.seq, len(batch), status, hec_code, message, attempts,
                             raw_len, len(body) if attempts else 0, time.perf_counter() - t0,
                             ambiguous)
        return Outcome(result, batch, "" if status == 200 else message)

    async def _deliver(self, batch: Batch, send: _Send) -> list[Outcome]:
        """POST a batch; split it on 413, and set aside an event the collector names as bad."""
        outcomes: list[Outcome] = []
        todo = [batch]
        while todo:
            b = todo.pop()
            out = await self._post(b, send)
            status = out.result.status
            if status == 413 and len(b) > 1 and not self._stop.is_set():
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

    # -- many events -------------------------------------------------------------------------
    def run(
        self,
        events: Iterable[Any],
        *,
        config: IngestConfig,
        encoder: Encoder,
        show_progress: bool | None = False,
        total: int | None = None,
        indexed: bool = False,
        encoded: bool = False,
        url: str | None = None,
        ingest_format: str | None = None,
    ) -> SendReport:
        """Send every event; return the report. Re-raises KeyboardInterrupt after accounting.

        ``events`` yields events, or with ``indexed=True`` ``(index, event)`` pairs (file line
        numbers), or with ``encoded=True`` chunks ``(indices, event bytes, originals)`` already
        encoded (the DataFrame fast path; the encoder then only assembles bodies).
        """
        self.last_report = None  # an early error must not leave the previous run's report
        url = url or config.target_url
        headers = config.headers()
        headers["Content-Type"] = encoder.content_type
        if config.compress:
            headers["Content-Encoding"] = "gzip"
        report = SendReport(url=url, ingest_format=ingest_format or config.ingest_format,
                            raw=bool(getattr(encoder, "raw", config.raw_ingest)), encoder=encoder)
        if total is None and hasattr(events, "__len__"):
            total = len(events)  # type: ignore[arg-type]
        if isinstance(events, (str, bytes)):
            raise ConversionError("send() takes a list (or iterable) of events, not a single "
                                  "str; use send_event() for one event.")
        if isinstance(events, Sequence) and not indexed and not encoded:
            _precheck(events)
        self._stop.clear()
        self._interrupted = False
        batcher = Batcher(config.batch_max_bytes, config.batch_max_events, assemble=encoder.body,
                          overhead=getattr(encoder, "overhead", 0))
        producer = _Chunks(events, encoder, indexed=indexed, encoded=encoded)
        bar = _progress(show_progress, total)
        pending: dict[cf.Future[list[Outcome]], Batch] = {}
        window = Window(self.thread_count, self.max_in_flight)
        t0 = time.perf_counter()
        placed = 0  # input position reached: everything before it is in a batch or failed
        inbox: list[Outcome] = []  # finished outcomes not yet accounted
        unsent: list[Batch] = []  # closed batches not yet handed to the event loop

        def account(out: Outcome) -> None:
            res = out.result
            report.batches.append(res)
            report.bytes_raw += res.bytes_raw
            report.bytes_sent += res.bytes_sent
            if res.status == 200:
                report.delivered += res.events
            else:
                _fail_all(report, out.batch, out.reason, res.status, res.hec_code)
            if report.last_status is None or report.last_status == 200 or res.status != 200:
                report.last_status = 0 if res.status is None else res.status
                report.last_message = res.message if res.status == 200 else out.reason
            if bar is not None:
                bar.update(res.events)
                if report.failed:
                    bar.set_postfix(failed=len(report.failed), refresh=False)

        def collect() -> None:
            done, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                inbox.extend(fut.result())  # an error leaves it pending, for the abort
                del pending[fut]
            while inbox:
                account(inbox[0])
                del inbox[0]
            self._check_interrupt()

        def fail_now(failures: list[FailedEvent]) -> None:
            report.failed.extend(failures)
            if bar is not None:
                bar.update(len(failures))

        executor = cf.ThreadPoolExecutor(max_workers=self.thread_count,
                                         thread_name_prefix="hecnb-send")
        io = self._loop()
        send: _Send | None = None

        def submit(batch: Batch) -> None:
            # batches alive at once: the window's worth in flight plus one being compressed per
            # thread; this bounds memory for streams of any length
            while len(pending) >= window.limit + self.thread_count:
                collect()
            assert send is not None
            fut = io.submit(self._deliver(batch, send), if_cancelled=partial(_unsent, batch))
            pending[fut] = batch

        interrupted: BaseException | None = None
        previous_handler = self._catch_sigint()
        try:
            try:
                client = io.run(self._ready(config))
            except cf.CancelledError:  # Ctrl-C while the pool was being made
                self._check_interrupt()
                raise
            send = _Send(config, url, headers, client, executor, window)
            for indices, parts, originals, failures in producer:
                if failures:
                    fail_now(failures)
                if parts and max(map(len, parts)) > MAX_EVENT_BYTES:
                    indices, parts, originals, too_big = _drop_oversize(indices, parts,
                                                                        originals)
                    fail_now(too_big)
                unsent.extend(batcher.add_many(indices, parts, originals))
                producer.current = producer.current_chunk = None
                placed = producer.position
                while unsent:
                    submit(unsent[0])
                    del unsent[0]
                self._check_interrupt()
            batch = batcher.flush()
            if batch is not None:
                unsent.append(batch)
                submit(batch)
                del unsent[0]
            while pending:
                collect()
        except BaseException as exc:  # KeyboardInterrupt above all: account, then re-raise
            interrupted = exc
            if producer.current and not isinstance(events, Sequence):
                fail_now([FailedEvent(p[0], p[-1], NOT_SENT) for p in producer.current])
            if encoded:  # chunks taken but not placed, and (for a list) those never taken
                rest = [producer.current_chunk] if producer.current_chunk is not None else []
                if isinstance(events, Sequence):
                    rest += list(events[producer.chunks_taken:])
                for idxs, parts, origs in rest:
                    fail_now([FailedEvent(i, o, NOT_SENT, payload=p)
                              for i, p, o in zip(idxs, parts, origs, strict=True)])
            for out in inbox:
                account(out)
            queued = {id(b) for b in pending.values()}
            for batch in unsent:
                if id(batch) not in queued:
                    _fail_all(report, batch, NOT_SENT)
            self._abort(pending, batcher, report, events, placed, account,
                        encoded=encoded, indexed=indexed)
        finally:
            self._release_sigint(previous_handler)
            executor.shutdown(wait=True, cancel_futures=True)
            report.elapsed = time.perf_counter() - t0
            report.in_flight_peak = window.most
            self.last_window = window
            report.total = report.delivered + len(report.failed)
            report.failed.sort(key=_by_index)
            if bar is not None:
                bar.close()
        self.last_report = report
        self.last_placed = placed
        if interrupted is not None:
            report.interrupted = True
            raise interrupted
        return report

    # -- Ctrl-C: taken at safe points ------------------------------------------------------------
    def _catch_sigint(self) -> Any:
        """On the main thread, turn SIGINT into a flag the send loop checks at safe points.

        The loop then raises KeyboardInterrupt itself, between two steps of its bookkeeping,
        so no batch can be half-accounted. Requests in flight are cut at once. A second
        Ctrl-C goes to the previous handler (an immediate KeyboardInterrupt).
        """
        if threading.current_thread() is not threading.main_thread():
            return None
        try:
            return signal.signal(signal.SIGINT, self._on_sigint)
        except (ValueError, OSError):  # pragma: no cover - embedded interpreters
            return None

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self._interrupted = True
        self._stop.set()
        io = self._io
        if io is not None:
            io.cancel_all()  # requests in flight end now, not after ingest_timeout
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def _release_sigint(self, previous: Any) -> None:
        if previous is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGINT, previous)

    def _check_interrupt(self) -> None:
        if self._interrupted:
            raise KeyboardInterrupt

    def _abort(self, pending: dict[cf.Future[list[Outcome]], Batch], batcher: Batcher,
               report: SendReport, events: Iterable[Any], consumed: int,
               account: Callable[[Outcome], None], *, encoded: bool = False,
               indexed: bool = False) -> None:
        """Stop quickly and put every unconfirmed event in the report."""
        self._stop.set()
        io = self._io
        if io is not None:
            io.cancel_all()  # each task turns its cancellation into an outcome
        for fut, batch in list(pending.items()):
            try:
                for out in fut.result(timeout=5):
                    account(out)
            except BaseException:
                _fail_all(report, batch, INTERRUPTED)
        rest = batcher.flush()
        if rest is not None:
            _fail_all(report, rest, NOT_SENT)
        if isinstance(events, Sequence) and not encoded and not indexed:
            for idx in range(consumed, len(events)):
                report.failed.append(FailedEvent(idx, events[idx], NOT_SENT))

    def stop(self) -> None:
        """Ask a running send to stop (from another thread)."""
        self._stop.set()


CHUNK = 2048


class _Chunks:
    """The input as chunks ``(indices, event bytes, originals, failures)``.

    ``current`` holds the ``(index, event)`` pairs taken from the input but not yet placed, so
    an interrupt or an exception from the user's iterator loses none of them; ``position`` is
    the input position after the last chunk handed out.
    """

    def __init__(self, events: Iterable[Any], encoder: Encoder, *, indexed: bool,
                 encoded: bool) -> None:
        self.events = events
        self.encoder = encoder
        self.indexed = indexed
        self.encoded = encoded
        self.current: list[tuple[Any, ...]] | None = None
        self.current_chunk: Any = None  # encoded: the chunk taken but not yet placed
        self.chunks_taken = 0
        self.position = 0

    def __iter__(self) -> Iterator[tuple[Sequence[int], list[bytes], Sequence[Any],
                                         list[FailedEvent]]]:
        if self.encoded:
            for chunk in self.events:
                self.current_chunk = chunk
                self.chunks_taken += 1
                indices, parts, originals = chunk
                self.position = indices[-1] + 1 if len(indices) else self.position
                yield indices, parts, originals, []
            return
        for indices, values, originals in self._blocks():
            yield self._encode(indices, values, originals)

    def _blocks(self) -> Iterator[tuple[Sequence[int], Sequence[Any], Sequence[Any]]]:
        """``(indices, events to encode, originals to report)`` per chunk of the input."""
        events = self.events
        if isinstance(events, Sequence) and not self.indexed:  # a list: slices, nothing per event
            for start in range(0, len(events), CHUNK):
                values = events[start:start + CHUNK]
                self.position = start + len(values)
                yield range(start, self.position), values, values
            return
        it = iter(events)
        start = 0
        while True:
            block: list[tuple[Any, ...]] = []
            self.current = block  # kept until placed: an interrupt loses none of them
            if self.indexed:
                for pair in it:
                    block.append(pair)
                    if len(block) == CHUNK:
                        break
            else:
                for evt in it:
                    block.append((start + len(block), evt))
                    if len(block) == CHUNK:
                        break
            if not block:
                self.current = None
                return
            start += len(block)
            values = [p[1] for p in block]
            # (index, event, original): what to report may differ from what is encoded
            originals = [p[-1] for p in block] if len(block[0]) == 3 else values
            self.position = block[-1][0] + 1
            yield [p[0] for p in block], values, originals

    def _encode(self, indices: Sequence[int], values: Sequence[Any], originals: Sequence[Any]
                ) -> tuple[Sequence[int], list[bytes], Sequence[Any], list[FailedEvent]]:
        """Encode a chunk; events that cannot be encoded become failures, the rest go on."""
        encode_list = getattr(self.encoder, "encode_list", None)
        try:
            if encode_list is not None:
                return indices, encode_list(values), originals, []
            return indices, [self.encoder.encode(e) for e in values], originals, []
        except ConversionError:
            pass
        parts, keep_i, keep_o, failures = [], [], [], []
        for i, e, o in zip(indices, values, originals, strict=True):
            try:
                parts.append(self.encoder.encode(e))
            except ConversionError as exc:
                failures.append(FailedEvent(i, o, f"not sent: {exc}"))
            else:
                keep_i.append(i)
                keep_o.append(o)
        return keep_i, parts, keep_o, failures


def _unsent(batch: Batch) -> list[Outcome]:
    """The outcome of a batch whose task Ctrl-C cancelled before it started."""
    return [Engine._outcome(batch, None, None, NOT_SENT, 0, 0, b"", time.perf_counter())]


def _drop_oversize(indices: Sequence[int], parts: list[bytes], originals: Sequence[Any]
                   ) -> tuple[list[int], list[bytes], list[Any], list[FailedEvent]]:
    """Set aside events over the collector's per-event limit (they are never sent)."""
    keep_i, keep_p, keep_o, too_big = [], [], [], []
    for i, p, o in zip(indices, parts, originals, strict=True):
        if len(p) > MAX_EVENT_BYTES:
            too_big.append(FailedEvent(i, o, f"not sent: the event is larger than the "
                                       f"collector's {MAX_EVENT_BYTES:,}-byte limit per event; "
                                       "trim or split it"))
        else:
            keep_i.append(i)
            keep_p.append(p)
            keep_o.append(o)
    return keep_i, keep_p, keep_o, too_big


def _by_index(f: FailedEvent) -> int:
    return f.index


def _fail_all(report: SendReport, batch: Batch, reason: str, status: int | None = None,
              hec_code: int | None = None) -> None:
    """List every event of ``batch`` as failed, keeping the bytes for a resend."""
    for idx, original, part in zip(batch.indices, batch.originals, batch.parts, strict=True):
        report.failed.append(FailedEvent(idx, original, reason, status, hec_code, part))


def _maybe_received(exc: httpx.TransportError) -> bool:
    """True when the request may have reached the collector whole before the answer was lost."""
    return not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                                httpx.WriteError, httpx.WriteTimeout, httpx.UnsupportedProtocol,
                                httpx.ProxyError))


def _hec_answer(resp: httpx.Response) -> tuple[int | None, str, int | None]:
    """``(code, text, invalid-event-number)`` from a Splunk-style JSON answer, or best effort."""
    try:
        data = resp.json()
    except ValueError:
        return None, resp.text.strip()[:300], None
    if isinstance(data, dict):
        code = data.get("code")
        bad = data.get("invalid-event-number")
        return ((code if isinstance(code, int) else None), str(data.get("text", "")),
                bad if isinstance(bad, int) else None)
    return None, str(data)[:300], None


def _precheck(events: Sequence[Any]) -> None:
    """Fail fast, before anything is sent, on an item that can never be an event."""
    from ._payload import IngestPayload

    ok = (dict, str, bytes, bytearray, IngestPayload)
    bad = {t for t in set(map(type, events))  # one look per type, not per event
           if not issubclass(t, ok) and not hasattr(t, "keys")}
    if not bad:
        return
    i = next(i for i, evt in enumerate(events) if type(evt) in bad)
    raise ConversionError(
        f"event {i} is a {type(events[i]).__name__}: events must be dicts, strings or "
        "IngestPayload objects. Nothing was sent.", row=i)


def _progress(show: bool | None, total: int | None) -> Any:
    if show is None:
        show = _interactive()
    if not show:
        return None
    if _in_notebook():
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    return tqdm(total=total, unit=" events", unit_scale=True, desc="hecnb", mininterval=0.25,
                dynamic_ncols=True, leave=True)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (never imports IPython to find out)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def _interactive() -> bool:
    """True in a notebook or when stderr is a terminal (progress bars make sense)."""
    return _in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())


logging.getLogger("hecnb").addHandler(logging.NullHandler())
