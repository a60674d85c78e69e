"""Polars and Arrow frames -> events, a block of rows at a time: ``columnar_items``.

A ``polars.DataFrame``/``LazyFrame``, a ``pyarrow.Table``/``RecordBatch``/``RecordBatchReader``
or a Parquet file (``hecnb.read_parquet``) is read as Arrow record batches of at most
``ARROW_BLOCK_ROWS`` rows (a LazyFrame is collected in streaming batches, a Parquet file by row
group), so memory stays bounded however long the input. Each block becomes a small pandas
frame (pandas 3 keeps Arrow's strings; integers and booleans with nulls become pandas' nullable
types, nested values exact Python objects) and goes through the DataFrame path (``frames``),
so every format, option and the event-time rule are those of pandas, byte for byte. (A json
path on Arrow kernels alone was tried: it reached 1.3-1.7x this one in prototypes, short of
what would pay for a second encoder to keep byte-equal; see docs/benchmarks.md.)

What the pandas path decides over a whole frame is decided here over the whole input before
the first block where it can be known in advance (an in-memory frame, a Parquet file, a
LazyFrame): how many fraction digits each timestamp column shows. Neither polars nor pyarrow is
imported until such an input arrives.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .._errors import ConversionError

__all__ = ["ARROW_BLOCK_ROWS", "ArrowInput", "columnar_chunks", "columnar_items",
           "is_columnar", "to_pandas_block"]

#: Rows per Arrow block: big enough that per-block costs vanish, small enough to bound memory.
ARROW_BLOCK_ROWS = 65_536

_ARROW_TYPES = frozenset({"Table", "RecordBatch", "RecordBatchReader"})
_POLARS_TYPES = frozenset({"DataFrame", "LazyFrame"})
_UPS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def is_columnar(data: Any) -> bool:
    """True for a Polars or Arrow frame or a Parquet source, found without importing either."""
    t = type(data)
    module = t.__module__
    if module.startswith("pyarrow"):
        return t.__name__ in _ARROW_TYPES
    if module.startswith("polars"):
        return t.__name__ in _POLARS_TYPES
    return hasattr(data, "hecnb_arrow_batches")


class ArrowInput:
    """A columnar input as its Arrow schema, row count (None for a stream) and blocks.

    ``blocks()`` yields ``pyarrow.RecordBatch`` of at most ``rows`` rows, once for a stream
    (a RecordBatchReader, a LazyFrame), as often as asked for anything else.
    """

    def __init__(self, data: Any, rows: int | None = None) -> None:
        import pyarrow as pa

        self.data = data
        self.rows = rows or ARROW_BLOCK_ROWS
        kind = type(data).__name__
        self.replayable = True
        self.length: int | None = None
        if hasattr(data, "hecnb_arrow_batches"):  # a Parquet source
            self.schema = data.schema
            self.length = len(data)
            self.kind = "parquet"
        elif type(data).__module__.startswith("polars"):
            self.kind = "polars-lazy" if kind == "LazyFrame" else "polars"
            if kind == "LazyFrame":
                self.schema = data.head(0).collect().to_arrow().schema
            else:
                self.schema = data.head(0).to_arrow().schema
                self.length = len(data)
        elif kind == "RecordBatchReader":
            self.kind, self.schema, self.replayable = "reader", data.schema, False
        else:
            self.kind = "arrow"
            self.table = data if kind == "Table" else pa.Table.from_batches([data])
            self.schema = self.table.schema
            self.length = self.table.num_rows
        self._check_names()

    def _check_names(self) -> None:
        seen: set[str] = set()
        for name in self.schema.names:
            if name in seen:
                raise ConversionError(f"the frame has more than one column named {name!r}; "
                                      "rename them (every event key must be unique).",
                                      column=name)
            seen.add(name)

    def blocks(self, columns: Sequence[str] | None = None) -> Iterator[Any]:
        """The input's record batches, at most ``rows`` rows each (only ``columns``, if
        given: a cheap pass over a few columns where the source can skip the others)."""
        import pyarrow as pa

        rows = self.rows
        if self.kind == "parquet":
            yield from self.data.hecnb_arrow_batches(rows, columns)
            return
        if self.kind == "polars":
            frame = self.data if columns is None else self.data.select(list(columns))
            for start in range(0, len(frame), rows):
                yield from _rebatch(frame.slice(start, rows).to_arrow(), rows)
            return
        if self.kind == "polars-lazy":
            lazy = self.data if columns is None else self.data.select(list(columns))
            yield from _gathered((frame.to_arrow() for frame in
                                  lazy.collect_batches(chunk_size=rows)), rows)
            return
        if self.kind == "reader":
            yield from _gathered((pa.Table.from_batches([b]) for b in self.data), rows)
            return
        table = self.table if columns is None else self.table.select(list(columns))
        for start in range(0, table.num_rows, rows):
            yield from _rebatch(table.slice(start, rows), rows)

    def empty(self) -> Any:
        """A batch of no rows with the input's schema."""
        import pyarrow as pa

        return pa.RecordBatch.from_pylist([], schema=self.schema)

    def timestamp_digits(self) -> dict[str, int]:
        """Per timestamp column, the fraction digits (0, 3, 6, 9) that show every value of
        the whole input exactly, as the pandas path decides over a whole frame; empty for a
        stream, which is read once (its blocks decide for themselves)."""
        import pyarrow as pa

        names = [f.name for f in self.schema if pa.types.is_timestamp(f.type)
                 and f.type.unit != "s"]
        if not names or not self.replayable:
            return {}
        units = {f.name: f.type.unit for f in self.schema if f.name in names}
        need = dict.fromkeys(names, 0)
        for batch in self.blocks(names):
            for name in names:
                if need[name] < 9:
                    need[name] = max(need[name], frac_digits(batch.column(name), units[name]))
        return need


def _gathered(tables: Iterable[Any], rows: int) -> Iterator[Any]:
    """Small pieces of a stream gathered into blocks of ``rows`` rows (the last may be
    shorter), so a stream of tiny batches is encoded in blocks as big as any other input's."""
    import pyarrow as pa

    waiting: list[Any] = []
    count = 0
    for table in tables:
        waiting.append(table)
        count += table.num_rows
        if count >= rows:
            whole = pa.concat_tables(waiting)
            cut = count - count % rows
            yield from _rebatch(whole.slice(0, cut), rows)
            waiting, count = [whole.slice(cut)], count - cut
    if count:
        yield from _rebatch(pa.concat_tables(waiting), rows)


def _rebatch(table: Any, rows: int) -> Iterator[Any]:
    """A table (or batch) as record batches of one chunk, at most ``rows`` rows each."""
    import pyarrow as pa

    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    for start in range(0, table.num_rows, rows):
        part = table.slice(start, rows).combine_chunks()
        batches = part.to_batches()
        if batches:
            yield batches[0]


def frac_digits(array: Any, unit: str) -> int:
    """The fewest fraction digits (0, 3, 6 or 9) that show every timestamp exactly."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ups = _UPS[unit]
    ints = pc.drop_null(array.cast(pa.int64())).to_numpy(zero_copy_only=False)
    if ups == 1 or len(ints) == 0:
        return 0
    frac = ints % ups
    for digits in (0, 3, 6):
        if not (frac % (ups // 10 ** digits)).any():
            return digits
    return 9


# ------------------------------------------------------------------- Arrow -> pandas blocks


def to_pandas_block(batch: Any, start: int) -> Any:
    """A record batch as a pandas frame indexed by row position from ``start``: what the same
    data is in pandas (nullable ints and bools, Arrow strings, datetimes in their unit,
    categoricals for dictionaries, exact Python objects for nested and other values)."""
    import pandas as pd

    index = pd.RangeIndex(start, start + batch.num_rows)
    columns = {name: _series(batch.column(i), index)
               for i, name in enumerate(batch.schema.names)}
    return pd.DataFrame(columns, index=index) if columns else pd.DataFrame(index=index)


def _series(arr: Any, index: Any) -> Any:
    import pandas as pd
    import pyarrow as pa

    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        if arr.null_count:
            mask = arr.is_null().to_numpy(zero_copy_only=False)
            filled = arr.fill_null(False if pa.types.is_boolean(t) else 0)
            values = filled.to_numpy(zero_copy_only=False)
            made: Any = (pd.arrays.BooleanArray(values, mask) if pa.types.is_boolean(t)
                         else pd.arrays.IntegerArray(values, mask))
            return pd.Series(made, index=index)
        return pd.Series(arr.to_numpy(zero_copy_only=False), index=index)
    if pa.types.is_string_view(t):
        arr = arr.cast(pa.large_string())
        t = arr.type
    if (pa.types.is_floating(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_timestamp(t) or pa.types.is_duration(t)):
        series = arr.to_pandas()
        series.index = index
        return series
    if pa.types.is_dictionary(t):
        value_type = t.value_type
        if pa.types.is_string(value_type) or pa.types.is_large_string(value_type) or (
                pa.types.is_integer(value_type) and not arr.dictionary.null_count):
            series = arr.to_pandas()
            series.index = index
            return series
        arr = arr.dictionary_decode()
        return _series(arr, index)
    # nested (lists, structs, maps), decimals, dates, times, binary, nulls: exact objects
    return pd.Series(arr.to_pylist(maps_as_pydicts="lossy"), index=index, dtype=object)


def force_digits(plan: Any, digits: dict[str, int]) -> None:
    """Give the plan's timestamp columns the fraction digits decided over the whole input
    (a block alone may need fewer): the plan's ``ColumnFacts``, which every block of a
    column shares."""
    for label, needed in digits.items():
        facts = plan.facts.get(label)
        if facts is not None:
            facts.digits = max(facts.digits, needed)


# ----------------------------------------------------------------------------- encoding


def columnar_chunks(encoder: Any, data: Any, chunk_rows: int
                    ) -> Iterator[tuple[Sequence[int], list[bytes], Iterable[Any]]]:
    """``(positions, event bytes, row positions)`` per chunk of a columnar input, for the
    sender. Checks on the first block (and the columns) run before this returns."""
    source = data if isinstance(data, ArrowInput) else ArrowInput(data)
    return _pandas_chunks(encoder, source, chunk_rows)


def _pandas_chunks(encoder: Any, source: ArrowInput, chunk_rows: int
                   ) -> Iterator[tuple[Sequence[int], list[bytes], Iterable[Any]]]:
    digits = source.timestamp_digits()
    blocks = source.blocks()
    first = next(blocks, None)
    start = 0
    plan = encoder._plan(to_pandas_block(first if first is not None else source.empty(), 0))
    force_digits(plan, digits)

    def run() -> Iterator[tuple[Sequence[int], list[bytes], Iterable[Any]]]:
        nonlocal plan, start
        if first is None:
            return
        for batch in itertools.chain([first], blocks):
            if batch is not first:
                plan = encoder._plan(to_pandas_block(batch, start))
                force_digits(plan, digits)
            for offset, rows, labels in plan.chunks(chunk_rows):
                yield range(start + offset, start + offset + len(rows)), rows, labels
            start += batch.num_rows

    return run()


def columnar_items(encoder: Any, data: Any, chunk_rows: int
                   ) -> Iterator[tuple[int, bytes, Any]]:
    """``(position, event bytes, row position)`` for every row of a columnar input."""
    chunks = columnar_chunks(encoder, data, chunk_rows)
    return itertools.chain.from_iterable(
        zip(positions, rows, labels, strict=True) for positions, rows, labels in chunks)
