"""hecnb vs FalconPy: ``send_event_list`` of the same small events to the same local emulator.

The emulator runs in its own process (so it does not share a GIL with either client). Both
clients run in this process, one after the other, several times; the figures are medians and the
ratio is of medians measured in the same run.

    python benchmarks/bench_send.py                       # 100,000 hecnb, 2,000 FalconPy, 3 runs
    python benchmarks/bench_send.py --events 100000 --falconpy-events 2000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Any

from _common import KEY, falconpy_at, start_emulator
from scenarios import events


def timed(send: Any, n: int) -> float:
    """Events per second of one ``send()`` that must deliver ``n``."""
    t0 = time.perf_counter()
    delivered = send()
    elapsed = time.perf_counter() - t0
    if delivered != n:
        raise SystemExit(f"delivered {delivered} of {n}")
    return n / elapsed


def run_hecnb(url: str, n: int) -> float:
    from hecnb import HEC

    data = events(n)
    with HEC(api_key=KEY, ingest_url=url) as hec:
        return timed(lambda: hec.send_event_list(data), n)


def run_falconpy(url: str, n: int) -> float:
    data = events(n)
    with falconpy_at(url) as hec:
        return timed(lambda: hec.send_event_list(data), n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000, help="events per hecnb run")
    ap.add_argument("--falconpy-events", type=int, default=2_000, help="events per FalconPy run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()

    proc, url = start_emulator()
    try:
        ours, theirs = [], []
        run_hecnb(url, 1000)  # warm-up: imports, connections
        run_falconpy(url, 50)
        for _ in range(args.repeat):
            ours.append(run_hecnb(url, args.events))
            theirs.append(run_falconpy(url, args.falconpy_events))
    finally:
        proc.terminate()
        proc.wait(10)
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "hecnb_events": args.events,
        "falconpy_events": args.falconpy_events,
        "hecnb_events_per_s": [round(x) for x in ours],
        "falconpy_events_per_s": [round(x) for x in theirs],
        "hecnb_median": round(statistics.median(ours)),
        "falconpy_median": round(statistics.median(theirs)),
        "ratio_median": round(statistics.median(ratios), 1),
    }
    print(f"machine: {result['machine']}")
    print(f"hecnb    send_event_list({args.events:,}): median {result['hecnb_median']:>10,} "
          f"events/s  runs {result['hecnb_events_per_s']}")
    print(f"FalconPy send_event_list({args.falconpy_events:,}): median "
          f"{result['falconpy_median']:>10,} events/s  runs {result['falconpy_events_per_s']}")
    print(f"ratio hecnb/FalconPy (median of per-run ratios): {result['ratio_median']:,}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
