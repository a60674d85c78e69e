"""Converters: records and DataFrames -> json, yaml, xml and csv events, parsed back and compared.

Every output is read back with a real parser (orjson, PyYAML's safe loader, ElementTree, the csv
module) and compared with what the frame holds, under the documented rules.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import math
import uuid
from typing import Any
from xml.etree import ElementTree

import numpy as np
import orjson
import pandas as pd
import pytest
import yaml
from conftest import KEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hecnb import HEC, ConfigError, ConversionError, encode, to_events
from hecnb._encode.dialects import xml_name, xml_unname
from hecnb._encode.formats import ENCODERS, make_encoder
from hecnb._encode.payload import IngestPayload
from hecnb._settings.names import CONTENT_TYPES
from hecnb.emulator import Emulator

FORMATS = ("json", "yaml", "xml", "csv")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ILLEGAL_XML = {c: "\ufffd" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20),
                                       0xFFFE, 0xFFFF]}


# ------------------------------------------------------------------------------ parse back


def parse_events(body: bytes, fmt: str, raw: bool = False) -> list[Any]:
    """The events of one request body, as each format's reference parser reads them.

    json -> the ``event`` dicts; yaml -> the documents; xml -> canonical (tag, content) pairs;
    csv -> dicts keyed by the header (raw csv -> lists of cells).
    """
    if fmt == "json":  # the standard library keeps ints beyond 64 bits exact; orjson does not
        return [json.loads(line) for line in body.splitlines() if line]
    if fmt == "yaml":
        if raw:
            return [yaml.load(line, Loader=LOADER) for line in body.splitlines() if line]
        return [d for d in yaml.load_all(body.decode("utf-8"), Loader=LOADER) if d is not None]
    if fmt == "xml":
        if raw:
            return [xml_pairs(ElementTree.fromstring(line)) for line in body.split(b"\n") if line]
        root = ElementTree.fromstring(body)
        assert root.tag == "events"
        return [xml_pairs(e) for e in root]
    text = body.decode("utf-8")
    if raw:
        return list(csv.reader(io.StringIO(text, newline="")))
    return list(csv.DictReader(io.StringIO(text, newline="")))


def xml_pairs(element: ElementTree.Element) -> Any:
    """Canonical XML content: text for a leaf, [(tag, content), ...] for children."""
    children = list(element)
    if not children:
        return element.text or ""
    return [(child.tag, xml_pairs(child)) for child in children]


def xml_expect(value: Any) -> Any:
    """What ``xml_pairs`` should read for a JSON-native value."""
    if isinstance(value, dict):
        return [(xml_name(k), xml_expect(v)) for k, v in value.items()] or ""
    if isinstance(value, list):
        return [("item", xml_expect(v)) for v in value] or ""
    return scalar_text(value).translate(_ILLEGAL_XML)


def scalar_text(value: Any) -> str:
    """How xml and csv spell a JSON-native scalar."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return orjson.dumps(value).decode()
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def body_events(bodies: list[bytes], fmt: str, raw: bool = False) -> list[Any]:
    return [e for body in bodies for e in parse_events(body, fmt, raw)]


# --------------------------------------------------------------------------------- contract


#: what every body of a format starts and ends with, written out (csv: the frame's header)
FRAMING = {"json": (b"", b""), "yaml": (b"", b""),
           "xml": (b'<?xml version="1.0" encoding="UTF-8"?>\n<events>\n', b"</events>\n"),
           "csv": (b'"timestamp","timeunit","a"\r\n', b"")}


@pytest.mark.parametrize("fmt", FORMATS)
def test_encoder_contract(fmt: str) -> None:
    enc = make_encoder(fmt)
    import falconpy

    assert enc.content_type == CONTENT_TYPES[fmt] == falconpy.IngestFormat[fmt.upper()].value
    assert enc.raw is False and make_encoder(fmt, raw=True).raw is True
    frame = pd.DataFrame({"a": [1, 2]}, index=[10, 20])
    items = list(enc.encode_many(frame))
    assert [i for i, _, _ in items] == [0, 1] and [o for _, _, o in items] == [10, 20]
    prefix, suffix = FRAMING[fmt]
    assert enc.overhead == len(prefix) + len(suffix)  # what counts against batch_max_bytes
    body = enc.body([p for _, p, _ in items])
    assert body == prefix + b"".join(p for _, p, _ in items) + suffix
    assert len(parse_events(body, fmt)) == 2
    assert set(ENCODERS) == set(FORMATS)
    raw = make_encoder(fmt, raw=True)
    list(raw.encode_many(frame))
    assert raw.overhead == 0 and raw.body([b"x\n"]) == b"x\n"  # raw lines: nothing around


def _compact(obj: Any) -> bytes:
    """FalconPy's JSON (requests' ``json=``, ``json.dumps``) without the spaces."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def test_plain_json_encode_is_falconpys_envelope_plus_the_time_member() -> None:
    """Against FalconPy itself: without converter options the json encoder gives
    ``falconpy.HEC.format_event``'s envelope (and, raw, its JSON line), plus HEC's top-level
    ``time`` in epoch seconds, the one documented difference (README "Migrating from
    FalconPy"); with ``hec_time=False``, FalconPy's bytes exactly."""
    import falconpy

    theirs = falconpy.HEC(api_key="k" * 32, api_url_key="abc123",
                          ingest_timeunit="milliseconds")
    theirs_raw = falconpy.HEC(api_key="k" * 32, api_url_key="abc123",
                              ingest_timeunit="milliseconds", raw_ingest=True)
    ours, plain = make_encoder("json", timeunit="ms"), make_encoder("json", timeunit="ms",
                                                                     hec_time=False)
    raw = make_encoder("json", timeunit="ms", raw=True)
    samples: list[Any] = [
        {"host": "h2", "timestamp": 1700000000123, "user": "bob", "n": [1, {"k": None}],
         "ok": True, "big": 2**70, "text": "ünï \"q\" \\ \n"},
        {"host": "h3", "timestamp": 9, "kind": "event", "fields": {"#t": "v", "#n": 2}},
        {"host": "h1", "timestamp": 5, "message": "m", "fields": {"#a": 1}, "custom": {"c": 2}},
    ]
    for i, evt in enumerate(samples):
        want = theirs.format_event(dict(evt))
        got = json.loads(ours.encode(dict(evt)))
        assert got.pop("time") == evt["timestamp"] / 1000  # epoch seconds of the timestamp
        assert got == want
        assert ours.envelope(dict(evt)) == {"time": evt["timestamp"] / 1000, **want}
        assert json.loads(raw.encode(dict(evt))) == json.loads(theirs_raw.format_event(dict(evt)))
        if i < 2:  # FalconPy puts custom keys first; otherwise the member order is its own
            assert plain.encode(dict(evt)) == _compact(want)
            assert raw.encode(dict(evt)) == _compact(json.loads(theirs_raw.format_event(
                dict(evt))))
    mine = IngestPayload(host="h", timestamp=9, message="p", fields={"#f": 1}, kind="x")
    falcons = falconpy.IngestPayload(host="h", timestamp=9, message="p", fields={"#f": 1},
                                     kind="x")
    assert plain.encode(mine) == _compact(theirs.format_event(falcons))
    # a JSON string is the object it spells; a ready envelope passes as it is (docs)
    assert plain.encode('{"host": "h", "timestamp": 7, "user": "bob"}') == _compact(
        theirs.format_event({"host": "h", "timestamp": 7, "user": "bob"}))
    ready = {"event": {"x": 1}, "fields": {"#t": "v"}}
    assert ours.encode(ready) == b'{"event":{"x":1},"fields":{"#t":"v"}}\n'
    assert raw.encode("a raw line") == b"a raw line\n"
    with pytest.raises(ConversionError, match="not int"):
        ours.encode(42)


def test_unknown_option_is_config_error_listing_allowed() -> None:
    with pytest.raises(ConfigError, match=r"timestamp_col.*Did you mean 'timestamp_column'.*"
                                          r"host, timestamp_column, timeunit, fields, columns"):
        make_encoder("csv", timestamp_col="ts")
    with pytest.raises(ConversionError, match="na='drop'"):
        make_encoder("json", na="skip")
    with pytest.raises(ConfigError):
        make_encoder("toml")


# --------------------------------------------------------------------------- a typed frame


def typed_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "s": ["alice & <bob>", None, 'quote " and \\ back', "tab\tnew\nline\r"],
        "i": np.array([1, -2, 3, 2**62], dtype=np.int64),
        "u": np.array([0, 1, 2, 2**64 - 1], dtype=np.uint64),
        "f": [0.1, np.nan, np.inf, -1e300],
        "f32": np.array([0.5, 1.25, -2.0, 3.0], dtype=np.float32),
        "b": [True, False, True, False],
        "ni": pd.array([1, None, 3, 4], dtype="Int64"),
        "nb": pd.array([True, None, False, True], dtype="boolean"),
        "nf": pd.array([1.5, None, 2.5, 3.5], dtype="Float64"),
        "cat": pd.Categorical(["x", "y", None, "x"]),
        "naive": pd.to_datetime(["2024-01-02T03:04:05.123456", None, "1969-07-20T20:17:40",
                                 "2262-04-11T23:47:16"], format="ISO8601"),
        "aware": pd.to_datetime(["2024-01-02T03:04:05+01:00", "2024-06-01T00:00:00-05:00",
                                 None, "2000-01-01T00:00:00Z"], utc=True).tz_convert(
                                     "Europe/Berlin"),
        "td": pd.to_timedelta([1.5, None, 0, -2], unit="s"),
        "obj": [decimal.Decimal("1.25"), b"\x00\xffbytes", {"k": [1, {"n": None}]},
                uuid.UUID(int=7)],
        "big": [2**70, -(2**80), 5, None],
        7: ["int", "column", "name", "here"],
    })


def expected_rows() -> list[dict[str, Any]]:
    """The event members the typed frame must give (na='drop'), written out by hand.

    Timestamps are given as instants (naive UTC); the test checks the ISO text means them.
    """
    ts = pd.Timestamp
    return [
        {"s": "alice & <bob>", "i": 1, "u": 0, "f": 0.1, "f32": 0.5, "b": True, "ni": 1, "nb": True,
         "nf": 1.5, "cat": "x", "naive": ts("2024-01-02T03:04:05.123456"),
         "aware": ts("2024-01-02T02:04:05"), "td": 1.5, "obj": 1.25, "big": 2**70,
         "7": "int"},
        {"i": -2, "u": 1, "f32": 1.25, "b": False, "cat": "y", "aware": ts("2024-06-01T05:00"),
         "obj": base64.b64encode(b"\x00\xffbytes").decode(), "big": -(2**80), "7": "column"},
        {"s": 'quote " and \\ back', "i": 3, "u": 2, "f32": -2.0, "b": True, "ni": 3,
         "nb": False, "nf": 2.5, "naive": ts("1969-07-20T20:17:40"), "td": 0.0,
         "obj": {"k": [1, {"n": None}]}, "big": 5, "7": "name"},
        {"s": "tab\tnew\nline\r", "i": 2**62, "u": 2**64 - 1, "f": -1e300, "f32": 3.0,
         "b": False, "ni": 4, "nb": True, "nf": 3.5, "cat": "x",
         "naive": ts("2262-04-11T23:47:16"), "aware": ts("2000-01-01T00:00:00"), "td": -2.0,
         "obj": str(uuid.UUID(int=7)), "7": "here"},
    ]


def assert_members(got: dict[str, Any], want: dict[str, Any], *, textual: bool) -> None:
    """``got`` (members without host/timestamp/timeunit) against ``want``; xml and csv
    (``textual``) carry scalars as text and nested values in their own spelling."""
    assert list(got) == list(want)
    for key, value in want.items():
        cell = got[key]
        if isinstance(value, pd.Timestamp):  # ISO-8601; 'Z' exactly for tz-aware columns
            assert cell.endswith("Z") == (key == "aware")
            assert pd.Timestamp(cell).tz_localize(None) == value
        elif not textual:
            assert cell == value and type(cell) is type(value)
        elif isinstance(value, (dict, list)):
            assert cell == value  # the caller turned them back into objects
        elif isinstance(value, float):
            assert float(cell) == value
        else:
            assert cell == scalar_text(value)


_ENVELOPE = ("host", "timestamp", "timeunit")


def test_json_types_round_trip() -> None:
    lines = to_events(typed_frame(), host="h1", timeunit="ms")
    assert all(line.endswith(b"}}\n") for line in lines)
    for line, want in zip(lines, expected_rows(), strict=True):
        event = json.loads(line)["event"]
        assert list(event)[:3] == list(_ENVELOPE)
        assert event["host"] == "h1" and event["timeunit"] == "milliseconds"
        assert isinstance(event["timestamp"], int)
        assert_members({k: v for k, v in event.items() if k not in _ENVELOPE}, want,
                       textual=False)


@pytest.mark.parametrize("fmt", ["yaml", "xml", "csv"])
def test_other_formats_carry_the_same_information(fmt: str) -> None:
    events = body_events(encode(typed_frame(), fmt, host="h1"), fmt)
    want_rows = expected_rows()
    assert len(events) == len(want_rows)
    for got, want in zip(events, want_rows, strict=True):
        if fmt == "xml":
            assert got[:3:2] == [("host", "h1"), ("timeunit", "nanoseconds")]
            members = {xml_unname(tag): content for tag, content in got[3:]}
            nested = {k: v for k, v in want.items() if isinstance(v, (dict, list))}
            for key, value in nested.items():
                assert members.pop(key) == xml_expect(value)
            assert_members(members, {k: v for k, v in want.items() if k not in nested},
                           textual=True)
            continue
        assert got["host"] == "h1" and int(got["timestamp"]) > 0
        members = {k: v for k, v in got.items() if k not in _ENVELOPE}
        if fmt == "yaml":
            assert_members(members, want, textual=False)
            continue
        members = {k: v for k, v in members.items() if v != ""}  # csv: empty cell = missing
        for key, value in want.items():
            if isinstance(value, (dict, list)):
                members[key] = json.loads(members[key])
        assert_members(members, want, textual=True)


def test_na_null_keeps_every_member_and_csv_keeps_columns() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", None]})
    envs = [orjson.loads(x)["event"] for x in to_events(frame, na="null", timestamp_column=None)]
    assert envs[1]["a"] is None and envs[1]["b"] is None
    dropped = [orjson.loads(x)["event"] for x in to_events(frame)]
    assert "a" not in dropped[1] and "b" not in dropped[1]
    xml = body_events(encode(frame, "xml", na="null"), "xml")
    assert xml[1][2:] == [("a", ""), ("b", "")]
    rows = body_events(encode(frame, "csv"), "csv")
    assert rows[1]["a"] == "" and rows[1]["b"] == "" and list(rows[0]) == [
        "timestamp", "timeunit", "a", "b"]


def test_xml_missing_floats_are_left_out_or_empty_elements_never_text(emu: Emulator) -> None:
    """docs/formats.md: NaN, inf and NA are missing (left out with na='drop', an empty element
    with na='null'), nested ones are empty elements; in a frame (float64, float32, Float64,
    object columns) and in records, on both endpoints. The exact bytes, then what the
    emulator's XML parser makes of them."""
    frame = pd.DataFrame({"timestamp": [1, 2, 3, 4], "f": [1.5, np.nan, np.inf, -np.inf],
                          "f32": np.array([np.nan, 0.5, np.nan, -2.0], dtype=np.float32),
                          "nf": pd.array([None, 2.5, None, 1.0], dtype="Float64"),
                          "nested": [{"x": math.nan}, [math.nan, 1.0], None, {"y": math.inf}]})
    head = "<event><timestamp>%d</timestamp><timeunit>nanoseconds</timeunit>"
    rows = {"drop": ["<f>1.5</f><nested><x/></nested>",
                     "<f32>0.5</f32><nf>2.5</nf><nested><item/><item>1.0</item></nested>",
                     "",
                     "<f32>-2.0</f32><nf>1.0</nf><nested><y/></nested>"],
            "null": ["<f>1.5</f><f32/><nf/><nested><x/></nested>",
                     "<f/><f32>0.5</f32><nf>2.5</nf><nested><item/><item>1.0</item></nested>",
                     "<f/><f32/><nf/><nested/>",
                     "<f/><f32>-2.0</f32><nf>1.0</nf><nested><y/></nested>"]}
    for na, members in rows.items():
        lines = "".join(head % (i + 1) + m + "</event>\n" for i, m in enumerate(members))
        assert encode(frame, "xml", na=na)[0].decode() == (
            '<?xml version="1.0" encoding="UTF-8"?>\n<events>\n' + lines + "</events>\n")
        assert encode(frame, "xml", na=na, raw=True)[0].decode() == lines
    records = [{"timestamp": 1, "f": 1.5}, {"timestamp": 2, "f": math.nan, "g": [math.nan]},
               {"timestamp": 3, "f": -math.inf, "g": {"k": math.inf}}]
    for na, f in (("drop", ""), ("null", "<f/>")):
        assert encode(records, "xml", na=na)[0].decode().splitlines()[2:5] == [
            head % 1 + "<f>1.5</f></event>", head % 2 + f + "<g><item/></g></event>",
            head % 3 + f + "<g><k/></g></event>"]
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        assert hec.send(frame, ingest_format="xml", na="null").delivered == 4
    assert emu.wait_for(4)
    got = sorted((e["event"] for e in emu.events), key=lambda e: e["timestamp"])
    assert [(e["f"], e["f32"], e["nf"]) for e in got] == [
        ("1.5", "", ""), ("", "0.5", "2.5"), ("", "", ""), ("", "-2.0", "1.0")]
    assert [e["nested"] for e in got] == [{"x": ""}, {"item": ["", "1.0"]}, "", {"y": ""}]


# ------------------------------------------------------------------------------------ options


def test_timestamp_column_in_each_timeunit() -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01T00:00:01.5"]).tz_localize(
        "UTC").tz_convert("US/Eastern"), "x": [1]})
    seconds = 1704067201
    for unit, stamp in (("seconds", seconds), ("milliseconds", seconds * 1000 + 500),
                        ("nanoseconds", seconds * 10**9 + 500_000_000)):
        event = orjson.loads(to_events(frame, timestamp_column="when", timeunit=unit)[0])["event"]
        assert event["timestamp"] == stamp and event["timeunit"] == unit
        assert event["when"] == "2024-01-01T00:00:01.500Z"  # the column stays, as ISO-8601
    naive = pd.DataFrame({"when": pd.to_datetime(["2024-01-01T00:00:01"])})
    assert orjson.loads(to_events(naive, timestamp_column="when", timeunit="s")[0])["event"][
        "timestamp"] == seconds  # naive means UTC


def test_timestamp_from_strings_numbers_and_missing() -> None:
    frame = pd.DataFrame({"timestamp": ["2017-01-30T10:26:48.123456+0100", None,
                                        "2017-01-30 09:26:48"]})
    events = [orjson.loads(x)["event"] for x in to_events(frame, timeunit="ms")]
    assert events[0]["timestamp"] == 1485768408123
    assert events[2]["timestamp"] == 1485768408000
    assert abs(events[1]["timestamp"] - pd.Timestamp.now("UTC").value // 10**6) < 60_000
    assert "timestamp" not in {k for e in events for k in list(e)[3:]}
    numbers = pd.DataFrame({"t": [1700000000, 1700000001]})
    got = [orjson.loads(x)["event"]["timestamp"] for x in
           to_events(numbers, timestamp_column="t", timeunit="seconds")]
    assert got == [1700000000, 1700000001]  # numbers are already in the time unit
    with pytest.raises(ConversionError) as err:
        make_encoder("json", timestamp_column="t").encode_many(
            pd.DataFrame({"t": ["2024-01-01", "not a date"]}, index=["r1", "r2"]))
    assert err.value.column == "t" and err.value.row == "r2"


def test_host_value_or_column_and_clashes() -> None:
    frame = pd.DataFrame({"computer": ["ws1", None], "x": [1, 2]})
    events = [orjson.loads(x)["event"] for x in to_events(frame, host="computer")]
    assert events[0]["host"] == "ws1" and "host" not in events[1]
    assert events[0]["computer"] == "ws1"  # host= adds the member, it removes nothing
    assert [orjson.loads(x)["event"]["host"] for x in to_events(frame, host="fw-01")] == [
        "fw-01", "fw-01"]
    named = pd.DataFrame({"host": ["a"], "x": [1]})
    assert orjson.loads(to_events(named)[0])["event"]["host"] == "a"
    # host= given wins over the column called host, and the notes say so once
    enc = make_encoder("json", host="constant")
    (line,) = [part for _, part, _ in enc.encode_many(pd.concat([named] * 1))]
    assert orjson.loads(line)["event"] == {"host": "constant", "timestamp": orjson.loads(
        line)["event"]["timestamp"], "timeunit": "nanoseconds", "x": 1}
    assert enc.notes.warnings == ["host='constant' was given, so it replaced the frame's "
                                  "'host' column as each event's host"]
    records = make_encoder("yaml", host="computer")
    got = [part for _, part, _ in records.encode_many([{"host": "a", "computer": "ws"}] * 2)]
    assert all(yaml.safe_load(g)["host"] == "ws" for g in got)
    assert len(records.notes.warnings) == 1 and "records' 'host' key" in records.notes.warnings[0]
    with pytest.raises(ConversionError):
        make_encoder("csv").encode_many(pd.DataFrame({"timeunit": ["s"]}))


def test_fields_dict_and_columns() -> None:
    frame = pd.DataFrame({"user": ["u1", "u2"], "src": ["10.0.0.1", None], "n": [1, 2]})
    envs = [orjson.loads(x) for x in to_events(frame, fields=["src", "n"])]
    assert envs[0]["fields"] == {"src": "10.0.0.1", "n": 1} and "src" not in envs[0]["event"]
    assert envs[1]["fields"] == {"n": 2}
    const = [orjson.loads(x) for x in to_events(frame, fields={"#source": "nb"})]
    assert all(e["fields"] == {"#source": "nb"} for e in const)
    # outside the json envelope, fields are ordinary members of the event
    yaml_events = body_events(encode(frame, "yaml", fields={"#source": "nb"}), "yaml")
    assert yaml_events[0]["#source"] == "nb" and yaml_events[0]["user"] == "u1"
    raw = [orjson.loads(x) for x in to_events(frame, raw=True, fields=["src"])]
    assert "fields" not in raw[0] and raw[0]["event"]["src"] == "10.0.0.1"
    with pytest.raises(ConversionError) as err:
        make_encoder("json", fields=["nope"]).encode_many(frame)
    assert err.value.column == "nope"


def test_columns_keeps_only_those_in_that_order() -> None:
    frame = pd.DataFrame({"a": [1], "b": [2], "c": [3], "ts": pd.to_datetime(["2024-01-01"])})
    event = orjson.loads(to_events(frame, columns=["c", "a"], timestamp_column="ts")[0])["event"]
    assert list(event) == ["timestamp", "timeunit", "c", "a"]
    assert event["timestamp"] == 1704067200 * 10**9
    with pytest.raises(ConversionError) as err:
        make_encoder("csv", columns=["a", "zz"]).encode_many(frame)
    assert err.value.column == "zz"


# ------------------------------------------------------------------------------------ errors


def test_errors_come_before_the_first_event() -> None:
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ConversionError) as err:
        make_encoder("json").encode_many(dup)  # raised by the call itself, nothing yielded
    assert err.value.column == "a"
    bad = pd.DataFrame({"ok": range(4), "obj": [1, "two", object(), 4]}, index=list("pqrs"))
    for fmt in FORMATS:
        with pytest.raises(ConversionError) as err:
            make_encoder(fmt).encode_many(bad)
        assert (err.value.column, err.value.row) == ("obj", "r")
        assert "object" in str(err.value)
    with pytest.raises(ConversionError) as err:
        make_encoder("json").encode_many(pd.DataFrame({"c": [1 + 2j]}))
    assert err.value.column == "c"
    surrogate = pd.DataFrame({"t": pd.Series(["fine", "bad \ud800"], dtype=object)})
    with pytest.raises(ConversionError) as err:
        make_encoder("xml").encode_many(surrogate)
    assert (err.value.column, err.value.row) == ("t", 1)
    clash = pd.DataFrame([[1, 2]], columns=[1, "1"])
    with pytest.raises(ConversionError):
        make_encoder("json").encode_many(clash)
    with pytest.raises(ConversionError):
        make_encoder("json", timestamp_column="missing").encode_many(pd.DataFrame({"a": [1]}))
    with pytest.raises(ConversionError, match="Series"):
        make_encoder("json").encode_many(pd.Series([1]))


def test_records_errors_name_the_record() -> None:
    with pytest.raises(ConversionError) as err:
        make_encoder("yaml").encode_many([{"a": 1}, {"a": object()}])
    assert err.value.row == 1
    with pytest.raises(ConversionError) as err:
        make_encoder("json", na="null").encode_many([{"a": 1}, 5])
    assert err.value.row == 1


# -------------------------------------------------------------------- names, bodies, raw mode


def test_xml_names_are_valid_deterministic_and_reversible() -> None:
    # docs/formats.md: .NET's XmlConvert.EncodeName scheme, written out by hand: any character
    # but ASCII letters, digits, '_', '-' and '.' is _xHHHH_ (beyond the BMP _xHHHHHHHH_), a
    # name cannot start with a digit, '-' or '.', and an '_x' that would read as an escape
    # has its '_' escaped; '' (no name) is '_'
    spelled = {"user": "user", "src ip": "src_x0020_ip", "#tag": "_x0023_tag",
               "1st": "_x0031_st", "a:b": "a_x003A_b", "": "_", "_x0041_": "_x005F_x0041_",
               "_x00zz_": "_x00zz_", "ünï": "_x00FC_n_x00EF_",
               "@timestamp": "_x0040_timestamp", "id.orig_h": "id.orig_h", "-x": "_x002D_x",
               ".a": "_x002E_a", "a-b.c_d": "a-b.c_d", "#falconpy": "_x0023_falconpy",
               "x\U0001f600": "x_x0001F600_", "xxx": "xxx"}
    for name, tag in spelled.items():
        assert xml_name(name) == tag, name
        assert ElementTree.fromstring(f"<{tag}/>").tag == tag  # a well-formed element name
        assert xml_unname(tag) == name
    frame = pd.DataFrame({"src ip": ["1.2.3.4"], "#tag": ["t"], 0: [1]})
    events = body_events(encode(frame, "xml"), "xml")
    assert [xml_unname(tag) for tag, _ in events[0][2:]] == ["src ip", "#tag", "0"]
    assert xml_name("a b") != xml_name("a_x0020_b")  # escapes are escaped: no collisions
    with pytest.raises(ConversionError):  # the one clash: "" and "_" both spell "_"
        make_encoder("xml").encode_many(pd.DataFrame({"": [1], "_": [2]}))


@pytest.mark.parametrize("fmt", FORMATS)
def test_bodies_split_by_limits_and_each_stands_alone(fmt: str) -> None:
    frame = pd.DataFrame({"n": range(500), "text": ["v,a\"l\nue"] * 500})
    bodies = encode(frame, fmt, batch_max_bytes=4096)
    assert len(bodies) > 3 and all(len(b) <= 4096 for b in bodies)
    events = body_events(bodies, fmt)
    assert len(events) == 500
    if fmt == "csv":
        assert all(b.startswith(b'"timestamp","timeunit","n","text"\r\n') for b in bodies)
        assert [int(e["n"]) for e in events] == list(range(500))
    if fmt == "xml":
        assert all(b.startswith(b"<?xml") and b.endswith(b"</events>\n") for b in bodies)
    assert len(encode(frame, fmt, batch_max_events=7)) == math.ceil(500 / 7)


@pytest.mark.parametrize("fmt", FORMATS)
def test_raw_mode_one_line_per_event(fmt: str) -> None:
    frame = pd.DataFrame({"msg": ["multi\nline\r\ntext", "plain"], "n": [1, 2]})
    if fmt == "csv":
        with pytest.raises(ConversionError, match="line break") as err:
            make_encoder("csv", raw=True).encode_many(frame)
        assert (err.value.column, err.value.row) == ("msg", 0)
        frame = frame.assign(msg=["a, \"quoted\"", "plain"])
    body = encode(frame, fmt, raw=True)[0]
    lines = body.splitlines()
    assert len(lines) == 2  # what the raw endpoint will see: one event per line
    events = parse_events(body, fmt, raw=True)
    if fmt == "json":
        assert events[0]["event"]["msg"] == "multi\nline\r\ntext"  # FalconPy's raw line
    elif fmt == "yaml":
        assert events[0]["msg"] == "multi\nline\r\ntext"
    elif fmt == "xml":
        assert dict(events[0])["msg"] == "multi\nline\r\ntext"
    else:
        assert events[0][2:] == ['a, "quoted"', "1"] and not body.startswith(b'"timestamp"')


def test_records_in_every_format() -> None:
    records = [{"host": "h", "user": "a", "n": 1}, {"user": "b", "extra": [1, 2]},
               {"timestamp": 5, "user": None}]
    for fmt in FORMATS:
        enc = make_encoder(fmt, na="null")
        items = list(enc.encode_many(records))
        assert [o for _, _, o in items] == records
        events = parse_events(enc.body([p for _, p, _ in items]), fmt)
        assert len(events) == 3
        if fmt == "csv":  # one header for all records: the union of their members
            assert list(events[0]) == ["host", "timestamp", "timeunit", "user", "n", "extra"]
            assert events[1]["extra"] == "[1,2]" and events[2]["timestamp"] == "5"
        if fmt == "yaml":
            assert events[2] == {"timestamp": 5, "timeunit": "nanoseconds", "user": None}
    stream = (r for r in records)
    assert len(to_events(stream, "csv")) == 3


def test_generated_yaml_survives_awkward_values() -> None:
    frame = pd.DataFrame({
        "s": ["\x85nel", "\u2028ls", "\ufeffbom", "del\x7f", "c1\x9b", "yes", "null", "1e3",
              "- item", "key: value", "'", "#", "\ufffe"],
        "f": [1e20, 1e-7, 5e-324, 1.7976931348623157e308, 123.0, -0.0, 0.1, 1e16, 2.5e-5,
              3.0, 1e21, -1e-10, 7e22],
    })
    docs = body_events(encode(frame, "yaml"), "yaml")
    assert [d["s"] for d in docs] == frame["s"].tolist()
    assert [d["f"] for d in docs] == frame["f"].tolist()
    assert all(type(d["f"]) is float for d in docs)
    long_key = pd.DataFrame({"k" * 1500: [1]})
    assert body_events(encode(long_key, "yaml"), "yaml")[0]["k" * 1500] == 1


# --------------------------------------------------------------------- property-based round trip

_AWKWARD = list('&<>"\'\\,;:#-{}[]\r\n\t \x00\x01\x1f\x7f\x85\xa0\u2028\ufeff\ufffe\U0001f600')
_text = st.text(st.one_of(st.sampled_from(_AWKWARD), st.characters(exclude_categories=("Cs",))),
                max_size=20)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), _text,
                    st.floats(allow_nan=False, allow_infinity=False))
_nested = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
        inner, max_size=3)), max_leaves=8)
_row = st.fixed_dictionaries({
    "text": st.one_of(st.none(), _text),
    "num": st.floats(allow_nan=True, allow_infinity=True),
    "int": st.integers(-(2**63), 2**63 - 1),
    "big": st.one_of(st.none(), st.integers(-(2**100), 2**100)),
    "nested": st.one_of(st.none(), st.dictionaries(st.sampled_from(["a", "b c", "1"]), _nested,
                                                   min_size=1, max_size=3),
                        st.lists(_nested, min_size=1, max_size=3)),
})


_COLUMNS = ("text", "num", "int", "big", "nested")


def _expected(row: dict[str, Any], na: str) -> dict[str, Any]:
    """The members a row must give, in column order: missing ones dropped or null."""
    out: dict[str, Any] = {}
    for key in _COLUMNS:
        value = row[key]
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            if na == "drop":
                continue
            value = None
        out[key] = value
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, min_size=1, max_size=8), fmt=st.sampled_from(FORMATS),
       na=st.sampled_from(["drop", "null"]))
def test_random_frames_round_trip(rows: list[dict[str, Any]], fmt: str, na: str) -> None:
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    frame["big"] = pd.Series([r["big"] for r in rows], dtype=object)
    frame["int"] = pd.Series([r["int"] for r in rows], dtype=np.int64)
    frame["nested"] = pd.Series([r["nested"] for r in rows], dtype=object)
    bodies = encode(frame, fmt, host="h", na=na, batch_max_bytes=2000)
    events = body_events(bodies, fmt)
    assert len(events) == len(rows)
    for got, row in zip(events, rows, strict=True):
        want = _expected(row, na)
        if fmt == "json":
            event = got["event"]
            assert {k: v for k, v in event.items() if k not in ("host", "timestamp",
                                                                 "timeunit")} == want
        elif fmt == "yaml":
            assert {k: v for k, v in got.items() if k not in ("host", "timestamp",
                                                               "timeunit")} == want
        elif fmt == "xml":
            assert got[3:] == [(k, xml_expect(v)) for k, v in want.items()]
        else:
            for key in _COLUMNS:
                cell, value = got[key], want.get(key)
                if isinstance(value, (dict, list)):
                    assert json.loads(cell) == value
                elif isinstance(value, float):
                    assert float(cell) == value
                else:
                    assert cell == scalar_text(value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.one_of(st.none(), _text), min_size=1, max_size=8),
       fmt=st.sampled_from(FORMATS))
def test_random_raw_lines_are_one_event_each(texts: list[str | None], fmt: str) -> None:
    frame = pd.DataFrame({"text": pd.Series(texts, dtype=object), "n": range(len(texts))})
    breaks = any(t is not None and ("\n" in t or "\r" in t) for t in texts)
    if fmt == "csv" and breaks:
        with pytest.raises(ConversionError, match="line break"):
            encode(frame, fmt, raw=True)
        return
    body = b"".join(encode(frame, fmt, raw=True))
    assert len(body.splitlines()) == len(texts)  # the raw route's rule: \n, \r\n or \r
    events = parse_events(body, fmt, raw=True)
    for event, text in zip(events, texts, strict=True):
        if fmt == "json":
            assert event["event"].get("text") == text
        elif fmt == "yaml":
            assert event.get("text") == text
        elif fmt == "xml":
            assert dict(event).get("text", None) == (
                None if text is None else xml_expect(text))
        else:
            assert event[2] == ("" if text is None else text)


# ---------------------------------------------------------------------- through the emulator


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("fmt", FORMATS)
def test_frame_arrives_once_in_every_format(fmt: str, raw: bool, emu: Emulator) -> None:
    n = 3000
    frame = pd.DataFrame({
        "seq": np.arange(n), "user": [f"user{i % 37}" if i % 11 else None for i in range(n)],
        "when": pd.date_range("2024-01-01", periods=n, freq="s", tz="UTC"),
        "score": np.where(np.arange(n) % 7 == 0, np.nan, np.arange(n) / 3),
        "tags": [["a", "b"] if i % 2 else {"k": i} for i in range(n)],
    })
    with HEC(api_key=KEY, ingest_url=emu.url, batch_max_bytes=64 * 1024) as hec:
        report = hec.send(frame, ingest_format=fmt, raw_ingest=raw, host="nb",
                          timestamp_column="when")
    assert report.ok and report.delivered == n and report.total == n
    assert len(report.batches) > 1
    assert emu.wait_for(n)
    events = emu.events
    assert len(events) == n
    if raw:
        lines = [e["raw"] for e in events]
        if fmt == "json":
            seqs = [orjson.loads(x)["event"]["seq"] for x in lines]
        elif fmt == "yaml":
            seqs = [yaml.load(x, Loader=LOADER)["seq"] for x in lines]
        elif fmt == "xml":
            seqs = [int(ElementTree.fromstring(x).find("seq").text) for x in lines]
        else:
            seqs = [int(next(csv.reader([x]))[3]) for x in lines]  # host, timestamp, timeunit
    else:
        seqs = [int(e["event"]["seq"]) for e in events]
    assert sorted(seqs) == list(range(n))


def test_send_list_with_options_and_decimal_dates(emu: Emulator) -> None:
    records = [{"id": i, "amount": decimal.Decimal("10.10"), "day": dt.date(2024, 1, i + 1)}
               for i in range(20)]
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        report = hec.send(records, ingest_format="xml", host="ledger")
    assert report.delivered == 20 and emu.wait_for(20)
    first = sorted(emu.events, key=lambda e: int(e["event"]["id"]))[0]["event"]
    assert first["amount"] == "10.1" and first["day"] == "2024-01-01" and first["host"] == "ledger"


def test_single_record_encoding_and_format_event_in_every_format() -> None:
    enc = make_encoder("csv")
    first = enc.encode({"user": "a", "n": 1, "timestamp": 3})
    assert enc.prefix == b'"timestamp","timeunit","user","n"\r\n'
    assert first == b'3,"nanoseconds","a",1\r\n'
    assert enc.encode({"n": 2, "timestamp": 4}) == b'4,"nanoseconds",,2\r\n'
    with pytest.raises(ConversionError, match="not in the csv header"):
        enc.encode({"other": 1})
    for fmt in FORMATS:
        hec_like = make_encoder(fmt)
        assert hec_like.envelope({"host": "h", "timestamp": 1, "m": "x"}) == {
            "time": 1e-9, "event": {"host": "h", "timestamp": 1, "timeunit": "nanoseconds",
                                    "m": "x"}}
        assert make_encoder(fmt, hec_time=False).envelope({"host": "h", "timestamp": 1}) == {
            "event": {"host": "h", "timestamp": 1, "timeunit": "nanoseconds"}}


def test_csv_quotes_every_string_datetimes_too_on_both_paths() -> None:
    """docs/formats.md: in csv, strings are always quoted; an ISO datetime is a string."""
    when = pd.Timestamp("2024-01-02T03:04:05Z")
    framed = encode(pd.DataFrame({"seen": [when], "n": [1]}), "csv", timestamp_column=None)[0]
    listed = encode([{"seen": when.to_pydatetime(), "n": 1}], "csv", timestamp_column=None)[0]
    for body in (framed, listed):
        row = body.split(b"\r\n")[1]
        assert b',"2024-01-02T03:04:05Z",1' in row, body
        assert next(csv.reader([row.decode()]))[2] == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bad_value_in_a_record_names_its_key_and_record(fmt: str) -> None:
    records = [{"a": 1}, {"a": 2, "z": {"deep": 1 + 2j}}]
    with pytest.raises(ConversionError) as err:
        make_encoder(fmt).encode_many(records)
    assert (err.value.column, err.value.row) == ("z", 1)
    assert "record 1" in str(err.value) and "key 'z" in str(err.value)  # json: 'z.deep'
    frame = pd.DataFrame({"a": [1, 2], "z": pd.Series([None, 1 + 2j], dtype=object)})
    with pytest.raises(ConversionError) as err:
        make_encoder(fmt).encode_many(frame)
    assert (err.value.column, err.value.row) == ("z", 1)  # the frame says the same


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lone_surrogate_in_a_record_names_its_key_and_record(fmt: str) -> None:
    """In a value (also nested) or in a key: a ConversionError naming the record and the
    top-level key, in every format (csv used to raise the codec's UnicodeEncodeError for a
    key, yaml/xml/csv named no key for a value). xml spells any key as an element name
    (``_xD800_``), so only values are refused there."""
    cases = [([{"a": 1}, {"b": "x\udc00"}], "b", 1, False),
             ([{"a": 1}, {"b": ["x", "\ud800"]}], "b", 1, False),
             ([{"a": 1}, {"z": 1, "k\ud800": 2}], "k\ud800", 1, True),
             ([{"n": {"inner\ud800": 1}}], "n", 0, True)]
    for records, key, row, in_a_key in cases:
        if fmt == "xml" and in_a_key:
            assert b"_xD800_" in b"".join(encode(records, fmt))
            continue
        with pytest.raises(ConversionError) as err:
            make_encoder(fmt).encode_many(records)
        assert (err.value.column, err.value.row) == (key, row)
        text = str(err.value)
        assert f"record {row}" in text and "surrogate" in text
        assert f"key {key!r}"[:-1] in text  # json names the path: 'b[1]', 'n.inner...'


@pytest.mark.parametrize("fmt", FORMATS)
def test_keys_equal_as_strings_and_odd_column_names_are_named(fmt: str) -> None:
    """Two keys of a record that are equal as strings (0 and "0") name that key; so does a
    frame column whose name has a lone surrogate (it used to escape as the codec's error;
    xml writes it as an element name)."""
    with pytest.raises(ConversionError) as err:
        make_encoder(fmt, na="null").encode_many([{"a": 1}, {"x": 1, 0: 2, "0": 3}])
    assert (err.value.column, err.value.row) == ("0", 1)
    assert "would both be called '0'" in str(err.value) and "record 1" in str(err.value)
    odd = pd.DataFrame([[1, 2]], columns=pd.Index([0, "name\ud800"], dtype=object))
    if fmt == "xml":
        assert b"<name_xD800_>2</name_xD800_>" in encode(odd, fmt)[0]
        return
    with pytest.raises(ConversionError, match=r"lone surrogate.*rename the column") as err:
        make_encoder(fmt).encode_many(odd)
    assert err.value.column == "name\ud800"


def test_decimal_infinity_is_missing_on_falconpys_path_too() -> None:
    """docs/formats.md: a Decimal that is NaN or infinite is missing, as a float's would be
    (the per-event json path wrote "Infinity" as a string)."""
    record = {"a": decimal.Decimal("Infinity"), "b": decimal.Decimal("-Infinity"),
              "c": decimal.Decimal("NaN"), "d": decimal.Decimal("2.5"), "timestamp": 1}
    assert to_events([record], hec_time=False) == [  # no option: null, as FalconPy's path does
        b'{"event":{"timestamp":1,"timeunit":"nanoseconds","a":null,"b":null,"c":null,'
        b'"d":2.5}}\n']
    assert to_events([record], hec_time=False, na="drop") == [
        b'{"event":{"timestamp":1,"timeunit":"nanoseconds","d":2.5}}\n']


def test_plain_json_list_failures_name_the_key_too(emu: Emulator) -> None:
    """FalconPy's per-event path (no options): the event that fails is reported with its key,
    the others are sent."""
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        report = hec.send([{"a": 1}, {"a": 2, "bad": {"inner": object()}}, {"a": 3}])
    assert report.delivered == 2 and [f.index for f in report.failed] == [1]
    assert "key 'bad.inner'" in report.failed[0].reason
    with pytest.raises(ConversionError) as err:
        to_events([{"a": 1}, {"b": object()}])
    assert (err.value.column, err.value.row) == ("b", 1)
    with pytest.raises(ConversionError) as err:  # two problems: the key named is the reason
        to_events([{"o": object(), "later\ud800": 1}])
    assert err.value.column == "o" and "key 'o': Type is not JSON serializable: object" in str(
        err.value)
