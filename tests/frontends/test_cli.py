"""The ``hecnb`` command, run as a real process against the emulator."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
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


@pytest.mark.parametrize(("text", "rate"), [
    ("1000000", 1e6), ("1e6", 1e6), ("100Mbit", 12.5e6), ("12.5MB", 12.5e6), ("512kbit", 64e3),
    ("10 mbit/s", 1.25e6), ("5Mbps", 625e3), ("5MB/s", 5e6)])
def test_emulate_rates_take_units(text: str, rate: float) -> None:
    from hecnb.cli import _rate

    assert _rate(text) == pytest.approx(rate)


def test_emulate_network_knobs_reach_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    from hecnb import cli, emulator

    seen: dict[str, Any] = {}
    monkeypatch.setattr(emulator, "serve", lambda **kw: seen.update(kw))
    assert cli.main(["emulate", "--rate-limit", "10000", "--rate-limit-bytes", "5MB",
                     "--rate-burst", "2", "--bandwidth", "100Mbit", "--delay", "0.05"]) == 0
    faults = seen["faults"]
    assert (faults.rate_limit, faults.rate_limit_bytes, faults.rate_burst, faults.bandwidth,
            faults.delay) == (10000, 5e6, 2, 12.5e6, 0.05)
    bad = subprocess.run([sys.executable, "-m", "hecnb.cli", "emulate", "--bandwidth", "fast"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "100Mbit" in bad.stderr


def _at_a_terminal(args: list[str], keys: bytes, timeout: float = 60) -> tuple[int, str]:
    """Run ``hecnb ARGS`` on a pseudo-terminal (so the hidden key prompt appears), type
    ``keys`` once it asks, and return the exit status and everything it printed."""
    import pty
    import select

    env = {k: v for k, v in os.environ.items() if not k.startswith("NGSIEM_")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command, with the pty as its terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "hecnb.cli", *args], env)
    out = b""
    typed = False
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise AssertionError(f"no output within {timeout} s: {out!r}")
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed its terminal: it has ended
                break
            if not chunk:
                break
            out += chunk
            if not typed and b"API key" in out:
                os.write(fd, keys)
                typed = True
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_key_prompt_ctrl_d_and_empty_key_say_what_to_do(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_text('{"a": 1}\n')
    code, out = _at_a_terminal(["send", str(path), "--url", emu.url], b"\x04")
    assert code == 2 and "Traceback" not in out and "EOFError" not in out
    assert "No API key entered" in out and "NGSIEM_API_KEY" in out
    code, out = _at_a_terminal(["send", str(path), "--url", emu.url], b"\r")
    assert code == 2 and "Traceback" not in out
    assert "The API key entered is empty" in out and "api_key" not in out  # no such option
    assert emu.stats["requests"] == 0


def test_send_help_describes_every_option() -> None:
    out = hecnb("send", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    for option, words in (("--timeunit NAME", "nanoseconds milliseconds seconds (ns ms s) "
                                               "(default: nanoseconds)"),
                          ("--retries N", "retries after the first attempt"),
                          ("--batch-bytes BYTES", "most bytes per request"),
                          ("--batch-events N", "most events per request"),
                          ("--time-column NAME", "auto (default"),
                          ("--no-hec-time", "top-level time")):
        assert option in text and words in text, option
    from hecnb.cli import _parser

    send = next(a for a in _parser()._actions if a.dest == "command").choices["send"]
    assert all(a.help for a in send._actions if a.dest != "help"), "an option has no help"


def test_send_time_column_options(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "z.ndjson"
    path.write_text('{"ts": 1693958400.5, "when": "2024-01-01T00:00:00Z"}\n')
    env = {"NGSIEM_API_KEY": KEY}
    auto = hecnb("send", str(path), "--url", emu.url, "--no-progress", env=env)
    assert auto.returncode == 0 and "event time from 'ts'" in auto.stdout
    named = hecnb("send", str(path), "--url", emu.url, "--no-progress", "--time-column",
                  "when", "--no-hec-time", env=env)
    assert named.returncode == 0 and "event time from 'when'" in named.stdout
    none = hecnb("send", str(path), "--url", emu.url, "--no-progress", "--time-column",
                 "none", env=env)
    assert none.returncode == 0 and "timestamp_column=None" in none.stdout
    assert emu.wait_for(3)
    got = sorted(emu.events, key=lambda e: e["event"]["timestamp"])
    assert [e["event"]["timestamp"] for e in got[:2]] == [1693958400500000000,
                                                          1704067200000000000]
    assert "time" in got[0] and "time" not in got[1]  # --no-hec-time
