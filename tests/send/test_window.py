"""The in-flight window and the event-loop sender: requests in flight need not equal threads.

The window's rule is checked on modelled round trips (no clock involved): a collector a fixed
distance away, and a saturated one whose answers queue. The sender is checked on real sockets:
a slow emulator sees more requests at once than there are threads, and never more than
``max_in_flight``.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from conftest import KEY

from hecnb import HEC
from hecnb import _compress as compress
from hecnb._send.window import Window
from hecnb.emulator import Emulator, Faults


def settle(window: Window, rtt_for: object, rounds: int = 400) -> float:
    """Feed ``rounds`` answers whose round trip depends on the window's current limit; the
    first answer is a lone request's, as in a send (the first batch leaves on its own)."""
    window.observe(rtt_for(1))  # type: ignore[operator]
    for _ in range(rounds):
        window.observe(rtt_for(window.limit))  # type: ignore[operator]
    return window.size


def test_a_distant_collector_opens_the_window_until_it_saturates() -> None:
    # 50 ms away; the collector serves 100 requests/s: round trip = max(distance, queue)
    def rtt(limit: int) -> float:
        return max(0.05 + 0.01, limit / 100)

    w = Window(floor=4, cap=64)
    size = settle(w, rtt)
    # opened past the floor; stopped once answers queue (6 in flight fill the collector),
    # before the round trip doubles (12)
    assert 6 <= size <= 12
    assert not w.slow_start


def test_a_saturated_collector_keeps_the_window_at_the_floor() -> None:
    # nothing in between: each extra request in flight only waits behind the others
    w = Window(floor=4, cap=64)
    assert settle(w, lambda limit: limit * 0.01) == 4.0


def test_the_window_never_passes_its_cap_or_floor() -> None:
    w = Window(floor=2, cap=5)
    assert settle(w, lambda limit: 0.05) == 5.0  # a round trip that never grows
    w = Window(floor=8, cap=3)  # a floor above the cap is the cap
    assert w.floor == 3 and w.limit == 3
    w = Window(floor=6, cap=64)
    settle(w, lambda limit: 0.05, rounds=50)
    assert w.size > 30
    for _ in range(200):  # the round trip quadruples for good: back to the floor, fast
        w.observe(0.2)
    assert w.size == 6.0


def test_a_window_that_is_not_all_used_does_not_open() -> None:
    w = Window(floor=4, cap=64)
    for _ in range(100):
        w.observe(0.05, full=False)  # answers as fast as ever, but places were left free
    assert w.size == 4.0
    w.observe(0.05, full=True)
    assert w.size == 5.0


def test_nonsense_round_trips_are_ignored() -> None:
    w = Window(floor=4, cap=16)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        w.observe(bad)
    assert w.size == 4.0 and w.rtt is None


def test_acquire_waits_for_room_and_release_wakes_in_order() -> None:
    async def scenario() -> list[int]:
        w = Window(floor=2, cap=2)
        order: list[int] = []

        async def job(i: int) -> None:
            await w.acquire()
            order.append(i)
            await asyncio.sleep(0.01)
            w.release()

        await asyncio.gather(*(job(i) for i in range(6)))
        assert w.most == 2 and w.in_flight == 0
        return order

    assert asyncio.run(scenario()) == list(range(6))


def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    async def scenario() -> None:
        w = Window(floor=1, cap=1)
        await w.acquire()
        first = asyncio.ensure_future(w.acquire())
        second = asyncio.ensure_future(w.acquire())
        await asyncio.sleep(0)
        first.cancel()
        w.release()
        await asyncio.wait_for(second, 1)
        assert w.in_flight == 1

    asyncio.run(scenario())


# ------------------------------------------------------------------------- on real sockets


def test_requests_in_flight_exceed_the_thread_count_against_a_slow_collector() -> None:
    with Emulator(api_key=KEY, faults=Faults(delay=0.1)) as emu:
        with HEC(api_key=KEY, ingest_url=emu.url, thread_count=1, batch_max_events=50) as hec:
            report = hec.send([{"id": i} for i in range(3000)])
        assert report.ok and report.delivered == 3000
        assert report.in_flight_peak > 1  # one thread, yet several requests at once
        assert emu.stats["max_concurrent"] > 1
        assert len({e["event"]["id"] for e in emu.events}) == 3000


def test_a_slow_producer_does_not_open_the_window() -> None:
    # one batch every 20 ms (the sender reads 2,048 events at a time, one batch each here)
    # and answers after 50 ms: about 3 in flight, far under the floor of 16, so the window is
    # never what limits and must not open (nor the batches held in memory with it)
    def slow() -> Iterator[dict]:
        for i in range(20 * 2048):
            if i % 2048 == 0:
                time.sleep(0.02)
            yield {"id": i}

    with Emulator(api_key=KEY, faults=Faults(delay=0.05)) as emu:
        with HEC(api_key=KEY, ingest_url=emu.url, thread_count=16, max_in_flight=32,
                 batch_max_events=2048) as hec:
            report = hec.send(slow())
            window = hec.session_manager.engine.last_window
        assert report.ok and report.delivered == 20 * 2048
        assert window.size <= 18  # left alone it would open by one per answer, to 32


def test_max_in_flight_bounds_the_requests_at_the_collector() -> None:
    with Emulator(api_key=KEY, faults=Faults(delay=0.05)) as emu:
        with HEC(api_key=KEY, ingest_url=emu.url, thread_count=8, max_in_flight=2,
                 batch_max_events=20) as hec:
            report = hec.send([{"id": i} for i in range(1000)])
        assert report.ok
        assert report.in_flight_peak <= 2
        assert emu.stats["max_concurrent"] <= 2


def test_max_in_flight_is_checked_and_settable() -> None:
    from hecnb import ConfigError

    with pytest.raises(ConfigError, match="max_in_flight must be a whole number from 1 to 256"):
        HEC(api_key=KEY, ingest_url="http://127.0.0.1:9/services/collector", max_in_flight=0)
    hec = HEC(api_key=KEY, ingest_url="http://127.0.0.1:9/services/collector")
    assert hec.max_in_flight == 16
    hec.max_in_flight = 4
    assert hec.session_manager.max_in_flight == 4
    with pytest.raises(ConfigError):
        hec.max_in_flight = True


def test_a_synchronous_transport_still_works(emu: Emulator) -> None:
    with HEC(api_key=KEY, ingest_url=emu.url, transport=httpx.HTTPTransport(),
             batch_max_events=10) as hec:
        assert hec.send_event_list([{"id": i} for i in range(100)]) == 100
    assert sorted(e["event"]["id"] for e in emu.events) == list(range(100))


def _io_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hecnb-io" and t.is_alive()]


def test_close_and_garbage_collection_end_the_event_loop_thread(emu: Emulator) -> None:
    # other tests' HECs may be collected meanwhile: follow this HEC's own threads only
    before = set(_io_threads())
    hec = HEC(api_key=KEY, ingest_url=emu.url)
    assert hec.send_event({"a": 1}) == 200
    (first,) = set(_io_threads()) - before
    assert len(hec.sessions) == 1
    hec.close()
    assert not first.is_alive() and hec.sessions == []
    assert hec.send_event({"a": 2}) == 200  # a closed HEC opens again on the next send
    (second,) = set(_io_threads()) - before
    del hec
    gc.collect()
    second.join(5)
    assert not second.is_alive()


def test_both_gzip_backends_make_ordinary_gzip(monkeypatch: pytest.MonkeyPatch,
                                               emu: Emulator) -> None:
    data = b'{"event":{"message":"hello"}}\n' * 5000
    fast = compress.gzip_compress(data)
    assert gzip.decompress(fast) == data
    monkeypatch.setattr(compress, "_igzip", None)
    slow = compress.gzip_compress(data)
    assert gzip.decompress(slow) == data
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:  # and the zlib path on the wire
        assert hec.send_event_list([{"i": i} for i in range(500)]) == 500
    assert len(emu.events) == 500
