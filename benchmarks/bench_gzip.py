"""gzip for request bodies: zlib level 1 against ISA-L (``isal``) level 1, on 1 MiB bodies.

The bodies are what hecnb sends for the benchmark's small events (see ``scenarios.py``); each
backend compresses the same bodies several times, and the collector's side (inflating) is
timed too, since the emulator inflates with ISA-L when it can.

    python benchmarks/bench_gzip.py            # 20 bodies of about 1 MiB, 5 rounds
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
import zlib
from collections.abc import Callable

from scenarios import events

from hecnb._encode.jsonevents import JsonEventEncoder


def bodies(count: int) -> list[bytes]:
    enc = JsonEventEncoder()
    parts = enc.encode_list(events(5000 * count))
    out, body, size = [], [], 0
    for p in parts:
        if size + len(p) > 1 << 20 and body:
            out.append(b"".join(body))
            body, size = [], 0
        body.append(p)
        size += len(p)
    return out[:count]


def timed(fn: Callable[[bytes], bytes], data: list[bytes], rounds: int
          ) -> tuple[float, list[bytes]]:
    times, out = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = [fn(b) for b in data]
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bodies", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    data = bodies(args.bodies)
    raw = sum(map(len, data))
    from isal import igzip, isal_zlib

    rows = []
    for name, comp, inflate in (
        ("zlib level 1", lambda b: gzip.compress(b, compresslevel=1, mtime=0),
         lambda b: zlib.decompress(b, 31)),
        ("ISA-L level 1", lambda b: igzip.compress(b, compresslevel=1, mtime=0),
         lambda b: isal_zlib.decompress(b, 31)),
    ):
        t_comp, packed = timed(comp, data, args.rounds)
        t_inf, back = timed(inflate, packed, args.rounds)
        assert back == data
        rows.append((name, raw / t_comp / 1e6, raw / sum(map(len, packed)),
                     raw / t_inf / 1e6, t_comp / len(data) * 1000))
    print(f"{len(data)} bodies, {raw / 1e6:.1f} MB, medians of {args.rounds}")
    print("| backend | compress MB/s | ms per 1 MiB body | ratio | inflate MB/s |")
    print("|---|---:|---:|---:|---:|")
    for name, c, ratio, d, ms in rows:
        print(f"| {name} | {c:,.0f} | {ms:.2f} | {ratio:.1f} | {d:,.0f} |")


if __name__ == "__main__":
    main()
