"""Two trees of hecnb, the same scenario, alternating: is a change faster or slower?

    python benchmarks/compare.py OLD_TREE NEW_TREE [--rounds 5] -- SCENARIO ARGS...

Each tree is a checkout of this repository (``git worktree add /tmp/old COMMIT``). Every
round runs ``scenarios.py SCENARIO URL ARGS`` once with each tree first on ``PYTHONPATH``
(``/usr/bin/time -v`` for the peak RSS), against one emulator in its own process, in
alternating order, so that both sides see the same machine; it prints both medians and the
median of the per-round ratios (these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import start_emulator

HERE = Path(__file__).resolve().parent


def run(tree: Path, url: str, scenario: list[str]) -> dict[str, Any]:
    """One run of ``scenarios.py`` with ``tree``'s hecnb: its JSON line and peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = ["/usr/bin/time", "-v", sys.executable, str(tree / "benchmarks" / "scenarios.py"),
           scenario[0], url, *scenario[1:]]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(scenario)} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(
        [line for line in out.stdout.splitlines() if line.startswith("{")][-1])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    result["peak_rss_mb"] = int(rss.group(1)) / 1024 if rss else float("nan")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("scenario", nargs="+")
    args = ap.parse_args()
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    runs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    proc, url = start_emulator()
    try:
        for rnd in range(args.rounds):
            order = ["old", "new"] if rnd % 2 == 0 else ["new", "old"]
            for side in order:
                runs[side].append(run(trees[side], url, args.scenario))
            print(f"round {rnd + 1}: " + ", ".join(
                f"{side} {runs[side][-1]['events_per_s']:,.0f}/s" for side in ("old", "new")),
                flush=True)
    finally:
        proc.kill()
    ratios = [n["events_per_s"] / o["events_per_s"] for o, n in
              zip(runs["old"], runs["new"], strict=True)]
    summary = {side: {"events_per_s": statistics.median(r["events_per_s"] for r in rs),
                      "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs)}
               for side, rs in runs.items()}
    print(json.dumps({"scenario": " ".join(args.scenario), **summary,
                      "new_over_old": statistics.median(ratios)}))


if __name__ == "__main__":
    main()
