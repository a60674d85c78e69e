"""The input as chunks of encoded events: a list sliced, an iterator read in blocks, or chunks
already encoded (DataFrames, files); what an interrupt or a stop left unread, for the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from .._errors import ConversionError
from .._report.report import FailedEvent
from .._settings.names import MAX_EVENT_BYTES


class BodyFormat(Protocol):
    """What the engine needs from a format: one event -> bytes, and parts -> a request body."""

    content_type: str

    def encode(self, evt: Any) -> bytes: ...

    def body(self, parts: list[bytes]) -> bytes: ...


CHUNK = 2048


class _Chunks:
    """The input as chunks ``(indices, event bytes, originals, failures)``.

    ``current`` holds the ``(index, event)`` pairs taken from the input but not yet placed, so
    an interrupt or an exception from the user's iterator loses none of them; ``position`` is
    the input position after the last chunk handed out.
    """

    def __init__(self, events: Iterable[Any], encoder: BodyFormat, *, indexed: bool,
                 encoded: bool) -> None:
        self.events = events
        self.encoder = encoder
        self.indexed = indexed
        self.encoded = encoded
        self.current: list[tuple[Any, ...]] | None = None
        self.current_chunk: Any = None  # encoded: the chunk taken but not yet placed
        self.chunks_taken = 0
        self.position = 0

    def __iter__(self) -> Iterator[tuple[Sequence[int], list[bytes], Sequence[Any],
                                         list[FailedEvent]]]:
        if self.encoded:
            for chunk in self.events:
                self.current_chunk = chunk
                self.chunks_taken += 1
                indices, parts, originals = chunk
                self.position = indices[-1] + 1 if len(indices) else self.position
                yield indices, parts, originals, []
            return
        for indices, values, originals in self._blocks():
            yield self._encode(indices, values, originals)

    def _blocks(self) -> Iterator[tuple[Sequence[int], Sequence[Any], Sequence[Any]]]:
        """``(indices, events to encode, originals to report)`` per chunk of the input."""
        events = self.events
        if isinstance(events, Sequence) and not self.indexed:  # a list: slices, nothing per event
            for start in range(0, len(events), CHUNK):
                values = events[start:start + CHUNK]
                self.position = start + len(values)
                yield range(start, self.position), values, values
            return
        it = iter(events)
        start = 0
        while True:
            block: list[tuple[Any, ...]] = []
            self.current = block  # kept until placed: an interrupt loses none of them
            if self.indexed:
                for pair in it:
                    block.append(pair)
                    if len(block) == CHUNK:
                        break
            else:
                for evt in it:
                    block.append((start + len(block), evt))
                    if len(block) == CHUNK:
                        break
            if not block:
                self.current = None
                return
            start += len(block)
            values = [p[1] for p in block]
            # (index, event, original): what to report may differ from what is encoded
            originals = [p[-1] for p in block] if len(block[0]) == 3 else values
            self.position = block[-1][0] + 1
            yield [p[0] for p in block], values, originals

    def _encode(self, indices: Sequence[int], values: Sequence[Any], originals: Sequence[Any]
                ) -> tuple[Sequence[int], list[bytes], Sequence[Any], list[FailedEvent]]:
        """Encode a chunk; events that cannot be encoded become failures, the rest go on."""
        encode_list = getattr(self.encoder, "encode_list", None)
        try:
            if encode_list is not None:
                return indices, encode_list(values), originals, []
            return indices, [self.encoder.encode(e) for e in values], originals, []
        except ConversionError:
            pass
        parts, keep_i, keep_o, failures = [], [], [], []
        for i, e, o in zip(indices, values, originals, strict=True):
            try:
                parts.append(self.encoder.encode(e))
            except ConversionError as exc:
                failures.append(FailedEvent(i, o, f"not sent: {exc}"))
            else:
                keep_i.append(i)
                keep_o.append(o)
        return keep_i, parts, keep_o, failures


def _unreached(events: Iterable[Any], producer: _Chunks, placed: int, reason: str, *,
               encoded: bool, indexed: bool) -> list[FailedEvent]:
    """The events of a list the run never reached (a permanent failure stopped it), listed as
    failed with ``reason``; chunks already encoded keep their bytes, for a resend. The rest of
    a file (``report.unread``), a DataFrame (the caller) or a generator (never read further)
    is not listed here."""
    if not isinstance(events, Sequence):
        return []
    if encoded:
        return [FailedEvent(i, o, reason, payload=p)
                for idxs, parts, origs in events[producer.chunks_taken:]
                for i, p, o in zip(idxs, parts, origs, strict=True)]
    if indexed:
        return []
    return [FailedEvent(i, events[i], reason) for i in range(placed, len(events))]


def _drop_oversize(indices: Sequence[int], parts: list[bytes], originals: Sequence[Any]
                   ) -> tuple[list[int], list[bytes], list[Any], list[FailedEvent]]:
    """Set aside events over the collector's per-event limit (they are never sent)."""
    keep_i, keep_p, keep_o, too_big = [], [], [], []
    for i, p, o in zip(indices, parts, originals, strict=True):
        if len(p) > MAX_EVENT_BYTES:
            too_big.append(FailedEvent(i, o, f"not sent: the event is larger than the "
                                       f"collector's {MAX_EVENT_BYTES:,}-byte limit per event; "
                                       "trim or split it"))
        else:
            keep_i.append(i)
            keep_p.append(p)
            keep_o.append(o)
    return keep_i, keep_p, keep_o, too_big


def _precheck(events: Sequence[Any]) -> None:
    """Fail fast, before anything is sent, on an item that can never be an event."""
    from .._encode.payload import IngestPayload

    ok = (dict, str, bytes, bytearray, IngestPayload)
    bad = {t for t in set(map(type, events))  # one look per type, not per event
           if not issubclass(t, ok) and not hasattr(t, "keys")}
    if not bad:
        return
    i = next(i for i, evt in enumerate(events) if type(evt) in bad)
    raise ConversionError(
        f"event {i} is a {type(events[i]).__name__}: events must be dicts, strings or "
        "IngestPayload objects. Nothing was sent.", row=i)
