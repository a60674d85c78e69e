"""The HTTP plumbing under the emulator: a threading server that tracks its connections (so that
stop() can close idle keep-alive ones), its request handler, and the loopback-only bind.
"""

from __future__ import annotations

import contextlib
import ipaddress
import selectors
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Emulator



class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the emulator; the stdlib does request lines and headers."""

    protocol_version = "HTTP/1.1"
    server_version = "hecnb-emulator"
    disable_nagle_algorithm = True
    server: _Server
    body_bytes = 0  # body bytes read off the wire for the current request

    def __getattr__(self, name: str) -> Any:
        """Route every method (``do_POST``, ``do_GET``, ``do_FOO``...) to one dispatcher."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        self.server.emulator._handle(self, self.server.run)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a test run would otherwise print a line per request."""


class _Run:
    """What one start() creates and the matching stop() tears down."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that tracks its connections so stop() can close idle ones."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True  # so a restart can bind the same port again at once
    # many clients connect at once (FalconPy's sample runs 270 threads): a short listen queue
    # drops their SYNs, and each retransmission costs a client 1, 2, 4 s of its timeout
    request_queue_size = 1024
    timeout = 0  # handle_request() never blocks: serve() calls it when a client is waiting

    def __init__(
        self, address: tuple[str, int], family: int, emulator: Emulator, run: _Run
    ) -> None:
        self.address_family = family
        self.emulator = emulator
        self.run = run
        self._track = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._conn_threads: set[threading.Thread] = set()
        # made first: a bind that fails (the port is taken) closes the server at once
        self._wake_r, self._wake_w = socket.socketpair()
        super().__init__(address, _Handler)
        self.socket.setblocking(False)

    def serve(self) -> None:
        """Accept connections until stop() sets ``run.stopping`` and wakes us (no polling)."""
        stopping = self.run.stopping
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not stopping.is_set():
                        self.handle_request()

    def wake(self) -> None:
        """Make serve() look at ``run.stopping`` now."""
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def server_close(self) -> None:
        """Close the listening socket and the wake-up pair."""
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host (slow on some machines)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a daemon thread, tracked before it starts."""
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="hecnb-emulator-connection",
            daemon=True,
        )
        with self._track:
            self._connections.add(request)
            self._conn_threads.add(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            with contextlib.suppress(Exception):  # a client that went away is not our problem
                tls = self.emulator._tls
                if tls is not None:  # the handshake happens here, not in the accept loop
                    plain = request
                    request = tls.wrap_socket(plain, server_side=True)
                    with self._track:
                        self._connections.discard(plain)
                        self._connections.add(request)
                self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._track:
                self._connections.discard(request)
                self._conn_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing: request errors are answered in the handler, socket errors are expected."""

    def close_connections(self) -> list[threading.Thread]:
        """Shut down every open connection (idle keep-alive ones too); return their threads."""
        with self._track:
            connections = list(self._connections)
            threads = list(self._conn_threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        return threads


def _loopback_host(host: str) -> tuple[str, int]:
    """Return (address to bind, family) for a loopback host, else raise ValueError."""
    allowed = "127.0.0.0/8, ::1 or 'localhost'"
    if not isinstance(host, str):
        raise ValueError(f"host must be a loopback address ({allowed}), got {host!r}")
    if host.strip().lower() == "localhost":
        return "127.0.0.1", socket.AF_INET
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"host must be a loopback address ({allowed}), got {host!r}")
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return str(address), family
