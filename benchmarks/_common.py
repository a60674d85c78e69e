"""What the benchmark scripts share: the key, a free port, an emulator in its own process, and
FalconPy pointed at it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import httpx

KEY = "bench-key-0123456789abcdef"


def free_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator(delay: float = 0.0, **faults: float) -> tuple[subprocess.Popen[bytes], str]:
    """An emulator in its own process (no GIL shared with the client) that counts but does not
    keep events; returns the process and its event URL once it answers. ``faults`` are more
    ``hecnb.emulator.Faults`` knobs (``rate_limit``, ``bandwidth``, ...)."""
    port = free_port()
    knobs = ", ".join(f"{k}={v!r}" for k, v in {"delay": delay, **faults}.items())
    code = ("import threading; from hecnb.emulator import Emulator, Faults; "
            f"Emulator(port={port}, api_key={KEY!r}, keep_events=False, "
            f"max_body_bytes=64 * 1024 * 1024, faults=Faults({knobs})).start(); "
            "threading.Event().wait()")
    proc = subprocess.Popen([sys.executable, "-c", code])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/services/collector/health").status_code == 200:
                return proc, base + "/services/collector"
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("emulator did not start")


def falconpy_at(url: str, **kwargs: Any) -> Any:
    """A FalconPy HEC sending to ``url``: it builds its URL from the key, so override it."""
    from falconpy import HEC as FalconHEC

    class LocalHEC(FalconHEC):
        @property
        def ingest_url(self) -> str:
            return url

    return LocalHEC(api_key=KEY, api_url_key="local", **kwargs)
