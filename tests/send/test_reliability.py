"""Faults survived against the real emulator: nothing lost, duplicates counted, interrupts safe.

Every test sends events with unique ids and checks, by id, that each one is either delivered
(and present at the emulator) or listed as failed with a reason: delivered + failed == input.
"""

from __future__ import annotations

import _thread
import collections
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from conftest import KEY

from hecnb import HEC, BatchResult, FailedEvent, SendReport
from hecnb.emulator import Emulator, Faults

FAST = {"backoff_base": 0.005, "backoff_max": 0.05}


def ids_events(n: int, start: int = 0) -> list[dict]:
    return [{"id": i, "user": f"u{i % 97}", "message": "x" * 40} for i in range(start, start + n)]


def received_ids(emu: Emulator) -> collections.Counter[int]:
    out: collections.Counter[int] = collections.Counter()
    for e in emu.events:
        if "raw" in e:
            out[orjson.loads(e["raw"])["event"]["id"]] += 1
        else:
            out[e["event"]["id"]] += 1
    return out


def check_accounting(report: SendReport, events: list[dict], emu: Emulator) -> None:
    """Every input event delivered (and at the emulator) or failed with a reason."""
    failed = {f.index for f in report.failed}
    assert all(f.reason for f in report.failed)
    assert report.delivered + report.failed_count == len(events) == report.total
    delivered_ids = {e["id"] for i, e in enumerate(events) if i not in failed}
    got = received_ids(emu)
    assert delivered_ids <= set(got), "an event reported delivered is missing at the collector"
    dupes = sum(c - 1 for c in got.values() if c > 1)
    assert dupes <= report.possible_duplicates + sum(
        1 for f in report.failed if "may have received" in f.reason)


def test_503_bursts() -> None:
    with Emulator(api_key=KEY, faults=Faults(error_503_rate=0.4, seed=1)) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=200, retry_count=12, **FAST)
        events = ids_events(5000)
        report = hec.send(events)
        check_accounting(report, events, emu)
        assert report.ok and report.retries > 0
        assert emu.stats["status_counts"][503] == report.retries


def test_503_forever_reports_every_event_failed() -> None:
    with Emulator(api_key=KEY, faults=Faults(error_503_rate=1.0)) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=100, retry_count=2, **FAST)
        events = ids_events(1000)
        report = hec.send(events)
        check_accounting(report, events, emu)
        assert report.failed_count == 1000 and report.failed[0].status == 503
        assert hec.last_status == 503


def test_429_with_retry_after() -> None:
    faults = Faults(error_429_rate=0.3, retry_after=0.01, seed=2)
    with Emulator(api_key=KEY, faults=faults) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=250, retry_count=10, **FAST)
        events = ids_events(4000)
        report = hec.send(events)
        check_accounting(report, events, emu)
        assert report.ok and emu.stats["status_counts"].get(429, 0) == report.retries > 0


def test_dropped_connections() -> None:
    with Emulator(api_key=KEY, faults=Faults(drop_rate=0.3, seed=3)) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=200, retry_count=12, **FAST)
        events = ids_events(4000)
        report = hec.send(events)
        check_accounting(report, events, emu)
        assert report.ok and emu.stats["dropped"] > 0


def test_responses_slower_than_the_timeout_make_counted_duplicates() -> None:
    faults = Faults(delay=0.4, delay_rate=0.3, seed=4)
    with Emulator(api_key=KEY, faults=faults) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=200, retry_count=12,
                  ingest_timeout=0.1, **FAST)
        events = ids_events(3000)
        report = hec.send(events)
        # the collector stores a delayed request after the client gave up on it
        assert emu.wait_for(3000 + report.possible_duplicates, timeout=10)
        emu.faults = Faults()
        check_accounting(report, events, emu)
        assert report.ok and report.possible_duplicates > 0
        got = received_ids(emu)
        assert sum(c - 1 for c in got.values()) <= report.possible_duplicates
        assert "possibly duplicated" in str(report)


def test_emulator_stopped_and_restarted_mid_send() -> None:
    emu = Emulator(api_key=KEY).start()
    hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=100, retry_count=50,
              backoff_base=0.02, backoff_max=0.1, thread_count=2)
    events = ids_events(20_000)
    restarter = threading.Timer(0.5, emu.start)  # the same port, half a second later

    def feed():
        for i, e in enumerate(events):
            if i == 5000:  # mid-send: the collector goes away
                emu.stop()
                restarter.start()
            yield e

    try:
        report = hec.send(feed())
        restarter.join(5)
        check_accounting(report, events, emu)
        assert report.ok and report.retries > 0
    finally:
        restarter.cancel()
        emu.stop()


def test_413_on_large_batches_splits() -> None:
    with Emulator(api_key=KEY, max_body_bytes=40_000) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_bytes=1024 * 1024)
        events = ids_events(5000)
        report = hec.send(events)
        check_accounting(report, events, emu)
        assert report.ok and emu.stats["status_counts"][413] > 0


def _interrupt_when(emu: Emulator, stored: int) -> threading.Thread:
    def fire() -> None:
        emu.wait_for(stored, timeout=20)  # waits on the emulator's condition: no sleeps
        _thread.interrupt_main()

    t = threading.Thread(target=fire, daemon=True)
    t.start()
    return t


def test_keyboard_interrupt_stops_and_resend_delivers_exactly_the_rest() -> None:
    # every answer is held back 30 s and the timeout is a minute: only an abort ends this send
    with Emulator(api_key=KEY, faults=Faults(delay=30, delay_rate=0.5, seed=5)) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=100, ingest_timeout=60)
        events = ids_events(10_000)
        _interrupt_when(emu, 300)
        with pytest.raises(KeyboardInterrupt):
            hec.send(events)
        report = hec.last_report
        assert report.interrupted and report.total == 10_000
        assert report.delivered + report.failed_count == 10_000
        assert not [t for t in threading.enumerate() if t.name.startswith("hecnb-send")]
        emu.faults = Faults()
        again = hec.resend(report)
        assert again.ok and again.total == report.failed_count
        got = received_ids(emu)
        assert set(got) == set(range(10_000))


def test_dead_letter_round_trip(tmp_path: Path) -> None:
    with Emulator(api_key=KEY, faults=Faults(error_503_rate=1.0)) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=50, retry_count=0)
        events = ids_events(300)
        report = hec.send(events)
        assert report.failed_count == 300
        frame = report.failed_frame()
        assert list(frame.columns) == ["index", "reason", "status", "hec_code", "event"]
        assert frame["status"].eq(503).all() and frame["event"].iloc[0]["id"] == 0
        path = tmp_path / "failed.ndjson"
        assert report.write_dead_letter(path) == 300
        first = orjson.loads(path.read_bytes().splitlines()[0])
        assert first["event"] == events[0] and first["status"] == 503
        assert orjson.loads(first["payload"])["event"]["id"] == 0
        emu.faults = Faults()
        again = hec.resend(path)
        assert again.ok and again.delivered == 300
        got = sorted((e["event"] for e in emu.events), key=lambda e: e["id"])
        sent = [orjson.loads(line)["event"] for line in
                (orjson.loads(r)["payload"] for r in path.read_bytes().splitlines())]
        assert got == sorted(sent, key=lambda e: e["id"])  # byte for byte: same timestamps


def test_merge_adds_each_reports_outcomes_once() -> None:
    """What resend (one send per group of a dead letter, then the file tails) adds up."""
    first = SendReport(total=5, delivered=3, bytes_raw=100, bytes_sent=40, elapsed=1.0,
                       failed=[FailedEvent(1, {"id": 1}, "HTTP 503"),
                               FailedEvent(4, {"id": 4}, "HTTP 503")],
                       batches=[BatchResult(0, 3, 200), BatchResult(1, 2, 503, attempts=3)],
                       answers={200: 1, 503: 3}, last_status=503, last_message="busy")
    second = SendReport(total=4, delivered=1, bytes_raw=60, bytes_sent=30, elapsed=0.5,
                        failed=[FailedEvent(i, {"id": i}, "HTTP 400") for i in (0, 2, 3)],
                        batches=[BatchResult(0, 4, 400, ambiguous=1)],
                        answers={400: 1, 200: 1}, last_status=400, last_message="bad")
    merged = first.merge(second)
    assert merged is first
    assert (merged.total, merged.delivered, merged.failed_count) == (9, 4, 5)
    assert merged.delivered + merged.failed_count == merged.total and not merged.ok
    assert [f.reason for f in merged.failed] == ["HTTP 503"] * 2 + ["HTTP 400"] * 3
    assert (merged.requests, merged.retries, merged.possible_duplicates) == (3, 2, 4)
    assert (merged.bytes_raw, merged.bytes_sent, merged.elapsed) == (160, 70, 1.5)
    assert merged.answers == {200: 2, 503: 3, 400: 1}
    assert (merged.last_status, merged.last_message) == (400, "bad")
    assert str(merged).startswith("4 of 9 events delivered")
    assert merged.to_dict()["delivered"] == 4 and merged.to_dict()["failed"] == 5
    nothing = SendReport().merge(SendReport(total=2, delivered=2))
    assert nothing.ok and (nothing.total, nothing.delivered) == (2, 2)


def test_a_resend_where_some_fail_again_counts_every_event_once(tmp_path: Path) -> None:
    """The report of a resend adds up per event: delivered, failed again, or never
    encodable, whether it comes from a report or from a dead letter of two formats."""
    blank = (5, 17, 33)  # the collector refuses a blank event every time (400, code 13)
    with Emulator(api_key=KEY, faults=Faults(error_503_rate=1.0)) as emu:
        hec = HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=10, retry_count=0)
        events: list[dict] = ids_events(40)
        for i in blank:
            events[i] = {"event": "", "host": f"blank{i}"}
        events[21] = {"id": 21, "o": object()}  # never encodable: nothing to resend
        first = hec.send(events)
        assert first.delivered == 0 and first.failed_count == 40
        emu.faults = Faults()
        again = hec.resend(first)
        assert (again.total, again.delivered, again.failed_count) == (40, 36, 4)
        assert sorted(f.index for f in again.failed) == [5, 17, 21, 33] and not again.ok
        assert again.failure_reasons() == {
            "HTTP 400 (the collector rejected the data as invalid, code 13): Event field "
            "cannot be blank": 3,
            "cannot be resent: it was never encoded (not sent: event cannot be encoded as "
            "JSON: key 'o': Type is not JSON serializable: object.)": 1}
        assert str(again).startswith("36 of 40 events delivered")
        assert emu.wait_for(36)
        assert sorted(received_ids(emu)) == [i for i in range(40) if i not in (5, 17, 21, 33)]

        # a dead letter of a json send and a csv send: two groups, one report
        emu.reset()
        emu.faults = Faults(error_503_rate=1.0)
        listed = ids_events(30, start=100)
        listed[5] = listed[10] = {"event": "", "host": "blank"}
        as_json, as_csv = hec.send(listed), hec.send(ids_events(20, start=200),
                                                     ingest_format="csv")
        parts = [tmp_path / "json.ndjson", tmp_path / "csv.ndjson"]
        assert as_json.write_dead_letter(parts[0]) == 30
        assert as_csv.write_dead_letter(parts[1]) == 20
        dead = tmp_path / "dead.ndjson"
        dead.write_bytes(parts[0].read_bytes() + parts[1].read_bytes())
        emu.faults = Faults()
        both = hec.resend(dead)
        assert (both.total, both.delivered, both.failed_count) == (50, 48, 2)
        assert [f.index for f in both.failed] == [5, 10] and not both.ok
        assert emu.wait_for(48)
        got = sorted(int(e["event"]["id"]) for e in emu.events)  # csv carries text
        assert got == [i for i in range(100, 130) if i not in (105, 110)] + list(range(200, 220))
        hec.close()


def test_resend_rejects_a_file_that_is_not_a_dead_letter(tmp_path: Path, emu: Emulator) -> None:
    from hecnb import EventFileError

    path = tmp_path / "events.ndjson"
    path.write_text('{"a": 1}\n')
    hec = HEC(api_key=KEY, ingest_url=emu.url)
    with pytest.raises(EventFileError, match="not a hecnb dead-letter record"):
        hec.resend(path)


def test_long_line_is_reported_and_the_rest_sent(tmp_path: Path, emu: Emulator) -> None:
    path = tmp_path / "big.log"
    with open(path, "wb") as fh:
        fh.write(b"first line\n")
        fh.write(b"x" * (3 * 1024 * 1024) + b"\n")
        fh.write(b"third line\n")
    hec = HEC(api_key=KEY, ingest_url=emu.url, raw_ingest=True)
    report = hec.send_file(path)
    assert [e["raw"] for e in emu.events] == ["first line", "third line"]
    (failed,) = report.failed
    assert failed.index == 1 and "longer than" in failed.reason


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_cli_ctrl_c_writes_a_dead_letter_that_resend_completes(tmp_path: Path) -> None:
    src = tmp_path / "events.ndjson"
    src.write_bytes(b"".join(orjson.dumps({"id": i, "pad": "y" * 60}) + b"\n"
                             for i in range(30_000)))
    dead = tmp_path / "dead.ndjson"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGSIEM_")}
    env["NGSIEM_API_KEY"] = KEY
    with Emulator(api_key=KEY, faults=Faults(delay=30, delay_rate=0.3, seed=6)) as emu:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hecnb.cli", "send", str(src), "--url", emu.url,
             "--batch-events", "500", "--timeout", "60", "--no-progress",
             "--dead-letter", str(dead)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        emu.wait_for(2000, timeout=30)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "interrupted" in err and "hecnb resend" in err
        assert KEY not in out + err
        emu.faults = Faults()
        res = subprocess.run([sys.executable, "-m", "hecnb.cli", "resend", str(dead), "--url",
                              emu.url, "--no-progress"], env=env, capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0, res.stderr
        assert set(received_ids(emu)) == set(range(30_000))


def test_ctrl_c_just_after_batches_were_handed_out_still_raises_keyboardinterrupt(
        emu: Emulator) -> None:
    # the interrupt lands while the batches of the first chunk are queued on the event loop
    # but have not run a step: they are cancelled unstarted, and must be reported "not sent"
    # while KeyboardInterrupt (not a CancelledError) reaches the caller
    hec = HEC(api_key=KEY, ingest_url=emu.url, thread_count=4, batch_max_events=256)
    engine = hec.session_manager.engine

    def events() -> Iterator[dict]:
        for i in range(10 * 2048):
            if i == 2048:  # the sender asks for the second chunk: Ctrl-C now
                engine._on_sigint(signal.SIGINT, None)
            yield {"id": i}

    for _ in range(5):
        emu.reset()
        with pytest.raises(KeyboardInterrupt):
            hec.send(events())
        report = hec.last_report
        assert report.interrupted and report.total >= 2048  # the first chunk was taken whole
        failed = [f.index for f in report.failed]
        assert len(set(failed)) == len(failed) == report.failed_count  # each event once
        assert set(failed) <= set(range(report.total))
        delivered = set(range(report.total)) - set(failed)
        assert len(delivered) == report.delivered
        assert delivered <= {e["event"]["id"] for e in emu.events}  # and they did arrive
        reasons = set(report.failure_reasons())
        assert reasons <= {"interrupted before it was sent",
                           "interrupted before the collector confirmed it",
                           "interrupted before the collector confirmed it (the collector may "
                           "have received it)"}, reasons
    hec.close()
