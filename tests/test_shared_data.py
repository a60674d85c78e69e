"""Real data nobody here wrote (``../shared/data``): each file loads with the right reader and
arrives at the emulator in every format that fits it, with its event count intact.

The files are read in place, never copied. Without the folder (a fresh clone) these tests skip
with the reason; in CI (``CI=true``) a missing folder is a failure, not a skip.
"""

from __future__ import annotations

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
