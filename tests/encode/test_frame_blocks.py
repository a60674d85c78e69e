"""A DataFrame is checked, then encoded, a block of rows at a time (``hecnb/_encode/frames.py``,
bounded memory): with blocks of a few rows the bytes must be those of one block, what spans
blocks (timestamp widths, categories, kept times and texts) must agree, and a bad cell in the
last block must still be refused before anything is sent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hecnb
from hecnb._encode import frames

FORMATS = ["json", "yaml", "xml", "csv"]


def _frame(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**9, n), "ms")
    # a block whose times all fall on a whole second would print fewer digits on its own
    ts = ts.where(np.arange(n) % 17 != 0, ts.floor("s"))
    return pd.DataFrame({
        "ts": ts,
        "src": pd.array([f"10.0.{i % 7}.{i}" for i in range(n)], dtype="str"),
        "obj": pd.Series([{"k": i} if i % 3 else None for i in range(n)], dtype=object),
        "n": pd.array([i if i % 5 else None for i in range(n)], dtype="Int64"),
        "f": np.where(np.arange(n) % 4 == 0, np.nan, rng.random(n)),
        "cat": pd.Categorical(rng.choice(["allow", "deny", "drop"], n)),
        "when": pd.to_datetime(rng.integers(0, 10**12, n), unit="ms").astype("datetime64[ms]"),
    })


def _small_blocks(monkeypatch: pytest.MonkeyPatch, block: int = 8, keep: int = 20,
                  keep_objects: int = 12) -> None:
    monkeypatch.setattr(frames, "BLOCK_ROWS", block)
    monkeypatch.setattr(frames, "KEEP_ROWS", keep)
    monkeypatch.setattr(frames, "KEEP_OBJECT_ROWS", keep_objects)


@pytest.mark.parametrize("fmt", FORMATS)
def test_small_blocks_give_the_bytes_of_one_block(fmt: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    df = _frame()
    whole = hecnb.encode(df, fmt, host="fw1", timestamp_column="ts", batch_max_events=10)
    _small_blocks(monkeypatch)
    assert hecnb.encode(df, fmt, host="fw1", timestamp_column="ts", batch_max_events=10) == whole


@pytest.mark.parametrize("fmt", FORMATS)
def test_rows_past_what_is_kept_are_prepared_again_alike(fmt: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing kept between the passes (times and texts all prepared again) changes nothing."""
    df = _frame(50)
    whole = hecnb.encode(df, fmt, timestamp_column="ts")
    _small_blocks(monkeypatch, block=7, keep=0, keep_objects=0)
    assert hecnb.encode(df, fmt, timestamp_column="ts") == whole


def test_unreadable_times_are_counted_once(emu: hecnb.emulator.Emulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The check pass counts a row whose time cannot be read; preparing the block again must
    not count it twice."""
    from conftest import KEY

    _small_blocks(monkeypatch, block=4, keep=4)
    df = pd.DataFrame({"time": ["2024-01-01T00:00:00Z", "garbage"] * 10, "v": range(20)})
    hec = hecnb.HEC(api_key=KEY, ingest_url=emu.url)
    report = df.to_ngsiem(hec, show_progress=False)
    hec.close()
    assert report.delivered == 20
    assert report.time_fields == {"time": 10} and report.time_fallback == 10


def test_a_bad_cell_in_the_last_block_is_refused_before_anything_is_sent(
        emu: hecnb.emulator.Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import KEY

    _small_blocks(monkeypatch)
    df = _frame()
    df["src"] = df["src"].astype(object)
    df.loc[len(df) - 1, "src"] = "bad \ud800 text"
    hec = hecnb.HEC(api_key=KEY, ingest_url=emu.url)
    with pytest.raises(hecnb.ConversionError) as info:
        df.to_ngsiem(hec, show_progress=False)
    hec.close()
    assert info.value.column == "src" and info.value.row == len(df) - 1
    assert emu.events == []
