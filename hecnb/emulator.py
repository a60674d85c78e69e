"""A local emulator of the NG-SIEM HTTP Event Collector, for the demo, notebooks and tests.

It speaks the wire protocol of ``docs/hec-protocol.md`` on a loopback address: the event and raw
routes, Bearer/Splunk auth, gzip, the body limit, Splunk-style answers, and injectable faults
(503, 429 with Retry-After, dropped connections, delays). It keeps what it received so a test can
check that every event arrived exactly once, and it is fast enough never to be the bottleneck.

It needs only the standard library, orjson and PyYAML, and imports nothing else from hecnb, so it
can serve users' own tests too.

Example::

    from hecnb.emulator import Emulator, Faults

    with Emulator(api_key="secret", faults=Faults(error_503_rate=0.1, seed=1)) as emu:
        ...  # send to emu.url with "Authorization: Bearer secret"
        assert emu.wait_for(1000)
        print(emu.stats["status_counts"])
"""

from __future__ import annotations

import contextlib
import csv
import hmac
import io
import ipaddress
import json
import math
import os
import random
import re
import selectors
import socket
import socketserver
import ssl
import threading
import time
import types
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any
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

__all__ = ["Emulator", "Faults", "serve"]

EVENT_PATHS = ("/services/collector", "/services/collector/event", "/api/v1/ingest/hec")
RAW_PATHS = ("/services/collector/raw", "/api/v1/ingest/hec/raw")
HEALTH_PATH = "/services/collector/health"
#: ``GET`` here answers ``stats`` as JSON (not counted in them): for a benchmark or a test that
#: runs the emulator in another process.
STATS_PATH = "/emulator/stats"
_ROUTES: dict[str, str] = {
    **{p: "event" for p in EVENT_PATHS},
    **{p: "raw" for p in RAW_PATHS},
}

_YAML_TYPES = frozenset({"application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml"})
_XML_TYPES = frozenset({"text/xml", "application/xml"})
_CSV_TYPES = frozenset({"text/csv"})

# A body over the limit is read and thrown away (so the client gets its 413 rather than a reset)
# when it is at most this much larger; beyond that the connection is closed after the answer.
_DRAIN_SLACK = 256 * 1024 * 1024
_CHUNK = 1024 * 1024

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
_NDJSON_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SERVE_EVERY = 1000  # serve() prints a progress line each time this many more requests arrived


# --------------------------------------------------------------------------------------- faults


@dataclass(frozen=True, kw_only=True)
class Faults:
    """Faults to inject, decided per request after auth succeeded and before the body is accepted.

    A faulted request stores no events. The error bands are drawn from one number per request:
    503 first, then 429, then drop, so if the three rates add up to more than 1 the earlier
    ones win. The delay is drawn separately and applies before the answer (or the drop).

    The network knobs model a real collector and a real uplink rather than random faults:

    - ``rate_limit`` (events/s) and ``rate_limit_bytes`` (decoded bytes/s) are a token bucket
      per emulator, as a connector's quota: it refills at that rate and holds at most
      ``rate_burst`` seconds of it; a request is admitted while the bucket is not empty (it may
      take the bucket into debt, so a batch larger than the burst still gets through), else it
      is answered ``429`` with ``Retry-After`` (whole seconds until the bucket refills, at
      least 1) and nothing of it is stored. 0 means no limit.
    - ``bandwidth`` (bytes/s) paces the reading of request bodies as one shared link would:
      all connections together receive at most that many bytes a second (12.5e6 models a
      100 Mbit/s uplink). 0 means as fast as loopback goes.
    - ``delay`` adds latency before every answer (a round trip).

    Example: ``Faults(error_503_rate=0.2, delay=0.05, seed=7)``,
    ``Faults(rate_limit=10_000)``, ``Faults(bandwidth=12.5e6, delay=0.03)``.
    """

    error_503_rate: float = 0.0
    error_429_rate: float = 0.0
    retry_after: float = 1.0
    drop_rate: float = 0.0
    delay: float = 0.0
    delay_rate: float = 1.0
    seed: int | None = None
    rate_limit: float = 0.0
    rate_limit_bytes: float = 0.0
    rate_burst: float = 1.0
    bandwidth: float = 0.0

    def __post_init__(self) -> None:
        """Validate on creation so a typo fails at once, not mid-test."""
        for name in ("error_503_rate", "error_429_rate", "drop_rate", "delay_rate"):
            value = _number(name, getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be between 0 and 1, got {value!r}")
        for name in ("retry_after", "delay", "rate_limit", "rate_limit_bytes", "bandwidth"):
            value = _number(name, getattr(self, name))
            if value < 0:
                raise ValueError(f"Faults.{name} must be >= 0, got {value!r}")
        if not _number("rate_burst", self.rate_burst) > 0:
            raise ValueError(f"Faults.rate_burst must be > 0 seconds, got {self.rate_burst!r}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ValueError(f"Faults.seed must be an int or None, got {self.seed!r}")

    @property
    def retry_after_header(self) -> str:
        """The Retry-After value: whole seconds as an integer, else a decimal string."""
        value = float(self.retry_after)
        if value.is_integer():
            return str(int(value))
        return format(value, "f").rstrip("0").rstrip(".")


def _number(name: str, value: object) -> float:
    """Return a finite float, or raise ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"Faults.{name} must be a finite number, got {value!r}")
    return float(value)


class _Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` seconds' worth held.

    A request is admitted while the bucket is not empty and then takes what it costs, which may
    leave the bucket in debt (a batch larger than the burst is not refused forever); the debt is
    repaid by the refill before anything else is admitted. Over any long run at most ``rate``
    tokens a second (plus one burst) get through, whatever the request sizes.
    """

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.capacity = rate * burst
        self.tokens = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        """Seconds until the bucket holds a token again (0 when it does now)."""
        return 0.0 if self.tokens > 0 else (1e-9 - self.tokens) / self.rate


class _Quota:
    """The connector's rate limit: an events bucket and a bytes bucket, both must admit."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        now = clock()
        self._buckets: list[tuple[_Bucket, bool]] = []  # (bucket, counts events)
        if faults.rate_limit > 0:
            self._buckets.append((_Bucket(faults.rate_limit, faults.rate_burst, now), True))
        if faults.rate_limit_bytes > 0:
            self._buckets.append((_Bucket(faults.rate_limit_bytes, faults.rate_burst, now),
                                  False))

    @property
    def active(self) -> bool:
        return bool(self._buckets)

    def admit(self, events: int, size: int) -> float | None:
        """None when the request is admitted (and charged); else seconds until it could be."""
        with self._lock:
            now = self._clock()
            waits = []
            for bucket, _ in self._buckets:
                bucket.refill(now)
                waits.append(bucket.wait())
            if any(waits):
                return max(waits)
            for bucket, counts_events in self._buckets:
                bucket.tokens -= events if counts_events else size
            return None


class _Link:
    """An upload link of ``rate`` bytes a second shared by every connection (a slow uplink)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._free_at = 0.0

    def reserve(self, size: int) -> float:
        """Seconds from now until ``size`` more bytes have crossed the link."""
        with self._lock:
            now = self._clock()
            start = max(now, self._free_at)
            self._free_at = start + size / self.rate
            return self._free_at - now


_LINK_PIECE = 64 * 1024  # bytes read between two paces of the link


# ------------------------------------------------------------------------------------- requests


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


# --------------------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the emulator; the stdlib does request lines and headers."""

    protocol_version = "HTTP/1.1"
    server_version = "hecnb-emulator"
    disable_nagle_algorithm = True
    server: _Server
    body_bytes = 0  # body bytes read off the wire for the current request

    def __getattr__(self, name: str) -> Any:
        """Route every method (``do_POST``, ``do_GET``, ``do_FOO``...) to one dispatcher."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        self.server.emulator._handle(self, self.server.run)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: a test run would otherwise print a line per request."""


class _Run:
    """What one start() creates and the matching stop() tears down."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that tracks its connections so stop() can close idle ones."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True  # so a restart can bind the same port again at once
    request_queue_size = 128
    timeout = 0  # handle_request() never blocks: serve() calls it when a client is waiting

    def __init__(
        self, address: tuple[str, int], family: int, emulator: Emulator, run: _Run
    ) -> None:
        self.address_family = family
        self.emulator = emulator
        self.run = run
        self._track = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._conn_threads: set[threading.Thread] = set()
        super().__init__(address, _Handler)
        self.socket.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()

    def serve(self) -> None:
        """Accept connections until stop() sets ``run.stopping`` and wakes us (no polling)."""
        stopping = self.run.stopping
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not stopping.is_set():
                        self.handle_request()

    def wake(self) -> None:
        """Make serve() look at ``run.stopping`` now."""
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def server_close(self) -> None:
        """Close the listening socket and the wake-up pair."""
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host (slow on some machines)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a daemon thread, tracked before it starts."""
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="hecnb-emulator-connection",
            daemon=True,
        )
        with self._track:
            self._connections.add(request)
            self._conn_threads.add(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            with contextlib.suppress(Exception):  # a client that went away is not our problem
                tls = self.emulator._tls
                if tls is not None:  # the handshake happens here, not in the accept loop
                    plain = request
                    request = tls.wrap_socket(plain, server_side=True)
                    with self._track:
                        self._connections.discard(plain)
                        self._connections.add(request)
                self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._track:
                self._connections.discard(request)
                self._conn_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing: request errors are answered in the handler, socket errors are expected."""

    def close_connections(self) -> list[threading.Thread]:
        """Shut down every open connection (idle keep-alive ones too); return their threads."""
        with self._track:
            connections = list(self._connections)
            threads = list(self._conn_threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        return threads


# ------------------------------------------------------------------------------------- emulator


def _loopback_host(host: str) -> tuple[str, int]:
    """Return (address to bind, family) for a loopback host, else raise ValueError."""
    allowed = "127.0.0.0/8, ::1 or 'localhost'"
    if not isinstance(host, str):
        raise ValueError(f"host must be a loopback address ({allowed}), got {host!r}")
    if host.strip().lower() == "localhost":
        return "127.0.0.1", socket.AF_INET
    try:
        address = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"host must be a loopback address ({allowed}), got {host!r}")
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return str(address), family


class Emulator:
    """A local NG-SIEM HEC on a loopback port, with fault injection, for tests and demos.

    Example::

        with Emulator() as emu:
            httpx.post(emu.url, content=b'{"event":"hi"}',
                       headers={"Authorization": "Bearer any"})
            assert emu.wait_for(1) and emu.events == [{"event": "hi"}]
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        max_body_bytes: int = 32 * 1024 * 1024,
        keep_events: bool = True,
        ndjson_path: str | os.PathLike[str] | None = None,
        faults: Faults | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._host, self._family = _loopback_host(host)
        if tls is not None and not isinstance(tls, ssl.SSLContext):
            raise TypeError(f"tls must be a server ssl.SSLContext or None, got "
                            f"{type(tls).__name__}")
        self._tls = tls
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, got {port!r}")
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int):
            raise ValueError(f"max_body_bytes must be an int, got {max_body_bytes!r}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be >= 1, got {max_body_bytes!r}")
        if api_key is not None and (not isinstance(api_key, str) or not api_key):
            raise ValueError("api_key must be a non-empty string or None")
        if faults is not None and not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults or None, got {type(faults).__name__}")
        self._port = port
        self._api_key = api_key.encode("utf-8") if api_key is not None else None
        self._max_body = max_body_bytes
        self._keep = bool(keep_events)
        self._ndjson_path = os.fspath(ndjson_path) if ndjson_path is not None else None
        self._faults = faults or Faults()
        self._rng = random.Random(self._faults.seed)
        self._quota = _Quota(self._faults)
        self._link = _Link(self._faults.bandwidth) if self._faults.bandwidth > 0 else None
        self._fault_lock = threading.Lock()
        self._life_lock = threading.Lock()  # serialises start() and stop()
        self._run: _Run | None = None
        self._file_lock = threading.Lock()  # orders ndjson lines and stored events alike
        self._file: IO[bytes] | None = None
        self._cond = threading.Condition(threading.Lock())  # guards everything below
        self._batches: list[_Batch] = []  # stored, not yet turned into dicts
        self._events: list[dict[str, Any]] = []  # turned into dicts, in arrival order
        self._epoch = 0  # bumped by reset(), so a reader never mixes old and new events
        self._read_lock = threading.Lock()  # one reader decodes at a time
        # parsing holds the GIL: two requests parse at once (one inflates meanwhile), the rest
        # wait their turn rather than thrash; many clients then cost no more than a few
        self._parse_gate = threading.BoundedSemaphore(2)
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._stored = 0
        self._requests = 0
        self._bytes_received = 0
        self._bytes_decoded = 0
        self._status_counts: dict[int, int] = {}
        self._dropped = 0
        self._delayed = 0
        self._throttled = 0  # answered 429 by the rate limit (not by error_429_rate)
        self._by_route = {"event": 0, "raw": 0}
        self._active = getattr(self, "_active", 0)  # requests being handled now (kept by reset)
        self._max_active = 0  # the most handled at once among requests started since

    # ---------------------------------------------------------------------------- lifecycle

    def start(self) -> Emulator:
        """Bind and serve in a background daemon thread; a no-op when already running.

        After a stop() it binds the same port again, so a test can restart a server mid-send.
        """
        with self._life_lock:
            if self._run is not None:
                return self
            run = _Run()
            server = _Server((self._host, self._port), self._family, self, run)
            if self._ndjson_path is not None:
                try:
                    with self._file_lock:
                        self._file = open(self._ndjson_path, "ab")  # noqa: SIM115 - see stop()
                except OSError:
                    server.server_close()
                    raise
            self._port = server.server_port
            run.server = server
            run.thread = threading.Thread(
                target=server.serve, name=f"hecnb-emulator-{self._port}", daemon=True
            )
            run.thread.start()
            self._run = run
            return self

    def stop(self) -> None:
        """Stop serving, close every open connection and join the threads; a no-op if stopped."""
        with self._life_lock:
            run, self._run = self._run, None
            if run is None or run.server is None:
                return
            run.stopping.set()  # also wakes delayed requests, which then drop their connection
            run.server.wake()
            deadline = time.monotonic() + 1.0
            if run.thread is not None:
                run.thread.join(1.0)
            run.server.server_close()
            for thread in run.server.close_connections():
                if thread is not threading.current_thread():
                    thread.join(max(0.0, deadline - time.monotonic()))
            with self._file_lock:
                if self._file is not None:
                    self._file.close()
                    self._file = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` (``https://`` when serving TLS)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self._tls is not None else 'http'}://{host}:{self._port}"

    @property
    def url(self) -> str:
        """The event endpoint, ``.../services/collector``."""
        return self.base_url + "/services/collector"

    @property
    def raw_url(self) -> str:
        """The raw endpoint, ``.../services/collector/raw``."""
        return self.url + "/raw"

    @property
    def running(self) -> bool:
        """Whether the emulator is serving."""
        return self._run is not None

    @property
    def events(self) -> list[dict[str, Any]]:
        """A snapshot of the events received, in arrival order (empty if keep_events=False)."""
        with self._read_lock:
            with self._cond:
                batches, self._batches = self._batches, []
                epoch = self._epoch
            decoded = [event for batch in batches for event in batch.materialize()]
            with self._cond:
                if epoch == self._epoch:
                    self._events.extend(decoded)
                return list(self._events)

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters: requests, events, bytes, statuses, drops, delays, routes."""
        with self._cond:
            return {
                "requests": self._requests,
                "events": self._stored,
                "bytes_received": self._bytes_received,
                "bytes_decoded": self._bytes_decoded,
                "status_counts": dict(self._status_counts),
                "dropped": self._dropped,
                "delayed": self._delayed,
                "throttled": self._throttled,
                "by_route": dict(self._by_route),
                "max_concurrent": self._max_active,  # most requests handled at once
            }

    @property
    def faults(self) -> Faults:
        """The faults in force; assign a new Faults to change them (restarts its random seed)."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        if faults is not None and not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults or None, got {type(faults).__name__}")
        faults = faults or Faults()
        with self._fault_lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._quota = _Quota(faults)
            self._link = _Link(faults.bandwidth) if faults.bandwidth > 0 else None

    def reset(self) -> None:
        """Forget the events and zero the counters (the ndjson file is left alone)."""
        with self._cond:
            self._batches = []
            self._events = []
            self._epoch += 1
            self._reset_counters()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` events are stored; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stored >= count, timeout)

    def __repr__(self) -> str:
        with self._cond:
            requests, events = self._requests, self._stored
        state = "running" if self.running else "stopped"
        return f"<Emulator {self.url} {state} requests={requests} events={events}>"

    # ---------------------------------------------------------------------------- requests

    def _handle(self, h: _Handler, run: _Run) -> None:
        """Answer one request; every answer is accounted before it is written."""
        with self._cond:
            self._active += 1
            self._max_active = max(self._max_active, self._active)
        try:
            self._answer(h, run)
        finally:
            with self._cond:
                self._active -= 1

    def _answer(self, h: _Handler, run: _Run) -> None:
        h.body_bytes = 0
        try:
            path = h.path.split("?", 1)[0]
            if len(path) > 1:
                path = path.rstrip("/")
            route = _ROUTES.get(path)
            if route is None or h.command != "POST":
                self._discard_body(h)
                if path == HEALTH_PATH and h.command in ("GET", "HEAD"):
                    raise _Reply(200, _HEALTHY)
                if path == STATS_PATH and h.command == "GET":
                    self._respond(h, 200, orjson.dumps(self.stats, option=orjson.OPT_NON_STR_KEYS),
                                  counted=False)
                    return
                if path == HEALTH_PATH:
                    raise _Reply(405, _NOT_ALLOWED, headers=(("Allow", "GET, HEAD"),))
                if route is None:
                    raise _Reply(404, _NOT_FOUND)
                raise _Reply(405, _NOT_ALLOWED, headers=(("Allow", "POST"),))
            self._authorize(h)
            body = self._read_body(h)
            self._inject_faults(run)
            with self._parse_gate:
                batch, decoded = self._decode(h, route, body)
            self._admit(batch.count, decoded)
            self._store(route, batch)
            self._respond(h, 200, _SUCCESS, decoded=decoded)
        except _Reply as reply:
            if reply.close:
                h.close_connection = True
            self._respond(h, reply.status, reply.body, headers=reply.headers)
        except _Drop:
            h.close_connection = True
            with self._cond:
                self._requests += 1
                self._dropped += 1
                self._bytes_received += h.body_bytes
        except OSError:
            h.close_connection = True  # the client went away mid-request, or stop() was called
        except Exception:  # an emulator bug must still get an answer, as on HEC
            h.close_connection = True
            self._respond(h, 500, _INTERNAL)

    def _authorize(self, h: _Handler) -> None:
        """Check ``Authorization: Bearer|Splunk <token>``; raise 401/403 answers."""
        header = h.headers.get("Authorization")
        if header is None:
            self._discard_body(h)
            raise _Reply(401, _TOKEN_REQUIRED)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "splunk") or not token:
            self._discard_body(h)
            raise _Reply(401, _INVALID_AUTH)
        if self._api_key is not None and not hmac.compare_digest(
            token.encode("utf-8", "surrogateescape"), self._api_key
        ):
            self._discard_body(h)
            raise _Reply(403, _INVALID_TOKEN)

    def _content_length(self, h: _Handler) -> int | None:
        """The declared body length (None for chunked); a bad header is a 400 and a close."""
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            return None
        value = h.headers.get("Content-Length")
        if value is None:
            return 0
        try:
            length = int(value)
        except ValueError:
            length = -1
        if length < 0:
            raise _Reply(400, _INVALID_DATA, close=True)
        return length

    def _read_exact(self, h: _Handler, size: int) -> bytes:
        link = self._link
        if link is not None and size > _LINK_PIECE:  # paced: read piece by piece
            return b"".join(self._read_exact(h, min(_LINK_PIECE, size - offset))
                            for offset in range(0, size, _LINK_PIECE))
        data = h.rfile.read(size)
        h.body_bytes += len(data)
        if len(data) != size:
            raise ConnectionAbortedError("the client closed the connection mid-body")
        if link is not None and h.server.run.stopping.wait(link.reserve(size)):
            raise ConnectionAbortedError("stop() was called while the body was arriving")
        return data

    def _admit(self, events: int, size: int) -> None:
        """Charge the rate limit for an accepted body, or answer 429 with Retry-After."""
        quota = self._quota
        if not quota.active:
            return
        wait = quota.admit(events, size)
        if wait is None:
            return
        with self._cond:
            self._throttled += 1
        retry_after = str(max(1, math.ceil(wait)))
        raise _Reply(429, _TOO_MANY, headers=(("Retry-After", retry_after),))

    def _read_chunked(self, h: _Handler, *, keep: bool) -> bytes:
        """Read a chunked body; with ``keep`` raise 413 past the limit, else just consume it."""
        limit = self._max_body
        parts: list[bytes] = []
        total = 0
        while True:
            line = h.rfile.readline(65537)
            if not line:
                raise ConnectionAbortedError("the client closed the connection mid-body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _Reply(400, _INVALID_DATA, close=True) from None
            if size < 0:
                raise _Reply(400, _INVALID_DATA, close=True)
            if size == 0:
                while h.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            total += size
            if total > limit + _DRAIN_SLACK:  # not worth reading just to refuse it
                h.close_connection = True
                if keep:
                    raise _Reply(413, _TOO_LARGE, close=True)
                return b""
            for offset in range(0, size, _CHUNK):
                data = self._read_exact(h, min(_CHUNK, size - offset))
                if keep and total <= limit:
                    parts.append(data)
            h.rfile.readline(65537)  # the CRLF after the chunk
        if keep and total > limit:
            raise _Reply(413, _TOO_LARGE)
        return b"".join(parts)

    def _read_body(self, h: _Handler) -> bytes:
        """The request body as sent; an over-limit body is thrown away and answered 413."""
        length = self._content_length(h)
        if length is None:
            return self._read_chunked(h, keep=True)
        if length > self._max_body:
            self._skip(h, length)
            raise _Reply(413, _TOO_LARGE)
        return self._read_exact(h, length) if length else b""

    def _skip(self, h: _Handler, length: int) -> None:
        """Read and forget ``length`` bytes, or close the connection if that is absurdly many."""
        if length > self._max_body + _DRAIN_SLACK:
            raise _Reply(413, _TOO_LARGE, close=True)
        for offset in range(0, length, _CHUNK):
            self._read_exact(h, min(_CHUNK, length - offset))

    def _discard_body(self, h: _Handler) -> None:
        """Consume a body we will not use, so the keep-alive connection stays in step."""
        length = self._content_length(h)
        if length is None:
            self._read_chunked(h, keep=False)
        elif length > self._max_body + _DRAIN_SLACK:
            h.close_connection = True  # not worth reading just to refuse it
        else:
            self._skip(h, length)

    def _inject_faults(self, run: _Run) -> None:
        """Decide this request's fault: maybe wait, then maybe 503, 429 or a dropped connection."""
        with self._fault_lock:
            faults = self._faults
            draw = self._rng.random()
            delay_draw = self._rng.random()
        if faults.delay > 0 and delay_draw < faults.delay_rate:
            with self._cond:
                self._delayed += 1
                self._cond.notify_all()
            if run.stopping.wait(faults.delay):
                raise ConnectionAbortedError("stop() was called during the delay")
        if draw < faults.error_503_rate:
            raise _Reply(503, _BUSY)
        draw -= faults.error_503_rate
        if draw < faults.error_429_rate:
            raise _Reply(429, _TOO_MANY, headers=(("Retry-After", faults.retry_after_header),))
        draw -= faults.error_429_rate
        if draw < faults.drop_rate:
            raise _Drop

    def _decode(self, h: _Handler, route: str, body: bytes) -> tuple[_Batch, int]:
        """Decompress and parse a body into the batch to store (and the decoded size)."""
        if not body:
            raise _Reply(400, _NO_DATA)
        encoding = (h.headers.get("Content-Encoding") or "").strip().lower()
        body = _decompress(body, encoding, self._max_body)
        decoded = len(body)
        if not body.strip():
            raise _Reply(400, _NO_DATA)
        if route == "raw":
            return _parse_raw(body), decoded
        mtype, charset = _media_type(h.headers.get("Content-Type"))
        if mtype in _YAML_TYPES:
            return _parse_event_yaml(body, charset), decoded
        if mtype in _XML_TYPES or mtype.endswith("+xml"):
            return _parse_event_xml(body), decoded
        if mtype in _CSV_TYPES:
            return _parse_event_csv(body, charset), decoded
        return _parse_event_json(body), decoded

    def _store(self, route: str, batch: _Batch) -> None:
        """Keep the batch (and append its events to the ndjson file), then wake waiters."""
        if self._ndjson_path is not None:
            dumps = orjson.dumps
            lines = b"".join(
                dumps(e, default=str, option=_NDJSON_OPTS) for e in batch.materialize()
            )
            with self._file_lock:
                if self._file is not None:
                    self._file.write(lines)
                    self._file.flush()
                self._append(route, batch)
        else:
            self._append(route, batch)

    def _append(self, route: str, batch: _Batch) -> None:
        batch.envelopes = None  # keep only the compact form (see _Batch)
        with self._cond:
            if self._keep:
                self._batches.append(batch)
            self._stored += batch.count
            self._by_route[route] += batch.count
            self._cond.notify_all()

    def _respond(
        self,
        h: _Handler,
        status: int,
        body: bytes,
        *,
        decoded: int = 0,
        headers: tuple[tuple[str, str], ...] = (),
        counted: bool = True,
    ) -> None:
        """Account for the answer, then write it in one send (no Nagle/delayed-ACK stalls)."""
        if counted:
            with self._cond:
                self._requests += 1
                self._bytes_received += h.body_bytes
                self._bytes_decoded += decoded
                self._status_counts[status] = self._status_counts.get(status, 0) + 1
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
            "Server: hecnb-emulator",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        head.extend(f"{name}: {value}" for name, value in headers)
        if h.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if h.command != "HEAD":
            data += body
        try:
            h.wfile.write(data)
        except OSError:
            h.close_connection = True


# ------------------------------------------------------------------------------------------ serve


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8088,
    api_key: str | None = None,
    ndjson_path: str | os.PathLike[str] | None = None,
    faults: Faults | None = None,
    quiet: bool = False,
) -> None:
    """Run an emulator in the foreground until KeyboardInterrupt (for ``hecnb emulate``).

    Prints the URLs once, then (unless quiet) a line each time another 1000 requests arrived.
    """
    emulator = Emulator(
        host=host, port=port, api_key=api_key, ndjson_path=ndjson_path, faults=faults
    ).start()
    if not quiet:
        auth = "the API key given" if api_key is not None else "any token"
        print(f"hecnb emulator listening on {emulator.url} (raw: {emulator.raw_url})")
        print(f"accepting {auth}; Ctrl-C to stop")
    next_mark = _SERVE_EVERY
    try:
        while True:
            _pause(0.5)
            if quiet:
                continue
            stats = emulator.stats
            if stats["requests"] >= next_mark:
                next_mark = (stats["requests"] // _SERVE_EVERY + 1) * _SERVE_EVERY
                print(_progress_line(stats))
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if not quiet:
            print("stopped: " + _progress_line(emulator.stats))


def _pause(seconds: float) -> None:
    """Sleep in serve()'s loop (Ctrl-C interrupts it); a seam for tests."""
    time.sleep(seconds)


def _progress_line(stats: dict[str, Any]) -> str:
    """One line summing up the counters, for serve()."""
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(stats["status_counts"].items()))
    return (
        f"{stats['requests']} requests, {stats['events']} events, "
        f"{stats['bytes_received'] / 1e6:.1f} MB received ({statuses or 'none'})"
    )
