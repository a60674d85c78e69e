"""IngestPayload and the event envelope, and the JSON encoding of one event.

FalconPy's envelope puts ``host``, ``timestamp`` and ``timeunit`` inside ``event``, the caller's
own keys beside them, and ``fields`` next to ``event`` (never in raw mode)::

    {"event": {"host": "h1", "timestamp": 1747771778324434944, "timeunit": "nanoseconds",
               "message": "..."}, "fields": {"#source": "notebook"}}

hecnb keeps that shape so data sent by either library looks the same in NG-SIEM.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import json
import math
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from .._errors import ConfigError, ConversionError
from .._settings.config import TIMEUNITS, normalize_timeunit
from . import eventtime as evtime

__all__ = ["ENVELOPE_KEYS", "IngestPayload", "JsonEventEncoder", "dumps", "hec_seconds",
           "is_envelope", "now_in"]

#: Members an HEC envelope may have; a dict with ``event`` and only these is sent as it is.
ENVELOPE_KEYS = frozenset({"event", "fields", "time", "host", "source", "sourcetype", "index"})
_RESERVED = ("host", "timestamp", "timeunit", "fields", "custom")
_RESERVED_SET = frozenset(_RESERVED)
# datetimes go through _default, which writes tz-aware ones in UTC with "Z" (as DataFrames do)
_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_OPTS_NL = _OPTS | orjson.OPT_APPEND_NEWLINE
_TOO_BIG = "Integer exceeds 64-bit range"


def now_in(timeunit: str) -> int:
    """The current time as an integer count of ``timeunit`` since the epoch (FalconPy's rule)."""
    ns = time.time_ns()
    return ns // (1_000_000_000 // TIMEUNITS[timeunit])


def _iso(value: dt.datetime) -> str:
    """ISO-8601: naive as it is; tz-aware converted to UTC and written with 'Z'."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def _default(obj: Any) -> Any:
    """orjson fallback for the types users' data carries that orjson does not know."""
    if isinstance(obj, dt.datetime):
        if type(obj).__name__ == "NaTType":
            return None
        return _iso(obj)
    if isinstance(obj, decimal.Decimal):
        if obj.is_finite():
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        return None  # NaN and infinities, as a float's: missing (docs/formats.md)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, (tuple,)):
        return list(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (os.PathLike, uuid.UUID)):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    item = getattr(obj, "item", None)  # numpy / pandas scalars
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    if obj is None or _is_missing(obj):
        return None
    iso = getattr(obj, "isoformat", None)
    if callable(iso):
        return iso()
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"objects of type {type(obj).__name__} cannot be encoded as JSON")


def _is_missing(obj: Any) -> bool:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False
    return obj is pd.NA or obj is pd.NaT


def dumps(obj: Any, *, newline: bool = False) -> bytes:
    """orjson.dumps with hecnb's options: numpy, non-str keys, and the fallback above."""
    return orjson.dumps(obj, default=_default, option=_OPTS_NL if newline else _OPTS)


def is_envelope(evt: Mapping[str, Any]) -> bool:
    """True for a dict that is already an HEC envelope: an ``event`` and only envelope members."""
    return "event" in evt and all(k in ENVELOPE_KEYS for k in evt)


class IngestPayload:
    """One event in FalconPy's envelope shape, with FalconPy's ``to_json``/``to_xml``/``to_csv``.

    Keyword arguments other than ``host``, ``timestamp``, ``timeunit``, ``custom`` and ``fields``
    become custom event keys, as in FalconPy; so does any attribute set later
    (``payload.kind = "alert"``). ``timestamp`` defaults to now, in ``timeunit``.

    >>> p = IngestPayload(host="h1", timestamp=1, message="hello", fields={"#env": "lab"})
    >>> p.to_json()
    {'event': {'host': 'h1', 'timestamp': 1, 'timeunit': 'nanoseconds', 'message': 'hello'}, \
'fields': {'#env': 'lab'}}
    >>> p.to_xml()
    '<event><host>h1</host><timestamp>1</timestamp><timeunit>nanoseconds</timeunit>\
<message>hello</message></event><fields><_x0023_env>lab</_x0023_env></fields>'
    """

    def __init__(
        self,
        host: str | None = None,
        timestamp: int | None = None,
        timeunit: str | Any | None = None,
        custom: dict[str, Any] | None = None,
        fields: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.host = host
        self._timeunit = normalize_timeunit(timeunit) if timeunit else "nanoseconds"
        self._timestamp = timestamp
        self.custom = custom
        self.fields = fields
        self._custom.update(kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        """FalconPy puts every public attribute into the event: an unknown one is a custom key."""
        if name.startswith("_") or name == "host" or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            self._custom[name] = value

    def __getattr__(self, name: str) -> Any:
        """Read a custom key as an attribute (``payload.kind``), as FalconPy allows."""
        custom = self.__dict__.get("_custom")
        if not name.startswith("_") and custom is not None and name in custom:
            return custom[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def custom(self) -> dict[str, Any]:
        """Custom event keys (after ``host``, ``timestamp`` and ``timeunit``)."""
        return self._custom

    @custom.setter
    def custom(self, value: Mapping[str, Any] | None) -> None:
        self._custom = dict(value) if value else {}

    @property
    def fields(self) -> dict[str, Any]:
        """Members beside ``event`` in the envelope (never in raw mode)."""
        return self._fields

    @fields.setter
    def fields(self, value: Mapping[str, Any] | None) -> None:
        self._fields = dict(value) if value else {}

    @property
    def timeunit(self) -> str:
        """Unit of ``timestamp``: nanoseconds (default), milliseconds or seconds."""
        return self._timeunit

    @timeunit.setter
    def timeunit(self, value: str | Any) -> None:
        self._timeunit = normalize_timeunit(value)

    @property
    def timestamp(self) -> int:
        """The event time in ``timeunit``; set on first read to now when not given."""
        if not self._timestamp:
            self._timestamp = now_in(self._timeunit)
        return self._timestamp

    @timestamp.setter
    def timestamp(self, value: int | None) -> None:
        self._timestamp = value

    def _event(self) -> dict[str, Any]:
        """The members of ``event``: host (when set), timestamp, timeunit, then custom keys."""
        event: dict[str, Any] = {}
        if self.host is not None:
            event["host"] = self.host
        event["timestamp"] = self.timestamp
        event["timeunit"] = self._timeunit
        event.update(self._custom)
        return event

    def to_json(self, raw: bool = False, nowrap: bool = False) -> dict[str, Any] | str:
        """The envelope as a dict, as FalconPy's ``to_json``.

        ``raw=True``: a JSON string (FalconPy's ``json.dumps`` spelling), without ``fields``,
        which raw events cannot carry. ``nowrap=True``: only the ``event`` members.
        """
        event = self._event()
        out: dict[str, Any] = event if nowrap else {"event": event}
        if self._fields and not raw and not nowrap:
            out["fields"] = self._fields
        if raw:
            return _json_text(out)
        return out

    def to_xml(self, raw: bool = False, nowrap: bool = False) -> str:
        """The event as XML, in FalconPy's shape but well formed.

        ``<event>...</event>`` then ``<fields>...</fields>`` (not with ``raw``); ``nowrap``
        gives only the members. Text is escaped, names that XML cannot hold are spelled as
        with ``ingest_format="xml"`` (``#env`` -> ``_x0023_env``), lists and dicts become child
        elements. FalconPy closes ``<fields>`` with ``</field>`` and keeps only the last field.
        """
        from .frames import _xml_element as element
        from .frames import native, xml_name

        def members(values: dict[str, Any]) -> str:
            try:
                return b"".join(element(xml_name(str(k)), native(v, False))
                                for k, v in values.items()).decode("utf-8")
            except TypeError as exc:
                raise ConversionError(f"the payload cannot be written as XML: {exc}.") from None

        body = members(self._event())
        if nowrap:
            return body
        if self._fields and not raw:
            return f"<event>{body}</event><fields>{members(self._fields)}</fields>"
        return f"<event>{body}</event>"

    def to_csv(self) -> str:
        """A header line and one row (``\\r\\n`` line ends), as FalconPy's ``to_csv``.

        Columns: ``host``, ``timestamp``, ``timeunit``, then the custom keys; no ``fields``
        (CSV has no place for them). Cells are quoted where CSV needs it and lists or dicts are
        JSON text, where FalconPy turns ``,`` into ``~`` and drops quotes and brackets.
        """
        import csv
        import io

        row: dict[str, Any] = {"host": self.host, "timestamp": self.timestamp,
                               "timeunit": self._timeunit}
        for key, value in self._custom.items():
            row[str(key)] = value
        for key, value in row.items():
            if value is not None and not isinstance(value, (str, int, float)):
                row[key] = dumps(value).decode("utf-8")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
        return out.getvalue()

    def __repr__(self) -> str:
        return f"IngestPayload({self.to_json()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IngestPayload):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]


def _json_text(obj: Any) -> str:
    """JSON as FalconPy's ``json.dumps(obj)`` writes it (``", "`` and ``": "``, ASCII), for
    values json cannot write too (NaN -> null, numpy, datetimes... as hecnb encodes them)."""
    try:
        return json.dumps(_plain(obj), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConversionError(f"the payload cannot be written as JSON: {exc}.") from None


def _plain(value: Any) -> Any:
    """``value`` with only what json writes as it is: str, int, finite float, bool, None,
    dicts with str keys and lists."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k if k is None or isinstance(k, (str, int, float)) else str(_plain(k)): _plain(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return _plain(_default(value))


class JsonEventEncoder:
    """Turns one user event into the bytes of one JSON envelope (or one raw line).

    Accepts dicts (FalconPy style, or ready envelopes), ``IngestPayload``, JSON strings and, in raw
    mode, any text line. Returns bytes ending in ``\\n``. The event time follows the rule of
    ``_eventtime`` (``timestamp_column="auto"``, or None for FalconPy's ``timestamp`` only);
    with ``hec_time`` (the default) the envelope also carries HEC's top-level ``time`` (epoch
    seconds), which raw lines never do. ``notes`` counts what the rule did.
    """

    content_type = "application/json"

    def __init__(self, *, timeunit: str = "nanoseconds", raw: bool = False,
                 timestamp_column: Any = evtime.AUTO, hec_time: bool = True,
                 notes: evtime.TimeNotes | None = None) -> None:
        self.timeunit = normalize_timeunit(timeunit)
        self.raw = raw
        self._divisor = 1_000_000_000 // TIMEUNITS[self.timeunit]
        self._ups = TIMEUNITS[self.timeunit]
        self._per_s = float(self._ups)
        choice = evtime.check_choice(timestamp_column)
        if choice not in (evtime.AUTO, None):
            raise ConfigError("JsonEventEncoder takes timestamp_column='auto' or None; a named "
                              "column goes through make_encoder().")
        self.time_choice = choice
        if not isinstance(hec_time, bool):
            raise ConfigError(f"hec_time must be True or False; got {hec_time!r}.")
        self.hec_time = hec_time and not raw
        self.notes = notes if notes is not None else evtime.TimeNotes(
            evtime.AUTO if choice == evtime.AUTO else "timestamp", self._divisor)
        self._ranker = evtime.Ranker()
        self._saw_datetime = False

    def _hook(self, obj: Any) -> Any:
        """orjson's fallback; notes that a datetime was met (for the datetime-member step)."""
        if isinstance(obj, dt.datetime):
            self._saw_datetime = True
        return _default(obj)

    # -- one event -------------------------------------------------------------------------
    def envelope(self, evt: Any) -> Any:
        """The envelope object for ``evt`` (a str for raw text lines)."""
        return self._envelope(evt, time.time_ns() // self._divisor)[0]

    def _envelope(self, evt: Any, now: int) -> tuple[Any, Any]:
        """``(envelope, what the time rule did)``; the second part is committed to the
        notes only once the event is encoded (see :meth:`_commit`)."""
        if type(evt) is dict or isinstance(evt, Mapping):
            if "event" in evt and is_envelope(evt):  # ready envelopes pass as they are
                if self.raw and "fields" in evt:
                    return {k: v for k, v in evt.items() if k != "fields"}, None
                return evt, None
            host = evt.get("host")
            event: dict[str, Any] = {"host": host} if host is not None else {}
            event["timestamp"] = now
            event["timeunit"] = self.timeunit
            event.update(evt)
            if host is None:
                event.pop("host", None)
            fields = event.pop("fields", None)
            custom = event.pop("custom", None)
            if isinstance(custom, Mapping):  # FalconPy's custom keys join the event
                event.update(custom)
            elif custom is not None:  # anything else is an ordinary member
                event["custom"] = custom
            event["timeunit"] = self.timeunit
            members = event if "timestamp" in evt or (
                isinstance(custom, Mapping) and "timestamp" in custom) else _without(
                    event, "timestamp")
            stamp, key, bad, seen, several = evtime.resolve(members, self.time_choice,
                                                            self._ranker, self._divisor)
            event["timestamp"] = now if stamp is None else stamp
            env = self._wrap(event, fields if fields and not self.raw else None)
            return env, (key, event["timestamp"], bad, seen, several)
        if isinstance(evt, IngestPayload):
            had_time = bool(getattr(evt, "_timestamp", True))
            evt.timeunit = self.timeunit
            obj = evt.to_json(raw=False)
            if isinstance(obj, dict):
                if self.raw:
                    obj.pop("fields", None)
                stamp = obj["event"].get("timestamp")
                if self.hec_time and isinstance(stamp, int):
                    obj = {"time": hec_seconds(stamp, self._ups), **obj}
                note: Any = ("timestamp", stamp, [], ["timestamp"], "") if had_time else (
                    None, stamp, [], [], "")
                return obj, note
            return obj, None  # pragma: no cover - to_json(raw=False) returns a dict
        if isinstance(evt, (bytes, bytearray)):
            try:
                evt = bytes(evt).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConversionError(f"event is not UTF-8 text ({exc.reason}).") from None
        if isinstance(evt, str):
            text = evt.rstrip("\r\n")
            if self.raw:
                if "\n" in text or "\r" in text:
                    raise ConversionError(
                        "a raw event contains a line break: on the raw endpoint every line is a "
                        "separate event; split the text into lines first."
                    )
                return text, None
            if text.lstrip().startswith("{"):
                try:
                    parsed = orjson.loads(text)
                except orjson.JSONDecodeError:
                    parsed = None
                if isinstance(parsed, dict):
                    return self._envelope(parsed, now)
            event = {"timestamp": now, "timeunit": self.timeunit, "message": text}
            return self._wrap(event, None), (None, now, [], [], "")
        raise ConversionError(
            f"an event must be a dict, a str or an IngestPayload, not {type(evt).__name__}."
        )

    def _wrap(self, event: dict[str, Any], fields: Any) -> dict[str, Any]:
        env: dict[str, Any] = ({"time": hec_seconds(event["timestamp"], self._ups),
                                "event": event} if self.hec_time else {"event": event})
        if fields:
            env["fields"] = fields
        return env

    def _commit(self, note: Any) -> None:
        """Count one encoded event in the notes."""
        if note is None:  # a ready envelope or a raw line: the rule did not apply
            return
        key, stamp, bad, seen, several = note
        notes = self.notes
        notes.events += 1
        if seen:
            notes.seen.update(str(k) for k in seen)
        for k, v in bad:
            notes.bad_value(str(k), v)
        if several:
            notes.note(several)
        if key is not None:
            notes.add_times(str(key), [stamp])

    def encode(self, evt: Any) -> bytes:
        """Bytes of one event, newline-terminated."""
        out, note = self._encode_one(evt, time.time_ns() // self._divisor)
        self._commit(note)
        return out

    def _encode_one(self, evt: Any, now: int) -> tuple[bytes, Any]:
        obj, note = self._envelope(evt, now)
        if type(obj) is str:
            return obj.encode("utf-8") + b"\n", note
        return _dump_envelope(obj, self._hook), note

    # -- many events -----------------------------------------------------------------------
    def encode_list(self, events: list[Any]) -> list[bytes]:
        """:meth:`encode` for many events: the plain-record case inlined (the sender's hot
        loop). Raises ConversionError like ``encode`` for the first event that fails.

        The time rule is decided once per chunk from the keys present (one set union; each
        new spelling of a key is looked at once), so a plain record costs a dict lookup per
        candidate name and the reading of its value.
        """
        dumps, hook, opt = orjson.dumps, self._hook, _OPTS_NL
        unit, div, ups, raw = self.timeunit, self._divisor, self._ups, self.raw
        hec_time = self.hec_time
        read, unreadable, iso_ns = evtime.read, evtime.Unreadable, evtime.iso_ns
        low, high = -(2**63), 2**63 - 1
        now = time.time_ns() // div
        now_s = hec_seconds(now, ups)
        if set(map(type, events)) <= {dict}:
            keys = set().union(*events)
        else:
            keys = set().union(*[e for e in events if type(e) is dict])
        odd = not _ODD_KEYS.isdisjoint(keys)  # envelopes, custom, timeunit: the full path
        has_host, has_fields, has_ts = "host" in keys, "fields" in keys, "timestamp" in keys
        if self.time_choice is None:
            cands: list[Any] = ["timestamp"] if has_ts else []
        else:
            cands = self._ranker.order(keys)
        timed: dict[Any, list[int]] = {}
        bad: list[tuple[Any, Any]] = []
        untimed: list[int] = []
        slow: list[Any] = []  # notes of the events that took the full path
        out: list[bytes] = []
        append = out.append
        self._saw_datetime = False
        try:
            for evt in events:
                if type(evt) is not dict or (odd and ("event" in evt or "custom" in evt
                                                      or "timeunit" in evt)) or (
                        has_host and evt.get("host", "") is None):
                    part, note = self._encode_one(evt, now)
                    append(part)
                    slow.append(note)
                    continue
                stamp = None
                for key in cands:
                    value = evt.get(key)
                    if value is None:
                        continue
                    try:
                        if type(value) is str:  # ISO text, the common case: read it here
                            ns = iso_ns(value)
                            stamp = ns // div if ns is not None and low < ns <= high else \
                                read(value, key, div)
                        else:
                            stamp = read(value, key, div)
                    except unreadable:
                        bad.append((key, value))
                        continue
                    if stamp is not None:
                        got = timed.get(key)
                        if got is None:
                            timed[key] = [stamp]
                        else:
                            got.append(stamp)
                        break
                if stamp is None:
                    untimed.append(len(out))
                    event = {"timestamp": now, "timeunit": unit}
                    event.update(evt)
                    if has_ts:
                        event["timestamp"] = now
                    seconds = now_s
                else:
                    event = {"timestamp": stamp, "timeunit": unit}
                    event.update(evt)
                    if has_ts:
                        event["timestamp"] = stamp
                    seconds = stamp if ups == 1 else stamp // ups + stamp % ups / ups
                fields = event.pop("fields", None) if has_fields else None
                env: dict[str, Any] = ({"time": seconds, "event": event} if hec_time
                                       else {"event": event})
                if fields and not raw:
                    env["fields"] = fields
                append(dumps(env, default=hook, option=opt))
        except TypeError:  # >64-bit ints (the standard library writes them), or a bad value
            return self._finish_slowly(events, out, slow, timed, bad, untimed, cands, now)
        if untimed and self._saw_datetime and self.time_choice is not None:
            self._datetime_members(events, out, untimed, timed, cands)
        self._commit_chunk(len(out) - len(slow), timed, bad, cands, slow)
        return out

    def _finish_slowly(self, events: list[Any], out: list[bytes], slow: list[Any],
                       timed: dict[Any, list[int]], bad: list[tuple[Any, Any]],
                       untimed: list[int], cands: list[Any], now: int) -> list[bytes]:
        """The rest of a chunk one event at a time (after orjson refused one): names the
        event and key that fail, or writes ints beyond 64 bits exactly."""
        fast = len(out) - len(slow)
        rest = events[len(out):]
        notes = []
        parts = []
        for evt in rest:
            part, note = self._encode_one(evt, now)  # raises ConversionError for a bad one
            parts.append(part)
            notes.append(note)
        out.extend(parts)
        if untimed and self._saw_datetime and self.time_choice is not None:
            self._datetime_members(events, out, [i for i in untimed if i < fast + len(slow)],
                                   timed, cands)
        self._commit_chunk(fast, timed, bad, cands, slow + notes)
        return out

    def _datetime_members(self, events: list[Any], out: list[bytes], untimed: list[int],
                          timed: dict[Any, list[int]], cands: list[Any]) -> None:
        """Step 2 of the rule for the records of a chunk that had no time by name: their only
        datetime member (a datetime was met while encoding, so there may be one)."""
        now = time.time_ns() // self._divisor
        for i in untimed:
            evt = events[i]
            if type(evt) is not dict or any(k in evt for k in cands):
                continue
            members = _without(evt, "fields")
            stamp, _, _, _, several = evtime.resolve(members, evtime.AUTO, self._ranker,
                                                     self._divisor)
            if several:
                self.notes.note(several)
            if stamp is None:
                continue
            out[i], note = self._encode_one(evt, now)
            if note is not None and note[0] is not None:
                timed.setdefault(note[0], []).append(note[1])
                self.notes.seen.update(str(k) for k in note[3])

    def _commit_chunk(self, fast: int, timed: dict[Any, list[int]],
                      bad: list[tuple[Any, Any]], cands: list[Any], slow: list[Any]) -> None:
        notes = self.notes
        notes.events += fast
        if fast and cands:
            notes.seen.update(str(k) for k in cands)
        for key, values in timed.items():
            notes.add_times(str(key), values)
        for key, value in bad:
            notes.bad_value(str(key), value)
        for note in slow:
            self._commit(note)

    @staticmethod
    def body(parts: list[bytes]) -> bytes:
        """A request body: the events one per line."""
        return b"".join(parts)


_ODD_KEYS = frozenset({"event", "custom", "timeunit"})


def hec_seconds(stamp: int, units_per_s: int) -> float | int:
    """HEC's ``time`` for a count of the unit: epoch seconds, whole seconds plus the fraction
    (so 1693958400123 ms is written 1693958400.123, the nearest float to the time)."""
    if units_per_s == 1:
        return stamp
    return stamp // units_per_s + stamp % units_per_s / units_per_s


def _without(members: dict[str, Any], key: str) -> dict[str, Any]:
    if key not in members:
        return members
    out = dict(members)
    del out[key]
    return out


def _dump_envelope(obj: Any, hook: Any) -> bytes:
    """orjson of one envelope; ints beyond 64 bits through the standard library (exact, as a
    DataFrame writes them); anything with no JSON form a ConversionError naming its key."""
    try:
        return orjson.dumps(obj, default=hook, option=_OPTS_NL)
    except TypeError as exc:
        if _TOO_BIG in str(exc):
            try:
                return json.dumps(_finite(obj), default=hook, ensure_ascii=False,
                                  separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"
            except (TypeError, ValueError) as again:
                exc = TypeError(str(again))
        found = _bad_key(obj, hook)
        where = f"key {found[1]!r}: " if found else ""
        why = found[2] if found else str(exc)  # the named key's own problem
        raise ConversionError(f"event cannot be encoded as JSON: {where}{why}.",
                              column=found[0] if found else None) from None


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None (what orjson writes for them)."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _surrogate_name(key: Any) -> bool:
    """True for a str key that cannot be UTF-8 (a lone surrogate)."""
    return isinstance(key, str) and any("\ud800" <= c <= "\udfff" for c in key)


_SURROGATE_KEY = "str is not valid UTF-8: surrogates not allowed"


def _bad_key(env: Any, hook: Any) -> tuple[str, str, str] | None:
    """``(member, path, why)`` of the first value of an envelope with no JSON form: the event
    member it is in (the "column"), where inside it (``a.b``, ``a[2]``) and its problem."""
    def path(value: Any, prefix: str) -> tuple[str, str] | None:
        if isinstance(value, dict):
            for k, v in value.items():
                here = f"{prefix}.{k}" if prefix else str(k)
                found = (here, _SURROGATE_KEY) if _surrogate_name(k) else path(v, here)
                if found is not None:
                    return found
            return None
        if isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                found = path(v, f"{prefix}[{i}]")
                if found is not None:
                    return found
            return None
        try:
            orjson.dumps(value, default=hook, option=_OPTS)
        except TypeError as exc:
            if _TOO_BIG in str(exc):
                return None
            return prefix, str(exc)
        return None

    event = env.get("event") if isinstance(env, dict) else None
    if isinstance(event, dict):
        for k, v in event.items():
            found = (str(k), _SURROGATE_KEY) if _surrogate_name(k) else path(v, str(k))
            if found is not None:
                return str(k), *found
    if isinstance(env, dict) and isinstance(env.get("fields"), dict):
        found = path(env["fields"], "fields")
        if found is not None:
            return "fields", *found
    return None
