"""The performance suite: every comparison in one run, written to docs/benchmarks.md with a plot.

    python benchmarks/suite.py                 # the full suite (about 10 minutes on 2 cores)
    python benchmarks/suite.py --quick         # smaller sizes, one run: a smoke test

Each scenario runs in its own process under ``/usr/bin/time -v`` (wall time and peak RSS of the
whole process); the emulators run in processes of their own. Scenarios that are compared run
alternately in the same round, several rounds, and the suite reports medians and the median of
the per-round ratios, because these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import start_emulator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEGIN, END = "<!-- suite:begin -->", "<!-- suite:end -->"


def run(*args: str) -> dict[str, Any]:
    """One scenario under /usr/bin/time -v: its JSON line plus wall time and peak RSS."""
    cmd = ["/usr/bin/time", "-v", sys.executable, str(HERE / "scenarios.py"), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", out.stderr)
    result["peak_rss_mb"] = int(rss.group(1)) / 1024 if rss else None
    if wall:
        parts = [float(p) for p in wall.group(1).split(":")]
        result["process_s"] = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    print(f"  {' '.join(args[:1] + args[2:]):<40} {result['events_per_s']:>12,.0f} events/s"
          f"  {result['peak_rss_mb']:>8,.0f} MB  {result.get('process_s', 0):6.1f} s",
          flush=True)
    return result


def make_file(path: Path, megabytes: int) -> int:
    """An NDJSON file of small events of about ``megabytes`` MB; returns its line count."""
    import orjson

    sys.path.insert(0, str(HERE))
    from scenarios import small_event

    target = megabytes * 1_000_000
    block = b"".join(orjson.dumps(small_event(i)) + b"\n" for i in range(100_000))
    lines, size = 0, 0
    with open(path, "wb") as fh:
        while size < target:
            fh.write(block)
            size += len(block)
            lines += 100_000
    return lines


def med(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--file-mb", type=int, default=1000, help="size of the generated NDJSON")
    ap.add_argument("--write", action=argparse.BooleanOptionalAction, default=True,
                    help="write docs/benchmarks.md and docs/img/benchmarks.png")
    args = ap.parse_args()
    rounds = 1 if args.quick else args.rounds
    n_list = 30_000 if args.quick else 300_000
    # the latency pair sends a million: a send's last round trip cannot be hidden, and at
    # 300,000 events (0.7 s) that one round trip alone would weigh 7 %
    n_lat = 100_000 if args.quick else 1_000_000
    n_falcon = 500 if args.quick else 2_000
    n_frame = 100_000 if args.quick else 1_000_000
    file_mb = 20 if args.quick else args.file_mb
    scales = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]

    machine = (f"{platform.machine()}, {os.cpu_count()} cores, "
               f"{_cpu()}, Python {platform.python_version()}")
    print(f"machine: {machine}")
    fast, url = start_emulator()
    slow, slow_url = start_emulator(delay=0.05)
    tmp = Path(tempfile.mkdtemp(prefix="hecnb-bench-"))
    res: dict[str, list[dict[str, Any]]] = {}

    def add(key: str, r: dict[str, Any]) -> dict[str, Any]:
        res.setdefault(key, []).append(r)
        return r

    try:
        for rnd in range(rounds):
            print(f"round {rnd + 1} of {rounds}")
            add("falconpy", run("falconpy-list", url, str(n_falcon)))
            add("hecnb", run("hecnb-list", url, str(n_list)))
            add("hand", run("hand-loop", url, str(n_list)))
            add("hecnb-plain", run("hecnb-list", url, str(n_list), "default", "plain"))
            add("zero-lat", run("hecnb-list", url, str(n_lat)))
            add("latency", run("hecnb-list", slow_url, str(n_lat)))
            # FalconPy's model, one request per thread: 4 in flight on 2 cores
            add("latency-4", run("hecnb-list", slow_url, str(n_lat), "default", "gzip", "4"))
            for fmt in ("json", "yaml", "xml", "csv"):
                add(f"frame-{fmt}", run("frame", url, str(n_frame), fmt))
            for n in scales:
                add(f"stream-{n}", run("hecnb-stream", url, str(n)))
        print(f"files: generating {file_mb:,} MB of NDJSON in {tmp}")
        plain = tmp / "events.ndjson"
        lines = make_file(plain, file_mb)
        packed = tmp / "events.ndjson.gz"
        with open(plain, "rb") as src, gzip.open(packed, "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst, 1 << 24)
        for rnd in range(rounds):
            print(f"files round {rnd + 1} of {rounds}")
            add("file-raw", run("hecnb-file", url, str(plain), "raw"))
            add("file-gz-raw", run("hecnb-file", url, str(packed), "raw"))
            add("file-event", run("hecnb-file", url, str(plain), "event"))
            add("falconpy-file", run("falconpy-file", url, str(plain)))
    finally:
        for p in (fast, slow):
            p.terminate()
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    summary = summarise(res, rounds)
    summary.update(machine=machine, n_list=n_list, n_lat=n_lat, n_falcon=n_falcon, n_frame=n_frame,
                   file_mb=file_mb, file_lines=lines, scales=scales, rounds=rounds,
                   date=time.strftime("%Y-%m-%d"), quick=args.quick)
    print(json.dumps(summary, indent=1))
    if args.write:
        write_docs(summary, res)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def summarise(res: dict[str, list[dict[str, Any]]], rounds: int) -> dict[str, Any]:
    def eps(key: str) -> list[float]:
        return [r["events_per_s"] for r in res[key]]

    def ratio(a: str, b: str) -> float:
        return med([x / y for x, y in zip(eps(a), eps(b), strict=True)])

    out: dict[str, Any] = {k: {"events_per_s": med(eps(k)),
                               "peak_rss_mb": med([r["peak_rss_mb"] for r in v]),
                               "runs": [round(x) for x in eps(k)]} for k, v in res.items()}
    out["ratio_vs_falconpy"] = ratio("hecnb", "falconpy")
    out["ratio_vs_hand_loop"] = ratio("hecnb", "hand")
    out["ratio_plain_vs_hand_loop"] = ratio("hecnb-plain", "hand")
    out["ratio_latency"] = ratio("latency", "zero-lat")
    out["ratio_latency_4"] = ratio("latency-4", "zero-lat")
    for k in ("zero-lat", "latency", "latency-4"):
        out[k]["in_flight_peak"] = med([r.get("in_flight_peak", 0) for r in res[k]])
    out["ratio_file_vs_falconpy"] = ratio("file-raw", "falconpy-file")
    return out


def write_docs(s: dict[str, Any], res: dict[str, list[dict[str, Any]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    labels = ["FalconPy list", "hecnb list", "hand loop", "hecnb list\n+50 ms latency",
              "DataFrame json", "DataFrame yaml", "DataFrame xml", "DataFrame csv",
              "file raw", "file gzip raw", "file event", "FalconPy file"]
    keys = ["falconpy", "hecnb", "hand", "latency", "frame-json", "frame-yaml", "frame-xml",
            "frame-csv", "file-raw", "file-gz-raw", "file-event", "falconpy-file"]
    values = [s[k]["events_per_s"] for k in keys]
    colours = ["#9a6700" if "falconpy" in k else ("#57606a" if k == "hand" else "#0969da")
               for k in keys]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 1]})
    ax.barh(labels[::-1], values[::-1], color=colours[::-1])
    ax.set_xscale("log")
    ax.set_xlabel("events (rows, lines) per second, log scale - median")
    ax.set_title("hecnb throughput against the local emulator")
    for y, v in enumerate(values[::-1]):
        ax.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
    scales = s["scales"]
    ax2.plot(scales, [s[f"stream-{n}"]["peak_rss_mb"] for n in scales], "o-", label="peak RSS MB")
    ax2.set_xscale("log")
    ax2.set_xlabel("events sent from a generator")
    ax2.set_ylabel("peak RSS (MB)")
    ax2.set_ylim(bottom=0)
    ax2.set_title("memory stays flat for streams")
    fig.tight_layout()
    fig.savefig(img / "benchmarks.png", dpi=110)

    def row(label: str, key: str, note: str = "") -> str:
        v = s[key]
        return (f"| {label} | {v['events_per_s']:,.0f} | {v['peak_rss_mb']:,.0f} | "
                f"{', '.join(f'{x:,}' for x in v['runs'])} | {note} |")

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    rf, rh, rl = s["ratio_vs_falconpy"], s["ratio_vs_hand_loop"], s["ratio_latency"]
    rp, rl4 = s["ratio_plain_vs_hand_loop"], s["ratio_latency_4"]

    def peak(key: str) -> str:
        return f"at most {s[key]['in_flight_peak']:.0f} requests in flight"
    fj = s["frame-json"]["events_per_s"]
    file_rss = max(s[k]["peak_rss_mb"] for k in ("file-raw", "file-gz-raw", "file-event"))
    text = f"""{BEGIN}
## Performance suite

```bash
python benchmarks/suite.py          # writes this section and docs/img/benchmarks.png
```

Run on {s['date']}: {s['machine']}; {s['rounds']} rounds, medians. Every scenario is its own
process under `/usr/bin/time -v` (peak RSS of the whole process); the emulators run in separate
processes and keep no events. "events/s" is events over the seconds of the send call itself
(for hecnb that includes making its connection pool; the hand loop's time includes making its
client too, and it sends byte for byte the bodies hecnb sends, uncompressed). The latency pair
sends {s['n_lat']:,} events: the last round trip of a send cannot be hidden, and at
{s['n_list']:,} events that one round trip alone would weigh several percent.

![throughput and memory](img/benchmarks.png)

| scenario | events/s (median) | peak RSS MB | runs | |
|---|---:|---:|---|---|
{row(f"FalconPy `send_event_list`, {s['n_falcon']:,} events", "falconpy")}
{row(f"hecnb `send_event_list`, {s['n_list']:,} events (progress, retries, report)", "hecnb")}
{row(f"hand-written loop, {s['n_list']:,} events (1 MiB bodies, one client)", "hand")}
{row(f"hecnb without gzip, {s['n_list']:,} events (as the hand loop)", "hecnb-plain")}
{row(f"hecnb, {s['n_lat']:,} events, no added latency", "zero-lat", peak("zero-lat"))}
{row(f"hecnb, {s['n_lat']:,} events, emulator adds 50 ms per answer", "latency",
     peak("latency"))}
{row("the same with `max_in_flight=4` (one request per thread, as FalconPy)", "latency-4",
     peak("latency-4"))}
{row(f"`df.to_ngsiem()` json, {s['n_frame']:,} rows x 8 columns", "frame-json")}
{row(f"`df.to_ngsiem()` yaml, {s['n_frame']:,} rows", "frame-yaml")}
{row(f"`df.to_ngsiem()` xml, {s['n_frame']:,} rows", "frame-xml")}
{row(f"`df.to_ngsiem()` csv, {s['n_frame']:,} rows", "frame-csv")}
{row(f"`send_event_file` raw, {s['file_mb']:,} MB NDJSON ({s['file_lines']:,} lines)", "file-raw")}
{row("`send_event_file` raw, the same file gzip-compressed", "file-gz-raw")}
{row("`send_event_file` JSON lines -> envelopes, the same file", "file-event")}
{row("FalconPy `send_event_file` (raw), the same file", "falconpy-file", "reads it whole")}

Scaling (a generator of small events, so nothing is held but what is in flight):

| events | events/s | peak RSS MB |
|---:|---:|---:|
""" + "\n".join(f"| {n:,} | {s[f'stream-{n}']['events_per_s']:,.0f} | "
                f"{s[f'stream-{n}']['peak_rss_mb']:,.0f} |" for n in s["scales"]) + f"""

| target (issue 6) | measured | |
|---|---|---|
| hecnb at least 200 x FalconPy's events/s | {rf:,.0f} x | {verdict(rf >= 200)} |
| hecnb at least 85 % of the hand-written loop | {rh:.0%} | {verdict(rh >= 0.85)} |
| the same, both without gzip (like for like) | {rp:.0%} | {verdict(rp >= 0.85)} |
| `df.to_ngsiem()` json at least 300,000 rows/s | {fj:,.0f} | {verdict(fj >= 300_000)} |
| 50 ms latency: at least 80 % of zero-latency throughput, defaults | {rl:.0%} | \
{verdict(rl >= 0.8)} |
| for contrast, `max_in_flight=4` (FalconPy's one request per thread) | {rl4:.0%} | \
what the window adds |
| files: peak RSS under 150 MB whatever the size | {file_rss:,.0f} MB | {verdict(file_rss < 150)} |
| FalconPy on the same file (peak RSS) | {s['falconpy-file']['peak_rss_mb']:,.0f} MB | \
it reads the whole file |

Ratios are medians of per-round ratios (both sides measured in the same round).
{END}"""
    doc = ROOT / "docs" / "benchmarks.md"
    current = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if BEGIN in current:
        current = current[:current.index(BEGIN)] + text + current[current.index(END) + len(END):]
    else:
        current = current.rstrip() + "\n\n" + text + "\n"
    doc.write_text(current)
    print(f"wrote {doc} and {img / 'benchmarks.png'}")


if __name__ == "__main__":
    main()
