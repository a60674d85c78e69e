"""HECHandler: Python's ``logging`` into NG-SIEM, in batches from a background thread.

``emit`` only turns the record into an event and puts it in a bounded queue; one worker thread
sends the queue in batches through a :class:`~hecnb.HEC` (gzip, retries, a report per batch).
What the handler guarantees, and how:

- **The application never waits on the network.** ``emit`` takes a lock for an append. When the
  queue is full (``queue_size`` records, those being sent included) the record is dropped,
  counted in ``stats["dropped"]``, and the first drop of a run of them is said on stderr.
- **Nothing that reached the queue is lost while the collector is away.** A batch that gets no
  answer, or 408/429/5xx, after the HEC's own retries goes back to the front of the queue and is
  tried again with growing pauses (up to ``outage_retry_max`` seconds); the outage and the
  recovery are said on stderr. Only what the collector refuses for good (400, 401, 403, 413...)
  or what is still queued when ``close()`` gives up after ``flush_timeout`` seconds fails; it is
  counted in ``stats["failed"]`` (``stats["failure_reasons"]`` says why) and said on stderr.
- **Exit delivers the queue.** ``flush()`` and ``close()`` wait (up to ``flush_timeout``) until
  everything queued before the call is delivered or has finally failed. At interpreter exit the
  queue is flushed while the interpreter can still make connections (a hook that runs before
  Python shuts its thread pools down), then ``logging.shutdown()`` flushes and closes the
  handler as for any other.
- **No feedback.** Records logged on hecnb's own sending threads (by httpx, httpcore, asyncio or
  hecnb while a batch is being sent) are not sent: they would feed the handler its own traffic.
  They still reach your other handlers and are counted in ``stats["ignored"]``.
- **The key stays secret**: the handler's repr shows it masked, and it is never logged.
"""

from __future__ import annotations

import difflib
import logging
import socket
import threading
from collections.abc import Mapping
from typing import Any

from ._errors import ConfigError
from ._hec import HEC
from ._report.report import SendReport
from ._send.background import OWN_THREADS, BackgroundSender
from ._settings.declared import keywords_of
from ._settings.names import TIMEUNITS
from ._settings.secret import mask_secret
from ._source.logrecords import plain, record_event

__all__ = ["HECHandler"]

_HANDLER_KEYWORDS = ("level", "queue_size", "batch_size", "flush_interval", "flush_timeout",
                     "outage_retry_max", "host", "fields")


def _number(name: str, value: Any, *, minimum: float, integer: bool = False) -> Any:
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float))
    if not ok or value < minimum:
        kind = "a whole number" if integer else "a number of seconds"
        raise ConfigError(f"{name} must be {kind} of at least {minimum:g}; got {value!r}.")
    return value


class HECHandler(logging.Handler):
    """A ``logging.Handler`` that sends log records to NG-SIEM as events.

    Keywords other than the handler's own go to :class:`~hecnb.HEC` (``api_key``,
    ``api_url_key``/``ingest_region`` or ``ingest_url``, ``ingest_format``, ``retry_count``,
    ...; a missing key is read from ``NGSIEM_API_KEY`` as there). The handler's own:

    - ``queue_size`` (10,000): records held at most, those being sent included; beyond it new
      records are dropped and counted.
    - ``batch_size`` (500) and ``flush_interval`` (1 s): a batch goes when it is full or its
      oldest record has waited that long.
    - ``flush_timeout`` (10 s): how long ``flush()`` and ``close()`` wait for delivery.
    - ``outage_retry_max`` (30 s): the longest pause between tries while the collector is away.
    - ``host`` (this machine's name; ``""`` for none) and ``fields`` (constant fields beside
      each event, e.g. ``{"#source": "billing-api"}``).

    Each event holds ``message`` (the handler's formatter's output when one is set, else the
    record's message), ``level``, ``levelno``, ``logger``, ``module``, ``func``, ``line``,
    ``file``, ``thread``, ``thread_id``, ``process``, ``process_name``, ``task`` (asyncio, when
    set), ``exc_type`` and ``exc_info`` (the formatted traceback), ``stack_info``, and
    ``extra`` (every attribute the record has beyond the standard ones); its ``timestamp`` is
    the record's own creation time in the HEC's ``ingest_timeunit``.

    >>> handler = hecnb.HECHandler(api_key=KEY, ingest_url=URL)     # doctest: +SKIP
    >>> logging.getLogger().addHandler(handler)                     # doctest: +SKIP
    >>> logging.warning("disk almost full", extra={"free_gb": 3})   # doctest: +SKIP
    """

    def __init__(self, level: int | str = logging.NOTSET, *, queue_size: int = 10_000,
                 batch_size: int = 500, flush_interval: float = 1.0,
                 flush_timeout: float = 10.0, outage_retry_max: float = 30.0,
                 host: str | None = None, fields: Mapping[str, Any] | None = None,
                 **hec_keywords: Any) -> None:
        for name in hec_keywords:
            if name not in keywords_of():
                close = difflib.get_close_matches(name, [*_HANDLER_KEYWORDS, *keywords_of()], n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(
                    f"HECHandler() got an unknown keyword {name!r}.{hint} Its own keywords: "
                    f"{', '.join(_HANDLER_KEYWORDS)}; the others go to HEC(): "
                    f"{', '.join(k for k in keywords_of() if k != 'transport')}.")
        # everything that can fail comes first: logging keeps a handler from the moment
        # Handler.__init__ runs, and would flush a half-made one at exit
        self.queue_size = _number("queue_size", queue_size, minimum=1, integer=True)
        self.batch_size = _number("batch_size", batch_size, minimum=1, integer=True)
        self.flush_interval = float(_number("flush_interval", flush_interval, minimum=0))
        self.flush_timeout = float(_number("flush_timeout", flush_timeout, minimum=0))
        self.outage_retry_max = float(_number("outage_retry_max", outage_retry_max,
                                              minimum=0.01))
        if host is not None and not isinstance(host, str):
            raise ConfigError(f"host must be a host name string (or '' for none); got {host!r}.")
        if fields is not None and not isinstance(fields, Mapping):
            raise ConfigError(f"fields must be a dict of constant fields; got {fields!r}.")
        self.host = socket.gethostname() if host is None else host
        self.fields = {str(k): plain(v) for k, v in (fields or {}).items()}
        hec_keywords.setdefault("thread_count", 1)  # log batches are small
        self._hec = HEC(**hec_keywords)
        try:
            super().__init__(level)
        except BaseException:
            self._hec.close()
            raise
        self._per_second = TIMEUNITS[self._hec.ingest_timeunit]
        self._sender = BackgroundSender(
            self._hec, queue_size=self.queue_size, batch_size=self.batch_size,
            flush_interval=self.flush_interval, flush_timeout=self.flush_timeout,
            outage_retry_max=self.outage_retry_max)

    # -- state ---------------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the counts: ``queued`` (waiting or being sent), ``accepted``,
        ``delivered``, ``failed`` (for good; ``failure_reasons`` says why), ``dropped`` (the
        queue was full), ``after_close``, ``ignored`` (hecnb's own records), ``batches`` and
        ``retries`` (batches tried again after an outage)."""
        return self._sender.stats

    @property
    def last_report(self) -> SendReport | None:
        """The :class:`~hecnb.SendReport` of the last batch sent."""
        return self._sender.last_report

    @property
    def hec(self) -> HEC:
        """The client the batches go through."""
        return self._hec

    @property
    def _worker(self) -> threading.Thread | None:
        return self._sender.worker

    def __repr__(self) -> str:
        cfg = self._hec.ingest_config
        stats = self._sender.stats
        state = " closed" if self._sender.closed else ""
        return (f"<HECHandler {logging.getLevelName(self.level)} url={cfg.target_url!r} "
                f"api_key={mask_secret(cfg.ingest_key)!r} queued={stats['queued']} "
                f"delivered={stats['delivered']} failed={stats['failed']}{state}>")

    # -- emit ------------------------------------------------------------------------------------
    def handle(self, record: logging.LogRecord) -> Any:
        """Filter and emit, without the handler-wide lock ``logging.Handler.handle`` takes:
        the queue has its own, and ``logging.shutdown()`` holds that one while it flushes,
        when httpx's records from our own sending arrive here (they are set aside first)."""
        if threading.current_thread().name.startswith(OWN_THREADS):
            self._sender.ignore()
            return False
        result = self.filter(record)
        if isinstance(result, logging.LogRecord):  # Python 3.12: a filter may replace it
            record = result
        if result:
            self.emit(record)
        return result

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record as an event; never blocks beyond a lock for the append."""
        if threading.current_thread().name.startswith(OWN_THREADS):
            self._sender.ignore()
            return
        try:
            event = record_event(record, formatter=self.formatter, host=self.host,
                                 fields=self.fields, timeunit=self._hec.ingest_timeunit,
                                 per_second=self._per_second)
        except Exception:
            self.handleError(record)  # logging's own report (a bad format string ...)
            return
        self._sender.put(event, lambda: f"{record.name}: {record.getMessage()[:80]!r}")

    # -- flush and close -------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Wait until every record queued before the call is delivered or has failed for
        good, at most ``timeout`` seconds (default: ``flush_timeout``); True when none is
        left waiting."""
        return self._sender.flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is queued (waiting at most ``timeout``, default ``flush_timeout``),
        then stop the worker and the HEC. What could not be delivered by then is counted as
        failed and said on stderr. ``logging.shutdown()`` calls this at exit."""
        self._sender.close(timeout)
        super().close()
