"""DataFrame -> event bytes: rows per second for each ingest format, against the obvious baseline.

The frame has 8 columns like a typical log extract: three strings (one with 5 % missing), two
ints, two floats (one with 10 % NaN) and a microsecond timestamp column. Each format converts
the whole frame with ``make_encoder(fmt).encode_many(df)`` (consumed to the end, as the sender
does), with ``host`` and ``timestamp_column`` set as a user would. The baseline is
``df.to_dict("records")`` plus ``json.dumps`` per row. Figures are medians of ``--repeat`` runs
(the machine may be noisy); the ratio is of medians measured in the same run.

    python benchmarks/bench_convert.py                      # 1,000,000 rows, 3 runs
    python benchmarks/bench_convert.py --rows 200000 --repeat 5 --formats json csv
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from hecnb._encode.formats import make_encoder

FORMATS = ("json", "yaml", "xml", "csv")


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """The benchmark frame: strings, ints, floats, timestamps, some NaN."""
    rng = np.random.default_rng(seed)
    users = np.array([f"user{i}" for i in range(1000)], dtype=object)
    hosts = np.array([f"host-{i}.corp.example" for i in range(200)], dtype=object)
    messages = np.array(["Accepted publickey for alice", 'Failed password for "root"',
                         "session opened for user bob", r"path C:\temp\run.exe",
                         "ünïcödé ✓ message"], dtype=object)
    frame = pd.DataFrame({
        "user": users[rng.integers(0, 1000, rows)],
        "src_host": hosts[rng.integers(0, 200, rows)],
        "message": messages[rng.integers(0, 5, rows)],
        "port": rng.integers(1, 65535, rows),
        "bytes": rng.integers(0, 10**12, rows),
        "score": rng.random(rows),
        "latency_ms": np.where(rng.random(rows) < 0.1, np.nan, rng.random(rows) * 100),
        "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(
            rng.integers(0, 86_400 * 10**6, rows), unit="us"),
    })
    frame.loc[rng.random(rows) < 0.05, "user"] = np.nan
    return frame


def baseline(frame: pd.DataFrame) -> None:
    """The obvious way: records, then json.dumps per row."""
    dumps = json.dumps
    collections.deque((dumps(row, default=str) for row in frame.to_dict("records")), maxlen=0)


def hecnb_format(fmt: str) -> Callable[[pd.DataFrame], None]:
    def run(frame: pd.DataFrame) -> None:
        encoder = make_encoder(fmt, host="bench-host", timestamp_column="ts")
        collections.deque(encoder.encode_many(frame), maxlen=0)  # consume, as the sender does
    return run


def timed(fn: Callable[[pd.DataFrame], None], frame: pd.DataFrame, repeat: int) -> float:
    """Median seconds of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(frame)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-repeat", type=int, default=None,
                        help="runs of the (slow) baseline; default: --repeat")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    args = parser.parse_args(argv)
    frame = make_frame(args.rows)
    print(f"# {args.rows:,} rows x {frame.shape[1]} columns; median of {args.repeat} runs; "
          f"nproc {os.cpu_count()}; Python {sys.version.split()[0]}; {cpu_model()}")
    base = timed(baseline, frame, args.baseline_repeat or args.repeat)
    base_rate = args.rows / base
    print("| converter | seconds | rows/s | x baseline |")
    print("|---|---:|---:|---:|")
    print(f"| baseline: to_dict + json.dumps | {base:.2f} | {base_rate:,.0f} | 1.0 |")
    for fmt in args.formats:
        secs = timed(hecnb_format(fmt), frame, args.repeat)
        rate = args.rows / secs
        print(f"| hecnb {fmt} | {secs:.2f} | {rate:,.0f} | {rate / base_rate:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
