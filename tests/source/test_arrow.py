"""Polars and Arrow frames and Parquet files as inputs: the same bodies as the same data in
pandas, in every format; through the emulator; in blocks; and from the CLI by content."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import KEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hecnb
from hecnb._encode import arrowframes
from hecnb._source.detect import detect
from hecnb.emulator import Emulator

FORMATS = ("json", "yaml", "xml", "csv")
UTC = dt.timezone.utc
T0 = dt.datetime(2024, 3, 1, 12, 0, 0)
NOW = 1_717_000_000_123_456_789  # the send time, fixed where rows fall back to it


def _rows() -> dict[str, list[Any]]:
    return {
        "ts": [T0, T0 + dt.timedelta(milliseconds=1500), T0 + dt.timedelta(days=1)],
        "i": [1, None, 2**62],
        "u": [2**64 - 1, 3, 0],
        "f": [1.5, float("nan"), None],
        "inf": [float("inf"), -0.0, 1e300],
        "b": [True, None, False],
        "s": ['a"b\\', None, "é✓ \t\n ctrl\x01"],
        "l": [[1, 2], None, []],
        "st": [{"a": 1, "b": [1.5, None]}, None, {"a": None, "b": None}],
        "tz": [dt.datetime(2024, 1, 1, 1, tzinfo=UTC), None,
               dt.datetime(2024, 1, 2, tzinfo=UTC)],
        "c": ["x", "y", None],
        "d": [dt.date(2024, 1, 1), None, dt.date(1999, 12, 31)],
        "dec": [decimal.Decimal("1.25"), None, decimal.Decimal("-3")],
    }


def arrow_table() -> Any:
    r = _rows()
    return pa.table({
        "ts": pa.array(r["ts"], pa.timestamp("us")), "i": pa.array(r["i"], pa.int64()),
        "u": pa.array(r["u"], pa.uint64()), "f": pa.array(r["f"], pa.float64()),
        "inf": pa.array(r["inf"], pa.float64()), "b": pa.array(r["b"]),
        "s": pa.array(r["s"]), "l": pa.array(r["l"]), "st": pa.array(r["st"]),
        "tz": pa.array(r["tz"], pa.timestamp("ms", "UTC")),
        "c": pa.array(r["c"]).dictionary_encode(), "d": pa.array(r["d"]),
        "dec": pa.array(r["dec"], pa.decimal128(10, 2)),
    })


def pandas_frame() -> pd.DataFrame:
    """The same data, made in pandas directly (nullable ints and bools, object nested)."""
    r = _rows()
    return pd.DataFrame({
        "ts": pd.Series(r["ts"], dtype="datetime64[us]"), "i": pd.Series(r["i"], dtype="Int64"),
        "u": pd.Series(r["u"], dtype="uint64"), "f": pd.Series(r["f"], dtype="float64"),
        "inf": pd.Series(r["inf"], dtype="float64"), "b": pd.Series(r["b"], dtype="boolean"),
        "s": pd.Series(r["s"], dtype="str"), "l": pd.Series(r["l"], dtype=object),
        "st": pd.Series(r["st"], dtype=object),
        "tz": pd.Series(r["tz"]).astype("datetime64[ms, UTC]"),
        "c": pd.Series(r["c"], dtype="category"), "d": pd.Series(r["d"], dtype=object),
        "dec": pd.Series([decimal.Decimal("1.25"), None, decimal.Decimal("-3.00")],
                         dtype=object),
    })


def _inputs(table: Any) -> dict[str, Any]:
    return {
        "pa.Table": table,
        "pa.RecordBatch": table.combine_chunks().to_batches()[0],
        "pa.RecordBatchReader": pa.RecordBatchReader.from_batches(
            table.schema, table.to_batches(max_chunksize=2)),
        "pl.DataFrame": pl.from_arrow(table),
        "pl.LazyFrame": pl.from_arrow(table).lazy(),
    }


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("raw", [False, True])
def test_every_input_gives_the_bodies_of_the_same_pandas_frame(fmt: str, raw: bool) -> None:
    options: dict[str, Any] = {"host": "h", "na": "null"}
    if fmt == "csv" and raw:
        options["columns"] = [c for c in pandas_frame().columns if c != "s"]  # no line breaks
    expected = hecnb.encode(pandas_frame(), fmt, raw=raw, **options)
    for name, data in _inputs(arrow_table()).items():
        assert hecnb.encode(data, fmt, raw=raw, **options) == expected, name
    assert hecnb.to_events(arrow_table(), fmt, raw=raw, **options) == hecnb.to_events(
        pandas_frame(), fmt, raw=raw, **options)


def test_options_are_those_of_pandas(monkeypatch: Any) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: NOW)  # rows without a time: the same one
    frame, table = pandas_frame(), arrow_table()
    for options in ({"fields": ["i", "s"]}, {"fields": {"env": "lab"}, "columns": ["ts", "i"]},
                    {"host": "s", "timestamp_column": "tz", "timeunit": "milliseconds"},
                    {"na": "drop", "hec_time": False}, {"timestamp_column": "ts"}):
        for fmt in FORMATS:
            assert hecnb.encode(table, fmt, **options) == hecnb.encode(frame, fmt, **options), (
                fmt, options)


def test_bad_input_is_refused_before_anything_is_sent() -> None:
    table = arrow_table()
    with pytest.raises(hecnb.ConversionError, match="not a column"):
        hecnb.encode(table, columns=["nope"])
    with pytest.raises(hecnb.ConversionError, match="more than one column named 'a'"):
        hecnb.encode(pa.table([pa.array([1]), pa.array([2])], names=["a", "a"]))
    with pytest.raises(hecnb.ConversionError, match="line break"):
        hecnb.encode(table, "csv", raw=True)
    with pytest.raises(hecnb.ConversionError, match=r"timestamp column 's', row 0"):
        hecnb.encode(table, timestamp_column="s")


def test_timestamp_digits_are_decided_over_the_whole_input(monkeypatch: Any) -> None:
    """A block of whole seconds shows the fraction digits the other blocks need, as the same
    frame does in pandas."""
    monkeypatch.setattr(arrowframes, "ARROW_BLOCK_ROWS", 4)
    stamps = [T0 + dt.timedelta(seconds=i) for i in range(8)]
    stamps[6] += dt.timedelta(microseconds=250)
    table = pa.table({"ts": pa.array(stamps, pa.timestamp("us")), "n": list(range(8))})
    expected = hecnb.encode(table.to_pandas())
    assert b'"ts":"2024-03-01T12:00:00.000000"' in expected[0]
    for name, data in _inputs(table).items():
        if name == "pa.RecordBatchReader":
            continue  # read once: its blocks decide for themselves (docs/sources.md)
        assert hecnb.encode(data) == expected, name


def test_a_large_table_goes_in_blocks_with_the_rows_of_pandas() -> None:
    n = 150_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**12, n),
                                                           unit="us"),
        "user": pd.Series([f"u{i % 97}" if i % 13 else None for i in range(n)], dtype="str"),
        "port": rng.integers(0, 65535, n), "score": rng.random(n)})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for fmt in FORMATS:
        assert hecnb.encode(table, fmt) == hecnb.encode(frame, fmt), fmt


def _sent(emu: Emulator, data: Any, fmt: str, raw: bool = False) -> list[Any]:
    emu.reset()
    with hecnb.HEC(api_key=KEY, ingest_url=emu.url, ingest_format=fmt,
                   raw_ingest=raw) as hec:
        report = hec.send(data, show_progress=False, host="h")
    assert report.ok and report.delivered == 3, report
    return emu.events


@pytest.mark.parametrize("fmt", FORMATS)
def test_polars_and_arrow_through_the_emulator(emu: Emulator, fmt: str) -> None:
    expected = _sent(emu, pandas_frame(), fmt)
    for name, data in _inputs(arrow_table()).items():
        assert _sent(emu, data, fmt) == expected, name


def test_polars_namespace(emu: Emulator) -> None:
    frame = pl.from_arrow(arrow_table())
    with hecnb.HEC(api_key=KEY, ingest_url=emu.url) as hec:
        report = frame.ngsiem.send(hec, host="h", show_progress=False)
        assert report.delivered == 3
        assert frame.lazy().ngsiem.send(hec, show_progress=False).delivered == 3
    assert frame.ngsiem.events(host="h") == hecnb.to_events(pandas_frame(), host="h")
    shown = frame.ngsiem.preview(1, "csv", host="h")
    assert shown.startswith('"host","timestamp"') and shown.count("\r\n") == 2


def test_interrupt_lists_the_rows_not_reached() -> None:
    report = hecnb.SendReport(url="x", ingest_format="json")
    report.add_unreached(arrow_table(), 1, "not sent")
    assert [f.index for f in report.failed] == [1, 2] and report.total == 2
    assert [f.event for f in report.failed] == [1, 2]


# ------------------------------------------------------------------------------- hypothesis

_INTS = {"int8": (pa.int8(), -(2**7), 2**7 - 1), "int64": (pa.int64(), -(2**63), 2**63 - 1),
         "uint64": (pa.uint64(), 0, 2**64 - 1), "uint8": (pa.uint8(), 0, 255)}
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)


@st.composite
def columns(draw: Any) -> tuple[Any, pd.Series]:
    """An Arrow column with nulls and the same column in pandas."""
    n = 4
    kind = draw(st.sampled_from(["int", "float", "str", "bool", "ts", "tz", "list", "struct",
                                 "dict"]))

    def maybe(values: Any) -> Any:
        return st.one_of(st.none(), values)

    if kind == "int":
        name = draw(st.sampled_from(sorted(_INTS)))
        typ, lo, hi = _INTS[name]
        values = draw(st.lists(maybe(st.integers(lo, hi)), min_size=n, max_size=n))
        pd_type = name.capitalize().replace("Uint", "UInt")
        return pa.array(values, typ), pd.Series(values, dtype=pd_type if None in values
                                                else name)
    if kind == "float":
        values = draw(st.lists(maybe(st.floats(allow_nan=True, allow_infinity=True)),
                               min_size=n, max_size=n))
        return pa.array(values, pa.float64()), pd.Series(
            [np.nan if v is None else v for v in values], dtype="float64")
    if kind == "str":
        values = draw(st.lists(maybe(_TEXT), min_size=n, max_size=n))
        return pa.array(values, pa.string()), pd.Series(values, dtype="str")
    if kind == "bool":
        values = draw(st.lists(maybe(st.booleans()), min_size=n, max_size=n))
        return pa.array(values, pa.bool_()), pd.Series(
            values, dtype="boolean" if None in values else "bool")
    if kind in ("ts", "tz"):
        stamps = st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1))
        values = draw(st.lists(maybe(stamps), min_size=n, max_size=n))
        unit = draw(st.sampled_from(["s", "ms", "us"]))
        if kind == "tz":
            tz = draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]))
            arr = pa.array(values, pa.timestamp(unit)).cast(pa.timestamp(unit, tz))
            return arr, arr.to_pandas()
        arr = pa.array(values, pa.timestamp(unit))
        return arr, pd.Series(arr.cast(pa.int64()).to_numpy(zero_copy_only=False)
                              .astype(f"M8[{unit}]") if not arr.null_count else
                              pd.Series(values, dtype=f"datetime64[{unit}]"))
    if kind == "list":
        values = draw(st.lists(maybe(st.lists(maybe(st.integers(-(2**63), 2**63 - 1)),
                                              max_size=3)), min_size=n, max_size=n))
        return pa.array(values, pa.list_(pa.int64())), pd.Series(values, dtype=object)
    if kind == "struct":
        item = st.fixed_dictionaries({"a": maybe(st.integers(0, 2**64 - 1)), "b": maybe(_TEXT),
                                      "c": maybe(st.lists(st.floats(allow_nan=False),
                                                          max_size=2))})
        values = draw(st.lists(maybe(item), min_size=n, max_size=n))
        typ = pa.struct([("a", pa.uint64()), ("b", pa.string()),
                         ("c", pa.list_(pa.float64()))])
        ordered = [None if v is None else {k: v[k] for k in "abc"} for v in values]
        return pa.array(values, typ), pd.Series(ordered, dtype=object)
    values = draw(st.lists(maybe(st.sampled_from(["a", "b", "ü"])), min_size=n, max_size=n))
    return pa.array(values).dictionary_encode(), pd.Series(values, dtype="category")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(columns(), min_size=1, max_size=4), st.sampled_from(FORMATS),
       st.sampled_from(["drop", "null"]))
def test_random_arrow_columns_encode_as_in_pandas(cols: list[Any], fmt: str, na: str) -> None:
    names = [f"c{i}" for i in range(len(cols))]
    table = pa.table({nm: c[0] for nm, c in zip(names, cols, strict=True)})
    frame = pd.DataFrame({nm: c[1] for nm, c in zip(names, cols, strict=True)})
    options = {"na": na}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time_ns", lambda: NOW)  # rows without a time: the same one
        want = hecnb.encode(frame, fmt, **options)
        assert hecnb.encode(table, fmt, **options) == want
        assert hecnb.encode(pl.from_arrow(table), fmt, **options) == want


# ---------------------------------------------------------------------------------- Parquet


def _parquet(path: Path, n: int = 50_000) -> Any:
    table = pa.table({
        "ts": pa.array([T0 + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("ms")),
        "user": pa.array([f"user{i % 50}" if i % 11 else None for i in range(n)]),
        "tags": pa.array([[f"t{i % 3}", "x"] if i % 5 else None for i in range(n)]),
        "geo": pa.array([{"lat": i / 1000, "cc": {"code": "FR"}} for i in range(n)]),
        "big": pa.array([2**63 + i for i in range(n)], pa.uint64()),
        "kind": pa.array([("a", "b", "c")[i % 3] for i in range(n)]).dictionary_encode(),
    })
    pq.write_table(table, path, row_group_size=7_000)
    return table


def test_parquet_is_read_by_row_group_and_encodes_as_the_table(tmp_path: Path) -> None:
    table = _parquet(tmp_path / "f.parquet")
    source = hecnb.read_parquet(tmp_path / "f.parquet")
    assert len(source) == 50_000 and source.row_groups == 8
    sizes = [b.num_rows for b in source.hecnb_arrow_batches(65_536)]
    assert max(sizes) <= 7_000 and sum(sizes) == 50_000  # never more than a row group
    for fmt in FORMATS:
        assert hecnb.encode(source, fmt) == hecnb.encode(table, fmt), fmt
    assert hecnb.encode(source.head(3)) == hecnb.encode(table.slice(0, 3))
    assert hecnb.encode(hecnb.read_parquet(tmp_path / "f.parquet", columns=["ts", "big"])) \
        == hecnb.encode(table.select(["ts", "big"]))


def test_parquet_sent_through_the_emulator(emu: Emulator, tmp_path: Path) -> None:
    _parquet(tmp_path / "f.parquet", 20_000)
    with hecnb.HEC(api_key=KEY, ingest_url=emu.url) as hec:
        report = hec.send(hecnb.read_parquet(tmp_path / "f.parquet"), show_progress=False)
    assert report.ok and report.delivered == 20_000
    events = emu.events
    assert sorted(e["event"]["big"] for e in events) == [2**63 + i for i in range(20_000)]
    assert events[1]["event"]["geo"] == {"lat": 0.001, "cc": {"code": "FR"}}
    assert {e["event"]["timestamp"] for e in events[:2]} == {
        int(T0.replace(tzinfo=UTC).timestamp()) * 10**9 + s * 10**9 for s in (0, 1)}


def test_read_parquet_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(hecnb.EventFileError, match="No such file"):
        hecnb.read_parquet(tmp_path / "missing.parquet")
    (tmp_path / "x.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(hecnb.EventFileError, match="not a readable Parquet file"):
        hecnb.read_parquet(tmp_path / "x.parquet")
    _parquet(tmp_path / "f.parquet", 10)
    with pytest.raises(hecnb.ConfigError, match="'nope', which is not a column"):
        hecnb.read_parquet(tmp_path / "f.parquet", columns=["nope"])


# --------------------------------------------------------------------- the CLI, by content


def _files(tmp_path: Path) -> dict[str, tuple[Path, int]]:
    """One file of each kind, none with an extension."""
    made: dict[str, tuple[Path, int]] = {}
    _parquet(tmp_path / "parquet", 1_000)
    made["parquet"] = (tmp_path / "parquet", 1_000)
    lines = b"".join(orjson.dumps({"n": i}) + b"\n" for i in range(30))
    (tmp_path / "ndjson").write_bytes(lines)
    made["ndjson"] = (tmp_path / "ndjson", 30)
    (tmp_path / "json").write_bytes(orjson.dumps([{"n": i} for i in range(20)],
                                                 option=orjson.OPT_INDENT_2))
    made["json"] = (tmp_path / "json", 20)
    (tmp_path / "csv").write_text("user,port\nalice,22\n\"bob, jr\",443\n")
    made["csv"] = (tmp_path / "csv", 2)
    (tmp_path / "csvgz").write_bytes(gzip.compress((tmp_path / "csv").read_bytes()))
    made["csv (gzip)"] = (tmp_path / "csvgz", 2)
    (tmp_path / "ndjsongz").write_bytes(gzip.compress(lines))
    made["ndjson (gzip)"] = (tmp_path / "ndjsongz", 30)
    evtx = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "new-user-security.evtx"
    if evtx.exists():
        (tmp_path / "evtx").write_bytes(evtx.read_bytes())
        made["evtx"] = (tmp_path / "evtx", -1)
    return made


def test_detect_recognises_each_kind_by_content(tmp_path: Path) -> None:
    for kind, (path, _) in _files(tmp_path).items():
        assert str(detect(path)) == kind
    (tmp_path / "text").write_text("Jan  1 00:00:00 host sshd[1]: hello\n")
    assert detect(tmp_path / "text").kind == "lines"
    with pytest.raises(hecnb.EventFileError, match="No such event file"):
        detect(tmp_path / "nothing")


def test_cli_sends_each_kind_by_content(emu: Emulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGSIEM_")}
    env["NGSIEM_API_KEY"] = KEY
    for kind, (path, count) in _files(tmp_path).items():
        emu.reset()
        out = subprocess.run([sys.executable, "-m", "hecnb.cli", "send", str(path), "--url",
                              emu.url, "--no-progress"], capture_output=True, text=True,
                             env=env, timeout=120, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, (kind, out.stderr)
        events = emu.events
        if count >= 0:
            assert len(events) == count, kind
            assert f"{count:,} of {count:,} events delivered" in out.stdout, kind
        else:  # EVTX: one event per record, the time from TimeCreated
            assert events and all("EventID" in e["event"] for e in events)
            assert "event time from 'TimeCreated'" in out.stdout
        if kind.startswith("csv"):
            assert [e["event"]["user"] for e in events] == ["alice", "bob, jr"]


def test_parquet_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """Arrow's allocations while a file of 20 row groups is read stay those of a few row
    groups: pyarrow's read-ahead cache (on by default) would keep all of them until the end
    (measured: about 44 MB here for this 42 MB file with it, under 8 MB without)."""
    path = tmp_path / "long.parquet"
    group = pa.table({"text": [os.urandom(16).hex() for _ in range(50_000)],
                      "n": range(50_000)})
    with pq.ParquetWriter(path, group.schema) as out:
        for _ in range(20):
            out.write_table(group)
    start = pa.total_allocated_bytes()
    peak = 0
    for batch in hecnb.read_parquet(path).hecnb_arrow_batches(65_536):
        peak = max(peak, pa.total_allocated_bytes() - start)
        del batch
    assert peak < 6 * group.nbytes, (peak, group.nbytes)  # 20 groups would be > 40 MB
