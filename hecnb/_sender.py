"""The engine: encode -> batch -> (worker threads) gzip + POST with retries -> SendReport.

One ``httpx.Client`` (a keep-alive connection pool) per engine, shared by the worker threads of
each send. The calling thread encodes events and hands full batches to the workers, with at most
``2 x thread_count`` batches in flight so that memory stays bounded for streams of any length. It
also collects outcomes and updates the progress bar, so the bar is only touched from one thread.

Every event ends in exactly one place: ``delivered`` (a 200 answer for its request) or
``failed`` (with the reason). A request whose answer was lost may have been accepted by the
server anyway, so delivery is at least once, never at most once.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import gzip
import logging
import random
import signal
import socket
import ssl
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpcore
import httpx

from ._batching import Batch, Batcher
from ._config import MAX_EVENT_BYTES, IngestConfig
from ._errors import ConversionError
from ._report import BatchResult, FailedEvent, SendReport
from ._retry import RetryPolicy, is_transient, parse_retry_after

__all__ = ["Encoder", "Engine", "Outcome", "describe_status", "describe_transport_error"]

USER_AGENT = "hecnb/0.1 (+httpx)"
INTERRUPTED = "interrupted before the collector confirmed it"
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
    if "refused" in text:
        return f"connection refused by {host}: nothing is listening at that address and port"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return f"connection to {host} dropped before an answer arrived"
    return f"network error talking to {host}: {type(exc).__name__}: {exc}"


class _AbortableBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, remembering its sockets so an interrupt can cut them.

    Closing a pool does not wake a thread blocked reading an answer; shutting the socket down
    does, so a Ctrl-C ends requests in flight at once instead of after ``ingest_timeout``.
    """

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        sock = stream.get_extra_info("socket")
        if sock is not None:
            with self._lock:
                self._sockets.add(sock)
        return stream

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def abort(self) -> None:
        """Shut every open socket down (wakes blocked reads and writes)."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Outcome:
    """One finished request: its result and the events it carried."""

    result: BatchResult
    batch: Batch
    reason: str = ""
    invalid_event: int | None = None  # position the collector named as bad (400 code 6/12/13)


class Engine:
    """Sends events for one HEC instance. Holds the HTTP client; knows nothing of notebooks."""

    def __init__(
        self,
        *,
        thread_count: int,
        retry: RetryPolicy,
        compress_level: int = 1,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        log: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.thread_count = thread_count
        self.retry = retry
        self.compress_level = compress_level
        self._transport = transport
        self._sleep = sleep
        self._log = log
        self._rng = rng or random.Random()
        self._client: httpx.Client | None = None
        self._client_key: tuple[Any, ...] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._backend = _AbortableBackend()
        self.last_report: SendReport | None = None
        self.last_placed = 0  # input position the last run had reached
        self._interrupted = False

    # -- client ------------------------------------------------------------------------------
    def client(self, config: IngestConfig) -> httpx.Client:
        """The pooled client for this configuration (made again if TLS or pool size changed)."""
        key = (id(config.verify), config.verify, self.thread_count)
        with self._lock:
            if self._client is None or self._client.is_closed or self._client_key != key:
                if self._client is not None:
                    self._client.close()
                limits = httpx.Limits(max_connections=self.thread_count,
                                      max_keepalive_connections=self.thread_count,
                                      keepalive_expiry=30.0)
                transport = self._transport
                if transport is None:
                    transport = httpx.HTTPTransport(verify=config.verify, limits=limits)
                    pool = getattr(transport, "_pool", None)
                    if hasattr(pool, "_network_backend"):  # httpcore's pool: make it abortable
                        pool._network_backend = self._backend  # type: ignore[union-attr]
                self._client = httpx.Client(transport=transport, limits=limits,
                                            headers={"User-Agent": USER_AGENT},
                                            follow_redirects=False, trust_env=True)
                self._client_key = key
            return self._client

    def close(self) -> None:
        """Close the connection pool."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @property
    def clients(self) -> list[httpx.Client]:
        """The HTTP clients in use (one, once a request has been made)."""
        c = self._client
        return [c] if c is not None and not c.is_closed else []

    # -- one request -------------------------------------------------------------------------
    def _wait(self, seconds: float) -> bool:
        """Sleep between attempts; True when the send was interrupted meanwhile."""
        if self._sleep is not None:
            self._sleep(seconds)
            return self._stop.is_set()
        return self._stop.wait(seconds)

    def post(self, batch: Batch, config: IngestConfig, url: str,
             headers: dict[str, str]) -> Outcome:
        """POST one batch with retries; never raises for HTTP or network trouble."""
        t0 = time.perf_counter()
        body = batch.body()
        raw_len = len(body)
        if config.compress:
            body = gzip.compress(body, compresslevel=self.compress_level, mtime=0)
            headers = {**headers, "Content-Encoding": "gzip"}
        client = self.client(config)
        timeout = config.ingest_timeout
        attempts = 0
        ambiguous = 0
        while True:
            if self._stop.is_set():
                return self._outcome(batch, None, None, INTERRUPTED, attempts, raw_len, body, t0)
            attempts += 1
            retry_after = None
            invalid = None
            try:
                resp = client.post(url, content=body, headers=headers, timeout=timeout)
            except httpx.TransportError as exc:  # the one place httpx errors are translated
                status, hec_code, text = None, None, ""
                reason = (INTERRUPTED if self._stop.is_set()
                          else describe_transport_error(exc, url, timeout))
                if _maybe_received(exc):
                    ambiguous += 1
                    reason += " (the collector may have received it)"
            except RuntimeError as exc:  # the pool was closed by an interrupt
                if not self._stop.is_set():
                    raise
                status, hec_code, text, reason = None, None, "", f"{INTERRUPTED} ({exc})"
            else:
                status = resp.status_code
                hec_code, text, invalid = _hec_answer(resp)
                if status == 200:
                    if self._log:
                        self._log(f"BATCH {batch.seq}: {len(batch)} events, STATUS CODE: 200, "
                                  f"RESPONSE: {resp.text[:200]}")
                    return self._outcome(batch, 200, hec_code, text, attempts, raw_len, body, t0,
                                         ambiguous)
                reason = describe_status(status, hec_code, text)
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
            if self._log:
                self._log(f"BATCH {batch.seq}: attempt {attempts} failed: {reason}")
            if not is_transient(status) or attempts > self.retry.retries or self._stop.is_set():
                out = self._outcome(batch, status, hec_code, text, attempts, raw_len, body, t0,
                                    ambiguous)
                out.reason = reason
                out.invalid_event = invalid if status == 400 else None
                return out
            if self._wait(self.retry.delay(attempts - 1, retry_after, self._rng)):
                return self._outcome(batch, None, None, INTERRUPTED, attempts, raw_len, body, t0,
                                     ambiguous)

    @staticmethod
    def _outcome(batch: Batch, status: int | None, hec_code: int | None, message: str,
                 attempts: int, raw_len: int, body: bytes, t0: float,
                 ambiguous: int = 0) -> Outcome:
        result = BatchResult(batch.seq, len(batch), status, hec_code, message, attempts,
                             raw_len, len(body) if attempts else 0, time.perf_counter() - t0,
                             ambiguous)
        return Outcome(result, batch, "" if status == 200 else message)

    def deliver(self, batch: Batch, config: IngestConfig, url: str,
                headers: dict[str, str]) -> list[Outcome]:
        """POST a batch; split it on 413, and set aside an event the collector names as bad."""
        outcomes: list[Outcome] = []
        todo = [batch]
        while todo:
            b = todo.pop()
            out = self.post(b, config, url, headers)
            status = out.result.status
            if status == 413 and len(b) > 1:
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
        url = url or config.target_url
        headers = config.headers()
        headers["Content-Type"] = encoder.content_type
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
        limit = max(2, self.thread_count * 2)
        t0 = time.perf_counter()
        placed = 0  # input position reached: everything before it is in a batch or failed
        inbox: list[Outcome] = []  # finished outcomes not yet accounted
        unsent: list[Batch] = []  # closed batches waiting for a free worker

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
                inbox.extend(fut.result())
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
        interrupted: BaseException | None = None
        previous_handler = self._catch_sigint()
        try:
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
                    while len(pending) >= limit:
                        collect()
                    pending[executor.submit(self.deliver, unsent[0], config, url,
                                            headers)] = unsent[0]
                    del unsent[0]
                self._check_interrupt()
            batch = batcher.flush()
            if batch is not None:
                unsent.append(batch)
                pending[executor.submit(self.deliver, batch, config, url, headers)] = batch
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
        self._backend.abort()
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
        running = []
        for fut, batch in list(pending.items()):
            if fut.cancel():
                _fail_all(report, batch, NOT_SENT)
            else:
                running.append(fut)
        self._backend.abort()  # requests in flight end now, not after ingest_timeout
        with self._lock:
            if self._client is not None:
                self._client.close()
        for fut in running:
            try:
                for out in fut.result(timeout=5):
                    account(out)
            except BaseException:
                _fail_all(report, pending[fut], INTERRUPTED)
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
