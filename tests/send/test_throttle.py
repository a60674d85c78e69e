"""Throttling is back-pressure: one shared pause, a pace that adapts, a time budget.

The rules are checked on ``Throttle`` with a hand-moved clock; the engine with a scripted
transport in virtual time (waits go to an injected sleep, which moves the throttle's clock);
and the whole send against the emulator's token-bucket rate limit, over real sockets.
"""

from __future__ import annotations

import itertools
import threading

import httpx
import pytest
from conftest import KEY as EMU_KEY
from test_sender import Script, events, make

from hecnb import HEC
from hecnb._send.throttle import BETA, CUBIC, K, Throttle, is_throttled
from hecnb.emulator import Emulator, Faults


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_what_counts_as_throttling() -> None:
    assert is_throttled(429, None) and is_throttled(429, 1.0) and is_throttled(503, 2.0)
    assert not is_throttled(503, None)  # a busy server without Retry-After is an error
    assert not is_throttled(500, 1.0) and not is_throttled(200, None)


def test_unthrottled_sends_are_never_held_back() -> None:
    clock = Clock()
    thr = Throttle(budget=60, clock=clock)
    assert thr.plan(5000) == (0.0, True) and thr.rate is None and thr.paused_for() == 0


def test_one_pause_for_every_request_then_a_pace_from_what_was_admitted() -> None:
    clock = Clock()
    thr = Throttle(budget=60, clock=clock)
    thr.delivered(10_000)  # the collector took 10,000 events...
    clock.now += 1.0
    thr.throttled(2.0)  # ...in the first second, then asked for a 2 s pause
    assert thr.answers == 1
    for _ in range(3):  # every request waits for the same pause, none takes a slot meanwhile
        assert thr.plan(1000) == (pytest.approx(2.0), False)
    assert thr.rate == pytest.approx(BETA * 10_000)
    clock.now += 2.0  # the pause is over: requests are spaced at the pace
    assert thr.plan(900) == (0.0, True)
    wait, slot = thr.plan(900)
    assert slot and wait == pytest.approx(900 / (BETA * 10_000))
    assert thr.paused == pytest.approx(2.0)


def test_the_pace_climbs_back_then_probes_ever_faster_and_is_cut_multiplicatively() -> None:
    clock = Clock()
    thr = Throttle(budget=60, clock=clock)
    thr.delivered(8000)
    clock.now += 1.0
    thr.throttled(1.0)
    assert thr.rate == pytest.approx(BETA * 8000)  # cut to BETA x the rate throttled at
    clock.now += 1.0  # the pause is over
    rates = []
    for _ in range(int(K) + 9):
        rates.append(thr.rate)
        clock.now += 1.0
    assert rates == sorted(rates)  # it only grows while nothing throttles it
    clock.now = 1002.0 + K
    assert thr.rate == pytest.approx(8000)  # back to the rate it was throttled at after K s
    steps = [thr.rate]
    for _ in range(3):  # beyond it: faster and faster (a share that grew is found quickly)
        clock.now += 2.0
        steps.append(thr.rate)
    gains = [b - a for a, b in itertools.pairwise(steps)]
    assert gains == sorted(gains) and gains[0] > 0
    assert thr.rate == pytest.approx(8000 * (1 + CUBIC * 6 ** 3))
    grown = thr.rate
    thr.delivered(50_000)  # the collector took that much since the last throttle...
    thr.throttled(1.0)  # ...then said stop: the lower of the pace and the rate measured
    measured = 50_000 / (clock.now - 1001.0)
    assert thr.rate == pytest.approx(BETA * min(grown, measured))


def test_answers_to_requests_sent_before_the_pause_cut_once() -> None:
    clock = Clock()
    thr = Throttle(budget=60, clock=clock)
    thr.delivered(5000)
    clock.now += 0.5
    thr.throttled(1.0)
    first = thr.rate
    clock.now += 0.01
    thr.throttled(1.0)  # another request of the same window: no second cut
    thr.throttled(1.0)
    assert thr.rate == pytest.approx(first) and thr.answers == 3
    assert thr.paused == pytest.approx(1.01)  # pauses that overlap are counted once


def test_nothing_admitted_since_the_last_cut_halves_the_pace() -> None:
    clock = Clock()
    thr = Throttle(budget=60, clock=clock)
    thr.delivered(4000)
    clock.now += 1.0
    thr.throttled(1.0)
    clock.now += 1.5  # the pause ended, the next request is throttled again at once
    before = thr.rate
    thr.throttled(1.0)
    assert before is not None and thr.rate == pytest.approx(BETA * before / 2)


def test_without_retry_after_the_pause_backs_off_exponentially() -> None:
    clock = Clock()
    thr = Throttle(budget=600, base=0.25, cap=10.0, clock=clock)
    pauses = []
    for _ in range(8):
        thr.throttled(None)
        pauses.append(thr.paused_for())
        clock.now += pauses[-1] + 0.001
    for n, pause in enumerate(pauses):
        top = min(10.0, 0.25 * 2 ** n)
        assert top / 2 <= pause <= top
    assert pauses[-1] >= 5.0  # capped at backoff_max, never below half of it


def test_the_budget_ends_only_a_send_that_gets_nothing_through() -> None:
    clock = Clock()
    thr = Throttle(budget=30, clock=clock)
    thr.throttled(10.0)
    clock.now += 20
    assert not thr.exhausted()
    thr.delivered(100)  # progress: the clock of the budget starts again
    clock.now += 25
    thr.throttled(10.0)
    clock.now += 29
    assert not thr.exhausted()
    clock.now += 2
    assert thr.exhausted()


# ------------------------------------------------------------- the engine, in virtual time


def test_retry_after_pauses_every_request_of_the_send() -> None:
    engine_box: list = []
    sent_at: list[float] = []
    answered_429: list[float] = []
    lock = threading.Lock()

    def answer(n: int, evs: list) -> httpx.Response:
        now = engine_box[0]._clock()
        with lock:
            sent_at.append(now)
        if n == 2:
            answered_429.append(now)
            return httpx.Response(429, json={"text": "Too many requests", "code": 429},
                                  headers={"Retry-After": "3"})
        return httpx.Response(200, json={"text": "Success", "code": 0})

    s = Script(answer)
    hec, _ = make(s, batch_max_events=10, max_in_flight=1, thread_count=1)
    engine_box.append(hec.session_manager.engine)
    report = hec.send(events(100), show_progress=False)
    assert report.ok and report.delivered == 100 and len(s.requests) == 11
    t = answered_429[0]
    later = [x for x in sent_at if x > t]
    assert len(later) == 8 and min(later) >= t + 3.0 - 1e-6  # nothing went out during it
    assert report.throttled == 1 and report.throttle_wait == pytest.approx(3.0, abs=0.05)
    assert report.answers == {200: 10, 429: 1}
    assert report.retries == 1  # the throttled request went again once


def test_throttled_answers_do_not_use_up_retry_count() -> None:
    def answer(n: int, evs: list) -> httpx.Response:
        if n < 6:
            return httpx.Response(429, json={"text": "Too many requests", "code": 429},
                                  headers={"Retry-After": "1"})
        return httpx.Response(200, json={"text": "Success", "code": 0})

    s = Script(answer)
    hec, _ = make(s, retry_count=1)
    assert hec.send_event_list(events(5)) == 5  # six 429s in a row, one retry allowed
    report = hec.last_report
    assert report.ok and report.throttled == 6 and report.answers == {429: 6, 200: 1}
    assert "throttled by the collector: 6 answers" in str(report)
    assert "Throttled" in report._repr_html_()


def test_errors_still_use_up_retry_count() -> None:
    s = Script(lambda n, evs: httpx.Response(500, json={"text": "boom", "code": 8}))
    hec, _ = make(s, retry_count=2)
    assert hec.send_event_list(events(5)) == 0
    assert len(s.requests) == 3 and hec.last_report.throttled == 0


def test_a_collector_that_throttles_forever_ends_at_the_budget_with_every_event_reported() -> None:
    s = Script(lambda n, evs: httpx.Response(429, json={"text": "slow down", "code": 429},
                                             headers={"Retry-After": "20"}))
    hec, _ = make(s, batch_max_events=10, retry_max_elapsed=60)
    report = hec.send(events(1000), show_progress=False)
    assert report.delivered == 0 and report.total == 1000 and len(report.failed) == 1000
    assert report.stopped is not None and "retry_max_elapsed" in report.stopped
    assert len(s.requests) < 100  # the rest was not sent at all, only reported
    reasons = report.failure_reasons()
    assert sum(reasons.values()) == 1000
    assert all("slow down" in r or "throttled" in r or "stopped" in r for r in reasons)
    assert sorted(f.index for f in report.failed) == list(range(1000))  # each event once


def test_retry_max_elapsed_is_a_setting() -> None:
    hec = HEC(api_key="k" * 20, ingest_url="http://127.0.0.1:9/services/collector")
    assert hec.retry_max_elapsed == 300
    hec.retry_max_elapsed = 30
    assert hec.session_manager.engine.retry_max_elapsed == 30
    with pytest.raises(ValueError, match="retry_max_elapsed"):
        hec.retry_max_elapsed = 0
    with pytest.raises(ValueError, match="retry_max_elapsed"):
        HEC(api_key="k" * 20, ingest_url="http://127.0.0.1:9/", retry_max_elapsed="soon")
    hec.close()


# ----------------------------------------------------------------- against the emulator


def test_a_rate_limited_collector_gets_everything_and_the_numbers_add_up() -> None:
    """A connector limited to 2,000 events/s: nothing fails, and the report and the
    collector agree on every count (speed is measured by benchmarks/bench_network.py)."""
    with Emulator(api_key=EMU_KEY, faults=Faults(rate_limit=2000, rate_burst=1)) as emu:
        hec = HEC(api_key=EMU_KEY, ingest_url=emu.url, batch_max_events=250, retry_count=0)
        data = [{"n": i} for i in range(6000)]
        report = hec.send(data, show_progress=False)
        hec.close()
        assert report.ok and report.delivered == 6000 and not report.failed
        assert emu.wait_for(6000)
        assert sorted(e["event"]["n"] for e in emu.events) == list(range(6000))
        stats = emu.stats
        assert report.throttled == stats["throttled"] == stats["status_counts"].get(429, 0) > 0
        assert report.answers == {k: v for k, v in stats["status_counts"].items()}
        assert sum(report.answers.values()) == stats["requests"]
        assert report.throttle_wait > 0 and report.pace is not None


def test_the_pace_is_kept_from_send_to_send_and_forgotten_when_unused() -> None:
    clock = Clock()
    thr = Throttle(budget=60, clock=clock)
    thr.delivered(10_000)
    clock.now += 1.0
    thr.throttled(1.0)
    clock.now += 5
    thr.begin(30)  # the next send on the same connector: its own counts, the same pace
    assert thr.answers == 0 and thr.paused == 0 and thr.budget == 30
    assert thr.rate is not None
    clock.now += 200  # a long quiet: the limit may have changed, start unpaced
    thr.begin(30)
    assert thr.rate is None and thr.plan(5000) == (0.0, True)


def test_the_progress_bar_says_when_the_send_is_throttled(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from hecnb._send import run as _sender

    class Bar:
        def __init__(self) -> None:
            self.postfixes: list[dict] = []
            self.n = 0

        def update(self, n: int) -> None:
            self.n += n

        def set_postfix(self, postfix: dict | None = None, refresh: bool = True,
                        **kw: object) -> None:
            self.postfixes.append(dict(postfix or {}, **kw))

        def close(self) -> None:
            pass

    bar = Bar()
    monkeypatch.setattr(_sender, "_progress", lambda show, total: bar)
    gate = threading.Event()

    def answer(n: int, evs: list) -> httpx.Response:
        if n == 0:
            return httpx.Response(429, json={"text": "Too many requests", "code": 429},
                                  headers={"Retry-After": "1"})
        gate.wait(5)  # hold the retry until the bar has been looked at during the pause
        return httpx.Response(200, json={"text": "Success", "code": 0})

    s = Script(answer)
    hec = HEC(api_key="k" * 20, ingest_url="http://127.0.0.1:9/services/collector",
              transport=httpx.MockTransport(s), batch_max_events=5)
    real_collect_wait = _sender.cf.wait

    def wait(*args: object, **kw: object) -> object:  # after the first look, let it finish
        result = real_collect_wait(*args, **kw)
        if bar.postfixes:
            gate.set()
        return result

    monkeypatch.setattr(_sender.cf, "wait", wait)
    report = hec.send(events(5), show_progress=True)
    hec.close()
    assert report.ok and bar.n == 5
    assert any(p.get("throttled", "").startswith("paused") for p in bar.postfixes)
