"""The event-time rule: which member of an event holds its time, and how a value is read.

One rule for every path (lists of dicts, DataFrames, files, the magics, the CLI); see
``docs/formats.md``, "Event time".

Which member (``timestamp_column="auto"``, the default):

1. well-known names, case-insensitive, in the order of :data:`NAMES` (a spelling exactly as
   listed comes before other spellings of the same name, the rest in code-point order);
2. otherwise the event's only other datetime-typed member (a ``datetime64`` column; a
   ``datetime`` value in a dict), when it has exactly one.

Per event, the first candidate whose value is present and readable gives the time; an event
with none gets the send time, and the report counts it. ``timestamp_column=None`` keeps only
FalconPy's own member, ``timestamp``; a column name uses that column alone.

How a value is read (into an integer count of ``timeunit``):

- datetimes: naive ones are UTC, aware ones are converted;
- strings: ISO-8601 in the grammar of :data:`ISO_PATTERN` (naive = UTC), or a plain decimal
  number (read as a number);
- numbers: an epoch whose unit follows from its magnitude (below 1e11 seconds, below 1e14
  milliseconds, below 1e17 microseconds, else nanoseconds), except under the member named
  exactly ``timestamp``, FalconPy's, where a number is already a count of ``timeunit`` (and 0
  means "not given", as in FalconPy);
- missing (None, NaN, NaT, ``""``) gives no time; anything else cannot be read.

This module imports neither numpy nor pandas at import time: the list and file paths use only
:func:`read`; the DataFrame path (:func:`column_times`) imports them when called.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AUTO",
    "EARLIEST_S",
    "FALCONPY",
    "FUTURE_MARGIN_S",
    "ISO_PATTERN",
    "NAMES",
    "NUMBER_PATTERN",
    "Ranker",
    "TimeNotes",
    "Unreadable",
    "check_choice",
    "column_times",
    "iso_ns",
    "read",
    "resolve",
]

#: ``timestamp_column`` default: find the event time by the rule.
AUTO = "auto"
#: FalconPy's member: its numbers are already a count of ``timeunit``.
FALCONPY = "timestamp"

#: The well-known names of an event's time, in rank order (matched case-insensitively).
NAMES: tuple[str, ...] = (
    "timestamp",         # FalconPy's own member; Suricata EVE, GCP audit logs
    "@timestamp",        # Elastic ECS, Logstash, Beats, LogScale
    "_time",             # Splunk, Cribl
    "time",              # HEC envelopes, Fluentd/Fluent Bit, Docker JSON logs
    "ts",                # Zeek
    "TimeCreated",       # Windows event logs (Security, Sysmon; EVTX readers)
    "TimeGenerated",     # Azure Monitor / Log Analytics, Microsoft Sentinel
    "eventTime",         # AWS CloudTrail (also NXLog's EventTime: the same name)
    "CreationTime",      # Microsoft 365 unified audit log
    "ActivityDateTime",  # Entra ID (Azure AD) audit logs via Graph / Log Analytics
    "createdDateTime",   # Entra ID sign-in logs via Graph
    "event_time",        # generic
    "datetime",          # generic
)
_RANK = {name.lower(): i for i, name in enumerate(NAMES)}
_EXACT = frozenset(NAMES)

#: ISO-8601 / RFC 3339 as read here (both paths): a date, optionally a time (``T`` or a
#: space, hh:mm, seconds, up to 9 fraction digits) and a zone (``Z``, ``+hh``, ``+hhmm``,
#: ``+hh:mm``). Used with fullmatch; RE2-compatible, so pandas' pyarrow strings run it in C.
ISO_PATTERN = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
               r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?")
#: A number written as a string (``"1693958400"``, ``"1693958400.123"``).
NUMBER_PATTERN = r"[+-]?[0-9]+(?:\.[0-9]+)?"
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?)?(Z|([+-])([0-9]{2})(?::?([0-9]{2}))?)?)?")
_NUMBER = re.compile(NUMBER_PATTERN)

#: Times before this (1990-01-01 UTC) are reported: usually a number in the wrong unit.
EARLIEST_S = 631_152_000
#: Times later than now plus this many seconds are reported too.
FUTURE_MARGIN_S = 86_400

_NS = 1_000_000_000
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
_fromisoformat = dt.datetime.fromisoformat
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class Unreadable(ValueError):
    """A value that is present but cannot be read as a time."""


def check_choice(value: Any) -> Any:
    """``timestamp_column`` as given: "auto", None, or a column name / key."""
    if isinstance(value, str) and value.strip().lower() == AUTO and value != AUTO:
        return AUTO  # "Auto", " auto": the rule, not a column
    return value


# ---------------------------------------------------------------------------- which member


def _order_key(name: str) -> tuple[int, int, str]:
    return (_RANK[name.lower()], 0 if name in _EXACT else 1, name)


class Ranker:
    """The candidate names among an event's keys, in rule order (cached per spelling, so a
    chunk of records costs one set union and a few dict lookups, not a lowering per key)."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[Any, bool] = {}

    def order(self, keys: Iterable[Any]) -> list[str]:
        """The keys that are well-known time names, in rule order."""
        known = self._known
        found = []
        for key in keys:
            hit = known.get(key)
            if hit is None:
                hit = type(key) is str and key.lower() in _RANK
                if len(known) > 50_000:  # records with ever-new keys: start afresh
                    known.clear()
                known[key] = hit
            if hit:
                found.append(key)
        if len(found) > 1:
            found.sort(key=_order_key)
        return found


# ------------------------------------------------------------------------- reading values


def _shapes() -> dict[bytes, int]:
    """Every shape of the ISO grammar (digits written 0) -> its number of fraction digits."""
    shapes = {b"0000-00-00": 0}
    zones = (b"", b"Z", b"+00", b"-00", b"+0000", b"-0000", b"+00:00", b"-00:00")
    clocks = [(b"00:00", 0), (b"00:00:00", 0)] + [(b"00:00:00." + b"0" * k, k)
                                                  for k in range(1, 10)]
    for sep in (b"T", b" "):
        for clock, digits in clocks:
            for zone in zones:
                shapes[b"0000-00-00" + sep + clock + zone] = digits
    return shapes


_SHAPES = _shapes()
_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


def iso_ns(text: str) -> int | None:
    """Nanoseconds since 1970 for a string of the ISO grammar, None for any other string.

    Raises :class:`Unreadable` for a string of the grammar that is no date (``2024-02-30``).
    The grammar is checked by the string's shape (its bytes with every digit made 0, one C
    call and a set lookup); ``datetime.fromisoformat`` (C) reads the numbers.
    """
    try:
        digits = _SHAPES.get(text.encode().translate(_TO_ZERO))
    except UnicodeEncodeError:  # a lone surrogate: no time
        return None
    if digits is None:
        return None
    try:
        d = _fromisoformat(text)
    except ValueError:  # not a valid date or time, or (Python 3.10) 'Z', '+0100', '+01'
        return _iso_slow(text)
    td = d - (_EPOCH_UTC if d.tzinfo is not None else _EPOCH_NAIVE)
    ns = (td.days * 86_400 + td.seconds) * _NS + td.microseconds * 1000
    if digits > 6:  # fromisoformat keeps microseconds
        ns += int(text[26:20 + digits]) * 10 ** (9 - digits)
    return ns


def _iso_slow(text: str) -> int | None:
    """:func:`iso_ns` by the regular expression alone (the grammar's definition)."""
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac, _, sign, zh, zm = m.groups()
    try:
        day = dt.date(int(y), int(mo), int(d))
        if h is not None:
            dt.time(int(h), int(mi), int(s or 0))  # hour, minute, second in range
    except ValueError as exc:
        raise Unreadable(f"{text!r} is not a valid date and time ({exc})") from None
    seconds = (day.toordinal() - _EPOCH_ORDINAL) * 86_400
    if h is not None:
        seconds += int(h) * 3600 + int(mi) * 60 + int(s or 0)
    if sign is not None:
        offset = int(zh) * 3600 + int(zm or 0) * 60
        if offset >= 86_400:
            raise Unreadable(f"{text!r} has an offset of a day or more")
        seconds += -offset if sign == "+" else offset
    return seconds * _NS + (int(frac.ljust(9, "0")) if frac else 0)


def _magnitude_ns(value: int | float) -> int:
    """Nanoseconds for an epoch number whose unit follows from its magnitude."""
    a = abs(value)
    if type(value) is int:
        if a < 100_000_000_000:
            return value * _NS
        if a < 100_000_000_000_000:
            return value * 1_000_000
        if a < 100_000_000_000_000_000:
            return value * 1000
        return value
    if a < 1e11:  # seconds: float64 carries them to the microsecond
        return round(value * 1e6) * 1000
    if a < 1e14:
        return round(value * 1e3) * 1000
    if a < 1e17:
        return round(value) * 1000
    if a >= 9.223372036854775e18:
        raise Unreadable(f"{value!r} is out of range for an epoch")
    return round(value)


def _in_unit(ns: int, divisor: int, value: Any) -> int:
    """``ns`` in the unit; a time outside the 64-bit nanosecond range cannot be read."""
    if not _INT64_MIN < ns <= _INT64_MAX:  # (-2**63 is numpy's NaT)
        raise Unreadable(f"{_short(value)} is outside the range of times (1677 to 2262)")
    return ns // divisor


def read(value: Any, name: Any, divisor: int) -> int | None:
    """One value as an integer count of the time unit (``divisor`` = ns per unit).

    None when the value is missing; :class:`Unreadable` when it is present but no time.
    ``name`` is the member it came from: under FalconPy's ``timestamp`` numbers are taken as
    already in the unit.
    """
    t = type(value)
    if t is str:
        if not value:
            return None
        ns = iso_ns(value)
        if ns is not None and _INT64_MIN < ns <= _INT64_MAX:  # the common case, inline
            return ns // divisor
        if ns is None:
            if _NUMBER.fullmatch(value) is None:
                raise Unreadable(f"{_short(value)} is not an ISO-8601 time or an epoch number")
            number: int | float = int(value) if "." not in value else float(value)
            ns = _magnitude_ns(number)
        return _in_unit(ns, divisor, value)
    if t is int:
        if name == FALCONPY:
            return value or None
        return _in_unit(_magnitude_ns(value), divisor, value)
    if t is float:
        if value != value or value in (math.inf, -math.inf):
            return None
        if name == FALCONPY:
            if not -9.2e18 < value < 9.2e18:
                raise Unreadable(f"{value!r} is out of range for an epoch")
            return math.floor(value) or None
        return _in_unit(_magnitude_ns(value), divisor, value)
    if value is None or t is bool:
        if value is None:
            return None
        raise Unreadable(f"{value!r} is a bool, not a time")
    return _read_other(value, name, divisor)


def _read_other(value: Any, name: Any, divisor: int) -> int | None:
    """:func:`read` for the less common types (datetimes, numpy and pandas scalars)."""
    kind = type(value).__name__
    if kind in ("NaTType", "NAType"):
        return None
    if isinstance(value, dt.datetime):
        seconds = ((value.toordinal() - _EPOCH_ORDINAL) * 86_400 + value.hour * 3600
                   + value.minute * 60 + value.second)
        offset = value.utcoffset()
        if offset is not None:
            seconds -= offset.days * 86_400 + offset.seconds
        ns = seconds * _NS + value.microsecond * 1000 + getattr(value, "nanosecond", 0)
        return _in_unit(ns, divisor, value)
    if isinstance(value, dt.date):  # a day: its midnight, UTC
        return _in_unit((value.toordinal() - _EPOCH_ORDINAL) * 86_400 * _NS, divisor, value)
    if kind == "datetime64":  # numpy: its own unit
        if str(value) == "NaT":
            return None
        unit = value.dtype.str.split("[")[-1].rstrip("]")
        per_s = _UNITS_PER_S.get(unit)
        if per_s is None:  # days, weeks...: via seconds
            value, per_s = value.astype("datetime64[s]"), 1
        count = int(value.view("i8"))
        return _in_unit(count * (_NS // per_s), divisor, value)
    if kind.startswith(("int", "uint")) and hasattr(value, "item"):  # numpy integers
        return read(int(value), name, divisor)
    if kind.startswith("float") and hasattr(value, "item"):
        return read(float(value), name, divisor)
    if kind == "Decimal":
        if not value.is_finite():
            return None
        return read(int(value) if value == value.to_integral_value() else float(value),
                    name, divisor)
    raise Unreadable(f"a {kind} is not a time")


_UNITS_PER_S = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": _NS}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def resolve(members: Any, choice: Any, ranker: Ranker, divisor: int
            ) -> tuple[int | None, Any, list[tuple[Any, Any]], list[Any], str]:
    """The rule for one record (a dict of its members): ``(time in the unit or None, the key
    it came from, [(key, unreadable value)], candidate keys met, a note or "")``.

    ``choice`` is "auto" or None (FalconPy's ``timestamp`` only); a named key is the
    caller's business (a value that is no time is then an error, not a fallback).
    """
    if choice is None:
        cands: list[Any] = [FALCONPY] if FALCONPY in members else []
    else:
        cands = ranker.order(members)
    bad: list[tuple[Any, Any]] = []
    for key in cands:
        value = members[key]
        try:
            stamp = read(value, key, divisor)
        except Unreadable:
            bad.append((key, value))
            continue
        if stamp is not None:
            return stamp, key, bad, cands, ""
    if cands or choice is None:
        return None, None, bad, cands, ""
    typed = [k for k, v in members.items() if isinstance(v, dt.datetime)]
    if len(typed) == 1:
        key = typed[0]
        try:
            stamp = read(members[key], key, divisor)
        except Unreadable:  # pragma: no cover - every datetime is readable or out of range
            return None, None, [(key, members[key])], typed, ""
        return stamp, (key if stamp is not None else None), [], typed, ""
    if typed:
        shown = ", ".join(repr(k) for k in typed[:6])
        return None, None, [], [], (
            f"some records have {len(typed)} datetime members ({shown}) and none with a "
            "well-known time name, so they carry the send time; pass timestamp_column= to "
            "choose one")
    return None, None, [], [], ""


# -------------------------------------------------------------------------- DataFrame side


def column_times(series: Any, name: Any, divisor: int) -> tuple[Any, Any, Any]:
    """A frame column as ``(int64 counts of the unit, missing mask, unreadable mask)``,
    vectorised; the same results as :func:`read` per value."""
    import numpy as np
    import pandas as pd

    n = len(series)
    dtype = series.dtype
    kind = getattr(dtype, "kind", "O")
    zeros = np.zeros(n, dtype=np.int64)
    none = np.zeros(n, dtype=bool)
    if isinstance(dtype, (pd.CategoricalDtype, pd.SparseDtype)):
        series = series.astype(object)
        dtype, kind = series.dtype, "O"
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        kind = "M"
    if kind == "M":
        arr = series.to_numpy()
        unit = np.datetime_data(arr.dtype)[0]
        if unit not in _UNITS_PER_S:  # days, minutes...: seconds carry them exactly
            arr = arr.astype("datetime64[s]")
            unit = "s"
        missing = np.isnat(arr)
        ints = arr.view(np.int64)
        factor = _NS // _UNITS_PER_S[unit]
        bad = none.copy()
        if factor > 1:
            bad = (np.abs(ints) > _INT64_MAX // factor) & ~missing
        ns = np.where(missing | bad, 0, ints) * factor
        return ns // divisor, missing, bad
    if kind == "b":
        missing = series.isna().to_numpy() if pd.api.types.is_extension_array_dtype(
            dtype) else none
        return zeros, missing, ~missing
    if kind in "iu":
        masked = pd.api.types.is_extension_array_dtype(dtype)
        missing = series.isna().to_numpy() if masked else none.copy()
        if kind == "u":
            values = series.to_numpy(dtype=np.uint64, na_value=0) if masked else \
                series.to_numpy()
            over = values > _INT64_MAX
            values = np.where(over, 0, values).astype(np.int64)
        else:
            values = series.to_numpy(dtype=np.int64, na_value=0) if masked else \
                series.to_numpy().astype(np.int64)
            over = none
        if name == FALCONPY:
            missing = missing | ((values == 0) & ~over)
            bad = over & ~missing
            return np.where(missing | bad, 0, values), missing, bad
        ns, bad = _magnitude_ints(values)
        bad = (bad | over) & ~missing
        ints = np.where(missing | bad, 0, ns) // divisor
        return ints, missing, bad
    if kind == "f":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = ~np.isfinite(values)
        clean = np.where(missing, 0.0, values)
        if name == FALCONPY:
            bad = (np.abs(clean) >= 9.2e18) & ~missing
            floored = np.floor(np.where(bad, 0.0, clean)).astype(np.int64)
            missing = missing | ((floored == 0) & ~bad)
            return np.where(missing, 0, floored), missing, bad
        ns, bad = _magnitude_floats(clean)
        bad = bad & ~missing
        return np.where(missing | bad, 0, ns) // divisor, missing, bad
    if kind == "O" or isinstance(dtype, pd.StringDtype):
        if isinstance(dtype, pd.StringDtype) or pd.api.types.infer_dtype(
                series, skipna=True) in ("string", "empty"):
            return _string_times(series, divisor)
        values = series.tolist()
        ints = np.zeros(n, dtype=np.int64)
        missing, bad = none.copy(), none.copy()
        for pos, value in enumerate(values):  # mixed objects: one at a time, the list rule
            try:
                got = read(value, name, divisor)
            except Unreadable:
                bad[pos] = True
                continue
            if got is None:
                missing[pos] = True
            else:
                ints[pos] = got
        return ints, missing, bad
    missing = series.isna().to_numpy()
    return zeros, missing, ~missing  # timedeltas, complex, intervals...: not times


def _magnitude_ints(values: Any) -> tuple[Any, Any]:
    """Nanoseconds and out-of-range mask for int64 epochs, unit by magnitude."""
    import numpy as np

    a = np.abs(values)
    factor = np.select([a < 10**11, a < 10**14, a < 10**17], [_NS, 1_000_000, 1000], 1)
    bad = (a > _INT64_MAX // factor) | (values == np.iinfo(np.int64).min)
    ns = np.where(bad, 0, values) * factor
    return ns, bad


def _magnitude_floats(values: Any) -> tuple[Any, Any]:
    """Nanoseconds and out-of-range mask for float epochs, unit by magnitude (rounded to
    the precision each unit carries, as :func:`read` rounds)."""
    import numpy as np

    a = np.abs(values)
    scaled = np.select([a < 1e11, a < 1e14, a < 1e17], [values * 1e6, values * 1e3, values],
                       values)
    factor = np.where(a < 1e17, 1000, 1)
    rounded = np.round(scaled)
    bad = np.abs(rounded * factor) >= 9.223372036854775e18
    ns = np.where(bad, 0, rounded).astype(np.int64) * factor
    return ns, bad


def _string_times(series: Any, divisor: int) -> tuple[Any, Any, Any]:
    import numpy as np
    import pandas as pd

    missing = (series.isna() | series.eq("")).to_numpy(dtype=bool, na_value=True)
    text = series.where(~missing)
    iso = text.str.fullmatch(ISO_PATTERN).to_numpy(dtype=bool, na_value=False)
    ints = np.zeros(len(series), dtype=np.int64)
    ok = np.zeros(len(series), dtype=bool)
    if iso.any():
        parsed = pd.to_datetime(text.where(iso), format="ISO8601", utc=True, errors="coerce")
        got, nat, out = column_times(parsed, None, divisor)
        good = ~nat & ~out & iso
        ints[good] = got[good]
        ok |= good
    rest = ~iso & ~missing
    if rest.any():
        numeric = text.where(rest).str.fullmatch(NUMBER_PATTERN).to_numpy(dtype=bool,
                                                                            na_value=False)
        if numeric.any():
            strings = text[numeric].astype(object)
            whole = ~strings.str.contains(".", regex=False).to_numpy(dtype=bool)
            positions = np.flatnonzero(numeric)
            if whole.any():
                values = [int(v) for v in strings[whole].tolist()]
                big = np.array([not _INT64_MIN <= v <= _INT64_MAX for v in values])
                arr = np.array([0 if b else v for v, b in zip(values, big, strict=True)],
                               dtype=np.int64)
                ns, bad = _magnitude_ints(arr)
                bad |= big
                where = positions[whole][~bad]
                ints[where] = ns[~bad] // divisor
                ok[where] = True
            if (~whole).any():
                arr = np.array(strings[~whole].astype(float).tolist(), dtype=np.float64)
                ns, bad = _magnitude_floats(arr)
                where = positions[~whole][~bad]
                ints[where] = ns[~bad] // divisor
                ok[where] = True
    bad = ~ok & ~missing
    ints[~ok] = 0
    return ints, missing, bad


# ----------------------------------------------------------------------------- the notes


@dataclass
class TimeNotes:
    """What the rule did during one encoding: per field how many events it timed, how many
    events fell back to the send time and why, and the warnings for the report."""

    rule: str = AUTO  # "auto", "timestamp" (timestamp_column=None) or "column"
    divisor: int = 1
    fields: Counter[str] = field(default_factory=Counter)
    events: int = 0  # events encoded (each either timed by a field or stamped with send time)
    seen: set[str] = field(default_factory=set)  # candidate fields met, readable or not
    unreadable: Counter[str] = field(default_factory=Counter)
    unreadable_example: dict[str, str] = field(default_factory=dict)
    early: int = 0
    late: int = 0
    early_example: str = ""
    late_example: str = ""
    warnings: list[str] = field(default_factory=list)
    _limits: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    @property
    def timed(self) -> int:
        return sum(self.fields.values())

    @property
    def fallback(self) -> int:
        """Events that carry the send time although the data had a time field."""
        return self.events - self.timed if (self.seen or self.fields) else 0

    def note(self, text: str) -> None:
        """A warning, once."""
        if text not in self.warnings:
            self.warnings.append(text)

    def bad_value(self, name: str, value: Any, where: str = "") -> None:
        self.unreadable[name] += 1
        if name not in self.unreadable_example:
            self.unreadable_example[name] = f"{_short(value)}{where}"

    def add_times(self, name: str, values: Any, where: Any = None) -> None:
        """Count the times (in the unit) that ``name`` gave, and those outside the plausible
        range; ``where(i)`` names the i-th of them for an example (a row, a record).
        ``values`` is a list or a numpy array."""
        count = len(values)
        if not count:
            return
        self.fields[name] += count
        lo, hi = self.limits()
        array = hasattr(values, "dtype")
        if (values.min() if array else min(values)) < lo:
            early = _positions(values, lambda v: v < lo, array)
            self.early += len(early)
            if not self.early_example:
                self.early_example = (f"{_iso_of(int(values[early[0]]), self.divisor)} from "
                                      f"{name!r}{where(early[0]) if where else ''}")
        if (values.max() if array else max(values)) > hi:
            late = _positions(values, lambda v: v > hi, array)
            self.late += len(late)
            if not self.late_example:
                self.late_example = (f"{_iso_of(int(values[late[0]]), self.divisor)} from "
                                     f"{name!r}{where(late[0]) if where else ''}")

    def limits(self) -> tuple[int, int]:
        """The plausible range in the unit: 1990-01-01 to a day after the first look."""
        if self._limits is None:
            per_s = _NS // self.divisor
            self._limits = (EARLIEST_S * per_s,
                            (time.time_ns() // self.divisor) + FUTURE_MARGIN_S * per_s)
        return self._limits

    def merge(self, other: TimeNotes) -> None:
        self.fields.update(other.fields)
        self.events += other.events
        self.seen |= other.seen
        self.unreadable.update(other.unreadable)
        for k, v in other.unreadable_example.items():
            self.unreadable_example.setdefault(k, v)
        self.early += other.early
        self.late += other.late
        self.early_example = self.early_example or other.early_example
        self.late_example = self.late_example or other.late_example
        for w in other.warnings:
            self.note(w)

    def all_warnings(self) -> list[str]:
        """The warnings for the report, the time ones first."""
        out = []
        for name, count in self.unreadable.items():
            out.append(f"{count:,} {_plural(count, 'value')} of {name!r} could not be read "
                       f"as a time (e.g. {self.unreadable_example[name]}); "
                       f"{'that event carries' if count == 1 else 'those events carry'} "
                       "the send time")
        if self.early:
            out.append(f"{self.early:,} event {_plural(self.early, 'time')} before 1990 "
                       f"(e.g. {self.early_example}): a number in the wrong unit?")
        if self.late:
            out.append(f"{self.late:,} event {_plural(self.late, 'time')} more than a day "
                       f"in the future (e.g. {self.late_example}): a number in the wrong "
                       "unit, or a local time read as UTC?")
        return out + [w for w in self.warnings if w not in out]

    def summary(self) -> str:
        """One line: where the event time came from ("" when no event was looked at)."""
        if not self.events:
            return ""
        return describe(dict(self.fields), self.fallback, self.rule, self.events)


def describe(fields: dict[str, int], fallback: int, rule: str | None, events: int) -> str:
    """The report's sentence about the event time."""
    if not fields:
        if rule == "timestamp":
            return "event time: the send time (timestamp_column=None and no 'timestamp')"
        if fallback:
            return (f"event time: no readable time in the time field: {events:,} "
                    f"{_plural(events, 'event')} {'carries' if events == 1 else 'carry'} "
                    "the send time")
        return "event time: no time field found, so every event carries the send time"
    ranked = sorted(fields.items(), key=lambda kv: -kv[1])
    if len(ranked) == 1:
        text = f"event time from {ranked[0][0]!r}"
    else:
        text = "event time from " + ", ".join(f"{k!r} ({v:,})" for k, v in ranked[:4])
        if len(ranked) > 4:
            text += f" and {len(ranked) - 4} more"
    if fallback:
        text += (f"; {fallback:,} {_plural(fallback, 'event')} without a readable time "
                 f"{'carries' if fallback == 1 else 'carry'} the send time")
    return text


def _positions(values: Any, test: Any, array: bool) -> list[int]:
    if array:
        import numpy as np

        return np.flatnonzero(test(values)).tolist()  # type: ignore[no-any-return]
    return [i for i, v in enumerate(values) if test(v)]


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _iso_of(units: int, divisor: int) -> str:
    ns = units * divisor
    seconds, frac = divmod(ns, _NS)
    try:
        stamp = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
    except OverflowError:
        return f"{units} ({divisor} ns units)"
    text = stamp.isoformat()
    if frac:
        text += f".{frac:09d}".rstrip("0")
    return text + "Z"
