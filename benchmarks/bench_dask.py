"""hecnb.dask: rows/s sending one frame with 1, 2 and 4 Dask workers (processes, 1 thread each).

The emulator runs in its own process and keeps no events. The frame (1,000,000 rows by default,
like a log extract) is made in partitions on the workers (as a read of Parquet files would) and
persisted before timing, so a run measures what the workers do, encoding and sending.
For context each round also sends the same pandas frame from this process with
``df.to_ngsiem`` (no Dask). All clusters stay up and the configurations run alternately, round
after round, because the machine is shared and noisy; the figures are medians.

    python benchmarks/bench_dask.py               # 1,000,000 rows, 16 partitions, 3 rounds
    python benchmarks/bench_dask.py --rows 200000 --workers 1 2 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import psutil
from _common import KEY, start_emulator

BASELINE = "pandas, no Dask"


def make_frame(start: int, rows: int) -> pd.DataFrame:
    """Rows ``start`` to ``start + rows`` of an authentication-log-like frame: strings, ints,
    a float and a timestamp (the same rows whichever process makes them)."""
    rng = np.random.default_rng(start)
    users = np.array([f"user{i:03d}" for i in range(300)])
    hosts = np.array([f"bastion-{i:02d}" for i in range(50)])
    n = np.arange(start, start + rows)
    return pd.DataFrame({
        "ts": pd.Timestamp("2026-11-02T08:00:00Z") + pd.to_timedelta(n * 50, unit="ms"),
        "src_host": hosts[n % 50],
        "user": users[rng.integers(0, 300, rows)],
        "src_ip": [f"203.0.113.{i % 250}" for i in n],
        "action": np.where(n % 3 == 0, "login_failed", "login"),
        "port": rng.integers(1024, 65535, rows),
        "latency_ms": rng.random(rows) * 100,
        "message": [f"Failed password for user{i % 300} from 203.0.113.{i % 250} ssh2"
                    for i in n],
    }, index=pd.RangeIndex(start, start + rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--repeat", type=int, default=3, help="rounds")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()

    import dask
    import dask.dataframe as dd
    import distributed
    from distributed import Client, LocalCluster, wait

    from hecnb import HEC
    from hecnb.dask import send_dask

    logging.getLogger("distributed").setLevel(logging.WARNING)  # the scheduler runs in here
    size = -(-args.rows // args.partitions)
    starts = list(range(0, args.rows, size))
    df = pd.concat([make_frame(s, min(size, args.rows - s)) for s in starts])
    proc, url = start_emulator()
    emulator = psutil.Process(proc.pid)
    clusters: dict[str, tuple[Any, Any, Any]] = {}
    runs: dict[str, list[dict[str, float]]] = {BASELINE: []}
    try:
        for w in args.workers:
            cluster = LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                   env={"NGSIEM_API_KEY": KEY})
            client = Client(cluster, set_as_default=False)
            ddf = client.persist(dd.from_map(
                lambda s: make_frame(s, min(size, args.rows - s)), starts,
                meta=make_frame(0, 0), enforce_metadata=False))
            with client.as_current():
                wait(ddf)
            warm = send_dask(ddf.partitions[:w], {"ingest_url": url}, client=client,
                             host="bench", show_progress=False)  # imports, connections
            assert warm.ok, warm
            name = f"{w} worker{'s' if w > 1 else ''}"
            clusters[name] = (cluster, client, ddf)
            runs[name] = []
        with HEC(api_key=KEY, ingest_url=url) as hec:
            df.head(1000).to_ngsiem(hec, host="bench", show_progress=False)
            for r in range(args.repeat):
                runs[BASELINE].append(measure(
                    lambda: df.to_ngsiem(hec, host="bench", timestamp_column="ts",
                                         show_progress=False), args.rows, emulator, None))
                for name, (_, client, ddf) in clusters.items():
                    runs[name].append(measure(
                        lambda c=client, d=ddf: send_dask(
                            d, {"ingest_url": url}, client=c, host="bench",
                            timestamp_column="ts", show_progress=False),
                        args.rows, emulator, client))
                print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]['rows_per_s']:,.0f}"
                                                     for k, v in runs.items()), flush=True)
    finally:
        for cluster, client, _ in clusters.values():
            client.close()
            cluster.close()
        proc.terminate()
        proc.wait(10)

    def med(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    base = med(BASELINE, "rows_per_s")
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, dask {dask.__version__}, distributed "
                   f"{distributed.__version__}",
        "rows": args.rows,
        "partitions": args.partitions,
        "runs": runs,
        "median_rows_per_s": {k: round(med(k, "rows_per_s")) for k in runs},
    }
    print(f"machine: {result['machine']}")
    print(f"{args.rows:,} rows, {args.partitions} partitions, {args.repeat} rounds; CPU seconds "
          "per run (medians): the sending workers, this process (the client, and the scheduler "
          "of a LocalCluster), the emulator\n")
    print("| sender | rows/s (median) | range | x no Dask | CPU s: workers | this process | "
          "emulator | cores busy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, values in runs.items():
        rates = [v["rows_per_s"] for v in values]
        print(f"| {name} | {med(name, 'rows_per_s'):,.0f} | {min(rates) / 1e3:,.0f}k-"
              f"{max(rates) / 1e3:,.0f}k | {med(name, 'rows_per_s') / base:.2f} | "
              f"{med(name, 'cpu_workers'):.1f} | {med(name, 'cpu_here'):.1f} | "
              f"{med(name, 'cpu_emulator'):.1f} | {med(name, 'cores_busy'):.2f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


def own_cpu() -> float:
    """CPU seconds (user + system) of the calling process so far."""
    t = psutil.Process().cpu_times()
    return t.user + t.system


def measure(send: Callable[[], Any], rows: int, emulator: psutil.Process,
            client: Any) -> dict[str, float]:
    """Run one send; its rows/s and the CPU seconds each party used meanwhile."""
    def workers() -> float:
        return sum(client.run(own_cpu).values()) if client is not None else 0.0

    def emu() -> float:
        t = emulator.cpu_times()
        return t.user + t.system

    w0, e0, h0, t0 = workers(), emu(), own_cpu(), time.perf_counter()
    report = send()
    elapsed = time.perf_counter() - t0
    cpu = {"cpu_workers": workers() - w0, "cpu_emulator": emu() - e0,
           "cpu_here": own_cpu() - h0}
    if not (report.ok and report.delivered == rows):
        raise SystemExit(f"not every row was delivered: {report}")
    return {"rows_per_s": rows / elapsed, "elapsed_s": elapsed, **cpu,
            "cores_busy": sum(cpu.values()) / elapsed}


if __name__ == "__main__":
    main()
