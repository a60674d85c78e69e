"""Throttling as back-pressure: one shared pause and one pace for every request of a send.

A connector is rate-limited (about 10,000 events/s is quoted for NG-SIEM); beyond its limit it
answers ``429`` (or ``503``) with ``Retry-After``. That is the collector asking to slow down, not
a failure, so it must neither fail the events nor use up ``retry_count``:

- **One pause.** A throttled answer pauses the whole send until its ``Retry-After`` (or, without
  one, an exponential backoff), not only the request that got it: every other request would
  otherwise walk into the same wall.
- **One pace.** The window alone cannot hold a send to 10,000 events/s: one request of 5,000
  events every few milliseconds is already far beyond it. So the first throttled answer
  measures what the collector admitted since the send (or the last throttle) began, and from
  then on requests are spaced to a rate, cut and regrown as TCP CUBIC does its window: a
  throttled answer cuts the pace to ``BETA`` times the rate it was throttled at (the lower of
  the pace and the rate just measured); the pace then climbs back to that rate within ``K``
  seconds, stays near it, and beyond it probes faster and faster (``CUBIC`` x the cube of the
  time past ``K``), so that a sender whose share grew (other senders of the same connector
  finished) finds the new rate in seconds, not minutes. Measured on a token-bucket collector
  (``benchmarks/bench_network.py``): goodput of about 95 % of the limit, with a few percent
  of answers ``429``.
- **A time budget.** Throttled retries are bounded by time, not by count: a send stops only
  once the collector has accepted nothing for ``budget`` seconds while throttling
  (``retry_max_elapsed``), and every event not sent is then reported with that reason.
- **A memory of the connector.** The pace is about the connector, not about one send: the
  engine keeps its throttle from one send to the next (:meth:`Throttle.begin` starts a send's
  counts afresh), so a loop of small sends (Dask partitions, a logging handler's batches) does
  not rediscover the limit with a burst of 429s each time. A pace unused for ``FORGET``
  seconds is forgotten.

Pure bookkeeping, no I/O: the engine asks :meth:`Throttle.plan` how long to wait before a
request and tells it every answer. The clock is injectable for tests.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

__all__ = ["BETA", "CUBIC", "FORGET", "K", "Throttle", "is_throttled"]

BETA = 0.9  # a throttled answer cuts the pace to this fraction of the rate it was throttled at
CUBIC = 0.004  # how fast the pace probes beyond that rate (per second cubed)
K = ((1 - BETA) / CUBIC) ** (1 / 3)  # seconds to climb back to the rate throttled at
FORGET = 120.0  # seconds without a throttled answer after which the pace is forgotten
_MIN_RATE = 1.0  # events/s: the slowest pace (a collector that admits almost nothing)


def is_throttled(status: int | None, retry_after: float | None) -> bool:
    """True for an answer that asks the client to slow down: 429, or 503 with Retry-After."""
    return status == 429 or (status == 503 and retry_after is not None)


class Throttle:
    """The shared pause, the pace and the time budget of one send (on the event loop)."""

    def __init__(self, *, budget: float, base: float = 0.25, cap: float = 10.0,
                 retry_after_cap: float = 120.0, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.budget = budget
        self._base, self._cap, self._retry_after_cap = base, cap, retry_after_cap
        self._clock = clock
        self._rng = rng or random.Random()
        start = clock()
        self._start = start
        self.pause_until = start
        self.paused = 0.0  # seconds the send was paused (overlapping pauses counted once)
        self.answers = 0  # throttled answers
        self._streak = 0  # throttled answers since the last delivered request
        self._rate_max: float | None = None  # the rate last throttled at; None: not paced
        self._decreased_at = start
        self._next_slot = start
        self._since = start  # start of the measuring interval (send start or last throttle)
        self._admitted = 0  # events delivered since ``_since``
        self._stuck_since: float | None = None  # first throttle since the last delivery
        self._last_throttle = start

    def begin(self, budget: float) -> None:
        """A new send on the same connector: its own counts and budget, the pace kept (unless
        the collector has not throttled for ``FORGET`` seconds)."""
        now = self._clock()
        self.budget = budget
        self.paused, self.answers, self._streak, self._stuck_since = 0.0, 0, 0, None
        if self._rate_max is not None and now - self._last_throttle > FORGET:
            self._rate_max = None
        if self._rate_max is None:
            self._since, self._admitted = now, 0

    # -- what the engine asks -------------------------------------------------------------------
    @property
    def rate(self) -> float | None:
        """The current pace in events/s (None while the send has not been throttled)."""
        if self._rate_max is None:
            return None
        return self._rate_at(self._clock())

    def paused_for(self) -> float:
        """Seconds the shared pause still lasts (0 when not paused)."""
        return max(0.0, self.pause_until - self._clock())

    def plan(self, events: int) -> tuple[float, bool]:
        """``(seconds to wait, is a pace slot)`` before a request of ``events`` may go.

        While a pause lasts, its remainder (no slot is taken: ask again afterwards, when the
        pace starts afresh). Otherwise the request takes the next slot of the pace; 0 means go
        now. After waiting for a slot, go unless a pause began meanwhile.
        """
        now = self._clock()
        if self.pause_until > now:
            return self.pause_until - now, False
        if self._rate_max is None:
            return 0.0, True
        slot = max(now, self._next_slot)
        self._next_slot = slot + events / self._rate_at(slot)
        return slot - now, True

    def exhausted(self) -> bool:
        """True once the collector has accepted nothing for ``budget`` seconds of throttling."""
        return (self._stuck_since is not None
                and self._clock() - self._stuck_since > self.budget)

    # -- what the engine tells it ---------------------------------------------------------------
    def delivered(self, events: int) -> None:
        """A request was accepted."""
        self._admitted += events
        self._streak = 0
        self._stuck_since = None

    def throttled(self, retry_after: float | None) -> None:
        """A request was answered 429 (or 503 with Retry-After): pause, and slow the pace."""
        now = self._clock()
        self._last_throttle = now
        self.answers += 1
        self._streak += 1
        if self._stuck_since is None:
            self._stuck_since = now
        answered = now < self.pause_until  # sent before this pause began: cut once per pause
        if retry_after is not None:
            wait = min(retry_after, self._retry_after_cap)
        else:  # no Retry-After: back off exponentially with the throttles in a row
            top = min(self._cap, self._base * 2 ** (self._streak - 1))
            wait = top * self._rng.uniform(0.5, 1.0)
        until = now + wait
        if until > self.pause_until:
            self.paused += until - max(now, self.pause_until)
            self.pause_until = until
        if answered:
            return
        measured = self._admitted / max(now - self._since, 1e-3)
        if self._admitted == 0:  # nothing got through since the last cut: halve again
            measured = (self._rate_at(now) if self._rate_max is not None
                        else float("inf")) / 2
        current = self._rate_at(now) if self._rate_max is not None else measured
        self._rate_max = max(_MIN_RATE / BETA, min(current, measured))
        if self._rate_max == float("inf"):  # throttled before anything was delivered
            self._rate_max = None
        self._decreased_at = self._next_slot = self.pause_until
        self._since, self._admitted = now, 0

    def _rate_at(self, t: float) -> float:
        """The pace at ``t``: BETA x the rate throttled at, back to it after K seconds, then
        probing beyond it ever faster (TCP CUBIC's curve, in events/s)."""
        top = self._rate_max
        assert top is not None
        since: float = max(0.0, t - self._decreased_at) - K
        return top * (1.0 + CUBIC * since ** 3)
