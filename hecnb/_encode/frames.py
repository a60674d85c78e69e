"""A DataFrame -> the bytes of its events, vectorised: ``FramePlan``.

The plan is built once per send and checks everything it can before the first event (columns,
options, dtypes, every object cell), so that a clear :class:`ConversionError` comes before
anything is sent. It decides which columns become which members (host, the event time,
``fields``, the row's values), has each column rendered a chunk at a time (``columns``) and
assembles the rows with a single ``bytes % tuple`` per row: no Python step per row.

Memory stays bounded whatever the frame's length: the check runs over blocks of
``BLOCK_ROWS`` rows, and each block is prepared again when its turn to be sent comes (what the
check learned that every block must share, such as a datetime column's fraction digits, is kept
per column; small results, such as the first blocks' times, are kept to save the work). No
array as long as the frame is made.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .._errors import ConversionError
from .._settings.names import TIMEUNITS
from .columns import Column, ColumnFacts, split_numbers
from .dialects import CsvDialect, Dialect, json_text, xml_name
from .envelope import hec_seconds
from .frametimes import FrameTimes
from .options import Options
from .timenotes import TimeNotes
from .values import member_name, native, show_labels

__all__ = ["BLOCK_ROWS", "CHUNK_ROWS", "FramePlan", "is_frame"]

#: Rows converted at a time: small enough to stay in the CPU caches (measured fastest),
#: bounds memory for big frames and lets sending start early.
CHUNK_ROWS = 8_192

#: Rows prepared at a time (dtype conversions, masks, Python strings of an Arrow column): a few
#: MB whatever the frame, and few enough blocks that preparing one costs little per row.
BLOCK_ROWS = 8 * CHUNK_ROWS

#: Rows whose times (8 bytes each) the check keeps for the send (8 MB), and rows of rendered
#: object cells (dicts, lists, mixed: about 100 bytes each) it keeps per column (13 MB).
KEEP_ROWS = 1_048_576
KEEP_OBJECT_ROWS = 2 * BLOCK_ROWS

_NP = orjson.OPT_SERIALIZE_NUMPY


@dataclass
class _Member:
    """One member of every event: a constant piece, or a column rendered per row."""

    opener: bytes = b""
    close: bytes = b""
    null: bytes = b""
    column: Any = None  # the label of the column rendered in this member, when one is
    const: bytes | None = None  # the whole member, same in every row
    time: bool = False  # the timestamp member: each row's time by the rule


@dataclass
class _Block:
    """Rows start:stop of the frame, prepared to be rendered: a Column per label, the times."""

    start: int
    columns: dict[Any, Column]
    ints: np.ndarray | None


class FramePlan:
    """A validated DataFrame and how each of its events is spelled in one format.

    Built once per send: all checks (columns, options, dtypes, every object cell) run here, so
    ``chunks()`` can only fail on things no check can see in advance.
    """

    def __init__(self, df: pd.DataFrame, options: Options, dialect: Dialect,
                 notes: TimeNotes | None = None) -> None:
        self.df = df
        self.options = options
        self.dialect = dialect
        self.n = len(df)
        self.now = time.time_ns() // options.divisor
        self.notes = notes if notes is not None else TimeNotes(options.time_rule,
                                                                      options.divisor)
        envelope = dialect.envelope
        self._check_unique(df)
        labels = list(df.columns)
        label_set = set(labels)
        opts = options
        for label in opts.columns or ():
            if label not in label_set:
                raise ConversionError(f"columns names {label!r}, which is not a column of the "
                                      f"frame ({show_labels(labels)}).", column=label)
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
                                      f"({show_labels(labels)}); pass a column name or a host name "
                                      "string.", column=opts.host)
        elif "host" in chosen:
            host_label = "host"
        if "host" in chosen and host_label != "host":
            self.notes.note(f"host={opts.host!r} was given, so it replaced the frame's 'host' "
                            "column as each event's host")
        # the event time: the rule, FalconPy's 'timestamp' only, or a named column
        self.times = FrameTimes(df, opts, self.now, self.notes)
        candidates, explicit = self.times.candidates, self.times.explicit
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
            const_fields = {member_name(k): native(v, False) for k, v in opts.fields.items()}
        elif opts.fields is not None:
            for label in opts.fields:
                if label not in label_set:
                    raise ConversionError(f"fields names {label!r}, which is not a column of "
                                          f"the frame ({show_labels(labels)}).", column=label)
            field_labels = list(opts.fields)
        event_labels = [c for c in chosen if c not in ("host", "timestamp")]
        if envelope:
            event_labels = [c for c in event_labels if c not in field_labels]
        else:
            event_labels += [c for c in field_labels if c not in event_labels]
        self.line_breaks_ok = not (dialect.name == "csv" and dialect.raw)
        self.facts: dict[Any, ColumnFacts] = {}

        def column(label: Any) -> Any:
            self.facts.setdefault(label, ColumnFacts(cache_rows=KEEP_OBJECT_ROWS))
            return label

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
        timed = bool(candidates)
        members.append(_Member(opener, close, time=timed,
                               const=None if timed else opener + str(self.now).encode() + close))
        names.append("timestamp")
        opener, close, _ = dialect.member("timeunit")
        members.append(_Member(const=opener + dialect.value(opts.timeunit) + close))
        names.append("timeunit")
        for label in event_labels:
            name = member_name(label)
            opener, close, null = dialect.member(name)
            members.append(_Member(opener, close, null, column(label)))
            names.append(name)
        self.fields_members: list[_Member] = []
        self.fields_const = b""
        if envelope:
            for label in field_labels:
                opener, close, null = dialect.member(member_name(label))
                self.fields_members.append(_Member(opener, close, null, column(label)))
            self._check_names([member_name(c) for c in field_labels], "fields")
            if const_fields:
                self.fields_const = b',"fields":' + json_text(const_fields)
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
        self._kept: dict[int, np.ndarray | None] = {}
        self._check_rows()

    # blocks ----------------------------------------------------------------------------------
    def _check_rows(self) -> None:
        """Check every row, a block at a time, before anything is sent: every cell that could
        fail, the event time (counted in the notes, once). Keeps the first blocks' times."""
        keep = KEEP_ROWS
        for start in range(0, max(self.n, 1), BLOCK_ROWS):  # an empty frame is checked too
            block = self.df.iloc[start:start + BLOCK_ROWS]
            for label, facts in self.facts.items():
                Column(block[label], label, self.dialect, line_breaks_ok=self.line_breaks_ok,
                       facts=facts, start=start, check=True)
            ints = self.times.block(block, self.notes)
            if keep >= len(block):
                keep -= len(block)
                self._kept[start] = ints

    def _block(self, start: int) -> _Block:
        """Rows start:start + BLOCK_ROWS prepared for rendering, with what the check learned."""
        block = self.df.iloc[start:start + BLOCK_ROWS]
        columns = {label: Column(block[label], label, self.dialect,
                                 line_breaks_ok=self.line_breaks_ok, facts=facts, start=start)
                   for label, facts in self.facts.items()}
        if start in self._kept:
            ints = self._kept.pop(start)
        else:  # counted once already, by the check
            ints = self.times.block(block, TimeNotes(self.options.time_rule,
                                                     self.options.divisor))
        return _Block(start, columns, ints)

    def _time_texts(self, block: _Block, start: int, stop: int) -> list[bytes]:
        """The envelope's ``time`` (epoch seconds, a JSON number) of the block's rows
        start:stop: whole seconds plus the fraction, as ``hec_seconds`` computes it for one
        event."""
        ups = TIMEUNITS[self.options.timeunit]
        if block.ints is None:
            return [orjson.dumps(hec_seconds(self.now, ups))] * (stop - start)
        ints = block.ints[start:stop]
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

    def _slots(self, members: list[_Member], block: _Block, start: int, stop: int) -> list[Any]:
        """Constant pieces (bytes) and per-row pieces (lists) for the block's rows start:stop
        (counted from the block's first row)."""
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
            if m.time:
                assert block.ints is not None
                slots += [m.opener, split_numbers(block.ints[start:stop], Dialect()), m.close]
                continue
            col = block.columns[m.column]
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

    def rows(self, block: _Block, start: int, stop: int) -> list[bytes]:
        """The encoded events of the block's rows start:stop (counted from its first row)."""
        n = stop - start
        if n <= 0:
            return []
        d = self.dialect
        if self.hec_time:
            slots = [b'{"time":', self._time_texts(block, start, stop), b',"event":{',
                     *self._slots(self.members, block, start, stop)]
        else:
            slots = [d.row_start(), *self._slots(self.members, block, start, stop)]
        if self.fields_members:
            inner = _assemble(self._slots(self.fields_members, block, start, stop), n)
            slots += [b"}", [b',"fields":{' + x[1:] + b"}" if x else b"" for x in inner],
                      self.fields_const + b"}\n"]
        elif self.fields_const:
            slots += [b"}" + self.fields_const + b"}\n"]
        else:
            slots.append(d.row_end())
        return _assemble(slots, n)

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[int, list[bytes], Iterable[Any]]]:
        """``(start, encoded events, index labels)`` per chunk of rows, a block prepared at a
        time."""
        index = self.df.index
        for first in range(0, self.n, BLOCK_ROWS):
            block = self._block(first)
            last = min(first + BLOCK_ROWS, self.n)
            for start in range(first, last, size):
                stop = min(start + size, last)
                labels = index[start:stop]
                if isinstance(labels, pd.RangeIndex):
                    shown: Iterable[Any] = range(labels.start, labels.stop, labels.step)
                elif labels.dtype.kind in "Mm":
                    shown = labels.to_numpy()
                else:
                    shown = labels.tolist()
                yield start, self.rows(block, start - first, stop - first), shown


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


def is_frame(data: Any) -> bool:
    """True for a pandas DataFrame."""
    return isinstance(data, pd.DataFrame)
