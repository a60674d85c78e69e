"""The exception a failed send raises when asked to: ``SendReport.raise_for_failures()``.

Sending itself never raises for HTTP or network trouble (each event's fate is in the report), so a
notebook that wants "stop here if anything was lost" asks for it, as with httpx's
``Response.raise_for_status()``. The class says what to fix, chosen from the requests that failed:

- ``HecAuthError``: some request was answered 401 or 403 (the key; nothing else helps first);
- ``HecBusyError``: 429 or 503 (the collector throttled until the time budget ran out);
- ``HecResponseError``: another HTTP error answer;
- ``HecTransportError``: requests got no answer at all (DNS, TLS, refused, dropped, timeout);
- ``SendError``: no request failed, yet events were not delivered (they could not be encoded,
  or the send was interrupted or stopped before they went out).

Where several kinds failed, the one behind the most events decides; an auth failure always does.
The report is attached as ``.report``, so the failures and a dead letter are one attribute away.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from .._errors import (
    HecAuthError,
    HecBusyError,
    HecResponseError,
    HecTransportError,
    SendError,
)

if TYPE_CHECKING:
    from .report import BatchResult, SendReport

__all__ = ["failure_error"]

_AUTH, _BUSY = (401, 403), (429, 503)

_FIX = {
    HecAuthError: "check the API key and that it belongs to this connector's URL",
    HecBusyError: ("the collector throttled the send: send again later, or give it longer "
                   "(retry_max_elapsed)"),
    HecResponseError: "the reasons above say what the collector refused",
    HecTransportError: "check the URL, the network path, the proxy and TLS settings",
    SendError: "the reasons above say what kept the events from being sent",
}


def _kind(status: int | None) -> type[SendError]:
    if status is None:
        return HecTransportError
    if status in _AUTH:
        return HecAuthError
    if status in _BUSY:
        return HecBusyError
    return HecResponseError


def _deciding(report: SendReport) -> BatchResult | None:
    """The failed request whose kind of failure explains the most events (auth first)."""
    failed = [b for b in report.batches if b.attempts and not b.ok]
    if not failed:
        return None
    weight: Counter[type[SendError]] = Counter()
    for batch in failed:
        weight[_kind(batch.status)] += batch.events
    kind = HecAuthError if HecAuthError in weight else weight.most_common(1)[0][0]
    return next(b for b in failed if _kind(b.status) is kind)


def _summary(report: SendReport, most: int = 3) -> str:
    counts = Counter(f.reason for f in report.failed).most_common()
    parts = [f"{reason} ({n:,})" for reason, n in counts[:most]]
    if len(counts) > most:
        parts.append(f"{len(counts) - most} more reasons")
    if report.unread is not None:
        name, line = report.unread
        parts.append(f"{name} not read from line {line + 1:,} on")
    parts.extend(report.errors[:most])
    return "; ".join(parts) or (report.stopped or "no reason was recorded")


def failure_error(report: SendReport) -> SendError:
    """The ``SendError`` that says what went wrong in ``report`` (which is not ``ok``)."""
    batch = _deciding(report)
    kind = _kind(batch.status) if batch is not None else SendError
    lost = report.total - report.delivered
    head = (f"{lost:,} of {report.total:,} events were not delivered" if lost > 0
            else "the send did not finish")
    message = (f"{head}: {_summary(report)}. Fix: {_FIX[kind]}; the report is the error's "
               ".report (failed events: .report.failed, .report.write_dead_letter(path)).")
    error: SendError
    if batch is not None and batch.status is not None:
        assert issubclass(kind, HecResponseError)
        error = kind(message, status_code=batch.status, hec_code=batch.hec_code,
                     text=batch.message, report=report)
    else:
        error = kind(message, report=report)
    return error
