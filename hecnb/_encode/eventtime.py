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

This module holds the rule and the reading of one value; it imports neither numpy nor pandas,
so the list and file paths use it alone. The same rule over a whole DataFrame, vectorised, is
``frametimes``; what the rule did during an encoding is counted in ``timenotes``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "AUTO",
    "EARLIEST_S",
    "FALCONPY",
    "FUTURE_MARGIN_S",
    "ISO_PATTERN",
    "NAMES",
    "NUMBER_PATTERN",
    "UNITS_PER_S",
    "Ranker",
    "Unreadable",
    "check_choice",
    "iso_ns",
    "read",
    "resolve",
    "short_repr",
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
        raise Unreadable(f"{short_repr(value)} is outside the range of times (1677 to 2262)")
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
                raise Unreadable(f"{short_repr(value)} is not an ISO-8601 time or an epoch number")
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
        per_s = UNITS_PER_S.get(unit)
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


#: numpy datetime units -> units per second.
UNITS_PER_S = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": _NS}


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to 60 characters for messages."""
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
