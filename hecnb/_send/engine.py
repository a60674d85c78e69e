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
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import httpx
import orjson

from .._compress import gzip_compress
from .._errors import ConversionError
from .._report.report import BatchResult, FailedEvent, SendReport
from .._settings.config import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_RETRY_MAX_ELAPSED,
    MAX_EVENT_BYTES,
    IngestConfig,
)
from .._settings.secret import MAX_ANSWER_BYTES, KeyAuth, Secret, guard_logs, untrusted
from .aio import LoopThread, ThreadedTransport
from .batching import Batch, Batcher
from .retry import RetryPolicy, is_delivered, is_permanent, is_transient, parse_retry_after
from .throttle import Throttle, is_throttled
from .window import Window

__all__ = ["Answer", "Encoder", "Engine", "Outcome", "describe_status",
           "describe_transport_error"]

USER_AGENT = "hecnb/0.1 (+httpx)"
INTERRUPTED = "interrupted before the collector confirmed it"
INLINE_BODY_BYTES = 64 * 1024  # smaller bodies are compressed on the loop, not handed over
NOT_SENT = "interrupted before it was sent"
#: The reason of every event a permanent failure kept from being sent: STOPPED + that failure.
STOPPED = "not sent: stopped after "
MAYBE_RECEIVED = " (the collector may have received it)"
_log = logging.getLogger("hecnb")


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
    407: "the proxy asks for a user name and password: put them in the proxy URL",
    408: "the collector timed out reading the request",
    410: "this endpoint no longer exists: check the URL",
    411: "the collector wants a Content-Length it did not get",
    413: "the request is larger than the collector accepts",
    415: "the collector does not accept this content type: check ingest_format",
    429: "the collector is rate limiting this connector",
    500: "the collector had an internal error",
    502: "a gateway in front of the collector failed",
    503: "the collector is busy",
    504: "a gateway in front of the collector timed out",
}


def describe_status(status: int, hec_code: int | None, text: str,
                    location: str | None = None) -> str:
    """A stable, readable reason for an HTTP error answer (used to group failures).

    ``text`` and ``location`` must already have passed :func:`~hecnb._settings.secret.untrusted`.
    """
    if 300 <= status < 400:
        where = f" to {location}" if location else ""
        hint = (f"the collector redirected the request{where}; hecnb does not follow redirects "
                "(the API key would go along): use the collector's own URL")
    else:
        hint = _STATUS_HINTS.get(status, "unexpected answer")
    detail = f": {text}" if text else ""
    code = f", code {hec_code}" if hec_code is not None else ""
    return f"HTTP {status} ({hint}{code}){detail}"


# what OpenSSL says when the other side answered a TLS hello in plain text (a plain-http port)
_PLAIN_HTTP = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE",
               "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL", "UNEXPECTED_RECORD")


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


def _transport_failure(exc: BaseException, url: str, timeout: float,
                       secrets: Iterable[Secret] = ()) -> tuple[str, bool]:
    """``(reason a user can act on, permanent?)`` for a request that got no HTTP answer.

    Exception texts can quote what the server sent, so they pass through ``untrusted``.
    Permanent: a certificate that does not verify, or a plain-http port spoken to in TLS
    (no retry, and no other batch can do better).
    """
    u = httpx.URL(url)
    host = u.host
    chain = _chain(exc)
    text = untrusted(" ".join(str(e) for e in chain), secrets, limit=2000).lower()
    if isinstance(exc, httpx.TimeoutException):
        phase = ("connecting" if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                 else "sending the request" if isinstance(exc, httpx.WriteTimeout)
                 else "waiting for the answer")
        return describe_timeout(host, timeout, phase), False
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or (
            "certificate verify failed" in text):
        return (f"TLS: the certificate of {host} could not be verified; behind a TLS-inspecting "
                "proxy pass verify='/path/to/corporate-ca.pem'"), True
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        what = untrusted(getattr(tls, "reason", None) or getattr(tls, "strerror", None)
                         or str(tls) or type(tls).__name__, secrets)
        where = f"{host}:{u.port}" if u.port else host
        if any(mark.lower() in text or mark in what for mark in _PLAIN_HTTP):
            return (f"TLS: the secure connection to {where} failed ({what}): the port may serve "
                    "plain http, not https; check the port, or use an http:// URL if it is this "
                    "machine"), True
        return f"TLS: the secure connection to {where} failed ({what})", False
    if ("name or service not known" in text or "nodename nor servname" in text
            or "getaddrinfo failed" in text or "temporary failure in name resolution" in text
            or "no address associated" in text or "[errno -2]" in text or "[errno -3]" in text
            or "[errno -5]" in text or "[errno 8]" in text):
        return (f"DNS: cannot resolve {host}; check the URL key and region (or the API URL) "
                "and your DNS/proxy settings"), False
    if "refused" in text or any(isinstance(e, ConnectionRefusedError) for e in chain):
        return (f"connection refused by {host}: nothing is listening at that address and port",
                False)
    if isinstance(exc, httpx.ProxyError):
        return f"proxy error on the way to {host}: {untrusted(str(exc), secrets)}", False
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return f"connection to {host} dropped before an answer arrived", False
    return (f"network error talking to {host}: {type(exc).__name__}: "
            f"{untrusted(str(exc), secrets)}"), False


def describe_transport_error(exc: BaseException, url: str, timeout: float,
                             secrets: Iterable[Secret] = ()) -> str:
    """A reason a user can act on for a request that got no HTTP answer."""
    return _transport_failure(exc, url, timeout, secrets)[0]


def describe_timeout(host: str, timeout: float, phase: str) -> str:
    """The reason for an attempt the deadline (``ingest_timeout``) cut."""
    return (f"timeout: no complete answer within ingest_timeout={timeout:g} s (cut while "
            f"{phase}, {host}); check proxies and firewalls or raise ingest_timeout")


@dataclass
class Answer:
    """One attempt of a request: the answer (read bounded, parsed, cleaned) or why none came.

    Every text in it has passed :func:`~hecnb._settings.secret.untrusted`.
    """

    status: int | None
    hec_code: int | None = None
    text: str = ""  # the answer's text (the HEC "text", else the body), cleaned
    hec: bool = False  # the body was an HEC JSON answer
    invalid_event: int | None = None  # position the collector named as bad (400 code 6/12/13)
    retry_after: float | None = None
    reason: str = ""  # a failure in words (empty for a 2xx)
    warning: str | None = None  # a 2xx that is not a clean success
    permanent: bool = False  # no other request of the send can fare better
    received: bool = False  # no answer, but the collector may have the whole request
    seconds: float = 0.0


def _decoded(data: bytes, encoding: str | None, cut: bool) -> tuple[bytes | None, bool]:
    """The body undone of its Content-Encoding, at most MAX_ANSWER_BYTES of it (so a small
    compressed answer cannot expand into gigabytes); None when it cannot be read."""
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return data, cut
    if enc not in ("gzip", "x-gzip", "deflate"):
        return None, cut
    for wbits in ((47,) if enc != "deflate" else (15, -15)):
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(data, MAX_ANSWER_BYTES)
        except zlib.error:
            continue
        return out, cut or bool(d.unconsumed_tail) or not d.eof
    return None, cut


def _parse_answer(status: int, headers: httpx.Headers, data: bytes, cut: bool,
                  secrets: Iterable[Secret], note: str = "", decoded: bool = False) -> Answer:
    """What a (bounded) answer says. Never raises: a body that cannot be parsed (junk, deep
    nesting, wrong types) is only a reason; any 2xx is delivered whatever its body."""
    body, cut = (data, cut) if decoded else _decoded(data, headers.get("content-encoding"), cut)
    code = invalid = None
    text = ""
    hec = False
    if body is None:
        raw = f"(an answer in {headers.get('content-encoding')!r} encoding, not read)"
    else:
        raw = untrusted(body, secrets, truncated=cut)
        obj: Any = None
        if body and not cut:
            try:
                obj = orjson.loads(body)
            except orjson.JSONDecodeError:
                obj = None
        if isinstance(obj, dict):
            hec = "code" in obj or "text" in obj
            value = obj.get("code")
            code = value if type(value) is int else None
            value = obj.get("invalid-event-number")
            invalid = value if type(value) is int and value >= 0 else None
            value = obj.get("text")
            text = untrusted(value, secrets) if isinstance(value, str) else ""
        if not text and not hec:
            text = raw
    if note:
        text = f"{text} ({note})" if text else f"({note})"
    answer = Answer(status, code, text, hec, invalid,
                    parse_retry_after(headers.get("retry-after")))
    if is_delivered(status):
        if code not in (None, 0):
            answer.warning = f"HTTP {status} with HEC code {code}" + (f": {text}" if text
                                                                      else "")
        elif text and not hec:
            answer.warning = (f"HTTP {status} whose body is not an HEC answer ({text[:120]}); "
                              "check that the URL is the collector's")
        return answer
    location = untrusted(headers.get("location"), secrets) if 300 <= status < 400 else None
    answer.reason = describe_status(status, code, text, location)
    answer.permanent = is_permanent(status)
    return answer


async def _within(deadline: float, aw: Any) -> Any:
    """Await ``aw`` until the loop time ``deadline``; ``asyncio.TimeoutError`` after it."""
    left = deadline - asyncio.get_running_loop().time()
    if left <= 0:
        aw.close()
        raise asyncio.TimeoutError
    return await asyncio.wait_for(aw, left)


async def _read_bounded(resp: httpx.Response, into: list[bytes]) -> bool:
    """Read the raw answer body into ``into``, at most MAX_ANSWER_BYTES; True if cut short."""
    if resp.is_stream_consumed:  # made in memory (a mock transport): already read
        into.append(resp.content[:MAX_ANSWER_BYTES])
        return len(resp.content) > MAX_ANSWER_BYTES
    n = 0
    async for chunk in resp.aiter_raw():
        into.append(chunk)
        n += len(chunk)
        if n >= MAX_ANSWER_BYTES:
            return True
    return False


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
        retry_max_elapsed: float = DEFAULT_RETRY_MAX_ELAPSED,
        compress_level: int = 1,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        log: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.thread_count = thread_count
        self.max_in_flight = max_in_flight
        self.retry = retry
        self.retry_max_elapsed = retry_max_elapsed
        self.compress_level = compress_level
        self._transport = transport
        self._sleep = sleep
        self._slept = 0.0  # seconds the injected sleep stood for (the throttle's clock adds it)
        self._throttles: dict[str, Throttle] = {}  # per target URL, kept from send to send
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

    def _throttle_for(self, url: str) -> Throttle:
        """The throttle of the connector at ``url``: kept from send to send (the pace it
        learned is about the connector), with this send's counts and budget."""
        retry = self.retry
        throttle = self._throttles.get(url)
        if throttle is None or (throttle._base, throttle._cap) != (retry.base, retry.cap):
            throttle = self._throttles[url] = Throttle(
                budget=self.retry_max_elapsed, base=retry.base, cap=retry.cap,
                retry_after_cap=retry.retry_after_cap, clock=self._clock, rng=self._rng)
        throttle.begin(self.retry_max_elapsed)
        return throttle

    def _clock(self) -> float:
        """Monotonic time, plus what an injected sleep stood for."""
        return time.monotonic() + self._slept

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

    def _routing(self, config: IngestConfig) -> tuple[str | None, bool]:
        """``(proxy, trust_env)`` for the pool.

        An ``http://`` target is never reached through a proxy, from the environment or
        otherwise: the request, key included, would travel in clear to the proxy (whose own
        ``200`` would then count as delivered). An ``https://`` target uses ``proxy=`` when
        given (CONNECT: the key travels inside the TLS tunnel), none with ``proxy=False``, and
        the environment's ``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` otherwise. A transport
        passed to ``HEC(transport=...)`` decides for itself.
        """
        if self._transport is not None or config.ingest_url.startswith("http:"):
            return None, False
        proxy = config.proxy
        if isinstance(proxy, str):
            return proxy, False
        return None, proxy is None

    async def _ready(self, config: IngestConfig) -> httpx.AsyncClient:
        """The pooled async client for this configuration, made (and the async stack loaded)
        before a send starts encoding; runs on the loop.

        Done while the calling thread waits: the same work under the first request would
        contend for the GIL with the encoder, and imports and certificate loading (many small
        GIL releases) would then take several times as long.
        """
        io = self._io
        assert io is not None
        proxy, trust_env = self._routing(config)
        key = (id(config.verify), config.verify, self.max_in_flight, trust_env,
               hash(proxy), config.proxy_shown)
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
                                       follow_redirects=False, trust_env=trust_env,
                                       proxy=proxy)
            io.client, io.client_key = client, key
            import anyio  # httpx's own dependency; its asyncio backend loads on first use

            await anyio.sleep(0)
        return client

    def check(self, config: IngestConfig, url: str, body: bytes, content_type: str) -> Answer:
        """One POST on the send pool from the calling thread, no retries (connection checks);
        the same deadline, bounded read and cleaning as every request of a send."""
        io = self._loop()
        auth, secrets = config.auth(), config.secrets()
        guard_logs(secrets)

        async def post() -> Answer:
            client = await self._ready(config)
            send = _Send(config, url, _headers(content_type, False), client, None, None, auth,
                         secrets)
            return await self._exchange(send, body, _Attempts())

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
            return self._outcome(batch, None, None, NOT_SENT, 0, 0, b"", t0)
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
            return self._outcome(batch, None, None, reason, state.attempts, state.raw_len,
                                 state.body, t0, state.ambiguous)

    def _halted(self, batch: Batch, send: _Send, t0: float, state: _Attempts | None = None
                ) -> Outcome:
        """The outcome of a batch an earlier permanent failure kept from being sent."""
        out = self._outcome(batch, None, None, STOPPED + (send.halt or ""), 0,
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
                return self._outcome(batch, None, None,
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
                out = self._outcome(batch, status, ans.hec_code, ans.text, state.attempts,
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
            out = self._outcome(batch, status, ans.hec_code, ans.text, state.attempts,
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
                return self._outcome(batch, None, None, INTERRUPTED, state.attempts,
                                     state.raw_len, body, t0, state.ambiguous), None

    @staticmethod
    def _outcome(batch: Batch, status: int | None, hec_code: int | None, message: str,
                 attempts: int, raw_len: int, body: bytes, t0: float,
                 ambiguous: int = 0) -> Outcome:
        result = BatchResult(batch.seq, len(batch), status, hec_code, message, attempts,
                             raw_len, len(body) if attempts else 0, time.perf_counter() - t0,
                             ambiguous)
        return Outcome(result, batch, "" if is_delivered(status) else message)

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
        auth, secrets = config.auth(), config.secrets()  # the key stays inside ``auth``
        guard_logs(secrets)
        headers = _headers(encoder.content_type, config.compress)
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
            delivered = is_delivered(res.status)
            if delivered:
                report.delivered += res.events
                if out.warning:
                    warn(out.warning)
            else:
                _fail_all(report, out.batch, out.reason, res.status, res.hec_code)
            if out.halted and report.last_status is not None:
                pass  # the failure that stopped the send stays the last status
            elif report.last_status is None or is_delivered(report.last_status) or not delivered:
                report.last_status = 0 if res.status is None else res.status
                report.last_message = res.message if delivered else out.reason
            if bar is not None:
                bar.update(res.events)
                if report.failed:
                    bar.set_postfix(failed=len(report.failed), refresh=False)

        def collect() -> None:
            done, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            if bar is not None and send is not None and send.throttle is not None:
                show_throttle(send.throttle)
            for fut in done:
                inbox.extend(fut.result())  # an error leaves it pending, for the abort
                del pending[fut]
            while inbox:
                account(inbox[0])
                del inbox[0]
            self._check_interrupt()

        def show_throttle(throttle: Throttle) -> None:
            """The bar says when (and how) the collector holds the send back."""
            pause = throttle.paused_for()
            if pause > 0:
                state = f"paused {pause:.0f} s"
            elif throttle.rate is not None:
                state = f"{throttle.rate:,.0f}/s"
            else:
                return
            postfix = {"throttled": state}
            if report.failed:
                postfix["failed"] = str(len(report.failed))
            bar.set_postfix(postfix, refresh=False)

        def warn(message: str) -> None:
            if message not in report.warnings:  # logged once per run, counted per request
                _log.warning("delivered, but: %s", message)
                report.warnings[message] = 0
            report.warnings[message] += 1

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
            assert send is not None
            while len(pending) >= window.limit + self.thread_count and send.halt is None:
                collect()
            if send.halt is not None:  # a permanent failure: this batch is never sent
                _fail_all(report, batch, STOPPED + send.halt)
                if bar is not None:
                    bar.update(len(batch))
                return
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
            throttle = self._throttle_for(url)
            send = _Send(config, url, headers, client, executor, window, auth, secrets,
                         throttle=throttle)
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
                if send.halt is not None:
                    break  # a permanent failure: read no more of the input
            batch = batcher.flush()
            if batch is not None:
                unsent.append(batch)
                submit(batch)
                del unsent[0]
            while pending:
                collect()
            if send.halt is not None:
                fail_now(_unreached(events, producer, placed, STOPPED + send.halt,
                                    encoded=encoded, indexed=indexed))
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
            report.stopped = send.halt if send is not None else None
            if send is not None:
                report.answers = dict(send.answers)
                if send.throttle is not None and send.throttle.answers:
                    report.throttled = send.throttle.answers
                    report.throttle_wait = send.throttle.paused
                    report.pace = send.throttle.rate
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


def _headers(content_type: str, compress: bool) -> dict[str, str]:
    """The headers every request of a run carries; the key is not among them (``KeyAuth``
    writes it into each request). Answers are asked for uncompressed: they are read bounded."""
    headers = {"Content-Type": content_type, "Accept-Encoding": "identity"}
    if compress:
        headers["Content-Encoding"] = "gzip"
    return headers


def _unreached(events: Iterable[Any], producer: _Chunks, placed: int, reason: str, *,
               encoded: bool, indexed: bool) -> list[FailedEvent]:
    """The events of a list the run never reached (a permanent failure stopped it), listed as
    failed with ``reason``; chunks already encoded keep their bytes, for a resend. The rest of
    a file (``report.unread``), a DataFrame (the caller) or a generator (never read further)
    is not listed here."""
    if not isinstance(events, Sequence):
        return []
    if encoded:
        return [FailedEvent(i, o, reason, payload=p)
                for idxs, parts, origs in events[producer.chunks_taken:]
                for i, p, o in zip(idxs, parts, origs, strict=True)]
    if indexed:
        return []
    return [FailedEvent(i, events[i], reason) for i in range(placed, len(events))]


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


def _precheck(events: Sequence[Any]) -> None:
    """Fail fast, before anything is sent, on an item that can never be an event."""
    from .._encode.payload import IngestPayload

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
