"""Windows event logs (``.evtx``) as DataFrames, one row per record, read with ``evtx``.

The parsing is done by the ``evtx`` package (a Python binding of the Rust parser
``omerbenamram/evtx``; ``pip install "hecnb[evtx]"``). What hecnb adds:

- **Flat columns with fixed names.** The ``System`` block becomes ``TimeCreated`` (a UTC
  datetime), ``EventID``, ``Channel``, ``Computer``, ``ProviderName`` ... (see ``SYSTEM_COLUMNS``
  and docs/sources.md); every other block (``EventData``, ``UserData``, ``RenderingInfo``...) is
  flattened into ``Block.Name`` columns.
- **Damaged files are read as far as they can be, and the damage is reported.** The parser
  raises for an unreadable chunk or record and goes on after it; it skips a zeroed chunk or a
  chunk the file is cut inside without a word. So the chunk headers (512 bytes per 64 KiB
  chunk) are also read here, and what the chunks say they hold is compared with what the
  parser delivered: every unreadable chunk, unreadable record and missing range of records
  becomes an :class:`EvtxProblem`, and one ``HecDataWarning`` sums them up.
- **Bounded memory.** :func:`iter_evtx` yields DataFrames of ``chunk_rows`` records, so a log
  of any size can be sent in pieces; :func:`read_evtx` returns one frame.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd

from .._errors import ConfigError, EventFileError, HecDataWarning

__all__ = ["SYSTEM_COLUMNS", "EvtxProblem", "EvtxReader", "iter_evtx", "read_evtx"]

FILE_HEADER = 4096  # bytes of the file header block
CHUNK = 65536  # bytes per chunk
_CHUNK_HEADER = 512
_FILE_MAGIC = b"ElfFile\x00"
_CHUNK_MAGIC = b"ElfChnk\x00"
_MAX_RECORDS_PER_CHUNK = (CHUNK - _CHUNK_HEADER) // 28  # a record takes at least 28 bytes
_ERRORS = ("warn", "ignore", "raise")

#: The System members, as columns, in the order they come first in every frame.
SYSTEM_COLUMNS = (
    "TimeCreated", "EventID", "Qualifiers", "Version", "Level", "Task", "Opcode", "Keywords",
    "EventRecordID", "ProviderName", "ProviderGuid", "EventSourceName", "Channel", "Computer",
    "ProcessID", "ThreadID", "UserID", "ActivityID", "RelatedActivityID",
)
_SYSTEM_SET = frozenset(SYSTEM_COLUMNS)
# System elements whose attributes are columns of their own name (Execution/@ProcessID ...)
_ATTRIBUTE_BLOCKS = frozenset({"Execution", "Correlation", "Security"})
_PROVIDER = {"Name": "ProviderName", "Guid": "ProviderGuid", "EventSourceName": "EventSourceName"}
_CHUNK_ERROR = re.compile(r"^Failed to parse chunk number (\d+):\s*")
_RECORD_ERROR = re.compile(r"^Failed to parse record number (\d+):\s*")


@dataclass(frozen=True)
class EvtxProblem:
    """One thing in an EVTX file that could not be read.

    ``chunk`` is the 0-based chunk number (None when the problem is not in one chunk),
    ``record`` the EventRecordID of one unreadable record, ``lost`` how many records are known
    to be lost (None when the damaged chunk no longer says), ``reason`` what was wrong.
    """

    chunk: int | None
    record: int | None
    lost: int | None
    reason: str

    def __str__(self) -> str:
        where = []
        if self.chunk is not None:
            where.append(f"chunk {self.chunk}")
        if self.record is not None:
            where.append(f"record {self.record}")
        return f"{', '.join(where) or 'file'}: {self.reason}"


@dataclass
class _Chunk:
    index: int
    size: int  # bytes of it in the file (less than CHUNK when the file ends inside it)
    state: str  # "ok" | "empty" (all zeros) | "bad" (no chunk header)
    first_id: int = 0
    last_id: int = 0
    expected: int | None = None  # records its header says it holds, when that is plausible
    checksum_ok: bool = True


def _inventory(path: str) -> list[_Chunk]:
    """The file's chunks as their headers describe them; an EventFileError if it is no EVTX."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise EventFileError(f"No such file: {path!r} (cwd is {os.getcwd()!r}).") from None
    except IsADirectoryError:
        raise EventFileError(f"{path!r} is a directory, not an EVTX file.") from None
    except OSError as exc:
        raise EventFileError(f"Cannot read {path!r}: {exc.strerror or exc}.") from None
    chunks: list[_Chunk] = []
    with fh:
        head = fh.read(FILE_HEADER)
        if not head:
            raise EventFileError(f"{path!r} is empty: it holds no event log.")
        if head.startswith(b"\x1f\x8b"):
            raise EventFileError(f"{path!r} is gzip-compressed: decompress it first (gunzip); "
                                 "EVTX files are read as they are.")
        if not head.startswith(_FILE_MAGIC):
            raise EventFileError(
                f"{path!r} is not an EVTX file: it does not start with the 'ElfFile' "
                f"signature (it starts with {head[:8]!r}). Read text logs with read_ndjson, "
                "read_csv or read_zeek.")
        if len(head) < FILE_HEADER:
            raise EventFileError(f"{path!r} is cut short inside its file header "
                                 f"({len(head):,} of {FILE_HEADER:,} bytes): no records.")
        index = 0
        while True:
            data = fh.read(CHUNK)
            if not data:
                break
            chunks.append(_describe(index, data))
            index += 1
    return chunks


def _describe(index: int, data: bytes) -> _Chunk:
    size = len(data)
    if data[:8] != _CHUNK_MAGIC:
        return _Chunk(index, size, "empty" if not data.strip(b"\x00") else "bad")
    if size < _CHUNK_HEADER:
        return _Chunk(index, size, "ok")
    first_id, last_id = struct.unpack_from("<QQ", data, 24)
    free, data_crc = struct.unpack_from("<II", data, 48)
    count = last_id - first_id + 1
    chunk = _Chunk(index, size, "ok", first_id, last_id,
                   count if 0 < count <= _MAX_RECORDS_PER_CHUNK else None)
    if size == CHUNK and _CHUNK_HEADER <= free <= CHUNK:
        chunk.checksum_ok = zlib.crc32(data[_CHUNK_HEADER:free]) == data_crc
    return chunk


# ------------------------------------------------------------------------------- flattening


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        return
    if key in out:  # an attribute and a child element of the same name: keep both
        n = 1
        while f"{key}_{n}" in out:
            n += 1
        key = f"{key}_{n}"
    out[key] = value


_NAMES: dict[tuple[str, str], str] = {}


def _name(prefix: str, key: str) -> str:
    """``prefix.key``, made once: every record of a log shares its column names."""
    name = _NAMES.get((prefix, key))
    if name is None:
        if len(_NAMES) > 100_000:
            _NAMES.clear()
        name = _NAMES[(prefix, key)] = f"{prefix}.{key}"
    return name


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """``Block.Child.Grandchild`` columns; an element's attributes are ``path.attribute``,
    its text is ``path``; lists (several unnamed values) stay lists; xmlns is left out."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "#attributes":
                if isinstance(item, dict):
                    for name, attr in item.items():
                        if name != "xmlns" and not name.startswith("xmlns:"):
                            _put(out, _name(prefix, name), attr)
            elif key == "#text":
                _put(out, prefix, item)
            else:
                _flatten(_name(prefix, key), item, out)
    else:
        _put(out, prefix, value)


def _system(system: dict[str, Any], out: dict[str, Any]) -> None:
    for key, value in system.items():
        if value is None:
            continue
        attrs = value.get("#attributes") if isinstance(value, dict) else None
        if key == "TimeCreated" and isinstance(attrs, dict):
            _put(out, "TimeCreated", attrs.get("SystemTime"))
            for name, attr in attrs.items():
                if name != "SystemTime":
                    _put(out, f"TimeCreated{name}", attr)
        elif key == "EventID":
            if isinstance(value, dict):
                _put(out, "EventID", _int(value.get("#text")))
                if isinstance(attrs, dict):
                    _put(out, "Qualifiers", _int(attrs.get("Qualifiers")))
            else:
                _put(out, "EventID", _int(value))
        elif key == "Provider" and isinstance(attrs, dict):
            for name, attr in attrs.items():
                _put(out, _PROVIDER.get(name, f"Provider{name}"), attr)
        elif key in _ATTRIBUTE_BLOCKS and isinstance(attrs, dict) and len(value) == 1:
            for name, attr in attrs.items():
                _put(out, name, attr)
        elif isinstance(value, dict):
            _flatten(_name("System", key), value, out)
        else:
            _put(out, key, value)


def _int(value: Any) -> Any:
    """Event ids and qualifiers as ints, also when the parser gives them as text."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def flatten_record(event: dict[str, Any]) -> dict[str, Any]:
    """One parsed record (the parser's JSON ``{"Event": {...}}``) as flat column -> value."""
    body = event.get("Event", event)
    out: dict[str, Any] = {}
    if not isinstance(body, dict):
        return out
    system = body.get("System")
    if isinstance(system, dict):
        _system(system, out)
    for key, value in body.items():
        if key in ("System", "#attributes") or value is None:
            continue
        _flatten(key, value, out)
    return out


# ---------------------------------------------------------------------------------- frames


def _series(name: str, values: list[Any], index: pd.RangeIndex) -> pd.Series:
    """One column with the dtype its values call for (ints with gaps stay ints: Int64)."""
    if name == "TimeCreated":
        stamps = pd.to_datetime(pd.Series(values, index=index, dtype=object),
                                format="ISO8601", utc=True, errors="coerce")
        return stamps.astype("datetime64[ns, UTC]")
    kinds = {type(v) for v in values}
    gaps = type(None) in kinds
    kinds.discard(type(None))
    if kinds == {int}:
        ints = [v for v in values if v is not None]
        if min(ints) >= -(2**63) and max(ints) < 2**63:
            return pd.Series(values, index=index, dtype="Int64" if gaps else "int64")
        if min(ints) >= 0 and max(ints) < 2**64:
            return pd.Series(values, index=index, dtype="UInt64")
    elif kinds == {bool}:
        return pd.Series(values, index=index, dtype="boolean" if gaps else "bool")
    elif kinds == {float}:
        return pd.Series(values, index=index, dtype="float64")
    elif kinds == {str}:
        return pd.Series(values, index=index)  # str in pandas 3, object before
    return pd.Series(values, index=index, dtype=object)


def _frame(rows: list[dict[str, Any]], start: int) -> pd.DataFrame:
    n = len(rows)
    cols: dict[str, list[Any]] = {}
    for i, row in enumerate(rows):  # one step per value present, not per row and column
        for key, value in row.items():
            col = cols.get(key)
            if col is None:
                col = cols[key] = [None] * n
            col[i] = value
    order = [c for c in SYSTEM_COLUMNS if c in cols] + [k for k in cols if k not in _SYSTEM_SET]
    index = pd.RangeIndex(start, start + n)
    return pd.DataFrame({k: _series(k, cols[k], index) for k in order}, index=index)


def _nullable(dtype: Any) -> Any:
    """The dtype a column gets once frames that lack it are joined (ints stay ints)."""
    if dtype == "int64":
        return pd.Int64Dtype()
    if dtype == "bool":
        return pd.BooleanDtype()
    return dtype


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames with different columns joined without turning ints into floats."""
    if len(frames) == 1:
        return frames[0]
    dtypes: dict[str, list[Any]] = {}
    for frame in frames:
        for name in frame.columns:
            dtypes.setdefault(name, []).append(frame[name].dtype)
    kinds: dict[str, Any] = {}
    for name, found in dtypes.items():
        if len(found) < len(frames) or len(set(found)) > 1:  # gaps appear when joined
            nullable = {_nullable(d) for d in found}
            kinds[name] = nullable.pop() if len(nullable) == 1 else object
        else:
            kinds[name] = found[0]
    order = [c for c in SYSTEM_COLUMNS if c in kinds] + [c for c in kinds if c not in _SYSTEM_SET]
    aligned = []
    for frame in frames:
        cols = {}
        for name in order:
            if name in frame.columns:
                col = frame[name]
                cols[name] = col if col.dtype == kinds[name] else col.astype(kinds[name])
            else:
                cols[name] = pd.Series(None, index=frame.index, dtype=kinds[name])
        aligned.append(pd.DataFrame(cols, index=frame.index))
    return pd.concat(aligned)


# ---------------------------------------------------------------------------------- reader


class EvtxReader:
    """Reads one EVTX file in frames of ``chunk_rows`` records and keeps account of damage.

    Iterate over it for DataFrames (their index counts records across the whole file), or call
    :meth:`read` for one frame. Meanwhile ``problems`` collects every :class:`EvtxProblem`,
    ``records`` counts the records delivered; :meth:`summary` puts both in one line. At the
    end a ``HecDataWarning`` says what was lost (``errors="warn"``), nothing does
    (``"ignore"``), or an ``EventFileError`` is raised after the last frame (``"raise"``).
    A reader reads its file once.
    """

    def __init__(self, path: str | os.PathLike[str], *, chunk_rows: int = 10_000,
                 errors: str = "warn", validate_checksums: bool = False) -> None:
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ConfigError(f"chunk_rows must be a whole number of at least 1; got "
                              f"{chunk_rows!r}.")
        if errors not in _ERRORS:
            raise ConfigError(f"errors must be one of {', '.join(map(repr, _ERRORS))}; got "
                              f"{errors!r}.")
        self.path = os.fspath(path)
        self.chunk_rows = chunk_rows
        self.errors = errors
        self.validate_checksums = bool(validate_checksums)
        self._chunks = _inventory(self.path)
        self.problems: list[EvtxProblem] = []
        self.records = 0
        self.bad_records = 0
        self.done = False
        self._started = False
        ok = sorted((c for c in self._chunks if c.state == "ok" and c.size >= _CHUNK_HEADER),
                    key=lambda c: c.first_id)
        self._by_first = ok
        self._firsts = [c.first_id for c in ok]
        self._delivered = {c.index: 0 for c in self._chunks}
        self._record_errors = {c.index: 0 for c in self._chunks}
        self._failed_chunks: set[int] = set()
        self._stacklevel = 3  # the warning points at the caller's loop (read() adds one)

    @property
    def chunks(self) -> int:
        """Chunks in the file (64 KiB each; the last may be cut short)."""
        return len(self._chunks)

    @property
    def unreadable_chunks(self) -> int:
        """Chunks none of whose records could be read: wiped, overwritten or cut off."""
        return len(self._failed_chunks)

    @property
    def lost_records(self) -> int:
        """Records known to be lost (a damaged chunk that no longer says holds an unknown
        number more)."""
        return sum(p.lost for p in self.problems if p.lost)

    def __repr__(self) -> str:
        state = "read" if self.done else "reading" if self._started else "not read yet"
        return (f"<EvtxReader {self.path!r} {state}: {self.records:,} records, "
                f"{len(self.problems)} problems>")

    # -- reading -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self._started:
            raise RuntimeError("an EvtxReader reads its file once; call hecnb.iter_evtx(path) "
                               "again to read it again.")
        self._started = True
        return self._frames()

    def read(self) -> pd.DataFrame:
        """All records as one DataFrame (no records: an empty frame with no columns)."""
        self._stacklevel += 1
        frames = list(self)
        if not frames:
            return pd.DataFrame(index=pd.RangeIndex(0))
        return _concat(frames)

    def _parser(self) -> Any:
        try:
            import evtx
        except ImportError:
            raise ImportError("Reading EVTX files needs the evtx package: "
                              "pip install 'hecnb[evtx]' (or pip install evtx).") from None
        try:
            return evtx.PyEvtxParser(self.path, validate_checksums=self.validate_checksums)
        except (OSError, RuntimeError, ValueError) as exc:
            raise EventFileError(f"{self.path!r} cannot be read as EVTX: {exc}") from None

    def _frames(self) -> Iterator[pd.DataFrame]:
        parser = self._parser()
        records = parser.records_json()
        # a guard against a parser that keeps failing without moving on
        budget = 64 + len(self._chunks) * (_MAX_RECORDS_PER_CHUNK + 1)
        rows: list[dict[str, Any]] = []
        start = 0
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except RuntimeError as exc:
                self._parser_error(str(exc))
                budget -= 1
                if budget < 0:
                    self.problems.append(EvtxProblem(None, None, None, "the parser kept "
                                                     "failing without moving on; reading "
                                                     "stopped here"))
                    break
                continue
            rows.append(self._row(record))
            if len(rows) >= self.chunk_rows:
                yield _frame(rows, start)
                start += len(rows)
                rows = []
        if rows:
            yield _frame(rows, start)
        self._account()
        self.done = True
        self._conclude()

    def _row(self, record: dict[str, Any]) -> dict[str, Any]:
        data = record.get("data", "{}")
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:  # e.g. integers beyond 64 bits
            event = json.loads(data)
        row = flatten_record(event)
        rid = record.get("event_record_id")
        if "EventRecordID" not in row and isinstance(rid, int):
            row["EventRecordID"] = rid
        if "TimeCreated" not in row:  # fall back on the record header's time
            stamp = str(record.get("timestamp", "")).removesuffix(" UTC")
            if stamp:
                row["TimeCreated"] = stamp
        self.records += 1
        chunk = self._chunk_of(rid)
        if chunk is not None:
            self._delivered[chunk.index] += 1
        return row

    def _chunk_of(self, record_id: Any) -> _Chunk | None:
        if not isinstance(record_id, int) or not self._firsts:
            return None
        pos = bisect.bisect_right(self._firsts, record_id) - 1
        return self._by_first[pos] if pos >= 0 else None

    def _parser_error(self, message: str) -> None:
        chunk_match = _CHUNK_ERROR.match(message)
        if chunk_match:
            number = int(chunk_match.group(1))
            if 0 <= number < len(self._chunks) and self._chunks[number].state != "ok":
                return  # the inventory reports it, in plainer words
            self._failed_chunks.add(number)
            expected = self._chunks[number].expected if number < len(self._chunks) else None
            self.problems.append(EvtxProblem(number, None, expected,
                                             message[chunk_match.end():]))
            return
        record_match = _RECORD_ERROR.match(message)
        if record_match:
            rid = int(record_match.group(1))
            chunk = self._chunk_of(rid)
            if chunk is not None:
                self._record_errors[chunk.index] += 1
            self.bad_records += 1
            self.problems.append(EvtxProblem(chunk.index if chunk else None, rid, 1,
                                             message[record_match.end():]))
            return
        self.problems.append(EvtxProblem(None, None, None, message))

    def _account(self) -> None:
        """Compare what the chunk headers promise with what was delivered."""
        chunks = self._chunks
        last_used = max((c.index for c in chunks if c.state != "empty"), default=-1)
        damaged = False
        for c in chunks:
            if c.state == "bad":
                damaged = True
                self._failed_chunks.add(c.index)
                self.problems.append(EvtxProblem(
                    c.index, None, None, "no EVTX chunk header (the chunk is overwritten or "
                    "zeroed): its records cannot be read"))
            elif c.state == "empty" and c.index < last_used:
                damaged = True
                self._failed_chunks.add(c.index)
                self.problems.append(EvtxProblem(
                    c.index, None, None, "the chunk is all zeros (wiped): its records are "
                    "gone"))
            elif c.state == "empty" and c.size < CHUNK:
                continue  # zero padding at the end
            elif c.size < CHUNK:
                damaged = True
                got = self._delivered.get(c.index, 0)
                lost = c.expected - got if c.expected is not None else None
                if not got:
                    self._failed_chunks.add(c.index)
                self.problems.append(EvtxProblem(
                    c.index, None, lost, f"the file ends inside this chunk ({c.size:,} of "
                    f"{CHUNK:,} bytes): the file is truncated"))
            elif c.index in self._failed_chunks:
                damaged = True
            elif c.state == "ok":
                if not c.checksum_ok and not self.validate_checksums:
                    self.problems.append(EvtxProblem(
                        c.index, None, 0, "the chunk's data checksum does not match: its "
                        "records were read but some may be damaged (validate_checksums=True "
                        "skips such chunks)"))
                if c.expected is not None:
                    short = (c.expected - self._delivered[c.index]
                             - self._record_errors[c.index])
                    if short > 0:
                        damaged = True
                        self.problems.append(EvtxProblem(
                            c.index, None, short, f"{short:,} of the {c.expected:,} records "
                            "its header lists could not be read"))
        if damaged:  # records that no chunk header accounts for (those that do are counted
            # with their chunk's problem above)
            ok = [c for c in self._by_first if c.expected is not None]
            for prev, nxt in itertools.pairwise(ok):
                gap = nxt.first_id - prev.last_id - 1
                if 0 < gap <= len(chunks) * _MAX_RECORDS_PER_CHUNK:
                    self.problems.append(EvtxProblem(
                        None, None, gap, f"records {prev.last_id + 1}-{nxt.first_id - 1} "
                        f"({gap:,}) are in no readable chunk"))
        self.problems.sort(key=lambda p: (p.chunk is None, p.chunk or 0, p.record or 0))

    def summary(self) -> str | None:
        """One line on what could not be read (None when nothing was wrong), e.g.
        ``sysmon.evtx: 358 records read; 8 of 17 chunks unreadable (chunks 9-16: no chunk
        header, overwritten or zeroed)``."""
        if not self.problems:
            return None
        parts = [f"{self.records:,} records read"]
        failed = sorted(self._failed_chunks)
        if failed:
            why: dict[str, list[int]] = {}
            for p in self.problems:
                if p.chunk in self._failed_chunks and p.record is None:
                    why.setdefault(_short(p.reason), []).append(p.chunk)
            parts.append(f"{len(failed)} of {self.chunks} chunks unreadable ("
                         + "; ".join(f"{_ranges(nums, 'chunk')}: {text}"
                                     for text, nums in why.items()) + ")")
        if self.bad_records:
            where = [p.chunk for p in self.problems if p.record is not None]
            parts.append(f"{_count(self.bad_records, 'unreadable record')} "
                         f"(in {_ranges(where, 'chunk')})")
        shorts = [p for p in self.problems if p.chunk is not None and p.record is None
                  and p.chunk not in self._failed_chunks and p.lost]
        if shorts:
            parts.append(f"{_count(sum(p.lost or 0 for p in shorts), 'record')} missing from "
                         f"{_ranges([p.chunk for p in shorts], 'chunk')}")
        suspect = [p.chunk for p in self.problems if p.lost == 0]
        if suspect:
            parts.append(f"{_ranges(suspect, 'chunk')} read despite a wrong checksum "
                         "(some records may be damaged)")
        parts.extend(p.reason for p in self.problems if p.chunk is None and not p.lost)
        gaps = [p for p in self.problems if p.chunk is None and p.lost]
        lost = self.lost_records
        if lost:
            known = "at least " if failed else ""
            ids = ", ".join(p.reason.split(" (")[0].removeprefix("records ") for p in gaps)
            parts.append(f"{known}{_count(lost, 'record')} lost"
                         + (f" (record ids {ids})" if ids else ""))
        elif failed:
            parts.append("how many records the unreadable chunks held is unknown")
        return f"{os.path.basename(self.path)}: {'; '.join(parts)}"

    def _conclude(self) -> None:
        text = self.summary()
        if text is None or self.errors == "ignore":
            return
        if self.errors == "raise":
            raise EventFileError(f"{text}. Pass errors='warn' to read the readable records "
                                 "anyway.")
        warning = HecDataWarning(f"{text}. The reader's .problems list each one "
                                 "(hecnb.iter_evtx(path).problems).")
        warnings.warn(warning, stacklevel=self._stacklevel)


def _short(reason: str) -> str:
    """The gist of why a chunk is unreadable, for the one-line summary."""
    if reason.startswith("no EVTX chunk header"):
        return "no chunk header, overwritten or zeroed"
    if reason.startswith("the chunk is all zeros"):
        return "all zeros, wiped"
    if reason.startswith("the file ends inside"):
        return "the file ends inside it"
    return reason


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _ranges(numbers: list[Any], noun: str) -> str:
    """``chunks 9-16``, ``chunk 3``, ``chunks 2, 5-6``."""
    nums = sorted(set(numbers))
    spans: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        spans.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    plural = len(nums) > 1
    return f"{noun}{'s' if plural else ''} {', '.join(spans)}"


def iter_evtx(path: str | os.PathLike[str], *, chunk_rows: int = 10_000, errors: str = "warn",
              validate_checksums: bool = False) -> EvtxReader:
    """A Windows event log in DataFrames of at most ``chunk_rows`` records each.

    Memory stays bounded by ``chunk_rows`` whatever the file's size, so this is the way to
    send a large log. The returned :class:`EvtxReader` also counts and explains what could not
    be read (``.problems``, ``.summary()``, ``.unreadable_chunks``). Columns as
    :func:`read_evtx`.

    >>> reader = hecnb.iter_evtx("Security.evtx")                  # doctest: +SKIP
    >>> for frame in reader:                                        # doctest: +SKIP
    ...     hec.send(frame, timestamp_column="TimeCreated")
    >>> reader.problems                                             # doctest: +SKIP
    """
    return EvtxReader(path, chunk_rows=chunk_rows, errors=errors,
                      validate_checksums=validate_checksums)


def read_evtx(path: str | os.PathLike[str], *, errors: str = "warn",
              validate_checksums: bool = False) -> pd.DataFrame:
    """A Windows event log (``.evtx``) as a DataFrame, one row per record.

    Columns: ``TimeCreated`` (UTC datetime), ``EventID`` (int), ``Qualifiers``, ``Version``,
    ``Level``, ``Task``, ``Opcode``, ``Keywords``, ``EventRecordID``, ``ProviderName``,
    ``ProviderGuid``, ``EventSourceName``, ``Channel``, ``Computer``, ``ProcessID``,
    ``ThreadID``, ``UserID``, ``ActivityID``, ``RelatedActivityID`` (those the records have),
    then ``EventData.<Name>`` for each named ``Data`` element (unnamed ones: the list
    ``EventData.Data``; ``EventData.Binary``), ``UserData.<Element>.<Child>...`` and likewise
    for any other block. A damaged file is read as far as it can be: the readable records are
    returned and a ``HecDataWarning`` says what was lost (``errors="ignore"`` is silent,
    ``"raise"`` raises an ``EventFileError`` instead). ``validate_checksums=True`` skips
    chunks whose checksum does not match rather than reading them. Needs the ``evtx`` package
    (``pip install "hecnb[evtx]"``). For a file too large for memory use :func:`iter_evtx`.

    >>> events = hecnb.read_evtx("Security.evtx")                   # doctest: +SKIP
    >>> events.to_ngsiem(timestamp_column="TimeCreated")            # doctest: +SKIP
    """
    reader = EvtxReader(path, errors=errors, validate_checksums=validate_checksums)
    reader._stacklevel += 1
    return reader.read()
