"""Pure retry rules: which outcomes retry, exponential backoff with full jitter, Retry-After.

Per the protocol notes: any 2xx is delivered; 408, 429, 5xx and transport errors are transient;
413 is answered by splitting the batch, not by retrying it; other answers are final. Some final
answers are *permanent*: they say something about the destination or the key, not about the
batch (401, 403, 404, 405, 407, 410, 411, 415 and redirects), so no other batch of the send can
fare better and the send stops there.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

__all__ = ["PERMANENT_STATUSES", "RetryPolicy", "is_permanent", "is_transient",
           "parse_retry_after"]

#: Answers about the destination or the key: the same for every batch of a send.
PERMANENT_STATUSES = frozenset({401, 403, 404, 405, 407, 410, 411, 415})


def is_permanent(status: int | None) -> bool:
    """True for answers no other batch can change: a wrong key or URL, or a redirect (hecnb
    never follows one: the key would go along to wherever it points)."""
    return status is not None and (status in PERMANENT_STATUSES or 300 <= status < 400)


def is_transient(status: int | None) -> bool:
    """True for outcomes worth retrying: no answer (None), 408, 429 and any 5xx."""
    return status is None or status in (408, 429) or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds == float("inf"):  # NaN, inf
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait between attempts.

    ``retries`` is the number of attempts after the first. The wait before retry *n* (0-based)
    is uniform in ``[0, min(cap, base * 2**n)]`` (full jitter); a ``Retry-After`` from the
    server is honoured as the least wait, capped at ``retry_after_cap``.
    """

    retries: int = 3
    base: float = 0.25
    cap: float = 10.0
    retry_after_cap: float = 120.0

    def delay(self, attempt: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        r = rng or random
        jitter = r.uniform(0.0, min(self.cap, self.base * (2 ** attempt)))
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap) + r.uniform(0.0, self.base)
        return jitter
