"""A bounded queue of events that one background thread sends in batches through a client:
what ``HECHandler`` (``logging`` into NG-SIEM) stands on, apart from anything about logging.

- ``put`` never waits on the network: a lock for an append. A full queue (``queue_size``
  events, those being sent included) drops the event, counts it, and says the first drop of a
  run on stderr.
- A batch that gets no answer, or 408/429/5xx after the client's own retries, goes back to the
  front of the queue and is tried again with growing, jittered pauses (up to
  ``outage_retry_max``); the outage and the recovery are said on stderr. Only what the
  collector refuses for good, or what is still queued when ``close()`` gives up, fails; it is
  counted with its reason and said on stderr.
- ``flush()`` and ``close()`` wait (up to ``flush_timeout``) for everything queued before the
  call. At interpreter exit the queue is flushed before Python shuts its thread pools down; in
  a forked child the parent's queue stays the parent's.

Messages go to stderr, never through ``logging``: that could feed back into a handler. They
speak of "log records" and ``handler.stats``, the one use of this class.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - loaded before the exit hook is registered
import contextlib
import os
import random
import sys
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Protocol

from .._report.report import SendReport
from .retry import is_transient

__all__ = ["OWN_THREADS", "BackgroundSender", "Client"]

#: The names of hecnb's sending threads (the engine's loop and workers, and this worker).
OWN_THREADS = ("hecnb-io", "hecnb-send")
_LATE_BATCH_BYTES = 60 * 1024  # after Python's thread pools shut down: bodies made inline


class Client(Protocol):
    """What the sender needs of a client (a :class:`~hecnb.HEC`)."""

    batch_max_bytes: int
    ingest_timeout: float

    @property
    def ingest_config(self) -> Any: ...

    @property
    def session_manager(self) -> Any: ...

    def send(self, events: Any, *, show_progress: bool | None = None) -> SendReport: ...

    def close(self) -> None: ...


def note(text: str) -> None:
    """Tell the user on stderr (never through logging: that could feed back into a handler)."""
    stream = sys.stderr
    if stream is None:
        return
    with contextlib.suppress(Exception):
        stream.write(f"hecnb.HECHandler: {text}\n")
        stream.flush()


class BackgroundSender:
    """Events queued from any thread, sent in batches of ``batch_size`` (or when the oldest has
    waited ``flush_interval`` seconds) by one daemon thread through ``client``."""

    def __init__(self, client: Client, *, queue_size: int, batch_size: int,
                 flush_interval: float, flush_timeout: float, outage_retry_max: float) -> None:
        self._hec = client
        self.queue_size, self.batch_size = queue_size, batch_size
        self.flush_interval, self.flush_timeout = flush_interval, flush_timeout
        self.outage_retry_max = outage_retry_max
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[tuple[int, dict[str, Any]]] = deque()
        self._oldest = 0.0  # when the first event of the batch being gathered arrived
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
        """A snapshot of the counts (see ``HECHandler.stats``)."""
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
    def closed(self) -> bool:
        """True once ``close()`` has finished."""
        return self._closed

    @property
    def worker(self) -> threading.Thread | None:
        """The sending thread, once the first event came."""
        return self._worker

    # -- put -----------------------------------------------------------------------------------
    def ignore(self) -> None:
        """Count an event that is not sent on purpose (hecnb's own threads' records)."""
        with self._cond:
            self._counts["ignored"] += 1

    def put(self, event: dict[str, Any], what: Callable[[], str]) -> None:
        """Queue ``event``; ``what()`` names it in the one message said if it comes after
        ``close()``. Never blocks beyond a lock for the append."""
        tell = None
        with self._cond:
            if self._closed or self._closing:
                self._counts["after_close"] += 1
                if "closed" not in self._told:
                    self._told.add("closed")
                    tell = (f"a record was logged after the handler was closed; it is not "
                            f"sent ({what()}). Such records are counted in "
                            "handler.stats['after_close'].")
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
            note(tell)

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
            note(text)
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
            note(f"{n:,} log record{'s' if n != 1 else ''} could not be delivered: {reason}. "
                  "Failures are counted in handler.stats['failed'] and ['failure_reasons'].")

    # -- flush and close -------------------------------------------------------------------------
    def _pending_upto(self, seq: int) -> bool:
        """True while a record queued at or before ``seq`` is still waiting or being sent."""
        return bool(self._queue and self._queue[0][0] <= seq) or any(
            s <= seq for s, _ in self._sending)

    def flush(self, timeout: float | None = None) -> bool:
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
        failed and said on stderr."""
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
            note(f"closed: {counts['delivered']:,} log records delivered, "
                  f"{counts['failed']:,} failed, {counts['dropped']:,} dropped because the "
                  "queue was full.")

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



# Senders alive, for the exit hook (weakly: a sender nobody holds may go).
_LIVE: weakref.WeakSet[BackgroundSender] = weakref.WeakSet()
_HOOKED = False


def _flush_all_at_exit() -> None:
    for sender in list(_LIVE):
        with contextlib.suppress(Exception):
            sender._exit_flush()


def _reset_after_fork() -> None:
    for sender in list(_LIVE):
        sender._after_fork()


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
