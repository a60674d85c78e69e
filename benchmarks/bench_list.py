"""The list path's encoder alone: ``JsonEventEncoder.encode_list`` over records, in the chunks
of 2,048 the sender hands it; events per second, best of ``--repeat`` (the machine is shared).

Three kinds of record: plain (six keys, no time), FalconPy style (``host`` and ``fields``, the
records of bench_send.py) and the demo's authentication events (an ISO-8601 ``@timestamp``,
which the event-time rule reads for every event).

    python benchmarks/bench_list.py                      # 300,000 records, best of 5
    python benchmarks/bench_list.py --records 100000 --repeat 3
    python benchmarks/bench_list.py --send               # HEC.send end to end, to an
                                                         # emulator in its own process
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _common import KEY, start_emulator
from scenarios import small_event

from hecnb._encode.jsonevents import JsonEventEncoder
from hecnb._source.demo import auth_events

CHUNK = 2048


def plain(i: int) -> dict[str, Any]:
    return {"user": f"user{i % 300}", "action": "login", "outcome": "failure",
            "src_ip": f"203.0.113.{i % 250}", "port": 1024 + i % 60000,
            "message": f"Failed password for user{i % 300} from 203.0.113.{i % 250}"}


def best_rate(records: list[Any], repeat: int, **options: Any) -> float:
    encoder = JsonEventEncoder(**options)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for start in range(0, len(records), CHUNK):
            encoder.encode_list(records[start:start + CHUNK])
        best = min(best, time.perf_counter() - t0)
    return len(records) / best


def best_send(url: str, records: list[Any], repeat: int, **options: Any) -> float:
    """Events/s of ``HEC.send`` (defaults: gzip, 4 threads...) that must deliver them all."""
    from hecnb import HEC

    best = float("inf")
    with HEC(api_key=KEY, ingest_url=url) as hec:
        hec.send(records[:2000], show_progress=False)  # warm: imports, connections
        for _ in range(repeat):
            t0 = time.perf_counter()
            report = hec.send(records, show_progress=False, **options)
            best = min(best, time.perf_counter() - t0)
            assert report.delivered == len(records), report
    return len(records) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--send", action="store_true", help="HEC.send to an emulator instead")
    args = ap.parse_args()
    n = args.records
    kinds = {"plain": [plain(i) for i in range(n)],
             "host + fields": [small_event(i) for i in range(n)],
             "demo (@timestamp)": auth_events(n)}
    if args.send:
        proc, url = start_emulator()
        try:
            print(f"# HEC.send of {n:,} records to an emulator in its own process, best of "
                  f"{args.repeat}")
            print("| records | events/s | hec_time=False | timestamp_column=None |")
            print("|---|---:|---:|---:|")
            for name, records in kinds.items():
                rates = [best_send(url, records, args.repeat, **opts) for opts in (
                    {}, {"hec_time": False}, {"timestamp_column": None})]
                print(f"| {name} | " + " | ".join(f"{r:,.0f}" for r in rates) + " |")
        finally:
            proc.kill()
        return
    print(f"# {n:,} records, chunks of {CHUNK:,}, best of {args.repeat}")
    print("| records | events/s | us/event | hec_time=False | timestamp_column=None |")
    print("|---|---:|---:|---:|---:|")
    for name, records in kinds.items():
        rate = best_rate(records, args.repeat)
        quiet = best_rate(records, args.repeat, hec_time=False)
        falconpy = best_rate(records, args.repeat, timestamp_column=None)
        print(f"| {name} | {rate:,.0f} | {1e6 / rate:.2f} | {quiet:,.0f} | {falconpy:,.0f} |")


if __name__ == "__main__":
    main()
