"""EVTX: real Windows event logs (``../shared/data/*.evtx``) arrive at the emulator record for
record, with their event ids and times; damaged files (the real one with overwritten chunks,
and copies damaged here in every way a file gets damaged) deliver what can be read and say
exactly what could not."""

from __future__ import annotations

import collections
import datetime as dt
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import KEY, in_ci
from test_shared_data import data

import hecnb
from hecnb import HEC, EventFileError, HecDataWarning
from hecnb._source.evtx import CHUNK, FILE_HEADER, SYSTEM_COLUMNS, flatten_record
from hecnb._source.evtxwrite import Typed, write_evtx
from hecnb.emulator import Emulator

try:
    import evtx
except ImportError:  # pragma: no cover - CI installs it with the dev extra
    if in_ci():
        raise
    pytest.skip("the evtx extra is not installed (pip install 'hecnb[evtx]')",
                allow_module_level=True)

FILES = {  # name: (records, event ids)
    "new-user-security.evtx": (4, {4732: 2, 4728: 1, 4720: 1}),
    "Security_short_selected.evtx": (7, {5152: 2, 4611: 1, 4776: 1, 4625: 1, 5157: 1,
                                         4673: 1}),
    "sysmon.evtx": (358, {1: 227, 10: 60, 11: 34, 13: 24, 12: 8, 15: 2, 3: 2, 16: 1}),
}


def parsed(path: Path) -> dict[int, dict[str, Any]]:
    """An independent oracle: the parser's own records by their System/EventRecordID (which
    a filtered export keeps while renumbering the record headers), errors skipped."""
    out = {}
    records = evtx.PyEvtxParser(str(path)).records_json()
    while True:
        try:
            rec = next(records)
        except StopIteration:
            return out
        except RuntimeError:
            continue
        event = json.loads(rec["data"])["Event"]
        out[event["System"]["EventRecordID"]] = event


def system_time_ns(event: dict[str, Any]) -> int:
    text = event["System"]["TimeCreated"]["#attributes"]["SystemTime"]
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (int(when.timestamp()) * 10**6 + when.microsecond) * 1000


@pytest.fixture(scope="module")
def collector() -> Any:
    with Emulator(api_key=KEY) as emu:
        yield emu


@pytest.fixture
def hec(collector: Emulator) -> Any:
    collector.reset()
    with HEC(api_key=KEY, ingest_url=collector.url) as client:
        yield client


def read(path: Path, **kwargs: Any) -> tuple[pd.DataFrame, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = hecnb.read_evtx(path, **kwargs)
    return frame, [w for w in caught if issubclass(w.category, HecDataWarning)]


# ---------------------------------------------------------------------------- the real files


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_reads_with_documented_columns(name: str) -> None:
    path = data(name)
    count, ids = FILES[name]
    frame, warned = read(path)
    assert len(frame) == count
    assert bool(warned) == (name == "sysmon.evtx")
    assert dict(collections.Counter(frame["EventID"].tolist())) == ids
    assert frame["EventID"].dtype == "int64"
    assert str(frame["TimeCreated"].dtype) == "datetime64[ns, UTC]"
    assert list(frame.columns[:3]) == ["TimeCreated", "EventID", "Version"]
    assert all(c in SYSTEM_COLUMNS or c.startswith("EventData.") for c in frame.columns)
    oracle = parsed(path)
    assert sorted(frame["EventRecordID"]) == sorted(oracle)
    for row in frame.to_dict("records"):
        event = oracle[row["EventRecordID"]]
        system = event["System"]
        assert row["TimeCreated"].value == system_time_ns(event)
        assert row["EventID"] == system["EventID"]
        assert (row["Channel"], row["Computer"]) == (system["Channel"], system["Computer"])
        assert row["ProviderName"] == system["Provider"]["#attributes"]["Name"]
        assert row["ProcessID"] == system["Execution"]["#attributes"]["ProcessID"]
        for key, value in (event.get("EventData") or {}).items():  # every named Data element
            if value is not None:
                assert row[f"EventData.{key}"] == value


def test_security_log_fields() -> None:
    frame, _ = read(data("new-user-security.evtx"))
    first = frame.sort_values("EventRecordID").iloc[0]
    assert first["TimeCreated"] == pd.Timestamp("2013-10-23T16:22:39.973500Z")
    assert first["EventID"] == 4728 and first["EventRecordID"] == 111
    assert first["Channel"] == "Security" and first["Computer"] == "IE8Win7"
    assert first["ProviderName"] == "Microsoft-Windows-Security-Auditing"
    assert first["ProviderGuid"] == "54849625-5478-4994-A5BA-3E3B0328C30D"
    assert first["Keywords"] == "0x8020000000000000" and first["Task"] == 13826
    assert (first["ProcessID"], first["ThreadID"]) == (508, 1032)
    assert first["EventData.MemberSid"] == "S-1-5-21-3463664321-2923530833-3546627382-1000"
    assert first["EventData.SubjectUserName"] == "WIN-QALA5Q3KJ43$"
    sysmon, _ = read(data("sysmon.evtx"))
    assert sysmon.loc[sysmon["EventRecordID"] == 1742, "UserID"].item() == "S-1-5-18"
    assert sysmon["EventData.ProcessId"].dtype == "Int64"  # ints with gaps stay ints


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_record_arrives_with_its_id_and_time(name: str, hec: HEC,
                                                   collector: Emulator) -> None:
    path = data(name)
    count, ids = FILES[name]
    reader = hecnb.iter_evtx(path, errors="ignore")
    frame = reader.read()
    report = hec.send(frame, show_progress=False)  # no time option: the rule finds it
    assert report.ok and report.delivered == count, report
    assert report.time_column == "TimeCreated" and report.time_fallback == 0
    assert collector.wait_for(count)
    events = [e["event"] for e in collector.events]
    assert len(events) == count
    oracle = parsed(path)
    assert sorted(e["EventRecordID"] for e in events) == sorted(oracle)
    assert dict(collections.Counter(e["EventID"] for e in events)) == ids
    for event in events:
        want = system_time_ns(oracle[event["EventRecordID"]])
        assert event["timeunit"] == "nanoseconds"
        assert event["timestamp"] == want  # the event time is the record's time, to the ns
        assert pd.Timestamp(event["TimeCreated"]).value == want  # and the column says so too
    if name == "sysmon.evtx":  # the damage is known to the caller, with a count
        assert reader.unreadable_chunks == 8 and reader.chunks == 17 and reader.records == 358


@pytest.mark.parametrize("fmt", ["yaml", "xml", "csv"])
def test_sysmon_arrives_in_the_other_formats(fmt: str, hec: HEC, collector: Emulator) -> None:
    frame, _ = read(data("sysmon.evtx"))
    report = hec.send(frame, ingest_format=fmt, timestamp_column="TimeCreated",
                      show_progress=False)
    assert report.ok and report.delivered == 358, report
    assert collector.wait_for(358)
    events = [e["event"] for e in collector.events]
    assert sorted(int(e["EventRecordID"]) for e in events) == sorted(frame["EventRecordID"])
    by_id = dict(zip(frame["EventRecordID"], frame["TimeCreated"], strict=True))
    for e in events:  # milliseconds survive every format
        assert int(e["timestamp"]) // 10**6 == by_id[int(e["EventRecordID"])].value // 10**6


def test_the_zeroed_chunk_file_is_read_and_reported() -> None:
    path = data("sysmon.evtx")
    with pytest.warns(HecDataWarning, match=r"sysmon\.evtx: 358 records read; 8 of 17 chunks "
                      r"unreadable \(chunks 9-16: no chunk header") as caught:
        frame = hecnb.read_evtx(path)
    assert len(frame) == 358
    assert caught[0].filename == __file__  # the warning points at the caller's line
    reader = hecnb.iter_evtx(path, errors="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "ignore" means no warning at all
        assert len(reader.read()) == 358
    assert reader.unreadable_chunks == 8
    assert [p.chunk for p in reader.problems] == list(range(9, 17))
    assert all(p.lost is None and "overwritten or zeroed" in p.reason for p in reader.problems)
    assert "how many records the unreadable chunks held is unknown" in reader.summary()
    with pytest.raises(EventFileError, match=r"8 of 17 chunks unreadable.*errors='warn'"):
        hecnb.read_evtx(path, errors="raise")


# ------------------------------------------------------------------- damaged copies, made here


@pytest.fixture
def good(tmp_path: Path) -> tuple[bytes, Path]:
    """The nine readable chunks of sysmon.evtx (records 1742-2099), as bytes and a file."""
    raw = data("sysmon.evtx").read_bytes()[:FILE_HEADER + 9 * CHUNK]
    path = tmp_path / "good.evtx"
    path.write_bytes(raw)
    return raw, path


def damaged(tmp_path: Path, raw: bytes, *edits: tuple[int, bytes]) -> Path:
    buf = bytearray(raw)
    for offset, blob in edits:
        buf[offset:offset + len(blob)] = blob
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(buf))
    return path


def chunk_at(n: int, offset: int = 0) -> int:
    return FILE_HEADER + n * CHUNK + offset


def test_an_intact_copy_has_no_problems(good: tuple[bytes, Path]) -> None:
    frame, warned = read(good[1])
    assert len(frame) == 358 and not warned
    reader = hecnb.iter_evtx(good[1])
    reader.read()
    assert reader.problems == [] and reader.summary() is None and reader.chunks == 9


def test_a_zeroed_chunk_in_the_middle_is_found(good: tuple[bytes, Path],
                                               tmp_path: Path) -> None:
    # the parser skips an all-zero chunk without a word: the chunk headers around it tell
    path = damaged(tmp_path, good[0], (chunk_at(3), bytes(CHUNK)))
    frame, warned = read(path)
    assert len(frame) == 358 - 43
    assert set(range(1742, 2100)) - set(frame["EventRecordID"]) == set(range(1862, 1905))
    assert len(warned) == 1
    assert str(warned[0].message).startswith(
        "damaged.evtx: 315 records read; 1 of 9 chunks unreadable (chunk 3: all zeros, wiped); "
        "at least 43 records lost (record ids 1862-1904)")
    reader = hecnb.iter_evtx(path, errors="ignore")
    reader.read()
    assert reader.unreadable_chunks == 1 and reader.lost_records == 43


def test_an_overwritten_chunk_header(good: tuple[bytes, Path], tmp_path: Path) -> None:
    path = damaged(tmp_path, good[0], (chunk_at(5), b"garbage!" * 64))
    reader = hecnb.iter_evtx(path, errors="ignore")
    frame = reader.read()
    assert len(frame) == 358 - 39 and reader.unreadable_chunks == 1
    assert [(p.chunk, p.lost) for p in reader.problems] == [(5, None), (None, 39)]
    assert "records 1948-1986 (39) are in no readable chunk" in reader.problems[1].reason


def test_broken_records_are_counted_one_by_one(good: tuple[bytes, Path],
                                               tmp_path: Path) -> None:
    path = damaged(tmp_path, good[0], (chunk_at(3, 600), bytes(100)))
    reader = hecnb.iter_evtx(path, errors="ignore")
    frame = reader.read()
    assert len(frame) == 315 and reader.bad_records == 43 and reader.lost_records == 43
    records = [p for p in reader.problems if p.record is not None]
    assert [p.record for p in records] == list(range(1862, 1905))
    assert all(p.chunk == 3 and p.lost == 1 for p in records)
    assert "43 unreadable records (in chunk 3)" in reader.summary()


def test_garbled_data_under_a_good_header_is_flagged(good: tuple[bytes, Path],
                                                     tmp_path: Path) -> None:
    path = damaged(tmp_path, good[0], (chunk_at(3, 5000), b"\xff" * 100))
    reader = hecnb.iter_evtx(path, errors="ignore")
    assert len(reader.read()) == 358  # read as the parser could...
    assert [(p.chunk, p.lost) for p in reader.problems] == [(3, 0)]  # ...but flagged
    assert "chunk 3 read despite a wrong checksum" in reader.summary()
    strict = hecnb.iter_evtx(path, validate_checksums=True, errors="ignore")
    assert len(strict.read()) == 315 and strict.unreadable_chunks == 1  # or skipped whole
    assert "CRC32" in strict.problems[0].reason and strict.lost_records == 43


def test_a_truncated_file(good: tuple[bytes, Path], tmp_path: Path) -> None:
    path = tmp_path / "cut.evtx"
    path.write_bytes(good[0][:chunk_at(3, 30_000)])
    reader = hecnb.iter_evtx(path, errors="ignore")
    assert len(reader.read()) == 120
    assert reader.problems[0].chunk == 3 and reader.problems[0].lost == 43
    assert "the file ends inside this chunk (30,000 of 65,536 bytes)" in reader.problems[0].reason


def test_many_kinds_of_damage_at_once_never_stop_the_reading(good: tuple[bytes, Path],
                                                             tmp_path: Path) -> None:
    path = damaged(tmp_path, good[0], (chunk_at(1), bytes(CHUNK)), (chunk_at(4), b"x" * 8),
                   (chunk_at(6, 600), bytes(100)))
    with pytest.warns(HecDataWarning, match="2 of 9 chunks unreadable"):
        frame = hecnb.read_evtx(path)
    got = set(frame["EventRecordID"])
    assert got >= set(range(1742, 1783)) | set(range(2027, 2100))  # before and after
    assert not got & (set(range(1783, 1823)) | set(range(1905, 1948)))


def test_trailing_zero_chunks_are_unused_space_not_damage(good: tuple[bytes, Path],
                                                         tmp_path: Path) -> None:
    path = tmp_path / "padded.evtx"
    path.write_bytes(good[0] + bytes(3 * CHUNK))
    frame, warned = read(path)
    assert len(frame) == 358 and not warned


# ---------------------------------------------------------------------------- not EVTX at all


def test_files_that_are_no_event_log(tmp_path: Path) -> None:
    with pytest.raises(EventFileError, match="No such file"):
        hecnb.read_evtx(tmp_path / "absent.evtx")
    with pytest.raises(EventFileError, match="is a directory"):
        hecnb.read_evtx(tmp_path)
    (tmp_path / "empty.evtx").write_bytes(b"")
    with pytest.raises(EventFileError, match="is empty"):
        hecnb.read_evtx(tmp_path / "empty.evtx")
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    with pytest.raises(EventFileError, match=r"not an EVTX file: it does not start with the "
                       r"'ElfFile' signature .*read_ndjson, read_csv or read_zeek"):
        hecnb.read_evtx(tmp_path / "a.csv")
    import gzip

    (tmp_path / "log.evtx.gz").write_bytes(gzip.compress(b"ElfFile\x00" + bytes(5000)))
    with pytest.raises(EventFileError, match="is gzip-compressed: decompress it first"):
        hecnb.read_evtx(tmp_path / "log.evtx.gz")
    (tmp_path / "short.evtx").write_bytes(b"ElfFile\x00" + bytes(100))
    with pytest.raises(EventFileError, match="cut short inside its file header"):
        hecnb.read_evtx(tmp_path / "short.evtx")
    with pytest.raises(hecnb.ConfigError, match="errors must be one of 'warn', 'ignore', "
                       "'raise'; got 'skip'"):
        hecnb.read_evtx(tmp_path / "short.evtx", errors="skip")
    with pytest.raises(hecnb.ConfigError, match="chunk_rows"):
        hecnb.iter_evtx(tmp_path / "short.evtx", chunk_rows=0)


def test_a_header_without_chunks_is_an_empty_log(good: tuple[bytes, Path],
                                                 tmp_path: Path) -> None:
    path = tmp_path / "new.evtx"
    path.write_bytes(good[0][:FILE_HEADER])
    frame, warned = read(path)
    assert len(frame) == 0 and not warned


def test_without_the_evtx_package_the_error_says_what_to_install(
        good: tuple[bytes, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "evtx", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'hecnb\[evtx\]'"):
        hecnb.read_evtx(good[1])


def test_import_hecnb_does_not_import_evtx() -> None:
    code = ("import sys, hecnb; hecnb.read_evtx; "
            "print('evtx' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False True"  # pandas comes with the reader, evtx on reading


# ------------------------------------------------------------------------------ in pieces


def test_iter_evtx_yields_bounded_frames_that_add_up(good: tuple[bytes, Path]) -> None:
    whole = hecnb.read_evtx(good[1])
    reader = hecnb.iter_evtx(good[1], chunk_rows=100)
    frames = list(reader)
    assert [len(f) for f in frames] == [100, 100, 100, 58]
    assert [f.index[0] for f in frames] == [0, 100, 200, 300]  # positions in the file
    assert len({tuple(f.columns) for f in frames}) > 1  # event types differ between pieces
    from hecnb._source.evtx import _concat

    joined = _concat(frames)
    pd.testing.assert_frame_equal(joined, whole)  # same columns, order and dtypes
    assert whole["EventData.ProcessId"].dtype == "Int64"
    assert whole["EventData.Initiated"].dtype == "boolean"
    with pytest.raises(RuntimeError, match="reads its file once"):
        iter(reader)
    assert "358 records, 0 problems" in repr(reader)


def test_a_piece_goes_out_as_soon_as_it_is_read(good: tuple[bytes, Path], hec: HEC,
                                                collector: Emulator) -> None:
    reader = hecnb.iter_evtx(good[1], chunk_rows=64)
    total = hecnb.SendReport()
    for frame in reader:
        total.merge(hec.send(frame, timestamp_column="TimeCreated", show_progress=False))
    assert total.delivered == 358 and not total.failed
    assert collector.wait_for(358)
    assert sorted(e["event"]["EventRecordID"] for e in collector.events) == list(
        range(1742, 2100))


# --------------------------------------------------------------- flattening, on the parser's
# own JSON for shapes the real samples lack (as in omerbenamram/evtx's test snapshots)


def test_unnamed_data_binary_and_qualifiers() -> None:
    event = {"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": "EventLog"}},
            "EventID": {"#attributes": {"Qualifiers": 32768}, "#text": 6009},
            "Level": 4, "Task": 0, "Keywords": "0x80000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": "2017-07-12T17:16:28.214161Z"}},
            "EventRecordID": 1, "Channel": "System", "Computer": "WIN-P4SIAA0SQCO",
            "Security": None},
        "EventData": {"Data": {"#text": ["10.00.", "15063", "", "Multiprocessor Free", "0"]},
                      "Binary": "DEADBEEF"}}}
    assert flatten_record(event) == {
        "ProviderName": "EventLog", "EventID": 6009, "Qualifiers": 32768, "Level": 4,
        "Task": 0, "Keywords": "0x80000000000000",
        "TimeCreated": "2017-07-12T17:16:28.214161Z", "EventRecordID": 1,
        "Channel": "System", "Computer": "WIN-P4SIAA0SQCO",
        "EventData.Data": ["10.00.", "15063", "", "Multiprocessor Free", "0"],
        "EventData.Binary": "DEADBEEF"}


def test_user_data_and_other_blocks_flatten_by_path() -> None:
    event = {"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-CAPI2",
                                         "Guid": "{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}",
                                         "EventSourceName": "CAPI2"}},
            "EventID": "53", "Correlation": {"#attributes": {"ActivityID": "{A1}"}},
            "Execution": {"#attributes": {"ProcessID": 1396, "ThreadID": 2132}},
            "Security": {"#attributes": {"UserID": "S-1-5-21-500"}},
            "TimeCreated": {"#attributes": {"SystemTime": "2017-05-19T02:02:36.203125Z"}},
            "Container": {"#attributes": {"Id": "c1"}}},
        "UserData": {"CryptRetrieveObjectByUrlWire": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/2004/06/windows/eventlog"},
            "URL": {"#attributes": {"scheme": "http"}, "#text": "http://crl.example/x.crl"},
            "HTTPRequestHeadersInfo": {"Header": "Connection: Keep-Alive",
                                       "Header_1": "GET /x.crl HTTP/1.1"},
            "Result": {"#attributes": {"value": "0"}}, "Timeout": "PT9.984S"}},
        "RenderingInfo": {"#attributes": {"Culture": "en-US"}, "Message": "hello",
                          "Keywords": {"Keyword": "Audit Success"}}}}
    flat = flatten_record(event)
    assert flat == {
        "ProviderName": "Microsoft-Windows-CAPI2",
        "ProviderGuid": "{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}", "EventSourceName": "CAPI2",
        "EventID": 53, "ActivityID": "{A1}", "ProcessID": 1396, "ThreadID": 2132,
        "UserID": "S-1-5-21-500", "TimeCreated": "2017-05-19T02:02:36.203125Z",
        "System.Container.Id": "c1",
        "UserData.CryptRetrieveObjectByUrlWire.URL.scheme": "http",
        "UserData.CryptRetrieveObjectByUrlWire.URL": "http://crl.example/x.crl",
        "UserData.CryptRetrieveObjectByUrlWire.HTTPRequestHeadersInfo.Header":
            "Connection: Keep-Alive",
        "UserData.CryptRetrieveObjectByUrlWire.HTTPRequestHeadersInfo.Header_1":
            "GET /x.crl HTTP/1.1",
        "UserData.CryptRetrieveObjectByUrlWire.Result.value": "0",
        "UserData.CryptRetrieveObjectByUrlWire.Timeout": "PT9.984S",
        "RenderingInfo.Culture": "en-US", "RenderingInfo.Message": "hello",
        "RenderingInfo.Keywords.Keyword": "Audit Success"}


def test_a_name_used_twice_keeps_both_values() -> None:
    flat = flatten_record({"Event": {"EventData": {
        "Item": {"#attributes": {"Name": "a"}, "Name": "b"}}}})
    assert flat == {"EventData.Item.Name": "a", "EventData.Item.Name_1": "b"}


# ------------------------------------------- logs written here: known content, no shared data


def _system(event_id: Any, record_id: int, when: dt.datetime, *,
            provider: list[tuple[str, Any]] | None = None) -> Any:
    return ("System", [], [
        ("Provider", provider or [("Name", "Service Control Manager"),
                                  ("Guid", "{555908d1-a6d7-4695-8e1e-26931d2012f4}"),
                                  ("EventSourceName", "Service Control Manager")], []),
        ("EventID", [("Qualifiers", Typed("u16", 16384))], [Typed("u16", event_id)]),
        ("Level", [], [Typed("u8", 4)]),
        ("TimeCreated", [("SystemTime", Typed("filetime", when))], []),
        ("EventRecordID", [], [Typed("u64", record_id)]),
        ("Correlation", [("ActivityID", Typed("guid", "0f5a3b1e-7c4d-4f7e-9a0b-123456789abc"))],
         []),
        ("Execution", [("ProcessID", Typed("u32", 700)), ("ThreadID", Typed("u32", 8))], []),
        ("Channel", [], ["System"]),
        ("Computer", [], [Typed("str", "SRV-7")]),
        ("Security", [("UserID", Typed("sid", "S-1-5-18"))], []),
    ])


T0 = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)


def test_shapes_the_samples_lack_go_through_the_real_parser(tmp_path: Path) -> None:
    """Unnamed Data, Binary, EventID qualifiers, EventSourceName, UserData with attributes,
    RenderingInfo: written as Windows writes them, read by the evtx parser, flattened here."""
    events = [
        (("Event", [], [_system(7036, 1, T0), ("EventData", [], [
            ("Data", [], [Typed("str", "Windows Update")]),
            ("Data", [], [Typed("str", "running")]),
            ("Binary", [], [Typed("bin", b"\xde\xad\xbe\xef")])])]), T0),
        (("Event", [], [_system(104, 2, T0 + dt.timedelta(seconds=1)), ("UserData", [], [
            ("LogFileCleared", [("xmlns", "http://manifests.microsoft.com/win/2004/08/windows/"
                                          "eventlog")], [
                ("SubjectUserName", [], [Typed("str", "admin")]),
                ("Channel", [("Scope", "local")], [Typed("str", "System")])])]),
            ("RenderingInfo", [("Culture", "en-US")], [
                ("Message", [], [Typed("str", "The System log file was cleared.")]),
                ("Level", [], ["Information"])])]), T0 + dt.timedelta(seconds=1)),
    ]
    path = tmp_path / "system.evtx"
    write_evtx(path, events)
    frame, warned = read(path)
    assert not warned and len(frame) == 2
    first, second = frame.to_dict("records")
    assert first["EventID"] == 7036 and first["Qualifiers"] == 16384  # #text + attribute
    assert first["ProviderName"] == first["EventSourceName"] == "Service Control Manager"
    assert first["ActivityID"].strip("{}").lower() == "0f5a3b1e-7c4d-4f7e-9a0b-123456789abc"
    assert first["UserID"] == "S-1-5-18" and first["ThreadID"] == 8
    assert first["TimeCreated"] == pd.Timestamp(T0)
    assert first["EventData.Data"] == ["Windows Update", "running"]
    assert first["EventData.Binary"].upper() == "DEADBEEF"
    assert second["UserData.LogFileCleared.SubjectUserName"] == "admin"
    assert second["UserData.LogFileCleared.Channel"] == "System"
    assert second["UserData.LogFileCleared.Channel.Scope"] == "local"
    assert second["RenderingInfo.Culture"] == "en-US"
    assert second["RenderingInfo.Message"] == "The System log file was cleared."
    assert second["RenderingInfo.Level"] == "Information"
    assert not any(str(c).endswith("xmlns") for c in frame.columns)


def test_the_demo_log_and_what_arrives(tmp_path: Path, hec: HEC, collector: Emulator) -> None:
    path = hecnb.demo_evtx(tmp_path / "Security.evtx", 600)
    frame, warned = read(path)
    assert not warned and len(frame) == 600
    counts = frame["EventID"].value_counts().to_dict()
    assert counts[4625] == 40 and counts[4720] == 1 and counts[1102] == 1
    assert set(counts) == {4624, 4625, 4688, 4720, 1102}
    assert frame["TimeCreated"].is_monotonic_increasing
    assert frame["TimeCreated"].iloc[0] > pd.Timestamp("2026-01-05T07:58:12Z")
    spray = frame[frame["EventID"] == 4625]
    assert set(spray["EventData.IpAddress"]) == {"203.0.113.50"}
    cleared = frame[frame["EventID"] == 1102].iloc[0]
    assert cleared["UserData.LogFileCleared.SubjectUserName"] == "svc-backup"
    again = hecnb.read_evtx(hecnb.demo_evtx(tmp_path / "again.evtx", 600))
    pd.testing.assert_frame_equal(frame, again)  # the same seed, the same log
    report = hec.send(frame, timestamp_column="TimeCreated", show_progress=False)
    assert report.ok and collector.wait_for(600)
    got = {e["event"]["EventRecordID"]: e["event"]["timestamp"] for e in collector.events}
    assert got == dict(zip(frame["EventRecordID"], frame["TimeCreated"].map(
        lambda t: t.value), strict=True))


def test_a_damaged_demo_log_reports_each_chunk(tmp_path: Path) -> None:
    path = hecnb.demo_evtx(tmp_path / "bad.evtx", 1000, damaged=2)
    reader = hecnb.iter_evtx(path, errors="ignore")
    frame = reader.read()
    whole = hecnb.read_evtx(hecnb.demo_evtx(tmp_path / "good.evtx", 1000))
    lost = set(whole["EventRecordID"]) - set(frame["EventRecordID"])
    assert reader.unreadable_chunks == 2 and len(lost) == reader.lost_records > 0
    assert len(frame) + len(lost) == 1000
    gaps = [p for p in reader.problems if p.chunk is None]
    assert sum(p.lost or 0 for p in gaps) == len(lost)
    with pytest.raises(hecnb.ConfigError, match="damaged must be from 0 to"):
        hecnb.demo_evtx(tmp_path / "x.evtx", 10, damaged=1)  # one chunk: none in the middle
