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
import socket
import ssl
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
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
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> SendReport:
        """Send every event; return the report. Re-raises KeyboardInterrupt after accounting.

        With ``indexed=True`` the iterable yields ``(index, event)`` pairs (e.g. file line
        numbers) and reports use those indices. With ``encoded=True`` it yields
        ``(index, bytes, original)`` triples already encoded (the DataFrame fast path); the
        encoder then only assembles bodies.
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
        batcher = Batcher(config.batch_max_bytes, config.batch_max_events, assemble=encoder.body,
                          overhead=getattr(encoder, "overhead", 0))
        bar = _progress(show_progress, total)
        pending: dict[cf.Future[list[Outcome]], Batch] = {}
        limit = max(2, self.thread_count * 2)
        t0 = time.perf_counter()
        placed = 0  # events consumed and put somewhere (a batch or the failed list)
        in_hand: list[Any] = []  # the event taken from the input but not yet placed

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
            if on_outcome is not None:
                on_outcome(out)

        inbox: list[Outcome] = []  # finished outcomes not yet accounted (safe on interrupt)
        unsent: list[Batch] = []  # a closed batch waiting for a free worker

        def collect() -> None:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                inbox.extend(fut.result())
                del pending[fut]
            while inbox:
                account(inbox[0])
                del inbox[0]

        def submit(batch: Batch) -> None:
            unsent.append(batch)
            while len(pending) >= limit:
                collect()
            pending[executor.submit(self.deliver, batch, config, url, headers)] = batch
            unsent.clear()

        executor = cf.ThreadPoolExecutor(max_workers=self.thread_count,
                                         thread_name_prefix="hecnb-send")
        interrupted: BaseException | None = None
        try:
            source: Iterable[Any] = events if indexed or encoded else enumerate(events)
            for item in source:
                try:
                    if encoded:
                        idx, part, evt = item
                    else:
                        idx, evt = item
                        in_hand[:] = [idx, evt]
                        part = encoder.encode(evt)
                except ConversionError as exc:
                    report.failed.append(FailedEvent(idx, evt, f"not sent: {exc}"))
                    placed = idx + 1
                    in_hand.clear()
                    if bar is not None:
                        bar.update(1)
                    continue
                if len(part) > MAX_EVENT_BYTES:
                    report.failed.append(FailedEvent(
                        idx, evt, f"not sent: the event is larger than the collector's "
                        f"{MAX_EVENT_BYTES:,}-byte limit per event; trim or split it"))
                    placed = idx + 1
                    in_hand.clear()
                    if bar is not None:
                        bar.update(1)
                    continue
                batch = batcher.add(idx, part, evt)
                placed = idx + 1
                in_hand.clear()
                if batch is not None:
                    submit(batch)
            batch = batcher.flush()
            if batch is not None:
                submit(batch)
            while pending:
                collect()
        except BaseException as exc:  # KeyboardInterrupt above all: account, then re-raise
            interrupted = exc
            if in_hand and not isinstance(events, Sequence):
                report.failed.append(FailedEvent(in_hand[0], in_hand[1], NOT_SENT))
            for out in inbox:
                account(out)
            for batch in unsent:
                _fail_all(report, batch, NOT_SENT)
            self._abort(pending, batcher, report, events, placed, account)
        finally:
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

    def _abort(self, pending: dict[cf.Future[list[Outcome]], Batch], batcher: Batcher,
               report: SendReport, events: Iterable[Any], consumed: int,
               account: Callable[[Outcome], None]) -> None:
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
        if isinstance(events, Sequence) and not isinstance(events, (str, bytes)):
            for idx in range(consumed, len(events)):
                report.failed.append(FailedEvent(idx, events[idx], NOT_SENT))

    def stop(self) -> None:
        """Ask a running send to stop (from another thread)."""
        self._stop.set()


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
    for i, evt in enumerate(events):
        if not isinstance(evt, ok) and not hasattr(evt, "keys"):
            raise ConversionError(
                f"event {i} is a {type(evt).__name__}: events must be dicts, strings or "
                "IngestPayload objects. Nothing was sent.", row=i)


def _progress(show: bool | None, total: int | None) -> Any:
    if show is None:
        show = _interactive()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=" events", unit_scale=True, desc="hecnb", mininterval=0.25,
                dynamic_ncols=True, leave=True)


def _interactive() -> bool:
    """True in a notebook or when stderr is a terminal (progress bars make sense)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
            return True
    except ImportError:  # pragma: no cover
        pass
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


logging.getLogger("hecnb").addHandler(logging.NullHandler())
