"""Records -> request bytes per ingest format: a registry with one entry per format.

json (and raw lines) are here now; yaml, xml and csv encoders register in the same table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._config import normalize_format
from ._errors import ConfigError
from ._payload import JsonEventEncoder

__all__ = ["ENCODERS", "event_encoder"]

#: format name -> factory(raw=..., timeunit=...) returning an encoder.
ENCODERS: dict[str, Callable[..., Any]] = {"json": JsonEventEncoder}


def event_encoder(ingest_format: str, *, raw: bool = False, timeunit: str = "nanoseconds") -> Any:
    """The encoder for one format; raw mode sends JSON lines whatever the format."""
    name = normalize_format(ingest_format)
    factory = ENCODERS.get(name)
    if factory is None:
        raise ConfigError(f"ingest_format={name!r} has no encoder registered.")
    return factory(raw=raw, timeunit=timeunit)
