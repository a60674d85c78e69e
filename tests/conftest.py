"""Shared fixtures: a real emulator on 127.0.0.1 (port 0), torn down after each test, and a
misbehaving server (``tests/hostile.py``) that answers whatever a test tells it to."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import HostileServer

from hecnb.emulator import Emulator

KEY = "test-key-0123456789abcdefXYZW"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_ngsiem_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real credentials from the environment."""
    for var in ("NGSIEM_API_KEY", "NGSIEM_URL_KEY", "NGSIEM_REGION", "NGSIEM_INGEST_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """An emulator that accepts only ``KEY``."""
    with Emulator(api_key=KEY) as e:
        yield e


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A HostileServer on 127.0.0.1 (port 0); set ``.handler`` to script its answers."""
    with HostileServer() as server:
        yield server


@pytest.fixture
def free_port() -> int:
    """A loopback port with nothing listening, free for the test to start a server on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: A loopback address of its own for ``closed_port``: no test's server or client uses it, so no
#: connection of an earlier test (in TIME_WAIT) can share the address and port of the refusal.
CLOSED_HOST = "127.0.0.53"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (for 'connection refused'): kept bound, never
    listening, while the test runs, so that no other server can take it meanwhile and no
    client's own source port can be it (a TCP self-connect)."""
    with socket.socket() as s:
        s.bind((CLOSED_HOST, 0))
        yield s.getsockname()[1]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
