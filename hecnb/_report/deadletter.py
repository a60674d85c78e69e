"""Dead-letter files: the failed events of a send, as NDJSON, and how to send them again.

One record per failed event::

    {"hecnb": "dead-letter/1", "index": 7, "reason": "HTTP 503 (...)", "status": 503,
     "hec_code": 9, "format": "json", "raw": false, "prefix": "", "suffix": "",
     "payload": "<the exact text that was sent for this event>", "event": <the original>}

``payload`` is what a resend posts again, byte for byte (so timestamps do not change);
``prefix``/``suffix`` are what every request body of that format carries around its events (a
CSV header, the XML document element). ``event`` is the original, for people and DataFrames.
A file that was cut short by an interrupt adds one record naming the first line not read::

    {"hecnb": "dead-letter/1", "unread_file": "/data/auth.log", "from_line": 120000, "raw": true}
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import orjson

from .._encode.envelope import dumps
from .._errors import ConversionError, EventFileError
from .reasons import NOT_SENT, STOPPED

if TYPE_CHECKING:
    from .report import SendReport

__all__ = ["MARK", "ReplayEncoder", "fill_payloads", "read_dead_letter", "write_dead_letter"]

MARK = "dead-letter/1"


def _json_safe(value: Any) -> Any:
    try:
        return orjson.loads(dumps(value))
    except (TypeError, orjson.JSONDecodeError):
        return repr(value)


def fill_payloads(report: SendReport) -> None:
    """Encode the failed events that were never sent (an interrupt), so they can be resent
    exactly as a full send would have sent them."""
    enc = report.encoder
    todo = [f for f in report.failed if f.payload is None
            and (f.reason.startswith(NOT_SENT) or f.reason.startswith(STOPPED))]
    if enc is None or not todo:
        return
    src = report.source
    try:
        if report.bulk and src is not None:
            positions = [f.index for f in todo]
            subset = src.take(positions) if hasattr(src, "take") and hasattr(
                src, "columns") else [src[p] for p in positions]
            for f, (_, part, _orig) in zip(todo, enc.encode_many(subset), strict=True):
                f.payload = part
        else:
            for f in todo:
                f.payload = enc.encode(f.event)
    except ConversionError:  # leave them without payload: reported as not resendable
        return


def write_dead_letter(report: SendReport, path: str | os.PathLike[str]) -> int:
    """Write ``report``'s failed events (and unread file tail) to ``path``; return the count."""
    fill_payloads(report)
    enc = report.encoder
    prefix = getattr(enc, "prefix", b"").decode("utf-8")
    suffix = getattr(enc, "suffix", b"").decode("utf-8")
    n = 0
    with open(path, "wb") as fh:
        for f in report.failed:
            payload = None
            if f.payload is not None:
                try:
                    payload = f.payload.decode("utf-8")
                except UnicodeDecodeError:
                    payload = None
            record = {
                "hecnb": MARK, "index": f.index, "reason": f.reason, "status": f.status,
                "hec_code": f.hec_code, "format": report.ingest_format, "raw": report.raw,
                "prefix": prefix, "suffix": suffix, "payload": payload,
                "event": _json_safe(f.event),
            }
            fh.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            n += 1
        if report.unread:
            why = (STOPPED + report.stopped if report.stopped
                   else NOT_SENT if report.interrupted else "not read")
            fh.write(orjson.dumps({"hecnb": MARK, "unread_file": report.unread[0],
                                   "from_line": report.unread[1], "raw": report.raw,
                                   "format": report.ingest_format, "reason": why},
                                  option=orjson.OPT_APPEND_NEWLINE))
            n += 1
    return n


def read_dead_letter(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a dead-letter file; a clear error if it is not one."""
    records = []
    try:
        with open(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    rec = None
                if not isinstance(rec, dict) or rec.get("hecnb") != MARK:
                    raise EventFileError(
                        f"{path}: line {lineno} is not a hecnb dead-letter record; resend takes "
                        "files written by report.write_dead_letter() or `hecnb send "
                        "--dead-letter`. To send ordinary events use send_event_file().")
                records.append(rec)
    except FileNotFoundError:
        raise EventFileError(f"No such dead-letter file: {os.fspath(path)!r}.") from None
    return records


class ReplayEncoder:
    """Assembles request bodies from payloads already encoded (for a resend)."""

    def __init__(self, *, content_type: str, prefix: bytes = b"", suffix: bytes = b"",
                 raw: bool = False) -> None:
        self.content_type = content_type
        self.prefix = prefix
        self.suffix = suffix
        self.overhead = len(prefix) + len(suffix)
        self.raw = raw

    def body(self, parts: list[bytes]) -> bytes:
        """prefix + the events + suffix."""
        return self.prefix + b"".join(parts) + self.suffix

    def encode(self, evt: Any) -> bytes:  # pragma: no cover - replays are always pre-encoded
        raise TypeError("ReplayEncoder only assembles already encoded payloads")

