"""Pure batching: encoded events -> request bodies within byte and count limits.

Events keep their input position (``indices``) and the object the user handed in (``originals``)
so that any outcome can be reported per event. A batch can split itself for a 413 answer.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

__all__ = ["Batch", "Batcher"]


@dataclass(eq=False)
class Batch:
    """Events that travel in one request."""

    seq: int
    indices: list[int] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)
    originals: list[Any] = field(default_factory=list)
    size: int = 0
    assemble: Callable[[list[bytes]], bytes] = b"".join

    def __len__(self) -> int:
        return len(self.parts)

    def body(self) -> bytes:
        """The request body (before compression)."""
        return self.assemble(self.parts)

    def _slice(self, seq: int, start: int, stop: int | None) -> Batch:
        parts = self.parts[start:stop]
        return Batch(seq, self.indices[start:stop], parts, self.originals[start:stop],
                     sum(map(len, parts)), self.assemble)

    def split(self) -> tuple[Batch, Batch]:
        """Two halves (for a 413 answer); needs at least two events."""
        half = len(self.parts) // 2
        return self._slice(self.seq, 0, half), self._slice(self.seq, half, None)

    def without(self, position: int) -> tuple[Batch, Batch]:
        """``(the event at position, the batch without it)`` (for a 400 naming one event)."""
        one = self._slice(self.seq, position, position + 1)
        rest = Batch(self.seq, self.indices[:position] + self.indices[position + 1:],
                     self.parts[:position] + self.parts[position + 1:],
                     self.originals[:position] + self.originals[position + 1:],
                     self.size - one.size, self.assemble)
        return one, rest


class Batcher:
    """Groups encoded events into batches of at most ``max_bytes`` and ``max_events``.

    An event larger than ``max_bytes`` on its own travels alone rather than being refused (the
    per-event limit is checked before this).
    """

    def __init__(
        self,
        max_bytes: int,
        max_events: int | None = None,
        *,
        assemble: Callable[[list[bytes]], bytes] = b"".join,
        overhead: int = 0,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_events = max_events or 1 << 62
        self.assemble = assemble
        self.overhead = overhead
        self._seq = 0
        self._current = Batch(0, assemble=assemble)
        self._size = overhead

    def add(self, index: int, part: bytes, original: Any) -> Batch | None:
        """Add one event; returns the batch it closed, if adding it closed one."""
        done = None
        cur = self._current
        n = len(part)
        if cur.parts and (self._size + n > self.max_bytes or len(cur.parts) >= self.max_events):
            done = self._close()
            cur = self._current
        cur.indices.append(index)
        cur.parts.append(part)
        cur.originals.append(original)
        self._size += n
        return done

    def add_many(self, indices: Sequence[int], parts: list[bytes],
                 originals: Sequence[Any]) -> list[Batch]:
        """Add a run of events at once; returns the batches it closed (in order).

        Same rules as :meth:`add`, but the cut points are found with a running sum and a
        binary search, so the per-event cost is a C-level slice, not a Python call.
        """
        closed: list[Batch] = []
        n = len(parts)
        if not n:
            return closed
        ends = list(accumulate(map(len, parts)))
        i = 0
        while i < n:
            cur = self._current
            base = ends[i - 1] if i else 0
            room = self.max_bytes - self._size
            j = min(bisect_right(ends, base + room, i, n), i + self.max_events - len(cur.parts))
            if j <= i:
                if cur.parts:  # the next event does not fit: close and start a new batch
                    closed.append(self._close())
                    continue
                j = i + 1  # larger than max_bytes on its own: it travels alone
            cur.indices.extend(indices[i:j])
            cur.parts.extend(parts[i:j])
            cur.originals.extend(originals[i:j])
            self._size += ends[j - 1] - base
            i = j
            if i < n:  # stopped because the batch is full
                closed.append(self._close())
        return closed

    def flush(self) -> Batch | None:
        """The last, partly filled batch, if any."""
        return self._close() if self._current.parts else None

    def _close(self) -> Batch:
        done = self._current
        done.size = self._size
        self._seq += 1
        self._current = Batch(self._seq, assemble=self.assemble)
        self._size = self.overhead
        return done
