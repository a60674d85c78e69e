"""Requests in flight: the adaptive window against fixed ones, near and far from the collector.

Two emulators in their own processes, one answering at once and one 50 ms late (a cloud round
trip). For each, hecnb sends the same small events with its adaptive window (the default) and
with the window pinned at 4, 8 and 16 requests (pinned by replacing the window's floor and cap
in this process only; there is no public switch for it). Settings alternate within each round;
figures are medians of the rounds, each a whole ``send_event_list`` in this process.

    python benchmarks/bench_window.py                  # 1,000,000 events, 3 rounds
    python benchmarks/bench_window.py --events 300000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from _common import KEY, start_emulator
from scenarios import events

from hecnb import HEC
from hecnb._send import window as _window


def send(url: str, data: list[dict], pinned: int | None) -> tuple[float, int]:
    """Events/s of one send, and the most requests it had in flight."""
    original = _window.Window.__init__
    if pinned is not None:
        def init(self: _window.Window, floor: int, cap: int) -> None:
            original(self, pinned, pinned)

        _window.Window.__init__ = init  # type: ignore[method-assign]
    try:
        with HEC(api_key=KEY, ingest_url=url, max_in_flight=max(16, pinned or 0)) as hec:
            t0 = time.perf_counter()
            assert hec.send_event_list(data) == len(data), hec.last_report
            elapsed = time.perf_counter() - t0
            return len(data) / elapsed, hec.last_report.in_flight_peak
    finally:
        _window.Window.__init__ = original  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = events(args.events)
    settings: list[int | None] = [None, 4, 8, 16]
    near, near_url = start_emulator()
    far, far_url = start_emulator(delay=0.05)
    try:
        send(near_url, data[:10_000], None)  # warm-up: imports, TLS context
        rates: dict[tuple[str, int | None], list[float]] = {}
        peaks: dict[tuple[str, int | None], list[int]] = {}
        for rnd in range(args.repeat):
            for where, url in (("0 ms", near_url), ("50 ms", far_url)):
                for pinned in settings:
                    rate, peak = send(url, data, pinned)
                    rates.setdefault((where, pinned), []).append(rate)
                    peaks.setdefault((where, pinned), []).append(peak)
                    print(f"round {rnd + 1} {where:>5} {pinned or 'adaptive'!s:>8}: "
                          f"{rate:>10,.0f} events/s, at most {peak} in flight", flush=True)
    finally:
        for p in (near, far):
            p.terminate()
            p.wait(10)
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.events:,} events, medians of {args.repeat}")
    print("| added latency | window | events/s | most in flight | vs adaptive at 0 ms |")
    print("|---|---|---:|---:|---:|")
    base = statistics.median(rates[("0 ms", None)])
    for where in ("0 ms", "50 ms"):
        for pinned in settings:
            r = statistics.median(rates[(where, pinned)])
            p = statistics.median(peaks[(where, pinned)])
            print(f"| {where} | {'adaptive (default)' if pinned is None else f'fixed {pinned}'} "
                  f"| {r:,.0f} | {p:.0f} | {r / base:.0%} |")


if __name__ == "__main__":
    main()
