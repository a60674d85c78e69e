"""The event-time rule over a whole DataFrame, vectorised: a few numpy passes per column.

``column_times`` reads a column as :func:`eventtime.read` reads each value (the readers use it
too, to turn a file's time column into datetimes); ``frame_times`` takes the candidate columns
in the rule's order and gives each row the first readable time among them. Apart from
``eventtime`` because it needs numpy and pandas, which the list and file paths never load;
apart from the frame plan because previews ask for the time notes of a whole frame without
encoding it (``formats.frame_time_notes``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConversionError
from .eventtime import (
    AUTO,
    FALCONPY,
    ISO_PATTERN,
    NUMBER_PATTERN,
    UNITS_PER_S,
    Ranker,
    Unreadable,
    read,
)
from .options import Options
from .timenotes import TimeNotes
from .values import member_name, show_labels

__all__ = ["FrameTimes", "column_times", "frame_times"]

_NS = 1_000_000_000
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)


def column_times(series: Any, name: Any, divisor: int) -> tuple[Any, Any, Any]:
    """A frame column as ``(int64 counts of the unit, missing mask, unreadable mask)``,
    vectorised; the same results as :func:`read` per value."""
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
        if unit not in UNITS_PER_S:  # days, minutes...: seconds carry them exactly
            arr = arr.astype("datetime64[s]")
            unit = "s"
        missing = np.isnat(arr)
        ints = arr.view(np.int64)
        factor = _NS // UNITS_PER_S[unit]
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
    a = np.abs(values)
    factor = np.select([a < 10**11, a < 10**14, a < 10**17], [_NS, 1_000_000, 1000], 1)
    bad = (a > _INT64_MAX // factor) | (values == np.iinfo(np.int64).min)
    ns = np.where(bad, 0, values) * factor
    return ns, bad


def _magnitude_floats(values: Any) -> tuple[Any, Any]:
    """Nanoseconds and out-of-range mask for float epochs, unit by magnitude (rounded to
    the precision each unit carries, as :func:`read` rounds)."""
    a = np.abs(values)
    with np.errstate(over="ignore", invalid="ignore"):  # huge values: inf, then marked bad
        scaled = np.select([a < 1e11, a < 1e14, a < 1e17],
                           [values * 1e6, values * 1e3, values], values)
    factor = np.where(a < 1e17, 1000, 1)
    rounded = np.round(scaled)
    bad = np.abs(rounded * factor) >= 9.223372036854775e18
    ns = np.where(bad, 0, rounded).astype(np.int64) * factor
    return ns, bad


def _string_times(series: Any, divisor: int) -> tuple[Any, Any, Any]:
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


# ---------------------------------------------------------------------- the frame's times


class FrameTimes:
    """The event-time rule over a frame, a block of rows at a time.

    The candidate columns are chosen once, from the whole frame (names, then dtypes); then
    :meth:`block` gives each row of a block the first readable time among them, or ``now``,
    and counts what it did in the notes it is given. A block at a time keeps memory bounded
    whatever the frame's length: no array as long as the frame is made.
    """

    def __init__(self, df: pd.DataFrame, options: Options, now: int,
                 notes: TimeNotes) -> None:
        labels = list(df.columns)
        self.candidates, self.explicit = _time_candidates(df, labels, set(labels), options,
                                                          notes)
        self.divisor = options.divisor
        self.now = now

    def block(self, df: pd.DataFrame, notes: TimeNotes) -> np.ndarray | None:
        """Each row's time (int64, in the unit) for the rows of ``df`` (a block of the frame);
        None when no column applies (the send time)."""
        n = len(df)
        notes.events += n
        if not self.candidates:
            return None
        divisor, explicit = self.divisor, self.explicit
        ints = np.full(n, self.now, dtype=np.int64)
        remaining = np.ones(n, dtype=bool)
        index = df.index
        for label in self.candidates:
            name = member_name(label)
            notes.seen.add(name)
            got, missing, bad = column_times(df[label], label, divisor)
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
                return got  # type: ignore[no-any-return]
            if use.any():
                where = np.flatnonzero(use)
                values = got[where]
                ints[where] = values
                notes.add_times(name, values,
                                lambda i, where=where: f" (row {index[where[i]]!r})")
                remaining &= ~use
            if not remaining.any():
                break
        return ints


def frame_times(df: pd.DataFrame, options: Options, now: int, notes: TimeNotes,
                block_rows: int = 65_536) -> tuple[list[Any], bool]:
    """Run the rule over the whole frame a block at a time, only to count what it does in
    ``notes`` (previews judge the time on the whole frame without encoding it); the candidate
    columns and whether the caller named the column."""
    times = FrameTimes(df, options, now, notes)
    if not times.candidates:
        notes.events += len(df)
        return [], False
    for start in range(0, len(df), block_rows):
        times.block(df.iloc[start:start + block_rows], notes)
    return times.candidates, times.explicit


def _datetime_typed(col: pd.Series) -> bool:
    """A datetime64 column, or one of datetime objects only (as a record's datetime value)."""
    dtype = col.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or getattr(dtype, "kind", "") == "M":
        return True
    return getattr(dtype, "kind", "") == "O" and pd.api.types.infer_dtype(
        col, skipna=True) in ("datetime", "datetime64")


def _time_candidates(df: pd.DataFrame, labels: list[Any], label_set: set[Any], opts: Options,
                     notes: TimeNotes) -> tuple[list[Any], bool]:
    """The columns that may give each row its time, in rule order, and whether the caller
    named the column (then a value that is not a time is an error)."""
    choice = opts.timestamp_column
    if choice not in (AUTO, None):
        if choice not in label_set:
            raise ConversionError(f"timestamp_column={choice!r} is not a column of the frame "
                                  f"({show_labels(labels)}).", column=choice)
        return [choice], True
    if choice is None:
        return (["timestamp"] if "timestamp" in label_set else []), False
    named = Ranker().order(label for label in labels if type(label) is str)
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
        read(value, label, divisor)
    except Unreadable as exc:
        return str(exc)
    return "not a time"  # pragma: no cover - only called for values read() refuses
