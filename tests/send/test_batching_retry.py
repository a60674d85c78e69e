"""Pure pieces: batching limits and splitting, retry classification, backoff, Retry-After."""

from __future__ import annotations

import email.utils
import random
import statistics
from collections import Counter

import pytest

from hecnb._send.batching import Batcher
from hecnb._send.retry import RetryPolicy, is_transient, parse_retry_after


def _fill(b: Batcher, parts: list[bytes]) -> list:
    out = [x for i, p in enumerate(parts) if (x := b.add(i, p, p)) is not None]
    last = b.flush()
    return [*out, last] if last else out


def test_batches_respect_bytes_and_keep_order() -> None:
    parts = [b"x" * 9 + b"\n" for _ in range(25)]  # 10 bytes each
    batches = _fill(Batcher(35), parts)
    assert [len(b) for b in batches] == [3] * 8 + [1]
    assert all(b.size <= 35 for b in batches)
    assert [i for b in batches for i in b.indices] == list(range(25))
    assert batches[0].body() == b"".join(parts[:3])


def test_batches_respect_event_count() -> None:
    batches = _fill(Batcher(10**6, 4), [b"a\n"] * 10)
    assert [len(b) for b in batches] == [4, 4, 2]


def test_oversized_event_travels_alone() -> None:
    batches = _fill(Batcher(10), [b"a\n", b"b" * 50, b"c\n"])
    assert [b.parts for b in batches] == [[b"a\n"], [b"b" * 50], [b"c\n"]]


def _fill_many(b: Batcher, runs: list[list[bytes]]) -> list:
    """The sender's way: runs of events at once (``add_many``), then the last batch."""
    out, start = [], 0
    for run in runs:
        out += b.add_many(range(start, start + len(run)), run, [p.decode() for p in run])
        start += len(run)
    last = b.flush()
    return [*out, last] if last else out


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7])
def test_add_many_sends_an_oversized_event_alone_and_loses_nothing(cut: int) -> None:
    """The sending path batches runs of events with ``add_many``: an event larger than
    ``max_bytes`` on its own closes the batch before it, goes in a batch of its own and
    the next event starts a new one, wherever the runs are cut (a different path from
    ``add``, by a running sum and a binary search)."""
    parts = [b"a\n", b"b\n", b"B" * 50 + b"\n", b"c\n", b"d" * 30 + b"\n", b"e\n", b"f\n"]
    runs = [parts[i:i + cut] for i in range(0, len(parts), cut)]
    batches = _fill_many(Batcher(10), runs)
    assert [b.parts for b in batches] == [[b"a\n", b"b\n"], [b"B" * 50 + b"\n"], [b"c\n"],
                                          [b"d" * 30 + b"\n"], [b"e\n", b"f\n"]]
    assert [i for b in batches for i in b.indices] == list(range(7))  # none lost, in order
    assert [o for b in batches for o in b.originals] == [p.decode() for p in parts]
    assert [b.size for b in batches] == [4, 51, 2, 31, 4]
    # the same cut as ``add`` makes, event by event
    assert [b.parts for b in batches] == [b.parts for b in _fill(Batcher(10), parts)]
    # with a body overhead (csv header, xml prolog) the oversized one still travels alone
    framed = _fill_many(Batcher(9, overhead=6), runs)  # room for one small event
    assert [len(b) for b in framed] == [1, 1, 1, 1, 1, 1, 1]


def test_empty_input_no_batch() -> None:
    assert _fill(Batcher(10), []) == []


def test_split_and_without() -> None:
    (batch,) = _fill(Batcher(100), [b"%d\n" % i for i in range(5)])
    left, right = batch.split()
    assert left.indices + right.indices == [0, 1, 2, 3, 4]
    assert left.size + right.size == batch.size
    one, rest = batch.without(2)
    assert one.indices == [2] and rest.indices == [0, 1, 3, 4]
    assert rest.body() == b"0\n1\n3\n4\n"


def test_header_overhead_counts() -> None:
    b = Batcher(20, assemble=lambda parts: b"H\n" + b"".join(parts), overhead=2)
    batches = _fill(b, [b"123456789\n"] * 4)
    assert [len(x) for x in batches] == [1, 1, 1, 1]
    assert batches[0].body() == b"H\n123456789\n"


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503, 504, 599])
def test_transient(status: int | None) -> None:
    assert is_transient(status)


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 413])
def test_not_transient(status: int) -> None:
    assert not is_transient(status)


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-4") == 0.0
    when = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == pytest.approx(10.0)


def _deciles(samples: list[float], bound: float) -> list[int]:
    counts = Counter(min(int(s / bound * 10), 9) for s in samples)
    return [counts[d] for d in range(10)]


def test_full_jitter_is_uniform_over_the_whole_growing_range() -> None:
    """Full jitter: the wait before retry n is uniform in [0, min(cap, base * 2**n)]. Not the
    bound itself (no jitter), not its upper half ("equal jitter"), not a range that stops
    growing: the lower bound, the spread and the mean are all checked."""
    policy = RetryPolicy(retries=5, base=0.5, cap=4.0)
    rng = random.Random(1)
    n = 2000
    for attempt, bound in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        samples = [policy.delay(attempt, None, rng) for _ in range(n)]
        assert all(0 <= s <= bound for s in samples)
        assert min(samples) < bound * 0.01 and max(samples) > bound * 0.99  # both ends reached
        assert len(set(samples)) == n  # no two alike: drawn, not computed
        assert statistics.fmean(samples) == pytest.approx(bound / 2, rel=0.05)
        assert statistics.pstdev(samples) == pytest.approx(bound / 12 ** 0.5, rel=0.05)
        # every tenth of the range holds about a tenth of the waits (expected 200 each)
        assert all(140 <= c <= 260 for c in _deciles(samples, bound)), _deciles(samples, bound)


def test_retry_after_is_the_least_wait() -> None:
    policy = RetryPolicy(base=0.25, retry_after_cap=30)
    rng = random.Random(2)
    waits = [policy.delay(0, 7.0, rng) for _ in range(1000)]
    assert all(7.0 <= w <= 7.25 for w in waits)
    # jittered above the server's wait, so that clients told the same second do not all
    # come back in the same instant: spread over the whole base
    assert min(waits) < 7.01 and max(waits) > 7.24 and len(set(waits)) == 1000
    assert statistics.fmean(waits) == pytest.approx(7.125, abs=0.01)
    capped = [policy.delay(0, 500.0, rng) for _ in range(200)]
    assert all(30.0 <= w <= 30.25 for w in capped) and len(set(capped)) == 200
