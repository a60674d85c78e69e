"""Loaders for the log shapes security people have on disk: Zeek TSV, NDJSON, CSV with a BOM.

Each returns what pandas would, with the format's own rules applied honestly: Zeek's ``-``
(unset) is missing and ``(empty)`` is an empty string or list, its ``time`` columns are UTC
timestamps; NDJSON lines may end in CRLF and keep ints as ints; a CSV's UTF-8 BOM is not part
of the first column's name. Plain or gzip files are both read.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ._errors import EventFileError

__all__ = ["read_csv", "read_ndjson", "read_zeek"]

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_LONG_DIGITS = re.compile(rb"\d{19}")


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes (gunzipped when it is gzip), or an EventFileError that says why."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise EventFileError(f"No such file: {name!r} (cwd is {os.getcwd()!r}).") from None
    except IsADirectoryError:
        raise EventFileError(f"{name!r} is a directory, not a file.") from None
    except OSError as exc:
        raise EventFileError(f"Cannot read {name!r}: {exc.strerror or exc}.") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise EventFileError(f"{name!r} is a truncated or corrupt gzip file ({exc}).") from None
    return data


# ----------------------------------------------------------------------------------------- zeek

_ZEEK_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_INT_TYPES = {"int": "Int64", "count": "UInt64", "port": "Int64"}


def read_zeek(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A Zeek TSV log (``conn.log`` ...) as a DataFrame, typed by its ``#types`` header.

    ``time`` -> UTC timestamps (exact to the nanosecond), ``interval``/``double`` -> float
    seconds, ``int``/``port`` -> Int64, ``count`` -> UInt64, ``bool`` -> boolean,
    ``set[...]``/``vector[...]`` -> lists of strings, the rest -> strings with Zeek's ``\\xHH``
    escapes decoded. ``-`` (unset) is missing; ``(empty)`` is ``""`` or ``[]``. A Zeek log
    written as JSON lines is read with :func:`read_ndjson`.

    >>> conn = hecnb.read_zeek("conn.log")                      # doctest: +SKIP
    >>> conn.to_ngsiem(timestamp_column="ts", host="zeek-01")   # doctest: +SKIP
    """
    data = _read_bytes(path)
    if data.lstrip()[:1] == b"{":
        frame = read_ndjson(path)
        assert isinstance(frame, pd.DataFrame)
        return frame
    meta: dict[str, str] = {"separator": "\t", "set_separator": ",", "empty_field": "(empty)",
                            "unset_field": "-"}
    fields: list[str] | None = None
    types: list[str] | None = None
    body: list[bytes] = []
    for raw in data.splitlines():
        if raw.startswith(b"#"):
            text = raw.decode("utf-8", "replace")
            if text.startswith("#separator "):
                meta["separator"] = _unescape(text.split(" ", 1)[1].encode()).decode("utf-8")
                continue
            key, _, value = text[1:].partition(meta["separator"])
            if key == "fields":
                fields = value.split(meta["separator"])
            elif key == "types":
                types = value.split(meta["separator"])
            elif key in meta:
                meta[key] = value
            continue
        if raw:
            body.append(raw)
    if fields is None:
        raise EventFileError(f"{os.fspath(path)!r} has no '#fields' header line: it is not a "
                             "Zeek TSV log.")
    types = types if types is not None and len(types) == len(fields) else ["string"] * len(fields)
    sep = meta["separator"]
    if body:
        frame = pd.read_csv(io.BytesIO(b"\n".join(body)), sep=sep, names=fields, header=None,
                            dtype=str, keep_default_na=False, na_filter=False,
                            quoting=csv.QUOTE_NONE, encoding="utf-8", encoding_errors="replace")
    else:
        frame = pd.DataFrame({name: pd.Series([], dtype=str) for name in fields})
    out = {}
    for name, kind in zip(fields, types, strict=True):
        out[name] = _zeek_column(frame[name], kind, meta)
    return pd.DataFrame(out, index=frame.index)


def _unescape(raw: bytes) -> bytes:
    return _ZEEK_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _unescape_text(text: str) -> str:
    if "\\x" not in text:
        return text
    return _unescape(text.encode("utf-8")).decode("utf-8", "backslashreplace")


def _zeek_column(col: pd.Series, kind: str, meta: dict[str, str]) -> pd.Series:
    """One column converted by its Zeek type."""
    unset = col == meta["unset_field"]
    empty = col == meta["empty_field"]
    if kind == "time":
        parts = col.where(~unset, "0").str.partition(".")
        secs = parts[0].astype(np.int64)
        frac = parts[2].str.ljust(9, "0").str[:9].replace("", "0").astype(np.int64)
        stamps = pd.to_datetime(secs * 1_000_000_000 + frac, unit="ns", utc=True)
        return stamps.where(~unset, pd.NaT)
    if kind in ("interval", "double"):
        return pd.to_numeric(col.where(~unset, None), errors="coerce").astype(np.float64)
    if kind in _INT_TYPES:
        return pd.to_numeric(col.where(~unset, None)).astype(_INT_TYPES[kind])
    if kind == "bool":
        return col.map({"T": True, "F": False}).where(~unset, None).astype("boolean")
    if kind.startswith(("set[", "vector[", "table[")):
        set_sep = meta["set_separator"]
        values = [None if u else ([] if e else [_unescape_text(v) for v in s.split(set_sep)])
                  for s, u, e in zip(col.tolist(), unset.tolist(), empty.tolist(), strict=True)]
        return pd.Series(values, index=col.index, dtype=object)
    texts = [None if u else ("" if e else _unescape_text(s))
             for s, u, e in zip(col.tolist(), unset.tolist(), empty.tolist(), strict=True)]
    return pd.Series(texts, index=col.index, dtype="str")


# --------------------------------------------------------------------------------------- ndjson


def read_ndjson(path: str | os.PathLike[str], *, as_frame: bool = True) -> Any:
    """A file of JSON objects, one per line (LF or CRLF, optional BOM, plain or gzip).

    Returns a DataFrame (nested objects stay dicts in their cells; a key missing from a line is
    missing in that row; int columns with gaps become Int64 rather than float), or with
    ``as_frame=False`` the list of dicts exactly as parsed. A line that is not a JSON object is
    an EventFileError naming it.
    """
    data = _read_bytes(path)
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    records: list[dict[str, Any]] = []
    for lineno, line in enumerate(data.split(b"\n"), 1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        try:
            # orjson reads ints past 64 bits as floats: such lines go to the standard library
            obj = json.loads(line) if _LONG_DIGITS.search(line) else orjson.loads(line)
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise EventFileError(f"{os.fspath(path)!r} line {lineno} is not JSON ({exc}).") \
                from None
        if not isinstance(obj, dict):
            raise EventFileError(f"{os.fspath(path)!r} line {lineno} is a JSON "
                                 f"{type(obj).__name__}, not an object.")
        records.append(obj)
    if not as_frame:
        return records
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    for name in frame.columns:
        col = frame[name]
        if col.dtype == np.float64 and col.isna().any() and all(
                type(r[name]) is int for r in records if r.get(name) is not None):
            frame[name] = col.astype("Int64")
    return frame


# ------------------------------------------------------------------------------------------ csv


def read_csv(path: str | os.PathLike[str], **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` with the defaults a log or IOC export needs.

    A UTF-8 byte-order mark is dropped (``encoding='utf-8-sig'``), empty cells are missing, and
    text such as ``NA``, ``null`` or ``None`` stays text (an IOC or a country code, not a gap).
    Other keywords go to ``pandas.read_csv``.
    """
    kwargs.setdefault("encoding", "utf-8-sig")
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    try:
        return pd.read_csv(path, **kwargs)
    except FileNotFoundError:
        raise EventFileError(f"No such file: {os.fspath(path)!r} (cwd is {os.getcwd()!r}).") \
            from None
