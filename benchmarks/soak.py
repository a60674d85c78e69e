"""Soak: 1,000,000 events through 5% 503 answers and 1% dropped connections; all must arrive.

Not a unit test: run it by hand (about a minute on 2 cores) and read the figures.

    python benchmarks/soak.py                     # 1,000,000 events, 5% 503, 1% drops
    python benchmarks/soak.py --events 200000 --fail-503 0.2 --drop 0.05

Exits non-zero if any event is missing at the collector or unaccounted for in the report.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import resource
import sys
import time

from hecnb import HEC
from hecnb.emulator import Emulator, Faults

KEY = "soak-key-0123456789abcdef"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--fail-503", type=float, default=0.05)
    ap.add_argument("--drop", type=float, default=0.01)
    ap.add_argument("--batch-events", type=int, default=2000,
                    help="events per request (smaller: more requests, more faults)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()

    faults = Faults(error_503_rate=args.fail_503, drop_rate=args.drop, seed=args.seed)
    events = ({"id": i, "user": f"user{i % 1000}", "action": "login", "outcome": "failure",
               "src_ip": f"203.0.113.{i % 250}", "message": f"soak event {i}"}
              for i in range(args.events))
    with Emulator(api_key=KEY, faults=faults) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=args.batch_events,
                  retry_count=20, backoff_base=0.01, backoff_max=0.5)
        t0 = time.perf_counter()
        report = hec.send(events, show_progress=sys.stderr.isatty(), total=args.events)
        elapsed = time.perf_counter() - t0
        stats = emu.stats
        ids = collections.Counter(e["event"]["id"] for e in emu.events)
    missing = args.events - len(ids.keys() & set(range(args.events)))
    dupes = sum(c - 1 for c in ids.values())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print(f"report: {report}")
    print(f"faults injected: {stats['status_counts'].get(503, 0):,} x 503, "
          f"{stats['dropped']:,} dropped connections, over {stats['requests']:,} requests")
    print(f"collector: {len(ids):,} distinct ids, {missing:,} missing, {dupes:,} duplicates "
          f"(report: {report.possible_duplicates:,} possible)")
    print(f"elapsed {elapsed:.1f} s, {report.delivered / elapsed:,.0f} events/s, "
          f"peak RSS {rss:,.0f} MB (collector included: it keeps every event)")
    ok = (missing == 0 and report.ok and report.delivered == args.events
          and dupes <= report.possible_duplicates)
    print("SOAK OK" if ok else "SOAK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
