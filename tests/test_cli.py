"""The ``hecnb`` command, run as a real process against the emulator."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import orjson
from conftest import KEY

from hecnb.emulator import Emulator


def hecnb(*args: str, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NGSIEM_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "hecnb.cli", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)


def test_demo_delivers_every_event() -> None:
    out = hecnb("demo", "--events", "20000", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "20,000 of 20,000 events delivered" in out.stdout
    assert "0 missing, 0 duplicates" in out.stdout
    assert "hecnb demo: OK" in out.stdout


def test_demo_raw() -> None:
    out = hecnb("demo", "--events", "3000", "--no-progress", "--raw")
    assert out.returncode == 0, out.stderr


def test_send_file_with_key_from_env(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson.gz"
    path.write_bytes(gzip.compress(b"".join(orjson.dumps({"n": i}) + b"\n" for i in range(500))))
    out = hecnb("send", str(path), "--url", emu.url, "--no-progress",
                env={"NGSIEM_API_KEY": KEY})
    assert out.returncode == 0, out.stderr
    assert "500 of 500 events delivered" in out.stdout
    assert sorted(e["event"]["n"] for e in emu.events) == list(range(500))
    assert KEY not in out.stdout + out.stderr


def test_send_reports_failures_with_exit_1(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_text('{"a": 1}\nnope\n')
    out = hecnb("send", str(path), "--url", emu.url, "--no-progress",
                env={"NGSIEM_API_KEY": KEY})
    assert out.returncode == 1
    assert "  line 2: invalid JSON (" in out.stderr and "(--raw)" in out.stderr
    assert "line 2: line 2" not in out.stderr  # the line is named once
    assert "1 request," in out.stdout and "event time: no time field found" in out.stdout


def test_send_without_key_is_a_usage_error(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_text('{"a": 1}\n')
    out = hecnb("send", str(path), "--url", emu.url)
    assert out.returncode == 2 and "NGSIEM_API_KEY" in out.stderr
    assert "Traceback" not in out.stderr


def test_send_missing_file(emu: Emulator) -> None:
    out = hecnb("send", "/nonexistent/file.json", "--url", emu.url, env={"NGSIEM_API_KEY": KEY})
    assert out.returncode == 2 and "No such event file" in out.stderr


def test_send_bad_region_names_the_choices() -> None:
    out = hecnb("send", "x.json", "--url-key", "abc", "--region", "moon",
                env={"NGSIEM_API_KEY": KEY})
    assert out.returncode == 2 and "us1, us2, us3, eu1, usgov1, usgov2" in out.stderr


def test_test_connection(emu: Emulator) -> None:
    ok = hecnb("test-connection", "--url", emu.url, env={"NGSIEM_API_KEY": KEY})
    assert ok.returncode == 0 and "Connected" in ok.stdout
    bad = hecnb("test-connection", "--url", emu.url, env={"NGSIEM_API_KEY": "wrong-key-12345678"})
    assert bad.returncode == 1 and "403" in bad.stdout
    assert "wrong-key-12345678" not in bad.stdout + bad.stderr


def test_emulate_serves_until_interrupted(free_port: int) -> None:
    import signal
    import time

    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "hecnb.cli", "emulate", "--port",
                             str(free_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        url = f"http://127.0.0.1:{free_port}/services/collector"
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.post(url, content=b'{"event": "x"}',
                               headers={"Authorization": "Bearer k"})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert str(free_port) in out + err


def test_cli_in_a_kernel_uses_the_session_default(emu: Emulator, tmp_path: Path,
                                                  capsys) -> None:
    """After the panel's Apply (or hecnb.configure), hecnb.cli.main() needs no destination."""
    from hecnb import _session, configure
    from hecnb.cli import main

    path = tmp_path / "e.ndjson"
    path.write_text('{"n": 1}\n{"n": 2}\n')
    configure(api_key=KEY, ingest_url=emu.url)
    try:
        assert main(["test-connection"]) == 0
        assert main(["send", str(path), "--no-progress"]) == 0
    finally:
        _session.set_default(None)
    assert "2 of 2 events delivered" in capsys.readouterr().out
    assert [e["event"]["n"] for e in emu.events if "n" in e["event"]] == [1, 2]
