"""gzip for request bodies: ISA-L (``isal``) when installed, else the standard library's zlib.

ISA-L's level 1 compresses event data about five times faster than zlib's level 1, to about
the same size (measured in docs/benchmarks.md); the output is ordinary gzip either way, so the
collector cannot tell which one made it.
"""

from __future__ import annotations

import gzip
import types
import zlib
from typing import IO, Any

_igzip: types.ModuleType | None
_isal_zlib: types.ModuleType | None
try:  # an accelerator, not a requirement: wheels exist for the common platforms only
    from isal import igzip as _igzip
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - depends on the platform
    _igzip = _isal_zlib = None

__all__ = ["BACKEND", "GZIP_ERRORS", "gzip_compress", "gzip_reader"]

#: What reading a damaged gzip stream can raise, whichever library reads it.
GZIP_ERRORS: tuple[type[BaseException], ...] = (EOFError, gzip.BadGzipFile, zlib.error) + (
    (_isal_zlib.error,) if _isal_zlib is not None else ())

BACKEND = "isal" if _igzip is not None else "zlib"
_ISAL_MAX_LEVEL = 3


def gzip_compress(data: bytes, level: int = 1) -> bytes:
    """One gzip member holding ``data`` (mtime 0, so equal input gives equal output)."""
    if _igzip is not None:
        packed: bytes = _igzip.compress(data, compresslevel=min(level, _ISAL_MAX_LEVEL), mtime=0)
        return packed
    return gzip.compress(data, compresslevel=level, mtime=0)


def gzip_reader(fileobj: IO[bytes]) -> Any:
    """A binary reader that inflates a gzip stream (all members) from ``fileobj``."""
    if _igzip is not None:
        return _igzip.IGzipFile(fileobj=fileobj, mode="rb")
    return gzip.GzipFile(fileobj=fileobj, mode="rb")
