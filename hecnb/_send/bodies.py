"""The request bodies a send would post, made without sending: ``hecnb.encode`` and the
previews and dry runs. The same encoder and the same :class:`~hecnb._send.batching.Batcher` as a
send, so a body shown is a body that would go.
"""

from __future__ import annotations

from typing import Any

from .._encode.formats import make_encoder
from .._encode.timenotes import TimeNotes
from .._settings.names import DEFAULT_BATCH_MAX_BYTES
from .batching import Batcher

__all__ = ["encode", "encode_noted"]


def encode(data: Any, ingest_format: str = "json", *, raw: bool = False,
           timeunit: str = "nanoseconds", batch_max_bytes: int = DEFAULT_BATCH_MAX_BYTES,
           batch_max_events: int | None = None, **options: Any) -> list[bytes]:
    r"""The request bodies (before gzip) ``HEC.send`` would post for ``data``.

    Split by the same byte and event limits as a send; every body stands on its own (each csv
    body has its header, each xml body is a whole document).

    >>> import pandas as pd, hecnb
    >>> hecnb.encode(pd.DataFrame({"ip": ["10.0.0.1"], "timestamp": [1]}), "csv", host="fw1")
    [b'"host","timestamp","timeunit","ip"\r\n"fw1",1,"nanoseconds","10.0.0.1"\r\n']
    """
    return encode_noted(data, ingest_format, raw=raw, timeunit=timeunit,
                        batch_max_bytes=batch_max_bytes, batch_max_events=batch_max_events,
                        **options)[0]


def encode_noted(data: Any, ingest_format: str = "json", *, raw: bool = False,
                 timeunit: str = "nanoseconds", batch_max_bytes: int = DEFAULT_BATCH_MAX_BYTES,
                 batch_max_events: int | None = None, **options: Any
                 ) -> tuple[list[bytes], TimeNotes | None]:
    """:func:`encode`, and what the event-time rule did (None when no rule applied: raw
    text lines, ready envelopes) for previews and dry runs."""
    enc = make_encoder(ingest_format, raw=raw, timeunit=timeunit, **options)
    items = enc.encode_many(data)
    batcher = Batcher(batch_max_bytes, batch_max_events, assemble=enc.body,
                      overhead=enc.overhead)
    bodies = []
    for index, part, original in items:
        batch = batcher.add(index, part, original)
        if batch is not None:
            bodies.append(batch.body())
    last = batcher.flush()
    if last is not None:
        bodies.append(last.body())
    notes = enc.notes
    return bodies, (notes if notes.events else None)
