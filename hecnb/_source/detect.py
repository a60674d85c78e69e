"""What kind of file a path holds, by content: ``detect`` and ``open_source``.

The CLI sends Parquet, EVTX, NDJSON, JSON, CSV and gzip files, and a file's name need not say
which: the first bytes decide (``PAR1``, ``ElfFile\\0``, gzip's ``1f 8b``, whose content is
sniffed the same way), then the text is sniffed: a JSON object per line (NDJSON), one JSON
array or object (JSON), a header line with commas that is not JSON (CSV); anything else is text
lines (sent raw, or as JSON lines, as ``hecnb send`` always did). A name's extension is used
only where the content is ambiguous (an empty file).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from typing import Any

from .._errors import EventFileError

__all__ = ["KINDS", "FileKind", "detect", "open_source"]

#: The kinds ``detect`` gives.
KINDS = ("parquet", "evtx", "ndjson", "json", "csv", "lines")
_SNIFF = 64 * 1024
_BY_NAME = {".parquet": "parquet", ".pq": "parquet", ".evtx": "evtx", ".ndjson": "ndjson",
            ".jsonl": "ndjson", ".json": "json", ".csv": "csv"}


@dataclass(frozen=True)
class FileKind:
    """A file's kind (one of ``KINDS``) and whether it is gzip-compressed."""

    kind: str
    gzip: bool = False

    def __str__(self) -> str:
        return f"{self.kind}{' (gzip)' if self.gzip else ''}"


def detect(path: str | os.PathLike[str]) -> FileKind:
    """The kind of the file at ``path``, from its first bytes (its name where they do not
    decide). A missing file is an EventFileError."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            head = handle.read(_SNIFF)
    except FileNotFoundError:
        raise EventFileError(f"No such event file: {name!r}. Check the path (cwd is "
                             f"{os.getcwd()!r}).") from None
    except IsADirectoryError:
        raise EventFileError(f"{name!r} is a directory, not an event file.") from None
    if head.startswith(b"PAR1"):
        return FileKind("parquet")
    if head.startswith(b"ElfFile\0"):
        return FileKind("evtx")
    compressed = head.startswith(b"\x1f\x8b")
    if compressed:
        try:
            with gzip.open(name, "rb") as inner:
                head = inner.read(_SNIFF)
        except (OSError, EOFError) as exc:
            raise EventFileError(f"{name!r} starts like gzip but cannot be read ({exc}).") \
                from None
    stem = name[:-3] if compressed and name.lower().endswith(".gz") else name
    return FileKind(sniff_text(head, os.path.splitext(stem)[1].lower()), compressed)


def sniff_text(head: bytes, suffix: str = "") -> str:
    """The kind of a text file from its first bytes: ndjson, json, csv or lines."""
    import json

    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        return _BY_NAME.get(suffix, "lines") if suffix not in (".parquet", ".evtx") else "lines"
    lines = text.splitlines()
    complete = lines[:-1] if len(head) == _SNIFF and len(lines) > 1 else lines
    if text[:1] == b"[":
        return "json"
    if text[:1] == b"{":  # an object on the first line is NDJSON (a bad line later is that
        try:             # line's failure); one spread over several lines is JSON
            first_value = json.loads(lines[0])
        except ValueError:
            return "json"
        if isinstance(first_value, dict) and (len(complete) > 1 or suffix != ".json"):
            return "ndjson"
        return "json"
    first = complete[0] if complete else b""
    if b"," in first and _csv_like(complete[:20]):
        return "csv"
    return "lines"


def _csv_like(lines: list[bytes]) -> bool:
    """A header and rows with the same number of fields (commas outside quotes)."""
    import csv
    import io

    sample = b"\n".join(lines).decode("utf-8", "replace")
    rows = [r for r in csv.reader(io.StringIO(sample)) if r]
    if not rows:
        return False
    width = len(rows[0])
    return width > 1 and all(len(r) == width for r in rows[1:-1] or rows)


def open_source(path: str | os.PathLike[str], kind: FileKind, *, raw: bool = False) -> Any:
    """What a send takes for a file of this kind: a Parquet source, an EVTX reader (frames),
    a list (JSON) or a DataFrame (CSV), or None: the file is sent as lines
    (``HEC.send_file``: NDJSON and text, plain or gzip, streamed; CSV too with ``raw``,
    where each line is one raw event, as before)."""
    name = os.fspath(path)
    if raw and kind.kind == "csv":
        return None
    if kind.kind == "parquet":
        from .parquet import read_parquet

        return read_parquet(name)
    if kind.kind == "evtx":
        from .evtx import iter_evtx

        return iter_evtx(name)
    if kind.kind == "json":
        import orjson

        with (gzip.open(name, "rb") if kind.gzip else open(name, "rb")) as handle:
            try:
                data = orjson.loads(handle.read())
            except orjson.JSONDecodeError as exc:
                raise EventFileError(f"{name!r} is not valid JSON ({exc}).") from None
        return [data] if isinstance(data, dict) else data
    if kind.kind == "csv":
        from .readers import read_csv

        return read_csv(name, compression="gzip" if kind.gzip else None)
    return None


def send_source(hec: Any, source: Any, **options: Any) -> Any:
    """Send what :func:`open_source` gave with ``hec`` and return the report: an EVTX
    reader frame by frame (its unreadable chunks become the report's warning), anything else
    in one send."""
    from .evtx import EvtxReader

    if not isinstance(source, EvtxReader):
        return hec.send(source, **options)
    total = None
    for frame in source:
        report = hec.send(frame, **options)
        total = report if total is None else total.merge(report)
    if total is None:
        total = hec.send([], **options)
    if source.problems:
        total.warn(source.summary())
    return total
