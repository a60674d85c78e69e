"""What the event-time rule did during one encoding, for the report: ``TimeNotes``.

Per field how many events it timed, how many fell back to the send time and why, times outside
the plausible range, and the warnings; ``describe`` writes the report's sentence about it. Apart
from the rule (``eventtime``) because the report reads it and the encoders only add to it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .eventtime import AUTO, EARLIEST_S, FUTURE_MARGIN_S, short_repr

__all__ = ["TimeNotes", "describe"]

_NS = 1_000_000_000


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
            self.unreadable_example[name] = f"{short_repr(value)}{where}"

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
