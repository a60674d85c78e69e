"""Random input, good and bad: what can be encoded is encoded and reads back as the documented
value (docs/formats.md "Values"); what cannot is refused with a ConversionError that names a
record (or row) and a key (or column) that really holds the problem, and says what it is.

The oracle is written from the documentation, not from the encoder: ``expect`` says what a
value must become, ``problems`` lists every place that must be refused, and each format's
output is read back with its reference parser (json, PyYAML, ElementTree, the csv module).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from hecnb import ConversionError, encode

FORMATS = ("json", "yaml", "xml", "csv")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
#: names with a meaning of their own in a record (host, the time, FalconPy's envelope keys):
#: their rules have tests of their own in test_formats.py and test_eventtime.py
RESERVED = frozenset({"host", "timestamp", "timeunit", "fields", "custom", "event"})
_ILLEGAL_XML = {c: "\ufffd" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20),
                                       0xFFFE, 0xFFFF]}


class Opaque:
    """Something no encoder knows."""

    def __repr__(self) -> str:
        return "<Opaque>"


# ------------------------------------------------------------------------------- strategies


def _with_surrogate(text: str, n: int, s: str) -> str:
    """One string in sixteen gets a lone surrogate somewhere."""
    if n >= 2:
        return text
    at = n * len(text)
    return text[:at] + s + text[at:]


_text = st.builds(_with_surrogate, st.text(max_size=10), st.integers(0, 31),
                  st.sampled_from(SURROGATES))
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(), _text,
    st.binary(max_size=8), st.decimals(allow_nan=True), st.datetimes(),
    st.datetimes(timezones=st.just(dt.timezone.utc)), st.uuids(), st.just(Opaque()),
    st.sets(st.integers(0, 20), max_size=3),
    st.lists(st.one_of(st.integers(), _text, st.just(Opaque())), max_size=3),
    st.dictionaries(_text, st.one_of(st.integers(), st.just(Opaque())), max_size=3),
)
_keys = st.one_of(st.builds(_with_surrogate, st.text(min_size=1, max_size=8),
                            st.integers(0, 31), st.sampled_from(SURROGATES)),
                  st.integers(0, 9)).filter(lambda k: k not in RESERVED)
_records = st.lists(st.dictionaries(_keys, _values, min_size=1, max_size=4), min_size=1,
                    max_size=5)


# ----------------------------------------------------------------------------------- oracle

MISSING = object()  # "no value": left out with na='drop', null with na='null'


@dataclass(frozen=True)
class When:
    """A datetime: sent as ISO-8601, in UTC with 'Z' when it has a zone (any fraction
    digits that show it exactly)."""

    utc: dt.datetime  # naive
    aware: bool

    def matches(self, text: Any) -> bool:
        if not isinstance(text, str) or text.endswith("Z") != self.aware:
            return False
        return dt.datetime.fromisoformat(text.removesuffix("Z")) == self.utc


def _missing(value: Any) -> bool:
    """A top-level value that is no value: None, NaN, infinities (docs/formats.md)."""
    return value is None or (isinstance(value, (float, decimal.Decimal))
                             and not (value.is_finite() if isinstance(value, decimal.Decimal)
                                      else math.isfinite(value)))


def _surrogate(text: str) -> bool:
    return any(c in text for c in SURROGATES)


def expect(value: Any, top: bool = True) -> Any:
    """What a value must become (docs/formats.md "Values"); sets stay sets (their order in
    the event is not part of the contract)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING if top else None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return MISSING if top else None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return When(value.astimezone(dt.timezone.utc).replace(tzinfo=None), True)
        return When(value, False)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return frozenset(expect(v, False) for v in value)
    if isinstance(value, list):
        return [expect(v, False) for v in value]
    if isinstance(value, dict):
        return {str(k): expect(v, False) for k, v in value.items()}
    raise AssertionError(f"the oracle does not know {value!r}")  # pragma: no cover


def _holds(value: Any, kind: str, fmt: str) -> bool:
    """True when ``value`` holds something of ``kind`` that must be refused in ``fmt``."""
    if kind == "Opaque" and isinstance(value, Opaque):
        return True
    if kind == "surrogate" and isinstance(value, str):
        return _surrogate(value)
    if isinstance(value, dict):  # xml writes any key as an element name (_xD800_)
        return any((fmt != "xml" and _holds(k, kind, fmt)) or _holds(v, kind, fmt)
                   for k, v in value.items())
    if isinstance(value, (list, set, frozenset)):
        return any(_holds(v, kind, fmt) for v in value)
    return False


def problems(rows: list[dict[Any, Any]], fmt: str, *, plain: bool,
             drop: bool) -> set[tuple[Any, str, str]]:
    """Every ``(row, key, what the message must say)`` that must be refused. A member with
    no value is not written with ``drop`` (na='drop'), so neither is its name. ``plain``: a
    list sent as json without options, FalconPy's path, which writes two keys that are equal
    as strings (0 and "0") as it is given them, as FalconPy does."""
    found: set[tuple[Any, str, str]] = set()
    for i, row in enumerate(rows):
        written = {k: v for k, v in row.items() if not (drop and _missing(v))}
        names = [str(k) for k in written]
        for key, value in written.items():
            name = str(key)
            if _holds(value, "Opaque", fmt):
                found.add((i, name, "Opaque"))
            if _holds(value, "surrogate", fmt) or (fmt != "xml" and _surrogate(name)):
                found.add((i, name, "surrogate"))
            if names.count(name) > 1 and not plain:
                found.add((i, name, "both be called"))
    return found


# ------------------------------------------------------------------------------ parse back


def xml_name(name: str) -> str:
    """A key as an element name, by the rule docs/formats.md gives (.NET's EncodeName):
    ASCII letters, digits, '_', '-' and '.' stay, anything else is _xHHHH_ (_xHHHHHHHH_
    beyond the BMP); a name does not start with a digit, '-' or '.'; an '_' that would read
    as the start of such an escape is escaped itself; '' is '_'."""
    if not name:
        return "_"
    out = []
    for i, ch in enumerate(name):
        keep = ch.isascii() and (ch.isalpha() or ch == "_" or (i > 0 and (
            ch.isdigit() or ch in "-.")))
        if ch == "_" and re.match(r"x[0-9A-Fa-f]{4,8}_", name[i + 1:]):
            keep = False
        out.append(ch if keep else f"_x{ord(ch):04X}_" if ord(ch) <= 0xFFFF
                   else f"_x{ord(ch):08X}_")
    return "".join(out)


def _decoded(bodies: list[bytes], fmt: str) -> list[dict[str, Any]]:
    """The members of every event, with their reference parser; xml as (tag, content)
    pairs, csv as the cells of the header's columns."""
    if fmt == "json":
        return [json.loads(line)["event"] for b in bodies for line in b.splitlines() if line]
    if fmt == "yaml":
        return [d for b in bodies for d in yaml.load_all(b.decode("utf-8"), Loader=LOADER)
                if d is not None]
    if fmt == "xml":
        def pairs(element: ElementTree.Element) -> Any:
            children = list(element)
            return [(c.tag, pairs(c)) for c in children] if children else element.text or ""

        return [pairs(e) for b in bodies for e in ElementTree.fromstring(b)]
    return [row for b in bodies
            for row in csv.DictReader(io.StringIO(b.decode("utf-8"), newline=""))]


def _same(got: Any, want: Any) -> bool:
    """``got`` (parsed json or yaml) is the documented value ``want``."""
    if isinstance(want, When):
        return want.matches(got)
    if isinstance(want, frozenset):
        return isinstance(got, list) and len(got) == len(want) and set(got) == set(want)
    if isinstance(want, dict):
        return isinstance(got, dict) and list(got) == list(want) and all(
            _same(got[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(
            _same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, float):
        return type(got) in (int, float) and got == want
    return type(got) is type(want) and got == want


def _text(value: Any) -> str:
    """How xml and csv spell a documented scalar."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same_xml(got: Any, want: Any) -> bool:
    if isinstance(want, When):
        return want.matches(got)
    if isinstance(want, dict):
        return got == "" if not want else isinstance(got, list) and len(got) == len(want) and all(
            tag == xml_name(k) and _same_xml(g, v)
            for (tag, g), (k, v) in zip(got, want.items(), strict=True))
    if isinstance(want, (list, frozenset)):
        items = sorted(want, key=repr) if isinstance(want, frozenset) else want
        if not items:
            return got == ""
        if not (isinstance(got, list) and len(got) == len(items)
                and all(tag == "item" for tag, _ in got)):
            return False
        texts = [g for _, g in got]
        if isinstance(want, frozenset):
            return sorted(texts) == sorted(_text(v) for v in items)
        return all(_same_xml(g, w) for g, w in zip(texts, items, strict=True))
    if isinstance(want, float):
        return isinstance(got, str) and float(got) == want
    return got == _text(want).translate(_ILLEGAL_XML)


def _same_csv(cell: str, want: Any) -> bool:
    if want is MISSING or want is None:
        return cell == ""
    if isinstance(want, When):
        return want.matches(cell)
    if isinstance(want, (dict, list, frozenset)):
        return _same(json.loads(cell), want)
    if isinstance(want, bool):
        return cell == ("true" if want else "false")
    if isinstance(want, int):
        return int(cell) == want
    if isinstance(want, float):
        return float(cell) == want
    return cell == want


def _outcome(what: str) -> None:
    """Counted by ``--hypothesis-show-statistics``: both outcomes must be tried often."""
    if currently_in_test_context():
        event(what)


def check(data: Any, rows: list[dict[Any, Any]], fmt: str, na: str | None,
          *, frame: bool) -> None:
    """Encode ``data`` (whose rows, as the oracle reads them, are ``rows``) and check the
    outcome against the oracle."""
    plain = fmt == "json" and na is None and not frame
    drop = na != "null" and not plain  # FalconPy's path writes missing values as null
    must = problems(rows, fmt, plain=plain, drop=drop)
    if frame:  # two columns whose names are equal as strings, or one that cannot be UTF-8
        names = [str(c) for c in data.columns]
        must |= {(None, n, "both be called") for n in names if names.count(n) > 1}
        if fmt != "xml":  # xml writes any name as an element name (_xD800_)
            must |= {(None, n, "surrogate") for n in names if _surrogate(n)}
    options = {} if na is None else {"na": na}
    try:
        bodies = encode(data, fmt, batch_max_bytes=4096, **options)
    except ConversionError as exc:
        _outcome("refused")
        assert must, f"refused, but nothing in it must be: {exc}"
        spots = {(row, key) for row, key, _ in must}
        where = (exc.row, None if exc.column is None else str(exc.column))
        assert where in spots, (where, must, str(exc))
        says = {what for row, key, what in must if (row, key) == where}
        assert any(what in str(exc) for what in says), (says, str(exc))
        if where[0] is not None:  # a record's or a row's problem: refused before sending
            assert "Nothing was sent" in str(exc), str(exc)
        return
    _outcome("encoded")
    assert not must, f"encoded, but must have been refused for {must}"
    text = b"".join(bodies).decode("utf-8")  # always valid UTF-8
    assert text
    wants = [{str(k): v for k, v in ((k, expect(v)) for k, v in row.items())
              if not (v is MISSING and drop)} for row in rows]
    events = _decoded(bodies, fmt)
    assert len(events) == len(rows)
    for got, want in zip(events, wants, strict=True):
        want = {k: (None if v is MISSING else v) for k, v in want.items()}
        if fmt == "xml":
            tags = [(tag, content) for tag, content in got if tag not in ("timestamp",
                                                                             "timeunit")]
            assert [t for t, _ in tags] == [xml_name(k) for k in want], (tags, want)
            assert all(_same_xml(c, w) for (_, c), w in zip(tags, want.values(), strict=True)), (
                tags, want)
        elif fmt == "csv":
            cells = {k: v for k, v in got.items() if k not in ("timestamp", "timeunit")}
            assert set(want) <= set(cells), (cells, want)
            assert all(_same_csv(cells[k], want.get(k, MISSING)) for k in cells), (cells, want)
        else:
            members = {k: v for k, v in got.items() if k not in ("timestamp", "timeunit")}
            assert _same(members, want), (members, want)


# ------------------------------------------------------------------------------------ tests


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=_records, fmt=st.sampled_from(FORMATS), na=st.sampled_from([None, "null"]))
def test_random_records(records: list[dict[Any, Any]], fmt: str, na: str | None) -> None:
    check(records, records, fmt, na, frame=False)


def _cells(frame: pd.DataFrame) -> list[dict[Any, Any]]:
    """The frame's rows as Python values (what the frame holds, after pandas' own
    conversions: a column of ints with a gap is float, a datetime column pd.Timestamp)."""
    rows = []
    for i in range(len(frame)):
        row = {}
        for j, column in enumerate(frame.columns):
            value = frame.iat[i, j]  # from the column, in its own dtype
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif hasattr(value, "item") and not isinstance(value, (list, dict, set)):
                value = value.item()  # numpy scalars
            if value is pd.NaT or value is pd.NA:
                value = None
            row[column] = value
        rows.append(row)
    return rows


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=_records, fmt=st.sampled_from(FORMATS), na=st.sampled_from([None, "null"]))
def test_random_frames(records: list[dict[Any, Any]], fmt: str, na: str | None) -> None:
    try:
        frame = pd.DataFrame(records)
    except (UnicodeEncodeError, pd.errors.OutOfBoundsDatetime):
        try:  # pandas' own limits, not ours: strings with a lone surrogate need objects
            frame = pd.DataFrame(records, dtype=object)
        except UnicodeEncodeError:
            assume(False)  # a column name with one: pandas cannot hold such a frame
    check(frame, _cells(frame), fmt, na, frame=True)


# ------------------------------------------------------------------------- fixed examples


def test_the_error_names_column_and_row() -> None:
    frame = pd.DataFrame({"ok": [1, 2, 3], "bad": ["a", Opaque(), "c"]})
    for fmt in FORMATS:
        with pytest.raises(ConversionError) as err:
            encode(frame, fmt)
        assert (err.value.column, err.value.row) == ("bad", 1), fmt
        assert "column 'bad', row 1" in str(err.value) and "Opaque" in str(err.value)


def test_duplicate_columns_are_rejected_by_name() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["user", "user"])
    for fmt in FORMATS:
        with pytest.raises(ConversionError) as err:
            encode(frame, fmt)
        assert err.value.column == "user" and "user" in str(err.value), fmt


def test_values_that_must_not_crash() -> None:
    frame = pd.DataFrame({"d": [decimal.Decimal("1.5"), decimal.Decimal("NaN")],
                          "u": [uuid.UUID(int=5), None], "f": [math.inf, -0.0]})
    for fmt in FORMATS:
        (body,) = encode(frame, fmt, timestamp_column=None, hec_time=False)
        check(frame, _cells(frame), fmt, None, frame=True)
        assert body


def test_the_oracle_refuses_what_it_must() -> None:
    """The checker itself: it fails on an encoder that refuses valid input, and on one that
    encodes what must be refused (as the random tests would, were the encoder wrong)."""
    with pytest.raises(AssertionError, match="must have been refused"):
        check([{"a": 1}], [{"a": Opaque()}], "json", "null", frame=False)
    with pytest.raises(AssertionError, match="nothing in it must be"):
        check([{"a": Opaque()}], [{"a": 1}], "yaml", None, frame=False)
    with pytest.raises(AssertionError):  # decoded, but not the value the docs promise
        check([{"a": 2}], [{"a": 1}], "csv", None, frame=False)
