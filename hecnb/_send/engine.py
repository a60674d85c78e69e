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

import contextlib
import logging
import random
import signal
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from .._report.report import SendReport
from .._settings.config import IngestConfig
from .._settings.names import DEFAULT_MAX_IN_FLIGHT, DEFAULT_RETRY_MAX_ELAPSED
from .._settings.secret import guard_logs
from .aio import LoopThread
from .answers import Answer
from .pool import Pool
from .producer import BodyFormat
from .request import (
    Requests,
    _Attempts,
    _headers,
    _Send,
)
from .retry import RetryPolicy
from .run import Run
from .throttle import Throttle
from .window import Window

_log = logging.getLogger("hecnb")


class Engine(Pool, Requests):
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







    # -- one request -------------------------------------------------------------------------









    # -- many events -------------------------------------------------------------------------
    def run(self, events: Iterable[Any], *, config: IngestConfig, encoder: BodyFormat,
            show_progress: bool | None = False, total: int | None = None,
            indexed: bool = False, encoded: bool = False, url: str | None = None,
            ingest_format: str | None = None, journal: Any = None) -> SendReport:
        """Send every event; return the report. Re-raises KeyboardInterrupt after accounting.

        The steps are :class:`~hecnb._send.run.Run`'s: ``events`` yields events, or with
        ``indexed=True`` ``(index, event)`` pairs (file line numbers), or with ``encoded=True``
        chunks ``(indices, event bytes, originals)`` already encoded.
        """
        return Run(self, events, config=config, encoder=encoder, show_progress=show_progress,
                   total=total, indexed=indexed, encoded=encoded, url=url,
                   ingest_format=ingest_format, journal=journal).go()

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


    def stop(self) -> None:
        """Ask a running send to stop (from another thread)."""
        self._stop.set()


logging.getLogger("hecnb").addHandler(logging.NullHandler())
