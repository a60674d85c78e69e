"""The event-time rule over a whole DataFrame: each row's time, a few numpy passes per column.

``frame_times`` picks the candidate columns in the rule's order (``eventtime``) and takes, per
row, the first readable time among them. Apart from the frame plan because previews ask for the
time notes of a whole frame without encoding it (``formats.frame_time_notes``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConversionError
from . import eventtime as evtime
from .options import Options
from .values import member_name, show_labels

__all__ = ["frame_times"]


def frame_times(df: pd.DataFrame, options: Options, now: int,
                notes: evtime.TimeNotes) -> tuple[np.ndarray | None, list[Any], bool]:
    """Each row's time (int64, in the unit) by the event-time rule, the candidate columns, and
    whether the caller named the column; None when no column applies (the send time).

    Per row the first candidate with a readable value; rows without one get ``now``. What it
    did is counted in ``notes``. Vectorised: a handful of numpy passes per candidate column.
    """
    labels = list(df.columns)
    candidates, explicit = _time_candidates(df, labels, set(labels), options, notes)
    n = len(df)
    if not candidates:
        notes.events += n
        return None, [], False
    divisor = options.divisor
    ints = np.full(n, now, dtype=np.int64)
    remaining = np.ones(n, dtype=bool)
    index = df.index
    for label in candidates:
        name = member_name(label)
        notes.seen.add(name)
        got, missing, bad = evtime.column_times(df[label], label, divisor)
        bad_here = bad & remaining
        if bad_here.any():
            pos = int(np.flatnonzero(bad_here)[0])
            value = df[label].iloc[pos]
            if explicit:
                row = index[pos]
                raise ConversionError(
                    f"timestamp column {label!r}, row {row!r}: {value!r} is not a time "
                    f"({_why_not_time(value, label, divisor)}). Nothing was sent.",
                    column=label, row=row)
            notes.unreadable[name] += int(bad_here.sum())
            notes.unreadable_example.setdefault(name, f"{value!r} in row {index[pos]!r}")
        use = remaining & ~missing & ~bad
        if use.all():  # the common case: every row has its time in the first candidate
            notes.add_times(name, got, lambda i: f" (row {index[i]!r})")
            ints = got
            break
        if use.any():
            where = np.flatnonzero(use)
            values = got[where]
            ints[where] = values
            notes.add_times(name, values, lambda i, where=where: f" (row {index[where[i]]!r})")
            remaining &= ~use
        if not remaining.any():
            break
    notes.events += n
    return ints, candidates, explicit


def _datetime_typed(col: pd.Series) -> bool:
    """A datetime64 column, or one of datetime objects only (as a record's datetime value)."""
    dtype = col.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or getattr(dtype, "kind", "") == "M":
        return True
    return getattr(dtype, "kind", "") == "O" and pd.api.types.infer_dtype(
        col, skipna=True) in ("datetime", "datetime64")


def _time_candidates(df: pd.DataFrame, labels: list[Any], label_set: set[Any], opts: Options,
                     notes: evtime.TimeNotes) -> tuple[list[Any], bool]:
    """The columns that may give each row its time, in rule order, and whether the caller
    named the column (then a value that is not a time is an error)."""
    choice = opts.timestamp_column
    if choice not in (evtime.AUTO, None):
        if choice not in label_set:
            raise ConversionError(f"timestamp_column={choice!r} is not a column of the frame "
                                  f"({show_labels(labels)}).", column=choice)
        return [choice], True
    if choice is None:
        return (["timestamp"] if "timestamp" in label_set else []), False
    named = evtime.Ranker().order(label for label in labels if type(label) is str)
    if named:
        return named, False
    typed = [label for label in labels if _datetime_typed(df[label])]
    if len(typed) == 1:
        return typed, False
    if typed:
        notes.note(f"the frame has {len(typed)} datetime columns ({show_labels(typed)}) and none "
                   "with a well-known time name, so every event carries the send time; pass "
                   "timestamp_column= to choose one")
    return [], False


def _why_not_time(value: Any, label: Any, divisor: int) -> str:
    try:
        evtime.read(value, label, divisor)
    except evtime.Unreadable as exc:
        return str(exc)
    return "not a time"  # pragma: no cover - only called for values read() refuses
