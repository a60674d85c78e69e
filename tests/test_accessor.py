"""``df.to_ngsiem``: one call to send a frame, previews of the exact text, no side effects."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import orjson
import pandas as pd
import pytest
from conftest import KEY

import hecnb
from hecnb import HEC, ConfigError, SendReport, _sender, _session
from hecnb.emulator import Emulator


@pytest.fixture(autouse=True)
def _no_default() -> Iterator[None]:
    _session.set_default(None)
    yield
    _session.set_default(None)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"timestamp": [1, 2, 3, 4], "user": ["alice", "bob", None, "dave"],
                         "n": [1.5, 2.0, None, 4.0]})


def test_import_adds_exactly_one_name_to_dataframe() -> None:
    code = ("import pandas as pd; before = set(dir(pd.DataFrame)); import hecnb; "
            "print(sorted(set(dir(pd.DataFrame)) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['to_ngsiem']"


def test_send_with_a_client_and_nothing_written_to_the_frame(frame: pd.DataFrame,
                                                             emu: Emulator) -> None:
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        report = frame.to_ngsiem(hec, host="nb-01", show_progress=False)
    assert isinstance(report, SendReport) and report.ok and report.delivered == 4
    assert emu.wait_for(4)
    events = sorted((e["event"] for e in emu.events), key=lambda e: e["timestamp"])
    assert [e["timestamp"] for e in events] == [1, 2, 3, 4]
    assert events[0] == {"host": "nb-01", "timestamp": 1, "timeunit": "nanoseconds",
                         "user": "alice", "n": 1.5}
    assert "user" not in events[2] and "n" not in events[2]
    assert frame.attrs == {} and list(frame.columns) == ["timestamp", "user", "n"]


def test_session_default_and_format_per_call(frame: pd.DataFrame, emu: Emulator) -> None:
    hecnb.configure(api_key=KEY, ingest_url=emu.url)
    report = frame.to_ngsiem(ingest_format="csv", show_progress=False)
    assert report.delivered == 4 and report.ingest_format == "csv" and emu.wait_for(4)
    assert sorted(e["event"]["timestamp"] for e in emu.events) == ["1", "2", "3", "4"]


def test_without_a_client_the_error_says_how_to_configure(frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"hecnb\.configure\(api_key=\.\.\., ingest_url"):
        frame.to_ngsiem()


def test_empty_frame_makes_no_request(emu: Emulator) -> None:
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        report = pd.DataFrame({"a": []}).to_ngsiem(hec, ingest_format="xml")
    assert report.total == 0 and report.delivered == 0 and not report.failed
    assert report.batches == [] and emu.stats["requests"] == 0


def test_unknown_option_lists_the_allowed_ones(frame: pd.DataFrame, emu: Emulator) -> None:
    with HEC(api_key=KEY, ingest_url=emu.url) as hec, pytest.raises(
            ConfigError, match=r"hots.*Allowed options: host, timestamp_column"):
        frame.to_ngsiem(hec, hots="x")
    assert emu.stats["requests"] == 0


def test_progress_defaults_to_automatic(frame: pd.DataFrame, emu: Emulator,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real = _sender._progress

    def spy(show: bool | None, total: int | None) -> Any:
        seen.append(show)
        return real(False, total)

    monkeypatch.setattr(_sender, "_progress", spy)
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        frame.to_ngsiem(hec)
        frame.to_ngsiem(hec, show_progress=False)
    assert seen == [None, False]  # None: on in notebooks and terminals (see _sender)


def test_preview_is_the_exact_text_of_one_request(frame: pd.DataFrame) -> None:
    text = frame.to_ngsiem.preview(2)
    assert text == hecnb.encode(frame.head(2))[0].decode()
    assert [orjson.loads(x)["event"]["user"] for x in text.splitlines()] == ["alice", "bob"]
    csv_text = frame.to_ngsiem.preview(ingest_format="csv", host="h")
    assert csv_text.splitlines()[0] == '"host","timestamp","timeunit","user","n"'
    assert len(csv_text.splitlines()) == 4
    xml_text = frame.to_ngsiem.preview(1, "xml", raw_ingest=True)
    assert xml_text.count("<event>") == 1 and not xml_text.startswith("<?xml")
    assert frame.to_ngsiem.preview(0) == ""


def test_preview_follows_the_session_default(frame: pd.DataFrame, emu: Emulator) -> None:
    hecnb.configure(api_key=KEY, ingest_url=emu.url, ingest_format="yaml",
                    ingest_timeunit="seconds")
    assert frame.to_ngsiem.preview(1).startswith('--- {"timestamp":1,"timeunit":"seconds"')


def test_events_one_per_row(frame: pd.DataFrame) -> None:
    events = frame.to_ngsiem.events()
    assert len(events) == 4 and all(isinstance(e, bytes) for e in events)
    assert events == hecnb.to_events(frame)
    assert frame.to_ngsiem.events("csv")[0] == b'1,"nanoseconds","alice",1.5\r\n'
    assert frame.attrs == {}
