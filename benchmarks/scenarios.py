"""One benchmark scenario per process, so that ``/usr/bin/time -v`` measures it whole.

    python benchmarks/scenarios.py hecnb-list URL N [THREADS|default] [gzip|plain] [IN_FLIGHT]
    python benchmarks/scenarios.py falconpy-list URL N     # the same with FalconPy
    python benchmarks/scenarios.py hand-loop URL N         # the practical ceiling
    python benchmarks/scenarios.py hecnb-stream URL N      # a generator: memory must stay flat
    python benchmarks/scenarios.py frame URL N FORMAT      # df.to_ngsiem() of an N-row frame
    python benchmarks/scenarios.py hecnb-file URL PATH raw|event
    python benchmarks/scenarios.py falconpy-file URL PATH

Each prints one JSON line: the events sent and the seconds the send itself took (the process
start, imports and building the input are outside that figure but inside /usr/bin/time's).
The suite (``suite.py``) starts the emulators and runs these.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from _common import KEY, falconpy_at


def small_event(i: int) -> dict[str, Any]:
    """A small authentication event (about 200 bytes as an envelope), as in a SIEM."""
    return {"host": f"host-{i % 50}", "user": f"user{i % 300}", "action": "login",
            "outcome": "failure", "src_ip": f"203.0.113.{i % 250}",
            "message": f"Failed password for user{i % 300} from 203.0.113.{i % 250} port "
                       f"{1024 + i % 60000} ssh2", "fields": {"#source": "bench"}}


def events(n: int) -> list[dict[str, Any]]:
    return [small_event(i) for i in range(n)]


def stream(n: int) -> Iterator[dict[str, Any]]:
    return (small_event(i) for i in range(n))


EXTRA: dict[str, Any] = {}  # more figures for the JSON line


def hecnb_list(url: str, n: int, threads: int | None = None, compress: bool = True,
               in_flight: int | None = None) -> tuple[int, float]:
    from hecnb import HEC

    data = events(n)
    # defaults (unless told): progress, retries, reporting and gzip on, CPUs x 2 threads,
    # up to 16 requests in flight
    more = {"max_in_flight": in_flight} if in_flight else {}
    with HEC(api_key=KEY, ingest_url=url, thread_count=threads, compress=compress,
             **more) as hec:
        t0 = time.perf_counter()
        delivered = hec.send_event_list(data, show_progress=True)
        elapsed = time.perf_counter() - t0
    assert delivered == n, hec.last_report
    EXTRA["in_flight_peak"] = hec.last_report.in_flight_peak
    return n, elapsed


def hecnb_stream(url: str, n: int) -> tuple[int, float]:
    from hecnb import HEC

    with HEC(api_key=KEY, ingest_url=url) as hec:
        t0 = time.perf_counter()
        report = hec.send(stream(n), show_progress=True, total=n)
        elapsed = time.perf_counter() - t0
    assert report.ok and report.delivered == n, report
    return n, elapsed


def falconpy_list(url: str, n: int) -> tuple[int, float]:
    data = events(n)
    with falconpy_at(url) as hec:
        t0 = time.perf_counter()
        delivered = hec.send_event_list(data)
        elapsed = time.perf_counter() - t0
    assert delivered == n
    return n, elapsed


def hand_loop(url: str, n: int) -> tuple[int, float]:
    """The minimal loop: orjson-encode events into 1 MiB bodies, POST them one after another
    on one keep-alive httpx client. No threads, no gzip, no retries, no progress, no report.

    The bodies are byte for byte what hecnb (and FalconPy) send for these events: the event
    with a nanosecond ``timestamp`` and ``timeunit`` first, and ``fields`` beside it; so the
    ratio compares the sending, not the size of what is sent. Its time includes making its
    client (TLS context, connection pool), as hecnb's includes making its own."""
    import httpx
    import orjson

    data = events(n)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    limit = 1024 * 1024
    t0 = time.perf_counter()  # like hecnb's figure, this includes making the client
    with httpx.Client() as client:
        parts: list[bytes] = []
        size = 0
        now = time.time_ns
        for evt in data:
            body = {"timestamp": now(), "timeunit": "nanoseconds"}
            body.update(evt)
            fields = body.pop("fields")
            b = orjson.dumps({"event": body, "fields": fields}, option=orjson.OPT_APPEND_NEWLINE)
            if size + len(b) > limit and parts:
                client.post(url, content=b"".join(parts), headers=headers).raise_for_status()
                parts, size = [], 0
            parts.append(b)
            size += len(b)
        if parts:
            client.post(url, content=b"".join(parts), headers=headers).raise_for_status()
        elapsed = time.perf_counter() - t0
    return n, elapsed


def frame(url: str, n: int, fmt: str) -> tuple[int, float]:
    import numpy as np
    import pandas as pd

    import hecnb

    rng = np.random.default_rng(7)
    latency = rng.gamma(2.0, 40.0, n)
    latency[rng.random(n) < 0.1] = np.nan
    df = pd.DataFrame({
        "ts": pd.Timestamp("2026-11-02T08:00:00Z") + pd.to_timedelta(np.arange(n) * 37,
                                                                       unit="ms"),
        "user": pd.Series(rng.choice(["alice", "bob", "carol", "dave", None], n), dtype=object),
        "src_ip": [f"10.0.{i % 256}.{i % 199}" for i in range(n)],
        "action": rng.choice(["login", "logout", "sudo"], n),
        "status": rng.choice([200, 401, 403], n),
        "bytes": rng.integers(0, 1 << 20, n),
        "latency_ms": latency,
        "message": rng.choice(["Accepted publickey", "Failed password", "session closed"], n),
    })
    hec = hecnb.HEC(api_key=KEY, ingest_url=url)
    import gc

    gc.collect()
    sampler = RssSampler()
    t0 = time.perf_counter()
    with sampler:
        report = df.to_ngsiem(hec, ingest_format=fmt, host="bench", timestamp_column="ts",
                              show_progress=True)
    elapsed = time.perf_counter() - t0
    hec.close()
    assert report.ok and report.delivered == n, report
    EXTRA["frame_mb"] = round(df.memory_usage(deep=True).sum() / 2**20, 1)
    EXTRA["rss_before_mb"] = round(sampler.before / 2**20, 1)
    EXTRA["send_added_mb"] = round((sampler.peak - sampler.before) / 2**20, 1)
    return n, elapsed


def _rss() -> int:
    """This process's resident set now, in bytes (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSampler:
    """The peak resident set while the ``with`` block runs, sampled every 5 ms on a thread
    (ru_maxrss would include the frame's own construction)."""

    def __init__(self) -> None:
        self.before = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> RssSampler:
        self.before = self.peak = _rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def hecnb_file(url: str, path: str, mode: str) -> tuple[int, float]:
    from hecnb import HEC

    with HEC(api_key=KEY, ingest_url=url, raw_ingest=(mode == "raw")) as hec:
        t0 = time.perf_counter()
        report = hec.send_file(path, show_progress=False)
        elapsed = time.perf_counter() - t0
    assert report.ok, report
    return report.delivered, elapsed


def falconpy_file(url: str, path: str) -> tuple[int, float]:
    with falconpy_at(url, raw_ingest=True) as hec:
        t0 = time.perf_counter()
        status = hec.send_event_file(path)
        elapsed = time.perf_counter() - t0
    assert status == 200, status
    with open(path, "rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
    return lines, elapsed


def main(argv: list[str]) -> None:
    name, url, *rest = argv
    if name == "hecnb-list":  # N [THREADS|default] [gzip|plain] [IN_FLIGHT]
        threads = int(rest[1]) if len(rest) > 1 and rest[1] != "default" else None
        in_flight = int(rest[3]) if len(rest) > 3 else None
        n, s = hecnb_list(url, int(rest[0]), threads, rest[2] != "plain" if len(rest) > 2
                          else True, in_flight)
    elif name == "hecnb-stream":
        n, s = hecnb_stream(url, int(rest[0]))
    elif name == "falconpy-list":
        n, s = falconpy_list(url, int(rest[0]))
    elif name == "hand-loop":
        n, s = hand_loop(url, int(rest[0]))
    elif name == "frame":
        n, s = frame(url, int(rest[0]), rest[1])
    elif name == "hecnb-file":
        n, s = hecnb_file(url, rest[0], rest[1])
    elif name == "falconpy-file":
        n, s = falconpy_file(url, rest[0])
    else:
        raise SystemExit(f"unknown scenario {name!r}")
    print(json.dumps({"scenario": name, "events": n, "seconds": s, "events_per_s": n / s,
                      **EXTRA}))


if __name__ == "__main__":
    main(sys.argv[1:])
