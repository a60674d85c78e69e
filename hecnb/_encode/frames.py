"""Values, records and DataFrames -> the bytes of events in json, yaml, xml and csv.

Every format carries the same information per event: the row's values plus ``host``,
``timestamp`` (an integer epoch in ``timeunit``) and ``timeunit``, which is what FalconPy's JSON
envelope puts inside ``event``. What differs is only the spelling (see ``docs/formats.md``).

DataFrames take a vectorised path: each column is turned into the text of its cells in one go
(orjson over numpy arrays and lists, numpy digit arithmetic for timestamps, whole-column string
escaping), and rows are assembled with a single ``bytes % tuple`` per row. Records (dicts) take a
per-record path through the same value rules. Both check everything they can before the first
event is produced, so that a clear :class:`ConversionError` comes before anything is sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import difflib
import enum
import functools
import ipaddress
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .._errors import ConfigError, ConversionError
from .._settings.names import TIMEUNITS, normalize_timeunit
from . import eventtime as evtime
from .envelope import hec_seconds

__all__ = [
    "CHUNK_ROWS",
    "DIALECTS",
    "MISSING",
    "OPTION_NAMES",
    "Dialect",
    "FramePlan",
    "KeyProblem",
    "Options",
    "RecordConverter",
    "frame_times",
    "native",
    "parse_options",
    "xml_name",
    "xml_unname",
]

#: Converter options a caller may pass (to ``make_encoder``, ``HEC.send``, the accessor).
OPTION_NAMES = ("host", "timestamp_column", "timeunit", "fields", "columns", "na", "hec_time")
#: Options that leave a json list on FalconPy's per-event path (``JsonEventEncoder``).
_PLAIN_OPTIONS = frozenset({"timestamp_column", "hec_time"})
#: Rows converted at a time: small enough to stay in the CPU caches (measured fastest),
#: bounds memory for big frames and lets sending start early.
CHUNK_ROWS = 8_192

_NP = orjson.OPT_SERIALIZE_NUMPY
_UPS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}  # units per second
_INT64_MAX = np.iinfo(np.int64).max


class _Missing:
    """The type of ``MISSING``: "no value here" (None, NaN, NaT, pd.NA, inf) at top level."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# ------------------------------------------------------------------------------------ options


@dataclass(frozen=True)
class Options:
    """Validated converter options. ``given`` names the ones the caller passed explicitly."""

    host: Any = None
    timestamp_column: Any = evtime.AUTO  # "auto" (the rule), None (only 'timestamp'), a name
    timeunit: str = "nanoseconds"
    fields: Any = None  # None | dict (constant fields) | tuple of column labels
    columns: tuple[Any, ...] | None = None
    na: str = "drop"
    hec_time: bool = True  # the envelope's top-level "time" (json, event endpoint)
    given: frozenset[str] = frozenset()

    @property
    def plain(self) -> bool:
        """True when no converter option was passed that FalconPy's per-event path does not
        know (it knows the time rule, ``timestamp_column=None`` and ``hec_time``)."""
        return not (self.given - _PLAIN_OPTIONS) and self.timestamp_column in (evtime.AUTO,
                                                                                 None)

    @property
    def time_rule(self) -> str:
        """How the event time is chosen: "auto", "timestamp" (None) or "column"."""
        if self.timestamp_column == evtime.AUTO:
            return evtime.AUTO
        return "timestamp" if self.timestamp_column is None else "column"

    @property
    def divisor(self) -> int:
        """Nanoseconds per ``timeunit``."""
        return 1_000_000_000 // TIMEUNITS[self.timeunit]



def parse_options(timeunit: str = "nanoseconds", **options: Any) -> Options:
    """Check converter options; unknown names are a ConfigError that lists the allowed ones."""
    for name in options:
        if name not in OPTION_NAMES:
            close = difflib.get_close_matches(name, OPTION_NAMES, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown conversion option {name!r}.{hint} Allowed options: "
                              f"{', '.join(OPTION_NAMES)}.")
    na = options.get("na", "drop")
    if na not in ("drop", "null"):
        raise ConversionError(f"na={na!r} is not allowed: use na='drop' (leave missing values "
                              "out of the event) or na='null' (send them as null).")
    columns = options.get("columns")
    if columns is not None:
        columns = _labels("columns", columns)
    fields = options.get("fields")
    if fields is not None and not isinstance(fields, Mapping):
        fields = _labels("fields", fields)
    elif isinstance(fields, Mapping):
        fields = dict(fields)
    for name in ("host", "timestamp_column"):
        value = options.get(name)
        if value is not None and not isinstance(value, Hashable):
            raise ConfigError(f"{name} must be a column name or a value, not "
                              f"{type(value).__name__}.")
    hec_time = options.get("hec_time", True)
    if not isinstance(hec_time, bool):
        raise ConfigError(f"hec_time must be True or False; got {hec_time!r}.")
    return Options(
        host=options.get("host"),
        timestamp_column=evtime.check_choice(options.get("timestamp_column", evtime.AUTO)),
        timeunit=normalize_timeunit(timeunit),
        fields=fields,
        columns=columns,
        na=na,
        hec_time=hec_time,
        given=frozenset(k for k in options if k != "timeunit"),
    )


def _labels(name: str, value: Any) -> tuple[Any, ...]:
    """A tuple of column labels from a label or a list of them; duplicates are refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        value = [value]
    labels = tuple(value)
    seen: set[Any] = set()
    for label in labels:
        if label in seen:
            raise ConversionError(f"{name} names column {label!r} twice.", column=label)
        seen.add(label)
    return labels


# ------------------------------------------------------------------------------------- values


def native(value: Any, top: bool = True) -> Any:
    """A JSON-native value (str, int, float, bool, None, list, dict) for any cell value.

    At top level a missing value (None, NaN, NaT, pd.NA, and inf, which JSON cannot carry) is
    ``MISSING``; nested ones are None. Raises TypeError for objects with no JSON form.
    """
    t = type(value)
    if t is str or t is int or t is bool:
        return value
    if t is float:
        if value != value or value in (math.inf, -math.inf):  # NaN; inf has no JSON form
            return MISSING if top else None
        return value
    if value is None:
        return MISSING if top else None
    if t is dict:
        return _native_dict(value)
    if t is list or t is tuple:
        return [native(v, False) for v in value]
    return _native_other(value, top)


def _native_dict(value: Mapping[Any, Any]) -> dict[str, Any]:
    out = {_key(k): native(v, False) for k, v in value.items()}
    if len(out) != len(value):
        raise TypeError("a dict has keys that are equal as strings (e.g. 1 and '1')")
    return out


def _key(key: Any) -> str:
    """The output name of a column or dict key: str; tuples (MultiIndex columns) joined by '.'."""
    if type(key) is str:
        return key
    if isinstance(key, tuple):
        return ".".join(_key(k) for k in key)
    if isinstance(key, str):
        return str.__str__(key)
    return str(key)


def _native_other(value: Any, top: bool) -> Any:
    """``native`` for everything but the common exact types."""
    if value is pd.NA or value is pd.NaT:
        return MISSING if top else None
    if isinstance(value, np.generic):
        if isinstance(value, np.datetime64):
            return MISSING if top and np.isnat(value) else (
                None if np.isnat(value) else _iso(pd.Timestamp(value)))
        if isinstance(value, np.timedelta64):
            if np.isnat(value):
                return MISSING if top else None
            return pd.Timedelta(value).total_seconds()
        if isinstance(value, np.complexfloating):
            raise TypeError("complex numbers have no JSON form")
        if isinstance(value, np.bytes_):
            return base64.b64encode(bytes(value)).decode("ascii")
        if isinstance(value, np.void):
            raise TypeError("numpy structured values have no JSON form")
        return native(value.item(), top)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return native(float(value), top)
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return pd.Timedelta(value).total_seconds()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return MISSING if top else None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return _native_dict(value)
    if isinstance(value, (set, frozenset)):
        return [native(v, False) for v in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [native(v, False) for v in value]
    if isinstance(value, np.ndarray):
        return [native(v, False) for v in value.tolist()]
    if isinstance(value, enum.Enum):
        return native(value.value, top)
    if isinstance(value, (uuid.UUID, os.PathLike, ipaddress.IPv4Address, ipaddress.IPv6Address,
                          ipaddress.IPv4Network, ipaddress.IPv6Network, pd.Period,
                          pd.Interval)):
        return str(value)
    if isinstance(value, complex):
        raise TypeError("complex numbers have no JSON form")
    raise TypeError(f"objects of type {type(value).__name__} have no JSON form")


def _iso(value: dt.datetime) -> str:
    """ISO-8601: naive as it is; tz-aware converted to UTC and written with 'Z'."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


# ------------------------------------------------------------------------ text of one value


def _json_text(value: Any) -> bytes:
    """JSON of a native value; ints beyond 64 bits go through the standard library."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        if "surrogates" in str(exc):
            raise TypeError("a string contains a lone surrogate (not valid Unicode)") from None
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                              allow_nan=False).encode("utf-8")
        except UnicodeEncodeError:
            raise TypeError("a string contains a lone surrogate (not valid Unicode)") from None


_YAML_BAD = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]")
_YAML_EXP = re.compile(rb"(-?\d+)(\.\d+)?e([-+]?)(\d+)")
_YAML_EXP_IN_JSON = re.compile(rb'"(?:[^"\\]|\\.)*"|(-?\d+)(\.\d+)?e([-+]?)(\d+)')


def _yaml_escape(text: bytes) -> bytes:
    """Escape what JSON leaves raw but YAML forbids or folds in quoted scalars (DEL, C1
    controls, U+2028/2029, BOM, U+FFFE/FFFF). They only occur inside strings."""
    if b"\x7f" not in text and (text.isascii() or not (
            b"\xc2" in text or b"\xe2\x80" in text or b"\xef\xbb" in text
            or b"\xef\xbf" in text)):
        return text
    return _YAML_BAD.sub(_yaml_escape_one, text)


def _yaml_escape_one(match: re.Match[bytes]) -> bytes:
    code = ord(match.group().decode("utf-8"))
    return (b"\\x%02x" % code) if code <= 0xFF else (b"\\u%04x" % code)


def _yaml_exp(match: re.Match[bytes]) -> bytes:
    """1e20 -> 1.0e+20: YAML 1.1 (PyYAML) reads a float only with a dot and a signed exponent."""
    if match.group(1) is None:  # a JSON string, left alone
        return match.group()
    return (match.group(1) + (match.group(2) or b".0") + b"e" + (match.group(3) or b"+")
            + match.group(4))


def _yaml_numbers(blob: bytes) -> bytes:
    """Fix the exponents in a comma-separated run of JSON numbers."""
    return _YAML_EXP.sub(_yaml_exp, blob) if b"e" in blob else blob


def _yaml_text(value: Any) -> bytes:
    """Flow-style YAML of a native value: JSON with YAML's float and character rules."""
    text = _json_text(value)
    if type(value) is float:
        return _yaml_numbers(text)
    if isinstance(value, (dict, list)):
        if re.search(rb"\de", text):
            text = _YAML_EXP_IN_JSON.sub(_yaml_exp, text)
        if isinstance(value, dict) and _has_long_key(value):
            return _yaml_flow(value)
    return _yaml_escape(text)


def _has_long_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(len(k) > 250 or _has_long_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_long_key(v) for v in value)
    return False


def _yaml_flow(value: Any) -> bytes:
    """Flow YAML built item by item (only for dicts with very long keys, rare)."""
    if isinstance(value, dict):
        return b"{" + b",".join(_yaml_key(k) + _yaml_flow(v) for k, v in value.items()) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_yaml_flow(v) for v in value) + b"]"
    return _yaml_text(value)


def _yaml_key(name: str) -> bytes:
    """``"name":`` in YAML; a key longer than YAML's 1024-character implicit-key limit is
    written as an explicit ``? "name" :`` key."""
    key = _yaml_escape(orjson.dumps(name))
    return (b"? " + key + b" : ") if len(key) > 1000 else key + b":"


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_ILLEGAL_NO_NUL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_escape(text: str, illegal: re.Pattern[str] = _XML_ILLEGAL) -> str:
    """Element text: & < > escaped, CR and LF as character references (so one event stays on
    one line and parsers do not normalise them), characters XML 1.0 cannot carry -> U+FFFD."""
    if illegal.search(text):
        text = illegal.sub("\ufffd", text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;").replace("\n", "&#10;"))


# ASCII only: every XML parser agrees on these (the non-ASCII name ranges differ between the
# 4th and 5th editions of XML 1.0, and expat follows the older one).
_NAME_START = "A-Z_a-z"
_NAME_CHAR = _NAME_START + r"\-.0-9"
_XML_START_OK = re.compile(f"[{_NAME_START}]")
_XML_CHAR_BAD = re.compile(f"[^{_NAME_CHAR}]|_(?=x[0-9A-Fa-f]{{4,8}}_)")
_ESCAPE_LIKE = re.compile("x[0-9A-Fa-f]{4,8}_")
_XML_ESCAPED = re.compile(r"_x([0-9A-F]{4,8})_")


@functools.lru_cache(maxsize=4096)
def xml_name(name: str) -> str:
    """A valid XML element name for a column or key, deterministic and reversible.

    Characters a name cannot hold become ``_xHHHH_`` (their code point in hex, as .NET's
    ``XmlConvert.EncodeName``), so ``src ip`` -> ``src_x0020_ip``, ``#tag`` -> ``_x0023_tag``,
    ``1st`` -> ``_x0031_st``. Only ASCII letters, digits, ``_``, ``-`` and ``.`` stay as they
    are (``:`` is escaped: no namespaces; non-ASCII too, so every parser accepts the name). The
    empty name is ``_``.
    """
    if not name:
        return "_"
    head, rest = name[0], name[1:]
    keep = _XML_START_OK.match(head) and not (head == "_" and _ESCAPE_LIKE.match(rest))
    out = head if keep else f"_x{ord(head):04X}_" if ord(head) <= 0xFFFF else f"_x{ord(head):08X}_"
    return out + _XML_CHAR_BAD.sub(_xml_hex, rest)


def _xml_hex(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"_x{code:04X}_" if code <= 0xFFFF else f"_x{code:08X}_"


def xml_unname(name: str) -> str:
    """The column name ``xml_name`` was made from."""
    if name == "_":
        return ""
    return _XML_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), name)


def _xml_text(value: Any) -> bytes:
    """Element content for a native value: text for scalars, child elements for containers."""
    if type(value) is str:
        return _xml_escape(value).encode("utf-8")
    if value is None:
        return b""
    if type(value) is bool:
        return b"true" if value else b"false"
    if type(value) is int:
        return str(value).encode("ascii")
    if type(value) is float:
        return orjson.dumps(value)
    if isinstance(value, dict):
        return b"".join(_xml_element(xml_name(k), v) for k, v in value.items())
    if isinstance(value, list):
        return b"".join(_xml_element("item", v) for v in value)
    raise TypeError(f"objects of type {type(value).__name__} have no XML form")


def _xml_element(name: str, value: Any) -> bytes:
    tag = name.encode("utf-8")
    if value is None:
        return b"<" + tag + b"/>"
    return b"<" + tag + b">" + _xml_text(value) + b"</" + tag + b">"


def _csv_text(value: Any) -> bytes:
    """A CSV cell (RFC 4180): strings always quoted, nested values as quoted JSON."""
    if type(value) is str:
        return b'"' + value.replace('"', '""').encode("utf-8") + b'"'
    if value is None:
        return b""
    if type(value) is bool:
        return b"true" if value else b"false"
    if type(value) is int:
        return str(value).encode("ascii")
    if type(value) is float:
        return orjson.dumps(value)
    return b'"' + _json_text(value).replace(b'"', b'""') + b'"'


def _surrogate_check(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TypeError("a string contains a lone surrogate (not valid Unicode)") from None


# ------------------------------------------------------------------------------------ dialects


class Dialect:
    """How one format spells members, strings and containers. JSON is the base."""

    name = "json"
    str_quote = b'"'  # around the escaped text of strings
    dt_quote = b'"'  # around ISO timestamps
    sep = b""  # between members (csv: a comma)

    def __init__(self, raw: bool = False) -> None:
        self.raw = raw

    @property
    def envelope(self) -> bool:
        """True for json on the event endpoint, the one place ``fields`` sits beside ``event``."""
        return self.name == "json" and not self.raw

    # members -------------------------------------------------------------------------------
    def member(self, name: str, *, first: bool = False) -> tuple[bytes, bytes, bytes]:
        """``(open, close, null_piece)`` for a member; ``first`` has no leading comma."""
        key = orjson.dumps(name) + b":"
        opener = key if first else b"," + key
        return opener, b"", opener + b"null"

    def host_member(self) -> tuple[bytes, bytes, bytes]:
        """The host comes first and may be missing, so it carries a trailing comma instead."""
        key = b'"host":'
        return key, b",", key + b"null,"

    def row_start(self) -> bytes:
        return b'{"event":{'

    def row_end(self) -> bytes:
        return b"}}\n"

    # texts ---------------------------------------------------------------------------------
    def value(self, value: Any) -> bytes:
        """The full text of one native value (with quotes)."""
        return _json_text(value)

    def numbers(self, blob: bytes) -> bytes:
        """A comma-separated run of JSON numbers (from orjson) in this format."""
        return blob

    def strings(self, values: list[str]) -> list[bytes]:
        """The escaped text (without quotes) of each string; TypeError for bad Unicode."""
        if not values:
            return []
        texts = self.string_blob(values).split(b'","')
        if len(texts) != len(values):  # cannot happen for valid JSON; stay correct anyway
            texts = [self.string_blob([v]) for v in values]
        return texts

    def string_blob(self, values: list[str]) -> bytes:
        """The strings escaped and joined by ``","`` (a JSON array without its ``["``/``"]``).

        A ``","`` in it is always a boundary: inside a JSON string every quote is escaped.
        """
        try:
            return orjson.dumps(values)[2:-2]
        except orjson.JSONEncodeError:
            for v in values:
                _surrogate_check(v)
            raise


class YamlDialect(Dialect):
    """One flow-style YAML document per event: JSON-compatible, read by any YAML 1.1 parser."""

    name = "yaml"

    def member(self, name: str, *, first: bool = False) -> tuple[bytes, bytes, bytes]:
        key = _yaml_key(name)
        opener = key if first else b"," + key
        return opener, b"", opener + b"null"

    def row_start(self) -> bytes:
        return b"{" if self.raw else b"--- {"

    def row_end(self) -> bytes:
        return b"}\n"

    def value(self, value: Any) -> bytes:
        return _yaml_text(value)

    def numbers(self, blob: bytes) -> bytes:
        if b"e" not in blob:
            return blob
        texts = blob.split(b",")  # fix only the few numbers with an exponent
        return b",".join([_yaml_numbers(t) if b"e" in t else t for t in texts])

    def string_blob(self, values: list[str]) -> bytes:
        return _yaml_escape(super().string_blob(values))


class XmlDialect(Dialect):
    """``<event><name>text</name>...</event>`` per event, one per line."""

    name = "xml"
    str_quote = b""
    dt_quote = b""

    def member(self, name: str, *, first: bool = False) -> tuple[bytes, bytes, bytes]:
        tag = xml_name(name).encode("utf-8")
        return b"<" + tag + b">", b"</" + tag + b">", b"<" + tag + b"/>"

    def host_member(self) -> tuple[bytes, bytes, bytes]:
        return self.member("host")

    def row_start(self) -> bytes:
        return b"<event>"

    def row_end(self) -> bytes:
        return b"</event>\n"

    def value(self, value: Any) -> bytes:
        return _xml_text(value)

    def numbers(self, blob: bytes) -> bytes:
        return blob.replace(b"null", b"")

    def strings(self, values: list[str]) -> list[bytes]:
        return _escape_all(values, lambda t: _xml_escape(t, _XML_ILLEGAL_NO_NUL), _xml_text)


class CsvDialect(Dialect):
    """RFC 4180 rows (CRLF), strings always quoted (ISO datetimes too); the header is the
    body's prefix."""

    name = "csv"
    sep = b","

    def member(self, name: str, *, first: bool = False) -> tuple[bytes, bytes, bytes]:
        return b"", b"", b""

    def host_member(self) -> tuple[bytes, bytes, bytes]:
        return b"", b"", b""

    def row_start(self) -> bytes:
        return b""

    def row_end(self) -> bytes:
        return b"\r\n"

    def value(self, value: Any) -> bytes:
        return _csv_text(value)

    def numbers(self, blob: bytes) -> bytes:
        return blob.replace(b"null", b"")

    def strings(self, values: list[str]) -> list[bytes]:
        return _escape_all(values, lambda t: t.replace('"', '""'),
                           lambda v: _csv_text(v)[1:-1])

    @staticmethod
    def header(names: list[str]) -> bytes:
        """The header line: every name quoted."""
        return b",".join(_csv_text(n) for n in names) + b"\r\n"


#: format name -> dialect class.
DIALECTS: dict[str, type[Dialect]] = {
    "json": Dialect, "yaml": YamlDialect, "xml": XmlDialect, "csv": CsvDialect,
}


# --------------------------------------------------------------------------- DataFrame columns


def _positions(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask)


class _Column:
    """One frame column, prepared once (dtype checks, masks, normalised objects) and rendered
    chunk by chunk."""

    def __init__(self, series: pd.Series, label: Any, dialect: Dialect, *,
                 line_breaks_ok: bool = True) -> None:
        self.label = label
        self.index = series.index
        self.mask: np.ndarray | None = None
        self.values: Any = None
        self.kind = ""
        self._prepare(series, dialect, line_breaks_ok)

    # preparation ---------------------------------------------------------------------------
    def _fail(self, position: int, why: str) -> ConversionError:
        row = self.index[position] if position < len(self.index) else None
        return ConversionError(f"column {self.label!r}, row {row!r}: {why}. Nothing was sent.",
                               column=self.label, row=row)

    def _prepare(self, s: pd.Series, dialect: Dialect, line_breaks_ok: bool) -> None:
        dtype = s.dtype
        if isinstance(dtype, pd.SparseDtype):
            s = s.sparse.to_dense()
            dtype = s.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            cats = _Column(pd.Series(s.cat.categories), self.label, dialect,
                           line_breaks_ok=line_breaks_ok)
            texts = cats.render_all(dialect)
            self.kind = "cat"
            self.values = (np.asarray(codes, dtype=np.intp), np.array([*texts, b""], dtype=object))
            self.mask = codes < 0
            return
        if isinstance(dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            self._prepare_datetime(s.to_numpy(), b"Z")
            return
        kind = getattr(dtype, "kind", "O")
        if kind == "M":
            self._prepare_datetime(s.to_numpy(), b"")
            return
        if kind == "m":
            arr = s.to_numpy()
            unit = np.datetime_data(arr.dtype)[0]
            self.mask = np.isnat(arr)
            self.kind = "float"  # seconds; NaT -> NaN, as the float path expects
            self.values = np.where(self.mask, np.nan, arr.view(np.int64) / _UPS.get(unit, 1))
            return
        if kind == "c":
            raise self._fail(0, "complex numbers have no JSON form; split them into real and "
                             "imaginary columns")
        masked = pd.api.types.is_extension_array_dtype(dtype)
        if kind == "b":
            self.kind = "bool"
            self.mask = s.isna().to_numpy() if masked else None
            self.values = s.to_numpy(dtype=bool, na_value=False) if masked else s.to_numpy()
            return
        if kind in "iu":
            self.kind = "int"
            if masked:
                self.mask = s.isna().to_numpy()
                self.values = s.to_numpy(dtype=np.dtype(kind + str(dtype.itemsize)),
                                         na_value=0)
            else:
                self.values = np.ascontiguousarray(s.to_numpy()).astype(
                    s.dtype.newbyteorder("="), copy=False)
            return
        if kind == "f":
            self.kind = "float"
            if masked:
                arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                arr = s.to_numpy()
                if arr.dtype.itemsize < 4:
                    arr = arr.astype(np.float32)
                arr = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("="), copy=False)
            self.values = arr
            self.mask = ~np.isfinite(arr)  # NaN, and inf, which JSON cannot carry
            return
        if isinstance(dtype, pd.StringDtype) or (
                kind == "O" and pd.api.types.infer_dtype(s, skipna=True) == "string"):
            self._prepare_strings(s, line_breaks_ok)
            return
        self._prepare_objects(s.astype(object) if kind != "O" else s, dialect, line_breaks_ok)

    def _prepare_datetime(self, arr: np.ndarray, suffix: bytes) -> None:
        unit = np.datetime_data(arr.dtype)[0]
        if unit not in _UPS:  # days, minutes...: seconds carry them exactly
            arr = arr.astype("datetime64[s]")
            unit = "s"
        ints = arr.view(np.int64)
        self.mask = np.isnat(arr)
        self.kind = "dt"
        valid = ints[~self.mask]
        self.values = (ints, unit, _frac_digits(valid, unit), suffix)

    def _prepare_strings(self, s: pd.Series, line_breaks_ok: bool) -> None:
        self.kind = "str"
        self.values = s.to_numpy(dtype=object)
        self.mask = pd.isna(self.values)
        present = self.values[~self.mask].tolist() if self.mask.any() else self.values.tolist()
        text = "".join(present)
        try:
            if not text.isascii():
                text.encode("utf-8")
        except UnicodeEncodeError:
            for pos in _positions(~self.mask):
                try:
                    self.values[pos].encode("utf-8")
                except UnicodeEncodeError:
                    raise self._fail(pos, "the string contains a lone surrogate (not valid "
                                     "Unicode)") from None
        if not line_breaks_ok and ("\n" in text or "\r" in text):
            for pos in _positions(~self.mask):
                if "\n" in self.values[pos] or "\r" in self.values[pos]:
                    raise self._fail(pos, _RAW_CSV_BREAK)

    def _prepare_objects(self, s: pd.Series, dialect: Dialect, line_breaks_ok: bool) -> None:
        """Object cells: normalised and rendered up front, so any bad cell fails before the
        first event."""
        values = s.tolist()
        mask = np.zeros(len(values), dtype=bool)
        texts: list[bytes] = []
        render = dialect.value
        for pos, value in enumerate(values):
            try:
                v = native(value)
                if v is MISSING:
                    mask[pos] = True
                    texts.append(b"")
                    continue
                if not line_breaks_ok and isinstance(v, str) and ("\n" in v or "\r" in v):
                    raise self._fail(pos, _RAW_CSV_BREAK)
                texts.append(render(v))
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                raise self._fail(pos, f"{type(value).__name__} value cannot be encoded ({exc})"
                                 ) from None
        if not line_breaks_ok:
            for pos, t in enumerate(texts):
                if b"\n" in t or b"\r" in t:
                    raise self._fail(pos, _RAW_CSV_BREAK)
        self.kind = "obj"
        self.mask = mask
        self.values = np.array(texts, dtype=object) if texts else np.array([], dtype=object)

    # rendering -----------------------------------------------------------------------------
    def texts(self, dialect: Dialect, start: int, stop: int,
              present: np.ndarray | None) -> tuple[list[bytes], bytes]:
        """``(texts of the present cells in rows start:stop, quote)``."""
        kind = self.kind
        if kind == "int":
            arr = self.values[start:stop]
            if present is not None:
                arr = arr[present]
            return _split_numbers(arr, dialect), b""
        if kind == "float":
            arr = self.values[start:stop]
            if present is not None:
                arr = arr[present]
            return _split_numbers(arr, dialect), b""
        if kind == "bool":
            arr = self.values[start:stop]
            if present is not None:
                arr = arr[present]
            return _BOOL_TEXTS[arr.view(np.uint8)].tolist(), b""
        if kind == "str":
            arr = self.values[start:stop]
            if present is not None:
                arr = arr[present]
            return dialect.strings(arr.tolist()), dialect.str_quote
        if kind == "dt":
            ints, unit, digits, suffix = self.values
            arr = ints[start:stop]
            if present is not None:
                arr = arr[present]
            return _iso_texts(arr, unit, digits, suffix), dialect.dt_quote
        if kind == "cat":
            codes, cat_texts = self.values
            arr = codes[start:stop]
            if present is not None:
                arr = arr[present]
            return cat_texts[arr].tolist(), b""
        arr = self.values[start:stop]  # obj
        if present is not None:
            arr = arr[present]
        return arr.tolist(), b""

    def render_all(self, dialect: Dialect) -> list[bytes]:
        """Full texts (quotes included) of every row; missing rows give b'null' / b''."""
        n = len(self.index)
        present = None if self.mask is None or not self.mask.any() else ~self.mask
        texts, quote = self.texts(dialect, 0, n, present)
        if quote:
            texts = [quote + t + quote for t in texts]
        if present is None:
            return texts
        out = np.full(n, dialect.value(None), dtype=object)
        out[present] = texts
        return out.tolist()


_ENVELOPE_MEMBERS = frozenset({"event", "fields", "time", "host", "source", "sourcetype", "index"})
_RAW_CSV_BREAK = ("the value contains a line break, and on the raw endpoint every line is a "
                  "separate event; send csv to the event endpoint (raw_ingest=False) or use "
                  "json/yaml/xml, which escape line breaks")
_BOOL_TEXTS = np.array([b"false", b"true"], dtype=object)


def _split_numbers(arr: np.ndarray, dialect: Dialect) -> list[bytes]:
    """Texts of numbers via one orjson call over the array (NaN/inf -> null)."""
    if len(arr) == 0:
        return []
    blob = orjson.dumps(arr, option=_NP)[1:-1]
    return dialect.numbers(blob).split(b",")


def _frac_digits(ints: np.ndarray, unit: str) -> int:
    """The fewest fraction digits (0, 3, 6 or 9) that show every value of a column exactly."""
    ups = _UPS[unit]
    if ups == 1 or len(ints) == 0:
        return 0
    frac = ints % ups
    for digits in (0, 3, 6, 9):
        step = ups // 10 ** digits
        if step >= 1 and not (frac % step).any():
            return digits
    return 9  # pragma: no cover - the ns step of 1 always divides


def _iso_texts(ints: np.ndarray, unit: str, digits: int, suffix: bytes) -> list[bytes]:
    """ISO-8601 texts of epoch values (in ``unit``) built with numpy digit arithmetic."""
    n = len(ints)
    if n == 0:
        return []
    ups = _UPS[unit]
    sec = ints // ups
    frac = ints - sec * ups
    days = sec // 86400
    sod = sec - days * 86400
    # civil_from_days (H. Hinnant), vectorised
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    if year.min() < 0 or year.max() > 9999:  # outside four digits: numpy's own formatter
        shown: Any = {0: "s", 3: "ms", 6: "us", 9: "ns"}[digits]
        stamps: Any = ints.view(f"M8[{unit}]")
        texts = np.datetime_as_string(stamps, unit=shown)
        return [t.encode("ascii") + suffix for t in texts.tolist()]
    width = 19 + (digits + 1 if digits else 0) + len(suffix)
    buf = np.empty((n, width), dtype=np.uint8)

    def put(col: int, values: np.ndarray, size: int) -> None:
        """Write ``values`` as ``size`` decimal digits from column ``col``."""
        for k in range(size):
            buf[:, col + size - 1 - k] = values // 10 ** k % 10 + 48

    put(0, year, 4)
    buf[:, 4] = buf[:, 7] = ord("-")
    put(5, month, 2)
    put(8, day, 2)
    buf[:, 10] = ord("T")
    put(11, sod // 3600, 2)
    buf[:, 13] = buf[:, 16] = ord(":")
    put(14, sod // 60 % 60, 2)
    put(17, sod % 60, 2)
    pos = 19
    if digits:
        buf[:, 19] = ord(".")
        put(20, frac // (ups // 10 ** digits), digits)
        pos = 20 + digits
    for i, byte in enumerate(suffix):
        buf[:, pos + i] = byte
    return buf.view(f"S{width}").ravel().tolist()


# ------------------------------------------------------------------------------ the frame plan


def frame_times(df: pd.DataFrame, options: Options, now: int,
                notes: evtime.TimeNotes) -> tuple[np.ndarray | None, list[Any], bool]:
    """Each row's time (int64, in the unit) by the event-time rule, the candidate columns, and
    whether the caller named the column; None when no column applies (the send time).

    Per row the first candidate with a readable value; rows without one get ``now``. What it
    did is counted in ``notes``. Vectorised: a handful of numpy passes per candidate column.
    """
    labels = list(df.columns)
    candidates, explicit = _time_candidates(df, labels, set(labels), options, notes)
    n = len(df)
    if not candidates:
        notes.events += n
        return None, [], False
    divisor = options.divisor
    ints = np.full(n, now, dtype=np.int64)
    remaining = np.ones(n, dtype=bool)
    index = df.index
    for label in candidates:
        name = _key(label)
        notes.seen.add(name)
        got, missing, bad = evtime.column_times(df[label], label, divisor)
        bad_here = bad & remaining
        if bad_here.any():
            pos = int(np.flatnonzero(bad_here)[0])
            value = df[label].iloc[pos]
            if explicit:
                row = index[pos]
                raise ConversionError(
                    f"timestamp column {label!r}, row {row!r}: {value!r} is not a time "
                    f"({_why_not_time(value, label, divisor)}). Nothing was sent.",
                    column=label, row=row)
            notes.unreadable[name] += int(bad_here.sum())
            notes.unreadable_example.setdefault(name, f"{value!r} in row {index[pos]!r}")
        use = remaining & ~missing & ~bad
        if use.all():  # the common case: every row has its time in the first candidate
            notes.add_times(name, got, lambda i: f" (row {index[i]!r})")
            ints = got
            break
        if use.any():
            where = np.flatnonzero(use)
            values = got[where]
            ints[where] = values
            notes.add_times(name, values, lambda i, where=where: f" (row {index[where[i]]!r})")
            remaining &= ~use
        if not remaining.any():
            break
    notes.events += n
    return ints, candidates, explicit


def _datetime_typed(col: pd.Series) -> bool:
    """A datetime64 column, or one of datetime objects only (as a record's datetime value)."""
    dtype = col.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or getattr(dtype, "kind", "") == "M":
        return True
    return getattr(dtype, "kind", "") == "O" and pd.api.types.infer_dtype(
        col, skipna=True) in ("datetime", "datetime64")


def _time_candidates(df: pd.DataFrame, labels: list[Any], label_set: set[Any], opts: Options,
                     notes: evtime.TimeNotes) -> tuple[list[Any], bool]:
    """The columns that may give each row its time, in rule order, and whether the caller
    named the column (then a value that is not a time is an error)."""
    choice = opts.timestamp_column
    if choice not in (evtime.AUTO, None):
        if choice not in label_set:
            raise ConversionError(f"timestamp_column={choice!r} is not a column of the frame "
                                  f"({_show(labels)}).", column=choice)
        return [choice], True
    if choice is None:
        return (["timestamp"] if "timestamp" in label_set else []), False
    named = evtime.Ranker().order(label for label in labels if type(label) is str)
    if named:
        return named, False
    typed = [label for label in labels if _datetime_typed(df[label])]
    if len(typed) == 1:
        return typed, False
    if typed:
        notes.note(f"the frame has {len(typed)} datetime columns ({_show(typed)}) and none "
                   "with a well-known time name, so every event carries the send time; pass "
                   "timestamp_column= to choose one")
    return [], False


@dataclass
class _Member:
    """One member of every event: a constant piece, or a column rendered per row."""

    opener: bytes = b""
    close: bytes = b""
    null: bytes = b""
    column: _Column | None = None
    const: bytes | None = None  # the whole member, same in every row
    ints: np.ndarray | None = None  # the timestamp member: epoch values


class FramePlan:
    """A validated DataFrame and how each of its events is spelled in one format.

    Built once per send: all checks (columns, options, dtypes, every object cell) run here, so
    ``chunks()`` can only fail on things no check can see in advance.
    """

    def __init__(self, df: pd.DataFrame, options: Options, dialect: Dialect,
                 notes: evtime.TimeNotes | None = None) -> None:
        self.df = df
        self.options = options
        self.dialect = dialect
        self.n = len(df)
        self.now = time.time_ns() // options.divisor
        self.notes = notes if notes is not None else evtime.TimeNotes(options.time_rule,
                                                                      options.divisor)
        envelope = dialect.envelope
        self._check_unique(df)
        labels = list(df.columns)
        label_set = set(labels)
        opts = options
        for label in opts.columns or ():
            if label not in label_set:
                raise ConversionError(f"columns names {label!r}, which is not a column of the "
                                      f"frame ({_show(labels)}).", column=label)
        chosen = list(opts.columns) if opts.columns is not None else labels
        # host: a column (named by host=, or the column called "host"), or a constant; what
        # the caller passes wins over a column called "host" (said once in the report)
        host_label, host_value = None, None
        if opts.host is not None:
            if opts.host in label_set:
                host_label = opts.host
            elif isinstance(opts.host, str):
                host_value = opts.host
            else:
                raise ConversionError(f"host={opts.host!r} is not a column of the frame "
                                      f"({_show(labels)}); pass a column name or a host name "
                                      "string.", column=opts.host)
        elif "host" in chosen:
            host_label = "host"
        if "host" in chosen and host_label != "host":
            self.notes.note(f"host={opts.host!r} was given, so it replaced the frame's 'host' "
                            "column as each event's host")
        # the event time: the rule, FalconPy's 'timestamp' only, or a named column
        ints, candidates, explicit = frame_times(df, opts, self.now, self.notes)
        self.time_ints = ints
        if "timestamp" in chosen and explicit and candidates[0] != "timestamp":
            self.notes.note(f"timestamp_column={candidates[0]!r} was given, so its time "
                            "replaced the frame's 'timestamp' column in each event")
        if "timeunit" in chosen:
            raise ConversionError("the frame has a column 'timeunit', which every event sets "
                                  "itself; rename the column or leave it out with columns=.",
                                  column="timeunit")
        # fields: constant members, or columns (moved beside the event in the json envelope)
        field_labels: list[Any] = []
        const_fields: dict[str, Any] = {}
        if isinstance(opts.fields, dict):
            const_fields = {_key(k): native(v, False) for k, v in opts.fields.items()}
        elif opts.fields is not None:
            for label in opts.fields:
                if label not in label_set:
                    raise ConversionError(f"fields names {label!r}, which is not a column of "
                                          f"the frame ({_show(labels)}).", column=label)
            field_labels = list(opts.fields)
        event_labels = [c for c in chosen if c not in ("host", "timestamp")]
        if envelope:
            event_labels = [c for c in event_labels if c not in field_labels]
        else:
            event_labels += [c for c in field_labels if c not in event_labels]
        line_breaks_ok = not (dialect.name == "csv" and dialect.raw)

        def column(label: Any) -> _Column:
            return _Column(df[label], label, dialect, line_breaks_ok=line_breaks_ok)

        members: list[_Member] = []
        names: list[str] = []
        if host_label is not None:
            opener, close, null = dialect.host_member()
            members.append(_Member(opener, close, null, column(host_label)))
            names.append("host")
        elif host_value is not None:
            opener, close, _ = dialect.host_member()
            members.append(_Member(const=opener + dialect.value(host_value) + close))
            names.append("host")
        opener, close, _ = dialect.member("timestamp", first=True)
        members.append(_Member(opener, close, ints=ints,
                               const=None if ints is not None else
                               opener + str(self.now).encode() + close))
        names.append("timestamp")
        opener, close, _ = dialect.member("timeunit")
        members.append(_Member(const=opener + dialect.value(opts.timeunit) + close))
        names.append("timeunit")
        for label in event_labels:
            name = _key(label)
            opener, close, null = dialect.member(name)
            members.append(_Member(opener, close, null, column(label)))
            names.append(name)
        self.fields_members: list[_Member] = []
        self.fields_const = b""
        if envelope:
            for label in field_labels:
                opener, close, null = dialect.member(_key(label))
                self.fields_members.append(_Member(opener, close, null, column(label)))
            self._check_names([_key(c) for c in field_labels], "fields")
            if const_fields:
                self.fields_const = b',"fields":' + _json_text(const_fields)
        else:
            for name, value in const_fields.items():
                opener, close, null = dialect.member(name)
                if value is None and opts.na == "drop":
                    continue
                members.append(_Member(const=opener + dialect.value(value) + close))
                names.append(name)
        self._check_names(names, "event")
        self.members = members
        self.names = names
        self.hec_time = envelope and opts.hec_time  # the top-level "time" member

    def _time_texts(self, start: int, stop: int) -> list[bytes]:
        """The envelope's ``time`` (epoch seconds, a JSON number) of rows start:stop: whole
        seconds plus the fraction, as ``hec_seconds`` computes it for one event."""
        ups = TIMEUNITS[self.options.timeunit]
        if self.time_ints is None:
            return [orjson.dumps(hec_seconds(self.now, ups))] * (stop - start)
        ints = self.time_ints[start:stop]
        if ups == 1:
            return orjson.dumps(ints, option=_NP)[1:-1].split(b",")
        whole = ints // ups
        seconds = whole.astype(np.float64) + (ints - whole * ups) / float(ups)
        return orjson.dumps(seconds, option=_NP)[1:-1].split(b",")

    # checks ----------------------------------------------------------------------------------
    @staticmethod
    def _check_unique(df: pd.DataFrame) -> None:
        dup = df.columns[df.columns.duplicated()]
        if len(dup):
            raise ConversionError(f"the frame has more than one column named {dup[0]!r}; "
                                  "rename them (every event key must be unique).", column=dup[0])

    def _check_names(self, names: list[str], where: str) -> None:
        seen: dict[str, str] = {}
        spell = xml_name if self.dialect.name == "xml" else (lambda s: s)
        for name in names:
            key = spell(name)
            if key in seen:
                raise ConversionError(
                    f"two {where} members would both be called {key!r} ({seen[key]!r} and "
                    f"{name!r}); rename one of the columns.", column=name)
            seen[key] = name

    # rendering -------------------------------------------------------------------------------
    def header(self) -> bytes:
        """The csv header line for these events."""
        return CsvDialect.header(self.names)

    def _slots(self, members: list[_Member], start: int, stop: int) -> list[Any]:
        """Constant pieces (bytes) and per-row pieces (lists) for rows start:stop."""
        n = stop - start
        drop = self.options.na == "drop"
        sep = self.dialect.sep
        slots: list[Any] = []
        for i, m in enumerate(members):
            if sep and i:
                slots.append(sep)
            if m.const is not None:
                slots.append(m.const)
                continue
            if m.ints is not None:
                slots += [m.opener, _split_numbers(m.ints[start:stop], Dialect()), m.close]
                continue
            col = m.column
            assert col is not None
            mask = None if col.mask is None else col.mask[start:stop]
            if mask is None or not mask.any():
                texts, quote = col.texts(self.dialect, start, stop, None)
                slots += [m.opener + quote, texts, quote + m.close]
                continue
            missing = b"" if drop else m.null
            present = ~mask
            if not present.any():
                slots.append(missing)
                continue
            if col.kind == "float":  # NaN and inf print as null: glue, then drop the nulls
                slots.append(_float_pieces(col.values[start:stop], m, missing, self.dialect))
                continue
            if col.kind == "str" and self.dialect.name in ("json", "yaml"):
                a, z = m.opener + b'"', b'"' + m.close  # glue straight into orjson's output
                blob = self.dialect.string_blob(col.values[start:stop][present].tolist())
                full = np.full(n, missing, dtype=object)
                full[present] = (a + blob.replace(b'","', z + b"\x00" + a) + z).split(b"\x00")
                slots.append(full.tolist())
                continue
            texts, quote = col.texts(self.dialect, start, stop, present)
            a, z = m.opener + quote, quote + m.close
            glued = (z + b"\x00" + a).join(texts)
            if glued.count(b"\x00") == len(texts) - 1:
                pieces: list[bytes] = (a + glued + z).split(b"\x00")
            else:
                pieces = [a + t + z for t in texts]
            full = np.full(n, missing, dtype=object)
            full[present] = pieces
            slots.append(full.tolist())
        return slots

    def rows(self, start: int, stop: int) -> list[bytes]:
        """The encoded events of rows start:stop."""
        n = stop - start
        if n <= 0:
            return []
        d = self.dialect
        if self.hec_time:
            slots = [b'{"time":', self._time_texts(start, stop), b',"event":{',
                     *self._slots(self.members, start, stop)]
        else:
            slots = [d.row_start(), *self._slots(self.members, start, stop)]
        if self.fields_members:
            inner = _assemble(self._slots(self.fields_members, start, stop), n)
            slots += [b"}", [b',"fields":{' + x[1:] + b"}" if x else b"" for x in inner],
                      self.fields_const + b"}\n"]
        elif self.fields_const:
            slots += [b"}" + self.fields_const + b"}\n"]
        else:
            slots.append(d.row_end())
        return _assemble(slots, n)

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[int, list[bytes], Iterable[Any]]]:
        """``(start, encoded events, index labels)`` per chunk of rows."""
        index = self.df.index
        for start in range(0, self.n, size):
            stop = min(start + size, self.n)
            labels = index[start:stop]
            if isinstance(labels, pd.RangeIndex):
                shown: Iterable[Any] = range(labels.start, labels.stop, labels.step)
            elif labels.dtype.kind in "Mm":
                shown = labels.to_numpy()
            else:
                shown = labels.tolist()
            yield start, self.rows(start, stop), shown


def _escape_all(values: list[str], escape: Callable[[str], str],
                one: Callable[[str], bytes]) -> list[bytes]:
    """Escape many strings with one call: joined by NUL, escaped, encoded and split again. A
    value holding NUL itself is escaped one by one (``one``). Lone surrogates raise TypeError
    naming the value."""
    if not values:
        return []
    text = "\x00".join(values)
    if text.count("\x00") != len(values) - 1:
        return [one(v) for v in values]
    try:
        blob = escape(text).encode("utf-8")
    except UnicodeEncodeError:
        for v in values:
            _surrogate_check(v)
        raise
    return blob.split(b"\x00")


def _float_pieces(arr: np.ndarray, m: _Member, missing: bytes, dialect: Dialect) -> list[bytes]:
    """Per-row pieces of a float column with gaps, without gathering and scattering: orjson
    prints NaN/inf as null, the member glue goes around every number in one replace, and the
    null pieces become ``missing``."""
    blob = orjson.dumps(arr, option=_NP)[1:-1]
    if dialect.name == "yaml":
        blob = dialect.numbers(blob)
    a, z = m.opener, m.close
    glued = a + blob.replace(b",", z + b"\x00" + a) + z
    null_piece = a + b"null" + z
    if null_piece != missing:
        glued = glued.replace(null_piece + b"\x00", missing + b"\x00")
        if glued.endswith(null_piece):
            glued = glued[:-len(null_piece)] + missing
    return glued.split(b"\x00")


def _assemble(slots: list[Any], n: int) -> list[bytes]:
    """Rows from slots with one ``bytes % tuple`` per row (constants go into the format)."""
    fmt: list[bytes] = []
    columns: list[list[bytes]] = []
    for slot in slots:
        if isinstance(slot, bytes):
            fmt.append(slot.replace(b"%", b"%%"))
        else:
            fmt.append(b"%s")
            columns.append(slot)
    template = b"".join(fmt)
    if not columns:
        return [template % ()] * n
    return list(map(template.__mod__, zip(*columns, strict=True)))


def _why_not_time(value: Any, label: Any, divisor: int) -> str:
    try:
        evtime.read(value, label, divisor)
    except evtime.Unreadable as exc:
        return str(exc)
    return "not a time"  # pragma: no cover - only called for values read() refuses


def _show(labels: list[Any]) -> str:
    shown = ", ".join(repr(c) for c in labels[:12])
    return shown + (", ..." if len(labels) > 12 else "")


# ------------------------------------------------------------------------------------ records


class KeyProblem(ValueError):
    """One key of a record cannot be encoded (or, as the time column, read)."""

    def __init__(self, key: str, exc: BaseException, what: str = "cannot be encoded") -> None:
        super().__init__(f"key {key!r} {what} ({exc})")
        self.key = key


class RecordConverter:
    """Dicts (FalconPy style or plain records) -> event members -> bytes, one at a time."""

    def __init__(self, options: Options, dialect: Dialect,
                 notes: evtime.TimeNotes | None = None) -> None:
        self.options = options
        self.dialect = dialect
        self.envelope = dialect.name == "json" and not dialect.raw
        self.hec_time = self.envelope and options.hec_time
        self.header: list[str] | None = None  # csv
        self.notes = notes if notes is not None else evtime.TimeNotes(options.time_rule,
                                                                      options.divisor)
        self._ranker = evtime.Ranker()
        self._ups = TIMEUNITS[options.timeunit]

    def event(self, record: Any, now: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(event members in order, fields)`` for one record; raises TypeError/ValueError
        (:class:`KeyProblem` when one key is the problem).

        The same rules as for a frame row: the ``host`` key is the event's host unless host=
        says otherwise (then host= wins), the time comes from the event-time rule (see
        ``_eventtime``); FalconPy's ``custom`` and ``fields`` keys and ready envelopes are
        understood.
        """
        opts = self.options
        fields: dict[str, Any] = {}
        if isinstance(opts.fields, dict):
            fields.update((_key(k), v) for k, v in opts.fields.items())
        source = self._row(record, fields)
        row = source if opts.columns is None else {c: source[c] for c in opts.columns
                                                   if c in source}
        # host: what the caller passes wins over the record's own 'host' (said once)
        if opts.host is not None:
            if "host" in row and opts.host != "host":
                self.notes.note(f"host={opts.host!r} was given, so it replaced the records' "
                                "'host' key as each event's host")
            row.pop("host", None)
            has_host = opts.host in source or isinstance(opts.host, str)
            host = source.get(opts.host, opts.host)
        else:
            has_host = "host" in row
            host = row.pop("host", None)
        stamp = self._time(source)
        row.pop("timestamp", None)
        # fields given as keys: moved beside the event (json envelope), else kept in it
        if isinstance(opts.fields, tuple):
            for label in opts.fields:
                if label in source:
                    if self.envelope:
                        fields[_key(label)] = source[label]
                        row.pop(label, None)
                    elif label not in row:
                        row[label] = source[label]
        drop = opts.na == "drop"
        event: dict[str, Any] = {}
        if has_host:
            value = native(host)
            if value is not MISSING or not drop:
                event["host"] = None if value is MISSING else value
        event["timestamp"] = now if stamp is None else stamp
        event["timeunit"] = opts.timeunit
        for key, value in row.items():
            try:
                v = native(value)
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                raise KeyProblem(_key(key), exc) from None
            if v is MISSING:
                if drop:
                    continue
                v = None
            name = _key(key)
            if name in event:
                raise ValueError(f"two members would both be called {name!r}")
            event[name] = v
        fields = {_key(k): native(v, False) for k, v in fields.items()}
        if not self.envelope and fields:
            for name, v in fields.items():
                if name in event:
                    raise ValueError(f"fields member {name!r} is also an event member; outside "
                                     "the json envelope fields are merged into the event")
                event[name] = v
            fields = {}
        return event, fields

    def _time(self, source: dict[Any, Any]) -> int | None:
        """The record's own time (in the unit), or None for the send time; noted."""
        opts = self.options
        notes = self.notes
        divisor = opts.divisor
        notes.events += 1
        choice = opts.timestamp_column
        if choice not in (evtime.AUTO, None):  # the caller's key: a non-time is an error
            notes.seen.add(_key(choice))
            if "timestamp" in source and choice != "timestamp":
                notes.note(f"timestamp_column={choice!r} was given, so its time replaced the "
                           "records' 'timestamp' key in each event")
            try:
                stamp = evtime.read(source.get(choice), choice, divisor)
            except evtime.Unreadable as exc:
                raise KeyProblem(_key(choice), exc, what="is not a time") from None
            if stamp is not None:
                notes.add_times(_key(choice), [stamp])
            return stamp
        stamp, name, bad, seen, several = evtime.resolve(source, choice, self._ranker, divisor)
        notes.seen.update(_key(k) for k in seen)
        for k, v in bad:
            notes.bad_value(_key(k), v)
        if several:
            notes.note(several)
        if stamp is not None:
            notes.add_times(_key(name), [stamp])
        return stamp

    @staticmethod
    def _row(record: Any, fields: dict[str, Any]) -> dict[Any, Any]:
        """The plain key -> value row of a record; its own ``fields`` go into ``fields``."""
        if isinstance(record, (str, bytes, bytearray)):
            text = record.decode("utf-8") if isinstance(record, (bytes, bytearray)) else record
            return {"message": text.rstrip("\r\n")}
        if hasattr(record, "to_json") and hasattr(record, "custom"):  # IngestPayload
            env = record.to_json()
            fields.update(env.get("fields") or {})
            row = dict(env["event"])
            row.pop("timeunit", None)
            return row
        if not isinstance(record, Mapping):
            raise TypeError(f"an event must be a dict, a str or an IngestPayload, not "
                            f"{type(record).__name__}")
        row = dict(record)
        if "event" in row and all(k in _ENVELOPE_MEMBERS for k in row):  # a ready envelope
            inner = row.pop("event")
            fields.update(row.pop("fields", None) or {})
            rest = row
            row = dict(inner) if isinstance(inner, Mapping) else {"message": inner}
            for k, v in rest.items():
                row.setdefault(k, v)
        else:
            custom = row.pop("custom", None)
            if isinstance(custom, Mapping):
                row.update(custom)
            if isinstance(row.get("fields"), Mapping):
                fields.update(row.pop("fields"))
        row.pop("timeunit", None)
        return row

    def render(self, event: dict[str, Any], fields: dict[str, Any]) -> bytes:
        """The bytes of one event (with its line ending)."""
        d = self.dialect
        if d.name == "json":
            env: dict[str, Any] = {"time": hec_seconds(event["timestamp"], self._ups),
                                   "event": event} if self.hec_time else {"event": event}
            if fields and self.envelope:
                env["fields"] = fields
            return _json_text(env) + b"\n"
        if d.name == "yaml":
            return d.row_start() + b",".join(
                _yaml_key(k) + _yaml_text(v) for k, v in event.items()) + d.row_end()
        if d.name == "xml":
            names = [xml_name(k) for k in event]
            if len(set(names)) != len(names):
                raise ValueError("two members have the same XML name; rename one of them")
            return b"<event>" + b"".join(_xml_element(n, v) for n, v in zip(
                names, event.values(), strict=True)) + b"</event>\n"
        header = self.header
        if header is None:
            header = self.header = list(event)
        extra = [k for k in event if k not in set(header)]
        if extra:
            raise ValueError(f"member {extra[0]!r} is not in the csv header ({_show(header)}); "
                             "pass every record at once so the header covers them all")
        cells = []
        for name in header:
            value = event.get(name)
            text = _csv_text(value)
            if d.raw and (b"\n" in text or b"\r" in text):
                raise ValueError(_RAW_CSV_BREAK)
            cells.append(text)
        return b",".join(cells) + b"\r\n"


def is_frame(data: Any) -> bool:
    """True for a pandas DataFrame."""
    return isinstance(data, pd.DataFrame)


def check_not_series(data: Any) -> None:
    """A Series is one column, not a list of events: say so instead of sending its values."""
    if isinstance(data, pd.Series):
        raise ConversionError("a Series is one column, not events; pass series.to_frame() "
                              "(or a DataFrame) instead.")


def records_of(data: Any) -> Sequence[Any] | Iterator[Any]:
    """The records of ``data`` (a dict is one record)."""
    if isinstance(data, (str, bytes, bytearray)):
        raise ConversionError("events must be a DataFrame, a list (or iterable) of dicts or "
                              "strings, not a single str; wrap it in a list.")
    if isinstance(data, Mapping):
        return [data]
    check_not_series(data)
    if isinstance(data, Sequence):
        return data
    if isinstance(data, Iterable):
        return iter(data)
    raise ConversionError(f"cannot make events from a {type(data).__name__}; pass a DataFrame "
                          "or a list of dicts.")
