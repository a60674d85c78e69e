"""The emulator's knobs: injected faults, and the real network (a connector's rate limit, a slow
uplink, a round trip's latency).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Faults:
    """Faults to inject, decided per request after auth succeeded and before the body is accepted.

    A faulted request stores no events. The error bands are drawn from one number per request:
    503 first, then 429, then drop, so if the three rates add up to more than 1 the earlier
    ones win. The delay is drawn separately and applies before the answer (or the drop).

    The network knobs model a real collector and a real uplink rather than random faults:

    - ``rate_limit`` (events/s) and ``rate_limit_bytes`` (decoded bytes/s) are a token bucket
      per emulator, as a connector's quota: it refills at that rate and holds at most
      ``rate_burst`` seconds of it; a request is admitted while the bucket is not empty (it may
      take the bucket into debt, so a batch larger than the burst still gets through), else it
      is answered ``429`` with ``Retry-After`` (whole seconds until the bucket refills, at
      least 1) and nothing of it is stored. 0 means no limit.
    - ``bandwidth`` (bytes/s) paces the reading of request bodies as one shared link would:
      all connections together receive at most that many bytes a second (12.5e6 models a
      100 Mbit/s uplink). 0 means as fast as loopback goes.
    - ``delay`` adds latency before every answer (a round trip).

    Example: ``Faults(error_503_rate=0.2, delay=0.05, seed=7)``,
    ``Faults(rate_limit=10_000)``, ``Faults(bandwidth=12.5e6, delay=0.03)``.
    """

    error_503_rate: float = 0.0
    error_429_rate: float = 0.0
    retry_after: float = 1.0
    drop_rate: float = 0.0
    delay: float = 0.0
    delay_rate: float = 1.0
    seed: int | None = None
    rate_limit: float = 0.0
    rate_limit_bytes: float = 0.0
    rate_burst: float = 1.0
    bandwidth: float = 0.0

    def __post_init__(self) -> None:
        """Validate on creation so a typo fails at once, not mid-test."""
        for name in ("error_503_rate", "error_429_rate", "drop_rate", "delay_rate"):
            value = _number(name, getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be between 0 and 1, got {value!r}")
        for name in ("retry_after", "delay", "rate_limit", "rate_limit_bytes", "bandwidth"):
            value = _number(name, getattr(self, name))
            if value < 0:
                raise ValueError(f"Faults.{name} must be >= 0, got {value!r}")
        if not _number("rate_burst", self.rate_burst) > 0:
            raise ValueError(f"Faults.rate_burst must be > 0 seconds, got {self.rate_burst!r}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ValueError(f"Faults.seed must be an int or None, got {self.seed!r}")

    @property
    def retry_after_header(self) -> str:
        """The Retry-After value: whole seconds as an integer, else a decimal string."""
        value = float(self.retry_after)
        if value.is_integer():
            return str(int(value))
        return format(value, "f").rstrip("0").rstrip(".")


def _number(name: str, value: object) -> float:
    """Return a finite float, or raise ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"Faults.{name} must be a finite number, got {value!r}")
    return float(value)


class _Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` seconds' worth held.

    A request is admitted while the bucket is not empty and then takes what it costs, which may
    leave the bucket in debt (a batch larger than the burst is not refused forever); the debt is
    repaid by the refill before anything else is admitted. Over any long run at most ``rate``
    tokens a second (plus one burst) get through, whatever the request sizes.
    """

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.capacity = rate * burst
        self.tokens = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        """Seconds until the bucket holds a token again (0 when it does now)."""
        return 0.0 if self.tokens > 0 else (1e-9 - self.tokens) / self.rate


class _Quota:
    """The connector's rate limit: an events bucket and a bytes bucket, both must admit."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        now = clock()
        self._buckets: list[tuple[_Bucket, bool]] = []  # (bucket, counts events)
        if faults.rate_limit > 0:
            self._buckets.append((_Bucket(faults.rate_limit, faults.rate_burst, now), True))
        if faults.rate_limit_bytes > 0:
            self._buckets.append((_Bucket(faults.rate_limit_bytes, faults.rate_burst, now),
                                  False))

    @property
    def active(self) -> bool:
        return bool(self._buckets)

    def admit(self, events: int, size: int) -> float | None:
        """None when the request is admitted (and charged); else seconds until it could be."""
        with self._lock:
            now = self._clock()
            waits = []
            for bucket, _ in self._buckets:
                bucket.refill(now)
                waits.append(bucket.wait())
            if any(waits):
                return max(waits)
            for bucket, counts_events in self._buckets:
                bucket.tokens -= events if counts_events else size
            return None


class _Link:
    """An upload link of ``rate`` bytes a second shared by every connection (a slow uplink)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._free_at = 0.0

    def reserve(self, size: int) -> float:
        """Seconds from now until ``size`` more bytes have crossed the link."""
        with self._lock:
            now = self._clock()
            start = max(now, self._free_at)
            self._free_at = start + size / self.rate
            return self._free_at - now


_LINK_PIECE = 64 * 1024  # bytes read between two paces of the link


_RATE_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
               "bit": 1 / 8, "kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8,
               "bps": 1 / 8, "kbps": 1e3 / 8, "mbps": 1e6 / 8, "gbps": 1e9 / 8}


def parse_rate(text: str) -> float:
    """``'100Mbit'`` -> 12,500,000 bytes a second; a bare number is bytes a second (for
    ``bandwidth`` and ``rate_limit_bytes`` given as text: ``hecnb emulate --bandwidth``)."""
    import re

    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*?)(?:/s)?\s*",
                         text.lower())
    unit = match.group(2) if match else None
    if match is None or unit not in _RATE_UNITS:
        raise ValueError(f"{text!r} is not a rate: give bytes a second (1000000) or a number "
                         "with a unit (100Mbit, 12.5MB, 512kbit)")
    return float(match.group(1)) * _RATE_UNITS[unit]
