"""A Parquet file as a source read by row group: ``read_parquet`` -> ``ParquetSource``.

Nothing is read when the source is made but the footer (schema, row count, row groups): a send
or ``hecnb.encode`` reads the file in batches of rows, a row group at a time, through
``pyarrow.parquet.ParquetFile.iter_batches``, so a file larger than memory is sent in bounded
memory. Needs pyarrow (``pip install "hecnb[arrow]"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from .._errors import ConfigError, EventFileError

__all__ = ["ParquetSource", "read_parquet"]


class ParquetSource:
    """A Parquet file's rows, read in batches when sent (``hec.send(source)``,
    ``hecnb.encode(source)``, ``hecnb.to_events(source)``); ``len()`` is its row count.

    ``to_pandas()`` / ``to_arrow()`` read it whole (for a file that fits in memory);
    ``head(n)`` reads only the first rows.
    """

    def __init__(self, path: str | os.PathLike[str], columns: Sequence[str] | None = None,
                 ) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - the extra is installed in the tests
            raise ConfigError('reading Parquet needs pyarrow: pip install "hecnb[arrow]"'
                              ) from None
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise EventFileError(f"No such file: {self.path!r} (cwd is {os.getcwd()!r}).")
        try:
            meta = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a non-Parquet file
            raise EventFileError(f"{self.path!r} is not a readable Parquet file ({exc}).") \
                from None
        schema = meta.schema_arrow
        if columns is not None:
            missing = [c for c in columns if c not in schema.names]
            if missing:
                raise ConfigError(f"columns names {missing[0]!r}, which is not a column of "
                                  f"{self.path!r} ({', '.join(schema.names)}).")
            import pyarrow as pa

            schema = pa.schema([schema.field(c) for c in columns])
        self.columns = list(columns) if columns is not None else None
        self.schema = schema
        self.num_rows: int = meta.metadata.num_rows
        self.row_groups: int = meta.num_row_groups
        meta.close()

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        return (f"<ParquetSource {self.path!r}: {self.num_rows:,} rows in {self.row_groups} "
                f"row groups, {len(self.schema.names)} columns>")

    def hecnb_arrow_batches(self, rows: int, columns: Sequence[str] | None = None
                            ) -> Iterator[Any]:
        """The file's rows as Arrow record batches of at most ``rows`` rows, a row group
        at a time (only ``columns``, if given)."""
        import pyarrow.parquet as pq

        wanted = list(columns) if columns is not None else self.columns
        # pre_buffer=False: pyarrow's read-ahead cache keeps what it read until the file is
        # closed, so memory would grow with the file (measured: benchmarks/bench_arrow.py)
        with pq.ParquetFile(self.path, memory_map=False, buffer_size=1 << 20,
                            pre_buffer=False) as file:
            yield from file.iter_batches(batch_size=rows, columns=wanted,
                                         use_threads=False)

    def to_arrow(self) -> Any:
        """The whole file as a ``pyarrow.Table``."""
        import pyarrow.parquet as pq

        return pq.read_table(self.path, columns=self.columns)

    def to_pandas(self) -> Any:
        """The whole file as a pandas DataFrame (the same frame the send path makes per
        block: nullable ints and bools, nested values as Python objects)."""
        from .._encode.arrowframes import to_pandas_block

        batches = self.to_arrow().combine_chunks().to_batches()
        return to_pandas_block(batches[0] if batches else _empty(self.schema), 0)

    def head(self, n: int = 5) -> Any:
        """The first ``n`` rows as a ``pyarrow.Table`` (reads only the first batch)."""
        import pyarrow as pa

        first = next(self.hecnb_arrow_batches(max(n, 1)), None)
        if first is None:
            return self.schema.empty_table()
        return pa.Table.from_batches([first]).slice(0, n)


def _empty(schema: Any) -> Any:
    import pyarrow as pa

    return pa.RecordBatch.from_pylist([], schema=schema)


def read_parquet(path: str | os.PathLike[str], *, columns: Sequence[str] | None = None
                 ) -> ParquetSource:
    """A Parquet file as a source sent a row group at a time, in bounded memory.

    Only the footer is read now (a missing or non-Parquet file is an EventFileError at once);
    ``hec.send``, ``hecnb.encode`` and ``hecnb.to_events`` read the rows in batches, with the
    same formats, options and event-time rule as a DataFrame. ``columns`` keeps only those.
    Needs pyarrow (``pip install "hecnb[arrow]"``).

    >>> source = hecnb.read_parquet("flows.parquet")                # doctest: +SKIP
    >>> hec.send(source, host="lake")                               # doctest: +SKIP
    """
    return ParquetSource(path, columns)
