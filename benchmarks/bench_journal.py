"""What the journal costs: ``send_file`` of a 1,000,000-line file with and without
``journal=``, to a local emulator in its own process.

Runs alternate (without, with, without, with...) so that a busy machine slows both alike; the
figures are medians (and bests), and the cost is their ratio. Raw lines (the fastest path,
where a journal's share is largest) and JSON lines.

    python benchmarks/bench_journal.py                    # 1,000,000 lines, 5 runs each
    python benchmarks/bench_journal.py --lines 200000 --repeat 3 --mode raw
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import orjson
from _common import KEY, start_emulator


def write_file(path: str, lines: int) -> None:
    with open(path, "wb") as fh:
        for start in range(0, lines, 100_000):
            fh.write(b"".join(orjson.dumps({"n": i, "user": f"u{i % 97}", "action": "login",
                                            "message": "x" * 40}) + b"\n"
                              for i in range(start, min(lines, start + 100_000))))


SPENT = [0.0]  # seconds inside the journal's own code (opening, records, fsync, closing)


def count_journal_time() -> None:
    """Time every call into the journal, so that its own cost is measured apart from the
    noise of a shared machine (the wall-clock comparison is the other figure)."""
    from hecnb._report import journal

    def timed(fn):  # type: ignore[no-untyped-def]
        def wrapper(*a, **kw):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                SPENT[0] += time.perf_counter() - t0
        return wrapper

    journal.Tracker.sending = timed(journal.Tracker.sending)  # type: ignore[method-assign]
    journal.Tracker.settled = timed(journal.Tracker.settled)  # type: ignore[method-assign]
    journal.Journal.open = classmethod(timed(journal.Journal.open.__func__))  # type: ignore
    for name in ("close", "check_identity", "finish", "tracker"):
        setattr(journal.Journal, name, timed(getattr(journal.Journal, name)))
    journal.file_identity = timed(journal.file_identity)


def once(url: str, path: str, lines: int, raw: bool, journal: str | None) -> float:
    from hecnb import HEC

    if journal is not None and os.path.exists(journal):
        os.remove(journal)
    with HEC(api_key=KEY, ingest_url=url, raw_ingest=raw) as hec:
        t0 = time.perf_counter()
        report = hec.send_file(path, journal=journal, show_progress=False)
        elapsed = time.perf_counter() - t0
    if report.delivered != lines:
        raise SystemExit(f"delivered {report.delivered} of {lines}: {report}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mode", choices=["raw", "json", "both"], default="both")
    args = ap.parse_args()
    count_journal_time()
    proc, url = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "events.ndjson")
            write_file(path, args.lines)
            journal = os.path.join(tmp, "events.journal")
            print(f"{args.lines:,} lines, {os.path.getsize(path) / 1e6:,.0f} MB; "
                  f"{platform.python_version()}, {os.cpu_count()} CPUs")
            modes = ["raw", "json"] if args.mode == "both" else [args.mode]
            for mode in modes:
                raw = mode == "raw"
                once(url, path, args.lines, raw, None)  # warm the page cache and the pool
                plain, kept = [], []
                SPENT[0] = 0.0
                for _ in range(args.repeat):
                    plain.append(once(url, path, args.lines, raw, None))
                    kept.append(once(url, path, args.lines, raw, journal))
                own = SPENT[0] / args.repeat
                a, b = statistics.median(plain), statistics.median(kept)
                size = os.path.getsize(journal)
                print(f"{mode:>4}: without {a:.3f} s ({args.lines / a:,.0f} lines/s), with "
                      f"journal {b:.3f} s ({args.lines / b:,.0f} lines/s): "
                      f"{(b / a - 1) * 100:+.1f} %; best {min(plain):.3f} s and "
                      f"{min(kept):.3f} s: {(min(kept) / min(plain) - 1) * 100:+.1f} %; "
                      f"in the journal's own code {own * 1000:.1f} ms a run "
                      f"({own / a * 100:.2f} % of the send); journal {size / 1e3:,.1f} KB; runs "
                      f"without {[round(x, 3) for x in plain]}, with "
                      f"{[round(x, 3) for x in kept]}")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
