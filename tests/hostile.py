"""A misbehaving HTTP server for tests: real sockets on 127.0.0.1, any answer per request.

``HostileServer`` listens on a loopback port (port 0: the system picks one) and runs one thread
per connection. Each request is parsed, recorded in ``server.requests`` (method, target, headers,
body as received and gunzipped) and handed to ``server.handler``, which returns a ``Reply``
saying exactly what to write back and how:

- any status, headers (duplicates allowed) and body, or raw bytes instead of a proper answer;
- a body from an iterator (so a 100 MB answer is never held in memory) or a lying
  ``Content-Length``;
- ``trickle=``: the answer one byte every so many seconds;
- ``stall=True``: no answer at all, until the server stops;
- ``close_after=``: the connection closed after that many bytes of the answer;
- ``tunnel=True``: for a ``CONNECT`` (the server as a forward proxy), relay bytes to the loopback
  host and port asked for.

What was written is recorded per answer in ``server.answers`` (bytes written, whether the client
went away first). Helpers build the usual hostile answers: ``echo_headers``, ``redirect``,
``deep_json``, ``huge``. A TLS hello (a client that thinks the port is HTTPS) gets a plain-text
``400``, as from any plain HTTP server.

Used by the ``hostile`` fixture in ``conftest.py``; nothing here reaches beyond 127.0.0.0/8.
"""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import json
import select
import socket
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answered", "HostileServer", "Reply", "Request", "deep_json", "echo_headers",
           "hec", "huge", "redirect"]

MAX_HEAD = 64 * 1024


@dataclass
class Request:
    """One request as the server received it."""

    method: str
    target: str
    version: str
    headers: dict[str, str]  # lower-case names; the last value of a repeated header
    head: bytes = field(repr=False)  # the request line and headers exactly as received
    raw_body: bytes = field(repr=False, default=b"")

    @property
    def body(self) -> bytes:
        """The body, gunzipped when it says it is gzip."""
        if self.headers.get("content-encoding", "").lower() == "gzip":
            return gzip.decompress(self.raw_body)
        return self.raw_body

    @property
    def events(self) -> list[Any]:
        """The JSON values of the body, one per line."""
        return [json.loads(line) for line in self.body.splitlines() if line.strip()]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass
class Reply:
    """What to write back for one request."""

    status: int = 200
    body: bytes | str | Iterable[bytes] = b""
    headers: list[tuple[str, str]] | dict[str, str] = field(default_factory=list)
    reason: str | None = None  # the reason phrase (default: a standard one)
    content_length: int | None = None  # a lying Content-Length; default: the true one
    raw: bytes | None = None  # write exactly this instead of a proper answer
    trickle: float = 0.0  # seconds between single bytes of the whole answer
    stall: bool = False  # never answer (until the server stops)
    close_after: int | None = None  # close the connection after this many answer bytes
    keep_alive: bool = True
    tunnel: bool = False  # CONNECT: relay to the (loopback) target

    def encode_head(self, length: int | None) -> bytes:
        reason = self.reason if self.reason is not None else _REASONS.get(self.status, "Status")
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        items = list(self.headers.items()) if isinstance(self.headers, dict) else list(
            self.headers)
        names = {k.lower() for k, _ in items}
        if length is not None and "content-length" not in names:
            lines.append(f"Content-Length: {length}")
        if not self.keep_alive and "connection" not in names:
            lines.append("Connection: close")
        lines += [f"{k}: {v}" for k, v in items]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Answered:
    """What the server wrote for one request."""

    request: Request
    written: int = 0  # bytes of the answer that went into the socket
    total: int | None = None  # bytes the answer would have had (None: unknown, or a stall)
    client_gone: bool = False  # the client closed the connection before the answer was done


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved",
            302: "Found", 307: "Temporary Redirect", 308: "Permanent Redirect",
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 413: "Content Too Large", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


# -- answers ------------------------------------------------------------------------------------
def hec(status: int = 200, text: str = "Success", code: int | None = 0, **extra: Any) -> Reply:
    """A Splunk-style HEC answer ``{"text": ..., "code": ...}``."""
    body: dict[str, Any] = {"text": text}
    if code is not None:
        body["code"] = code
    body.update(extra)
    return Reply(status, json.dumps(body), {"Content-Type": "application/json"})


def echo_headers(request: Request, status: int = 200) -> Reply:
    """An answer whose body (and a header) repeat every request header, Authorization too."""
    seen = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
    auth = request.headers.get("authorization", "")
    body = json.dumps({"text": f"you sent {seen}", "code": 0 if status < 300 else 4,
                       "headers": request.headers})
    return Reply(status, body, [("Content-Type", "application/json"), ("X-Echo", auth)],
                 reason=f"Echo {auth}"[:200])


def redirect(location: str, status: int = 307) -> Reply:
    return Reply(status, b"", {"Location": location})


def deep_json(depth: int = 100_000, status: int = 200) -> Reply:
    """``[`` nested ``depth`` deep (a JSON parser without limits recurses until it breaks)."""
    return Reply(status, b"[" * depth + b"]" * depth, {"Content-Type": "application/json"})


def huge(size: int, status: int = 200, chunk: int = 64 * 1024) -> Reply:
    """A body of ``size`` bytes made as it is written, never held whole."""
    def body() -> Iterator[bytes]:
        left = size
        while left > 0:
            n = min(chunk, left)
            yield b"x" * n
            left -= n

    return Reply(status, body(), content_length=size)


# -- the server ---------------------------------------------------------------------------------
class HostileServer:
    """A programmable HTTP/1.1 server on a loopback port. Use as a context manager.

    ``handler(request) -> Reply`` decides each answer (default: an HEC success). ``slow_read``
    makes the server read request bodies this many seconds per 4 KiB (a collector that reads
    slowly), with a small receive buffer.
    """

    def __init__(self, handler: Callable[[Request], Reply] | None = None, *,
                 host: str = "127.0.0.1", slow_read: float = 0.0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("tests only listen on loopback addresses")
        self.handler: Callable[[Request], Reply] = handler or (lambda request: hec())
        self.host = host
        self.slow_read = slow_read
        self.requests: list[Request] = []
        self.answers: list[Answered] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0

    # -- life ---------------------------------------------------------------------------------
    def start(self) -> HostileServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.slow_read:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        listener.bind((self.host, 0))
        listener.listen(64)
        self._listener = listener
        self.port = listener.getsockname()[1]
        t = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            socks = list(self._socks)
            self._cond.notify_all()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        for t in list(self._threads):
            t.join(5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The HEC event endpoint, plain http."""
        return f"http://{self.host}:{self.port}/services/collector"

    @property
    def https_url(self) -> str:
        """The same port as an https:// URL: the server speaks no TLS there."""
        return f"https://{self.host}:{self.port}/services/collector"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wait_for(self, n: int, timeout: float = 10) -> bool:
        """Wait until ``n`` requests have arrived (on a condition, not by polling)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.requests) >= n or self._stop.is_set(),
                                       timeout)

    # -- connections ----------------------------------------------------------------------------
    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._socks.add(sock)
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(sock,), name="hostile-conn",
                                 daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock: socket.socket) -> None:
        buf = b""
        try:
            while not self._stop.is_set():
                request, buf = self._read_request(sock, buf)
                if request is None:
                    return
                with self._cond:
                    self.requests.append(request)
                    self._cond.notify_all()
                reply = self.handler(request)
                if reply.tunnel and request.method == "CONNECT":
                    self._tunnel(sock, request)
                    return
                if not self._answer(sock, request, reply):
                    return
                if not reply.keep_alive or request.headers.get("connection") == "close":
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._socks.discard(sock)
            with contextlib.suppress(OSError):
                sock.close()

    def _recv(self, sock: socket.socket, n: int = 65536) -> bytes:
        return sock.recv(n)

    def _read_request(self, sock: socket.socket, buf: bytes) -> tuple[Request | None, bytes]:
        while b"\r\n\r\n" not in buf:
            if len(buf) > MAX_HEAD:
                return None, b""
            if buf and not buf[:1].isalpha():  # a TLS hello (or junk): answer as plain HTTP
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 44\r\n"
                             b"Connection: close\r\n\r\nThis is a plain HTTP server; TLS is not "
                             b"spoken")
                return None, b""
            data = self._recv(sock)
            if not data:
                return None, b""
            buf += data
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return None, b""
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body, rest = self._read_body(sock, headers, rest)
        if body is None:
            return None, b""
        return Request(method, target, version, headers, head, body), rest

    def _read_body(self, sock: socket.socket, headers: dict[str, str], rest: bytes
                   ) -> tuple[bytes | None, bytes]:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            out = b""
            while True:
                while b"\r\n" not in rest:
                    data = self._recv(sock)
                    if not data:
                        return None, b""
                    rest += data
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                while len(rest) < size + 2:
                    data = self._recv(sock)
                    if not data:
                        return None, b""
                    rest += data
                out += rest[:size]
                rest = rest[size + 2:]
                if size == 0:
                    return out, rest
        length = int(headers.get("content-length", "0") or 0)
        while len(rest) < length:
            if self.slow_read:
                if self._stop.wait(self.slow_read):
                    return None, b""
                data = sock.recv(4096)
            else:
                data = self._recv(sock)
            if not data:
                return None, b""
            rest += data
        return rest[:length], rest[length:]

    # -- answers ------------------------------------------------------------------------------
    def _answer(self, sock: socket.socket, request: Request, reply: Reply) -> bool:
        """Write the reply; False when the connection must end."""
        record = Answered(request)
        with self._lock:
            self.answers.append(record)
        if reply.stall:
            with self._cond:
                self._cond.wait_for(self._stop.is_set)
            return False
        if reply.raw is not None:
            pieces: Iterable[bytes] = [reply.raw]
            record.total = len(reply.raw)
        else:
            body = reply.body
            if isinstance(body, str):
                body = body.encode("utf-8")
            if isinstance(body, (bytes, bytearray)):
                length = reply.content_length if reply.content_length is not None else len(body)
                head = reply.encode_head(length)
                pieces = [head, bytes(body)]
                record.total = len(head) + len(body)
            else:
                head = reply.encode_head(reply.content_length)
                pieces = _chain([head], body)
                record.total = (len(head) + reply.content_length
                                if reply.content_length is not None else None)
        limit = reply.close_after
        try:
            for piece in pieces:
                if limit is not None:
                    piece = piece[:max(0, limit - record.written)]
                if reply.trickle:
                    for i in range(len(piece)):
                        if self._stop.wait(reply.trickle):
                            return False
                        sock.sendall(piece[i:i + 1])
                        record.written += 1
                elif piece:
                    sock.sendall(piece)
                    record.written += len(piece)
                if limit is not None and record.written >= limit:
                    return False  # closed mid-answer
        except OSError:  # the client went away first
            record.client_gone = True
            return False
        return True

    def _tunnel(self, sock: socket.socket, request: Request) -> None:
        """Relay a CONNECT to its (loopback only) target until either side closes."""
        host, _, port = request.target.rpartition(":")
        try:
            if not ipaddress.ip_address(host.strip("[]")).is_loopback:
                raise ValueError
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except (OSError, ValueError):
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        upstream.settimeout(None)
        with self._lock:
            self._socks.add(upstream)
        try:
            pair = {sock: upstream, upstream: sock}
            while not self._stop.is_set():
                ready, _, _ = select.select(list(pair), [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    pair[s].sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._socks.discard(upstream)
            upstream.close()


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def gzip_body(data: bytes) -> bytes:
    """``data`` gzip-compressed (for a ``Content-Encoding: gzip`` answer)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()
