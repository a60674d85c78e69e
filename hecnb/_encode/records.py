"""Records one at a time: dicts, strings and ``IngestPayload`` objects -> event members -> bytes.

``RecordConverter`` applies the same rules as the DataFrame plan to one record (host, event
time, fields, columns, na) and spells it in any format; it is the list and file path for
yaml/xml/csv and for json with converter options (plain json lists take ``jsonevents``).
``records_of`` says what counts as records. Apart from the frame path because it works per
record on Python values, where the frame path works per column on arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from .._errors import ConversionError
from .._settings.names import TIMEUNITS
from . import eventtime as evtime
from .dialects import (
    RAW_CSV_BREAK,
    Dialect,
    csv_text,
    json_text,
    xml_element,
    xml_name,
    yaml_key,
    yaml_text,
)
from .envelope import ENVELOPE_KEYS, hec_seconds
from .options import Options
from .timenotes import TimeNotes
from .values import MISSING, member_name, native, show_labels

__all__ = ["KeyProblem", "RecordConverter", "check_not_series", "records_of"]


class KeyProblem(ValueError):
    """One key of a record cannot be encoded (or, as the time column, read)."""

    def __init__(self, key: str, exc: BaseException, what: str = "cannot be encoded") -> None:
        super().__init__(f"key {key!r} {what} ({exc})")
        self.key = key


class RecordConverter:
    """Dicts (FalconPy style or plain records) -> event members -> bytes, one at a time."""

    def __init__(self, options: Options, dialect: Dialect,
                 notes: TimeNotes | None = None) -> None:
        self.options = options
        self.dialect = dialect
        self.envelope = dialect.name == "json" and not dialect.raw
        self.hec_time = self.envelope and options.hec_time
        self.header: list[str] | None = None  # csv
        self.notes = notes if notes is not None else TimeNotes(options.time_rule,
                                                                      options.divisor)
        self._ranker = evtime.Ranker()
        self._ups = TIMEUNITS[options.timeunit]

    def event(self, record: Any, now: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(event members in order, fields)`` for one record; raises TypeError/ValueError
        (:class:`KeyProblem` when one key is the problem).

        The same rules as for a frame row: the ``host`` key is the event's host unless host=
        says otherwise (then host= wins), the time comes from the event-time rule (see
        ``eventtime``); FalconPy's ``custom`` and ``fields`` keys and ready envelopes are
        understood.
        """
        opts = self.options
        fields: dict[str, Any] = {}
        if isinstance(opts.fields, dict):
            fields.update((member_name(k), v) for k, v in opts.fields.items())
        source = self._row(record, fields)
        row = source if opts.columns is None else {c: source[c] for c in opts.columns
                                                   if c in source}
        # host: what the caller passes wins over the record's own 'host' (said once)
        if opts.host is not None:
            if "host" in row and opts.host != "host":
                self.notes.note(f"host={opts.host!r} was given, so it replaced the records' "
                                "'host' key as each event's host")
            row.pop("host", None)
            has_host = opts.host in source or isinstance(opts.host, str)
            host = source.get(opts.host, opts.host)
        else:
            has_host = "host" in row
            host = row.pop("host", None)
        stamp = self._time(source)
        row.pop("timestamp", None)
        # fields given as keys: moved beside the event (json envelope), else kept in it
        if isinstance(opts.fields, tuple):
            for label in opts.fields:
                if label in source:
                    if self.envelope:
                        fields[member_name(label)] = source[label]
                        row.pop(label, None)
                    elif label not in row:
                        row[label] = source[label]
        drop = opts.na == "drop"
        event: dict[str, Any] = {}
        if has_host:
            value = native(host)
            if value is not MISSING or not drop:
                event["host"] = None if value is MISSING else value
        event["timestamp"] = now if stamp is None else stamp
        event["timeunit"] = opts.timeunit
        for key, value in row.items():
            try:
                v = native(value)
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                raise KeyProblem(member_name(key), exc) from None
            if v is MISSING:
                if drop:
                    continue
                v = None
            name = member_name(key)
            if name in event:
                raise ValueError(f"two members would both be called {name!r}")
            event[name] = v
        fields = {member_name(k): native(v, False) for k, v in fields.items()}
        if not self.envelope and fields:
            for name, v in fields.items():
                if name in event:
                    raise ValueError(f"fields member {name!r} is also an event member; outside "
                                     "the json envelope fields are merged into the event")
                event[name] = v
            fields = {}
        return event, fields

    def _time(self, source: dict[Any, Any]) -> int | None:
        """The record's own time (in the unit), or None for the send time; noted."""
        opts = self.options
        notes = self.notes
        divisor = opts.divisor
        notes.events += 1
        choice = opts.timestamp_column
        if choice not in (evtime.AUTO, None):  # the caller's key: a non-time is an error
            notes.seen.add(member_name(choice))
            if "timestamp" in source and choice != "timestamp":
                notes.note(f"timestamp_column={choice!r} was given, so its time replaced the "
                           "records' 'timestamp' key in each event")
            try:
                stamp = evtime.read(source.get(choice), choice, divisor)
            except evtime.Unreadable as exc:
                raise KeyProblem(member_name(choice), exc, what="is not a time") from None
            if stamp is not None:
                notes.add_times(member_name(choice), [stamp])
            return stamp
        stamp, name, bad, seen, several = evtime.resolve(source, choice, self._ranker, divisor)
        notes.seen.update(member_name(k) for k in seen)
        for k, v in bad:
            notes.bad_value(member_name(k), v)
        if several:
            notes.note(several)
        if stamp is not None:
            notes.add_times(member_name(name), [stamp])
        return stamp

    @staticmethod
    def _row(record: Any, fields: dict[str, Any]) -> dict[Any, Any]:
        """The plain key -> value row of a record; its own ``fields`` go into ``fields``."""
        if isinstance(record, (str, bytes, bytearray)):
            text = record.decode("utf-8") if isinstance(record, (bytes, bytearray)) else record
            return {"message": text.rstrip("\r\n")}
        if hasattr(record, "to_json") and hasattr(record, "custom"):  # IngestPayload
            env = record.to_json()
            fields.update(env.get("fields") or {})
            row = dict(env["event"])
            row.pop("timeunit", None)
            return row
        if not isinstance(record, Mapping):
            raise TypeError(f"an event must be a dict, a str or an IngestPayload, not "
                            f"{type(record).__name__}")
        row = dict(record)
        if "event" in row and all(k in ENVELOPE_KEYS for k in row):  # a ready envelope
            inner = row.pop("event")
            fields.update(row.pop("fields", None) or {})
            rest = row
            row = dict(inner) if isinstance(inner, Mapping) else {"message": inner}
            for k, v in rest.items():
                row.setdefault(k, v)
        else:
            custom = row.pop("custom", None)
            if isinstance(custom, Mapping):
                row.update(custom)
            if isinstance(row.get("fields"), Mapping):
                fields.update(row.pop("fields"))
        row.pop("timeunit", None)
        return row

    def render(self, event: dict[str, Any], fields: dict[str, Any]) -> bytes:
        """The bytes of one event (with its line ending)."""
        d = self.dialect
        if d.name == "json":
            env: dict[str, Any] = {"time": hec_seconds(event["timestamp"], self._ups),
                                   "event": event} if self.hec_time else {"event": event}
            if fields and self.envelope:
                env["fields"] = fields
            return json_text(env) + b"\n"
        if d.name == "yaml":
            return d.row_start() + b",".join(
                yaml_key(k) + yaml_text(v) for k, v in event.items()) + d.row_end()
        if d.name == "xml":
            names = [xml_name(k) for k in event]
            if len(set(names)) != len(names):
                raise ValueError("two members have the same XML name; rename one of them")
            return b"<event>" + b"".join(xml_element(n, v) for n, v in zip(
                names, event.values(), strict=True)) + b"</event>\n"
        header = self.header
        if header is None:
            header = self.header = list(event)
        extra = [k for k in event if k not in set(header)]
        if extra:
            raise ValueError(f"member {extra[0]!r} is not in the csv header "
                             f"({show_labels(header)}); pass every record at once so the header "
                             "covers them all")
        cells = []
        for name in header:
            value = event.get(name)
            text = csv_text(value)
            if d.raw and (b"\n" in text or b"\r" in text):
                raise ValueError(RAW_CSV_BREAK)
            cells.append(text)
        return b",".join(cells) + b"\r\n"


def check_not_series(data: Any) -> None:
    """A Series is one column, not a list of events: say so instead of sending its values."""
    if isinstance(data, pd.Series):
        raise ConversionError("a Series is one column, not events; pass series.to_frame() "
                              "(or a DataFrame) instead.")


def records_of(data: Any) -> Sequence[Any] | Iterator[Any]:
    """The records of ``data`` (a dict is one record)."""
    if isinstance(data, (str, bytes, bytearray)):
        raise ConversionError("events must be a DataFrame, a list (or iterable) of dicts or "
                              "strings, not a single str; wrap it in a list.")
    if isinstance(data, Mapping):
        return [data]
    check_not_series(data)
    if isinstance(data, Sequence):
        return data
    if isinstance(data, Iterable):
        return iter(data)
    raise ConversionError(f"cannot make events from a {type(data).__name__}; pass a DataFrame "
                          "or a list of dicts.")
