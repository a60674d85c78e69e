"""FalconPy's HEC surface on hecnb: names, ``None`` as the default, IngestPayload's shapes
(against FalconPy's own output), the iterable count of ``send_event_list(show_progress=True)``,
concurrent ``send_event``, URL keys and FalconPy's remaining helpers."""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from xml.etree import ElementTree

import falconpy
import pytest
from conftest import KEY

import hecnb
from hecnb import (
    HEC,
    ConfigError,
    DeliveredCount,
    EventFileError,
    HTTPEventCollector,
    IngestConfig,
    IngestFormat,
    IngestPayload,
    SessionManager,
    TimeUnit,
)
from hecnb.emulator import Emulator, Faults

TS = 1_746_590_796_712_050_944


# -- names -----------------------------------------------------------------------------------
def test_the_falconpy_compared_with_is_the_pinned_one() -> None:
    """The comparisons below are with this FalconPy's output (pyproject.toml pins it, and
    tests/compat/test_falconpy_suite.py runs the same version's own tests)."""
    assert falconpy.__version__ == "1.6.6"


def test_falconpy_hec_names_are_hecnb_names() -> None:
    assert HTTPEventCollector is HEC
    for name in ("HTTPEventCollector", "IngestConfig", "IngestPayload", "SessionManager",
                 "IngestFormat", "TimeUnit"):
        assert name in hecnb.__all__ and hasattr(falconpy, name)


@pytest.mark.parametrize("ours,theirs", [(IngestFormat, falconpy.IngestFormat),
                                         (TimeUnit, falconpy.TimeUnit)])
def test_enums_have_falconpys_members_and_values(ours, theirs) -> None:
    assert [(m.name, m.value) for m in ours] == [(m.name, m.value) for m in theirs]


def test_enum_members_are_accepted_where_names_are(emu: Emulator) -> None:
    hec = HEC(api_key=KEY, ingest_url=emu.url, ingest_format=IngestFormat.CSV,
              ingest_timeunit=TimeUnit.SECONDS)
    assert (hec.ingest_format, hec.ingest_timeunit) == ("csv", "seconds")
    assert hec.hec_headers["Content-Type"] == IngestFormat.CSV.value
    assert IngestPayload(timestamp=1, timeunit=TimeUnit.MILLISECONDS).timeunit == "milliseconds"


# -- None means the default ------------------------------------------------------------------
KEYWORDS = ("ingest_format", "ingest_region", "ingest_timeout", "ingest_timeunit", "raw_ingest",
            "retry_count", "sanitize_log", "thread_count", "auth_scheme", "batch_max_bytes",
            "batch_max_events", "compress", "verify", "allow_insecure_http", "backoff_base",
            "backoff_max", "max_in_flight", "transport", "debug")


def _settings(hec: HEC) -> tuple:
    return (hec.ingest_config.describe(), hec.thread_count, hec.retry_count, hec.max_in_flight,
            hec.sanitize_log, hec.log, hec.session_manager.engine.retry)


def test_every_keyword_takes_none_for_its_default(emu: Emulator) -> None:
    default = HEC(api_key=KEY, ingest_url=emu.url)
    nones = HEC(api_key=KEY, ingest_url=emu.url, **dict.fromkeys(KEYWORDS))
    assert _settings(nones) == _settings(default)
    assert nones.ingest_timeout == 5 and nones.ingest_format == "json"
    assert nones.ingest_timeunit == "nanoseconds" and nones.raw_ingest is False
    assert nones.retry_count == 3 and nones.sanitize_log is True and nones.verify is True
    assert nones.send_event({"a": 1}) == 200


def test_the_samples_constructor_call(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """what_the_hec.py's defaults: ingest_timeout=None, and a thread count from the command line
    (270), with the environment URL winning over URL key and region."""
    monkeypatch.setenv("NGSIEM_INGEST_URL", emu.url)
    with HTTPEventCollector(api_key=KEY, api_url_key="abc123", ingest_format="json",
                            ingest_region="us1", ingest_timeunit="nanoseconds",
                            ingest_timeout=None, raw_ingest=False, debug=False,
                            sanitize_log=True, thread_count=270, retry_count=5) as collector:
        assert collector.ingest_timeout == 5 and collector.thread_count == 270
        assert collector.test_connection()


def test_config_and_setters_take_none_for_the_default() -> None:
    cfg = IngestConfig(KEY, "abc", None, None, None, None, None, environ={})
    assert (cfg.ingest_format, cfg.ingest_region, cfg.ingest_timeout, cfg.ingest_timeunit,
            cfg.raw_ingest) == ("json", "us1", 5, "nanoseconds", False)
    cfg.ingest_format, cfg.ingest_timeunit = "xml", "seconds"
    cfg.ingest_timeout, cfg.raw_ingest = 9, True
    cfg.ingest_format = cfg.ingest_timeunit = cfg.ingest_timeout = cfg.raw_ingest = None
    assert (cfg.ingest_format, cfg.ingest_timeout, cfg.ingest_timeunit,
            cfg.raw_ingest) == ("json", 5, "nanoseconds", False)
    manager = SessionManager(thread_count=None, retry_count=None)
    assert manager.retry_count == 3 and manager.thread_count == manager.core_thread_count
    manager.thread_count, manager.retry_count = 7, 1
    manager.thread_count = manager.retry_count = None
    assert manager.retry_count == 3 and manager.thread_count == manager.core_thread_count


def test_zero_timeout_is_refused_with_the_way_to_the_default() -> None:
    with pytest.raises(ConfigError, match=r"ingest_timeout must be greater than 0; got 0 "
                                          r"\(None means the default, 5 seconds\)"):
        IngestConfig(KEY, "abc", ingest_timeout=0, environ={})


def test_unknown_formats_are_refused_not_replaced_by_json() -> None:
    """A deliberate difference: FalconPy sends json for an unknown format (and, from its setter,
    the unknown name as the Content-Type)."""
    with pytest.raises(ConfigError, match=r"Unknown ingest_format 'banana': use one of json, "
                                          r"yaml, xml, csv \(or None for json\)"):
        IngestConfig(KEY, "abc", ingest_format="banana", environ={})
    hec = HEC(api_key=KEY, api_url_key="abc")
    with pytest.raises(ConfigError, match="not_a_real_format"):
        hec.ingest_format = "not_a_real_format"
    assert hec.ingest_format == "json" and hec.hec_headers["Content-Type"] == "application/json"


# -- URL keys and hosts ----------------------------------------------------------------------
def test_url_keys_that_can_be_a_host_label_are_accepted() -> None:
    hec = HEC(api_key=KEY, api_url_key="fake_url_key")  # FalconPy's tests use this one
    assert hec.ingest_url == "https://fake_url_key.ingest.us-1.crowdstrike.com/services/collector"


@pytest.mark.parametrize("url_key", ["7334$@", "a@evil.example", "a.b", "a:1", "a/b", "a#b",
                                     "-a", "a b"])
def test_url_keys_that_would_change_the_host_are_refused(url_key: str) -> None:
    with pytest.raises(ConfigError, match="not a URL key"):
        HEC(api_key=KEY, api_url_key=url_key)


def test_a_url_with_another_scheme_as_url_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^api_url_key 'bad://invalid_url' is a URL, but not "
                                          r"an HEC API URL: .*https:// \(got scheme 'bad'\)"):
        HEC(api_key=KEY, api_url_key="bad://invalid_url")


@pytest.mark.parametrize("base", ["ab@cd.evil", "x.example/y", "x..y", "!@#$%?&*_.", "x?y"])
def test_base_urls_that_are_not_host_names_are_refused(base: str) -> None:
    """'ab@cd.evil' used to make https://key.ab@cd.evil/..., which sends the key to cd.evil."""
    hec = HEC(api_key=KEY, api_url_key="abc")
    with pytest.raises(ConfigError, match="ingest_base_url must be a region"):
        hec.ingest_base_url = base
    assert hec.ingest_url == "https://abc.ingest.us-1.crowdstrike.com/services/collector"


def test_a_host_with_a_port_is_a_base_url() -> None:
    hec = HEC(api_key=KEY, api_url_key="abc")
    hec.ingest_base_url = "ingest.example.org:8443"
    assert hec.ingest_url == "https://abc.ingest.example.org:8443/services/collector"


# -- IngestPayload: FalconPy's shapes ----------------------------------------------------------
def _pair(**kw):
    return IngestPayload(**kw), falconpy.IngestPayload(**kw)


SCALARS = [
    {"host": "H1", "timestamp": TS, "message": "hello world"},
    {"host": "H2", "timestamp": TS, "timeunit": "seconds", "custom": {"color": "chartreuse"},
     "kind": "event", "count": 3},
    {"host": "H3", "timestamp": TS, "timeunit": "milliseconds", "fields": {"#falconpy": "HEC"},
     "message": "m"},
]


@pytest.mark.parametrize("kw", SCALARS)
@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("nowrap", [False, True])
def test_to_json_is_falconpys(kw: dict, raw: bool, nowrap: bool) -> None:
    ours, theirs = _pair(**kw)
    assert ours.to_json(raw=raw, nowrap=nowrap) == theirs.to_json(raw=raw, nowrap=nowrap)


@pytest.mark.parametrize("kw", SCALARS)
@pytest.mark.parametrize("raw,nowrap", [(True, False), (True, True), (False, True)])
def test_to_xml_without_fields_is_falconpys(kw: dict, raw: bool, nowrap: bool) -> None:
    ours, theirs = _pair(**kw)
    assert ours.to_xml(raw=raw, nowrap=nowrap) == theirs.to_xml(raw=raw, nowrap=nowrap)
    if not nowrap:
        assert ElementTree.fromstring(ours.to_xml(raw=raw)).tag == "event"


@pytest.mark.parametrize("kw", SCALARS)
def test_to_csv_is_falconpys(kw: dict) -> None:
    ours, theirs = _pair(**kw)
    assert ours.to_csv() == theirs.to_csv()
    assert ours.to_csv().split("\n")[1].endswith("\r")  # the sample writes output[1] + "\n"


def test_to_xml_fields_are_well_formed_where_falconpys_are_not() -> None:
    kw = {"host": "H", "timestamp": TS, "message": "m", "fields": {"#falconpy": "HEC", "b": 2}}
    ours, theirs = _pair(**kw)
    body = ("<event><host>H</host><timestamp>1746590796712050944</timestamp>"
            "<timeunit>nanoseconds</timeunit><message>m</message></event>")
    assert ours.to_xml() == body + "<fields><_x0023_falconpy>HEC</_x0023_falconpy><b>2</b></fields>"
    assert theirs.to_xml() == body + "<fields><b>2</b></field>"  # last field only, </field>
    root = ElementTree.fromstring(f"<r>{ours.to_xml()}</r>")
    assert [child.tag for child in root] == ["event", "fields"]
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring(f"<r>{theirs.to_xml()}</r>")


def test_payload_text_is_kept_and_escaped_where_falconpy_strips_it() -> None:
    kw = {"host": "H", "timestamp": TS, "message": "it's <b> & [x], y", "tags": ["a", "b"],
          "ok": True}
    ours, theirs = _pair(**kw)
    xml = ElementTree.fromstring(ours.to_xml(raw=True))
    assert xml.findtext("message") == "it's <b> & [x], y"
    assert [e.text for e in xml.find("tags")] == ["a", "b"] and xml.findtext("ok") == "true"
    assert "<message>its <b> & x, y</message>" in theirs.to_xml(raw=True)  # not XML any more
    (header, row) = list(csv.reader(io.StringIO(ours.to_csv())))
    assert dict(zip(header, row, strict=True))["message"] == "it's <b> & [x], y"
    assert json.loads(dict(zip(header, row, strict=True))["tags"]) == ["a", "b"]
    assert "its <b> & x~ y" in theirs.to_csv()  # FalconPy: commas -> ~, quotes and [] dropped


@pytest.mark.parametrize("raw", [False, True])
def test_format_event_is_falconpys(raw: bool) -> None:
    """What FalconPy's own ``format_event`` returns: the envelope dict, or with raw_ingest its
    JSON text (plus HEC's ``time`` on the event endpoint, the documented difference)."""
    evt = {"host": "H1", "timestamp": TS, "message": "m", "fields": {"#falconpy": "HEC"}}
    ours = HEC(api_key=KEY, api_url_key="abc", raw_ingest=raw, ingest_timeunit="milliseconds")
    theirs = falconpy.HTTPEventCollector(api_key=KEY, api_url_key="abc", raw_ingest=raw,
                                         ingest_timeunit="milliseconds")
    got, want = ours.format_event(dict(evt)), theirs.format_event(dict(evt))
    if raw:
        assert isinstance(got, str) and got == want
    else:
        assert got == {"time": TS / 1000, **want}
    payload = IngestPayload(host="H2", timestamp=TS, kind="k")
    again = ours.format_event(payload)
    assert (json.loads(again) if raw else again)["event"]["kind"] == "k"


def test_payload_without_host_leaves_host_out() -> None:
    """A difference on purpose: FalconPy writes "host": null (XML: <host>None</host>)."""
    ours, theirs = _pair(timestamp=TS, message="m")
    assert ours.to_json() == {"event": {"timestamp": TS, "timeunit": "nanoseconds",
                                        "message": "m"}}
    assert theirs.to_json()["event"]["host"] is None
    assert "<host>" not in ours.to_xml() and "<host>None</host>" in theirs.to_xml()
    assert ours.to_csv().splitlines()[1] == f",{TS},nanoseconds,m" == theirs.to_csv().splitlines(
        )[1]


def test_attributes_set_on_a_payload_are_event_members() -> None:
    payload = IngestPayload(host="H", timestamp=TS, kind="red")
    payload.kind, payload.module = "purple", "gray"
    assert payload.kind == "purple" and payload.custom == {"kind": "purple", "module": "gray"}
    assert payload.to_json(nowrap=True) == {"host": "H", "timestamp": TS,
                                            "timeunit": "nanoseconds", "kind": "purple",
                                            "module": "gray"}
    with pytest.raises(AttributeError):
        _ = payload.colour
    payload.fields = None
    assert payload.fields == {} and "fields" not in payload.to_json()


def test_payload_json_string_of_values_json_cannot_write() -> None:
    payload = IngestPayload(host="H", timestamp=TS, ratio=float("nan"), big=2 ** 70)
    assert json.loads(payload.to_json(raw=True)) == {"event": {
        "host": "H", "timestamp": TS, "timeunit": "nanoseconds", "ratio": None, "big": 2 ** 70}}


def test_falconpys_test_subclasses_payload_calls() -> None:
    """The payload part of FalconPy's own test_subclasses (which stops earlier, at 'banana')."""
    payload = IngestPayload(kind="red", module="yellow", event_type="blue", category="yellow",
                            custom={"color": "chartreuse"}, fields={"color": "orange"})
    payload.kind, payload.type = "purple", "black"
    payload.fields = {"another_color": "indigo"}
    assert json.loads(payload.to_json(raw=True, nowrap=True))["kind"] == "purple"
    assert payload.to_json()["fields"] == {"another_color": "indigo"}
    another = IngestPayload(category=["green"], timeunit=None, event_type=["yellow"],
                            message="whatever", fields={"#falconpy": "HEC Testing"})
    ElementTree.fromstring(another.to_xml(raw=True, nowrap=True).join(["<r>", "</r>"]))
    ElementTree.fromstring(f"<r>{another.to_xml()}</r>")
    assert another.to_csv().startswith("host,timestamp,timeunit,category,event_type,message\r\n")
    quick = HTTPEventCollector(api_key="k" * 8, api_url_key="abc12345", raw_ingest=True,
                               thread_count=5)
    assert "fields" not in quick.format_event(another)
    count = 0
    for _ in SessionManager():  # no pool before the first request: the cycle is empty
        count += 1
    assert count == 0


# -- send_event_list(show_progress=True): a number that iterates -------------------------------
def test_delivered_count_is_an_int() -> None:
    n = DeliveredCount(1234, [1000, 1234])
    assert isinstance(n, int) and n == 1234 and int(n) == 1234 and n > 1000
    assert n + 1 == 1235 and n * 2 == 2468 and f"{n:,}" == "1,234" and f"{n}" == "1234"
    assert repr(n) == "1234" and json.dumps({"n": n}) == '{"n": 1234}'
    assert range(n)[-1] == 1233 and hash(n) == hash(1234)


def test_delivered_count_iterates_once_like_a_generator() -> None:
    n = DeliveredCount(5, [2, 5])
    assert iter(n) is n and next(n) == 2 and list(n) == [5] and list(n) == []
    assert n == 5  # the number does not change


def test_progress_list_iterates_running_counts_and_is_the_count(
        emu: Emulator, capsys: pytest.CaptureFixture) -> None:
    hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=250)
    events = [{"host": f"h{i}", "message": "m"} for i in range(2000)]
    result = hec.send_event_list(events, show_progress=True)
    assert isinstance(result, DeliveredCount) and result == 2000 and f"{result:,}" == "2,000"
    assert result.counts == tuple(range(250, 2001, 250)) and not hasattr(result, "report")
    assert "2.00k/2.00k" in capsys.readouterr().err
    returned = 0
    seen = []
    for returned in result:  # FalconPy's loop: for returned in hec.send_event_list(..., True)
        seen.append(returned)
    assert returned == 2000 and len(seen) == 8 and seen == sorted(seen) and seen[0] == 250
    assert len(emu.events) == 2000
    assert type(hec.send_event_list(events[:3])) is int  # without progress: FalconPy's int


def test_progress_counts_only_count_delivered_events(emu: Emulator) -> None:
    emu.faults = Faults(error_503_rate=0.5, seed=3)
    hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=10, retry_count=0)
    result = hec.send_event_list([{"i": i} for i in range(200)], show_progress=True)
    counts = list(result)
    assert 0 < result < 200 and result == hec.last_report.delivered == len(emu.events)
    assert len(counts) == 20 and counts[-1] == result and counts == sorted(counts)
    steps = [b - a for a, b in zip([0, *counts], counts, strict=False)]
    assert set(steps) == {0, 10}  # a refused request adds nothing


def test_process_list_methods(emu: Emulator) -> None:
    hec = HEC(api_key=KEY, ingest_url=emu.url)
    assert hec.process_list([{"a": 1}, {"a": 2}]) == 2
    assert list(hec.process_list_with_progress([{"a": 3}])) == [1]
    assert len(emu.events) == 3


# -- send_event from many threads --------------------------------------------------------------
def test_concurrent_send_event_returns_each_requests_own_status(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads finish their sends, then both return: each must return its own status, not
    the shared last_status the other one wrote last."""
    hec = HEC(api_key=KEY, ingest_url=emu.url)
    both_done = threading.Barrier(2, timeout=10)
    finish = HEC._finish

    def finish_then_wait(self: HEC, report):
        out = finish(self, report)
        if threading.current_thread() is not threading.main_thread():
            both_done.wait()
        return out

    monkeypatch.setattr(HEC, "_finish", finish_then_wait)
    good, blank = {"message": "ok"}, {"event": ""}  # the collector refuses a blank event: 400
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(hec.send_event, [good, blank]))
    assert statuses == [200, 400]
    assert hec.last_status in (200, 400)


def test_many_threads_sending_single_events(emu: Emulator) -> None:
    hec = HEC(api_key=KEY, ingest_url=emu.url, thread_count=270)
    payloads = [{"host": f"H{i}", "message": "m", "fields": {"#falconpy": "HEC testing"}}
                for i in range(600)]
    with ThreadPoolExecutor(max_workers=270) as pool:
        statuses = list(pool.map(hec.send_event, payloads))
    assert statuses == [200] * 600
    hosts = [e["event"]["host"] for e in emu.events]
    # every event arrived; one more copy is allowed where a request whose answer came too late
    # (a loaded machine) was sent again: FalconPy's retry, at least once
    assert set(hosts) == {p["host"] for p in payloads}
    assert len(hosts) - len(payloads) <= emu.stats["requests"] - len(payloads)


# -- FalconPy's other helpers --------------------------------------------------------------------
def test_slice_raw_data_is_falconpys() -> None:
    text = "".join(f"line {i:07d} {'x' * 90}\n" for i in range(110_000))  # > 10,240,000 chars
    ours = HEC(api_key=KEY, api_url_key="abc").slice_raw_data(text)
    theirs = falconpy.HTTPEventCollector(api_key="k", api_url_key="u").slice_raw_data(text)
    assert [b["count"] for b in ours] == [b["count"] for b in theirs] and len(ours) == 2
    assert ours == theirs and "".join(b["data"] for b in ours) == text


def test_detect_gzip(tmp_path) -> None:
    plain, packed = tmp_path / "a.log", tmp_path / "a.log.gz"
    plain.write_text("a\n")
    packed.write_bytes(gzip.compress(b"a\n"))
    assert HEC.detect_gzip(packed) and not HEC.detect_gzip(plain)
    with pytest.raises(EventFileError, match="nope"):
        HEC.detect_gzip(tmp_path / "nope")


def test_assigning_sessions_warns_that_they_are_not_used(emu: Emulator) -> None:
    import requests

    hec = HEC(api_key=KEY, ingest_url=emu.url)
    assert hec.send_event({"a": 1}) == 200
    pool = hec.sessions
    with pytest.warns(UserWarning, match="hecnb sends through its own httpx connection pool"):
        hec.sessions = [requests.Session()]
    assert hec.sessions == pool and hec.send_event({"a": 2}) == 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hec.sessions = []
    assert hec.sessions == []


def test_session_manager_cycles_its_pool(emu: Emulator) -> None:
    hec = HEC(api_key=KEY, ingest_url=emu.url)
    manager = hec.session_manager
    with pytest.raises(StopIteration):
        next(manager)
    hec.send_event({"a": 1})
    (client,) = hec.sessions
    assert next(manager) is client and [c for c, _ in zip(manager, range(3), strict=False)] == [
        client] * 3
    assert next(manager.cycle) is client
