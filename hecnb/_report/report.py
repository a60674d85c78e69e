"""SendReport: what happened to every event of one send.

``delivered + len(failed) == total`` always holds once a send has finished: an event is either
acknowledged by the collector or listed in ``failed`` with its reason.
"""

from __future__ import annotations

import html
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["BatchResult", "FailedEvent", "SendReport"]


@dataclass
class BatchResult:
    """The outcome of one request (after its retries)."""

    seq: int
    events: int
    status: int | None
    hec_code: int | None = None
    message: str = ""
    attempts: int = 1
    bytes_raw: int = 0
    bytes_sent: int = 0
    elapsed: float = 0.0
    ambiguous: int = 0  # attempts whose answer was lost after the collector may have read them

    @property
    def ok(self) -> bool:
        """True when the collector acknowledged the request (any 2xx answer)."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class FailedEvent:
    """One event that was not delivered, with why."""

    index: int
    event: Any
    reason: str
    status: int | None = None
    hec_code: int | None = None
    payload: bytes | None = field(default=None, repr=False)  # the exact bytes, when encoded


@dataclass
class SendReport:
    """Counts, per-batch outcomes and failed events of one send.

    Renders as one line in a terminal (``str``) and as a small table in a notebook.
    """

    url: str = ""
    ingest_format: str = "json"
    raw: bool = False
    total: int = 0
    delivered: int = 0
    failed: list[FailedEvent] = field(default_factory=list)
    batches: list[BatchResult] = field(default_factory=list)
    bytes_raw: int = 0
    bytes_sent: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    in_flight_peak: int = 0  # the most requests that were in flight at once
    errors: list[str] = field(default_factory=list)
    unread: tuple[str, int] | None = None  # (file, first line index not read) after an interrupt
    encoder: Any = field(default=None, repr=False, compare=False)
    source: Any = field(default=None, repr=False, compare=False)  # the data, for a resend
    bulk: bool = field(default=False, repr=False, compare=False)  # encoded with encode_many
    last_status: int | None = None
    last_message: str | None = None
    #: delivered requests whose answer was not a clean success: message -> how many requests
    warnings: dict[str, int] = field(default_factory=dict)
    #: the permanent failure that stopped the send (the rest was not sent), if one did
    stopped: str | None = None
    #: answers by HTTP status, every attempt counted (None: no answer came)
    answers: dict[int | None, int] = field(default_factory=dict)
    #: answers that asked us to slow down (429, or 503 with Retry-After)
    throttled: int = 0
    #: seconds the whole send was paused for them
    throttle_wait: float = 0.0
    #: the pace the send ended at after being throttled (events/s), else None
    pace: float | None = None
    # the event time (see docs/formats.md "Event time"): the fields that gave events their
    # time (name -> events), events that carry the send time although the data had a time
    # field (missing or unreadable values), and how the time was chosen ("auto", "timestamp"
    # for timestamp_column=None, "column"; None when no rule applied, e.g. raw file lines)
    time_fields: dict[str, int] = field(default_factory=dict)
    time_fallback: int = 0
    time_rule: str | None = None
    # a journal (journal=): where it is, the events it showed as delivered by an earlier run
    # (not sent again), and those sent again because they were in flight when a run died
    # (the collector may hold them twice: counted in possible_duplicates)
    journal: str | None = None
    resumed: int = 0
    resent_in_flight: int = 0
    #: per file, for a send of many files (send_files): (path, that file's report)
    files: list[tuple[str, SendReport]] = field(default_factory=list, repr=False,
                                                compare=False)

    @property
    def time_column(self) -> str | None:
        """The field most events took their time from (None: every event has the send
        time)."""
        if not self.time_fields:
            return None
        return max(self.time_fields.items(), key=lambda kv: kv[1])[0]

    @property
    def event_time(self) -> str:
        """One sentence: where the events' time came from ("" when no rule applied)."""
        if self.time_rule is None:
            return ""
        from .._encode.timenotes import describe

        return describe(self.time_fields, self.time_fallback, self.time_rule, self.total)

    def note_time(self, notes: Any) -> None:
        """What the event-time rule did (an encoder's ``notes``), into the report."""
        if notes is None or not notes.events:  # raw text lines, ready envelopes: no rule
            return
        self.time_rule = notes.rule
        self.time_fields = dict(notes.fields)
        self.time_fallback = notes.fallback
        for warning in notes.all_warnings():
            if warning not in self.warnings:
                self.warn(warning)

    def add_unreached(self, data: Any, start: int, reason: str) -> None:
        """After an interrupt or a permanent failure, list the rows of ``data`` (a list or a
        DataFrame) the send never reached, for a resend."""
        from .._lazy import is_columnar, is_frame

        n = len(data)
        if start >= n:
            return
        labels = list(data.index[start:]) if is_frame(data) else (
            range(start, n) if is_columnar(data) else data[start:])
        self.failed.extend(FailedEvent(pos, label, reason)
                           for pos, label in zip(range(start, n), labels, strict=True))
        self.total += n - start

    def warn(self, message: str, count: int = 1) -> None:
        """Note a warning (said once in str and HTML, with how many times it happened)."""
        self.warnings[message] = self.warnings.get(message, 0) + count

    @property
    def failed_count(self) -> int:
        """Number of events not delivered."""
        return len(self.failed)

    @property
    def ok(self) -> bool:
        """True when every event handed in was delivered."""
        return (not self.failed and not self.errors and not self.interrupted
                and self.stopped is None and self.unread is None
                and self.delivered == self.total)

    def raise_for_failures(self) -> SendReport:
        """Raise a :class:`~hecnb.SendError` subclass, with this report as ``.report``, unless
        every event was delivered; return the report itself when it was (to chain a call).

        ``HecAuthError`` (401/403), ``HecBusyError`` (429/503), ``HecResponseError`` (another
        HTTP error), ``HecTransportError`` (no answer), else ``SendError`` (nothing went out).
        """
        if self.ok:
            return self
        from .raising import failure_error

        raise failure_error(self)

    @property
    def requests(self) -> int:
        """Number of requests that ended (after retries), successful or not; a batch an
        interrupt stopped before it went out is no request."""
        return sum(1 for b in self.batches if b.attempts)

    @property
    def retries(self) -> int:
        """Number of extra attempts made across all requests."""
        return sum(max(0, b.attempts - 1) for b in self.batches)

    @property
    def possible_duplicates(self) -> int:
        """Copies the collector may hold beyond what this report counts: for every request, its
        events once per attempt that went out and whose answer was lost (a timeout, a dropped
        connection, an interrupt while it was on the wire). For a request acknowledged later
        these are extra copies; for one that failed, copies that a resend would add to (delivery
        is at least once, never at most once); and events a journal's resume sent again
        because they were in flight when an earlier run died."""
        return sum(b.events * b.ambiguous for b in self.batches) + self.resent_in_flight

    @property
    def events_per_s(self) -> float:
        """Delivered events per second of wall time."""
        return self.delivered / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def compression_ratio(self) -> float:
        """Bytes before compression / bytes on the wire (1.0 when not compressed)."""
        return self.bytes_raw / self.bytes_sent if self.bytes_sent else 1.0

    def failure_reasons(self) -> dict[str, int]:
        """How many events failed for each reason."""
        return dict(Counter(f.reason for f in self.failed))

    def failed_records(self) -> list[dict[str, Any]]:
        """The failed events as plain dicts (index, event, reason, status, hec_code)."""
        return [{k: v for k, v in asdict(f).items() if k != "payload"} for f in self.failed]

    def failed_frame(self) -> Any:
        """The failed events as a pandas DataFrame (one row each, the event in a column)."""
        import pandas as pd

        columns = ["index", "reason", "status", "hec_code", "event"]
        frame = pd.DataFrame(self.failed_records(), columns=columns)
        return frame.astype({"status": "Int64", "hec_code": "Int64"})

    def write_dead_letter(self, path: str | os.PathLike[str]) -> int:
        """Write every failed event (and an unread file tail) as NDJSON; return records written.

        Each record keeps the original event, the exact bytes that were (or would have been)
        sent, and why it failed, so that ``HEC.resend(path)`` sends exactly those again.
        """
        from .deadletter import write_dead_letter

        return write_dead_letter(self, path)

    def merge(self, other: SendReport) -> SendReport:
        """Add another report's outcomes to this one (used when one call makes two sends)."""
        self.total += other.total
        self.delivered += other.delivered
        self.failed.extend(other.failed)
        self.batches.extend(other.batches)
        self.bytes_raw += other.bytes_raw
        self.bytes_sent += other.bytes_sent
        self.elapsed += other.elapsed
        self.in_flight_peak = max(self.in_flight_peak, other.in_flight_peak)
        self.errors.extend(other.errors)
        self.interrupted = self.interrupted or other.interrupted
        self.unread = other.unread or self.unread
        self.stopped = self.stopped or other.stopped
        for message, n in other.warnings.items():
            self.warnings[message] = self.warnings.get(message, 0) + n
        for status, n in other.answers.items():
            self.answers[status] = self.answers.get(status, 0) + n
        self.throttled += other.throttled
        self.throttle_wait += other.throttle_wait
        self.pace = other.pace if other.pace is not None else self.pace
        for name, count in other.time_fields.items():
            self.time_fields[name] = self.time_fields.get(name, 0) + count
        self.time_fallback += other.time_fallback
        self.time_rule = self.time_rule or other.time_rule
        self.resumed += other.resumed
        self.resent_in_flight += other.resent_in_flight
        self.journal = self.journal or other.journal
        if other.last_status not in (None, 200) or self.last_status is None:
            self.last_status, self.last_message = other.last_status, other.last_message
        return self

    def throttle_note(self) -> str:
        """How the collector slowed the send: answers, time paused, the pace it ended at."""
        n = self.throttled
        note = (f"throttled by the collector: {n:,} {'answer' if n == 1 else 'answers'} "
                f"asked to slow down, paused {self.throttle_wait:.1f} s")
        if self.pace is not None:
            note += f", paced at about {self.pace:,.0f} events/s"
        return note

    def to_dict(self) -> dict[str, Any]:
        """A summary without the events themselves (safe to log)."""
        return {
            "url": self.url,
            "ingest_format": self.ingest_format,
            "raw": self.raw,
            "total": self.total,
            "delivered": self.delivered,
            "failed": self.failed_count,
            "failure_reasons": self.failure_reasons(),
            "requests": self.requests,
            "retries": self.retries,
            "bytes_raw": self.bytes_raw,
            "bytes_sent": self.bytes_sent,
            "elapsed_s": round(self.elapsed, 6),
            "events_per_s": round(self.events_per_s, 1),
            "interrupted": self.interrupted,
            "possible_duplicates": self.possible_duplicates,
            "in_flight_peak": self.in_flight_peak,
            "answers": {str(k): v for k, v in self.answers.items()},
            "throttled": self.throttled,
            "throttle_wait_s": round(self.throttle_wait, 3),
            "pace": None if self.pace is None else round(self.pace, 1),
            "errors": list(self.errors),
            "unread": list(self.unread) if self.unread else None,
            "stopped": self.stopped,
            "time_fields": dict(self.time_fields),
            "time_fallback": self.time_fallback,
            "time_rule": self.time_rule,
            "warnings": dict(self.warnings),
            "journal": self.journal,
            "resumed": self.resumed,
            "resent_in_flight": self.resent_in_flight,
            "files": [{"path": p, "delivered": r.delivered, "total": r.total, "ok": r.ok}
                      for p, r in self.files],
        }

    @property
    def resume_note(self) -> str:
        """``"resuming: 48,000 of 200,000 already delivered"`` after a journal's resume, else
        ``""``."""
        if not self.resumed:
            return ""
        return (f"resuming: {self.resumed:,} of {self.resumed + self.total:,} already "
                "delivered")

    def __str__(self) -> str:
        requests = self.requests
        line = f"{self.resume_note}; " if self.resumed else ""
        line += (
            f"{self.delivered:,} of {self.total:,} events delivered in {self.elapsed:.2f} s "
            f"({self.events_per_s:,.0f} events/s), {requests:,} "
            f"{'request' if requests == 1 else 'requests'}"
        )
        if self.retries:
            line += f" ({self.retries:,} retries)"
        if self.possible_duplicates:
            line += f", {self.possible_duplicates:,} possibly duplicated"
            if self.resent_in_flight:
                line += (f" ({self.resent_in_flight:,} were in flight when the last run "
                         "died)")
        if self.throttled:
            line += f", {self.throttle_note()}"
        line += f", {_size(self.bytes_raw)}"
        if self.bytes_sent != self.bytes_raw:
            line += f" -> {_size(self.bytes_sent)} gzip"
        if self.failed:
            line += f"; {self.failed_count:,} FAILED: {_reasons(self.failure_reasons())}"
        if self.interrupted:
            line += "; INTERRUPTED"
        if self.stopped:  # its reason is among the failures above
            line += "; STOPPED after a permanent failure, the rest not sent"
        if self.unread:
            line += f"; {self.unread[0]} not read from line {self.unread[1] + 1:,}"
        for err in self.errors:
            line += f"; ERROR: {err}"
        if self.event_time:
            line += f"; {self.event_time}"
        for message, n in self.warnings.items():
            line += f"; WARNING: {message}" if n == 1 else f"; WARNING ({n:,} times): {message}"
        return line

    def __repr__(self) -> str:
        return f"<SendReport {self}>"

    def _repr_html_(self) -> str:
        state = "ok" if self.ok else ("interrupted" if self.interrupted else "failures")
        colour = {"ok": "#1a7f37", "failures": "#cf222e", "interrupted": "#9a6700"}[state]
        rows = [
            ("Delivered", f"{self.delivered:,} of {self.total:,}"),
            ("Failed", f"{self.failed_count:,}"),
            ("Requests", f"{self.requests:,} ({self.retries:,} retries, at most "
                         f"{self.in_flight_peak:,} at once)"),
            ("Possible duplicates", f"{self.possible_duplicates:,}"),
            *([("Throttled", self.throttle_note())] if self.throttled else []),
            ("Bytes", f"{_size(self.bytes_raw)} raw, {_size(self.bytes_sent)} sent"),
            ("Elapsed", f"{self.elapsed:.3f} s"),
            ("Throughput", f"{self.events_per_s:,.0f} events/s"),
            ("Destination", f"{self.url} ({'raw' if self.raw else self.ingest_format})"),
        ]
        if self.event_time:
            rows.append(("Event time", self.event_time))
        if self.journal:
            rows.append(("Journal", self.journal + (
                f" ({self.resume_note or 'resuming'}, {self.resent_in_flight:,} in flight "
                "sent again)" if self.resumed or self.resent_in_flight else "")))
        for path, part in self.files:
            rows.append(("File", f"{path}: {part.delivered:,} of {part.total:,} delivered"
                         + ("" if part.ok else ", NOT all")))
        for reason, n in self.failure_reasons().items():
            rows.append(("Failure", f"{n:,} &times; {html.escape(reason)}"))
        for err in self.errors:
            rows.append(("Failure", html.escape(err)))
        if self.stopped:
            rows.append(("Failure", "stopped after a permanent failure: "
                         + html.escape(self.stopped)))
        if self.unread:
            rows.append(("Failure", html.escape(f"{self.unread[0]} not read from line "
                                                f"{self.unread[1] + 1:,}")))
        for message, n in self.warnings.items():
            rows.append(("Warning", f"{n:,} &times; {html.escape(message)}"))
        body = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>"
            f"{v if k in ('Failure', 'Warning') else html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return (
            f"<table class='hecnb-report'><caption style='text-align:left;color:{colour}'>"
            f"<b>hecnb SendReport: {state}</b></caption>{body}</table>"
        )


def _reasons(counts: dict[str, int], most: int = 5) -> str:
    """``"3 HTTP 503; line 2: invalid JSON (...)"``: a reason alone when it is one event's,
    at most ``most`` of them."""
    shown = [r if n == 1 else f"{n:,} {r}" for r, n in list(counts.items())[:most]]
    if len(counts) > most:
        shown.append(f"and {len(counts) - most:,} more reasons (see report.failed)")
    return "; ".join(shown)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover
