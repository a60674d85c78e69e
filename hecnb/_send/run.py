"""One send, step by step: start the pool, feed batches from the producer, drain what is in
flight, and account every event on the calling thread, also when an interrupt ends it.

The calling thread encodes and batches (``feed``), hands each full batch to the event loop
(``submit``, which holds at most the window plus ``thread_count`` batches alive at once, so
memory stays bounded for streams of any length), and collects outcomes (``collect`` and
``account``: the only places that touch the report and the progress bar). An interrupt or an
exception from the user's iterator lands in ``unwind``, which puts every event not confirmed
in the report before it propagates.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from .._errors import ConversionError
from .._progress import _progress
from .._report.reasons import INTERRUPTED, NOT_SENT, STOPPED, is_delivered
from .._report.report import FailedEvent, SendReport
from .._settings.config import IngestConfig
from .._settings.names import MAX_EVENT_BYTES
from .._settings.secret import guard_logs
from .batching import Batch, Batcher
from .producer import BodyFormat, _Chunks, _drop_oversize, _precheck, _unreached
from .request import Outcome, _by_index, _fail_all, _headers, _Send, _unsent
from .throttle import Throttle
from .window import Window

if TYPE_CHECKING:
    from .._report.journal import Tracker
    from .engine import Engine

__all__ = ["Run"]

_log = logging.getLogger("hecnb")


class Run:
    """One run of an :class:`~hecnb._send.engine.Engine`: ``Run(engine, events, ...).go()``.

    ``events`` yields events, or with ``indexed=True`` ``(index, event)`` pairs (file line
    numbers), or with ``encoded=True`` chunks ``(indices, event bytes, originals)`` already
    encoded (DataFrames and files; the encoder then only assembles bodies). A ``journal``
    (:class:`~hecnb._report.journal.Tracker`) is told of every request just before it goes
    out and of its outcome once accounted, so a later run can resume after a kill.
    """

    def __init__(self, engine: Engine, events: Iterable[Any], *, config: IngestConfig,
                 encoder: BodyFormat, show_progress: bool | None = False,
                 total: int | None = None, indexed: bool = False, encoded: bool = False,
                 url: str | None = None, ingest_format: str | None = None,
                 journal: Tracker | None = None) -> None:
        engine.last_report = None  # an early error must not leave the previous run's report
        self.engine, self.events, self.config = engine, events, config
        self.indexed, self.encoded = indexed, encoded
        self.url = url or config.target_url
        self.auth, self.secrets = config.auth(), config.secrets()  # the key stays in ``auth``
        guard_logs(self.secrets)
        self.headers = _headers(encoder.content_type, config.compress)
        self.report = SendReport(url=self.url,
                                 ingest_format=ingest_format or config.ingest_format,
                                 raw=bool(getattr(encoder, "raw", config.raw_ingest)),
                                 encoder=encoder)
        if total is None and hasattr(events, "__len__"):
            total = len(events)  # type: ignore[arg-type]
        if isinstance(events, (str, bytes)):
            raise ConversionError("send() takes a list (or iterable) of events, not a single "
                                  "str; use send_event() for one event.")
        if isinstance(events, Sequence) and not indexed and not encoded:
            _precheck(events)
        self.batcher = Batcher(config.batch_max_bytes, config.batch_max_events,
                               assemble=encoder.body, overhead=getattr(encoder, "overhead", 0))
        self.producer = _Chunks(events, encoder, indexed=indexed, encoded=encoded)
        self.bar = _progress(show_progress, total)
        self.pending: dict[cf.Future[list[Outcome]], Batch] = {}
        self.window = Window(engine.thread_count, engine.max_in_flight)
        self.placed = 0  # input position reached: everything before it is in a batch or failed
        self.inbox: list[Outcome] = []  # finished outcomes not yet accounted
        self.unsent: list[Batch] = []  # closed batches not yet handed to the event loop
        self.send: _Send | None = None
        self.journal = journal
        self.t0 = time.perf_counter()

    # -- the run ---------------------------------------------------------------------------------
    def go(self) -> SendReport:
        """Send every event; return the report. Re-raises KeyboardInterrupt after accounting."""
        engine, report = self.engine, self.report
        engine._stop.clear()
        engine._interrupted = False
        executor = cf.ThreadPoolExecutor(max_workers=engine.thread_count,
                                         thread_name_prefix="hecnb-send")
        interrupted: BaseException | None = None
        previous_handler = engine._catch_sigint()
        try:
            self.start(executor)
            self.feed()
            self.drain()
        except BaseException as exc:  # KeyboardInterrupt above all: account, then re-raise
            interrupted = exc
            self.unwind()
        finally:
            engine._release_sigint(previous_handler)
            executor.shutdown(wait=True, cancel_futures=True)
            self.close()
        engine.last_report = report
        engine.last_placed = self.placed
        if interrupted is not None:
            report.interrupted = True
            raise interrupted
        return report

    def start(self, executor: cf.Executor) -> None:
        """The pool (made before encoding starts, see ``Pool._ready``) and the run's state."""
        engine = self.engine
        io = engine._loop()
        try:
            client = io.run(engine._ready(self.config))
        except cf.CancelledError:  # Ctrl-C while the pool was being made
            engine._check_interrupt()
            raise
        self.send = _Send(self.config, self.url, self.headers, client, executor, self.window,
                          self.auth, self.secrets, throttle=engine._throttle_for(self.url))

    def feed(self) -> None:
        """Encode chunk after chunk, batch them, hand full batches to the loop."""
        producer, send = self.producer, self.send
        assert send is not None
        for indices, parts, originals, failures in producer:
            if failures:
                self.fail_now(failures)
            if parts and max(map(len, parts)) > MAX_EVENT_BYTES:
                indices, parts, originals, too_big = _drop_oversize(indices, parts, originals)
                self.fail_now(too_big)
            self.unsent.extend(self.batcher.add_many(indices, parts, originals))
            producer.current = producer.current_chunk = None
            self.placed = producer.position
            while self.unsent:
                self.submit(self.unsent[0])
                del self.unsent[0]
            self.engine._check_interrupt()
            if send.halt is not None:
                break  # a permanent failure: read no more of the input

    def drain(self) -> None:
        """The last batch, then every outcome; after a stop, what was never read."""
        batch = self.batcher.flush()
        if batch is not None:
            self.unsent.append(batch)
            self.submit(batch)
            del self.unsent[0]
        while self.pending:
            self.collect()
        send = self.send
        assert send is not None
        if send.halt is not None:
            self.fail_now(_unreached(self.events, self.producer, self.placed,
                                     STOPPED + send.halt, encoded=self.encoded,
                                     indexed=self.indexed))

    # -- the calling thread's bookkeeping --------------------------------------------------------
    def submit(self, batch: Batch) -> None:
        """Hand a batch to the loop, once there is room (the window's worth in flight plus one
        being compressed per thread: this bounds memory for streams of any length)."""
        send = self.send
        assert send is not None
        while (len(self.pending) >= self.window.limit + self.engine.thread_count
               and send.halt is None):
            self.collect()
        if send.halt is not None:  # a permanent failure: this batch is never sent
            _fail_all(self.report, batch, STOPPED + send.halt)
            if self.bar is not None:
                self.bar.update(len(batch))
            return
        if self.journal is not None:  # before it can reach the collector
            self.journal.sending(batch.indices)
        fut = self.engine._loop().submit(self.engine._deliver(batch, send),
                                         if_cancelled=partial(_unsent, batch))
        self.pending[fut] = batch

    def collect(self) -> None:
        """Account the outcomes that are in (waiting a moment for one)."""
        done, _ = cf.wait(self.pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
        if self.bar is not None and self.send is not None and self.send.throttle is not None:
            self.show_throttle(self.send.throttle)
        for fut in done:
            self.inbox.extend(fut.result())  # an error leaves it pending, for the abort
            del self.pending[fut]
        while self.inbox:
            self.account(self.inbox[0])
            del self.inbox[0]
        self.engine._check_interrupt()

    def account(self, out: Outcome) -> None:
        """One finished request in the report (and the bar)."""
        report, res = self.report, out.result
        report.batches.append(res)
        report.bytes_raw += res.bytes_raw
        report.bytes_sent += res.bytes_sent
        delivered = is_delivered(res.status)
        if delivered:
            report.delivered += res.events
            if out.warning:
                self.warn(out.warning)
        else:
            _fail_all(report, out.batch, out.reason, res.status, res.hec_code)
        if self.journal is not None:  # after the answer, never before
            self.journal.settled(out.batch.indices, delivered, not res.attempts or (
                res.status is not None and not res.ambiguous))
        if out.halted and report.last_status is not None:
            pass  # the failure that stopped the send stays the last status
        elif report.last_status is None or is_delivered(report.last_status) or not delivered:
            report.last_status = 0 if res.status is None else res.status
            report.last_message = res.message if delivered else out.reason
        if self.bar is not None:
            self.bar.update(res.events)
            if report.failed:
                self.bar.set_postfix(failed=len(report.failed), refresh=False)

    def show_throttle(self, throttle: Throttle) -> None:
        """The bar says when (and how) the collector holds the send back."""
        pause = throttle.paused_for()
        if pause > 0:
            state = f"paused {pause:.0f} s"
        elif throttle.rate is not None:
            state = f"{throttle.rate:,.0f}/s"
        else:
            return
        postfix = {"throttled": state}
        if self.report.failed:
            postfix["failed"] = str(len(self.report.failed))
        self.bar.set_postfix(postfix, refresh=False)

    def warn(self, message: str) -> None:
        """A delivered request whose answer was not a clean success: logged once per run,
        counted per request."""
        if message not in self.report.warnings:
            _log.warning("delivered, but: %s", message)
        self.report.warn(message)

    def fail_now(self, failures: list[FailedEvent]) -> None:
        """Events that failed before they could be sent."""
        self.report.failed.extend(failures)
        if self.bar is not None:
            self.bar.update(len(failures))

    # -- the end ---------------------------------------------------------------------------------
    def unwind(self) -> None:
        """After an interrupt: every event not confirmed goes in the report, none lost."""
        producer, events, report = self.producer, self.events, self.report
        if producer.current and not isinstance(events, Sequence):
            self.fail_now([FailedEvent(p[0], p[-1], NOT_SENT) for p in producer.current])
        if self.encoded:  # chunks taken but not placed, and (for a list) those never taken
            rest = [producer.current_chunk] if producer.current_chunk is not None else []
            if isinstance(events, Sequence):
                rest += list(events[producer.chunks_taken:])
            for idxs, parts, origs in rest:
                self.fail_now([FailedEvent(i, o, NOT_SENT, payload=p)
                               for i, p, o in zip(idxs, parts, origs, strict=True)])
        for out in self.inbox:
            self.account(out)
        queued = {id(b) for b in self.pending.values()}
        for batch in self.unsent:
            if id(batch) not in queued:
                _fail_all(report, batch, NOT_SENT)
        self.abort()

    def abort(self) -> None:
        """Stop quickly and put every unconfirmed event in the report."""
        engine, report = self.engine, self.report
        engine._stop.set()
        io = engine._io
        if io is not None:
            io.cancel_all()  # each task turns its cancellation into an outcome
        for fut, batch in list(self.pending.items()):
            try:
                for out in fut.result(timeout=5):
                    self.account(out)
            except BaseException:
                _fail_all(report, batch, INTERRUPTED)
        rest = self.batcher.flush()
        if rest is not None:
            _fail_all(report, rest, NOT_SENT)
        events = self.events
        if isinstance(events, Sequence) and not self.encoded and not self.indexed:
            for idx in range(self.placed, len(events)):
                report.failed.append(FailedEvent(idx, events[idx], NOT_SENT))

    def close(self) -> None:
        """The report's totals, however the run ended."""
        report, send = self.report, self.send
        report.elapsed = time.perf_counter() - self.t0
        report.stopped = send.halt if send is not None else None
        if send is not None:
            report.answers = dict(send.answers)
            if send.throttle is not None and send.throttle.answers:
                report.throttled = send.throttle.answers
                report.throttle_wait = send.throttle.paused
                report.pace = send.throttle.rate
        report.in_flight_peak = self.window.most
        self.engine.last_window = self.window
        report.total = report.delivered + len(report.failed)
        report.failed.sort(key=_by_index)
        if self.bar is not None:
            self.bar.close()
