"""Loaders for the log shapes security people have on disk: Zeek TSV, NDJSON, CSV with a BOM,
syslog and Apache access logs.

Each returns what pandas would, with the format's own rules applied honestly: Zeek's ``-``
(unset) is missing and ``(empty)`` is an empty string or list, its ``time`` columns are UTC
timestamps; NDJSON lines may end in CRLF and keep ints as ints; a CSV's UTF-8 BOM is not part
of the first column's name; syslog and access-log lines become columns with their time as UTC
timestamps. Plain or gzip files are all read. Every frame's time column is one the event-time
rule finds (``ts``, ``time``, or the file's own well-known name), so ``df.to_ngsiem()`` sends
each record with its own time.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import re
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .._errors import EventFileError

__all__ = ["read_apache", "read_csv", "read_ndjson", "read_syslog", "read_zeek"]

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

    The time of each connection, ``ts``, is what ``to_ngsiem()`` takes as the event time.

    >>> conn = hecnb.read_zeek("conn.log")                      # doctest: +SKIP
    >>> conn.to_ngsiem(host="zeek-01")                          # doctest: +SKIP
    """
    data = _read_bytes(path)
    if data.lstrip()[:1] == b"{":
        frame = read_ndjson(path)
        assert isinstance(frame, pd.DataFrame)
        if "ts" in frame.columns:  # Zeek JSON: epoch seconds (or ISO-8601) -> UTC timestamps
            frame["ts"] = _zeek_json_time(frame["ts"])
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


def _zeek_json_time(col: pd.Series) -> pd.Series:
    """Zeek JSON's ``ts`` (epoch seconds with microseconds, or ISO-8601 with
    ``JSON::TS_ISO8601``) as UTC timestamps, read by the event-time rule's own arithmetic."""
    from .._encode.frametimes import column_times

    ints, missing, bad = column_times(col, "ts", 1)
    stamps = pd.Series(ints, index=col.index).astype("datetime64[ns]").dt.tz_localize("UTC")
    return stamps.where(~(missing | bad), pd.NaT)


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


# ------------------------------------------------------------------------------ text logs

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"), 1)}


def _text_lines(path: str | os.PathLike[str]) -> pd.Series:
    """The file's lines (plain or gzip; LF, CRLF or CR; UTF-8, bad bytes as U+FFFD), blank
    ones left out, as a Series indexed by line number (1-based)."""
    data = _read_bytes(path)
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    lines = data.decode("utf-8", "replace").splitlines()
    numbers = [i for i, line in enumerate(lines, 1) if line.strip()]
    kept = [lines[i - 1] for i in numbers]
    return pd.Series(kept, index=pd.Index(numbers, name="line"), dtype="str")


def _localize(naive: pd.Series, tz: Any) -> pd.Series:
    """Naive wall-clock times in ``tz`` (None: UTC) as UTC timestamps."""
    if tz is None:
        return naive.dt.tz_localize("UTC")
    try:
        local = naive.dt.tz_localize(tz, ambiguous="infer", nonexistent="shift_forward")
    except (ValueError, TypeError):  # the hour repeated at the end of DST cannot be told
        local = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return local.dt.tz_convert("UTC")


_SYSLOG_3164 = (
    r"(?:<(?P<pri>\d{1,3})>)?(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) "
    r"(?P<clock>\d{2}:\d{2}:\d{2}) (?P<host>\S+) "
    r"(?:(?P<program>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?)?(?P<message>.*)")
_SYSLOG_3339 = (
    r"(?:<(?P<pri>\d{1,3})>)?(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?) (?P<host>\S+) "
    r"(?:(?P<program>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?)?(?P<message>.*)")
_SYSLOG_5424 = (
    r"<(?P<pri>\d{1,3})>1 (?P<stamp>\S+) (?P<host>\S+) (?P<program>\S+) (?P<pid>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<message>.*))?")


def read_syslog(path: str | os.PathLike[str], *, year: int | None = None,
                tz: Any = None) -> pd.DataFrame:
    """A syslog file (``/var/log/auth.log``, ``messages``...) as a DataFrame, one row per line.

    Reads BSD syslog (RFC 3164: ``Mar 27 13:06:56 host sshd[1291]: message``, with or without
    ``<PRI>``), the same with an RFC 3339 time (rsyslog's high-precision format) and RFC 5424
    (``<34>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] message``). Columns:
    ``time`` (UTC timestamps: the event time ``to_ngsiem`` sends), ``host``, ``program``,
    ``pid``, ``message``; ``facility`` and ``severity`` when lines carry a priority; ``msgid``
    and ``structured_data`` for RFC 5424 lines. A line in none of these forms is kept whole
    in ``message`` (its time is then missing, and it is sent with the send time, counted).

    RFC 3164 has no year. The lines are taken to be in time order, and:

    - ``year=`` is the year of the first line; each time the month goes down from one line
      to the next (December, then January), a year has passed;
    - without it, the last line is taken to be written no later than the file was last
      modified: it gets the modification time's year (or the year before, when its date
      would be later in the year than the modification time), and going back a year passes
      each time the month goes up.

    ``tz`` is the zone the host wrote its clock in (a name such as ``"Europe/Berlin"``); the
    default is UTC, as for every time without a zone. RFC 3339 and 5424 times with an offset
    keep it.

    >>> auth = hecnb.read_syslog("/var/log/auth.log", tz="Europe/Berlin")   # doctest: +SKIP
    >>> auth.to_ngsiem()                                                    # doctest: +SKIP
    """
    lines = _text_lines(path)
    n = len(lines)
    bsd = lines.str.extract(f"^{_SYSLOG_3164}$")
    iso = lines.str.extract(f"^{_SYSLOG_3339}$")
    new = lines.str.extract(f"^{_SYSLOG_5424}$")
    is_new = new["host"].notna().to_numpy()
    is_iso = iso["host"].notna().to_numpy() & ~is_new
    is_bsd = bsd["host"].notna().to_numpy() & ~is_new & ~is_iso

    def pick(column: str, *frames: tuple[pd.DataFrame, np.ndarray]) -> pd.Series:
        out = pd.Series([None] * n, index=lines.index, dtype=object)
        for frame, mask in frames:
            if column in frame.columns and mask.any():
                out[mask] = frame[column][mask].astype(object)
        return out

    # the times: BSD lines get a year by the rule above; the others carry theirs
    naive = pd.Series(pd.NaT, index=lines.index, dtype="datetime64[ns]")
    if is_bsd.any():
        months = bsd["mon"].map(_MONTHS).to_numpy(dtype=float)
        days = pd.to_numeric(bsd["day"], errors="coerce").to_numpy(dtype=float)
        known = is_bsd & ~np.isnan(months)
        years = _syslog_years(months[known], days[known], bsd["clock"][known].tolist(),
                              year, path, tz)
        texts = [f"{y:04d}-{int(m):02d}-{int(d):02d}T{c}" for y, m, d, c in zip(
            years, months[known], days[known], bsd["clock"][known].tolist(), strict=True)]
        naive[known] = pd.to_datetime(pd.Series(texts, dtype=object), format="%Y-%m-%dT%H:%M:%S",
                                      errors="coerce").to_numpy()
    time = _localize(naive, tz)
    for frame, mask in ((iso, is_iso), (new, is_new)):
        if mask.any():
            time[mask] = _iso_times(frame["stamp"][mask], tz).to_numpy()
    out: dict[str, Any] = {"time": time}
    out["host"] = pick("host", (bsd, is_bsd), (iso, is_iso), (new, is_new))
    out["program"] = pick("program", (bsd, is_bsd), (iso, is_iso), (new, is_new))
    pid = pick("pid", (bsd, is_bsd), (iso, is_iso), (new, is_new))
    out["pid"] = pd.to_numeric(pid.where(pid != "-"), errors="coerce").astype("Int64")
    message = pick("message", (bsd, is_bsd), (iso, is_iso), (new, is_new))
    unparsed = ~(is_bsd | is_iso | is_new)
    message[unparsed] = lines[unparsed].astype(object)
    out["message"] = message
    pri = pd.to_numeric(pick("pri", (bsd, is_bsd), (iso, is_iso), (new, is_new)),
                        errors="coerce").astype("Int64")
    if pri.notna().any():
        out["facility"] = pri // 8
        out["severity"] = pri % 8
    if is_new.any():
        for name, column in (("msgid", "msgid"), ("structured_data", "sd")):
            values = pick(column, (new, is_new))
            out[name] = values.where(values != "-")
        for name in ("host", "program"):
            out[name] = out[name].where(~(is_new & (out[name] == "-").to_numpy()))
    frame = pd.DataFrame(out, index=lines.index)
    for name in ("host", "program", "message", "msgid", "structured_data"):
        if name in frame.columns:
            frame[name] = frame[name].astype("str")
    return frame.reset_index(drop=True)


def _iso_times(stamps: pd.Series, tz: Any) -> pd.Series:
    """RFC 3339 times: with an offset as they are, without one in ``tz`` (None: UTC)."""
    aware = stamps.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=stamps.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        out[aware] = pd.to_datetime(stamps[aware], format="ISO8601", utc=True,
                                    errors="coerce").dt.as_unit("ns")
    if (~aware).any():
        naive = pd.to_datetime(stamps[~aware], format="ISO8601", errors="coerce").dt.as_unit(
            "ns")
        out[~aware] = _localize(naive, tz)
    return out


def _syslog_years(months: np.ndarray, days: np.ndarray, clocks: list[str], year: int | None,
                  path: str | os.PathLike[str], tz: Any) -> list[int]:
    """The year of each RFC 3164 line (they are in time order): see :func:`read_syslog`."""
    if not len(months):
        return []
    went_down = months[1:] < months[:-1]  # a new year began between line i and line i + 1
    if year is not None:
        years: list[int] = (int(year) + np.concatenate([[0], np.cumsum(went_down)])).tolist()
        return years
    # no year given: the last line was written by the file's modification time
    modified = dt.datetime.fromtimestamp(os.stat(path).st_mtime, tz=dt.timezone.utc)
    if tz is not None:
        from zoneinfo import ZoneInfo

        modified = modified.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)
    last = (int(months[-1]), int(days[-1]), clocks[-1])
    ref = (modified.month, modified.day, modified.strftime("%H:%M:%S"))
    last_year = modified.year - (1 if last > ref else 0)
    back = np.concatenate([np.cumsum(went_down[::-1])[::-1], [0]])
    counted: list[int] = (last_year - back).astype(int).tolist()
    return counted


_APACHE = (
    r"(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<day>\d{2})/(?P<mon>[A-Z][a-z]{2})/"
    r"(?P<year>\d{4}):(?P<clock>\d{2}:\d{2}:\d{2}) (?P<zone>[+-]\d{4})\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}|-) (?P<bytes>\d+|-)'
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<user_agent>(?:[^"\\]|\\.)*)")?')
_APACHE_ESCAPE = r'\\(["\\])'  # Apache writes \" and \\ (and \xhh, kept as written)
_REQUEST = r"(?P<method>[A-Z]+) (?P<path>\S+)(?: (?P<protocol>HTTP/\d(?:\.\d)?))?"


def read_apache(path: str | os.PathLike[str]) -> pd.DataFrame:
    """An Apache (or nginx) access log in the common or combined log format, one row per line.

    ``83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /index.html HTTP/1.1" 200 203023
    "http://ref/" "Mozilla/5.0 ..."`` becomes ``client``, ``ident``, ``user``, ``time`` (UTC
    timestamps, from the line's own offset: the event time ``to_ngsiem`` sends), ``method``,
    ``path``, ``protocol``, ``status``, ``bytes`` (``-``, no body, is 0), ``referer``,
    ``user_agent``. ``-`` for ident, user, referer or user agent is missing; ``\\"`` inside
    quotes is a quote. A request line that is not ``METHOD path [protocol]`` (a probe sending
    garbage) is kept in ``request``; a line in neither format is kept whole in ``message``.

    >>> web = hecnb.read_apache("access.log")    # doctest: +SKIP
    >>> web.to_ngsiem(host="www-01")             # doctest: +SKIP
    """
    lines = _text_lines(path)
    parts = lines.str.extract(f"^{_APACHE}$")
    ok = parts["client"].notna().to_numpy()
    time = pd.Series(pd.NaT, index=lines.index, dtype="datetime64[ns, UTC]")
    months = parts["mon"].map(_MONTHS)
    dated = ok & months.notna().to_numpy()
    if dated.any():
        got = parts[dated]
        stamps = (got["year"] + "-" + months[dated].map("{:02.0f}".format).astype("str")
                  + "-" + got["day"] + "T" + got["clock"] + got["zone"])
        time[dated] = pd.to_datetime(stamps, format="ISO8601", utc=True,
                                     errors="coerce").dt.as_unit("ns").to_numpy()
    request = parts["request"].str.replace(_APACHE_ESCAPE, r"\1", regex=True)
    split = request.str.extract(f"^{_REQUEST}$")
    missing_dash = {"ident", "user", "referer", "user_agent"}
    out: dict[str, Any] = {"client": parts["client"]}
    for name in ("ident", "user"):
        out[name] = parts[name]
    out["time"] = time
    for name in ("method", "path", "protocol"):
        out[name] = split[name]
    out["request"] = request.where(split["method"].isna())
    out["status"] = pd.to_numeric(parts["status"].where(parts["status"] != "-"),
                                  errors="coerce").astype("Int64")
    body = parts["bytes"].where(ok)
    out["bytes"] = pd.to_numeric(body.replace("-", "0"), errors="coerce").astype("Int64")
    for name in ("referer", "user_agent"):
        out[name] = parts[name].str.replace(_APACHE_ESCAPE, r"\1", regex=True)
    frame = pd.DataFrame(out, index=lines.index)
    for name in missing_dash:
        frame[name] = frame[name].where(frame[name] != "-")
    message = pd.Series([None] * len(lines), index=lines.index, dtype=object)
    message[~ok] = lines[~ok].astype(object)
    frame["message"] = message
    for name in ("client", "ident", "user", "method", "path", "protocol", "request",
                 "referer", "user_agent", "message"):
        frame[name] = frame[name].astype("str")
    return frame.reset_index(drop=True)
