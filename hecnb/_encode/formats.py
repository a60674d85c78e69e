"""Records / DataFrames -> request bytes per ingest format: a registry, one entry per format.

Every encoder has ``content_type``, ``raw``, ``prefix`` / ``suffix`` (what each request body
carries around its events: the csv header, the xml prolog and document element) and
``overhead`` (their length), ``encode(record) -> bytes`` for one event, ``body(parts) -> bytes``
for a standalone request body, and ``encode_many(data) -> Iterator[(position, bytes,
original)]`` for a DataFrame, a list or an iterable of records. ``encode_many`` checks the data
before it returns, so a :class:`ConversionError` comes before the first event is sent.

The public entry points :func:`to_events` and :func:`encode` use the same encoders as
``HEC.send``, the DataFrame accessor, the magics and the CLI.
"""

from __future__ import annotations

import ast
import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .._errors import ConfigError, ConversionError
from .._settings.names import CONTENT_TYPES, normalize_format
from .arrowframes import columnar_chunks, columnar_items, is_columnar
from .dialects import DIALECTS, CsvDialect, Dialect
from .frames import CHUNK_ROWS, FramePlan, is_frame
from .frametimes import frame_times
from .jsonevents import JsonEventEncoder
from .options import Options, parse_options
from .records import KeyProblem, RecordConverter, records_of
from .timenotes import TimeNotes

__all__ = ["ENCODERS", "Encoder", "frame_time_notes", "make_encoder",
           "to_events"]

_XML_PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>\n<events>\n'
_XML_END = b"</events>\n"


class Encoder:
    """One ingest format's encoder (json, yaml, xml, csv). Made per send by ``make_encoder``."""

    format = "json"

    def __init__(self, *, raw: bool = False, timeunit: str = "nanoseconds",
                 **options: Any) -> None:
        self.options: Options = parse_options(timeunit, **options)
        self.raw = bool(raw)
        self.timeunit = self.options.timeunit
        self.content_type = CONTENT_TYPES[self.format]
        self.dialect: Dialect = DIALECTS[self.format](raw=self.raw)
        self.prefix = b""
        self.suffix = b""
        #: what the event-time rule did, for the report (see ``timenotes.TimeNotes``)
        self.notes = TimeNotes(self.options.time_rule, self.options.divisor)
        self._records = RecordConverter(self.options, self.dialect, self.notes)

    @property
    def overhead(self) -> int:
        """Bytes each request body adds around its events (counted against batch_max_bytes)."""
        return len(self.prefix) + len(self.suffix)

    def body(self, parts: list[bytes]) -> bytes:
        """A standalone request body: prefix + the events + suffix."""
        return self.prefix + b"".join(parts) + self.suffix

    # one event ---------------------------------------------------------------------------------
    def envelope(self, evt: Any) -> Any:
        """FalconPy's ``format_event``: the JSON envelope of ``evt``, whatever the format."""
        choice = self.options.timestamp_column
        return JsonEventEncoder(timeunit=self.timeunit, raw=self.raw,
                                timestamp_column=choice if choice is None else "auto",
                                hec_time=self.options.hec_time).envelope(evt)

    def encode(self, record: Any) -> bytes:
        """The bytes of one event (with its line ending)."""
        return self._render(record, time.time_ns() // self.options.divisor, None)

    # many events -------------------------------------------------------------------------------
    def encode_many(self, data: Any) -> Iterator[tuple[int, bytes, Any]]:
        """``(position, event bytes, original)`` for every row or record of ``data``.

        ``original`` is the row's index label for a DataFrame and the record itself otherwise.
        Checks run before this returns: a bad frame or list raises ConversionError here.
        """
        if is_frame(data):
            plan = self._plan(data)
            return _frame_items(plan)
        if is_columnar(data):  # Polars, Arrow, Parquet: blocks of rows
            return columnar_items(self, data, CHUNK_ROWS)
        records = records_of(data)
        if isinstance(records, Sequence):
            return iter(self._encode_list(records))
        return self._encode_stream(records)

    def encode_chunks(self, data: Any) -> Iterator[tuple[Sequence[int], list[bytes], Any]]:
        """Like :meth:`encode_many`, in chunks ``(positions, event bytes, originals)``: what
        the sender consumes (no Python step per row on the DataFrame path)."""
        if is_frame(data):
            plan = self._plan(data)
            return ((range(start, start + len(rows)), rows, labels)
                    for start, rows, labels in plan.chunks(CHUNK_ROWS))
        if is_columnar(data):
            return columnar_chunks(self, data, CHUNK_ROWS)
        return _chunked(self.encode_many(data))

    def _plan(self, df: Any) -> FramePlan:
        """The frame's plan; a column name that cannot be UTF-8 is refused first (xml writes
        any name as an element name, so there it is not a problem)."""
        if self.format != "xml":
            for label in df.columns:
                if _has_surrogate(label):
                    raise ConversionError(
                        f"column {label!r}: the name contains a lone surrogate (not valid "
                        "Unicode); rename the column. Nothing was sent.", column=label)
        plan = FramePlan(df, self.options, self.dialect, self.notes)
        self._frame_started(plan)
        return plan

    def _frame_started(self, plan: FramePlan) -> None:
        """Hook for formats whose body depends on the data (csv: the header)."""

    def _encode_list(self, records: Sequence[Any]) -> list[tuple[int, bytes, Any]]:
        now = time.time_ns() // self.options.divisor
        return [(i, self._one(rec, i, now), rec) for i, rec in enumerate(records)]

    def _encode_stream(self, records: Iterator[Any]) -> Iterator[tuple[int, bytes, Any]]:
        now = time.time_ns() // self.options.divisor
        for i, rec in enumerate(records):
            yield i, self._one(rec, i, now), rec

    def _one(self, record: Any, position: int, now: int) -> bytes:
        return self._render(record, now, position)

    def _render(self, record: Any, now: int, position: int | None) -> bytes:
        """One record's bytes; a failure names the record when its position is known."""
        try:
            event, fields = self._records.event(record, now)
        except ConversionError:
            raise
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise _record_error(exc, position, self.format) from None
        try:
            return self._records.render(event, fields)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise _record_error(exc, position, self.format, event) from None  # what was written


_SURROGATE = "a string contains a lone surrogate (not valid Unicode)"
_TWICE = "two members would both be called "


def _has_surrogate(value: Any) -> bool:
    """True when a string in ``value`` (keys included) holds a lone surrogate."""
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, Mapping):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_has_surrogate(v) for v in value)
    return False


def _csv_header(names: list[str]) -> bytes:
    """The csv header; a name that cannot be UTF-8 is a KeyProblem naming it."""
    try:
        return CsvDialect.header(names)
    except UnicodeEncodeError:
        bad = next(n for n in names if _has_surrogate(n))
        raise KeyProblem(bad, TypeError(_SURROGATE)) from None


def _record_error(exc: BaseException, position: int | None, fmt: str,
                  record: Any = None) -> ConversionError:
    """The ConversionError for a record: it names the record and, when one key is the
    problem, the key (``.column``), as a frame names the column and row."""
    if not isinstance(exc, KeyProblem) and "surrogate" in str(exc) and isinstance(
            record, Mapping):  # found in the whole event: say which key holds it
        key = next((k for k, v in record.items() if _has_surrogate(k) or _has_surrogate(v)),
                   None)
        if key is not None:
            exc = KeyProblem(str(key), TypeError(_SURROGATE))
    elif not isinstance(exc, KeyProblem) and _TWICE in str(exc):  # 0 and "0": name it
        exc = KeyProblem(ast.literal_eval(str(exc).split(_TWICE, 1)[1]), exc)
    key = exc.key if isinstance(exc, KeyProblem) else None
    if position is None:
        return ConversionError(f"event cannot be encoded as {fmt}: {exc}.", column=key)
    return ConversionError(f"record {position} cannot be encoded as {fmt}: {exc}. Nothing "
                           "was sent.", column=key, row=position)


def _chunked(items: Iterator[tuple[int, bytes, Any]]
             ) -> Iterator[tuple[Sequence[int], list[bytes], Any]]:
    """Group ``(position, bytes, original)`` items into chunks of CHUNK_ROWS."""
    while True:
        block = list(itertools.islice(items, CHUNK_ROWS))
        if not block:
            return
        positions, parts, originals = zip(*block, strict=True)
        yield positions, list(parts), originals


def _frame_items(plan: FramePlan) -> Iterator[tuple[int, bytes, Any]]:
    """The items of every chunk, chained at C speed (no Python frame per row)."""
    return itertools.chain.from_iterable(
        zip(range(start, start + len(rows)), rows, labels, strict=True)
        for start, rows, labels in plan.chunks(CHUNK_ROWS))


class JsonEncoder(Encoder, JsonEventEncoder):
    """JSON envelopes (FalconPy's shape); raw mode: one ``{"event": {...}}`` line per event.

    Without converter options, ``encode`` and ``envelope`` are exactly FalconPy's per-event
    rules (``JsonEventEncoder``); a DataFrame always takes the vectorised path.
    """

    format = "json"

    def __init__(self, *, raw: bool = False, timeunit: str = "nanoseconds",
                 **options: Any) -> None:
        Encoder.__init__(self, raw=raw, timeunit=timeunit, **options)
        opts = self.options
        JsonEventEncoder.__init__(
            self, timeunit=opts.timeunit, raw=self.raw, hec_time=opts.hec_time,
            timestamp_column=opts.timestamp_column if opts.plain else "auto", notes=self.notes)

    def envelope(self, evt: Any) -> Any:
        """FalconPy's ``format_event`` for ``evt``."""
        return JsonEventEncoder.envelope(self, evt)

    def encode(self, record: Any) -> bytes:
        """The bytes of one event: FalconPy's envelope rules unless options were given."""
        if self.options.plain:
            return JsonEventEncoder.encode(self, record)
        return Encoder.encode(self, record)

    def encode_list(self, records: list[Any]) -> list[bytes]:
        """``encode`` for many records (the sender's hot loop)."""
        if self.options.plain:
            return JsonEventEncoder.encode_list(self, records)
        return [Encoder.encode(self, r) for r in records]

    def _one(self, record: Any, position: int, now: int) -> bytes:
        if not self.options.plain:
            return Encoder._one(self, record, position, now)
        try:
            return JsonEventEncoder.encode(self, record)
        except ConversionError as exc:
            raise ConversionError(f"record {position}: {exc} Nothing was sent.",
                                  column=exc.column, row=position) from None


class YamlEncoder(Encoder):
    """One flow-style YAML document per event (``--- {...}``); raw mode: ``{...}`` per line."""

    format = "yaml"


class XmlEncoder(Encoder):
    """``<event>...</event>`` per event; a body is a whole document (prolog + ``<events>``).

    Raw mode: one ``<event>`` element per line and no document around them.
    """

    format = "xml"

    def __init__(self, *, raw: bool = False, timeunit: str = "nanoseconds",
                 **options: Any) -> None:
        super().__init__(raw=raw, timeunit=timeunit, **options)
        if not self.raw:
            self.prefix, self.suffix = _XML_PROLOG, _XML_END


class CsvEncoder(Encoder):
    """RFC 4180 rows; every body starts with the header. Raw mode: rows only, no header.

    The header comes from the data: a frame's columns, or the keys of all records of a list (an
    iterable is read whole for that). ``encode`` alone takes the header from its first record.
    """

    format = "csv"

    def _frame_started(self, plan: FramePlan) -> None:
        self._set_header(plan.header())

    def _set_header(self, header: bytes) -> None:
        if not self.raw:
            self.prefix = header

    def encode(self, record: Any) -> bytes:
        """One row; the first record fixes the header for the ones after it."""
        had = self._records.header is not None
        out = super().encode(record)
        if not had and self._records.header is not None:
            try:
                self._set_header(_csv_header(self._records.header))
            except KeyProblem as exc:
                raise _record_error(exc, None, "csv") from None
        return out

    def _encode_list(self, records: Sequence[Any]) -> list[tuple[int, bytes, Any]]:
        now = time.time_ns() // self.options.divisor
        events = []
        names: dict[str, None] = {}
        for i, rec in enumerate(records):
            try:
                event, fields = self._records.event(rec, now)
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                raise _record_error(exc, i, "csv") from None
            names.update(dict.fromkeys(event))
            events.append((event, fields))
        self._records.header = list(names)
        try:
            self._set_header(_csv_header(self._records.header))
        except KeyProblem as exc:  # the first record with that key
            first = next(i for i, (event, _) in enumerate(events) if exc.key in event)
            raise _record_error(exc, first, "csv") from None
        out = []
        for i, (rec, (event, fields)) in enumerate(zip(records, events, strict=True)):
            try:
                out.append((i, self._records.render(event, fields), rec))
            except (TypeError, ValueError) as exc:
                raise _record_error(exc, i, "csv", event) from None
        return out

    def _encode_stream(self, records: Iterator[Any]) -> Iterator[tuple[int, bytes, Any]]:
        return iter(self._encode_list(list(records)))


#: format name -> factory(raw=..., timeunit=..., **options) returning an encoder.
ENCODERS: dict[str, Callable[..., Encoder]] = {
    "json": JsonEncoder, "yaml": YamlEncoder, "xml": XmlEncoder, "csv": CsvEncoder,
}


def make_encoder(ingest_format: str, *, raw: bool = False, timeunit: str = "nanoseconds",
                 **options: Any) -> Encoder:
    """The encoder for one format, with converter options checked.

    Options: ``host`` (a value, or a column), ``timestamp_column``, ``timeunit``, ``fields`` (a
    dict, or columns to move into ``fields``), ``columns`` (to keep), ``na`` ('drop' | 'null').
    An unknown option is a ConfigError that lists the allowed ones.
    """
    name = normalize_format(ingest_format)
    factory = ENCODERS.get(name)
    if factory is None:
        raise ConfigError(f"ingest_format={name!r} has no encoder registered.")
    return factory(raw=raw, timeunit=timeunit, **options)


def to_events(data: Any, ingest_format: str = "json", *, raw: bool = False,
              timeunit: str = "nanoseconds", **options: Any) -> list[bytes]:
    r"""The encoded events of ``data``, one bytes item per event, exactly as they travel.

    ``data`` is a DataFrame (pandas or Polars, a LazyFrame, an Arrow table, record batch or
    reader, ``hecnb.read_parquet(path)``), a list of dicts or an iterable of dicts. Each item
    is one JSON envelope line, YAML document, XML ``<event>`` element or CSV row (see
    :func:`encode` for whole request bodies, with the csv header and the xml document around
    them).

    >>> import hecnb
    >>> hecnb.to_events([{"user": "alice", "timestamp": 1}], host="lab")
    [b'{"event":{"host":"lab","timestamp":1,"timeunit":"nanoseconds","user":"alice"}}\n']
    """
    enc = make_encoder(ingest_format, raw=raw, timeunit=timeunit, **options)
    return [part for _, part, _ in enc.encode_many(data)]


def frame_time_notes(df: Any, *, timeunit: str = "nanoseconds", **options: Any) -> TimeNotes:
    """What the event-time rule makes of a whole frame (which column, how many rows fall
    back, warnings), without encoding it: for previews of the first rows of a big frame."""
    opts = parse_options(timeunit, **options)
    notes = TimeNotes(opts.time_rule, opts.divisor)
    frame_times(df, opts, time.time_ns() // opts.divisor, notes)
    return notes
