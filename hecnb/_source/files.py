"""Event files as a source: plain or gzip, read in blocks in bounded memory, as raw lines (cut with
C-level bytes methods) or as JSON lines, with every line that cannot be an event set aside with
its reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Iterator, Sequence
from typing import Any

from .._compress import GZIP_ERRORS, gzip_reader
from .._errors import EventFileError
from .._report.report import FailedEvent
from .._settings.names import (
    MAX_EVENT_BYTES,
)

_GZIP_MAGIC = b"\x1f\x8b"


def _open_event_file(path: str) -> tuple[Any, bool]:
    """Open an event file for binary line reading; gzip is detected by its magic bytes."""
    if not os.path.exists(path):
        raise EventFileError(f"No such event file: {path!r}. Check the path (cwd is "
                             f"{os.getcwd()!r}).")
    if os.path.isdir(path):
        raise EventFileError(f"{path!r} is a directory, not an event file.")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the caller
        magic = handle.read(2)
    except OSError as exc:
        raise EventFileError(f"Cannot read event file {path!r}: {exc.strerror or exc}.") from None
    if not magic:
        handle.close()
        raise EventFileError(f"Event file {path!r} is empty: nothing to send.")
    handle.seek(0)
    if magic == _GZIP_MAGIC:
        return gzip_reader(handle), True
    return handle, False


class _RawFileChunks:
    """Raw event lines of a file as encoded chunks ``(line indices, lines, lines)``.

    The file is read in blocks and cut at line ends with C-level bytes methods (the raw
    endpoint's rule: ``\n``, ``\r\n`` or ``\r``); a block is checked for UTF-8 at once, and
    only a block with a problem is looked at line by line. Blank lines are skipped (the
    collector ignores them). A line longer than the per-event limit is skipped without ever
    being held whole. Memory stays bounded whatever the file size.
    """

    BLOCK = 1 << 20

    def __init__(self, handle: Any, path: str, *, start_line: int = 0) -> None:
        self.handle = handle
        self.path = path
        self.start_line = start_line
        self.bad_lines: list[FailedEvent] = []
        self.problems: list[str] = []
        self.lines_read = 0
        self.exhausted = False

    def _blocks(self) -> Iterator[bytes]:
        """Blocks of whole lines; an over-long line comes as ``b""`` (already skipped)."""
        read = self.handle.read
        rest = b""
        skipping = False
        while True:
            data = read(self.BLOCK)
            if not data:
                if rest and not skipping:
                    yield rest + b"\n"
                elif skipping:
                    yield b""
                return
            if skipping:  # inside an over-long line: drop up to its end
                cut = _line_end(data)
                if cut < 0:
                    continue
                skipping = False
                data = data[cut:]
                yield b""
            data = rest + data if rest else data
            cut = _last_line_end(data)
            if cut < 0:
                if len(data) > MAX_EVENT_BYTES + 2:
                    skipping, rest = True, b""
                else:
                    rest = data
                continue
            rest = data[cut:]
            if len(rest) > MAX_EVENT_BYTES + 2:
                skipping, rest = True, b""
            yield data[:cut]

    def __iter__(self) -> Iterator[tuple[Sequence[int], list[bytes], list[bytes]]]:
        try:
            for block in self._blocks():
                if not block:  # an over-long line
                    self.bad_lines.append(FailedEvent(
                        self.lines_read, None, f"line {self.lines_read + 1:,}: longer than "
                        f"the collector's {MAX_EVENT_BYTES:,}-byte limit per event; it was "
                        "skipped"))
                    self.lines_read += 1
                    continue
                lines = block.splitlines(keepends=True)
                first = self.lines_read
                self.lines_read += len(lines)
                if self.lines_read <= self.start_line:
                    continue
                indices: Sequence[int] = range(first, first + len(lines))
                if first < self.start_line:
                    lines = lines[self.start_line - first:]
                    indices = indices[self.start_line - first:]
                # a blank line is all whitespace, its line end included: one C-level pass
                if any(map(bytes.isspace, lines)) or not _is_utf8(block):
                    indices, lines = self._sift(indices, lines)
                if lines and lines[-1][-1:] not in (b"\n", b"\r"):
                    lines[-1] += b"\n"
                if lines:
                    yield indices, lines, lines
            self.exhausted = True
        except GZIP_ERRORS as exc:
            self.exhausted = True
            self.problems.append(f"{self.path} is truncated or corrupt after line "
                                 f"{self.lines_read} ({exc}); the lines before it were sent")

    def _sift(self, indices: Sequence[int], lines: list[bytes]
              ) -> tuple[list[int], list[bytes]]:
        """Drop blank lines and report lines that are not UTF-8."""
        keep_i, keep_l = [], []
        for i, line in zip(indices, lines, strict=True):
            if not line.strip():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad_lines.append(FailedEvent(
                    i, line.rstrip(b"\r\n"), f"line {i + 1:,}: not UTF-8 (byte "
                    f"{exc.start + 1}); re-encode {self.path} as UTF-8"))
                continue
            keep_i.append(i)
            keep_l.append(line)
        return keep_i, keep_l


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _line_end(data: bytes) -> int:
    """Position just after the first line end in ``data``, or -1."""
    n, r = data.find(b"\n"), data.find(b"\r")
    ends = [p for p in (n, r) if p >= 0]
    if not ends:
        return -1
    p = min(ends)
    return p + 2 if data[p:p + 2] == b"\r\n" else p + 1


def _last_line_end(data: bytes) -> int:
    """Position just after the last complete line end in ``data``, or -1.

    A ``\r`` at the very end may be the first half of ``\r\n``: it waits for more data.
    """
    p = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1))
    return p + 1 if p >= 0 else -1


class _FileEvents:
    """Iterate ``(line index, event)`` over an event file in bounded memory.

    Lines that cannot be events go to ``bad_lines`` (with the reason); a file that breaks off
    goes to ``problems``. ``lines_read`` says how far reading got (for a resume after an
    interrupt). A line longer than the per-event limit is skipped in chunks, never held whole.
    Lines whose index is in ``skip`` (a journal's confirmed lines) are passed over unparsed.
    """

    def __init__(self, handle: Any, path: str, *, raw: bool, start_line: int = 0,
                 skip: Container[int] | None = None) -> None:
        self.handle = handle
        self.path = path
        self.raw = raw
        self.start_line = start_line
        self.skip = skip
        self.bad_lines: list[FailedEvent] = []
        self.problems: list[str] = []
        self.lines_read = 0
        self.exhausted = False

    def _lines(self) -> Iterator[bytes | None]:
        """Raw lines; None stands for a line over the limit (already skipped)."""
        limit = MAX_EVENT_BYTES + 2
        readline = self.handle.readline
        while True:
            line = readline(limit)
            if not line:
                return
            if len(line) >= limit and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the long line
                    line = readline(limit)
                yield None
            else:
                yield line

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        import orjson

        skip = self.skip
        try:
            for line in self._lines():
                self.lines_read += 1
                index = self.lines_read - 1
                if index < self.start_line or (skip is not None and index in skip):
                    continue
                if line is None:
                    self.bad_lines.append(FailedEvent(
                        index, None, f"line {index + 1:,}: longer than the collector's "
                        f"{MAX_EVENT_BYTES:,}-byte limit per event; it was skipped"))
                    continue
                text = line.rstrip(b"\r\n")
                if not text.strip():
                    continue
                try:
                    decoded = text.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self.bad_lines.append(FailedEvent(
                        index, text, f"line {index + 1:,}: not UTF-8 (byte {exc.start + 1}); "
                        f"re-encode {self.path} as UTF-8"))
                    continue
                if self.raw:
                    yield index, decoded
                    continue
                try:
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    self.bad_lines.append(FailedEvent(
                        index, decoded, f"line {index + 1:,}: invalid JSON ({exc.msg} at "
                        f"column {exc.colno}); text logs go with raw_ingest=True (--raw)"))
                    continue
                if not isinstance(obj, dict):
                    kind = {list: "an array", str: "a string", bool: "true or false",
                            type(None): "null"}.get(type(obj), "a number")
                    self.bad_lines.append(FailedEvent(
                        index, decoded, f"line {index + 1:,}: JSON {kind}, not an object (each "
                        "line must be one JSON object)"))
                    continue
                yield index, obj, decoded  # report the line as it was, keep no dict around
            self.exhausted = True
        except GZIP_ERRORS as exc:
            self.exhausted = True
            self.problems.append(f"{self.path} is truncated or corrupt after line "
                                 f"{self.lines_read} ({exc}); the lines before it were sent")


def is_gzip(filename: str | os.PathLike[str]) -> bool:
    """True when the file starts with gzip's magic bytes; a file that cannot be read is an
    :class:`~hecnb.EventFileError` naming it."""
    path = os.fspath(filename)
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == _GZIP_MAGIC
    except OSError as exc:
        raise EventFileError(f"Cannot read event file {path!r}: {exc.strerror or exc}."
                             ) from None


def slice_text(data: str, log: Callable[[str], None], limit: int = 10_240_000
               ) -> list[dict[str, Any]]:
    """``data`` cut at line ends into chunks of at most ``limit`` characters, as
    ``[{"data": text, "count": lines}, ...]`` (FalconPy's ``slice_raw_data``, its log lines
    included)."""
    created: list[dict[str, Any]] = []
    start, total = 0, 0
    while start < len(data):
        end = min(start + limit, len(data))
        if end < len(data):
            cut = data.rfind("\n", start, end)
            if cut != -1:
                end = cut + 1
        chunk = data[start:end]
        count = len(chunk.split("\n")) - 1
        log(f"Created batch of {count} records")
        total += count
        created.append({"data": chunk, "count": count})
        start = end
    log(f"{total} records processed into {len(created)} batches")
    return created
