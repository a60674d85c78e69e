"""The connection pool of an engine: one ``httpx.AsyncClient`` on its event-loop thread, made
for the configuration's TLS and proxy settings and kept from send to send (and remade only
when they change); connection checks go through it too.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

import httpx

from .._settings.config import IngestConfig
from .aio import LoopThread, ThreadedTransport
from .request import (
    USER_AGENT,
)


class Pool:
    """The pool part of :class:`~hecnb._send.engine.Engine` (a mixin): it uses the engine's
    ``_transport``, ``_contexts``, ``_lock``, ``_io`` and ``max_in_flight``."""

    _transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None
    _contexts: dict[str, ssl.SSLContext]
    _lock: threading.Lock
    _io: LoopThread | None
    max_in_flight: int

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
