"""Request bodies -> the events to store: JSON envelopes, raw lines, YAML, XML, CSV, gzip; and the
Splunk-style answers for what is wrong with them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import types
import zlib
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

import orjson
import yaml

_inflate: types.ModuleType
try:  # ISA-L inflates about five times faster; the stdlib's zlib does the same job
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - depends on the platform
    _inflate = zlib



#: What inflating a damaged body raises, whichever library inflates it.
_INFLATE_ERRORS: tuple[type[BaseException], ...] = (
    zlib.error, getattr(_inflate, "error", zlib.error))


_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # a safe loader, in C if there
_YAML_TYPES = frozenset({"application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml"})


_XML_TYPES = frozenset({"text/xml", "application/xml"})


_CSV_TYPES = frozenset({"text/csv"})


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


_SUCCESS = b'{"text":"Success","code":0}'


_HEALTHY = b'{"text":"HEC is healthy","code":17}'


_BUSY = b'{"text":"Server is busy","code":9}'


_TOO_MANY = b'{"text":"Too many requests","code":429}'


_NOT_FOUND = b'{"text":"Not found","code":404}'


_NOT_ALLOWED = b'{"text":"Method not allowed","code":405}'


_TOO_LARGE = b'{"text":"Content too large","code":413}'


_BAD_ENCODING = b'{"text":"Unsupported content encoding","code":415}'


_TOKEN_REQUIRED = b'{"text":"Token is required","code":2}'


_INVALID_AUTH = b'{"text":"Invalid authorization","code":3}'


_INVALID_TOKEN = b'{"text":"Invalid token","code":4}'


_NO_DATA = b'{"text":"No data","code":5}'


_INVALID_DATA = b'{"text":"Invalid data format","code":6}'


_INTERNAL = b'{"text":"Internal server error","code":8}'


_TEXTS = {
    6: "Invalid data format",
    12: "Event field is required",
    13: "Event field cannot be blank",
}


_JSON_WS = re.compile(r"[ \t\n\r]*")


class _Reply(Exception):
    """Answer the current request with this status and JSON body (raised from deep helpers)."""

    def __init__(
        self,
        status: int,
        body: bytes,
        *,
        close: bool = False,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.close = close
        self.headers = headers


class _Drop(Exception):
    """Close the connection without writing anything."""


def _invalid(code: int, index: int) -> _Reply:
    """A 400 answer naming the first bad envelope."""
    text = _TEXTS[code]
    return _Reply(400, orjson.dumps({"text": text, "code": code, "invalid-event-number": index}))


def _check_envelopes(envelopes: list[Any]) -> None:
    """Raise a 400 for the first envelope that is not an object, or has a missing/blank event."""
    for index, envelope in enumerate(envelopes):
        if type(envelope) is not dict:
            raise _invalid(6, index)
        if "event" not in envelope:
            raise _invalid(12, index)
        event = envelope["event"]
        if not event and (event is None or event == "" or event == {}):
            raise _invalid(13, index)


def _parse_json_lines(body: bytes) -> tuple[list[bytes], list[Any]] | None:
    """Parse a body holding one JSON value per line (the common case), or return None.

    A JSON string cannot hold a raw newline, so when every non-blank line parses on its own the
    lines are exactly the envelopes. Otherwise (pretty-printing, several objects on one line,
    or bad data) the caller falls back to the incremental parser. Returns (lines, values).
    """
    loads = orjson.loads
    lines = body.split(b"\n")
    try:
        kept = [line for line in lines if line]
        return kept, [loads(line) for line in kept]
    except orjson.JSONDecodeError:
        pass
    try:
        kept = [line for line in lines if line.strip()]
        return kept, [loads(line) for line in kept]
    except orjson.JSONDecodeError:
        return None


def _reject_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which are not JSON (orjson refuses them too)."""
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _parse_json_stream(body: bytes) -> tuple[list[Any], int | None]:
    """Parse whitespace-separated JSON values one at a time.

    Returns the values parsed and the index of the first one that could not be parsed (None when
    all were fine). Invalid UTF-8 counts as bad data in the value it falls in.
    """
    bad_utf8 = False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = body[: exc.start].decode("utf-8")
        bad_utf8 = True
    values: list[Any] = []
    match_ws = _JSON_WS.match
    raw_decode = _DECODER.raw_decode
    pos = match_ws(text, 0).end()  # type: ignore[union-attr]
    end = len(text)
    while pos < end:
        try:
            value, pos = raw_decode(text, pos)
        except (ValueError, RecursionError):
            return values, len(values)
        values.append(value)
        pos = match_ws(text, pos).end()  # type: ignore[union-attr]
    return values, (len(values) if bad_utf8 else None)


class _Batch:
    """The events of one accepted request, kept compact until someone reads ``events``.

    Thousands of small dicts per request would make the garbage collector rescan every event
    ever stored, which costs several times the parse; bytes and strings it never scans. So a
    JSON body keeps its lines (each one envelope, as received) and a raw body its strings.
    """

    __slots__ = ("body", "count", "envelopes", "header", "items", "kind")

    def __init__(self, kind: str, items: list[Any], envelopes: list[Any] | None = None,
                 header: list[str] | None = None, body: bytes = b"",
                 count: int | None = None) -> None:
        # "json": envelope lines; "raw": strings; "obj": envelope dicts; "xml": <event>
        # elements; "csv": rows (lists) under ``header``; "xmlbody": an xml body not parsed
        # yet (``count`` events, no items)
        self.kind = kind
        self.items = items
        self.count = len(items) if count is None else count
        self.envelopes = envelopes  # the parsed envelopes, while we still have them
        self.header = header
        self.body = body  # "xmlbody": the whole request body, parsed when read

    def materialize(self) -> list[dict[str, Any]]:
        """The envelope dicts, parsed afresh when they were not kept."""
        if self.kind == "obj":
            return self.items
        if self.envelopes is not None:
            return self.envelopes
        if self.kind == "json":
            loads = orjson.loads
            return [loads(line) for line in self.items]
        if self.kind == "xmlbody":
            root = ElementTree.fromstring(self.body)
            self.kind, self.items, self.body = "xml", ([root] if root.tag == "event"
                                                       else list(root)), b""
        if self.kind == "xml":
            return [{"event": _xml_value(element)} for element in self.items]
        if self.kind == "csv":
            header = self.header or []
            return [{"event": _csv_row(header, row)} for row in self.items]
        return [{"raw": line} for line in self.items]


def _parse_event_json(body: bytes) -> _Batch:
    """Envelopes from a JSON event body, validated; raises a 400 _Reply for the first bad one."""
    parsed = _parse_json_lines(body)
    if parsed is not None:
        lines, envelopes = parsed
        _check_envelopes(envelopes)
        return _Batch("json", lines, envelopes)
    envelopes, bad = _parse_json_stream(body)
    _check_envelopes(envelopes)
    if bad is not None:
        raise _invalid(6, bad)
    return _Batch("obj", envelopes)


def _check_events(events: list[Any]) -> _Batch:
    """Wrap decoded events in envelopes, refusing blank ones as the JSON route does."""
    if not events:
        raise _Reply(400, _NO_DATA)
    envelopes = [{"event": event} for event in events]
    _check_envelopes(envelopes)
    return _Batch("obj", envelopes)


def _decode_text(body: bytes, charset: str) -> str:
    """Decode a text body, answering 400 code 6 when it does not decode."""
    try:
        return body.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError) as exc:
        raise _Reply(400, _INVALID_DATA) from exc


def _yaml_json_documents(body: bytes) -> list[Any] | None:
    """Documents written as ``--- {json}`` lines (JSON is YAML), parsed at orjson speed;
    None when the body is any other YAML (the full loader then reads it)."""
    docs = []
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        if not line.startswith(b"--- {"):
            return None
        docs.append(line[4:])
    try:
        parsed = orjson.loads(b"[" + b",".join(docs) + b"]")
    except orjson.JSONDecodeError:
        return None
    if not all(type(doc) is dict for doc in parsed):
        return None
    return parsed


def _parse_event_yaml(body: bytes, charset: str) -> _Batch:
    """Each YAML document is an event; a document that is a list gives one event per item."""
    if charset in ("", "utf-8", "utf8"):
        fast = _yaml_json_documents(body)
        if fast is not None:
            return _check_events(fast)
    text = _decode_text(body, charset)
    events: list[Any] = []
    try:
        for doc in yaml.load_all(text, Loader=_YamlLoader):  # a safe loader
            if doc is None:
                continue  # an empty document, e.g. after a trailing '---'
            if isinstance(doc, list):
                events.extend(doc)
            else:
                events.append(doc)
    except yaml.YAMLError as exc:
        raise _Reply(400, _INVALID_DATA) from exc
    return _check_events(events)


def _xml_value(element: ElementTree.Element) -> Any:
    """Child elements become keys (repeated tags a list), attributes '@name', leaves strings."""
    children = list(element)
    if not children and not element.attrib:
        return element.text or ""
    result: dict[str, Any] = {f"@{key}": value for key, value in element.attrib.items()}
    for child in children:
        value = _xml_value(child)
        if child.tag in result:
            existing = result[child.tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                result[child.tag] = [existing, value]
        else:
            result[child.tag] = value
    text = (element.text or "").strip()
    if text and not children:
        result["#text"] = text
    return result


_XML_EVENT_TAG = re.compile(rb"<event[\s>/]")


_XML_BLANK_EVENT = re.compile(rb"<event\s*(?:/>|>\s*</event\s*>)")


def _parse_event_xml(body: bytes) -> _Batch:
    """``<events><event>..</event>..</events>`` (or one ``<event>``): each event a dict.

    A body that writes one ``<event>`` per line (what hecnb and most shippers send) is only
    checked for well-formedness by expat, counted with bytes methods and kept as it came, to
    be turned into elements when someone reads ``events``: building the element tree of every
    request cost the emulator more than hecnb spent encoding. Anything else is parsed whole.
    """
    opened = len(_XML_EVENT_TAG.findall(body))
    at_line_start = (body.count(b"\n<event>") + body.count(b"\n<event ")
                     + body.startswith((b"<event>", b"<event ")))
    if opened and opened == at_line_start:  # one event a line: none is nested in another
        try:
            expat.ParserCreate().Parse(body, True)
        except expat.ExpatError as exc:
            raise _Reply(400, _INVALID_DATA) from exc
        if _XML_BLANK_EVENT.search(body) is None:
            return _Batch("xmlbody", [], count=opened, body=body)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise _Reply(400, _INVALID_DATA) from exc
    elements = [root] if root.tag == "event" else list(root)
    if not elements:
        raise _Reply(400, _NO_DATA)
    for i, element in enumerate(elements):  # blank events are refused, as on the JSON route
        if not (len(element) or element.attrib or (element.text or "").strip()):
            raise _invalid(13, i)
    return _Batch("xml", elements)  # turned into dicts only when someone reads ``events``


def _parse_event_csv(body: bytes, charset: str) -> _Batch:
    """A CSV text with a header line: each row is an event (a dict keyed by the header)."""
    text = _decode_text(body, charset)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        rows = [row for row in reader if row]  # as csv.DictReader: blank lines are no rows
    except csv.Error as exc:
        raise _Reply(400, _INVALID_DATA) from exc
    if not header or not rows:
        raise _Reply(400, _NO_DATA)
    return _Batch("csv", rows, header=header)  # dicts only when someone reads ``events``


def _csv_row(header: list[str], row: list[str]) -> dict[str, Any]:
    """A row as csv.DictReader gives it: extra values under None, missing ones None."""
    out: dict[Any, Any] = dict(zip(header, row, strict=False))
    if len(row) > len(header):
        out[None] = row[len(header):]
    elif len(row) < len(header):
        for key in header[len(row):]:
            out[key] = None
    return out


def _parse_raw(body: bytes) -> _Batch:
    """Each non-empty line (ended by \\n, \\r\\n or \\r) is one event ``{"raw": line}``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Reply(400, _INVALID_DATA) from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _Batch("raw", [line for line in text.split("\n") if line])


def _media_type(header: str | None) -> tuple[str, str]:
    """Split a Content-Type header into (lower-case media type, charset or '')."""
    if not header:
        return "", ""
    mtype, *params = header.split(";")
    charset = ""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"')
    return mtype.strip().lower(), charset


def _decompress(data: bytes, encoding: str, limit: int) -> bytes:
    """Undo Content-Encoding with the output capped at ``limit`` bytes (a gzip bomb gets 413)."""
    if encoding in ("", "identity"):
        return data
    if encoding in ("gzip", "x-gzip"):
        wbits = 31
    elif encoding == "deflate":
        wbits = 15
    else:
        raise _Reply(415, _BAD_ENCODING)
    parts: list[bytes] = []
    total = 0
    while True:  # gzip allows several members back to back
        decoder = _inflate.decompressobj(wbits)
        try:
            part = decoder.decompress(data, limit - total + 1)
        except _INFLATE_ERRORS as exc:
            raise _Reply(400, _INVALID_DATA) from exc
        total += len(part)
        if total > limit or decoder.unconsumed_tail:
            raise _Reply(413, _TOO_LARGE)
        if not decoder.eof:
            raise _Reply(400, _INVALID_DATA)  # truncated
        parts.append(part)
        data = decoder.unused_data
        if wbits != 31 or not data.strip(b"\x00"):
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)
