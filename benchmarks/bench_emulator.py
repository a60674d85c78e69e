"""Measure how many events per second the HEC emulator accepts: it must never be the bottleneck.

The emulator runs in a separate process (as ``serve()``), the request bodies are built before the
clock starts, and N threads post them over keep-alive httpx clients. Example::

    python benchmarks/bench_emulator.py --events 1000000 --batch-bytes 1048576 --clients 2 --gzip

``--batch-bytes 1`` sends one event per request (the many-tiny-requests case).
"""

from __future__ import annotations

import argparse
import gzip
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
USERS = ("alice", "bob", "carol", "dave", "erin")
ACTIONS = ("login ok", "login failed", "file read", "process start", "sudo")


@dataclass
class Body:
    """One pre-built request body and the number of events in it."""

    content: bytes
    events: int
    size: int  # uncompressed bytes


def make_lines(count: int) -> list[bytes]:
    """``count`` FalconPy-shaped envelopes of about 150-200 bytes, a little varied."""
    base = 1_700_000_000_000_000_000
    lines = []
    for i in range(count):
        envelope = {
            "event": {
                "host": f"h{i % 17}",
                "timestamp": base + i * 1_000_000,
                "timeunit": "nanoseconds",
                "message": f"{ACTIONS[i % 5]} for user {USERS[i % 5]} seq={i}",
                "user": USERS[i % 5],
                "src_ip": f"10.0.{i % 256}.{(i // 256) % 256}",
            },
            "fields": {"#source": "bench"},
        }
        lines.append(orjson.dumps(envelope))
    return lines


def make_bodies(lines: list[bytes], batch_bytes: int, use_gzip: bool, level: int) -> list[Body]:
    """Group lines into newline-separated bodies of at most ``batch_bytes`` (one line at least)."""
    bodies: list[Body] = []
    batch: list[bytes] = []
    size = 0
    for line in lines:
        if batch and size + len(line) + 1 > batch_bytes:
            bodies.append(_body(batch, use_gzip, level))
            batch, size = [], 0
        batch.append(line)
        size += len(line) + 1
    if batch:
        bodies.append(_body(batch, use_gzip, level))
    return bodies


def _body(batch: list[bytes], use_gzip: bool, level: int) -> Body:
    raw = b"\n".join(batch) + b"\n"
    content = gzip.compress(raw, compresslevel=level, mtime=0) if use_gzip else raw
    return Body(content, len(batch), len(raw))


def free_port() -> int:
    """A port the OS says is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    """Start ``serve()`` in a child process and wait until its health route answers."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
        f"from hecnb.emulator import serve; serve(port={port}, quiet=True)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/services/collector/health", timeout=1)
            if r.status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"the emulator process exited with {proc.returncode}")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the emulator did not come up within 20 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Interrupt the server (serve() stops on KeyboardInterrupt) and reap it."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_once(url: str, bodies: list[Body], clients: int, use_gzip: bool) -> dict[str, float]:
    """Post every body from ``clients`` threads; return events/s, requests/s and MB/s."""
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    next_index = iter(range(len(bodies)))
    take = threading.Lock()
    accepted = [0] * clients
    failures: list[str] = []
    start = threading.Barrier(clients + 1)

    def worker(slot: int) -> None:
        with httpx.Client(headers=headers, timeout=60) as client:
            client.get(url.replace("/services/collector", "/services/collector/health"))
            start.wait()
            while True:
                with take:
                    index = next(next_index, None)
                if index is None:
                    return
                body = bodies[index]
                response = client.post(url, content=body.content)
                if response.status_code == 200:
                    accepted[slot] += body.events
                else:
                    failures.append(f"{response.status_code} {response.text}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return {
        "events_per_s": sum(accepted) / elapsed,
        "requests_per_s": len(bodies) / elapsed,
        "mb_per_s": sum(b.size for b in bodies) / elapsed / 1e6,
        "wire_mb_per_s": sum(len(b.content) for b in bodies) / elapsed / 1e6,
        "seconds": elapsed,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, build the bodies, run the repeats and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="events per run")
    parser.add_argument("--batch-bytes", type=int, default=1 << 20, help="uncompressed bytes/body")
    parser.add_argument("--clients", type=int, default=2, help="client threads")
    parser.add_argument("--gzip", action="store_true", help="gzip the bodies")
    parser.add_argument("--level", type=int, default=6, help="gzip level (with --gzip)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the medians are reported")
    args = parser.parse_args(argv)

    lines = make_lines(args.events)
    bodies = make_bodies(lines, args.batch_bytes, args.gzip, args.level)
    del lines
    raw = sum(b.size for b in bodies)
    wire = sum(len(b.content) for b in bodies)
    print(
        f"{args.events:,} events in {len(bodies):,} bodies; {raw / 1e6:.1f} MB raw, "
        f"{wire / 1e6:.1f} MB on the wire; gzip={args.gzip}; clients={args.clients}; "
        f"cpus={os.cpu_count()}"
    )
    runs = []
    for i in range(args.repeat):
        port = free_port()
        proc = start_server(port)  # a fresh process per run: each starts with no stored events
        try:
            result = run_once(
                f"http://127.0.0.1:{port}/services/collector", bodies, args.clients, args.gzip
            )
        finally:
            stop_server(proc)
        runs.append(result)
        print(
            f"run {i + 1}: {result['events_per_s']:>12,.0f} events/s "
            f"{result['requests_per_s']:>10,.1f} req/s {result['mb_per_s']:>8.1f} MB/s "
            f"({result['wire_mb_per_s']:.1f} MB/s on the wire, {result['seconds']:.2f} s)"
        )
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(
        f"median: {median['events_per_s']:>11,.0f} events/s "
        f"{median['requests_per_s']:>10,.1f} req/s {median['mb_per_s']:>8.1f} MB/s "
        f"({median['wire_mb_per_s']:.1f} MB/s on the wire)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
