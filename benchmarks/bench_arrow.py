"""Polars, Arrow and Parquet inputs: json rows per second against the pandas path, and peak
memory while a Parquet file of growing size is encoded.

``rows``: the 1,000,000-row frame of ``bench_convert.py`` (8 columns: strings with gaps, ints,
floats with NaN, a microsecond timestamp), encoded to json with ``host`` and
``timestamp_column`` set, consumed as the sender consumes it (``encode_chunks``), from a pandas
DataFrame, a ``pyarrow.Table`` and a ``polars.DataFrame`` of the same data. Medians of
``--repeat`` runs.

``parquet``: files of each ``--gb`` size are generated into ``--dir`` (row groups of 100,000
rows of random text, ints, floats and timestamps), then each is encoded whole in a fresh process
from ``hecnb.read_parquet`` (json, consumed as a send does); its peak RSS (``ru_maxrss``) is
printed beside the file size. Flat peak RSS means bounded memory.

    python benchmarks/bench_arrow.py rows --rows 1000000 --repeat 3
    python benchmarks/bench_arrow.py parquet --gb 0.25 1 3 --dir /tmp
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))


def _consume(data: Any, fmt: str = "json") -> None:
    from hecnb._encode.formats import make_encoder

    encoder = make_encoder(fmt, host="bench-host", timestamp_column="ts")
    collections.deque(encoder.encode_chunks(data), maxlen=0)


def rows(args: argparse.Namespace) -> None:
    import polars as pl
    import pyarrow as pa
    from bench_convert import make_frame

    frame = make_frame(args.rows)
    inputs = {"pandas DataFrame": frame,
              "pyarrow.Table": pa.Table.from_pandas(frame, preserve_index=False),
              "polars.DataFrame": pl.from_pandas(frame)}
    base = None
    for name, data in inputs.items():
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            _consume(data, args.format)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        base = base or median
        print(f"{name:18} {args.format}: {args.rows / median:12,.0f} rows/s "
              f"({median:.2f} s; {base / median:.2f}x the pandas path)")


_CHILD = """
import collections, resource, sys, time
from hecnb import read_parquet
from hecnb._encode.formats import make_encoder
source = read_parquet(sys.argv[1])
encoder = make_encoder("json", host="bench-host")
t0 = time.perf_counter()
n = sum(len(parts) for _, parts, _ in encoder.encode_chunks(source))
print(n, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _generate(path: str, gb: float) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    group = 100_000
    words = np.array([f"w{i:05d}" for i in range(50_000)], dtype=object)
    with pq.ParquetWriter(path, pa.schema([
            ("ts", pa.timestamp("us")), ("user", pa.string()), ("msg", pa.string()),
            ("port", pa.int64()), ("score", pa.float64())]), compression="snappy") as out:
        while True:
            msg = [" ".join(words[rng.integers(0, 50_000, 12)]) for _ in range(group)]
            out.write_table(pa.table({
                "ts": pa.array(rng.integers(1.7e15, 1.8e15, group), pa.int64()).cast(
                    pa.timestamp("us")),
                "user": pa.array(words[rng.integers(0, 50_000, group)].tolist()),
                "msg": pa.array(msg), "port": rng.integers(0, 65536, group),
                "score": rng.random(group)}))
            if os.path.getsize(path) >= gb * 1e9:
                break


def parquet(args: argparse.Namespace) -> None:
    for gb in args.gb:
        path = os.path.join(args.dir, f"hecnb-bench-{gb}gb.parquet")
        if not os.path.exists(path):
            _generate(path, gb)
        out = subprocess.run([sys.executable, "-c", _CHILD, path], capture_output=True,
                             text=True, check=True).stdout.split()
        n, seconds, rss_kb = int(out[0]), float(out[1]), int(out[2])
        size = os.path.getsize(path) / 1e9
        print(f"{size:6.2f} GB file, {n:12,} rows: encoded in {seconds:7.1f} s "
              f"({n / seconds:,.0f} rows/s), peak RSS {rss_kb / 1024:,.0f} MB")
        if not args.keep:
            os.remove(path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("rows")
    r.add_argument("--rows", type=int, default=1_000_000)
    r.add_argument("--repeat", type=int, default=3)
    r.add_argument("--format", default="json")
    q = sub.add_parser("parquet")
    q.add_argument("--gb", type=float, nargs="+", default=[0.25, 1.0, 3.0])
    q.add_argument("--dir", default="/tmp")
    q.add_argument("--keep", action="store_true", help="keep the generated files")
    args = p.parse_args(argv)
    rows(args) if args.what == "rows" else parquet(args)


if __name__ == "__main__":
    main()
