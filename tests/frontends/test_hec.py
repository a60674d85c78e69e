"""HEC against the real emulator on loopback: the seed's examples, keywords, properties, files,
connection checks, logging and secrecy."""

from __future__ import annotations

import gzip
import json
import logging
import os
import warnings
from pathlib import Path

import httpx
import orjson
import pytest
from conftest import CLOSED_HOST, KEY

from hecnb import (
    HEC,
    ConfigError,
    ConversionError,
    EventFileError,
    HecInsecureWarning,
    IngestConfig,
    IngestPayload,
    SendReport,
)
from hecnb._send.manager import SessionManager
from hecnb._settings.logs import LogFacility
from hecnb.emulator import Emulator, Faults

SEED_PAYLOAD = {"host": "sample-host", "message": "Sample message",
                "fields": {"#falconpy": "Sample payload"}}


def hec_for(emu: Emulator, **kw) -> HEC:
    return HEC(api_key=KEY, ingest_url=emu.url, **kw)


# -- the seed's four examples ---------------------------------------------------------------
def test_seed_example_1_single_event(emu: Emulator) -> None:
    hec = hec_for(emu)
    assert hec.send_event(SEED_PAYLOAD) == 200
    (got,) = emu.events
    assert got["fields"] == {"#falconpy": "Sample payload"}
    assert got["event"]["host"] == "sample-host"
    assert got["event"]["message"] == "Sample message"
    assert got["event"]["timeunit"] == "nanoseconds"
    assert isinstance(got["event"]["timestamp"], int) and got["event"]["timestamp"] > 1.7e18


def test_seed_example_2_context_manager(emu: Emulator) -> None:
    with hec_for(emu) as hec:
        assert hec.send_event(SEED_PAYLOAD) == 200
        assert len(hec.sessions) == 1
    assert hec.sessions == []  # closed
    assert emu.events[0]["event"]["message"] == "Sample message"


def test_seed_example_3_event_list(emu: Emulator) -> None:
    hec = hec_for(emu)
    assert hec.send_event_list([SEED_PAYLOAD, SEED_PAYLOAD]) == 2
    assert [e["fields"] for e in emu.events] == [SEED_PAYLOAD["fields"]] * 2
    assert emu.stats["requests"] == 1  # many events per request


def test_seed_example_4_raw_file(emu: Emulator, tmp_path: Path) -> None:
    lines = [
        '{"event": {"category": ["host"], "host": "IV1IDSBP", "kind": "event", "module": '
        '"crowdstrike-falconpy-hec", "timestamp": 1747771778324434944, "type": ["info"], '
        '"timeunit": "nanoseconds", "message": "VP35ya83siwOC9bThq0U"}}',
        '{"event": {"category": ["host"], "host": "XIHQBIOV", "kind": "event", "module": '
        '"crowdstrike-falconpy-hec", "timestamp": 1747771778324711936, "type": ["info"], '
        '"timeunit": "nanoseconds", "message": "ngZbqZroR8763eMODCWN"}}',
    ]
    path = tmp_path / "sample_import_file.json"
    path.write_text("\n".join(lines) + "\n")
    hec = HEC(api_key=KEY, ingest_url=emu.url, raw_ingest=True)
    assert hec.send_event_file(str(path)) == 200
    assert [e["raw"] for e in emu.events] == lines
    assert emu.stats["by_route"]["raw"] == 2


# -- keywords ----------------------------------------------------------------------------------
def test_defaults_match_falconpy() -> None:
    hec = HEC(api_key=KEY, api_url_key="abc123")
    assert hec.ingest_format == "json" and hec.ingest_format_name == "JSON"
    assert hec.ingest_region == "us1"
    assert hec.ingest_timeout == 5
    assert hec.ingest_timeunit == "nanoseconds"
    assert hec.raw_ingest is False
    assert hec.retry_count == 3
    assert hec.sanitize_log is True
    assert hec.thread_count == min((os.cpu_count() or 1) * 2, 50)
    assert hec.log is None and hec.file_log == 0
    assert hec.ingest_url == "https://abc123.ingest.us-1.crowdstrike.com/services/collector"
    assert hec.raw_ingest_url.endswith("/services/collector/raw")
    assert hec.batch_max_bytes == 1024 * 1024 and hec.batch_max_events is None
    assert hec.compress is True and hec.verify is True and hec.auth_scheme == "Bearer"


def test_every_keyword_is_honoured(emu: Emulator) -> None:
    hec = HEC(api_key=KEY, api_url_key="ignored", debug=False, ingest_format="json",
              ingest_region="eu-1", ingest_timeout="3", ingest_timeunit="milliseconds",
              raw_ingest=False, retry_count=1, sanitize_log=True, thread_count=3,
              ingest_url=emu.url, auth_scheme="Splunk", batch_max_bytes=2048,
              batch_max_events=5, compress=False, verify=True)
    assert hec.ingest_timeout == 3 and hec.retry_count == 1 and hec.thread_count == 3
    assert hec.send_event_list([{"i": i} for i in range(12)]) == 12
    assert emu.stats["requests"] == 3  # batch_max_events=5
    assert emu.events[0]["event"]["timeunit"] == "milliseconds"
    assert emu.events[0]["event"]["timestamp"] < 1e14  # milliseconds, not nanoseconds
    assert hec.hec_headers["Authorization"] == f"Splunk {KEY}"
    assert emu.stats["bytes_received"] == emu.stats["bytes_decoded"]  # compress=False
    assert hec.session_manager.engine.thread_count == 3
    emu.faults = Faults(error_503_rate=1.0)
    assert hec.send_event({"i": 12}) == 503
    assert emu.stats["status_counts"][503] == 2  # retry_count=1: the first try and one retry
    assert hec.last_report.batches[0].attempts == 2


def test_unknown_keyword_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'ingest_region'"):
        HEC(api_key=KEY, api_url_key="abc", ingest_regoin="eu1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"ingest_region": "mars1"}, "us1, us2"),
     ({"ingest_format": "parquet"}, "json, yaml"),
     ({"api_key": ""}, "empty"),
     ({"api_key": None}, "NGSIEM_API_KEY"),
     ({"api_url_key": None}, "No destination"),
     ({"ingest_url": "ingest.us-1.crowdstrike.com/services/collector"}, "no scheme"),
     ({"ingest_url": "https://x.ingest.us-1.crowdstrike.com/servcies/collector"}, "typo"),
     ({"thread_count": 0}, "thread_count"),
     ({"retry_count": -1}, "retry_count"),
     ({"ingest_timeout": 0}, "ingest_timeout"),
     ({"ingest_timeunit": "fortnights"}, "ingest_timeunit")],
)
def test_bad_configuration_is_a_clear_config_error(kwargs: dict, message: str) -> None:
    base = {"api_key": KEY, "api_url_key": "abc123"}
    base.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        HEC(**base)


def test_environment_credentials(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGSIEM_API_KEY", KEY)
    monkeypatch.setenv("NGSIEM_INGEST_URL", emu.url)
    hec = HEC()
    assert hec.send_event({"from": "env"}) == 200
    monkeypatch.delenv("NGSIEM_INGEST_URL")
    monkeypatch.setenv("NGSIEM_URL_KEY", "envkey")
    monkeypatch.setenv("NGSIEM_REGION", "US-2")
    assert HEC().ingest_url == "https://envkey.ingest.us-2.crowdstrike.com/services/collector"


# -- properties ------------------------------------------------------------------------------
def _sent_timeunit(hec: HEC) -> str:
    return str(hec.format_event({"a": 1})["event"]["timeunit"])


#: property -> (a value, what that value must change somewhere else: not a read-back)
MUTABLE = {
    "file_log": (2, lambda h: h.log_facility.file_log == 2),
    "ingest_base_url": ("ingest.example.org", lambda h: h.ingest_url ==
                        "https://abc123.ingest.example.org/services/collector"),
    "ingest_format": ("csv", lambda h: h.hec_headers["Content-Type"] == "text/csv"
                      and h.ingest_format_name == "CSV"),
    "ingest_key": ("another-key-1234567890", lambda h: h.hec_headers["Authorization"] ==
                   "Bearer another-key-1234567890" and "****7890" in repr(h)),
    "ingest_timeout": (9, lambda h: h.ingest_config.describe()["timeout"] == 9),
    "ingest_timeunit": ("seconds", lambda h: _sent_timeunit(h) == "seconds"
                        and h.format_event({"a": 1})["event"]["timestamp"] < 1e10),
    "ingest_url_key": ("newkey", lambda h: h.ingest_url ==
                       "https://newkey.ingest.us-1.crowdstrike.com/services/collector"),
    "raw_ingest": (True, lambda h: h.ingest_config.target_url.endswith("/services/collector/raw")
                   and isinstance(h.format_event({"a": 1}), str)),  # FalconPy's raw line
    "retry_count": (5, lambda h: h.session_manager.engine.retry.retries == 5),
    "sanitize_log": (False, lambda h: h.log_facility.sanitize_log is False),
    "thread_count": (7, lambda h: h.session_manager.engine.thread_count == 7),
}
IMMUTABLE = ["hec_headers", "ingest_format_name", "ingest_url", "log", "raw_ingest_url"]


@pytest.mark.parametrize("name", sorted(MUTABLE))
def test_mutable_properties(name: str) -> None:
    value, takes_effect = MUTABLE[name]
    hec = HEC(api_key=KEY, api_url_key="abc123")
    assert not takes_effect(hec), name  # the check tells the value from the default
    setattr(hec, name, value)
    assert getattr(hec, name) == value
    assert takes_effect(hec), name


def test_last_status_and_message_are_settable_and_each_answer_overwrites_them(
        emu: Emulator) -> None:
    """FalconPy's record of the last answer: plain settable state, written by every send."""
    hec = hec_for(emu)
    hec.last_status, hec.last_message = 201, "m"
    assert (hec.last_status, hec.last_message) == (201, "m")
    assert hec.send_event({"a": 1}) == 200
    assert (hec.last_status, hec.last_message) == (200, "Success")  # the collector's text
    hec.ingest_key = "wrong-key-000000000000"
    assert hec.send_event({"a": 2}) == 403 == hec.last_status
    assert hec.last_message.startswith("HTTP 403")


@pytest.mark.parametrize("name", IMMUTABLE)
def test_immutable_properties(name: str) -> None:
    hec = HEC(api_key=KEY, api_url_key="abc123")
    with pytest.raises(AttributeError):
        setattr(hec, name, "x")


def test_object_properties(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    hec = HEC(api_key=KEY, api_url_key="abc123")
    cfg = IngestConfig(KEY, "other", environ={})
    hec.ingest_config = cfg
    assert hec.ingest_url.startswith("https://other.")
    facility = LogFacility(logging.getLogger("hecnb-test-facility"), 0, True)
    hec.log_facility = facility
    assert hec.log is facility.log
    caplog.set_level(logging.DEBUG, logger="hecnb-test-facility")
    hec.log_activity("through the new facility")  # debug lines go to its logger now
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("hecnb-test-facility", "through the new facility")]
    manager = SessionManager(thread_count=2, retry_count=0)
    hec.session_manager = manager
    assert hec.thread_count == 2 and hec.retry_count == 0
    assert hec.session_manager.engine is manager.engine
    with pytest.raises(ConfigError):
        hec.ingest_timeunit = "eons"
    with pytest.raises(ConfigError):
        hec.thread_count = 0
    # sessions: the open pool once a request went out; assigning [] closes it (README)
    live = hec_for(emu)
    assert live.sessions == [] and live.send_event({"a": 1}) == 200
    (pool,) = live.sessions
    assert isinstance(pool, httpx.AsyncClient) and not pool.is_closed
    live.sessions = []
    assert live.sessions == [] and pool.is_closed
    assert live.send_event({"a": 2}) == 200 and len(live.sessions) == 1  # opened again
    live.close()


def test_setters_change_what_is_sent(emu: Emulator) -> None:
    hec = HEC(api_key="wrong-key-000000000000", ingest_url=emu.url)
    assert hec.send_event({"a": 1}) == 403
    hec.ingest_key = KEY
    hec.raw_ingest = True
    assert hec.send_event("a raw line") == 200
    assert emu.events == [{"raw": "a raw line"}]


# -- reports ---------------------------------------------------------------------------------
def test_send_returns_a_report(emu: Emulator) -> None:
    hec = hec_for(emu)
    report = hec.send([{"n": i} for i in range(1000)])
    assert isinstance(report, SendReport) and report is hec.last_report
    assert report.ok and report.delivered == 1000 and report.events_per_s > 0
    assert report.bytes_sent < report.bytes_raw
    assert "1,000 of 1,000 events delivered" in str(report)
    html = report._repr_html_()
    assert html.startswith("<table") and "1,000 of 1,000" in html
    assert report.to_dict()["delivered"] == 1000


def test_ingest_payload_objects(emu: Emulator) -> None:
    hec = hec_for(emu, ingest_timeunit="seconds")
    p = IngestPayload(host="h9", timestamp=123, custom={"k": "v"}, fields={"#f": 1}, extra=5)
    assert hec.send_event(p) == 200
    # FalconPy's envelope, plus HEC's top-level time (the one difference; hec_time=False)
    assert emu.events[0] == {"time": 123, "event": {"host": "h9", "timestamp": 123,
                                                    "timeunit": "seconds", "k": "v",
                                                    "extra": 5}, "fields": {"#f": 1}}
    # raw: a JSON string without fields, spelled as FalconPy's json.dumps spells it
    assert p.to_json(raw=True) == json.dumps({"event": {"host": "h9", "timestamp": 123,
                                                        "timeunit": "seconds", "k": "v",
                                                        "extra": 5}})


def test_string_events(emu: Emulator) -> None:
    hec = hec_for(emu)
    hec.send_event_list(['{"user": "alice"}', "plain text"])
    assert emu.events[0]["event"]["user"] == "alice"
    assert emu.events[1]["event"]["message"] == "plain text"


def test_progress_bar_counts_events(emu: Emulator, capsys: pytest.CaptureFixture) -> None:
    hec = hec_for(emu)
    assert hec.send_event_list([{"i": i} for i in range(5000)], show_progress=True) == 5000
    err = capsys.readouterr().err
    assert "5.00k/5.00k" in err and KEY not in err


# -- files -----------------------------------------------------------------------------------
def _write(path: Path, lines: list[str], gz: bool = False) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_json_lines_file_becomes_envelopes(emu: Emulator, tmp_path: Path, gz: bool) -> None:
    lines = [orjson.dumps({"n": i, "msg": "x" * 50}).decode() for i in range(3000)]
    path = _write(tmp_path / "events.ndjson", lines, gz)
    hec = hec_for(emu, batch_max_bytes=20_000)
    assert hec.send_event_file(path) == 200
    assert sorted(e["event"]["n"] for e in emu.events) == list(range(3000))
    assert hec.last_report.requests > 5


@pytest.mark.parametrize("gz", [False, True])
def test_raw_file_lines(emu: Emulator, tmp_path: Path, gz: bool) -> None:
    lines = [f"Mar 27 13:06:56 host sshd[{i}]: Accepted publickey for u{i}" for i in range(500)]
    path = _write(tmp_path / "auth.log", [*lines[:250], "", *lines[250:]], gz)
    hec = hec_for(emu, raw_ingest=True)
    assert hec.send_event_file(str(path)) == 200
    assert sorted(e["raw"] for e in emu.events) == sorted(lines)  # each once; any order
    assert hec.last_report.delivered == 500


def test_bad_lines_are_reported_and_the_rest_sent(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(b'{"a": 1}\nnot json\n{"a": 2}\n\xff\xfe\n[1, 2]\n{"a": 3}\n')
    hec = hec_for(emu)
    # FalconPy's contract: an HTTP status; not 200 (a line failed), not 0 (answers came):
    # 400, the collector's answer to invalid data
    assert hec.send_event_file(path) == 400 == hec.last_status
    rep = hec.last_report
    assert rep.delivered == 3 and rep.failed_count == 3 and rep.total == 6
    assert [f.index for f in rep.failed] == [1, 3, 4]
    assert rep.failed[0].reason.startswith("line 2: invalid JSON (")
    assert "column 1" in rep.failed[0].reason
    assert rep.failed[1].reason.startswith("line 4: not UTF-8 (byte 1)")
    assert rep.failed[2].reason.startswith("line 5: JSON an array, not an object")
    assert hec.last_message == rep.failed[0].reason
    assert "line 2: invalid JSON" in str(rep) and "1 line 2" not in str(rep)


def test_truncated_gzip_is_reported(emu: Emulator, tmp_path: Path) -> None:
    data = gzip.compress(b"".join(b'{"n": %d}\n' % i for i in range(20000)))
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) // 2])
    hec = hec_for(emu)
    assert hec.send_event_file(path) != 200
    rep = hec.last_report
    assert rep.errors and "truncated" in rep.errors[0]
    assert 0 < rep.delivered < 20000 and not rep.ok


def test_file_errors(tmp_path: Path, emu: Emulator) -> None:
    hec = hec_for(emu)
    with pytest.raises(EventFileError, match="No such event file"):
        hec.send_event_file(tmp_path / "missing.json")
    with pytest.raises(EventFileError, match="directory"):
        hec.send_event_file(tmp_path)
    (tmp_path / "empty.json").write_bytes(b"")
    with pytest.raises(EventFileError, match="empty"):
        hec.send_event_file(tmp_path / "empty.json")
    with pytest.raises(OSError):  # EventFileError is an OSError too
        hec.send_event_file(tmp_path / "missing.json")


# -- connection checks -----------------------------------------------------------------------
def test_check_connection_success(emu: Emulator) -> None:
    hec = hec_for(emu)
    result = hec.check_connection()
    assert result.ok and result.status == 200 and "Connected" in str(result)
    assert result.latency_ms is not None
    assert hec.test_connection() is True
    assert emu.events[-1]["event"]["test"] == "connection"


def test_check_connection_bad_key(emu: Emulator) -> None:
    hec = HEC(api_key="not-the-key-123456789", ingest_url=emu.url)
    result = hec.check_connection()
    assert not result and result.status == 403 and "refused" in result.reason
    assert hec.test_connection() is False
    assert "not-the-key-123456789" not in result.reason


def test_check_connection_wrong_path(emu: Emulator) -> None:
    hec = HEC(api_key=KEY, ingest_url=emu.base_url + "/api/ingest/hec/nope/v1/services/collector")
    result = hec.check_connection()
    assert result.status == 404 and "URL key" in result.reason


def test_check_connection_refused(free_port: int) -> None:
    hec = HEC(api_key=KEY, ingest_url=f"http://127.0.0.1:{free_port}/services/collector")
    result = hec.check_connection()
    assert result.status is None and "refused" in result.reason


def test_a_send_to_nothing_says_connection_refused(closed_port: int) -> None:
    # the send pool is async: its refusal arrives worded differently than the plain client's
    hec = HEC(api_key=KEY, ingest_url=f"http://{CLOSED_HOST}:{closed_port}/services/collector",
              retry_count=0)
    report = hec.send([{"a": 1}, {"a": 2}])
    hec.close()
    assert report.failure_reasons() == {
        f"connection refused by {CLOSED_HOST}: nothing is listening at that address and port": 2}


def test_check_connection_timeout() -> None:
    with Emulator(api_key=KEY, faults=Faults(delay=2.0)) as slow:
        hec = HEC(api_key=KEY, ingest_url=slow.url, ingest_timeout=0.3)
        result = hec.check_connection()
    assert not result and "timeout" in result.reason and "ingest_timeout" in result.reason


def test_check_connection_dns_and_tls_words() -> None:
    def dns(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known")

    hec = HEC(api_key=KEY, api_url_key="typo", transport=httpx.MockTransport(dns))
    assert "DNS: cannot resolve typo.ingest.us-1.crowdstrike.com" in hec.check_connection().reason

    def tls(request: httpx.Request) -> httpx.Response:
        import ssl

        try:
            raise ssl.SSLCertVerificationError("certificate verify failed")
        except ssl.SSLError as exc:
            raise httpx.ConnectError("TLS failed") from exc

    hec = HEC(api_key=KEY, api_url_key="abc", transport=httpx.MockTransport(tls))
    assert "TLS" in hec.check_connection().reason and "verify=" in hec.check_connection().reason


def test_verify_false_warns() -> None:
    with pytest.warns(HecInsecureWarning):
        HEC(api_key=KEY, api_url_key="abc", verify=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HEC(api_key=KEY, api_url_key="abc")


# -- logging and secrecy ---------------------------------------------------------------------
@pytest.mark.parametrize("sanitize", [True, False])
def test_debug_log_never_holds_the_key(emu: Emulator, caplog: pytest.LogCaptureFixture,
                                       sanitize: bool) -> None:
    """sanitize_log=True (the default) shows the key as ``****`` alone; False shows its last
    four characters too (FalconPy would show the whole key; hecnb never does, README)."""
    caplog.set_level(logging.DEBUG, logger="hecnb")
    hec = HEC(api_key=KEY, ingest_url=emu.url, debug=True, sanitize_log=sanitize)
    hec.send_event_list([{"a": 1}])
    hec.log_activity(f"an answer that echoed the key: {KEY}")  # as a hostile server's would
    hec.ingest_key = "wrong-key-9999999999999"
    hec.send_event({"b": 2})
    hec.log_activity("the new key: wrong-key-9999999999999")
    text = caplog.text
    assert "HTTP EVENT COLLECTOR: Instance created" in text
    assert "REQUEST HEADERS" in text and "STATUS CODE: 200" in text
    assert KEY not in text and "wrong-key-9999999999999" not in text
    (headers,) = [r.getMessage() for r in caplog.records
                  if r.getMessage().startswith("REQUEST HEADERS: ")]
    if sanitize:
        assert "'Authorization': 'Bearer ****'" in headers
        assert "an answer that echoed the key: ****\n" in text + "\n"
        assert "the new key: ****\n" in text + "\n"
        assert KEY[-4:] not in text and "9999" not in text  # not even the last four
    else:
        assert "'Authorization': 'Bearer ****XYZW'" in headers
        assert "an answer that echoed the key: ****XYZW" in text
        assert "the new key: ****9999" in text
    # the setter decides for what is logged after it
    caplog.clear()
    hec.sanitize_log = not sanitize
    hec.log_activity("once more: wrong-key-9999999999999")
    assert caplog.records[-1].getMessage() == (
        "once more: ****9999" if sanitize else "once more: ****")


def test_key_not_in_repr_or_errors(emu: Emulator) -> None:
    hec = hec_for(emu)
    assert KEY not in repr(hec) and KEY not in str(hec.hec_headers)
    assert KEY not in repr(hec.ingest_config)
    assert hec.hec_headers["Authorization"] == f"Bearer {KEY}"
    hec.send_event_list([{"o": object()}])
    assert KEY not in str(hec.last_report) and KEY not in hec.last_report._repr_html_()
    with pytest.raises(ConfigError, match="not a URL key") as err:
        HEC(api_key=KEY, api_url_key="bad/key")
    assert KEY not in str(err.value) and KEY[-4:] not in str(err.value)


def test_no_class_level_state() -> None:
    a = HEC(api_key=KEY, api_url_key="aaa")
    b = HEC(api_key=KEY + "b", api_url_key="bbb")
    a.last_status = 500
    assert b.last_status is None
    assert a.log_facility is not b.log_facility
    assert a.session_manager.engine is not b.session_manager.engine


def test_send_event_rejects_non_events(emu: Emulator) -> None:
    hec = hec_for(emu)
    for bad in (42, None, 3.5, ["a"]):
        with pytest.raises(ConversionError):
            hec.send_event(bad)  # type: ignore[arg-type]
    assert emu.stats["requests"] == 0


def test_per_call_format_and_timeunit_through_send(emu: Emulator) -> None:
    import pandas as pd

    hec = hec_for(emu)
    frame = pd.DataFrame({"user": ["a", "b"], "n": [1, 2]})
    report = hec.send(frame, timeunit="milliseconds", ingest_format="csv", host="h1")
    assert report.ok and report.ingest_format == "csv"
    rows = [e["event"] for e in emu.events]
    assert [r["user"] for r in rows] == ["a", "b"] and rows[0]["timeunit"] == "milliseconds"
    assert int(rows[0]["timestamp"]) < 1e14
    report = frame.to_ngsiem(hec, timeunit="seconds")
    assert report.ok and emu.events[-1]["event"]["timeunit"] == "seconds"


@pytest.mark.parametrize("fmt", ["json", "yaml", "xml", "csv"])
def test_check_connection_in_every_format(emu: Emulator, fmt: str) -> None:
    assert hec_for(emu, ingest_format=fmt).check_connection().ok


def test_send_one_dict_is_one_event(emu: Emulator) -> None:
    report = hec_for(emu).send({"user": "dave", "n": 1})
    assert report.delivered == 1 and emu.events[0]["event"]["user"] == "dave"


@pytest.mark.parametrize("block", [5, 64, 1 << 20])
def test_raw_file_blocks_cut_lines_right(emu: Emulator, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Lines with \\n, \\r\\n and \\r endings, blank lines, a bad byte and a missing final
    newline, cut into blocks of any size, arrive as exactly the lines the raw route sees."""
    import random

    from hecnb._source.files import _RawFileChunks

    monkeypatch.setattr(_RawFileChunks, "BLOCK", block)
    rng = random.Random(block)
    lines = [f"line {i} " + "x" * rng.randrange(0, 30) for i in range(300)]
    data = bytearray()
    for i, line in enumerate(lines):
        data += line.encode() + rng.choice([b"\n", b"\r\n", b"\r"])
        if i % 50 == 7:
            data += b"\n   \n"  # blank lines: not events
    data += b"\xff\xfe broken\n" + b"last line without newline"
    path = tmp_path / "raw.log"
    path.write_bytes(bytes(data))
    hec = hec_for(emu, raw_ingest=True, batch_max_bytes=2000)
    report = hec.send_file(path)
    got = [e["raw"] for e in emu.events]
    assert sorted(got) == sorted([*lines, "last line without newline"])
    (bad,) = report.failed
    assert "UTF-8" in bad.reason and report.delivered == 301


def test_raw_file_resume_from_a_line(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "raw.log"
    path.write_text("".join(f"l{i}\n" for i in range(1000)))
    report = hec_for(emu, raw_ingest=True).send_file(path, start_line=990)
    assert report.delivered == 10 and [e["raw"] for e in emu.events] == [
        f"l{i}" for i in range(990, 1000)]
