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

import concurrent.futures.thread  # noqa: F401 - loaded before the exit hook is registered
import contextlib
import difflib
import logging
import os
import random
import socket
import sys
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

import orjson

from ._encode.envelope import dumps
from ._errors import ConfigError
from ._hec import HEC
from ._report.report import SendReport
from ._send.retry import is_transient
from ._settings.declared import keywords_of
from ._settings.names import TIMEUNITS
from ._settings.secret import mask_secret

__all__ = ["HECHandler"]

#: Attributes every LogRecord has; everything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_OWN_THREADS = ("hecnb-io", "hecnb-send")  # the sender's loop and worker threads, and ours
_DEFAULT_FORMATTER = logging.Formatter()
_HANDLER_KEYWORDS = ("level", "queue_size", "batch_size", "flush_interval", "flush_timeout",
                     "outage_retry_max", "host", "fields")
_LATE_BATCH_BYTES = 60 * 1024  # after Python's thread pools shut down: bodies made inline


def _note(text: str) -> None:
    """Tell the user on stderr (never through logging: that could feed back into a handler)."""
    stream = sys.stderr
    if stream is None:
        return
    with contextlib.suppress(Exception):
        stream.write(f"hecnb.HECHandler: {text}\n")
        stream.flush()


def _plain(value: Any) -> Any:
    """A JSON-ready copy of an ``extra`` value as it is now (the record is sent later); an
    object with no JSON form becomes its repr rather than failing the record."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    try:
        return orjson.loads(dumps(value))
    except (TypeError, ValueError, orjson.JSONDecodeError):
        try:
            return repr(value)
        except Exception:  # a repr that raises
            return f"<{type(value).__name__} object>"


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
        self.fields = {str(k): _plain(v) for k, v in (fields or {}).items()}
        hec_keywords.setdefault("thread_count", 1)  # log batches are small
        self._hec = HEC(**hec_keywords)
        try:
            super().__init__(level)
        except BaseException:
            self._hec.close()
            raise
        self._per_second = TIMEUNITS[self._hec.ingest_timeunit]
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[tuple[int, dict[str, Any]]] = deque()
        self._oldest = 0.0  # when the first record of the batch being gathered arrived
        self._sending: list[tuple[int, dict[str, Any]]] = []
        self._seq = 0
        self._flush_waiters = 0
        self._closing = False
        self._closed = False
        self._late = False  # Python's thread pools are shut down (interpreter exit)
        self._counts = Counter({"accepted": 0, "delivered": 0, "failed": 0, "dropped": 0,
                                "after_close": 0, "ignored": 0, "batches": 0, "retries": 0})
        self._reasons: Counter[str] = Counter()
        self._told: set[str] = set()
        self._dropping = False
        self._outage: str | None = None
        self._last_report: SendReport | None = None
        self._pid = os.getpid()
        self._worker: threading.Thread | None = None
        _LIVE.add(self)
        _hook_exit()

    # -- state ---------------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the counts: ``queued`` (waiting or being sent), ``accepted``,
        ``delivered``, ``failed`` (for good; ``failure_reasons`` says why), ``dropped`` (the
        queue was full), ``after_close``, ``ignored`` (hecnb's own records), ``batches`` and
        ``retries`` (batches tried again after an outage)."""
        with self._cond:
            out: dict[str, Any] = {"queued": len(self._queue) + len(self._sending)}
            out.update(self._counts)
            out["failure_reasons"] = dict(self._reasons)
            return out

    @property
    def last_report(self) -> SendReport | None:
        """The :class:`~hecnb.SendReport` of the last batch sent."""
        return self._last_report

    @property
    def hec(self) -> HEC:
        """The client the batches go through."""
        return self._hec

    def __repr__(self) -> str:
        cfg = self._hec.ingest_config
        with self._cond:
            queued = len(self._queue) + len(self._sending)
            delivered, failed = self._counts["delivered"], self._counts["failed"]
        state = " closed" if self._closed else ""
        return (f"<HECHandler {logging.getLevelName(self.level)} url={cfg.target_url!r} "
                f"api_key={mask_secret(cfg.ingest_key)!r} queued={queued} "
                f"delivered={delivered} failed={failed}{state}>")

    # -- emit ------------------------------------------------------------------------------------
    def handle(self, record: logging.LogRecord) -> Any:
        """Filter and emit, without the handler-wide lock ``logging.Handler.handle`` takes:
        the queue has its own, and ``logging.shutdown()`` holds that one while it flushes,
        when httpx's records from our own sending arrive here (they are set aside first)."""
        if threading.current_thread().name.startswith(_OWN_THREADS):
            with self._cond:
                self._counts["ignored"] += 1
            return False
        result = self.filter(record)
        if isinstance(result, logging.LogRecord):  # Python 3.12: a filter may replace it
            record = result
        if result:
            self.emit(record)
        return result

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record as an event; never blocks beyond a lock for the append."""
        if threading.current_thread().name.startswith(_OWN_THREADS):
            with self._cond:
                self._counts["ignored"] += 1
            return
        try:
            event = self._event(record)
        except Exception:
            self.handleError(record)  # logging's own report (a bad format string ...)
            return
        tell = None
        with self._cond:
            if self._closed or self._closing:
                self._counts["after_close"] += 1
                if "closed" not in self._told:
                    self._told.add("closed")
                    tell = (f"a record was logged after the handler was closed; it is not "
                            f"sent ({record.name}: {record.getMessage()[:80]!r}). Such records "
                            "are counted in handler.stats['after_close'].")
            elif len(self._queue) + len(self._sending) >= self.queue_size:
                self._counts["dropped"] += 1
                if not self._dropping:
                    self._dropping = True
                    tell = (f"the queue is full ({self.queue_size:,} records"
                            + (f"; the collector is away: {self._outage}" if self._outage
                               else "") + "); new records are dropped until there is room. "
                            "The count is in handler.stats['dropped']; raise queue_size to "
                            "hold more.")
            else:
                self._seq += 1
                if not self._queue:
                    self._oldest = time.monotonic()
                self._queue.append((self._seq, event))
                self._counts["accepted"] += 1
                if self._dropping and len(self._queue) + len(self._sending) < self.queue_size:
                    self._dropping = False
                self._start()
                if len(self._queue) == 1 or len(self._queue) >= self.batch_size:
                    self._cond.notify_all()
        if tell:
            _note(tell)

    def _event(self, record: logging.LogRecord) -> dict[str, Any]:
        """The HEC envelope for one record, with its time and everything it carries."""
        message = self.format(record) if self.formatter else record.getMessage()
        created = record.created
        whole = int(created)
        stamp = whole * self._per_second + round((created - whole) * self._per_second)
        event: dict[str, Any] = {}
        if self.host:
            event["host"] = self.host
        event["timestamp"] = stamp  # the record's own time: explicit, so no rule replaces it
        event["timeunit"] = self._hec.ingest_timeunit
        event.update({
            "message": message, "level": record.levelname, "levelno": record.levelno,
            "logger": record.name, "module": record.module, "func": record.funcName,
            "line": record.lineno, "file": record.pathname, "thread": record.threadName,
            "thread_id": record.thread, "process": record.process,
            "process_name": record.processName,
        })
        task = getattr(record, "taskName", None)
        if task:
            event["task"] = task
        if record.exc_info and record.exc_info[0] is not None:
            exc_type = record.exc_info[0]
            event["exc_type"] = (exc_type.__qualname__ if exc_type.__module__ == "builtins"
                                 else f"{exc_type.__module__}.{exc_type.__qualname__}")
            event["exc_info"] = record.exc_text or (self.formatter or _DEFAULT_FORMATTER
                                                    ).formatException(record.exc_info)
        elif record.exc_text:
            event["exc_info"] = record.exc_text
        if record.stack_info:
            event["stack_info"] = (self.formatter or _DEFAULT_FORMATTER).formatStack(
                record.stack_info)
        extra = {k: _plain(v) for k, v in record.__dict__.items() if k not in _STANDARD}
        if extra:
            event["extra"] = extra
        envelope: dict[str, Any] = {"event": event}
        if self.fields:
            envelope["fields"] = self.fields
        return envelope

    # -- the worker ------------------------------------------------------------------------------
    def _start(self) -> None:
        """Start the worker on the first record (called with the lock held)."""
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="hecnb-send-logs",
                                            daemon=True)
            self._worker.start()

    def _after_fork(self) -> None:
        """In a forked child: the parent's queue is the parent's to send (a copy sent here
        would arrive twice), and its lock may have been held by a thread that is not here."""
        self._cond = threading.Condition(threading.Lock())
        self._queue = deque()
        self._sending = []
        self._flush_waiters = 0
        self._worker = None
        self._pid = os.getpid()
        self._counts = Counter(dict.fromkeys(self._counts, 0))
        self._reasons = Counter()
        self._told = set()
        self._dropping = False
        self._outage = None

    def _run(self) -> None:
        pause = 0.0
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._closing:  # close() has flushed what it could; it accounts the rest
                    return
                if pause:  # the collector is away: wait, unless a flush or close asks now
                    end = time.monotonic() + pause
                    waiters = self._flush_waiters
                    while not self._closing and self._flush_waiters <= waiters:
                        left = end - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                else:  # gather a batch: full, or its oldest record has waited long enough
                    end = self._oldest + self.flush_interval
                    while (len(self._queue) < self.batch_size and not self._closing
                           and not self._flush_waiters):
                        left = end - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                if self._closing:
                    return
                n = min(self.batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(n)]
                self._sending = batch
                if self._queue:
                    self._oldest = time.monotonic()
                late = self._late
            retry = self._send(batch, late)
            pause = min(self.outage_retry_max, max(pause * 2, 0.25)) if retry else 0.0
            if retry:
                pause *= random.uniform(0.5, 1.0)

    def _send(self, batch: list[tuple[int, dict[str, Any]]], late: bool) -> bool:
        """Send one batch and account for it; True when some of it waits for a retry (no
        answer, or 408/429/5xx: it goes back to the front of the queue)."""
        hec = self._hec
        if late and hec.batch_max_bytes > _LATE_BATCH_BYTES:
            hec.batch_max_bytes = _LATE_BATCH_BYTES
        events = [event for _, event in batch]
        retry_at: set[int] = set()
        final: dict[int, str] = {}
        transient_reason = ""
        try:
            report = hec.send(events, show_progress=False)
        except Exception as exc:  # not a network problem (those are in the report)
            final = {i: f"the send failed: {type(exc).__name__}: {exc}"
                     for i in range(len(batch))}
        else:
            self._last_report = report
            for failed in report.failed:
                # an event that went out in a request (its bytes are kept) and got no answer
                # or a transient one is tried again; one refused for good, or never
                # encodable, is not
                if failed.payload is not None and is_transient(failed.status):
                    retry_at.add(failed.index)
                    transient_reason = transient_reason or failed.reason
                else:
                    final[failed.index] = failed.reason
        delivered = len(batch) - len(retry_at) - len(final)
        tell = []
        with self._cond:
            self._sending = []
            if self._closed:  # close() gave up waiting and has counted this batch as failed
                return False
            self._counts["batches"] += 1
            self._counts["delivered"] += delivered
            if retry_at:
                self._queue.extendleft(reversed([batch[i] for i in sorted(retry_at)]))
                self._counts["retries"] += 1
                if self._outage is None:
                    self._outage = transient_reason
                    tell.append(f"cannot deliver log records to "
                                f"{hec.ingest_config.target_url}: {transient_reason}. They stay "
                                f"queued (at most {self.queue_size:,}) and are tried again "
                                "until it answers.")
            elif delivered and self._outage is not None:
                self._outage = None
                tell.append(f"the collector answers again; queued log records are being "
                            f"delivered ({self._counts['delivered']:,} so far).")
            self._cond.notify_all()
        for text in tell:
            _note(text)
        if final:
            self._fail(batch, final)
        return bool(retry_at)

    def _fail(self, batch: list[tuple[int, dict[str, Any]]], reasons: dict[int, str]) -> None:
        """Count records that will not be delivered; say each new reason once on stderr.
        (Called without the lock; the records are no longer queued or being sent.)"""
        new = []
        with self._cond:
            self._counts["failed"] += len(reasons)
            for reason in reasons.values():
                if reason not in self._reasons:
                    new.append(reason)
                self._reasons[reason] += 1
        for reason in new:
            n = sum(1 for r in reasons.values() if r == reason)
            _note(f"{n:,} log record{'s' if n != 1 else ''} could not be delivered: {reason}. "
                  "Failures are counted in handler.stats['failed'] and ['failure_reasons'].")

    # -- flush and close -------------------------------------------------------------------------
    def _pending_upto(self, seq: int) -> bool:
        """True while a record queued at or before ``seq`` is still waiting or being sent."""
        return bool(self._queue and self._queue[0][0] <= seq) or any(
            s <= seq for s, _ in self._sending)

    def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Wait until every record queued before the call is delivered or has failed for
        good, at most ``timeout`` seconds (default: ``flush_timeout``); True when none is
        left waiting."""
        timeout = self.flush_timeout if timeout is None else timeout
        with self._cond:
            target = self._seq
            if not self._pending_upto(target):
                return True
            if self._worker is None or not self._worker.is_alive():
                self._start()
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._pending_upto(target), timeout)
            finally:
                self._flush_waiters -= 1

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is queued (waiting at most ``timeout``, default ``flush_timeout``),
        then stop the worker and the HEC. What could not be delivered by then is counted as
        failed and said on stderr. ``logging.shutdown()`` calls this at exit."""
        with self._cond:
            if self._closed or self._closing:
                return
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            # a batch still in flight (the collector is away): stop its retries, then wait
            # for it to come back at most one request timeout more
            deadline = time.monotonic() + self._hec.ingest_timeout + 1.0
            while worker.is_alive() and time.monotonic() < deadline:
                self._hec.session_manager.engine.stop()
                worker.join(0.05)
        with self._cond:
            self._closed = True
            left = list(self._sending) + list(self._queue)
            self._sending = []
            self._queue.clear()
            outage = self._outage
            self._cond.notify_all()
        if left:
            why = f"the collector was away ({outage})" if outage else "it was still queued"
            self._fail(left, {i: f"not delivered before the handler was closed: {why}"
                              for i in range(len(left))})
        self._hec.close()
        _LIVE.discard(self)
        counts = self.stats
        if counts["dropped"] or counts["failed"]:
            _note(f"closed: {counts['delivered']:,} log records delivered, "
                  f"{counts['failed']:,} failed, {counts['dropped']:,} dropped because the "
                  "queue was full.")
        super().close()

    def _exit_flush(self) -> None:
        """At interpreter exit, before Python's thread pools shut down: send the queue, and
        keep the connection pool for records logged later (by atexit functions), which
        ``logging.shutdown()`` sends: the pool's own exit finalizer runs before it, and a new
        connection could then need a name lookup, which asyncio can no longer hand to a
        thread."""
        self.flush()
        with self._cond:
            self._late = True
        io = getattr(self._hec.session_manager.engine, "_io", None)
        finalizer = getattr(io, "_finalizer", None)
        if finalizer is not None and hasattr(finalizer, "atexit"):
            finalizer.atexit = False  # close() (from logging.shutdown) closes the pool


# Handlers alive, for the exit hook (weakly: a handler nobody holds may go).
_LIVE: weakref.WeakSet[HECHandler] = weakref.WeakSet()
_HOOKED = False


def _flush_all_at_exit() -> None:
    for handler in list(_LIVE):
        with contextlib.suppress(Exception):
            handler._exit_flush()


def _reset_after_fork() -> None:
    for handler in list(_LIVE):
        handler._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _hook_exit() -> None:
    """Flush at exit before ``concurrent.futures`` stops taking work (``logging.shutdown`` runs
    after that, when a new connection or a thread-pool task could no longer be made)."""
    global _HOOKED
    if _HOOKED:
        return
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        with contextlib.suppress(RuntimeError):  # already shutting down
            register(_flush_all_at_exit)
    _HOOKED = True
