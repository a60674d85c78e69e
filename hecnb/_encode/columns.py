"""One DataFrame column turned into the text of its cells, vectorised: ``Column``.

Each column is prepared once (dtype checks, missing masks, every object cell normalised and
spelled up front, so a bad cell fails before the first event) and then rendered chunk by chunk:
orjson over numpy arrays for numbers, numpy digit arithmetic for ISO timestamps, whole-column
string escaping through the dialect. Apart from the frame plan (``frames``), which decides which
columns become which members and glues the pieces into events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .._errors import ConversionError
from .dialects import RAW_CSV_BREAK, Dialect
from .values import MISSING, native

__all__ = ["Column", "ColumnFacts", "split_numbers"]

_NP = orjson.OPT_SERIALIZE_NUMPY
_UPS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}  # units per second
_BOOL_TEXTS = np.array([b"false", b"true"], dtype=object)


def _positions(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask)


@dataclass
class ColumnFacts:
    """What every block of one column shares, learned while the plan checks the whole column:
    the fraction digits a datetime column needs (the most any of its values needs, so every
    block spells its times alike), the texts of a categorical's categories (rendered once),
    and object cells already rendered (kept while ``cache_rows`` allows, else rendered again
    when their block is sent)."""

    digits: int = 0
    categories: np.ndarray | None = None
    objects: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    cache_rows: int = 0


def _is_arrow(dtype: Any) -> bool:
    """Strings held by Arrow (valid UTF-8 by construction, missing values in a bitmap)."""
    return isinstance(dtype, pd.ArrowDtype) or (
        isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow")


class Column:
    """One frame column, or one block of rows of it, prepared (dtype checks, masks, normalised
    objects) and rendered chunk by chunk.

    A frame plan makes a Column twice per block: first with ``check=True``, which only looks
    for what must fail before anything is sent and learns the column's ``facts``; then, when
    the block's turn comes, to render it with those facts. Without ``facts`` a Column stands
    alone: it checks and prepares at once (a categorical's categories, a whole short column).
    """

    def __init__(self, series: pd.Series, label: Any, dialect: Dialect, *,
                 line_breaks_ok: bool = True, facts: ColumnFacts | None = None,
                 start: int = 0, check: bool = False) -> None:
        self.label = label
        self.index = series.index
        self.mask: np.ndarray | None = None
        self.values: Any = None
        self.kind = ""
        self.alone = facts is None
        self.facts = facts if facts is not None else ColumnFacts()
        self.start = start  # the block's first row in the frame
        self._prepare(series, dialect, line_breaks_ok, check)

    # preparation ---------------------------------------------------------------------------
    def _fail(self, position: int, why: str) -> ConversionError:
        row = self.index[position] if position < len(self.index) else None
        return ConversionError(f"column {self.label!r}, row {row!r}: {why}. Nothing was sent.",
                               column=self.label, row=row)

    def _prepare(self, s: pd.Series, dialect: Dialect, line_breaks_ok: bool,
                 check: bool) -> None:
        dtype = s.dtype
        if isinstance(dtype, pd.SparseDtype):
            s = s.sparse.to_dense()
            dtype = s.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if self.facts.categories is None:
                cats = Column(pd.Series(s.cat.categories), self.label, dialect,
                              line_breaks_ok=line_breaks_ok)
                self.facts.categories = np.array([*cats.render_all(dialect), b""],
                                                 dtype=object)
            if check:
                return
            codes = s.cat.codes.to_numpy()
            self.kind = "cat"
            self.values = (np.asarray(codes, dtype=np.intp), self.facts.categories)
            self.mask = codes < 0
            return
        if isinstance(dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            self._prepare_datetime(s.to_numpy(), b"Z", check)
            return
        kind = getattr(dtype, "kind", "O")
        if kind == "M":
            self._prepare_datetime(s.to_numpy(), b"", check)
            return
        if kind == "c":
            raise self._fail(0, "complex numbers have no JSON form; split them into real and "
                             "imaginary columns")
        if check and kind in "mbiuf":  # numbers, booleans, durations: nothing can fail
            return
        if kind == "m":
            arr = s.to_numpy()
            unit = np.datetime_data(arr.dtype)[0]
            self.mask = np.isnat(arr)
            self.kind = "float"  # seconds; NaT -> NaN, as the float path expects
            self.values = np.where(self.mask, np.nan, arr.view(np.int64) / _UPS.get(unit, 1))
            return
        masked = pd.api.types.is_extension_array_dtype(dtype)
        if kind == "b":
            self.kind = "bool"
            self.mask = s.isna().to_numpy() if masked else None
            self.values = s.to_numpy(dtype=bool, na_value=False) if masked else s.to_numpy()
            return
        if kind in "iu":
            self.kind = "int"
            if masked:
                self.mask = s.isna().to_numpy()
                self.values = s.to_numpy(dtype=np.dtype(kind + str(dtype.itemsize)),
                                         na_value=0)
            else:
                self.values = np.ascontiguousarray(s.to_numpy()).astype(
                    s.dtype.newbyteorder("="), copy=False)
            return
        if kind == "f":
            self.kind = "float"
            if masked:
                arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                arr = s.to_numpy()
                if arr.dtype.itemsize < 4:
                    arr = arr.astype(np.float32)
                arr = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("="), copy=False)
            self.values = arr
            self.mask = ~np.isfinite(arr)  # NaN, and inf, which JSON cannot carry
            return
        if isinstance(dtype, pd.StringDtype) or (
                kind == "O" and pd.api.types.infer_dtype(s, skipna=True) == "string"):
            self._prepare_strings(s, line_breaks_ok, check)
            return
        self._prepare_objects(s.astype(object) if kind != "O" else s, dialect, line_breaks_ok,
                              check)

    def _prepare_datetime(self, arr: np.ndarray, suffix: bytes, check: bool) -> None:
        unit = np.datetime_data(arr.dtype)[0]
        if unit not in _UPS:  # days, minutes...: seconds carry them exactly
            arr = arr.astype("datetime64[s]")
            unit = "s"
        ints = arr.view(np.int64)
        mask = np.isnat(arr)
        if check or self.alone:
            digits = _frac_digits(ints[~mask] if mask.any() else ints, unit)
            self.facts.digits = max(self.facts.digits, digits)
            if check:
                return
        self.mask = mask
        self.kind = "dt"
        self.values = (ints, unit, self.facts.digits, suffix)

    def _prepare_strings(self, s: pd.Series, line_breaks_ok: bool, check: bool) -> None:
        arrow = _is_arrow(s.dtype)
        if check and arrow:  # valid UTF-8 by construction: only line breaks can be wrong
            if not line_breaks_ok:
                breaks = s.str.contains("\n|\r", regex=True).to_numpy(dtype=bool,
                                                                         na_value=False)
                if breaks.any():
                    raise self._fail(int(np.flatnonzero(breaks)[0]), RAW_CSV_BREAK)
            return
        values = s.to_numpy(dtype=object)
        mask = s.isna().to_numpy(dtype=bool) if arrow else pd.isna(values)
        if not (check or self.alone):
            self.kind, self.values, self.mask = "str", values, mask
            return
        present = values[~mask].tolist() if mask.any() else values.tolist()
        text = "".join(present)
        try:
            if not text.isascii():
                text.encode("utf-8")
        except UnicodeEncodeError:
            for pos in _positions(~mask):
                try:
                    values[pos].encode("utf-8")
                except UnicodeEncodeError:
                    raise self._fail(pos, "the string contains a lone surrogate (not valid "
                                     "Unicode)") from None
        if not line_breaks_ok and ("\n" in text or "\r" in text):
            for pos in _positions(~mask):
                if "\n" in values[pos] or "\r" in values[pos]:
                    raise self._fail(pos, RAW_CSV_BREAK)
        if not check:
            self.kind, self.values, self.mask = "str", values, mask

    def _prepare_objects(self, s: pd.Series, dialect: Dialect, line_breaks_ok: bool,
                         check: bool) -> None:
        """Object cells: normalised and rendered while the plan checks the column, so any bad
        cell fails before the first event; kept for the send while the cache allows."""
        facts = self.facts
        if not check and not self.alone and self.start in facts.objects:
            self.mask, self.values = facts.objects.pop(self.start)
            self.kind = "obj"
            return
        values = s.tolist()
        mask = np.zeros(len(values), dtype=bool)
        texts: list[bytes] = []
        render = dialect.value
        for pos, value in enumerate(values):
            try:
                v = native(value)
                if v is MISSING:
                    mask[pos] = True
                    texts.append(b"")
                    continue
                if not line_breaks_ok and isinstance(v, str) and ("\n" in v or "\r" in v):
                    raise self._fail(pos, RAW_CSV_BREAK)
                texts.append(render(v))
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                raise self._fail(pos, f"{type(value).__name__} value cannot be encoded ({exc})"
                                 ) from None
        if not line_breaks_ok:
            for pos, t in enumerate(texts):
                if b"\n" in t or b"\r" in t:
                    raise self._fail(pos, RAW_CSV_BREAK)
        rendered = np.array(texts, dtype=object) if texts else np.array([], dtype=object)
        if check:
            if facts.cache_rows >= len(values):
                facts.cache_rows -= len(values)
                facts.objects[self.start] = (mask, rendered)
            return
        self.kind = "obj"
        self.mask = mask
        self.values = rendered

    # rendering -----------------------------------------------------------------------------
    def texts(self, dialect: Dialect, start: int, stop: int,
              present: np.ndarray | None) -> tuple[list[bytes], bytes]:
        """``(texts of the present cells in rows start:stop, quote)``."""
        kind = self.kind
        if kind == "int":
            arr = self.values[start:stop]
            if present is not None:
                arr = arr[present]
            return split_numbers(arr, dialect), b""
        if kind == "float":
            arr = self.values[start:stop]
            if present is not None:
                arr = arr[present]
            return split_numbers(arr, dialect), b""
        if kind == "bool":
            arr = self.values[start:stop]
            if present is not None:
                arr = arr[present]
            return _BOOL_TEXTS[arr.view(np.uint8)].tolist(), b""
        if kind == "str":
            arr = self.values[start:stop]
            if present is not None:
                arr = arr[present]
            return dialect.strings(arr.tolist()), dialect.str_quote
        if kind == "dt":
            ints, unit, digits, suffix = self.values
            arr = ints[start:stop]
            if present is not None:
                arr = arr[present]
            return _iso_texts(arr, unit, digits, suffix), dialect.dt_quote
        if kind == "cat":
            codes, cat_texts = self.values
            arr = codes[start:stop]
            if present is not None:
                arr = arr[present]
            return cat_texts[arr].tolist(), b""
        arr = self.values[start:stop]  # obj
        if present is not None:
            arr = arr[present]
        return arr.tolist(), b""

    def render_all(self, dialect: Dialect) -> list[bytes]:
        """Full texts (quotes included) of every row; missing rows give b'null' / b''."""
        n = len(self.index)
        present = None if self.mask is None or not self.mask.any() else ~self.mask
        texts, quote = self.texts(dialect, 0, n, present)
        if quote:
            texts = [quote + t + quote for t in texts]
        if present is None:
            return texts
        out = np.full(n, dialect.value(None), dtype=object)
        out[present] = texts
        rows: list[bytes] = out.tolist()
        return rows


def split_numbers(arr: np.ndarray, dialect: Dialect) -> list[bytes]:
    """Texts of numbers via one orjson call over the array (NaN/inf -> null)."""
    if len(arr) == 0:
        return []
    blob = orjson.dumps(arr, option=_NP)[1:-1]
    return dialect.numbers(blob).split(b",")


def _frac_digits(ints: np.ndarray, unit: str) -> int:
    """The fewest fraction digits (0, 3, 6 or 9) that show every value of a column exactly."""
    ups = _UPS[unit]
    if ups == 1 or len(ints) == 0:
        return 0
    frac = ints % ups
    for digits in (0, 3, 6, 9):
        step = ups // 10 ** digits
        if step >= 1 and not (frac % step).any():
            return digits
    return 9  # pragma: no cover - the ns step of 1 always divides


def _iso_texts(ints: np.ndarray, unit: str, digits: int, suffix: bytes) -> list[bytes]:
    """ISO-8601 texts of epoch values (in ``unit``) built with numpy digit arithmetic."""
    n = len(ints)
    if n == 0:
        return []
    ups = _UPS[unit]
    sec = ints // ups
    frac = ints - sec * ups
    days = sec // 86400
    sod = sec - days * 86400
    # civil_from_days (H. Hinnant), vectorised
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    if year.min() < 0 or year.max() > 9999:  # outside four digits: numpy's own formatter
        shown: Any = {0: "s", 3: "ms", 6: "us", 9: "ns"}[digits]
        stamps: Any = ints.view(f"M8[{unit}]")
        texts = np.datetime_as_string(stamps, unit=shown)
        return [t.encode("ascii") + suffix for t in texts.tolist()]
    width = 19 + (digits + 1 if digits else 0) + len(suffix)
    buf = np.empty((n, width), dtype=np.uint8)

    def put(col: int, values: np.ndarray, size: int) -> None:
        """Write ``values`` as ``size`` decimal digits from column ``col``."""
        for k in range(size):
            buf[:, col + size - 1 - k] = values // 10 ** k % 10 + 48

    put(0, year, 4)
    buf[:, 4] = buf[:, 7] = ord("-")
    put(5, month, 2)
    put(8, day, 2)
    buf[:, 10] = ord("T")
    put(11, sod // 3600, 2)
    buf[:, 13] = buf[:, 16] = ord(":")
    put(14, sod // 60 % 60, 2)
    put(17, sod % 60, 2)
    pos = 19
    if digits:
        buf[:, 19] = ord(".")
        put(20, frac // (ups // 10 ** digits), digits)
        pos = 20 + digits
    for i, byte in enumerate(suffix):
        buf[:, pos + i] = byte
    rows: list[bytes] = buf.view(f"S{width}").ravel().tolist()
    return rows
