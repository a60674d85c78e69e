"""SendReport: what happened to every event of one send.

``delivered + len(failed) == total`` always holds once a send has finished: an event is either
acknowledged by the collector or listed in ``failed`` with its reason.
"""

from __future__ import annotations

import html
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

    @property
    def ok(self) -> bool:
        """True when the collector acknowledged the request."""
        return self.status == 200


@dataclass
class FailedEvent:
    """One event that was not delivered, with why."""

    index: int
    event: Any
    reason: str
    status: int | None = None
    hec_code: int | None = None


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
    errors: list[str] = field(default_factory=list)
    last_status: int | None = None
    last_message: str | None = None

    @property
    def failed_count(self) -> int:
        """Number of events not delivered."""
        return len(self.failed)

    @property
    def ok(self) -> bool:
        """True when every event handed in was delivered."""
        return (not self.failed and not self.errors and not self.interrupted
                and self.delivered == self.total)

    @property
    def requests(self) -> int:
        """Number of requests that ended (after retries), successful or not."""
        return len(self.batches)

    @property
    def retries(self) -> int:
        """Number of extra attempts made across all requests."""
        return sum(b.attempts - 1 for b in self.batches)

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
        return [asdict(f) for f in self.failed]

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
            "errors": list(self.errors),
        }

    def __str__(self) -> str:
        line = (
            f"{self.delivered:,} of {self.total:,} events delivered in {self.elapsed:.2f} s "
            f"({self.events_per_s:,.0f} events/s), {self.requests:,} requests"
        )
        if self.retries:
            line += f" ({self.retries:,} retries)"
        line += f", {_size(self.bytes_raw)}"
        if self.bytes_sent != self.bytes_raw:
            line += f" -> {_size(self.bytes_sent)} gzip"
        if self.failed:
            reasons = "; ".join(f"{n:,} {r}" for r, n in self.failure_reasons().items())
            line += f"; {self.failed_count:,} FAILED: {reasons}"
        if self.interrupted:
            line += "; INTERRUPTED"
        for err in self.errors:
            line += f"; ERROR: {err}"
        return line

    def __repr__(self) -> str:
        return f"<SendReport {self}>"

    def _repr_html_(self) -> str:
        state = "ok" if self.ok else ("interrupted" if self.interrupted else "failures")
        colour = {"ok": "#1a7f37", "failures": "#cf222e", "interrupted": "#9a6700"}[state]
        rows = [
            ("Delivered", f"{self.delivered:,} of {self.total:,}"),
            ("Failed", f"{self.failed_count:,}"),
            ("Requests", f"{self.requests:,} ({self.retries:,} retries)"),
            ("Bytes", f"{_size(self.bytes_raw)} raw, {_size(self.bytes_sent)} sent"),
            ("Elapsed", f"{self.elapsed:.3f} s"),
            ("Throughput", f"{self.events_per_s:,.0f} events/s"),
            ("Destination", f"{self.url} ({'raw' if self.raw else self.ingest_format})"),
        ]
        for reason, n in self.failure_reasons().items():
            rows.append(("Failure", f"{n:,} &times; {html.escape(reason)}"))
        for err in self.errors:
            rows.append(("Failure", html.escape(err)))
        body = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>"
            f"{v if k == 'Failure' else html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return (
            f"<table class='hecnb-report'><caption style='text-align:left;color:{colour}'>"
            f"<b>hecnb SendReport: {state}</b></caption>{body}</table>"
        )


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover
