"""IngestPayload and the event envelope, and the JSON encoding of one event.

FalconPy's envelope puts ``host``, ``timestamp`` and ``timeunit`` inside ``event``, the caller's
own keys beside them, and ``fields`` next to ``event`` (never in raw mode)::

    {"event": {"host": "h1", "timestamp": 1747771778324434944, "timeunit": "nanoseconds",
               "message": "..."}, "fields": {"#source": "notebook"}}

hecnb keeps that shape so data sent by either library looks the same in NG-SIEM.
"""

from __future__ import annotations

import base64
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

from ._config import TIMEUNITS, normalize_timeunit
from ._errors import ConversionError

__all__ = ["ENVELOPE_KEYS", "IngestPayload", "JsonEventEncoder", "dumps", "is_envelope", "now_in"]

#: Members an HEC envelope may have; a dict with ``event`` and only these is sent as it is.
ENVELOPE_KEYS = frozenset({"event", "fields", "time", "host", "source", "sourcetype", "index"})
_RESERVED = ("host", "timestamp", "timeunit", "fields", "custom")
_RESERVED_SET = frozenset(_RESERVED)
_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_OPTS_NL = _OPTS | orjson.OPT_APPEND_NEWLINE


def now_in(timeunit: str) -> int:
    """The current time as an integer count of ``timeunit`` since the epoch (FalconPy's rule)."""
    ns = time.time_ns()
    return ns // (1_000_000_000 // TIMEUNITS[timeunit])


def _default(obj: Any) -> Any:
    """orjson fallback for the types users' data carries that orjson does not know."""
    if isinstance(obj, decimal.Decimal):
        if obj.is_finite():
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        return None if obj.is_nan() else str(obj)
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
        from ._frames import _xml_element as element
        from ._frames import native, xml_name

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
    mode, any text line. Returns bytes ending in ``\\n``.
    """

    content_type = "application/json"

    def __init__(self, *, timeunit: str = "nanoseconds", raw: bool = False) -> None:
        self.timeunit = normalize_timeunit(timeunit)
        self.raw = raw
        self._divisor = 1_000_000_000 // TIMEUNITS[self.timeunit]

    def envelope(self, evt: Any) -> Any:
        """The envelope object for ``evt`` (a str for raw text lines)."""
        if type(evt) is dict or isinstance(evt, Mapping):
            if "event" in evt and is_envelope(evt):
                if self.raw and "fields" in evt:
                    return {k: v for k, v in evt.items() if k != "fields"}
                return evt
            # dict operations only (no Python loop per key): this runs once per event
            if _RESERVED_SET.isdisjoint(evt):  # the common case: a plain record
                plain: dict[str, Any] = {"timestamp": time.time_ns() // self._divisor,
                                         "timeunit": self.timeunit}
                plain.update(evt)
                return {"event": plain}
            host = evt.get("host")
            timestamp = evt.get("timestamp") or time.time_ns() // self._divisor
            event: dict[str, Any] = {"host": host} if host is not None else {}
            event["timestamp"] = timestamp
            event["timeunit"] = self.timeunit
            event.update(evt)
            event["timestamp"] = timestamp
            event["timeunit"] = self.timeunit
            if host is None:
                event.pop("host", None)
            fields = event.pop("fields", None)
            custom = event.pop("custom", None)
            if isinstance(custom, Mapping):  # FalconPy's custom keys join the event
                event.update(custom)
            elif custom is not None:  # anything else is an ordinary member
                event["custom"] = custom
            if fields and not self.raw:
                return {"event": event, "fields": fields}
            return {"event": event}
        if isinstance(evt, IngestPayload):
            evt.timeunit = self.timeunit
            obj = evt.to_json(raw=False)
            if self.raw and isinstance(obj, dict):
                obj.pop("fields", None)
            return obj
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
                return text
            if text.lstrip().startswith("{"):
                try:
                    parsed = orjson.loads(text)
                except orjson.JSONDecodeError:
                    parsed = None
                if isinstance(parsed, dict):
                    return self.envelope(parsed)
            return {"event": {"timestamp": time.time_ns() // self._divisor,
                              "timeunit": self.timeunit, "message": text}}
        raise ConversionError(
            f"an event must be a dict, a str or an IngestPayload, not {type(evt).__name__}."
        )

    def encode(self, evt: Any) -> bytes:
        """Bytes of one event, newline-terminated."""
        obj = self.envelope(evt)
        if type(obj) is str:
            return obj.encode("utf-8") + b"\n"
        try:
            return orjson.dumps(obj, default=_default, option=_OPTS_NL)
        except TypeError as exc:
            raise ConversionError(f"event cannot be encoded as JSON: {exc}.") from None

    def encode_list(self, events: list[Any]) -> list[bytes]:
        """:meth:`encode` for many events: the plain-record case inlined (the sender's hot
        loop). Raises ConversionError like ``encode`` for the first event that fails."""
        dumps, default, opt = orjson.dumps, _default, _OPTS_NL
        unit, div, now, reserved = self.timeunit, self._divisor, time.time_ns, _RESERVED_SET
        raw = self.raw
        encode = self.encode
        out: list[bytes] = []
        append = out.append
        try:
            for evt in events:
                if type(evt) is not dict or "event" in evt:
                    append(encode(evt))
                elif reserved.isdisjoint(evt):  # a plain record
                    event = {"timestamp": now() // div, "timeunit": unit}
                    event.update(evt)
                    append(dumps({"event": event}, default=default, option=opt))
                elif ("timestamp" not in evt and "custom" not in evt and "timeunit" not in evt
                      and evt.get("host", "") is not None):  # FalconPy's host and fields
                    event = {"timestamp": now() // div, "timeunit": unit}
                    event.update(evt)
                    fields = event.pop("fields", None)
                    if fields and not raw:
                        append(dumps({"event": event, "fields": fields}, default=default,
                                     option=opt))
                    else:
                        append(dumps({"event": event}, default=default, option=opt))
                else:
                    append(encode(evt))
        except TypeError:  # let encode() say which event and why
            for evt in events[len(out):]:
                encode(evt)
            raise
        return out

    @staticmethod
    def body(parts: list[bytes]) -> bytes:
        """A request body: the events one per line."""
        return b"".join(parts)

