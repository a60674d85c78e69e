"""How many requests to keep in flight: enough to hide the round trip, and no more.

A collector a cloud round trip away needs many requests in flight to keep the CPUs busy; a
collector (or a machine) that is already saturated only gets slower when more requests pile up
on it, each answer waiting behind the others. ``Window`` tells the two apart from round-trip
times alone, like TCP Vegas and Netflix's gradient limiter: the fastest answer seen is the base;
while the running round trip stays within ``GROW_BELOW`` times the base, the round trip itself
is what limits, so the window opens (doubling per round trip at first, then one per round trip;
only while it is all in use, so a slow producer does not open it for nothing);
once the round trip passes ``SHRINK_ABOVE`` times the base, requests are queueing rather than
travelling, so it closes towards the size that would bring the round trip back, within about
one round trip. The window stays between ``floor`` (``thread_count``, what FalconPy would have
in flight) and ``cap`` (``max_in_flight``).

Measured on 2 cores against the emulator (``benchmarks/bench_window.py``, docs/benchmarks.md):
with no added latency the adaptive window does as well as the best fixed size; with 50 ms added
it opens to about 15 and reaches 88 % of the zero-latency rate, where 4 in flight reach 46 %.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

__all__ = ["Window"]

GROW_BELOW = 1.4  # round trip under 1.4 x the base: the distance limits, open the window
SHRINK_ABOVE = 2.0  # over 2 x the base: requests wait on a saturated collector or CPU, close it
SMOOTHING = 0.3  # weight of a new round-trip sample in the running average


class Window:
    """An adaptive limit on requests in flight; ``acquire``/``release`` run on the event loop."""

    def __init__(self, floor: int, cap: int) -> None:
        self.cap = max(1, cap)
        self.floor = max(1, min(floor, self.cap))
        self.size = float(self.floor)
        self.in_flight = 0
        self.most = 0  # the most requests that were in flight at once
        self.base_rtt = math.inf
        self.rtt: float | None = None
        self.slow_start = True
        self.full = False  # the window was all used since the last answer (it is limiting)
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return int(self.size)

    def observe(self, rtt: float, full: bool = True) -> None:
        """Adjust the window to one round-trip time (seconds) of a first-attempt answer.

        ``full`` says whether the window was all in use meanwhile: it only opens when it is
        what limits (as TCP validates its window), so a slow producer does not grow it, and
        with it the batches held in memory, for nothing.
        """
        if not rtt > 0 or not math.isfinite(rtt):
            return
        self.base_rtt = min(self.base_rtt, rtt)
        self.rtt = rtt if self.rtt is None else (1 - SMOOTHING) * self.rtt + SMOOTHING * rtt
        stretch = self.rtt / self.base_rtt
        if stretch < GROW_BELOW:
            if full:
                self.size += 1.0 if self.slow_start else 1.0 / self.size
        else:
            self.slow_start = False
            if stretch > SHRINK_ABOVE:
                # queueing: aim for the size at which the round trip would be back near the
                # base (a saturated collector's round trip grows with the window), reaching
                # it within about one round trip
                target = self.size * GROW_BELOW / stretch
                self.size += (target - self.size) / self.size
        self.size = min(float(self.cap), max(float(self.floor), self.size))

    def throttled(self) -> None:
        """The collector asked us to slow down (429): halve the window, down to one request,
        and let it grow again one request per round trip (multiplicative decrease, additive
        increase). Called at most once per shared pause by the engine's throttle."""
        self.floor = 1
        self.slow_start = False
        self.size = max(1.0, self.size / 2)

    async def acquire(self) -> None:
        """Wait for room in the window, then take a place in it (first come, first served)."""
        if self.in_flight < self.limit and not self._waiters:
            self._take()
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # resolved by _wake, which has already taken the place for us
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.in_flight -= 1  # handed a place just as we were cancelled: pass it on
                self._wake()
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def release(self, rtt: float | None = None) -> None:
        """Give a place back; ``rtt`` (a first-attempt answer's round trip) tunes the window."""
        full = self.full or bool(self._waiters)
        self.full = False
        self.in_flight -= 1
        if rtt is not None:
            self.observe(rtt, full)
        self._wake()

    def _take(self) -> None:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight >= self.limit:
            self.full = True

    def _wake(self) -> None:
        """Hand free places to the waiters, oldest first."""
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take()
                waiter.set_result(None)
