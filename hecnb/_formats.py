"""Records -> request bytes per ingest format: a registry with one entry per format.

Every encoder has ``content_type``, ``overhead`` (bytes each body adds around its events),
``encode(record) -> bytes`` for one event, ``body(parts) -> bytes`` for a standalone request body
and ``encode_many(data) -> Iterator[(index, bytes, original)]`` for a DataFrame or records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._config import normalize_format
from ._errors import ConfigError
from ._payload import JsonEventEncoder

__all__ = ["ENCODERS", "make_encoder"]


class _JsonEncoder(JsonEventEncoder):
    overhead = 0

    def encode_many(self, data: Iterable[Any]) -> Iterator[tuple[int, bytes, Any]]:
        records = data.to_dict("records") if hasattr(data, "to_dict") and hasattr(
            data, "columns") else data
        for i, rec in enumerate(records):
            yield i, self.encode(rec), rec


#: format name -> factory(raw=..., timeunit=..., **options) returning an encoder.
ENCODERS: dict[str, Callable[..., Any]] = {"json": _JsonEncoder}


def make_encoder(ingest_format: str, *, raw: bool = False, timeunit: str = "nanoseconds",
                 **options: Any) -> Any:
    """The encoder for one format."""
    name = normalize_format(ingest_format)
    factory = ENCODERS.get(name)
    if factory is None:
        raise ConfigError(f"ingest_format={name!r} has no encoder registered.")
    if options:
        raise ConfigError(f"unknown conversion options: {', '.join(options)}")
    return factory(raw=raw, timeunit=timeunit)
