"""The event-time rule (hecnb/_encode/eventtime.py, docs/formats.md "Event time"): which member
gives an event its time, how values are read, and that lists of dicts, DataFrames and files
agree.

Every event is checked by its ``timestamp`` (an integer count of ``timeunit``) and by the
envelope's top-level ``time`` (epoch seconds), as the collector stores them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from conftest import KEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hecnb
from hecnb import HEC, ConversionError, IngestPayload, to_events
from hecnb._encode import eventtime as evtime
from hecnb._encode.frametimes import column_times
from hecnb._encode.jsonevents import JsonEventEncoder
from hecnb._encode.timenotes import TimeNotes
from hecnb._send.bodies import encode_noted
from hecnb.emulator import Emulator

ZEEK_TS = 1693958400.123456  # 2023-09-06T00:00:00.123456Z
ZEEK_NS = 1693958400123456000


def events_of(data: Any, **options: Any) -> list[dict[str, Any]]:
    """The envelopes ``data`` encodes to (json, event endpoint)."""
    return [orjson.loads(line) for line in to_events(data, **options)]


def stamp_of(data: Any, **options: Any) -> list[int]:
    return [e["event"]["timestamp"] for e in events_of(data, **options)]


def notes_of(data: Any, fmt: str = "json", **options: Any) -> TimeNotes:
    _, notes = encode_noted(data, fmt, **options)
    assert notes is not None
    return notes


def both(records: list[dict[str, Any]], **options: Any) -> tuple[list[int], list[int]]:
    """The timestamps of a list of records and of the DataFrame made from it."""
    return stamp_of(records, **options), stamp_of(pd.DataFrame(records), **options)


def is_now(stamp: int, unit_per_s: int = 10**9) -> bool:
    return abs(stamp - pd.Timestamp.now("UTC").value // (10**9 // unit_per_s)) < 60 * unit_per_s


# ------------------------------------------------------------------------------------ names


@pytest.mark.parametrize("name", evtime.NAMES)
def test_every_well_known_name_is_found_in_any_case(name: str) -> None:
    for spelling in (name, name.upper(), name.lower()):
        records = [{"user": "alice", spelling: "2024-05-06T07:08:09.123Z"}]
        listed, framed = both(records)
        assert listed == framed == [1714979289123000000], spelling
        assert notes_of(records).fields == {spelling: 1}


def test_the_names_come_in_rank_order() -> None:
    record = {"ts": 1700000000, "@timestamp": "2024-01-01T00:00:00Z",
              "TimeCreated": "2020-01-01 00:00:00", "timestamp": 1_600_000_000_000_000_000}
    listed, framed = both([record])
    assert listed == framed == [1_600_000_000_000_000_000]  # FalconPy's own member first
    del record["timestamp"]
    assert both([record]) == ([1704067200 * 10**9], [1704067200 * 10**9])  # then @timestamp
    del record["@timestamp"]
    assert both([record]) == ([1700000000 * 10**9], [1700000000 * 10**9])  # ts before Windows
    assert [evtime.NAMES.index(n) for n in ("timestamp", "@timestamp", "_time", "time", "ts",
                                            "TimeCreated")] == [0, 1, 2, 3, 4, 5]


def test_equal_rank_spellings_exact_first_then_code_point_order() -> None:
    # "Timestamp" and "TIMESTAMP" rank as "timestamp"; the listed spelling wins, then
    # code-point order ("TIMESTAMP" < "Timestamp"), whatever the column order
    for record in ({"Timestamp": 1700000001, "TIMESTAMP": 1700000002, "timestamp": 3},
                   {"TIMESTAMP": 1700000002, "Timestamp": 1700000001}):
        listed, framed = both([record])
        want = 3 if "timestamp" in record else 1700000002 * 10**9
        assert listed == framed == [want]
    assert evtime.Ranker().order(["Timestamp", "TS", "timestamp", "TIMESTAMP", "x"]) == [
        "timestamp", "TIMESTAMP", "Timestamp", "TS"]


def test_per_event_the_first_readable_candidate() -> None:
    records = [{"timestamp": None, "ts": ZEEK_TS}, {"ts": ZEEK_TS},
               {"timestamp": "yesterday", "ts": ZEEK_TS}, {"n": 1}]
    listed = stamp_of(records)
    framed = stamp_of(pd.DataFrame(records))
    assert listed[:3] == framed[:3] == [ZEEK_NS] * 3
    assert is_now(listed[3]) and is_now(framed[3])
    notes = notes_of(records)
    assert notes.fields == {"ts": 3} and notes.fallback == 1
    assert notes.unreadable == {"timestamp": 1}


def test_otherwise_the_only_datetime_member() -> None:
    when = dt.datetime(2024, 3, 4, 5, 6, 7, 890000, tzinfo=dt.timezone.utc)
    records = [{"created": when, "n": 1}]
    listed, framed = both(records)
    assert listed == framed == [int(pd.Timestamp(when).value)]
    assert notes_of(pd.DataFrame(records)).fields == {"created": 1}
    # two datetime members and no name: neither is guessed, and the report says why
    two = [{"a": when, "b": when, "n": 1}]
    for data in (two, pd.DataFrame(two)):
        stamps = stamp_of(data)
        assert is_now(stamps[0])
        notes = notes_of(data)
        assert not notes.fields and "2 datetime" in notes.all_warnings()[0]
        assert "timestamp_column=" in notes.all_warnings()[0]
    # a name wins over a datetime column
    assert both([{"created": when, "ts": 1700000000}])[0] == [1700000000 * 10**9]


def test_timestamp_column_none_keeps_falconpys_rule() -> None:
    records = [{"ts": ZEEK_TS, "timestamp": 5}, {"ts": ZEEK_TS}]
    listed, framed = both(records, timestamp_column=None)
    assert listed[0] == framed[0] == 5  # FalconPy's member, as it is
    assert is_now(listed[1]) and is_now(framed[1])  # ts is not looked at
    assert notes_of(records, timestamp_column=None).rule == "timestamp"
    # the per-event path too, and what FalconPy itself gives for {"timestamp": 1}
    assert JsonEventEncoder(timestamp_column=None).envelope({"ts": ZEEK_TS})["event"][
        "timestamp"] != ZEEK_NS
    assert stamp_of([{"timestamp": 1}]) == [1]


def test_a_named_column_is_used_alone_and_must_hold_times() -> None:
    records = [{"ts": ZEEK_TS, "when": "2024-01-01T00:00:00Z"}]
    assert both(records, timestamp_column="when") == ([1704067200 * 10**9],) * 2
    with pytest.raises(ConversionError) as err:
        to_events(pd.DataFrame({"when": ["2024-01-01", "soon"]}, index=["a", "b"]),
                  timestamp_column="when")
    assert (err.value.column, err.value.row) == ("when", "b")
    assert "'soon'" in str(err.value)
    with pytest.raises(ConversionError) as err:
        to_events([{"when": "2024-01-01"}, {"when": "soon"}], timestamp_column="when")
    assert (err.value.column, err.value.row) == ("when", 1)
    assert "key 'when'" in str(err.value) and "record 1" in str(err.value)


# ----------------------------------------------------------------------------------- values


@pytest.mark.parametrize(("value", "ns"), [
    (1693958400, 1693958400 * 10**9),                     # seconds
    (1693958400123, 1693958400123 * 10**6),               # milliseconds
    (1693958400123456, 1693958400123456 * 10**3),         # microseconds
    (1693958400123456789, 1693958400123456789),           # nanoseconds
    (ZEEK_TS, ZEEK_NS),                                   # Zeek: float seconds, to the us
    (1693958400123.5, 1693958400123500000),               # float milliseconds
    ("1693958400", 1693958400 * 10**9),                   # numbers in strings
    ("1693958400.5", 1693958400500000000),
    ("1693958400123", 1693958400123 * 10**6),
    (-86400, -86400 * 10**9),                             # before 1970
])
def test_epochs_by_magnitude(value: Any, ns: int) -> None:
    records = [{"ts": value}]
    listed, framed = both(records)
    assert listed == framed == [ns]
    assert stamp_of(records, timeunit="ms") == [ns // 10**6]


@pytest.mark.parametrize(("text", "ns"), [
    ("2017-01-30T16:12:26.985026+0100", 1485789146985026000),     # Suricata
    ("2017-01-30T16:12:26.985026+01:00", 1485789146985026000),
    ("2017-01-30T16:12:26.985026+01", 1485789146985026000),
    ("2017-01-30T15:12:26.985026Z", 1485789146985026000),
    ("2017-01-30 15:12:26.985026", 1485789146985026000),          # naive: UTC
    ("2017-01-30T15:12:26", 1485789146000000000),
    ("2017-01-30T15:12", 1485789120000000000),
    ("2017-01-30", 1485734400000000000),
    ("2023-09-06T04:51:46.500310123Z", 1693975906500310123),      # nanoseconds
    ("2023-09-06T04:51:46.5-05:30", 1693975906500000000 + 19800 * 10**9),
])
def test_iso_8601_with_zones_and_naive_as_utc(text: str, ns: int) -> None:
    listed, framed = both([{"time": text}])
    assert listed == framed == [ns]
    assert evtime.iso_ns(text) == evtime._iso_slow(text) == ns


@pytest.mark.parametrize("text", [
    "yesterday", "5/28/2021", "2024-W01-1", "20240101T100000Z", "2024-01-01T10:00:00,5Z",
    "2024-01-01t10:00:00z", " 2024-01-01T10:00:00Z", "2024-01-01T10", "2024-1-1",
    "2024-01-01T10:00:00+01:00:30", "2024-01-01T10:00:00.Z", "2024-01-01T10:00:00.1234567891Z",
    "2024-02-30T00:00:00Z", "2024-01-01T24:00:00", "١٩٩٠-01-01", "1e9", "Mar 27 13:06:56",
])
def test_strings_outside_the_grammar_fall_back_and_are_counted(text: str) -> None:
    records = [{"time": text, "n": 1}, {"time": "2024-01-01T00:00:00Z", "n": 2}]
    for data in (records, pd.DataFrame(records)):
        stamps = stamp_of(data)
        assert is_now(stamps[0]) and stamps[1] == 1704067200 * 10**9
        notes = notes_of(data)
        assert notes.unreadable == {"time": 1} and notes.fallback == 1
        assert "could not be read as a time" in notes.all_warnings()[0]


def test_datetime_values_numpy_pandas_and_dates() -> None:
    aware = dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    want = int(pd.Timestamp(aware).value)
    values = [aware, pd.Timestamp(aware), pd.Timestamp(aware).tz_convert("UTC").tz_localize(None),
              np.datetime64(want, "ns"), np.datetime64(want // 1000, "us")]
    for value in values:
        assert evtime.read(value, "ts", 1) == want, value
    assert evtime.read(dt.date(2024, 1, 2), "ts", 1) == 1704153600 * 10**9
    assert evtime.read(pd.Timestamp("2024-01-02T03:04:05.000000007"), "ts", 1) % 1000 == 7
    for missing in (None, float("nan"), pd.NaT, pd.NA, np.datetime64("NaT"), ""):
        assert evtime.read(missing, "ts", 1) is None
    for bad in (True, [1], {"a": 1}, dt.timedelta(1), 10**30, 1e300, "x"):
        with pytest.raises(evtime.Unreadable):
            evtime.read(bad, "ts", 1)


def test_falconpys_timestamp_member_is_already_in_the_time_unit() -> None:
    # FalconPy's IngestPayload(timestamp=...) and {"timestamp": n}: a count of timeunit
    assert both([{"timestamp": 1700000000123}], timeunit="ms") == ([1700000000123],) * 2
    assert both([{"timestamp": 1700000000}], timeunit="s") == ([1700000000],) * 2
    assert both([{"timestamp": 2.9}]) == ([2], [2])  # floats floored
    zero = both([{"timestamp": 0}])  # 0 means "not given", as in FalconPy
    assert is_now(zero[0][0]) and is_now(zero[1][0])
    # a string in it is a time like any other (numbers in strings by magnitude)
    assert both([{"timestamp": "1700000000"}]) == ([1700000000 * 10**9],) * 2
    assert both([{"timestamp": "2017-01-30T16:12:26.985026+0100"}]) == (
        [1485789146985026000],) * 2
    hec_like = JsonEventEncoder(timeunit="seconds")
    assert hec_like.envelope(IngestPayload(timestamp=42))["event"]["timestamp"] == 42


def test_times_before_1990_or_in_the_future_are_warnings() -> None:
    future = pd.Timestamp.now("UTC") + pd.Timedelta(days=3)
    records = [{"ts": 5}, {"ts": future.isoformat()}, {"ts": "2024-01-01T00:00:00Z"},
               {"timestamp": 1_700_000_000}]  # seconds where nanoseconds were meant
    for data in (records, pd.DataFrame(records)):
        notes = notes_of(data)
        assert (notes.early, notes.late) == (2, 1)
        text = " ".join(notes.all_warnings())
        assert "2 event times before 1990" in text and "wrong unit" in text
        assert "1 event time more than a day in the future" in text
        assert notes.fields == {"ts": 3, "timestamp": 1}  # warned, not dropped


def test_one_tz_aware_spelling_and_big_ints_on_both_paths() -> None:
    aware = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    records = [{"seen": aware, "big": 2**70, "small": -(2**80), "n": float("nan")}]
    listed = events_of(records)[0]["event"]
    framed = events_of(pd.DataFrame({"seen": pd.Series([aware], dtype=object),
                                     "big": pd.Series([2**70], dtype=object),
                                     "small": pd.Series([-(2**80)], dtype=object),
                                     "n": [np.nan]}))[0]["event"]
    for event in (listed, framed):
        assert event["seen"] == "2024-01-02T01:04:05Z"  # UTC, not +02:00
    raw_list = to_events(records)[0]
    assert b'"big":1180591620717411303424' in raw_list and b'"small":-1208925819614629174706176' \
        in raw_list  # exact, past 64 bits, as the DataFrame path writes them
    assert json.loads(raw_list)["event"]["big"] == json.loads(to_events(pd.DataFrame(
        {"big": pd.Series([2**70], dtype=object)}))[0])["event"]["big"] == 2**70
    assert listed["n"] is None and "n" not in framed  # FalconPy's path writes NaN as null


# --------------------------------------------------------------- list and frame agree, always

_PIECES = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, zone: (
        f"{y:04d}-{mo:02d}-{d:02d}" + (f"{sep}{h:02d}:{mi:02d}" + (
            f":{s:02d}" + frac if s is not None else "") + zone if sep else "")),
    st.integers(1700, 2200), st.integers(1, 12), st.integers(1, 31),
    st.sampled_from(["T", " ", ""]), st.integers(0, 23), st.integers(0, 59),
    st.one_of(st.none(), st.integers(0, 59)),
    st.sampled_from(["", ".1", ".12", ".123", ".123456", ".1234567", ".123456789",
                     ".1234567891", ".", ",5"]),
    st.sampled_from(["", "Z", "+01:00", "-05:30", "+0100", "-0000", "+01", "+01:00:30", "z",
                     " +01:00", "Z "]))
_VALUES = st.one_of(
    _PIECES, st.text(max_size=12), st.none(), st.booleans(),
    st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2200, 1, 1),
                 timezones=st.one_of(st.none(), st.just(dt.timezone.utc),
                                     st.just(dt.timezone(dt.timedelta(hours=-7))))),
    st.builds(lambda n: str(n), st.integers(-(10**19), 10**19)),
    st.builds(lambda f: repr(f), st.floats(-1e18, 1e18)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_VALUES, min_size=1, max_size=6),
       key=st.sampled_from(["ts", "timestamp", "@timestamp"]),
       unit=st.sampled_from(["ns", "ms", "s"]))
def test_list_and_frame_read_every_value_alike(values: list[Any], key: str, unit: str) -> None:
    """The per-value path (lists, files) and the vectorised one (frames) give the same time,
    fall back on the same values, and count them alike; a frame column of strings is read
    by pandas, one of objects per value, so both frame kinds are checked."""
    divisor = 10**9 // {"ns": 10**9, "ms": 10**3, "s": 1}[unit]

    def per_value(v: Any) -> Any:
        try:
            return evtime.read(v, key, divisor)
        except evtime.Unreadable:
            return "bad"

    columns = [pd.Series(values, dtype=object)]
    if all(isinstance(v, str) for v in values):
        columns.append(pd.Series(values, dtype="str"))
    if all(type(v) in (int, float) for v in values) and any(type(v) is float for v in values):
        columns.append(pd.Series(values, dtype=np.float64))
    if all(type(v) is int for v in values):
        columns.append(pd.Series(values, dtype=np.int64))
    for column in columns:
        # what the column holds (a float64 column rounds big ints) read one by one
        want = [per_value(v) for v in (values if column.dtype == object else
                                       column.astype(object).tolist())]
        ints, missing, bad = column_times(column, key, divisor)
        got = ["bad" if b else (None if m else int(i))
               for i, m, b in zip(ints, missing, bad, strict=True)]
        assert got == want, (column.dtype, values)


def test_fast_iso_reading_is_the_grammar() -> None:
    """``iso_ns`` (fromisoformat + the shape) against the grammar's regular expression."""

    @settings(max_examples=500, deadline=None)
    @given(text=st.one_of(_PIECES, st.text(alphabet="0123456789-:T .Z+,W", max_size=32)))
    def check(text: str) -> None:
        try:
            fast: Any = evtime.iso_ns(text)
        except evtime.Unreadable:
            fast = "bad"
        try:
            slow: Any = evtime._iso_slow(text)
        except evtime.Unreadable:
            slow = "bad"
        assert fast == slow, text

    check()


# ------------------------------------------------------------------- the HEC time member


def test_the_time_member_is_epoch_seconds_beside_falconpys_event() -> None:
    for data in ([{"ts": ZEEK_TS, "n": 1}], pd.DataFrame({"ts": [ZEEK_TS], "n": [1]})):
        for unit, stamp in (("ns", ZEEK_NS), ("ms", ZEEK_NS // 10**6), ("s", 1693958400)):
            (env,) = events_of(data, timeunit=unit)
            assert env["event"]["timestamp"] == stamp
            assert env["time"] == {"ns": 1693958400.123456, "ms": 1693958400.123,
                                   "s": 1693958400}[unit]
            assert list(env) == ["time", "event"]
        (line,) = to_events(data, timeunit="ms")
        assert line.startswith(b'{"time":1693958400.123,"event":{')  # shortest exact text
        assert "time" not in events_of(data, hec_time=False)[0]
        assert "time" not in orjson.loads(to_events(data, raw=True)[0])  # raw: FalconPy's line
    # other formats have no envelope: their events are unchanged
    for fmt in ("yaml", "xml", "csv"):
        assert b"1693958400.123" not in b"".join(hecnb.encode([{"n": 1}], fmt))
    assert JsonEventEncoder().envelope({"event": {"a": 1}}) == {"event": {"a": 1}}  # as given


def test_time_member_through_the_emulator_and_hec_time_off(emu: Emulator,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "zeek.ndjson"
    path.write_text(json.dumps({"ts": ZEEK_TS, "uid": "C1"}) + "\n")
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        hec.send([{"ts": ZEEK_TS, "uid": "L1"}])
        hec.send(pd.DataFrame({"ts": [ZEEK_TS], "uid": ["F1"]}))
        hec.send_file(path)
        hec.send_event(IngestPayload(timestamp=ZEEK_NS, uid="P1"))
        hec.send([{"uid": "O1", "ts": ZEEK_TS}], hec_time=False)  # per send
    with HEC(api_key=KEY, ingest_url=emu.url, hec_time=False) as quiet:  # per client
        assert quiet.hec_time is False
        quiet.send([{"uid": "K1", "ts": ZEEK_TS}])
        assert "time" not in quiet.format_event({"a": 1})
    assert emu.wait_for(6)
    by_uid = {e["event"]["uid"]: e for e in emu.events}
    for uid in ("L1", "F1", "C1", "P1"):
        assert by_uid[uid]["time"] == pytest.approx(1693958400.123456, abs=1e-6), uid
        assert by_uid[uid]["event"]["timestamp"] == ZEEK_NS, uid
    assert "time" not in by_uid["O1"] and "time" not in by_uid["K1"]
    assert by_uid["O1"]["event"]["timestamp"] == ZEEK_NS


# ------------------------------------------------------------------------------- reporting


def test_the_report_says_where_the_time_came_from(emu: Emulator) -> None:
    frame = pd.DataFrame({"ts": [ZEEK_TS, None, ZEEK_TS], "n": [1, 2, 3]})
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        report = hec.send(frame, show_progress=False)
        assert report.time_fields == {"ts": 2} and report.time_fallback == 1
        assert report.time_column == "ts" and report.time_rule == "auto"
        text = str(report)
        assert "event time from 'ts'; 1 event without a readable time carries the send time" \
            in text
        assert "<th style='text-align:left'>Event time</th>" in report._repr_html_()
        assert report.to_dict()["time_fields"] == {"ts": 2}
        none = hec.send([{"n": 1}], show_progress=False)
        assert none.time_column is None and "no time field found" in str(none)
        mixed = hec.send([{"timestamp": 1_700_000_000_000_000_000}, {"@timestamp": "2024"
                                                                     "-01-01T00:00:00Z"}])
        assert mixed.time_fields == {"timestamp": 1, "@timestamp": 1}
        assert "event time from 'timestamp' (1), '@timestamp' (1)" in str(mixed)
        bad = hec.send([{"ts": "later"}], show_progress=False)
        assert "WARNING: 1 value of 'ts' could not be read as a time (e.g. 'later')" \
            in str(bad)
        raw = hec.send(["a raw line"], raw_ingest=True)
        assert raw.time_rule is None and "event time" not in str(raw)  # the parser's business
        off = hec.send([{"ts": ZEEK_TS}], timestamp_column=None)
        assert "timestamp_column=None" in str(off)
        again = hec.send(frame, show_progress=False)
    merged = report.merge(mixed).merge(none).merge(again)  # as a resend adds its groups up
    assert merged.time_fields == {"ts": 4, "timestamp": 1, "@timestamp": 1}
    assert merged.time_fallback == 2 and (mixed.time_fallback, none.time_fallback) == (0, 0)
    assert (merged.total, merged.time_column, merged.time_rule) == (9, "ts", "auto")
    assert "event time from 'ts' (4), 'timestamp' (1), '@timestamp' (1)" in str(merged)


def test_files_and_magics_and_preview_use_the_same_rule(emu: Emulator,
                                                         tmp_path: Path) -> None:
    lines = [{"TimeCreated": "2020-10-18 07:50:06.220", "EventID": 1},
             {"TimeCreated": "not a time", "EventID": 2}]
    path = tmp_path / "win.ndjson"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        report = hec.send_file(path)
        assert report.time_fields == {"TimeCreated": 1} and report.time_fallback == 1
        assert report.warnings and "'not a time'" in next(iter(report.warnings))
        named = hec.send_file(path, timestamp_column="EventID")  # epochs 1 and 2: warned
        assert named.time_fields == {"EventID": 2} and (
            "before 1990" in next(iter(named.warnings)))
    preview = pd.DataFrame(lines).to_ngsiem.preview(1)
    assert isinstance(preview, str) and preview.startswith('{"time":1603007406.22,')
    assert preview.event_time == ("event time from 'TimeCreated'; 1 event without a readable "
                                  "time carries the send time")  # judged on the whole frame
    assert "could not be read" in preview.warnings[0]
    assert "Event time from &#x27;TimeCreated&#x27;" in preview._repr_html_()


def test_our_envelope_is_falconpys_plus_the_time_member() -> None:
    """Against FalconPy itself (``format_event``), for events whose time FalconPy knows (it
    stamps the others with its own 'now'): the same envelope, with HEC's ``time`` beside it;
    with ``hec_time=False``, exactly FalconPy's."""
    falconpy = pytest.importorskip("falconpy")
    theirs = falconpy.HEC(api_key="k" * 32, api_url_key="abc123", ingest_timeunit="milliseconds")
    ours = HEC(api_key="k" * 32, api_url_key="abc123", ingest_timeunit="milliseconds")
    plain = HEC(api_key="k" * 32, api_url_key="abc123", ingest_timeunit="milliseconds",
                hec_time=False)
    for evt in ({"host": "h1", "timestamp": 1700000000123, "message": "m",
                 "fields": {"#a": "1"}},
                {"timestamp": 1700000000123, "custom": {"k": "v"}, "user": "alice"}):
        expected = theirs.format_event(dict(evt))
        if expected["event"].get("host", "") is None:  # FalconPy writes "host": null; not us
            del expected["event"]["host"]
        got = ours.format_event(dict(evt))
        assert got.pop("time") == 1700000000.123
        assert got == expected
        assert plain.format_event(dict(evt)) == expected
    payload = falconpy.IngestPayload(host="h2", timestamp=1700000000999, message="p")
    mine = IngestPayload(host="h2", timestamp=1700000000999, message="p")
    assert ours.format_event(mine) == {"time": 1700000000.999,
                                       **theirs.format_event(payload)}
    ours.close()
    plain.close()


def test_bad_time_options_are_config_errors_before_sending(emu: Emulator) -> None:
    with pytest.raises(hecnb.ConfigError, match="hec_time must be True or False"):
        HEC(api_key=KEY, ingest_url=emu.url, hec_time="no")
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        with pytest.raises(hecnb.ConfigError, match="hec_time must be True or False"):
            hec.send([{"a": 1}], hec_time=1)
        with pytest.raises(ConversionError, match="timestamp_column='nope' is not a column"):
            hec.send(pd.DataFrame({"a": [1]}), timestamp_column="nope")
        assert hec.send([{"a": 1}], timestamp_column="Auto").time_rule == "auto"  # spelling
    assert emu.stats["requests"] == 1
