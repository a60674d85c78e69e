"""What a Dask send returns: a summary per partition (made on its worker, small enough to travel
back) and the one report they merge into.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._report.deadletter import ReplayEncoder
from .._report.report import BatchResult, FailedEvent, SendReport
from .._settings.names import CONTENT_TYPES

if TYPE_CHECKING:
    from .task import _Job


@dataclass
class PartitionFailedEvent(FailedEvent):
    """A failed event of a Dask send: ``index`` is the row's position within ``partition``
    (``ddf.partitions[partition]`` then ``.iloc[index]``); ``event`` is its index label."""

    partition: int = 0


@dataclass
class PartitionResult:
    """What the send of one partition did; made on the worker, small enough to travel back.

    ``failed`` lists at most ``failed_limit`` events (none when they went to ``dead_letter``);
    ``failed_count`` and ``reasons`` count them all. ``error`` is set when the partition's task
    itself failed (reading the data, a lost worker too often): its rows were then not counted.
    ``attempts`` is how many times the task started (more than 1 after a worker was lost).
    """

    partition: int
    worker: str = ""
    total: int = 0
    delivered: int = 0
    failed_count: int = 0
    failed: list[PartitionFailedEvent] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    batches: list[BatchResult] = field(default_factory=list)
    bytes_raw: int = 0
    bytes_sent: int = 0
    elapsed: float = 0.0
    dead_letter: str | None = None
    errors: list[str] = field(default_factory=list)
    error: str | None = None
    attempts: int = 1
    last_status: int | None = None
    last_message: str | None = None
    framing: tuple[bytes, bytes] = field(default=(b"", b""), repr=False)  # encoder prefix/suffix
    warnings: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None
    answers: dict[int | None, int] = field(default_factory=dict)
    throttled: int = 0
    throttle_wait: float = 0.0
    time_fields: dict[str, int] = field(default_factory=dict)  # as SendReport's
    time_fallback: int = 0
    time_rule: str | None = None

    @property
    def ok(self) -> bool:
        """True when every row of the partition was delivered."""
        return (self.error is None and not self.failed_count and not self.errors
                and self.delivered == self.total)

    @property
    def possible_duplicates(self) -> int:
        """Rows that may be at the collector twice: all of them when the task ran more than
        once (an earlier attempt may have sent any of them), else those acknowledged after a
        retry whose first answer was lost."""
        if self.attempts > 1:
            return self.total
        return sum(b.events for b in self.batches if b.ok and b.ambiguous)


@dataclass(repr=False)
class DaskSendReport(SendReport):
    """A :class:`~hecnb.SendReport` for a whole Dask DataFrame, plus ``partitions``.

    Totals add up over the partitions; ``elapsed`` is the caller's wall time. ``failed`` holds
    :class:`PartitionFailedEvent` entries (at most ``failed_limit`` per partition);
    ``failed_count`` also counts the failed events not listed (``unlisted_failed``: beyond the
    limit, or written to the per-partition files in ``dead_letters``). ``possible_duplicates``
    includes every row of a partition that ran more than once (``rerun_partitions``).
    """

    partitions: list[PartitionResult] = field(default_factory=list)
    unlisted_failed: int = 0
    dead_letters: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def failed_count(self) -> int:
        """Events not delivered, listed or not."""
        return len(self.failed) + self.unlisted_failed

    @property
    def ok(self) -> bool:
        """True when every row of every partition was delivered."""
        return super().ok and not self.unlisted_failed and not self.failed_partitions

    @property
    def possible_duplicates(self) -> int:
        """Rows that may be at the collector more than once (an upper bound)."""
        return sum(p.possible_duplicates for p in self.partitions)

    @property
    def rerun_partitions(self) -> list[int]:
        """Partitions whose task started more than once (a worker was lost while it ran)."""
        return [p.partition for p in self.partitions if p.attempts > 1]

    @property
    def failed_partitions(self) -> list[int]:
        """Partitions whose task failed as a whole; send ``ddf.partitions[these]`` again."""
        return [p.partition for p in self.partitions if p.error is not None]

    @property
    def workers(self) -> list[str]:
        """The workers that sent, sorted."""
        return sorted({p.worker for p in self.partitions if p.worker})

    def failure_reasons(self) -> dict[str, int]:
        """How many events failed for each reason (listed or not)."""
        return dict(self.reasons)

    def failed_frame(self) -> Any:
        """The listed failed events as a DataFrame, with the partition of each."""
        frame = super().failed_frame()
        frame.insert(0, "partition", [f.partition for f in self.failed])  # type: ignore[attr-defined]
        return frame

    def partitions_frame(self) -> pd.DataFrame:
        """One row per partition: where it was sent, counts, attempts, time, dead letters."""
        rows = [{"partition": p.partition, "worker": p.worker, "total": p.total,
                 "delivered": p.delivered, "failed": p.failed_count, "attempts": p.attempts,
                 "elapsed_s": round(p.elapsed, 3), "dead_letter": p.dead_letter,
                 "error": p.error} for p in self.partitions]
        columns = ["partition", "worker", "total", "delivered", "failed", "attempts",
                   "elapsed_s", "dead_letter", "error"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """The summary of :meth:`SendReport.to_dict`, plus the partitions' outcome."""
        out = super().to_dict()
        out.update(partitions=len(self.partitions), workers=self.workers,
                   rerun_partitions=self.rerun_partitions,
                   failed_partitions=self.failed_partitions,
                   unlisted_failed=self.unlisted_failed, dead_letters=list(self.dead_letters))
        return out

    def _where(self) -> str:
        parts, workers = len(self.partitions), len(self.workers)
        text = (f"{parts:,} {'partition' if parts == 1 else 'partitions'} on {workers:,} "
                f"{'worker' if workers == 1 else 'workers'}")
        if self.rerun_partitions:
            text += f", {len(self.rerun_partitions):,} run again after a worker was lost"
        if self.dead_letters:
            text += f", dead letters in {len(self.dead_letters):,} files"
        return text

    def __str__(self) -> str:
        line = super().__str__()
        if self.unlisted_failed and not self.failed:  # the base line lists listed failures only
            reasons = "; ".join(f"{n:,} {r}" for r, n in self.failure_reasons().items())
            line += f"; {self.failed_count:,} FAILED: {reasons}"
        return f"{line} [{self._where()}]"

    def _repr_html_(self) -> str:
        rows = [("Partitions", self._where())]
        if self.unlisted_failed:
            rows.append(("Not listed", f"{self.unlisted_failed:,} failed events "
                                       "(dead-letter files or beyond failed_limit)"))
        extra = "".join(f"<tr><th style='text-align:left'>{k}</th>"
                        f"<td style='text-align:left'>{html.escape(v)}</td></tr>" for k, v in rows)
        return super()._repr_html_().replace("</table>", extra + "</table>")


def _merge(results: list[PartitionResult], job: _Job, elapsed: float,
           attempts: Mapping[int, int]) -> DaskSendReport:
    """One report from the partitions' summaries (in partition order)."""
    report = DaskSendReport(url=job.url, ingest_format=job.ingest_format,
                            raw=job.raw_ingest, elapsed=elapsed)
    reasons: Counter[str] = Counter()
    framing: tuple[bytes, bytes] | None = None
    for part in sorted(results, key=lambda r: r.partition):
        part.attempts = max(part.attempts, attempts.get(part.partition, 1))
        report.partitions.append(part)
        if part.error is not None:
            report.errors.append(f"partition {part.partition}: {part.error} (its rows were not "
                                 "counted; send ddf.partitions[report.failed_partitions] again)")
            report.last_status, report.last_message = 0, part.error
            continue
        report.total += part.total
        report.delivered += part.delivered
        report.failed.extend(part.failed)
        report.unlisted_failed += part.failed_count - len(part.failed)
        reasons.update(part.reasons)
        report.batches.extend(part.batches)
        report.bytes_raw += part.bytes_raw
        report.bytes_sent += part.bytes_sent
        report.errors.extend(f"partition {part.partition}: {e}" for e in part.errors)
        for message, n in part.warnings.items():
            report.warnings[message] = report.warnings.get(message, 0) + n
        for status, n in part.answers.items():
            report.answers[status] = report.answers.get(status, 0) + n
        report.throttled += part.throttled
        report.throttle_wait = max(report.throttle_wait, part.throttle_wait)
        if part.stopped and report.stopped is None:
            report.stopped = f"partition {part.partition}: {part.stopped}"
        if part.dead_letter:
            report.dead_letters.append(part.dead_letter)
        if part.last_status not in (None, 200) or report.last_status is None:
            report.last_status, report.last_message = part.last_status, part.last_message
        if framing is None and part.batches:
            framing = part.framing
        for name, count in part.time_fields.items():
            report.time_fields[name] = report.time_fields.get(name, 0) + count
        report.time_fallback += part.time_fallback
        report.time_rule = report.time_rule or part.time_rule
    report.reasons = dict(reasons)
    prefix, suffix = framing or (b"", b"")
    report.encoder = ReplayEncoder(content_type=CONTENT_TYPES[job.ingest_format], prefix=prefix,
                                   suffix=suffix, raw=job.raw_ingest)
    return report
