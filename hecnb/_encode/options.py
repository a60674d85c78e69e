"""Converter options: the names a caller may pass, and ``Options``, the checked set of them.

Apart because every path reads them (the DataFrame plan, the record converter, the registry,
``HEC.send``'s keyword check) and checking them needs neither numpy nor pandas.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import ConfigError, ConversionError
from .._settings.names import TIMEUNITS, normalize_timeunit
from . import eventtime as evtime

__all__ = ["OPTION_NAMES", "Options", "parse_options"]

#: Converter options a caller may pass (to ``make_encoder``, ``HEC.send``, the accessor).
OPTION_NAMES = ("host", "timestamp_column", "timeunit", "fields", "columns", "na", "hec_time")
#: Options that leave a json list on FalconPy's per-event path (``JsonEventEncoder``).
_PLAIN_OPTIONS = frozenset({"timestamp_column", "hec_time"})


@dataclass(frozen=True)
class Options:
    """Validated converter options. ``given`` names the ones the caller passed explicitly."""

    host: Any = None
    timestamp_column: Any = evtime.AUTO  # "auto" (the rule), None (only 'timestamp'), a name
    timeunit: str = "nanoseconds"
    fields: Any = None  # None | dict (constant fields) | tuple of column labels
    columns: tuple[Any, ...] | None = None
    na: str = "drop"
    hec_time: bool = True  # the envelope's top-level "time" (json, event endpoint)
    given: frozenset[str] = frozenset()

    @property
    def plain(self) -> bool:
        """True when no converter option was passed that FalconPy's per-event path does not
        know (it knows the time rule, ``timestamp_column=None`` and ``hec_time``)."""
        return not (self.given - _PLAIN_OPTIONS) and self.timestamp_column in (evtime.AUTO,
                                                                                 None)

    @property
    def time_rule(self) -> str:
        """How the event time is chosen: "auto", "timestamp" (None) or "column"."""
        if self.timestamp_column == evtime.AUTO:
            return evtime.AUTO
        return "timestamp" if self.timestamp_column is None else "column"

    @property
    def divisor(self) -> int:
        """Nanoseconds per ``timeunit``."""
        return 1_000_000_000 // TIMEUNITS[self.timeunit]


def parse_options(timeunit: str = "nanoseconds", **options: Any) -> Options:
    """Check converter options; unknown names are a ConfigError that lists the allowed ones."""
    for name in options:
        if name not in OPTION_NAMES:
            close = difflib.get_close_matches(name, OPTION_NAMES, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown conversion option {name!r}.{hint} Allowed options: "
                              f"{', '.join(OPTION_NAMES)}.")
    na = options.get("na", "drop")
    if na not in ("drop", "null"):
        raise ConversionError(f"na={na!r} is not allowed: use na='drop' (leave missing values "
                              "out of the event) or na='null' (send them as null).")
    columns = options.get("columns")
    if columns is not None:
        columns = _labels("columns", columns)
    fields = options.get("fields")
    if fields is not None and not isinstance(fields, Mapping):
        fields = _labels("fields", fields)
    elif isinstance(fields, Mapping):
        fields = dict(fields)
    for name in ("host", "timestamp_column"):
        value = options.get(name)
        if value is not None and not isinstance(value, Hashable):
            raise ConfigError(f"{name} must be a column name or a value, not "
                              f"{type(value).__name__}.")
    hec_time = options.get("hec_time", True)
    if not isinstance(hec_time, bool):
        raise ConfigError(f"hec_time must be True or False; got {hec_time!r}.")
    return Options(
        host=options.get("host"),
        timestamp_column=evtime.check_choice(options.get("timestamp_column", evtime.AUTO)),
        timeunit=normalize_timeunit(timeunit),
        fields=fields,
        columns=columns,
        na=na,
        hec_time=hec_time,
        given=frozenset(k for k in options if k != "timeunit"),
    )


def _labels(name: str, value: Any) -> tuple[Any, ...]:
    """A tuple of column labels from a label or a list of them; duplicates are refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        value = [value]
    labels = tuple(value)
    seen: set[Any] = set()
    for label in labels:
        if label in seen:
            raise ConversionError(f"{name} names column {label!r} twice.", column=label)
        seen.add(label)
    return labels
