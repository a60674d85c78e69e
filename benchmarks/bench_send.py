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
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

KEY = "bench-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    code = ("from hecnb.emulator import serve; "
            f"serve(host='127.0.0.1', port={port}, api_key={KEY!r}, quiet=True)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/services/collector/health").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("emulator did not start")


def make_events(n: int) -> list[dict[str, Any]]:
    return [{"host": f"host-{i % 50}", "message": f"Failed password for user{i % 300} from "
             f"203.0.113.{i % 250} port {1024 + i % 60000} ssh2", "user": f"user{i % 300}",
             "action": "login", "outcome": "failure", "fields": {"#source": "bench"}}
            for i in range(n)]


def run_hecnb(url: str, events: list[dict[str, Any]]) -> float:
    from hecnb import HEC

    with HEC(api_key=KEY, ingest_url=url) as hec:
        t0 = time.perf_counter()
        delivered = hec.send_event_list(events)
        elapsed = time.perf_counter() - t0
    if delivered != len(events):
        raise SystemExit(f"hecnb delivered {delivered} of {len(events)}")
    return len(events) / elapsed


def run_falconpy(url: str, events: list[dict[str, Any]]) -> float:
    from falconpy import HEC as FalconHEC

    class LocalHEC(FalconHEC):  # point FalconPy at the emulator by overriding its URL property
        @property
        def ingest_url(self) -> str:
            return url

    with LocalHEC(api_key=KEY, api_url_key="local") as hec:
        t0 = time.perf_counter()
        delivered = hec.send_event_list(events)
        elapsed = time.perf_counter() - t0
    if delivered != len(events):
        raise SystemExit(f"FalconPy delivered {delivered} of {len(events)}")
    return len(events) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000, help="events per hecnb run")
    ap.add_argument("--falconpy-events", type=int, default=2_000, help="events per FalconPy run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()

    port = free_port()
    proc = start_emulator(port)
    url = f"http://127.0.0.1:{port}/services/collector"
    try:
        ours, theirs = [], []
        run_hecnb(url, make_events(1000))  # warm-up: imports, connections
        run_falconpy(url, make_events(50))
        for _ in range(args.repeat):
            ours.append(run_hecnb(url, make_events(args.events)))
            theirs.append(run_falconpy(url, make_events(args.falconpy_events)))
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
