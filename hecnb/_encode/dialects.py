"""How each format spells a value, a member and an event: json, yaml, xml, csv.

Every format carries the same information per event (the row's values plus ``host``,
``timestamp`` and ``timeunit``); what differs is only the spelling (see ``docs/formats.md``):
JSON text, YAML's flow style with its float and character rules, XML element names and
escaping, CSV cells. One ``Dialect`` class per format holds what the DataFrame plan and the
record converter need; the module-level functions spell one native value (see ``values``).
Apart because it is the one place that knows the formats' syntax; it needs neither numpy nor
pandas.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["DIALECTS", "RAW_CSV_BREAK", "CsvDialect", "Dialect", "XmlDialect", "YamlDialect",
           "csv_text", "json_text", "xml_element", "xml_name", "xml_unname", "yaml_key",
           "yaml_text"]

#: Why a csv value with a line break cannot go to the raw endpoint.
RAW_CSV_BREAK = ("the value contains a line break, and on the raw endpoint every line is a "
                 "separate event; send csv to the event endpoint (raw_ingest=False) or use "
                 "json/yaml/xml, which escape line breaks")


# ---------------------------------------------------------------------------------- json


def json_text(value: Any) -> bytes:
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


def _surrogate_check(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TypeError("a string contains a lone surrogate (not valid Unicode)") from None


# ---------------------------------------------------------------------------------- yaml


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


def yaml_text(value: Any) -> bytes:
    """Flow-style YAML of a native value: JSON with YAML's float and character rules."""
    text = json_text(value)
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
        return b"{" + b",".join(yaml_key(k) + _yaml_flow(v) for k, v in value.items()) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_yaml_flow(v) for v in value) + b"]"
    return yaml_text(value)


def yaml_key(name: str) -> bytes:
    """``"name":`` in YAML; a key longer than YAML's 1024-character implicit-key limit is
    written as an explicit ``? "name" :`` key."""
    key = _yaml_escape(orjson.dumps(name))
    return (b"? " + key + b" : ") if len(key) > 1000 else key + b":"


# ----------------------------------------------------------------------------------- xml


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
        return b"".join(xml_element(xml_name(k), v) for k, v in value.items())
    if isinstance(value, list):
        return b"".join(xml_element("item", v) for v in value)
    raise TypeError(f"objects of type {type(value).__name__} have no XML form")


def xml_element(name: str, value: Any) -> bytes:
    tag = name.encode("utf-8")
    if value is None:
        return b"<" + tag + b"/>"
    return b"<" + tag + b">" + _xml_text(value) + b"</" + tag + b">"


# ----------------------------------------------------------------------------------- csv


def csv_text(value: Any) -> bytes:
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
    return b'"' + json_text(value).replace(b'"', b'""') + b'"'


# ------------------------------------------------------------------------------ dialects


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
        return json_text(value)

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
        key = yaml_key(name)
        opener = key if first else b"," + key
        return opener, b"", opener + b"null"

    def row_start(self) -> bytes:
        return b"{" if self.raw else b"--- {"

    def row_end(self) -> bytes:
        return b"}\n"

    def value(self, value: Any) -> bytes:
        return yaml_text(value)

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
        return csv_text(value)

    def numbers(self, blob: bytes) -> bytes:
        return blob.replace(b"null", b"")

    def strings(self, values: list[str]) -> list[bytes]:
        return _escape_all(values, lambda t: t.replace('"', '""'),
                           lambda v: csv_text(v)[1:-1])

    @staticmethod
    def header(names: list[str]) -> bytes:
        """The header line: every name quoted."""
        return b",".join(csv_text(n) for n in names) + b"\r\n"


#: format name -> dialect class.
DIALECTS: dict[str, type[Dialect]] = {
    "json": Dialect, "yaml": YamlDialect, "xml": XmlDialect, "csv": CsvDialect,
}


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
