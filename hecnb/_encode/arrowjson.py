"""json for Arrow blocks, vectorised (to come): ``JsonBlocks.make`` gives None, so every
block takes the pandas path of ``arrowframes``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["JsonBlocks"]


class JsonBlocks:
    """The json events of a columnar input, rendered by Arrow kernels."""

    @staticmethod
    def make(encoder: Any, source: Any) -> JsonBlocks | None:
        """The fast path for this input and these options, or None where it does not apply."""
        return None

    def chunks(self, size: int) -> Iterator[tuple[Sequence[int], list[bytes], Iterable[Any]]]:
        """``(positions, event bytes, row positions)`` per chunk of ``size`` rows."""
        raise NotImplementedError  # pragma: no cover - make() gives no instance yet
