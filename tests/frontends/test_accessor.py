"""``df.to_ngsiem``: one call to send a frame, previews of the exact text, no side effects."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from conftest import KEY
from hostile import HostileServer
from hostile import hec as hec_answer

import hecnb
from hecnb import HEC, ConfigError, SendReport, _session
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
    """No show_progress: a bar where one can be seen (a terminal; a notebook, which the
    magics' tests cover), none in a pipe or a log file; False never draws one."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    drawn = {}
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        for name, stream, show in (("terminal", Terminal(), None), ("pipe", io.StringIO(), None),
                                   ("off", Terminal(), False)):
            monkeypatch.setattr(sys, "stderr", stream)
            kwargs = {} if show is None else {"show_progress": show}
            assert frame.to_ngsiem(hec, **kwargs).delivered == 4
            drawn[name] = stream.getvalue()
    monkeypatch.undo()
    assert "hecnb: 100%" in drawn["terminal"] and "4.00/4.00" in drawn["terminal"]
    assert drawn["pipe"] == "" and drawn["off"] == ""


PREVIEWS = {
    ("json", False): '{"time":1e-9,"event":{"timestamp":1,"timeunit":"nanoseconds","user":"alice",'
                     '"n":1.5}}\n{"time":2e-9,"event":{"timestamp":2,"timeunit":"nanoseconds",'
                     '"user":"bob","n":2.0}}\n',
    ("csv", False): '"host","timestamp","timeunit","user","n"\r\n"h",1,"nanoseconds","alice",1.5'
                    '\r\n"h",2,"nanoseconds","bob",2.0\r\n"h",3,"nanoseconds",,\r\n',
    ("xml", True): "<event><timestamp>1</timestamp><timeunit>nanoseconds</timeunit><user>alice"
                   "</user><n>1.5</n></event>\n",
}


@pytest.mark.parametrize(("n", "fmt", "raw", "options"), [
    (2, "json", False, {}), (3, "csv", False, {"host": "h"}), (1, "xml", True, {})])
def test_preview_is_the_exact_text_of_one_request(frame: pd.DataFrame, hostile: HostileServer,
                                                  n: int, fmt: str, raw: bool,
                                                  options: dict[str, Any]) -> None:
    """The text, written out; and the very body a send of those rows puts on the wire (as
    a collector receives it, gunzipped), on the endpoint the preview is for."""
    text = frame.to_ngsiem.preview(n, fmt, raw_ingest=raw, **options)
    assert text == PREVIEWS[(fmt, raw)]
    hostile.handler = lambda request: hec_answer()
    with HEC(api_key=KEY, ingest_url=hostile.url) as client:
        report = client.send(frame.head(n), ingest_format=fmt, raw_ingest=raw, **options)
    assert report.ok and report.delivered == n and report.requests == 1
    (request,) = hostile.requests
    assert request.body.decode("utf-8") == text
    assert request.path.endswith("/services/collector/raw") == raw
    assert frame.to_ngsiem.preview(0) == ""


def test_preview_follows_the_session_default(frame: pd.DataFrame, emu: Emulator) -> None:
    hecnb.configure(api_key=KEY, ingest_url=emu.url, ingest_format="yaml",
                    ingest_timeunit="seconds")
    assert frame.to_ngsiem.preview(1).startswith('--- {"timestamp":1,"timeunit":"seconds"')


def test_events_one_per_row(frame: pd.DataFrame) -> None:
    events = frame.to_ngsiem.events()
    assert events == [  # the row with nothing but its time keeps only the time (na="drop")
        b'{"time":1e-9,"event":{"timestamp":1,"timeunit":"nanoseconds","user":"alice","n":1.5}}\n',
        b'{"time":2e-9,"event":{"timestamp":2,"timeunit":"nanoseconds","user":"bob","n":2.0}}\n',
        b'{"time":3e-9,"event":{"timestamp":3,"timeunit":"nanoseconds"}}\n',
        b'{"time":4e-9,"event":{"timestamp":4,"timeunit":"nanoseconds","user":"dave","n":4.0}}\n']
    assert frame.to_ngsiem.events(timestamp_column=None, hec_time=False)[2] == (
        b'{"event":{"timestamp":3,"timeunit":"nanoseconds"}}\n')
    assert frame.to_ngsiem.events("csv")[0] == b'1,"nanoseconds","alice",1.5\r\n'
    assert frame.attrs == {}


def test_the_readme_examples_host_value_wins_over_a_host_column(emu: Emulator) -> None:
    """README: ``df.to_ngsiem(host="threat-intel", fields=["TLP"])`` on an export that has a
    ``host`` column: the value passed wins, and the report says so once."""
    iocs = pd.DataFrame({"host": ["mx1", "mx2"], "ioc": ["evil.example", "203.0.113.7"],
                         "TLP": ["amber", "green"]})
    hecnb.configure(api_key=KEY, ingest_url=emu.url)
    report = iocs.to_ngsiem(host="threat-intel", fields=["TLP"], show_progress=False)
    assert report.ok and report.delivered == 2 and emu.wait_for(2)
    assert {e["event"]["host"] for e in emu.events} == {"threat-intel"}
    assert {e["fields"]["TLP"] for e in emu.events} == {"amber", "green"}
    assert list(report.warnings) == ["host='threat-intel' was given, so it replaced the frame's "
                               "'host' column as each event's host"]
    assert str(report).count("replaced the frame's 'host' column") == 1


def test_destination_keywords_make_a_client_for_the_call(frame: pd.DataFrame,
                                                         emu: Emulator) -> None:
    """As ``ddf.to_ngsiem(ingest_url=...)``: HEC keywords are the destination and settings of
    this call (from the session default's, when there is one, key included)."""
    report = frame.to_ngsiem(api_key=KEY, ingest_url=emu.url, batch_max_events=1,
                             show_progress=False)
    assert report.ok and report.requests == 4
    hecnb.configure(api_key=KEY, ingest_url="http://127.0.0.1:9/services/collector")
    again = frame.to_ngsiem(ingest_url=emu.url, show_progress=False)  # the default's key
    assert again.ok and again.requests == 1 and emu.wait_for(8)
    with pytest.raises(ConfigError, match=r"unknown keyword 'ingest_ur'\. Did you mean "
                                          r"'ingest_url'"):
        frame.to_ngsiem(ingest_ur=emu.url)


def test_preview_says_where_the_time_comes_from() -> None:
    frame = pd.DataFrame({"@timestamp": ["2020-09-14T00:44:23.000Z", "2020-09-14T00:44:24Z"],
                          "n": [1, 2]})
    shown = frame.to_ngsiem.preview(1)
    assert shown == ('{"time":1600044263.0,"event":{"timestamp":1600044263000000000,'
                     '"timeunit":"nanoseconds","@timestamp":"2020-09-14T00:44:23.000Z",'
                     '"n":1}}\n')  # print() shows exactly this
    assert shown.event_time == "event time from '@timestamp'" and shown.warnings == ()
    import IPython.lib.pretty

    assert IPython.lib.pretty.pretty(shown).startswith("# Event time from '@timestamp'\n{")
    none = pd.DataFrame({"n": [1]}).to_ngsiem.preview(timestamp_column=None)
    assert "timestamp_column=None" in none.event_time
