"""FalconPy's event envelope: its members, HEC's ``time`` member, and hecnb's JSON text.

FalconPy's envelope puts ``host``, ``timestamp`` and ``timeunit`` inside ``event``, the caller's
own keys beside them, and ``fields`` next to ``event`` (never in raw mode)::

    {"event": {"host": "h1", "timestamp": 1747771778324434944, "timeunit": "nanoseconds",
               "message": "..."}, "fields": {"#source": "notebook"}}

hecnb keeps that shape so data sent by either library looks the same in NG-SIEM. This module is
the base the other encoders share (``IngestPayload`` in ``payload``, the per-event JSON path in
``jsonevents``, the DataFrame and record paths): it imports nothing of hecnb's encoders and
neither numpy nor pandas, so ``import hecnb`` stays light.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import math
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from .._settings.names import TIMEUNITS

__all__ = ["ENVELOPE_KEYS", "INT_TOO_BIG", "ORJSON_OPTIONS", "ORJSON_OPTIONS_NL", "dumps",
           "hec_seconds", "is_envelope", "iso_utc", "json_default", "now_in"]

#: Members an HEC envelope may have; a dict with ``event`` and only these is sent as it is.
ENVELOPE_KEYS = frozenset({"event", "fields", "time", "host", "source", "sourcetype", "index"})
#: orjson's options for events. Datetimes go through :func:`json_default`, which writes
#: tz-aware ones in UTC with "Z" (as DataFrames do).
ORJSON_OPTIONS = (orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
                  | orjson.OPT_PASSTHROUGH_DATETIME)
ORJSON_OPTIONS_NL = ORJSON_OPTIONS | orjson.OPT_APPEND_NEWLINE
#: orjson's error for ints beyond 64 bits (the standard library writes those exactly).
INT_TOO_BIG = "Integer exceeds 64-bit range"


def now_in(timeunit: str) -> int:
    """The current time as an integer count of ``timeunit`` since the epoch (FalconPy's rule)."""
    ns = time.time_ns()
    return ns // (1_000_000_000 // TIMEUNITS[timeunit])


def iso_utc(value: dt.datetime) -> str:
    """ISO-8601: naive as it is; tz-aware converted to UTC and written with 'Z'."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def json_default(obj: Any) -> Any:
    """orjson fallback for the types users' data carries that orjson does not know."""
    if isinstance(obj, dt.datetime):
        if type(obj).__name__ == "NaTType":
            return None
        return iso_utc(obj)
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
    return orjson.dumps(obj, default=json_default,
                        option=ORJSON_OPTIONS_NL if newline else ORJSON_OPTIONS)


def is_envelope(evt: Mapping[str, Any]) -> bool:
    """True for a dict that is already an HEC envelope: an ``event`` and only envelope members."""
    return "event" in evt and all(k in ENVELOPE_KEYS for k in evt)


def hec_seconds(stamp: int, units_per_s: int) -> float | int:
    """HEC's ``time`` for a count of the unit: epoch seconds, whole seconds plus the fraction
    (so 1693958400123 ms is written 1693958400.123, the nearest float to the time)."""
    if units_per_s == 1:
        return stamp
    return stamp // units_per_s + stamp % units_per_s / units_per_s
