"""%%hec_send, %hec_send VAR and %hec_config in a headless IPython shell, against the emulator;
and the cell-body parser (hecnb._source.cells) as a plain function."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from conftest import KEY
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

import hecnb
from hecnb import ConversionError, SendReport, _session
from hecnb._settings.profiles import ConnectionSettings, save_profile
from hecnb._source.cells import parse_cell
from hecnb.emulator import Emulator
from hecnb.magics import HecMagics, parse_assignments


@pytest.fixture(autouse=True)
def _no_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    monkeypatch.setenv("HECNB_CONFIG_DIR", str(tmp_path / "config"))
    _session.set_default(None)
    yield
    _session.set_default(None)


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """A fresh headless shell (no history database) with the extension loaded."""
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.enabled = False
    sh = InteractiveShell.instance(config=config)
    sh.run_line_magic("load_ext", "hecnb.magics")
    yield sh
    sh.run_line_magic("unload_ext", "hecnb.magics")
    InteractiveShell.clear_instance()


@pytest.fixture
def configured(emu: Emulator) -> Emulator:
    _session.configure(api_key=KEY, ingest_url=emu.url)
    return emu


def magics_of(sh: InteractiveShell) -> HecMagics:
    found = [c for c in sh.configurables if isinstance(c, HecMagics)]
    assert len(found) == 1
    return found[0]


def received(emu: Emulator, n: int) -> list[Any]:
    assert emu.wait_for(n)
    return [e.get("event", e.get("raw")) for e in emu.events]


def usage_error(call: Any, *args: Any) -> str:
    """Run a magic that must fail; return its message after checking it is one sentence."""
    with pytest.raises(UsageError) as err:
        call(*args)
    message = str(err.value)
    assert "\n" not in message and message.endswith("."), message
    assert not re.search(r"[.!?] [A-Z]", message), f"more than one sentence: {message}"
    return message


def shown(cap: Any) -> str:
    """All text and HTML a captured cell displayed."""
    parts = [cap.stdout]
    for out in cap.outputs:
        parts += [str(v) for v in out.data.values()]
    return "\n".join(parts)


# ------------------------------------------------------------------------- cell formats


def test_json_object_array_and_lines(shell: InteractiveShell, configured: Emulator) -> None:
    shell.run_cell_magic("hec_send", "", '{"user": "alice", "n": 1}')
    shell.run_cell_magic("hec_send", "", '[{"user": "bob"}, {"user": "carol"}]')
    shell.run_cell_magic("hec_send", "", '{"user": "dave"}\n{"user": "erin", "ok": true}\n')
    events = received(configured, 5)
    assert [e["user"] for e in events] == ["alice", "bob", "carol", "dave", "erin"]
    assert events[0]["n"] == 1 and events[4]["ok"] is True
    report = shell.user_ns["_hec_report"]
    assert isinstance(report, SendReport) and report.ok and report.delivered == 2


def test_yaml_documents(shell: InteractiveShell, configured: Emulator) -> None:
    shell.run_cell_magic("hec_send", "--format yaml",
                         "user: alice\nport: 22\n---\nuser: bob\ntags: [a, b]\n")
    events = received(configured, 2)
    assert events[0]["user"] == "alice" and events[0]["port"] == 22
    assert events[1]["tags"] == ["a", "b"]
    assert shell.user_ns["_hec_report"].ingest_format == "yaml"


def test_csv_values_stay_strings(shell: InteractiveShell, configured: Emulator) -> None:
    shell.run_cell_magic("hec_send", "-f csv", "user, id\nalice, 007\nbob, 42\n")
    events = received(configured, 2)
    assert [(e["user"], e["id"]) for e in events] == [("alice", "007"), ("bob", "42")]
    assert shell.user_ns["_hec_report"].ingest_format == "csv"


def test_xml_events(shell: InteractiveShell, configured: Emulator) -> None:
    shell.run_cell_magic("hec_send", "--format xml",
                         "<events><event><user>alice</user><ip>10.0.0.1</ip></event>"
                         "<event><user>bob</user></event></events>")
    shell.run_cell_magic("hec_send", "--format xml",
                         "<login><user>carol</user></login>\n<login><user>dave</user></login>")
    events = received(configured, 4)
    assert [e["user"] for e in events] == ["alice", "bob", "carol", "dave"]
    assert events[0]["ip"] == "10.0.0.1"


def test_raw_sends_to_the_raw_endpoint(shell: InteractiveShell, configured: Emulator) -> None:
    shell.run_cell_magic("hec_send", "--format text --raw",
                         "Jan 01 sshd[1]: Failed password for root\n\nJan 01 sshd[2]: Accepted\n")
    assert received(configured, 2) == ["Jan 01 sshd[1]: Failed password for root",
                                       "Jan 01 sshd[2]: Accepted"]
    assert configured.stats["by_route"] == {"event": 0, "raw": 2}
    shell.run_cell_magic("hec_send", "--raw", '{"user": "alice"}')
    assert configured.stats["by_route"]["raw"] == 3
    assert shell.user_ns["_hec_report"].raw is True


def test_raw_default_from_the_trait_and_no_raw(shell: InteractiveShell,
                                               configured: Emulator) -> None:
    shell.run_line_magic("config", "HecMagics.raw_ingest = True")
    shell.run_cell_magic("hec_send", "", '{"user": "alice"}')
    shell.run_cell_magic("hec_send", "--no-raw", '{"user": "bob"}')
    assert configured.wait_for(2)
    assert configured.stats["by_route"] == {"event": 1, "raw": 1}


def test_host_option_and_host_trait(shell: InteractiveShell, configured: Emulator) -> None:
    shell.run_cell_magic("hec_send", "--host nb-01", '{"user": "alice"}')
    shell.run_line_magic("hec_config", "host=nb-02")
    shell.run_cell_magic("hec_send", "-f csv", "user\nbob\n")
    events = received(configured, 2)
    assert [e["host"] for e in events] == ["nb-01", "nb-02"]


def test_dry_run_sends_nothing_and_shows_the_body(shell: InteractiveShell,
                                                 configured: Emulator) -> None:
    shell.run_line_magic("config", "HecMagics.preview_rows = 2")
    with capture_output() as cap:
        shell.run_cell_magic("hec_send", "--dry-run -f csv --host fw1",
                             "user,n\nalice,1\nbob,2\ncarol,3\n")
    text = shown(cap)
    assert configured.stats["requests"] == 0 and configured.events == []
    assert "3 events would be sent in 1 request to" in text and configured.url in text
    assert "no time field found" in text  # where the events' time comes from
    assert '"host","timestamp","timeunit","user","n"' in text
    assert '"fw1"' in text and '"alice","1"' in text and '"bob","2"' in text
    assert "carol" not in text  # only preview_rows events are shown
    assert "_hec_report" not in shell.user_ns


def test_dry_run_works_before_any_configuration(shell: InteractiveShell) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("hec_send", "-n --raw", '{"user": "alice"}')
    assert "no destination configured" in shown(cap) and '"user":"alice"' in shown(cap)


# ------------------------------------------------------------------------- %hec_send VAR


def test_send_a_dataframe_a_list_and_a_dict(shell: InteractiveShell,
                                            configured: Emulator) -> None:
    shell.user_ns["df"] = pd.DataFrame({"user": ["alice", "bob"], "n": [1, 2]})
    shell.user_ns["items"] = [{"user": "carol"}]
    shell.user_ns["one"] = {"user": "dave"}
    shell.user_ns["box"] = types.SimpleNamespace(frame=pd.DataFrame({"user": ["erin"]}))
    for line in ("df --host lab", "items", "one", "box.frame"):
        shell.run_line_magic("hec_send", line)
    events = received(configured, 5)
    assert [e["user"] for e in events] == ["alice", "bob", "carol", "dave", "erin"]
    assert events[0]["host"] == "lab" and events[0]["n"] == 1
    assert shell.user_ns["_hec_report"].delivered == 1


def test_send_polars_and_arrow_variables(shell: InteractiveShell, configured: Emulator,
                                         tmp_path: Any) -> None:
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"user": ["heidi"]}), tmp_path / "p.parquet")
    shell.user_ns.update(
        pl_df=pl.DataFrame({"user": ["alice", "bob"], "n": [1, 2]}),
        lazy=pl.DataFrame({"user": ["carol"]}).lazy(),
        table=pa.table({"user": ["dave"]}),
        batch=pa.record_batch({"user": ["erin"]}),
        reader=pa.RecordBatchReader.from_batches(
            pa.schema([("user", pa.string())]), [pa.record_batch({"user": ["frank", "grace"]})]),
        parquet=hecnb.read_parquet(tmp_path / "p.parquet"))
    for line in ("pl_df --host lab", "lazy", "table", "batch", "reader", "parquet"):
        shell.run_line_magic("hec_send", line)
    events = received(configured, 8)
    assert [e["user"] for e in events] == ["alice", "bob", "carol", "dave", "erin", "frank",
                                           "grace", "heidi"]
    assert events[0]["host"] == "lab" and events[0]["n"] == 1


def test_a_dry_run_does_not_use_up_a_one_shot_reader(shell: InteractiveShell,
                                                     configured: Emulator) -> None:
    import pyarrow as pa

    shell.user_ns["reader"] = pa.RecordBatchReader.from_batches(
        pa.schema([("user", pa.string())]), [pa.record_batch({"user": ["alice"]})])
    with pytest.raises(UsageError, match="read only once"):
        shell.run_line_magic("hec_send", "reader --dry-run")
    shell.run_line_magic("hec_send", "reader")  # still whole
    assert [e["user"] for e in received(configured, 1)] == ["alice"]


def test_format_option_for_a_variable(shell: InteractiveShell, configured: Emulator) -> None:
    shell.user_ns["df"] = pd.DataFrame({"user": ["alice"], "n": [1]})
    shell.run_line_magic("hec_send", "df --format xml --out sent")
    assert shell.user_ns["sent"].ingest_format == "xml" and "_hec_report" not in shell.user_ns
    assert received(configured, 1)[0]["n"] == "1"  # xml carries text


def test_report_is_shown_and_kept(shell: InteractiveShell, configured: Emulator) -> None:
    with capture_output() as cap:
        shell.run_cell_magic("hec_send", "", '{"user": "alice"}')
    html = [o.data["text/html"] for o in cap.outputs if "text/html" in o.data]
    assert html and "hecnb SendReport: ok" in html[0]
    assert shell.user_ns["_hec_report"].delivered == 1
    shell.run_line_magic("config", "HecMagics.report_variable = 'last'")
    shell.run_cell_magic("hec_send", "", '{"user": "bob"}')
    assert shell.user_ns["last"].delivered == 1


def test_config_ingest_format_takes_effect(shell: InteractiveShell,
                                           configured: Emulator) -> None:
    shell.run_line_magic("config", "HecMagics.ingest_format = 'csv'")
    assert magics_of(shell).ingest_format == "csv"
    shell.run_cell_magic("hec_send", "", "user,n\nalice,1\n")
    assert shell.user_ns["_hec_report"].ingest_format == "csv"
    event = received(configured, 1)[0]
    assert (event["user"], event["n"]) == ("alice", "1")
    shell.run_line_magic("config", "HecMagics.ingest_format = 'toml'")  # refused, logged
    assert magics_of(shell).ingest_format == "csv"


# ------------------------------------------------------------------------------- mistakes


def test_unknown_option(shell: InteractiveShell, configured: Emulator) -> None:
    message = usage_error(shell.run_cell_magic, "hec_send", "--bogus", '{"a": 1}')
    assert "unrecognized arguments: --bogus" in message
    message = usage_error(shell.run_cell_magic, "hec_send", "--format toml", '{"a": 1}')
    assert "invalid choice: 'toml'" in message
    assert configured.stats["requests"] == 0


@pytest.mark.parametrize(("fmt", "body", "expected"), [
    ("json", '{"a": 1}\n{"a": 2,}', "not valid JSON at line 2, column 9"),
    ("json", "[1, 2]", "is a number, not an object"),
    ("yaml", "a: [1\nb: 2", "not valid YAML at line 2"),
    ("csv", "user,n\nalice,1,2", "CSV line 2 has 3 values but the header has 2 columns"),
    ("xml", "<events><event><a>1</a></events>", "not valid XML at line 1"),
    ("json", "   \n", "The cell is empty"),
])
def test_malformed_cell(shell: InteractiveShell, configured: Emulator, fmt: str, body: str,
                        expected: str) -> None:
    message = usage_error(shell.run_cell_magic, "hec_send", f"--format {fmt}", body)
    assert expected in message
    assert configured.stats["requests"] == 0


def test_no_configuration(shell: InteractiveShell) -> None:
    message = usage_error(shell.run_cell_magic, "hec_send", "", '{"a": 1}')
    assert message.startswith("No HEC connection is configured") and "%hec_config" in message


def test_missing_or_unsuitable_variable(shell: InteractiveShell, configured: Emulator) -> None:
    assert "No variable named 'nope'" in usage_error(shell.run_line_magic, "hec_send", "nope")
    shell.user_ns["n"] = 42
    assert "'n' is a int" in usage_error(shell.run_line_magic, "hec_send", "n")
    assert "needs the name" in usage_error(shell.run_line_magic, "hec_send", "")
    shell.user_ns["df"] = pd.DataFrame({"a": [1]})
    assert "takes no variable" in usage_error(shell.run_cell_magic, "hec_send", "df", "{}")
    assert "for cell bodies" in usage_error(shell.run_line_magic, "hec_send", "df -f text")
    assert configured.stats["requests"] == 0


def test_usage_error_shows_one_line_and_no_traceback(shell: InteractiveShell,
                                                     configured: Emulator) -> None:
    with capture_output() as cap:
        result = shell.run_cell('%%hec_send --format csv\nuser,n\nalice,1,2\n')
    assert isinstance(result.error_in_exec, UsageError)
    assert "Traceback" not in cap.stdout + cap.stderr
    assert cap.stderr.strip().splitlines() == [
        "UsageError: CSV line 2 has 3 values but the header has 2 columns."]


# ----------------------------------------------------------------------------- %hec_config


def test_hec_config_shows_the_key_masked(shell: InteractiveShell, configured: Emulator) -> None:
    with capture_output() as cap:
        shell.run_line_magic("hec_config", "")
    text = shown(cap)
    assert "****XYZW" in text and configured.url in text
    assert KEY not in text and KEY[:-4] not in text


def test_hec_config_without_configuration_says_how(shell: InteractiveShell) -> None:
    with capture_output() as cap:
        shell.run_line_magic("hec_config", "")
    assert "no HEC connection configured" in shown(cap)


def test_hec_config_sets_fields(shell: InteractiveShell, emu: Emulator,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_HEC_KEY", KEY)
    with capture_output() as cap:
        shell.run_line_magic("hec_config",
                             f"url={emu.url} key_env=LAB_HEC_KEY format=csv timeout=7 raw=on")
    hec = _session.current()
    assert hec is not None and hec.ingest_url == emu.url and hec.ingest_format == "csv"
    assert hec.raw_ingest is True and hec.ingest_timeout == 7
    assert hec.test_connection()
    magics = magics_of(shell)
    assert magics.ingest_format == "csv" and magics.raw_ingest is True
    assert "****XYZW" in shown(cap) and KEY not in shown(cap)
    shell.run_line_magic("hec_config", "timeunit=ms raw=off")
    hec2 = _session.current()
    assert hec2 is not hec and hec2.ingest_timeunit == "milliseconds"
    assert hec2.ingest_url == emu.url and hec2.raw_ingest is False  # the rest is kept
    shell.run_cell_magic("hec_send", "", "user\nalice\n")
    assert received(emu, 2)[-1]["user"] == "alice"  # after the connection test's event


def test_hec_config_region_and_url_key(shell: InteractiveShell,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGSIEM_API_KEY", KEY)
    shell.run_line_magic("hec_config", "url_key=abc123 region=eu-1")
    assert _session.current().ingest_url == (  # type: ignore[union-attr]
        "https://abc123.ingest.eu-1.crowdstrike.com/services/collector")
    shell.run_line_magic("hec_config", "region=us2")
    assert _session.current().ingest_url == (  # type: ignore[union-attr]
        "https://abc123.ingest.us-2.crowdstrike.com/services/collector")
    shell.run_line_magic("hec_config",
                         "url=https://xyz789.ingest.us-1.crowdstrike.com/services/collector")
    shell.run_line_magic("hec_config", "region=usgov2")  # the URL's key carries over
    assert _session.current().ingest_url == (  # type: ignore[union-attr]
        "https://xyz789.ingest.us-gov-2.crowdstrike.mil/services/collector")
    shell.run_line_magic("hec_config", "url=http://127.0.0.1:9/services/collector")
    assert "applies to a URL key" in usage_error(shell.run_line_magic, "hec_config", "region=eu1")
    with pytest.raises(UsageError, match="Unknown ingest_region 'mars'"):
        shell.run_line_magic("hec_config", "region=mars")


def test_hec_config_refuses_the_key_itself(shell: InteractiveShell) -> None:
    for line in (f"key={KEY}", f"region=eu1 api_key={KEY}", f"API-KEY={KEY}"):
        message = usage_error(shell.run_line_magic, "hec_config", line)
        assert "never a magic argument" in message and KEY not in message
    assert _session.current() is None


def test_hec_config_mistakes(shell: InteractiveShell) -> None:
    assert "has no field 'colour'" in usage_error(shell.run_line_magic, "hec_config",
                                                  "colour=red")
    assert "is not a setting" in usage_error(shell.run_line_magic, "hec_config", "eu1")
    assert "'NOT_SET_ANYWHERE' is not set" in usage_error(
        shell.run_line_magic, "hec_config", "url=http://127.0.0.1:9 key_env=NOT_SET_ANYWHERE")
    assert "not true or false" in usage_error(shell.run_line_magic, "hec_config", "raw=maybe")
    assert _session.current() is None


def test_parse_assignments_is_a_plain_function() -> None:
    assert parse_assignments(" region=eu1  format=CSV url='http://a b' ") == {
        "region": "eu1", "format": "CSV", "url": "http://a b"}
    assert parse_assignments("") == {}


def test_hec_config_emulator_on_and_off(shell: InteractiveShell) -> None:
    shell.run_line_magic("hec_config", "emulator=on format=json")
    magics = magics_of(shell)
    emu = magics.emulator
    assert emu is not None and emu.running
    hec = _session.current()
    assert hec is not None and hec.ingest_url == emu.url and hec.test_connection()
    shell.run_cell_magic("hec_send", "", '{"user": "alice"}')
    assert emu.wait_for(2) and emu.events[-1]["event"]["user"] == "alice"
    shell.run_line_magic("hec_config", "emulator=on")  # already running: the same one
    assert magics.emulator is emu
    shell.run_line_magic("hec_config", "emulator=off")
    assert magics.emulator is None and not emu.running and _session.current() is None


def test_unload_stops_the_emulator(shell: InteractiveShell) -> None:
    shell.run_line_magic("hec_config", "emulator=on")
    emu = magics_of(shell).emulator
    assert emu is not None
    shell.run_line_magic("unload_ext", "hecnb.magics")
    assert not emu.running and not [c for c in shell.configurables
                                    if isinstance(c, HecMagics)]
    shell.run_line_magic("load_ext", "hecnb.magics")  # the fixture unloads it again
    shell.run_line_magic("load_ext", "hecnb.magics")  # a second load registers nothing new
    magics_of(shell)


def test_hec_config_loads_a_profile(shell: InteractiveShell, emu: Emulator,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile("lab", ConnectionSettings(url_or_key=emu.url, ingest_format="yaml",
                                           key_env="LAB_KEY"))
    with pytest.raises(UsageError, match=r"No API key.*LAB_KEY"):
        shell.run_line_magic("hec_config", "profile=lab")
    monkeypatch.setenv("LAB_KEY", KEY)
    shell.run_line_magic("hec_config", "profile=lab")
    hec = _session.current()
    assert hec is not None and hec.ingest_url == emu.url and hec.ingest_format == "yaml"
    with pytest.raises(UsageError, match="No profile named 'nope'"):
        shell.run_line_magic("hec_config", "profile=nope")


# ---------------------------------------------------------------- the parser, without IPython


def test_parse_cell_json_forms() -> None:
    assert parse_cell('{"a": 1}') == [{"a": 1}]
    assert parse_cell('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
    assert parse_cell('{"a": 1}\n\n{"a": 2}\n') == [{"a": 1}, {"a": 2}]
    assert parse_cell('{\n  "a": 1\n}\n{\n  "a": 2\n}') == [{"a": 1}, {"a": 2}]
    assert parse_cell('{"event": {"a": 1}, "host": "h"}') == [{"event": {"a": 1}, "host": "h"}]


def test_parse_cell_yaml_csv_xml_text() -> None:
    assert parse_cell("- a: 1\n- a: 2\n---\nb: x\n---\n", "yaml") == [
        {"a": 1}, {"a": 2}, {"b": "x"}]
    assert parse_cell("\nuser,id\n\nalice,007\n", "csv") == [{"user": "alice", "id": "007"}]
    assert parse_cell("a\tb\n1\t2", "csv") == [{"a": "1", "b": "2"}]
    assert parse_cell('a,b\n"x, y",""\n', "csv") == [{"a": "x, y", "b": ""}]
    assert parse_cell('<?xml version="1.0"?>\n<events><event id="7"><tag>x</tag><tag>y</tag>'
                      "<geo><city>Oslo</city></geo></event></events>", "xml") == [
        {"@id": "7", "tag": ["x", "y"], "geo": {"city": "Oslo"}}]
    assert parse_cell("<event><a><b>1</b></a></event>", "xml") == [{"a": {"b": "1"}}]
    assert parse_cell("one\n \ntwo", "text") == ["one", "two"]


@pytest.mark.parametrize(("fmt", "body", "expected"), [
    ("json", '{"a": 1}\n"x"', "The JSON value at line 2 is a string"),
    ("json", "[]", "holds no events"),
    ("yaml", "just words", "YAML document 1 holds a string"),
    ("csv", "a,,c\n1,2,3", "Column 2 of the CSV header (line 1) has no name"),
    ("csv", "a,a\n1,2", "names column 'a' twice"),
    ("csv", "a,b\n1", "CSV line 2 has 1 values"),
    ("csv", "a,b\n", "has a header but no rows"),
    ("csv", 'a,b\n"1,2\n', "not valid CSV at line 2"),
    ("xml", '<!DOCTYPE x [<!ENTITY e "boom">]><event><a>&e;</a></event>', "DOCTYPE or ENTITY"),
    ("xml", "<event>text only</event>", "has no child elements"),
    ("toml", "a = 1", "Unknown cell format 'toml'"),
])
def test_parse_cell_mistakes(fmt: str, body: str, expected: str) -> None:
    with pytest.raises(ConversionError) as err:
        parse_cell(body, fmt)
    assert expected in str(err.value)


def test_the_magics_use_the_time_rule_and_its_options(shell: InteractiveShell,
                                                      configured: Emulator) -> None:
    shell.run_cell_magic("hec_send", "--no-progress",
                         '{"ts": 1693958400.5, "n": 1}\n{"@timestamp": "2024-01-01T00:00:00Z",'
                         ' "n": 2}')
    report = shell.user_ns["_hec_report"]
    assert report.time_fields == {"ts": 1, "@timestamp": 1}
    shell.run_cell_magic("hec_send", "--no-progress --time-column none --no-hec-time",
                         '{"ts": 1693958400.5, "n": 3}')
    assert "timestamp_column=None" in str(shell.user_ns["_hec_report"])
    shell.run_cell_magic("hec_send", "--no-progress -f csv --time-column when",
                         "when,n\n2024-01-01T00:00:00Z,4\n")
    assert configured.wait_for(4)
    by_n = {int(e["event"]["n"]): e for e in configured.events}
    assert by_n[1]["event"]["timestamp"] == 1693958400500000000 and by_n[1]["time"] == \
        1693958400.5
    assert by_n[2]["event"]["timestamp"] == 1704067200 * 10**9
    assert "time" not in by_n[3] and by_n[3]["event"]["timestamp"] != 1693958400500000000
    assert int(by_n[4]["event"]["timestamp"]) == 1704067200 * 10**9  # csv: text
    with capture_output() as cap:
        shell.run_cell_magic("hec_send", "--dry-run", '{"TimeCreated": "2020-10-18 07:50:06"}')
    assert "Event time from 'TimeCreated'." in shown(cap)
    # a client rebuilt by %hec_config keeps hec_time
    _session.configure(api_key=KEY, ingest_url=configured.url, hec_time=False)
    shell.run_line_magic("hec_config", "timeout=7")
    assert _session.current().hec_time is False and _session.current().ingest_timeout == 7
