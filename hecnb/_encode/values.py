"""One cell or record value made JSON-native (``native``, ``MISSING``) and a label made a
member name (``member_name``): the value rules every format shares.

Apart from the dialects (which spell a native value) and from the frame and record paths (which
call these for object cells, constant fields and each record's values). Imports pandas and
numpy, for their scalars and missing values.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import ipaddress
import math
import os
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .envelope import iso_utc

__all__ = ["MISSING", "member_name", "native", "show_labels"]


class _Missing:
    """The type of ``MISSING``: "no value here" (None, NaN, NaT, pd.NA, inf) at top level."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def native(value: Any, top: bool = True) -> Any:
    """A JSON-native value (str, int, float, bool, None, list, dict) for any cell value.

    At top level a missing value (None, NaN, NaT, pd.NA, and inf, which JSON cannot carry) is
    ``MISSING``; nested ones are None. Raises TypeError for objects with no JSON form.
    """
    t = type(value)
    if t is str or t is int or t is bool:
        return value
    if t is float:
        if value != value or value in (math.inf, -math.inf):  # NaN; inf has no JSON form
            return MISSING if top else None
        return value
    if value is None:
        return MISSING if top else None
    if t is dict:
        return _native_dict(value)
    if t is list or t is tuple:
        return [native(v, False) for v in value]
    return _native_other(value, top)


def _native_dict(value: Mapping[Any, Any]) -> dict[str, Any]:
    out = {member_name(k): native(v, False) for k, v in value.items()}
    if len(out) != len(value):
        raise TypeError("a dict has keys that are equal as strings (e.g. 1 and '1')")
    return out


def member_name(key: Any) -> str:
    """The output name of a column or dict key: str; tuples (MultiIndex columns) joined by '.'."""
    if type(key) is str:
        return key
    if isinstance(key, tuple):
        return ".".join(member_name(k) for k in key)
    if isinstance(key, str):
        return str.__str__(key)
    return str(key)


def _native_other(value: Any, top: bool) -> Any:
    """``native`` for everything but the common exact types."""
    if value is pd.NA or value is pd.NaT:
        return MISSING if top else None
    if isinstance(value, np.generic):
        if isinstance(value, np.datetime64):
            return MISSING if top and np.isnat(value) else (
                None if np.isnat(value) else iso_utc(pd.Timestamp(value)))
        if isinstance(value, np.timedelta64):
            if np.isnat(value):
                return MISSING if top else None
            return pd.Timedelta(value).total_seconds()
        if isinstance(value, np.complexfloating):
            raise TypeError("complex numbers have no JSON form")
        if isinstance(value, np.bytes_):
            return base64.b64encode(bytes(value)).decode("ascii")
        if isinstance(value, np.void):
            raise TypeError("numpy structured values have no JSON form")
        return native(value.item(), top)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return native(float(value), top)
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return pd.Timedelta(value).total_seconds()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return MISSING if top else None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return _native_dict(value)
    if isinstance(value, (set, frozenset)):
        return [native(v, False) for v in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [native(v, False) for v in value]
    if isinstance(value, np.ndarray):
        return [native(v, False) for v in value.tolist()]
    if isinstance(value, enum.Enum):
        return native(value.value, top)
    if isinstance(value, (uuid.UUID, os.PathLike, ipaddress.IPv4Address, ipaddress.IPv6Address,
                          ipaddress.IPv4Network, ipaddress.IPv6Network, pd.Period,
                          pd.Interval)):
        return str(value)
    if isinstance(value, complex):
        raise TypeError("complex numbers have no JSON form")
    raise TypeError(f"objects of type {type(value).__name__} have no JSON form")


def show_labels(labels: list[Any]) -> str:
    """The first twelve labels, for an error message."""
    shown = ", ".join(repr(c) for c in labels[:12])
    return shown + (", ..." if len(labels) > 12 else "")
