"""What a send would post, without sending: ``df.to_ngsiem.preview()``, ``%%hec_send
--dry-run`` and ``ddf.to_ngsiem.preview()`` all ask this one function; ``df.to_ngsiem.events()``
asks :func:`frame_events`.

The format, raw mode, time unit, ``hec_time`` and batch limits are those of the client given,
else of the session default, else json on the event endpoint. A preview encodes the first
``n`` events; a dry run (``whole=True``) encodes the data once, in full, to count the requests,
keeping only the first ``n`` events' bytes.
"""

from __future__ import annotations

import html
from typing import Any

from ._errors import ConfigError
from ._hec import HEC
from ._lazy import is_columnar, is_frame
from ._session import current
from ._settings.names import DEFAULT_BATCH_MAX_BYTES

__all__ = ["Preview", "frame_events", "preview"]


class Preview(str):
    """The exact text of one request (``print`` it, or use it as the str it is), which also
    says where each event's time comes from (``.event_time``, ``.warnings``); after a dry run
    also how many events and requests the whole send would make, and to where."""

    event_time: str
    warnings: tuple[str, ...]
    events: int | None
    shown: int
    requests: int | None
    url: str | None
    ingest_format: str
    raw: bool

    def __new__(cls, text: str, event_time: str = "", warnings: tuple[str, ...] = (), *,
                events: int | None = None, shown: int = 0, requests: int | None = None,
                url: str | None = None, ingest_format: str = "json",
                raw: bool = False) -> Preview:
        self = super().__new__(cls, text)
        self.event_time, self.warnings = event_time, warnings
        self.events, self.shown, self.requests = events, shown, requests
        self.url, self.ingest_format, self.raw = url, ingest_format, raw
        return self

    @property
    def text(self) -> str:
        """The request body's text (the str itself)."""
        return str.__str__(self)

    def summary(self) -> str:
        """A dry run's sentence: how many events in how many requests, to where, their time."""
        if self.requests is None:
            return ""
        events = self.events or 0
        where = self.url or "(no destination configured yet)"
        mode = "raw" if self.raw else self.ingest_format
        time = f" {self.event_time[0].upper()}{self.event_time[1:]}." if self.event_time \
            else ""
        warned = "".join(f" WARNING: {w}." for w in self.warnings)
        return (f"Dry run: {events:,} {_plural(events, 'event')} would be sent in "
                f"{self.requests:,} {_plural(self.requests, 'request')} to {where} ({mode}); "
                f"nothing was sent.{time}{warned} First request body, first "
                f"{self.shown:,} {_plural(self.shown, 'event')}:")

    def _header(self) -> list[str]:
        if self.requests is not None:
            return [self.summary()]
        lines = [self.event_time[0].upper() + self.event_time[1:]] if self.event_time else []
        return lines + [f"WARNING: {w}" for w in self.warnings]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("\n".join([*(f"# {line}" for line in self._header()), self.text]))

    def _repr_html_(self) -> str:
        head = "".join(f"<div><b>{html.escape(line)}</b></div>" for line in self._header())
        return f"<div class='hecnb-preview'>{head}<pre>{html.escape(self.text)}</pre></div>"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"



def _defaults(client: HEC | None, ingest_format: str | None, raw_ingest: bool | None,
              options: dict[str, Any]) -> tuple[str, bool]:
    """The format and raw mode of ``client`` (else json, the event endpoint) where not given;
    its time unit and ``hec_time`` put into ``options`` where not given."""
    fmt = ingest_format or (client.ingest_format if client is not None else "json")
    raw = bool(raw_ingest if raw_ingest is not None else (
        client.raw_ingest if client is not None else False))
    options.setdefault("timeunit", client.ingest_timeunit if client is not None else
                       "nanoseconds")
    options.setdefault("hec_time", client.hec_time if client is not None else True)
    return fmt, raw


def frame_events(data: Any, *, hec: HEC | None = None, ingest_format: str | None = None,
                 raw_ingest: bool | None = None, **options: Any) -> list[bytes]:
    """Every event of ``data`` encoded, exactly as it would travel (one item per event), in the
    format of ``hec`` or the session default where not given."""
    from ._encode.formats import to_events

    fmt, raw = _defaults(hec if hec is not None else current(), ingest_format, raw_ingest,
                         options)
    return to_events(data, fmt, raw=raw, **options)


def _head(data: Any, n: int) -> Any:
    if is_frame(data):
        return data.head(n)
    if is_columnar(data):  # the first n rows, read from the first block only
        from ._encode.arrowframes import ArrowInput

        source = ArrowInput(data, rows=max(n, 1))
        return next(source.blocks(), source.empty()).slice(0, n)
    if isinstance(data, dict):
        return [data]
    return list(data[:n])


def preview(data: Any, n: int = 3, *, hec: HEC | None = None, ingest_format: str | None = None,
            raw_ingest: bool | None = None, whole: bool = False, **options: Any) -> Preview:
    """The text the first request would carry for the first ``n`` events of ``data`` (a
    DataFrame, a list of dicts, a dict), before gzip; ``whole=True`` also counts the events and
    requests of the whole send (one encoding pass)."""
    from ._encode.formats import frame_time_notes, make_encoder
    from ._send.batching import Batcher
    from ._send.bodies import encode_noted

    if type(data).__name__ == "RecordBatchReader" and type(data).__module__.startswith(
            "pyarrow"):
        # a glance must not use the data up: the send after it would find nothing to send
        raise ConfigError("A pyarrow.RecordBatchReader can be read only once, so a preview or "
                          "dry run would use it up and the send after it would send nothing. "
                          "Preview a Table instead (reader.read_all(), or the first batches: "
                          "pyarrow.Table.from_batches([reader.read_next_batch()])), or send it "
                          "without a preview.")
    client = hec if hec is not None else current()
    fmt, raw = _defaults(client, ingest_format, raw_ingest, options)
    max_bytes = client.batch_max_bytes if client is not None else DEFAULT_BATCH_MAX_BYTES
    max_events = client.batch_max_events if client is not None else None
    n = max(0, int(n))
    if not whole:
        bodies, head_notes = encode_noted(_head(data, n), fmt, raw=raw, batch_max_bytes=max_bytes,
                                          batch_max_events=max_events, **options)
        text = "".join(body.decode("utf-8") for body in bodies)
        if is_frame(data):  # the time is judged on the whole frame, without encoding it
            notes = frame_time_notes(data, **{k: v for k, v in options.items()
                                              if k in ("timeunit", "timestamp_column")})
            warnings = notes.all_warnings()
            warnings += [w for w in (head_notes.warnings if head_notes is not None else [])
                         if w not in warnings]
            return Preview(text, notes.summary(), tuple(warnings), ingest_format=fmt, raw=raw)
        return Preview(text, head_notes.summary() if head_notes is not None else "",
                       tuple(head_notes.all_warnings()) if head_notes is not None else (),
                       ingest_format=fmt, raw=raw)
    enc = make_encoder(fmt, raw=raw, **options)
    batcher = Batcher(max_bytes, max_events, assemble=enc.body, overhead=enc.overhead)
    first: list[bytes] = []
    total = requests = 0
    for index, part, original in enc.encode_many(data):
        total += 1
        if len(first) < n:
            first.append(part)
        requests += batcher.add(index, part, original) is not None
    requests += batcher.flush() is not None
    noted = enc.notes if enc.notes.events else None
    url = None
    if client is not None:
        url = client.raw_ingest_url if raw else client.ingest_url
    return Preview(enc.body(first).decode("utf-8") if first else "",
                   noted.summary() if noted is not None else "",
                   tuple(noted.all_warnings()) if noted is not None else (),
                   events=total, shown=len(first), requests=requests, url=url,
                   ingest_format=fmt, raw=raw)
