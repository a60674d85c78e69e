"""A DataFrame (or a list of events) sent with a journal: ``df.to_ngsiem(journal=PATH)``,
``hec.send(events, journal=PATH)``.

The journal holds the frame's fingerprint (shape, columns, dtypes, a hash of a sample of rows)
and the row positions the collector confirmed; the same call after a kernel restart sends the
rows it does not confirm, and a different frame is refused. The facade hands its ``HEC`` in
(``hec``, anything with ``send`` and ``_finish``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .._encode.eventids import (
    check_event_id,
    frame_with_ids,
    records_with_ids,
    token_of,
    with_id_column,
)
from .._errors import ConfigError
from .._lazy import is_frame
from .journal import Journal, Positions, frame_identity, list_identity
from .report import SendReport

__all__ = ["SEND_KEYWORDS", "send_journaled"]

#: Per-call keywords of a send besides the converter's options (``df.to_ngsiem`` takes them).
SEND_KEYWORDS = ("event_id", "event_id_from")


def send_journaled(hec: Any, events: Any, journal: str | os.PathLike[str] | None, *,
                   restart: bool, total: int | None, **send: Any) -> SendReport:
    """Send the rows of ``events`` the journal does not confirm (all of them without a
    journal), with deterministic ids when ``event_id`` is given; see the module."""
    event_id = send.pop("event_id", None)
    id_from = send.pop("event_id_from", "position")
    if journal is None and restart:
        raise ConfigError("restart=True starts a journal over: pass journal= with it.")
    if event_id is None and id_from != "position":
        raise ConfigError("event_id_from= says how event_id= is made: pass event_id= too.")
    if event_id is not None:
        check_event_id(event_id, id_from)
    frame = is_frame(events)
    if not frame and (not isinstance(events, Sequence) or isinstance(events, (str, bytes))):
        if journal is None:
            raise ConfigError("event_id= needs a DataFrame, a list of events, or a file "
                              "(send_file); make the events a list.")
        raise ConfigError(
            "journal= needs data that can be read again in the same order: a pandas "
            "DataFrame, a list of events, or a file (send_file / send_files); a generator, "
            "an iterator, a reader or a Polars/Arrow table cannot be resumed yet. Make it a "
            "list or a pandas DataFrame, or send without a journal.")
    identity = frame_identity(events) if frame else list_identity(events)
    if event_id is not None:
        token = token_of(identity) if id_from == "position" else ""
        events = (frame_with_ids(events, event_id, f"{token}-", id_from) if frame
                  else records_with_ids(events, event_id, token, id_from))
        if frame:
            send = with_id_column(send, event_id)
    if journal is None:
        return hec.send(events, total=total, **send)  # type: ignore[no-any-return]
    kind = "frame" if frame else "list"
    what = "This DataFrame" if frame else "This list of events"
    with Journal.open(journal, kind, [kind], restart=restart) as book:
        book.check_identity(0, identity, what=what)
        already = book.delivered(0)
        missing = book.state[0].done.missing(len(events))
        positions = None if missing == [(0, len(events))] else Positions(missing)
        if positions is None:
            todo = events
        elif frame:
            todo = events.take(positions.flat())
        else:
            todo = [events[i] for i in positions.flat().tolist()]
        tracker = book.tracker(0, positions)

        def note(report: SendReport) -> SendReport:
            report.journal, report.resumed = book.path, already
            report.resent_in_flight = tracker.resent
            if positions is not None:  # positions of the frame handed in, not of the rest
                for failure in report.failed:
                    failure.index = positions[failure.index]
                if report.source is todo:
                    report.source = events
            return report

        if positions is not None and not len(positions):  # all of it delivered before
            report = SendReport(url=hec.ingest_config.ingest_url, last_status=200,
                                ingest_format=hec.ingest_config.ingest_format)
            return hec._finish(note(report))  # type: ignore[no-any-return]
        try:
            report = hec.send(todo, _journal=tracker, **send)
        except KeyboardInterrupt:
            if hec.last_report is not None:
                note(hec.last_report)
            raise
        return note(report)
