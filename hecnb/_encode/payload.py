"""``IngestPayload``: FalconPy's public event class, with its ``to_json``/``to_xml``/``to_csv``.

Apart from the encoders because it is public API that users build events with: ``import hecnb``
loads it (so it stays light: the XML spelling, which needs the DataFrame-side value rules, is
imported when ``to_xml`` is called), and every path accepts it as one event.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .._errors import ConversionError
from .._settings.names import normalize_timeunit
from .envelope import dumps, json_default, now_in

__all__ = ["IngestPayload"]


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
            return _falconpy_json(out)
        return out

    def to_xml(self, raw: bool = False, nowrap: bool = False) -> str:
        """The event as XML, in FalconPy's shape but well formed.

        ``<event>...</event>`` then ``<fields>...</fields>`` (not with ``raw``); ``nowrap``
        gives only the members. Text is escaped, names that XML cannot hold are spelled as
        with ``ingest_format="xml"`` (``#env`` -> ``_x0023_env``), lists and dicts become child
        elements. FalconPy closes ``<fields>`` with ``</field>`` and keeps only the last field.
        """
        from .dialects import xml_element as element
        from .dialects import xml_name
        from .values import native

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


def _falconpy_json(obj: Any) -> str:
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
    return _plain(json_default(value))
