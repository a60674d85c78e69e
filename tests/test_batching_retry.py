"""Pure pieces: batching limits and splitting, retry classification, backoff, Retry-After."""

from __future__ import annotations

import email.utils
import random

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


def test_full_jitter_bounds_and_growth() -> None:
    policy = RetryPolicy(retries=5, base=0.5, cap=4.0)
    rng = random.Random(1)
    for attempt, bound in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        samples = [policy.delay(attempt, None, rng) for _ in range(300)]
        assert all(0 <= s <= bound for s in samples)
        assert max(samples) > bound * 0.8  # full jitter uses the whole range


def test_retry_after_is_the_least_wait() -> None:
    policy = RetryPolicy(base=0.25, retry_after_cap=30)
    rng = random.Random(2)
    waits = [policy.delay(0, 7.0, rng) for _ in range(100)]
    assert all(7.0 <= w <= 7.25 for w in waits)
    assert policy.delay(0, 500.0, rng) <= 30.25
