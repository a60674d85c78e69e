"""Real data nobody here wrote (``../shared/data``): each file loads with the right reader and
arrives at the emulator in every format that fits it, with its event count intact.

The files are read in place, never copied. Without the folder (a fresh clone) these tests skip
with the reason; in CI (``CI=true``) a missing folder is a failure, not a skip.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import KEY, SHARED_DATA, in_ci

import hecnb
from hecnb import HEC
from hecnb.emulator import Emulator

FORMATS = ("json", "yaml", "xml", "csv")
COUNTS = {
    "zeek_conn.log": 895, "suricata_eve.json": 266, "windows_sysmon_security.json": 184,
    "iocs_nobelium.csv": 127, "linux_auth.log": 7121, "apache_access.log": 5000,
    "aws_cloudtrail.json": 103, "azuread_audit.json": 4,
}


def data(name: str) -> Path:
    """The path of a shared file; skip (or, in CI, fail) when the folder is not there."""
    path = SHARED_DATA / name
    if not path.exists():
        reason = (f"shared test data not found at {SHARED_DATA} (it lives beside the repository "
                  "and is not part of a fresh clone; see README 'Licence')")
        if in_ci():
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def collector() -> Iterator[Emulator]:
    with Emulator(api_key=KEY) as emu:
        yield emu


@pytest.fixture
def hec(collector: Emulator) -> Iterator[HEC]:
    collector.reset()
    with HEC(api_key=KEY, ingest_url=collector.url, batch_max_bytes=256 * 1024) as client:
        yield client


def deliver(hec: HEC, collector: Emulator, frame: Any, expected: int, **kwargs: Any) -> list[Any]:
    """Send, check every event was acknowledged and stored once; return what arrived."""
    collector.reset()
    report = hec.send(frame, show_progress=False, **kwargs)
    assert report.ok, report.failed[:3]
    assert report.delivered == report.total == expected
    assert collector.wait_for(expected)
    events = collector.events
    assert len(events) == expected
    return events


# ----------------------------------------------------------------------------------- loading


def test_zeek_conn_log_loads_with_its_header() -> None:
    conn = hecnb.read_zeek(data("zeek_conn.log"))
    assert len(conn) == COUNTS["zeek_conn.log"] and len(conn.columns) == 21
    assert str(conn["ts"].dtype) == "datetime64[ns, UTC]"
    assert conn["ts"].iloc[0] == pd.Timestamp("2023-09-06T04:51:46.500310Z")  # exact, not float
    assert conn["duration"].isna().sum() == 87  # '-' is unset
    assert conn["id.resp_p"].dtype == "Int64" and conn["local_orig"].dtype == "boolean"
    assert conn["proto"].value_counts().to_dict() == {"udp": 869, "tcp": 26}
    assert conn["tunnel_parents"].isna().all()  # set[string], all unset here
    assert "gssapi,krb,smb" in set(conn["service"].dropna())


@pytest.mark.parametrize("name", ["suricata_eve.json", "windows_sysmon_security.json",
                                  "aws_cloudtrail.json", "azuread_audit.json"])
def test_ndjson_files_load(name: str) -> None:
    path = data(name)
    records = hecnb.read_ndjson(path, as_frame=False)
    frame = hecnb.read_ndjson(path)
    assert len(records) == len(frame) == COUNTS[name]
    raw_lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
    assert records == [json.loads(line) for line in raw_lines]  # CRLF or not, same objects
    assert not any(isinstance(c, str) and c.endswith("\r") for c in frame.columns)


def test_sysmon_is_crlf_and_keeps_ints() -> None:
    path = data("windows_sysmon_security.json")
    assert b"\r\n" in path.read_bytes()
    frame = hecnb.read_ndjson(path)
    assert frame["EventID"].dtype.kind in "iu" or str(frame["EventID"].dtype) == "Int64"
    assert len({k for r in hecnb.read_ndjson(path, as_frame=False) for k in r}) == 88


def test_ioc_csv_bom_and_non_breaking_spaces() -> None:
    path = data("iocs_nobelium.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    iocs = hecnb.read_csv(path)
    assert len(iocs) == COUNTS["iocs_nobelium.csv"] and iocs.columns[0] == "DateAdded"
    assert iocs.isna().sum().sum() == 472  # empty cells are missing
    assert "cdnappservice.web.app\u00a0" in set(iocs["IoC"])  # kept exactly, not stripped
    assert iocs["Type"].value_counts().to_dict() == {"SHA256": 78, "Domain": 41, "IP": 7,
                                                     "Url": 1}


# ------------------------------------------------------------------------------ to the emulator


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_arrives_in_every_format(fmt: str, hec: HEC, collector: Emulator) -> None:
    conn = hecnb.read_zeek(data("zeek_conn.log"))
    events = deliver(hec, collector, conn, 895, ingest_format=fmt, timestamp_column="ts",
                     host="zeek")
    uids = sorted(e["event"]["uid"] for e in events)
    assert uids == sorted(conn["uid"])
    if fmt == "json":
        first = next(e["event"] for e in events if e["event"]["uid"] == conn["uid"].iloc[0])
        assert first["timestamp"] == conn["ts"].iloc[0].value  # nanoseconds since the epoch
        assert first["ts"] == "2023-09-06T04:51:46.500310Z"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["suricata_eve.json", "windows_sysmon_security.json",
                                  "aws_cloudtrail.json", "azuread_audit.json"])
def test_ndjson_arrives_in_every_format(name: str, fmt: str, hec: HEC,
                                        collector: Emulator) -> None:
    frame = hecnb.read_ndjson(data(name))
    events = deliver(hec, collector, frame, COUNTS[name], ingest_format=fmt)
    if name == "azuread_audit.json":  # JSON inside strings survives exactly, in every format
        sent = sorted(hecnb.read_ndjson(data(name), as_frame=False),
                      key=lambda r: r["CorrelationId"])
        got = sorted((e["event"] for e in events), key=lambda e: e["CorrelationId"])
        for g, s in zip(got, sent, strict=True):
            assert g["AdditionalDetails"] == s["AdditionalDetails"]
            assert json.loads(g["TargetResources"]) == json.loads(s["TargetResources"])
            assert g["OperationName"] == s["OperationName"]  # en dash, trailing space


@pytest.mark.parametrize("name", ["suricata_eve.json", "aws_cloudtrail.json",
                                  "windows_sysmon_security.json"])
def test_ndjson_records_as_raw_json_lines(name: str, hec: HEC, collector: Emulator) -> None:
    records = hecnb.read_ndjson(data(name), as_frame=False)
    events = deliver(hec, collector, records, COUNTS[name], raw_ingest=True, na="null")
    assert all(json.loads(e["raw"])["event"] for e in events)


@pytest.mark.parametrize("fmt", FORMATS)
def test_ioc_csv_arrives_in_every_format(fmt: str, hec: HEC, collector: Emulator) -> None:
    iocs = hecnb.read_csv(data("iocs_nobelium.csv"))
    events = deliver(hec, collector, iocs, 127, ingest_format=fmt, fields={"#feed": "mstic"})
    assert sorted(e["event"]["IoC"] for e in events) == sorted(iocs["IoC"])


@pytest.mark.parametrize("name", ["linux_auth.log", "apache_access.log"])
def test_text_logs_raw_and_as_events(name: str, hec: HEC, collector: Emulator) -> None:
    lines = data(name).read_text(encoding="utf-8").splitlines()
    assert len(lines) == COUNTS[name]
    events = deliver(hec, collector, lines, len(lines), raw_ingest=True)
    assert sorted(e["raw"] for e in events) == sorted(lines)
    frame = pd.DataFrame({"message": lines})
    for fmt in FORMATS:
        for raw in (False, True):
            got = deliver(hec, collector, frame, len(lines), ingest_format=fmt, raw_ingest=raw,
                          host="syslog")
            assert len(got) == len(lines)


def test_missing_folder_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SHARED_DATA", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="shared test data not found"):
        data("zeek_conn.log")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        data("zeek_conn.log")


# ------------------------------------------------------- the loaders on small files of our own


def test_read_zeek_rules(tmp_path: Path) -> None:
    log = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
           "#fields\tts\tname\ttags\tn\tok\tdur\n"
           "#types\ttime\tstring\tset[string]\tcount\tbool\tinterval\n"
           "1700000000.123456789\ta\\x09b\ta,b\t7\tT\t0.5\n"
           "-\t(empty)\t(empty)\t-\tF\t-\n"
           "1700000001\t-\t-\t18446744073709551615\t-\t1.25\n"
           "#close\t2023-11-14-22-13-21\n")
    path = tmp_path / "x.log.gz"
    import gzip
    path.write_bytes(gzip.compress(log.encode()))
    z = hecnb.read_zeek(path)
    assert len(z) == 3 and list(z.columns) == ["ts", "name", "tags", "n", "ok", "dur"]
    assert z["ts"].iloc[0] == pd.Timestamp("2023-11-14T22:13:20.123456789Z")
    assert pd.isna(z["ts"].iloc[1]) and z["ts"].iloc[2] == pd.Timestamp(1700000001, unit="s",
                                                                         tz="UTC")
    assert z["name"].tolist()[:2] == ["a\tb", ""] and pd.isna(z["name"].iloc[2])
    assert z["tags"].tolist() == [["a", "b"], [], None]
    assert z["n"].dtype == "UInt64" and z["n"].iloc[2] == 2**64 - 1 and pd.isna(z["n"].iloc[1])
    assert z["ok"].tolist()[:2] == [True, False] and pd.isna(z["ok"].iloc[2])
    events = [json.loads(x)["event"] for x in hecnb.to_events(z, timestamp_column="ts")]
    assert events[0]["timestamp"] == 1700000000123456789 and events[1]["tags"] == []
    with pytest.raises(hecnb.EventFileError, match="#fields"):
        (tmp_path / "plain.txt").write_text("hello\n")
        hecnb.read_zeek(tmp_path / "plain.txt")


def test_read_ndjson_crlf_bom_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1, "b": {"c": null}}\r\n\r\n{"b": 2, "big": 123456789012'
                     b'345678901234567890}\r\n')
    assert hecnb.read_ndjson(path, as_frame=False) == [
        {"a": 1, "b": {"c": None}}, {"b": 2, "big": 123456789012345678901234567890}]
    frame = hecnb.read_ndjson(path)
    assert str(frame["a"].dtype) == "Int64"
    assert frame["big"].iloc[1] == 123456789012345678901234567890
    line = hecnb.to_events(frame, timestamp_column=None)[1]
    assert b'"big":123456789012345678901234567890' in line  # exact, past 64 bits
    path.write_bytes(b'{"a": 1}\n[1, 2]\n')
    with pytest.raises(hecnb.EventFileError, match="line 2 is a JSON list"):
        hecnb.read_ndjson(path)


def test_read_csv_bom_and_text_that_looks_missing(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes('\ufeffcountry,ioc\r\nNA,evil.example\u00a0\r\n,null\r\n'.encode())
    frame = hecnb.read_csv(path)
    assert list(frame.columns) == ["country", "ioc"]
    assert frame["country"].iloc[0] == "NA" and pd.isna(frame["country"].iloc[1])
    assert frame["ioc"].tolist() == ["evil.example\u00a0", "null"]
    with pytest.raises(hecnb.EventFileError):
        hecnb.read_csv(tmp_path / "absent.csv")


# --------------------------------------------- every record keeps its own time (issue 14)


def _arrived_times(hec: HEC, collector: Emulator, frame: pd.DataFrame
                   ) -> tuple[Any, dict[int, dict[str, Any]]]:
    """Send ``frame`` as read, with no time option (a row id added to find each record);
    return the report and the stored envelopes by row id."""
    frame = frame.assign(row_id=range(len(frame)))
    collector.reset()
    report = hec.send(frame, show_progress=False)
    assert report.ok and report.delivered == len(frame)
    assert collector.wait_for(len(frame))
    return report, {e["event"]["row_id"]: e for e in collector.events}


def _assert_own_times(arrived: dict[int, dict[str, Any]], want_ns: list[int]) -> None:
    """Each record's event time at the collector is its own, to the millisecond, both in
    FalconPy's ``event.timestamp`` and in HEC's top-level ``time``."""
    assert len(arrived) == len(want_ns)
    for row, ns in enumerate(want_ns):
        env = arrived[row]
        assert env["event"]["timeunit"] == "nanoseconds"
        assert env["event"]["timestamp"] // 10**6 == ns // 10**6, row
        assert round(env["time"] * 10**6) == ns // 1000, row  # float seconds: to the us


def _ns(stamps: pd.Series) -> list[int]:
    return [int(t.value) for t in stamps]


def test_zeek_conn_log_records_keep_their_time(hec: HEC, collector: Emulator) -> None:
    conn = hecnb.read_zeek(data("zeek_conn.log"))
    report, arrived = _arrived_times(hec, collector, conn)
    assert report.time_fields == {"ts": 895} and "event time from 'ts'" in str(report)
    # the reference: the file's own text, read here without hecnb
    lines = [x for x in data("zeek_conn.log").read_text().splitlines() if x[:1] != "#"]
    want = [int(x.split("\t")[0].replace(".", "")) * 1000 for x in lines]  # 6 digits: us
    _assert_own_times(arrived, want)
    assert [arrived[i]["event"]["timestamp"] for i in range(3)] == want[:3]  # to the ns


@pytest.mark.parametrize(("name", "field", "naive"), [
    ("suricata_eve.json", "timestamp", False),
    ("windows_sysmon_security.json", "TimeCreated", True),   # no zone: UTC, as documented
    ("aws_cloudtrail.json", "@timestamp", False),
    ("azuread_audit.json", "TimeGenerated", False),
])
def test_ndjson_records_keep_their_time(name: str, field: str, naive: bool, hec: HEC,
                                        collector: Emulator) -> None:
    frame = hecnb.read_ndjson(data(name))
    report, arrived = _arrived_times(hec, collector, frame)
    assert report.time_fields == {field: COUNTS[name]} and report.time_fallback == 0
    assert not report.warnings
    raw = [json.loads(x)[field] for x in data(name).read_text(encoding="utf-8").splitlines()
           if x.strip()]
    reference = pd.to_datetime(pd.Series(raw), format="ISO8601", utc=not naive)
    if naive:
        reference = reference.dt.tz_localize("UTC")
    _assert_own_times(arrived, _ns(reference))
    if field != "timestamp":  # the record's own field stays in the event, as it was
        assert [arrived[i]["event"][field] for i in range(len(raw))] == raw


def test_linux_auth_log_records_keep_their_time(hec: HEC, collector: Emulator) -> None:
    path = data("linux_auth.log")
    auth = hecnb.read_syslog(path)
    assert len(auth) == COUNTS["linux_auth.log"] and auth["time"].notna().all()
    assert set(auth.columns) >= {"time", "host", "program", "pid", "message"}
    report, arrived = _arrived_times(hec, collector, auth)
    assert report.time_fields == {"time": 7121}
    # the year rule (no year in RFC 3164): the file's modification year, since the last line
    # (Apr 20) is earlier in the year than that, and no new year within (Mar 27 .. Apr 20)
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc)
    year = modified.year - (1 if (modified.month, modified.day) < (4, 20) else 0)
    lines = path.read_text(encoding="utf-8").splitlines()
    want = [dt.datetime.strptime(f"{year} {x[:15]}", "%Y %b %d %H:%M:%S").replace(
        tzinfo=dt.timezone.utc) for x in lines]
    _assert_own_times(arrived, [int(w.timestamp()) * 10**9 for w in want])
    first = arrived[0]["event"]
    assert (first["host"], first["program"], first["pid"]) == ("ip-10-77-20-248", "sshd", 1291)


def test_apache_access_log_records_keep_their_time(hec: HEC, collector: Emulator) -> None:
    path = data("apache_access.log")
    web = hecnb.read_apache(path)
    assert len(web) == COUNTS["apache_access.log"] and web["time"].notna().all()
    assert web["message"].isna().all()  # every line is in the combined format
    report, arrived = _arrived_times(hec, collector, web)
    assert report.time_fields == {"time": 5000}
    lines = path.read_text(encoding="utf-8").splitlines()
    want = [dt.datetime.strptime(x.split("[", 1)[1].split("]", 1)[0], "%d/%b/%Y:%H:%M:%S %z")
            for x in lines]
    _assert_own_times(arrived, [int(w.timestamp()) * 10**9 for w in want])
    first = arrived[0]["event"]
    assert (first["client"], first["method"], first["status"], first["bytes"]) == (
        "83.149.9.216", "GET", 200, 203023)


def test_ioc_csv_has_no_event_time_and_says_so(hec: HEC, collector: Emulator) -> None:
    """An indicator list is not a log: DateAdded and FirstSeen (M/D/YYYY) are the indicator's
    dates, not an event time; the send time is used and the report says so."""
    iocs = hecnb.read_csv(data("iocs_nobelium.csv"))
    t0 = pd.Timestamp.now("UTC").value
    report, arrived = _arrived_times(hec, collector, iocs)
    t1 = pd.Timestamp.now("UTC").value
    assert report.time_column is None and report.time_fallback == 0
    assert "no time field found" in str(report)
    assert all(t0 <= e["event"]["timestamp"] <= t1 for e in arrived.values())
    assert arrived[0]["event"]["DateAdded"] == "5/28/2021"  # kept as it was


def _touch(path: Path, when: str) -> None:
    stamp = pd.Timestamp(when).timestamp()
    import os

    os.utime(path, (stamp, stamp))


def test_read_syslog_forms_and_the_year_rule(tmp_path: Path) -> None:
    path = tmp_path / "messages"
    path.write_text(
        "Dec 31 23:59:58 fw1 kernel: DROP IN=eth0\n"
        "<38>Jan  1 00:00:01 fw1 sshd[42]: Accepted publickey for alice\n"
        "Jan  1 00:00:02 fw1 sudo:   alice : TTY=pts/0 ; COMMAND=/bin/ls\n"
        "\n"
        "this line is no syslog\n"
        "2024-01-01T00:00:03.250+01:00 web2 nginx[7]: upstream timed out\n"
        "<165>1 2024-01-01T00:00:04.5Z app3 billing 99 ID47 [ex@32473 iut=\"3\"] "
        "payment failed\n"
        "<13>1 2024-01-01T00:00:05Z - - - - -\n")
    _touch(path, "2024-01-02T12:00:00Z")  # written in 2024: the last BSD line is Jan 1 2024
    log = hecnb.read_syslog(path)
    assert len(log) == 7  # the blank line is no record
    t = log["time"]
    assert t.iloc[0] == pd.Timestamp("2023-12-31T23:59:58Z")  # a year back across New Year
    assert t.iloc[1] == pd.Timestamp("2024-01-01T00:00:01Z")
    assert pd.isna(t.iloc[3]) and log["message"].iloc[3] == "this line is no syslog"
    assert t.iloc[4] == pd.Timestamp("2023-12-31T23:00:03.250Z")  # its own offset
    assert t.iloc[5] == pd.Timestamp("2024-01-01T00:00:04.5Z")
    assert log["program"].tolist()[:3] == ["kernel", "sshd", "sudo"]
    assert log["pid"].tolist()[:3] == [pd.NA, 42, pd.NA]
    assert log["message"].iloc[2] == "  alice : TTY=pts/0 ; COMMAND=/bin/ls"
    assert log["facility"].tolist()[1] == 4 and log["severity"].tolist()[1] == 6
    assert (log["msgid"].iloc[5], log["structured_data"].iloc[5]) == (
        "ID47", '[ex@32473 iut="3"]')
    assert pd.isna(log["host"].iloc[6]) and pd.isna(log["program"].iloc[6])
    # year= is the year of the first line; a zone for clocks without one
    given = hecnb.read_syslog(path, year=2019, tz="America/New_York")
    assert given["time"].iloc[0] == pd.Timestamp("2020-01-01T04:59:58Z")
    assert given["time"].iloc[1] == pd.Timestamp("2020-01-01T05:00:01Z")
    assert given["time"].iloc[4] == pd.Timestamp("2023-12-31T23:00:03.250Z")  # offset kept
    # modified earlier in the year than the last line: that line is from the year before
    _touch(path, "2024-12-31T12:00:00Z")
    assert hecnb.read_syslog(path)["time"].iloc[1].year == 2024
    path.write_text("Dec 30 10:00:00 h p: x\n")
    _touch(path, "2025-06-01T00:00:00Z")
    assert hecnb.read_syslog(path)["time"].iloc[0] == pd.Timestamp("2024-12-30T10:00:00Z")
    # what the rule finds: time, to the event; the host column is the event's host
    (event,) = [json.loads(x)["event"] for x in hecnb.to_events(hecnb.read_syslog(path))]
    assert event["timestamp"] == pd.Timestamp("2024-12-30T10:00:00Z").value
    assert event["host"] == "h" and event["time"] == "2024-12-30T10:00:00Z"
    with pytest.raises(hecnb.EventFileError):
        hecnb.read_syslog(tmp_path / "absent.log")


def test_read_apache_common_combined_and_odd_lines(tmp_path: Path) -> None:
    path = tmp_path / "access.log.gz"
    import gzip

    path.write_bytes(gzip.compress(
        b'10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n'
        b'10.0.0.2 - - [10/Oct/2000:13:55:37 +0000] "POST /login HTTP/1.1" 302 - '
        b'"http://example.com/" "curl/8.0 \\"quoted\\""\n'
        b'10.0.0.3 - - [10/Oct/2000:13:55:38 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"\n'
        b"not an access log line\n"))
    web = hecnb.read_apache(path)
    assert len(web) == 4
    assert web["time"].iloc[0] == pd.Timestamp("2000-10-10T20:55:36Z")  # its own offset
    assert (web["method"].iloc[0], web["path"].iloc[0], web["protocol"].iloc[0]) == (
        "GET", "/apache_pb.gif", "HTTP/1.0")
    assert web["user"].iloc[0] == "frank" and pd.isna(web["ident"].iloc[0])
    assert web["status"].tolist()[:3] == [200, 302, 400]
    assert web["bytes"].tolist()[:3] == [2326, 0, 0]  # '-': no body
    assert web["user_agent"].iloc[1] == 'curl/8.0 "quoted"'
    assert pd.isna(web["referer"].iloc[2]) and pd.isna(web["method"].iloc[2])
    assert web["request"].iloc[2] == "\\x16\\x03\\x01"  # a probe's bytes, as Apache wrote them
    assert pd.isna(web["time"].iloc[3]) and web["message"].iloc[3] == "not an access log line"
    events = [json.loads(x)["event"] for x in hecnb.to_events(web)]
    assert events[0]["timestamp"] == pd.Timestamp("2000-10-10T20:55:36Z").value
    assert "host" not in events[0]  # the client is no host of ours: pass host=


def test_read_zeek_json_ts_becomes_utc_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "conn.json"
    path.write_text('{"ts": 1693958400.123456, "uid": "C1"}\n{"ts": 1693958401, "uid": "C2"}\n')
    conn = hecnb.read_zeek(path)
    assert str(conn["ts"].dtype) == "datetime64[ns, UTC]"
    assert conn["ts"].iloc[0] == pd.Timestamp("2023-09-06T00:00:00.123456Z")
    assert json.loads(hecnb.to_events(conn)[0])["event"]["timestamp"] == 1693958400123456000


@pytest.mark.parametrize("reader", ["read_syslog", "read_apache"])
def test_text_log_readers_on_empty_and_foreign_files(reader: str, tmp_path: Path) -> None:
    read = getattr(hecnb, reader)
    (tmp_path / "empty.log").write_bytes(b"")
    empty = read(tmp_path / "empty.log")
    assert len(empty) == 0 and "time" in empty.columns and hecnb.to_events(empty) == []
    (tmp_path / "other.log").write_bytes(b"nothing like a log line\r\n\xff\xfe binary\r\n")
    other = read(tmp_path / "other.log")
    assert other["time"].isna().all() and other["message"].tolist() == [
        "nothing like a log line", "\ufffd\ufffd binary"]  # kept, never dropped
    from hecnb._send.bodies import encode_noted

    notes = encode_noted(other, "json")[1]
    assert notes is not None and notes.fallback == 2  # sent with the send time, counted
