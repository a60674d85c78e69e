"""One whole session with a recognisable key: the key must appear in none of its output.

Debug logging to a file, a failed send, an exception and its traceback, reprs, the progress bar,
the report's text and HTML, a dead-letter file, the CLI, a saved profile, and a saved notebook
with the config panel's widget state. The session runs twice: against the emulator, and against
a collector that echoes the request's headers (the key among them) in every answer's body,
headers and reason phrase.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from hostile import HostileServer, Reply, Request, hec

import hecnb
from hecnb import HEC, ConfigError, HecInsecureWarning
from hecnb.emulator import Emulator, Faults

SECRET = "SeCrEt-" + "7f3a9c1e5b" * 3 + "-ZZQX"  # recognisable, and unlike anything else


class _EmulatorCollector:
    """The polite collector: the emulator, made to fail with 503 on demand."""

    def __init__(self) -> None:
        self.emu = Emulator(api_key=SECRET).start()
        self.url = self.emu.url

    def failing(self, on: bool) -> None:
        self.emu.faults = Faults(error_503_rate=1.0) if on else Faults()

    def stop(self) -> None:
        self.emu.stop()


class _EchoCollector:
    """A collector that repeats every request header back (the key among them): in the body's
    text, its base64, a header of the answer and the reason phrase; 403 for another key."""

    def __init__(self) -> None:
        self._fail = False
        self.server = HostileServer(self._answer).start()
        self.url = self.server.url

    def _answer(self, request: Request) -> Reply:
        auth = request.headers.get("authorization", "")
        echo = (f"you sent {auth} ({base64.b64encode(auth.encode()).decode()}); headers: "
                f"{request.headers}")
        if self._fail:
            status, code = 503, 9
        elif auth != f"Bearer {SECRET}":
            status, code = 403, 4
        else:
            status, code = 200, 0
        reply = hec(status, echo, code)
        reply.headers = [("Content-Type", "application/json"), ("X-Echo", auth)]
        reply.reason = f"Echo {auth}"
        return reply

    def failing(self, on: bool) -> None:
        self._fail = on

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(params=["emulator", "echoing collector"])
def collector(request: pytest.FixtureRequest) -> Iterator[_EmulatorCollector | _EchoCollector]:
    c = _EmulatorCollector() if request.param == "emulator" else _EchoCollector()
    try:
        yield c
    finally:
        c.stop()


def test_the_key_appears_in_no_output_of_a_whole_session(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capfd: pytest.CaptureFixture,
                                                         collector: _EchoCollector) -> None:
    monkeypatch.setenv("HECNB_CONFIG_DIR", str(tmp_path / "config"))
    seen: list[str] = []

    logfile = tmp_path / "debug.log"
    handler = logging.FileHandler(logfile)
    logger = logging.getLogger("hecnb")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    root = logging.getLogger()  # httpx and httpcore log what the collector sent, too
    root.addHandler(handler)
    root_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        emu = collector
        # debug logging, a good send with a progress bar, reprs, report text and HTML
        hec = HEC(api_key=SECRET, ingest_url=emu.url, debug=True, sanitize_log=False)
        report = hec.send([{"n": i} for i in range(2000)], show_progress=True)
        seen += [repr(hec), str(hec), repr(hec.hec_headers), str(hec.hec_headers),
                 repr(hec.ingest_config), repr(hec.session_manager), str(report),
                 repr(report), report._repr_html_(), json.dumps(report.to_dict())]
        assert hec.hec_headers["Authorization"].endswith(SECRET)  # code can still use it

        # a failed send, its report, a dead letter
        collector.failing(True)
        hec.retry_count = 0
        failed = hec.send([{"n": -1}])
        dead = tmp_path / "dead.ndjson"
        failed.write_dead_letter(dead)
        seen += [str(failed), failed._repr_html_(), dead.read_text(),
                 repr(failed.failed), failed.failed_frame().to_string(),
                 str(hec.last_message)]
        collector.failing(False)

        # a rejected key (403), the connection check
        wrong = HEC(api_key=SECRET + "x", ingest_url=emu.url)
        seen += [str(wrong.check_connection()), str(wrong.last_message),
                 str(wrong.send([{"a": 1}])), str(wrong.last_message)]

        # exceptions and their tracebacks
        for bad in ({"ingest_url": "http://10.9.8.7/services/collector"},
                    {"ingest_region": "nowhere"}, {"ingest_regoin": "us1"}):
            with pytest.raises(ConfigError) as err:
                HEC(api_key=SECRET, **bad)
            seen.append("".join(traceback.format_exception(err.value)))
        with pytest.raises(hecnb.ConversionError) as conv:
            hec.send([{"a": 1}, 42])
        seen.append("".join(traceback.format_exception(conv.value)))
        with pytest.warns(HecInsecureWarning) as warned:
            HEC(api_key=SECRET, api_url_key="abc", verify=False)
        seen += [str(w.message) for w in warned]

        # the config panel: apply, test, save a profile, save the notebook's widget state
        from ipywidgets import Widget

        panel = hecnb.ConfigPanel()
        panel.url.value = emu.url
        panel.api_key.set_state({"value": SECRET})  # as the browser sends it
        panel.test_connection()
        panel.apply()
        monkeypatch.setenv("HECNB_TEST_KEY", SECRET)
        panel.key_source.value = "env"
        panel.key_env.value = "HECNB_TEST_KEY"
        profile = panel.save_profile("secrets-test")
        nb = nbformat.v4.new_notebook()
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "state": Widget.get_manager_state(drop_defaults=False)["state"],
            "version_major": 2, "version_minor": 0}}
        saved = tmp_path / "panel.ipynb"
        nbformat.write(nb, str(saved))
        seen += [saved.read_text(), repr(panel), Path(profile).read_text()
                 if Path(str(profile)).exists() else str(profile), panel.status.value,
                 panel.key_status.value]
        panel.close()
        hecnb._session.set_default(None)

        # the CLI, with the key in the environment, a good and a failing run
        env = {k: v for k, v in os.environ.items() if not k.startswith("NGSIEM_")}
        env["NGSIEM_API_KEY"] = SECRET
        src = tmp_path / "events.ndjson"
        src.write_text('{"a": 1}\nnot json\n')
        for args in (["send", str(src), "--url", emu.url, "--debug", "--dead-letter",
                      str(tmp_path / "cli-dead.ndjson")],
                     ["test-connection", "--url", emu.url]):
            out = subprocess.run([sys.executable, "-m", "hecnb.cli", *args], env=env,
                                 capture_output=True, text=True, timeout=60,
                                 stdin=subprocess.DEVNULL)
            seen += [out.stdout, out.stderr]
        seen.append((tmp_path / "cli-dead.ndjson").read_text())
        hec.close()
    finally:
        logger.removeHandler(handler)
        root.removeHandler(handler)
        root.setLevel(root_level)
        handler.close()
        logger.setLevel(logging.NOTSET)

    captured = capfd.readouterr()
    seen += [captured.out, captured.err, logfile.read_text()]
    assert "STATUS CODE: 200" in logfile.read_text()  # the log was really written
    assert "hecnb" in captured.err  # the progress bar really drew
    forms = [SECRET, base64.b64encode(SECRET.encode()).decode()[:-4],
             base64.b64encode(f"Bearer {SECRET}".encode()).decode()[:-4]]
    for i, text in enumerate(seen):
        for form in forms:
            assert form not in text, f"the key leaked into output #{i}: {text[:200]!r}"
    assert len(seen) > 30


def test_tls_off_warns_once_per_client_not_per_request(tmp_path: Path) -> None:
    import warnings

    with Emulator(api_key=SECRET) as emu, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hec = HEC(api_key=SECRET, ingest_url=emu.url, verify=False, batch_max_events=10)
        hec.send([{"n": i} for i in range(100)])  # ten requests
    insecure = [w for w in caught if issubclass(w.category, HecInsecureWarning)]
    assert len(insecure) == 1
    assert HEC(api_key=SECRET, api_url_key="abc").verify is True


def test_the_engines_per_run_state_shows_no_key() -> None:
    # what every request of a run shares (headers included) may end up in a debugger or a
    # traceback's repr: the key must not be in it
    from hecnb._send.request import _Send

    emu = Emulator(api_key=SECRET).start()
    hec = HEC(api_key=SECRET, ingest_url=emu.url)
    engine = hec.session_manager.engine
    seen: list[str] = []
    original = engine._deliver

    async def spy(batch, send):  # type: ignore[no-untyped-def]
        assert isinstance(send, _Send)
        seen.append(repr(send))
        return await original(batch, send)

    engine._deliver = spy  # type: ignore[method-assign]
    assert hec.send_event_list([{"a": 1}]) == 1
    hec.close()
    emu.stop()
    assert seen and all(SECRET not in text for text in seen)
