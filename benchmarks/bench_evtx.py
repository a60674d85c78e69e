"""EVTX reading: records/s and peak memory, whole frame (read_evtx) against pieces (iter_evtx).

A large log is made from the nine readable chunks of ``../shared/data/sysmon.evtx`` repeated
(each copy renumbered, checksums redone, so the reader sees one clean log of unique records).
Each measurement runs in a fresh process, so its peak RSS is its own.

    python benchmarks/bench_evtx.py --mb 200
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sysmon.evtx"
FILE_HEADER, CHUNK = 4096, 65536


def _renumber(chunk: bytes, shift: int) -> bytes:
    """A chunk whose record ids (in its header and in each record) are moved by ``shift``."""
    buf = bytearray(chunk)
    first_n, last_n, first_id, last_id = struct.unpack_from("<QQQQ", buf, 8)
    struct.pack_into("<QQQQ", buf, 8, first_n + shift, last_n + shift, first_id + shift,
                     last_id + shift)
    free = struct.unpack_from("<I", buf, 48)[0]
    pos = 512
    while pos < free and buf[pos:pos + 4] == b"\x2a\x2a\x00\x00":
        size, rid = struct.unpack_from("<IQ", buf, pos + 4)
        struct.pack_into("<Q", buf, pos + 8, rid + shift)
        pos += size
    struct.pack_into("<I", buf, 52, zlib.crc32(bytes(buf[512:free])))
    struct.pack_into("<I", buf, 124, zlib.crc32(bytes(buf[:120]) + bytes(buf[128:512])))
    return bytes(buf)


def make_log(path: Path, megabytes: int) -> int:
    """Write a log of about ``megabytes`` MB; returns its record count."""
    raw = SHARED.read_bytes()
    header, chunks = raw[:FILE_HEADER], [raw[FILE_HEADER + i * CHUNK:FILE_HEADER + (i + 1) * CHUNK]
                                         for i in range(9)]
    span = 358  # records in the nine chunks (ids 1742-2099)
    copies = max(1, megabytes * 1_000_000 // (9 * CHUNK))
    with open(path, "wb") as fh:
        fh.write(header)
        for k in range(copies):
            for chunk in chunks:
                fh.write(_renumber(chunk, k * span))
    return copies * span


RUN = """
import json, resource, sys, time, warnings
import hecnb
path, mode = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "read":
    rows = len(hecnb.read_evtx(path))
else:
    reader = hecnb.iter_evtx(path, chunk_rows=int(mode))
    rows = sum(len(frame) for frame in reader)
seconds = time.perf_counter() - t0
print(json.dumps({"rows": rows, "seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(path: Path, mode: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", RUN, str(path), mode], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the log to read")
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"needs {SHARED} (the shared data folder)")
    with tempfile.TemporaryDirectory(prefix="hecnb-bench-evtx-") as tmp:
        path = Path(tmp) / "big.evtx"
        records = make_log(path, args.mb)
        size_mb = os.path.getsize(path) / 1e6
        print(f"log: {size_mb:,.0f} MB, {records:,} records")
        base = measure(path, "10")  # the interpreter, pandas and evtx loaded: the floor
        for mode in ("read", "50000", "10000"):
            m = measure(path, mode)
            assert m["rows"] == records, m
            label = "read_evtx" if mode == "read" else f"iter_evtx(chunk_rows={int(mode):,})"
            print(f"{label:32} {m['rows'] / m['seconds']:>9,.0f} records/s  "
                  f"peak {m['peak_mb']:>6,.0f} MB ({m['peak_mb'] / size_mb:.1f}x the file; "
                  f"floor {base['peak_mb']:,.0f} MB)")


if __name__ == "__main__":
    main()
