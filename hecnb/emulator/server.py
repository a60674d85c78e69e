"""The emulator itself: routes, auth, bodies read and limited, faults injected, events kept and
counted; and ``serve()`` for ``hecnb emulate``.
"""

from __future__ import annotations

import hmac
import math
import os
import random
import ssl
import threading
import time
from typing import IO, Any

import orjson

from .decode import (
    _BUSY,
    _CSV_TYPES,
    _HEALTHY,
    _INTERNAL,
    _INVALID_AUTH,
    _INVALID_DATA,
    _INVALID_TOKEN,
    _NO_DATA,
    _NOT_ALLOWED,
    _NOT_FOUND,
    _REASONS,
    _SUCCESS,
    _TOKEN_REQUIRED,
    _TOO_LARGE,
    _TOO_MANY,
    _XML_TYPES,
    _YAML_TYPES,
    _Batch,
    _decompress,
    _Drop,
    _media_type,
    _parse_event_csv,
    _parse_event_json,
    _parse_event_xml,
    _parse_event_yaml,
    _parse_raw,
    _Reply,
)
from .faults import _LINK_PIECE, Faults, _Link, _Quota
from .http import _Handler, _loopback_host, _Run, _Server

EVENT_PATHS = ("/services/collector", "/services/collector/event", "/api/v1/ingest/hec")


RAW_PATHS = ("/services/collector/raw", "/api/v1/ingest/hec/raw")


HEALTH_PATH = "/services/collector/health"


#: ``GET`` here answers ``stats`` as JSON (not counted in them): for a benchmark or a test that
#: runs the emulator in another process.
STATS_PATH = "/emulator/stats"


_ROUTES: dict[str, str] = {
    **{p: "event" for p in EVENT_PATHS},
    **{p: "raw" for p in RAW_PATHS},
}


# A body over the limit is read and thrown away (so the client gets its 413 rather than a reset)
# when it is at most this much larger; beyond that the connection is closed after the answer.
_DRAIN_SLACK = 256 * 1024 * 1024


_CHUNK = 1024 * 1024


_NDJSON_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS




_SERVE_EVERY = 1000  # serve() prints a progress line each time this many more requests arrived


class Emulator:
    """A local NG-SIEM HEC on a loopback port, with fault injection, for tests and demos.

    Example::

        with Emulator() as emu:
            httpx.post(emu.url, content=b'{"event":"hi"}',
                       headers={"Authorization": "Bearer any"})
            assert emu.wait_for(1) and emu.events == [{"event": "hi"}]
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        max_body_bytes: int = 32 * 1024 * 1024,
        keep_events: bool = True,
        ndjson_path: str | os.PathLike[str] | None = None,
        faults: Faults | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._host, self._family = _loopback_host(host)
        if tls is not None and not isinstance(tls, ssl.SSLContext):
            raise TypeError(f"tls must be a server ssl.SSLContext or None, got "
                            f"{type(tls).__name__}")
        self._tls = tls
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, got {port!r}")
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int):
            raise ValueError(f"max_body_bytes must be an int, got {max_body_bytes!r}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be >= 1, got {max_body_bytes!r}")
        if api_key is not None and (not isinstance(api_key, str) or not api_key):
            raise ValueError("api_key must be a non-empty string or None")
        if faults is not None and not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults or None, got {type(faults).__name__}")
        self._port = port
        self._api_key = api_key.encode("utf-8") if api_key is not None else None
        self._max_body = max_body_bytes
        self._keep = bool(keep_events)
        self._ndjson_path = os.fspath(ndjson_path) if ndjson_path is not None else None
        self._faults = faults or Faults()
        self._rng = random.Random(self._faults.seed)
        self._quota = _Quota(self._faults)
        self._link = _Link(self._faults.bandwidth) if self._faults.bandwidth > 0 else None
        self._fault_lock = threading.Lock()
        self._life_lock = threading.Lock()  # serialises start() and stop()
        self._run: _Run | None = None
        self._file_lock = threading.Lock()  # orders ndjson lines and stored events alike
        self._file: IO[bytes] | None = None
        self._cond = threading.Condition(threading.Lock())  # guards everything below
        self._batches: list[_Batch] = []  # stored, not yet turned into dicts
        self._events: list[dict[str, Any]] = []  # turned into dicts, in arrival order
        self._epoch = 0  # bumped by reset(), so a reader never mixes old and new events
        self._read_lock = threading.Lock()  # one reader decodes at a time
        # parsing holds the GIL: two requests parse at once (one inflates meanwhile), the rest
        # wait their turn rather than thrash; many clients then cost no more than a few
        self._parse_gate = threading.BoundedSemaphore(2)
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._stored = 0
        self._requests = 0
        self._bytes_received = 0
        self._bytes_decoded = 0
        self._status_counts: dict[int, int] = {}
        self._dropped = 0
        self._delayed = 0
        self._throttled = 0  # answered 429 by the rate limit (not by error_429_rate)
        self._by_route = {"event": 0, "raw": 0}
        self._active = getattr(self, "_active", 0)  # requests being handled now (kept by reset)
        self._max_active = 0  # the most handled at once among requests started since

    # ---------------------------------------------------------------------------- lifecycle

    def start(self) -> Emulator:
        """Bind and serve in a background daemon thread; a no-op when already running.

        After a stop() it binds the same port again, so a test can restart a server mid-send.
        """
        with self._life_lock:
            if self._run is not None:
                return self
            run = _Run()
            server = _Server((self._host, self._port), self._family, self, run)
            if self._ndjson_path is not None:
                try:
                    with self._file_lock:
                        self._file = open(self._ndjson_path, "ab")  # noqa: SIM115 - see stop()
                except OSError:
                    server.server_close()
                    raise
            self._port = server.server_port
            run.server = server
            run.thread = threading.Thread(
                target=server.serve, name=f"hecnb-emulator-{self._port}", daemon=True
            )
            run.thread.start()
            self._run = run
            return self

    def stop(self) -> None:
        """Stop serving, close every open connection and join the threads; a no-op if stopped."""
        with self._life_lock:
            run, self._run = self._run, None
            if run is None or run.server is None:
                return
            run.stopping.set()  # also wakes delayed requests, which then drop their connection
            run.server.wake()
            deadline = time.monotonic() + 1.0
            if run.thread is not None:
                run.thread.join(1.0)
            run.server.server_close()
            for thread in run.server.close_connections():
                if thread is not threading.current_thread():
                    thread.join(max(0.0, deadline - time.monotonic()))
            with self._file_lock:
                if self._file is not None:
                    self._file.close()
                    self._file = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` (``https://`` when serving TLS)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self._tls is not None else 'http'}://{host}:{self._port}"

    @property
    def url(self) -> str:
        """The event endpoint, ``.../services/collector``."""
        return self.base_url + "/services/collector"

    @property
    def raw_url(self) -> str:
        """The raw endpoint, ``.../services/collector/raw``."""
        return self.url + "/raw"

    @property
    def running(self) -> bool:
        """Whether the emulator is serving."""
        return self._run is not None

    @property
    def events(self) -> list[dict[str, Any]]:
        """A snapshot of the events received, in arrival order (empty if keep_events=False)."""
        with self._read_lock:
            with self._cond:
                batches, self._batches = self._batches, []
                epoch = self._epoch
            decoded = [event for batch in batches for event in batch.materialize()]
            with self._cond:
                if epoch == self._epoch:
                    self._events.extend(decoded)
                return list(self._events)

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters: requests, events, bytes, statuses, drops, delays, routes."""
        with self._cond:
            return {
                "requests": self._requests,
                "events": self._stored,
                "bytes_received": self._bytes_received,
                "bytes_decoded": self._bytes_decoded,
                "status_counts": dict(self._status_counts),
                "dropped": self._dropped,
                "delayed": self._delayed,
                "throttled": self._throttled,
                "by_route": dict(self._by_route),
                "max_concurrent": self._max_active,  # most requests handled at once
            }

    @property
    def faults(self) -> Faults:
        """The faults in force; assign a new Faults to change them (restarts its random seed)."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        if faults is not None and not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults or None, got {type(faults).__name__}")
        faults = faults or Faults()
        with self._fault_lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._quota = _Quota(faults)
            self._link = _Link(faults.bandwidth) if faults.bandwidth > 0 else None

    def reset(self) -> None:
        """Forget the events and zero the counters (the ndjson file is left alone)."""
        with self._cond:
            self._batches = []
            self._events = []
            self._epoch += 1
            self._reset_counters()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` events are stored; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stored >= count, timeout)

    def __repr__(self) -> str:
        with self._cond:
            requests, events = self._requests, self._stored
        state = "running" if self.running else "stopped"
        return f"<Emulator {self.url} {state} requests={requests} events={events}>"

    # ---------------------------------------------------------------------------- requests

    def _handle(self, h: _Handler, run: _Run) -> None:
        """Answer one request; every answer is accounted before it is written."""
        with self._cond:
            self._active += 1
            self._max_active = max(self._max_active, self._active)
        try:
            self._answer(h, run)
        finally:
            with self._cond:
                self._active -= 1

    def _answer(self, h: _Handler, run: _Run) -> None:
        h.body_bytes = 0
        try:
            path = h.path.split("?", 1)[0]
            if len(path) > 1:
                path = path.rstrip("/")
            route = _ROUTES.get(path)
            if route is None or h.command != "POST":
                self._discard_body(h)
                if path == HEALTH_PATH and h.command in ("GET", "HEAD"):
                    raise _Reply(200, _HEALTHY)
                if path == STATS_PATH and h.command == "GET":
                    self._respond(h, 200, orjson.dumps(self.stats, option=orjson.OPT_NON_STR_KEYS),
                                  counted=False)
                    return
                if path == HEALTH_PATH:
                    raise _Reply(405, _NOT_ALLOWED, headers=(("Allow", "GET, HEAD"),))
                if route is None:
                    raise _Reply(404, _NOT_FOUND)
                raise _Reply(405, _NOT_ALLOWED, headers=(("Allow", "POST"),))
            self._authorize(h)
            body = self._read_body(h)
            self._inject_faults(run)
            with self._parse_gate:
                batch, decoded = self._decode(h, route, body)
            self._admit(batch.count, decoded)
            self._store(route, batch)
            self._respond(h, 200, _SUCCESS, decoded=decoded)
        except _Reply as reply:
            if reply.close:
                h.close_connection = True
            self._respond(h, reply.status, reply.body, headers=reply.headers)
        except _Drop:
            h.close_connection = True
            with self._cond:
                self._requests += 1
                self._dropped += 1
                self._bytes_received += h.body_bytes
        except OSError:
            h.close_connection = True  # the client went away mid-request, or stop() was called
        except Exception:  # an emulator bug must still get an answer, as on HEC
            h.close_connection = True
            self._respond(h, 500, _INTERNAL)

    def _authorize(self, h: _Handler) -> None:
        """Check ``Authorization: Bearer|Splunk <token>``; raise 401/403 answers."""
        header = h.headers.get("Authorization")
        if header is None:
            self._discard_body(h)
            raise _Reply(401, _TOKEN_REQUIRED)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "splunk") or not token:
            self._discard_body(h)
            raise _Reply(401, _INVALID_AUTH)
        if self._api_key is not None and not hmac.compare_digest(
            token.encode("utf-8", "surrogateescape"), self._api_key
        ):
            self._discard_body(h)
            raise _Reply(403, _INVALID_TOKEN)

    def _content_length(self, h: _Handler) -> int | None:
        """The declared body length (None for chunked); a bad header is a 400 and a close."""
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            return None
        value = h.headers.get("Content-Length")
        if value is None:
            return 0
        try:
            length = int(value)
        except ValueError:
            length = -1
        if length < 0:
            raise _Reply(400, _INVALID_DATA, close=True)
        return length

    def _read_exact(self, h: _Handler, size: int) -> bytes:
        link = self._link
        if link is not None and size > _LINK_PIECE:  # paced: read piece by piece
            return b"".join(self._read_exact(h, min(_LINK_PIECE, size - offset))
                            for offset in range(0, size, _LINK_PIECE))
        data = h.rfile.read(size)
        h.body_bytes += len(data)
        if len(data) != size:
            raise ConnectionAbortedError("the client closed the connection mid-body")
        if link is not None and h.server.run.stopping.wait(link.reserve(size)):
            raise ConnectionAbortedError("stop() was called while the body was arriving")
        return data

    def _admit(self, events: int, size: int) -> None:
        """Charge the rate limit for an accepted body, or answer 429 with Retry-After."""
        quota = self._quota
        if not quota.active:
            return
        wait = quota.admit(events, size)
        if wait is None:
            return
        with self._cond:
            self._throttled += 1
        retry_after = str(max(1, math.ceil(wait)))
        raise _Reply(429, _TOO_MANY, headers=(("Retry-After", retry_after),))

    def _read_chunked(self, h: _Handler, *, keep: bool) -> bytes:
        """Read a chunked body; with ``keep`` raise 413 past the limit, else just consume it."""
        limit = self._max_body
        parts: list[bytes] = []
        total = 0
        while True:
            line = h.rfile.readline(65537)
            if not line:
                raise ConnectionAbortedError("the client closed the connection mid-body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _Reply(400, _INVALID_DATA, close=True) from None
            if size < 0:
                raise _Reply(400, _INVALID_DATA, close=True)
            if size == 0:
                while h.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            total += size
            if total > limit + _DRAIN_SLACK:  # not worth reading just to refuse it
                h.close_connection = True
                if keep:
                    raise _Reply(413, _TOO_LARGE, close=True)
                return b""
            for offset in range(0, size, _CHUNK):
                data = self._read_exact(h, min(_CHUNK, size - offset))
                if keep and total <= limit:
                    parts.append(data)
            h.rfile.readline(65537)  # the CRLF after the chunk
        if keep and total > limit:
            raise _Reply(413, _TOO_LARGE)
        return b"".join(parts)

    def _read_body(self, h: _Handler) -> bytes:
        """The request body as sent; an over-limit body is thrown away and answered 413."""
        length = self._content_length(h)
        if length is None:
            return self._read_chunked(h, keep=True)
        if length > self._max_body:
            self._skip(h, length)
            raise _Reply(413, _TOO_LARGE)
        return self._read_exact(h, length) if length else b""

    def _skip(self, h: _Handler, length: int) -> None:
        """Read and forget ``length`` bytes, or close the connection if that is absurdly many."""
        if length > self._max_body + _DRAIN_SLACK:
            raise _Reply(413, _TOO_LARGE, close=True)
        for offset in range(0, length, _CHUNK):
            self._read_exact(h, min(_CHUNK, length - offset))

    def _discard_body(self, h: _Handler) -> None:
        """Consume a body we will not use, so the keep-alive connection stays in step."""
        length = self._content_length(h)
        if length is None:
            self._read_chunked(h, keep=False)
        elif length > self._max_body + _DRAIN_SLACK:
            h.close_connection = True  # not worth reading just to refuse it
        else:
            self._skip(h, length)

    def _inject_faults(self, run: _Run) -> None:
        """Decide this request's fault: maybe wait, then maybe 503, 429 or a dropped connection."""
        with self._fault_lock:
            faults = self._faults
            draw = self._rng.random()
            delay_draw = self._rng.random()
        if faults.delay > 0 and delay_draw < faults.delay_rate:
            with self._cond:
                self._delayed += 1
                self._cond.notify_all()
            if run.stopping.wait(faults.delay):
                raise ConnectionAbortedError("stop() was called during the delay")
        if draw < faults.error_503_rate:
            raise _Reply(503, _BUSY)
        draw -= faults.error_503_rate
        if draw < faults.error_429_rate:
            raise _Reply(429, _TOO_MANY, headers=(("Retry-After", faults.retry_after_header),))
        draw -= faults.error_429_rate
        if draw < faults.drop_rate:
            raise _Drop

    def _decode(self, h: _Handler, route: str, body: bytes) -> tuple[_Batch, int]:
        """Decompress and parse a body into the batch to store (and the decoded size)."""
        if not body:
            raise _Reply(400, _NO_DATA)
        encoding = (h.headers.get("Content-Encoding") or "").strip().lower()
        body = _decompress(body, encoding, self._max_body)
        decoded = len(body)
        if not body.strip():
            raise _Reply(400, _NO_DATA)
        if route == "raw":
            return _parse_raw(body), decoded
        mtype, charset = _media_type(h.headers.get("Content-Type"))
        if mtype in _YAML_TYPES:
            return _parse_event_yaml(body, charset), decoded
        if mtype in _XML_TYPES or mtype.endswith("+xml"):
            return _parse_event_xml(body), decoded
        if mtype in _CSV_TYPES:
            return _parse_event_csv(body, charset), decoded
        return _parse_event_json(body), decoded

    def _store(self, route: str, batch: _Batch) -> None:
        """Keep the batch (and append its events to the ndjson file), then wake waiters."""
        if self._ndjson_path is not None:
            dumps = orjson.dumps
            lines = b"".join(
                dumps(e, default=str, option=_NDJSON_OPTS) for e in batch.materialize()
            )
            with self._file_lock:
                if self._file is not None:
                    self._file.write(lines)
                    self._file.flush()
                self._append(route, batch)
        else:
            self._append(route, batch)

    def _append(self, route: str, batch: _Batch) -> None:
        batch.envelopes = None  # keep only the compact form (see _Batch)
        with self._cond:
            if self._keep:
                self._batches.append(batch)
            self._stored += batch.count
            self._by_route[route] += batch.count
            self._cond.notify_all()

    def _respond(
        self,
        h: _Handler,
        status: int,
        body: bytes,
        *,
        decoded: int = 0,
        headers: tuple[tuple[str, str], ...] = (),
        counted: bool = True,
    ) -> None:
        """Account for the answer, then write it in one send (no Nagle/delayed-ACK stalls)."""
        if counted:
            with self._cond:
                self._requests += 1
                self._bytes_received += h.body_bytes
                self._bytes_decoded += decoded
                self._status_counts[status] = self._status_counts.get(status, 0) + 1
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
            "Server: hecnb-emulator",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        head.extend(f"{name}: {value}" for name, value in headers)
        if h.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if h.command != "HEAD":
            data += body
        try:
            h.wfile.write(data)
        except OSError:
            h.close_connection = True


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8088,
    api_key: str | None = None,
    ndjson_path: str | os.PathLike[str] | None = None,
    faults: Faults | None = None,
    quiet: bool = False,
) -> None:
    """Run an emulator in the foreground until KeyboardInterrupt (for ``hecnb emulate``).

    Prints the URLs once, then (unless quiet) a line each time another 1000 requests arrived.
    """
    emulator = Emulator(
        host=host, port=port, api_key=api_key, ndjson_path=ndjson_path, faults=faults
    ).start()
    if not quiet:
        auth = "the API key given" if api_key is not None else "any token"
        print(f"hecnb emulator listening on {emulator.url} (raw: {emulator.raw_url})")
        print(f"accepting {auth}; Ctrl-C to stop")
    next_mark = _SERVE_EVERY
    try:
        while True:
            _pause(0.5)
            if quiet:
                continue
            stats = emulator.stats
            if stats["requests"] >= next_mark:
                next_mark = (stats["requests"] // _SERVE_EVERY + 1) * _SERVE_EVERY
                print(_progress_line(stats))
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if not quiet:
            print("stopped: " + _progress_line(emulator.stats))


def _pause(seconds: float) -> None:
    """Sleep in serve()'s loop (Ctrl-C interrupts it); a seam for tests."""
    time.sleep(seconds)


def _progress_line(stats: dict[str, Any]) -> str:
    """One line summing up the counters, for serve()."""
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(stats["status_counts"].items()))
    return (
        f"{stats['requests']} requests, {stats['events']} events, "
        f"{stats['bytes_received'] / 1e6:.1f} MB received ({statuses or 'none'})"
    )
