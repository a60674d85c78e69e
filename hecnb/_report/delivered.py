"""DeliveredCount: ``send_event_list(..., show_progress=True)``'s answer, an int that also
iterates like FalconPy's generator of counts."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from .report import SendReport

__all__ = ["DeliveredCount"]


class DeliveredCount(int):
    """How many events a ``send_event_list(..., show_progress=True)`` delivered.

    It is that int for arithmetic, comparison, formatting and ``int()``, so code written for
    hecnb keeps reading a number; it also iterates like the generator FalconPy returns there:
    the running count of delivered events after each request was answered, ending with the
    total. Like a generator it is consumed by iterating. The send has already finished when it
    is returned (the tqdm bar showed its progress; ``hec.last_report`` has the details). Where a
    library takes any iterable as a sequence (``pd.Series(n)``), pass ``int(n)``.

    >>> n = DeliveredCount(5, [2, 5])
    >>> n + 1, f"{n:,}", list(n), list(n)
    (6, '5', [2, 5], [])
    """

    counts: tuple[int, ...]
    _next: int

    def __new__(cls, delivered: int, counts: Iterable[int] = ()) -> DeliveredCount:
        obj = super().__new__(cls, delivered)
        obj.counts = tuple(counts)  # numbers only: no report or events kept alive by a count
        obj._next = 0
        return obj

    @classmethod
    def of(cls, report: SendReport) -> DeliveredCount:
        """The count of ``report``, with the running totals of its answered requests."""
        running = itertools.accumulate(b.events if b.status == 200 else 0
                                       for b in report.batches)
        return cls(report.delivered, running)

    def __iter__(self) -> DeliveredCount:
        return self

    def __next__(self) -> int:
        if self._next >= len(self.counts):
            raise StopIteration
        self._next += 1
        return self.counts[self._next - 1]

    def __repr__(self) -> str:
        return int.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (DeliveredCount, (int(self), self.counts))
