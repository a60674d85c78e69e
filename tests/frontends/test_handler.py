"""HECHandler: log records arrive at the emulator as events, from many threads, through an
outage and a full queue, at close and at interpreter exit, configured by dictConfig, and never
feed back into themselves."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY

import hecnb
from hecnb import ConfigError, HECHandler
from hecnb.emulator import Emulator


def until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Wait for a condition (not a timing assertion: the timeout only bounds a failure)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


class Capture(logging.Handler):
    """Keeps the records themselves, to compare with what arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A logger of this test's own, detached from the root, emptied afterwards."""
    log = logging.getLogger(f"hecnb-test.{request.node.name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()


def handler(url: str, **kwargs: Any) -> HECHandler:
    kwargs.setdefault("flush_interval", 0.02)
    return HECHandler(api_key=KEY, ingest_url=url, **kwargs)


def arrived(emu: Emulator) -> list[dict[str, Any]]:
    return [e["event"] for e in emu.events]


# --------------------------------------------------------------------------- what an event holds


def test_a_record_becomes_an_event_with_everything_it_carries(emu: Emulator,
                                                              logger: logging.Logger) -> None:
    h = handler(emu.url, host="web-01", fields={"#source": "billing"})
    capture = Capture()
    logger.addHandler(h)
    logger.addHandler(capture)
    before = time.time_ns()
    logger.warning("disk %s is %d%% full", "/var", 93, extra={"free_gb": 3, "tags": ["a"]})
    after = time.time_ns()
    assert h.flush() and emu.wait_for(1)
    (envelope,) = emu.events
    event, record = envelope["event"], capture.records[0]
    assert envelope["fields"] == {"#source": "billing"}
    assert event["message"] == "disk /var is 93% full"
    assert (event["level"], event["levelno"], event["logger"]) == ("WARNING", 30, logger.name)
    assert event["host"] == "web-01" and event["timeunit"] == "nanoseconds"
    assert before - 1000 <= event["timestamp"] <= after + 1000  # the record's time, not the send's
    assert abs(event["timestamp"] - round(record.created * 1e9)) <= 1000
    assert event["timestamp"] // 1_000_000 % 1000 == int(record.msecs)
    assert (event["module"], event["func"]) == ("test_handler", record.funcName)
    assert event["line"] == record.lineno and event["file"] == __file__
    assert event["thread"] == threading.current_thread().name
    assert event["thread_id"] == threading.get_ident() and event["process"] == os.getpid()
    assert event["extra"] == {"free_gb": 3, "tags": ["a"]}
    assert "exc_info" not in event


def test_the_formatter_shapes_the_message_and_the_unit_follows_the_hec(
        emu: Emulator, logger: logging.Logger) -> None:
    h = handler(emu.url, ingest_timeunit="milliseconds", host="")
    h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(h)
    capture = Capture()
    logger.addHandler(capture)
    logger.info("hello")
    assert h.flush() and emu.wait_for(1)
    event = arrived(emu)[0]
    assert event["message"] == f"INFO {logger.name}: hello"
    assert event["timeunit"] == "milliseconds" and "host" not in event
    assert event["timestamp"] == round(capture.records[0].created * 1000)


def test_an_exception_arrives_with_its_traceback(emu: Emulator, logger: logging.Logger) -> None:
    h = handler(emu.url)
    logger.addHandler(h)

    def inner() -> None:
        raise KeyError("token")

    try:
        inner()
    except KeyError:
        logger.exception("lookup failed")
    logger.error("no exception here", exc_info=True)  # exc_info=True outside an except
    logger.info("where am I", stack_info=True)
    assert h.flush() and emu.wait_for(3)
    by_message = {e["message"]: e for e in arrived(emu)}  # two may share a timestamp
    failed, plain, stacked = (by_message[m] for m in ("lookup failed", "no exception here",
                                                      "where am I"))
    assert failed["exc_type"] == "KeyError"
    tb = failed["exc_info"]
    assert tb.startswith("Traceback (most recent call last):")
    assert 'in inner\n    raise KeyError("token")' in tb and tb.endswith("KeyError: 'token'")
    assert failed["message"] == "lookup failed"  # the traceback is in exc_info, not repeated
    assert "exc_type" not in plain and "exc_info" not in plain
    assert stacked["stack_info"].startswith("Stack (most recent call last):")


def test_extra_values_are_sent_as_they_were_when_logged(emu: Emulator,
                                                        logger: logging.Logger) -> None:
    h = handler(emu.url, flush_interval=3600)  # nothing goes before the flush
    logger.addHandler(h)

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    state = {"step": 1}
    logger.info("one", extra={"state": state, "thing": Opaque(), "when": time.gmtime(0)})
    state["step"] = 2  # changed after logging: the event keeps what was logged
    assert h.flush() and emu.wait_for(1)
    extra = arrived(emu)[0]["extra"]
    assert extra["state"] == {"step": 1} and extra["thing"] == "<Opaque thing>"
    assert extra["when"][0] == 1970


# ------------------------------------------------------------------------------- many threads


def test_thousands_of_records_from_threads_arrive_exactly(emu: Emulator,
                                                          logger: logging.Logger) -> None:
    h = handler(emu.url, queue_size=50_000, batch_size=400)
    logger.addHandler(h)
    threads, per_thread = 8, 1500
    go = threading.Event()

    def work(t: int) -> None:
        go.wait()
        for i in range(per_thread):
            logger.info("record %d of thread %d", i, t, extra={"rid": t * per_thread + i})

    pool = [threading.Thread(target=work, args=(t,), name=f"app-{t}") for t in range(threads)]
    for th in pool:
        th.start()
    go.set()
    for th in pool:
        th.join()
    total = threads * per_thread
    assert h.flush() and emu.wait_for(total)
    events = arrived(emu)
    ids = Counter(e["extra"]["rid"] for e in events)
    assert len(events) == total and set(ids) == set(range(total))
    assert max(ids.values()) == 1  # each exactly once
    assert {e["thread"] for e in events} == {f"app-{t}" for t in range(threads)}
    stats = h.stats
    assert stats["delivered"] == stats["accepted"] == total
    assert stats["dropped"] == stats["failed"] == stats["queued"] == 0
    assert stats["batches"] < total / 10  # batched, not one request per record


# ----------------------------------------------------------------------- a collector that is away


def test_records_wait_while_the_collector_is_down_and_arrive_once_it_is_back(
        free_port: int, logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    emu = Emulator(api_key=KEY, port=free_port)  # not started: nothing listens yet
    h = handler(emu.url, retry_count=0, outage_retry_max=0.2)
    logger.addHandler(h)
    try:
        for i in range(300):
            logger.info("queued %d", i, extra={"rid": i})
        assert until(lambda: h.stats["retries"] >= 3)  # tried, failed, kept
        stats = h.stats
        assert stats["delivered"] == 0 and stats["failed"] == 0 and stats["queued"] == 300
        assert h.flush(timeout=0.2) is False  # a flush says it could not deliver
        err = capsys.readouterr().err
        assert err.count("cannot deliver log records to") == 1 and "connection refused" in err
        emu.start()  # the collector comes (back)
        assert emu.wait_for(300)
        assert h.flush()
        assert sorted(e["extra"]["rid"] for e in arrived(emu)) == list(range(300))
        assert "the collector answers again" in capsys.readouterr().err
        # and once more: stopped and restarted on the same port while records keep coming
        emu.stop()
        tried = h.stats["retries"]
        for i in range(300, 400):
            logger.info("during the restart %d", i, extra={"rid": i})
        assert until(lambda: h.stats["retries"] >= tried + 2)
        emu.start()
        assert emu.wait_for(400) and h.flush()
        assert sorted(e["extra"]["rid"] for e in arrived(emu)) == list(range(400))
        assert h.stats["failed"] == h.stats["dropped"] == 0
    finally:
        logger.removeHandler(h)
        h.close()
        emu.stop()


def test_a_full_queue_counts_what_it_drops_and_says_so_once(
        free_port: int, logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    emu = Emulator(api_key=KEY, port=free_port)
    h = handler(emu.url, queue_size=50, retry_count=0, outage_retry_max=0.2)
    logger.addHandler(h)
    try:
        for i in range(80):
            logger.info("r%d", i, extra={"rid": i})
        stats = h.stats
        assert (stats["accepted"], stats["dropped"], stats["queued"]) == (50, 30, 50)
        assert capsys.readouterr().err.count("the queue is full (50 records") == 1
        emu.start()
        assert emu.wait_for(50) and h.flush()
        assert sorted(e["extra"]["rid"] for e in arrived(emu)) == list(range(50))
        logger.info("room again", extra={"rid": 80})  # a new run of drops would be told anew
        assert h.flush() and emu.wait_for(51)
        assert h.stats["dropped"] == 30
    finally:
        logger.removeHandler(h)
        h.close()
        emu.stop()
    assert "30 dropped because the queue was full" in capsys.readouterr().err


def test_what_the_collector_refuses_for_good_is_counted_not_retried(
        logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator(api_key="another-key-0123456789") as emu:
        h = handler(emu.url)
        logger.addHandler(h)
        for i in range(20):
            logger.info("r%d", i)
        assert h.flush()  # settled: failed for good, not waiting
        stats = h.stats
        assert stats["failed"] == 20 and stats["retries"] == 0 and stats["delivered"] == 0
        (reason,) = stats["failure_reasons"]
        assert "403" in reason
        assert h.last_report is not None and not h.last_report.ok
    err = capsys.readouterr().err
    assert "20 log records could not be delivered: HTTP 403" in err
    assert KEY not in err and KEY not in repr(h) and KEY not in str(h.stats)
    assert KEY not in str(h.last_report)


# ------------------------------------------------------------------------------ flush and close


def test_close_delivers_what_is_queued(emu: Emulator, logger: logging.Logger) -> None:
    h = handler(emu.url, flush_interval=3600)  # only close sends
    logger.addHandler(h)
    for i in range(1000):
        logger.info("r%d", i, extra={"rid": i})
    assert h.stats["delivered"] == 0
    logger.removeHandler(h)
    h.close()
    assert emu.wait_for(1000)
    assert sorted(e["extra"]["rid"] for e in arrived(emu)) == list(range(1000))
    worker = h._worker  # the thread that sent them has ended
    assert worker is not None and worker.name == "hecnb-send-logs" and not worker.is_alive()


def test_close_with_the_collector_away_gives_up_after_the_timeout_and_says_what_failed(
        free_port: int, logger: logging.Logger, capsys: pytest.CaptureFixture[str]) -> None:
    h = handler(f"http://127.0.0.1:{free_port}/services/collector", retry_count=0,
                outage_retry_max=0.2, flush_timeout=0.5)
    logger.addHandler(h)
    for i in range(10):
        logger.info("r%d", i)
    logger.removeHandler(h)
    h.close()
    stats = h.stats
    assert stats["failed"] == 10 and stats["queued"] == 0
    (reason,) = stats["failure_reasons"]
    assert reason.startswith("not delivered before the handler was closed: the collector was "
                             "away (connection refused")
    err = capsys.readouterr().err
    assert "10 log records could not be delivered" in err
    assert "closed: 0 log records delivered, 10 failed" in err
    logger.addHandler(h)
    logger.info("too late")  # after close: counted and told, not queued
    assert h.stats["after_close"] == 1 and "after the handler was closed" in \
        capsys.readouterr().err


EXIT_SCRIPT = """
import atexit, logging, sys, threading
import hecnb
url, n = sys.argv[1], int(sys.argv[2])
handler = hecnb.HECHandler(api_key={key!r}, ingest_url=url, flush_interval=3600)
logging.basicConfig(level=logging.INFO, handlers=[handler])
log = logging.getLogger("exiting")
def work(start):
    for i in range(start, start + n // 2):
        log.info("r%d", i, extra={{"rid": i}})
t = threading.Thread(target=work, args=(0,))
t.start(); work(n // 2); t.join()
atexit.register(lambda: log.info("from atexit", extra={{"rid": -1}}))
print("logged", handler.stats["delivered"])
"""


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_interpreter_exit_loses_nothing_that_was_queued(emu: Emulator, tmp_path: Path,
                                                        host: str) -> None:
    """No close, no flush: the script just ends. ``localhost`` needs a name lookup, which a
    plain logging.shutdown() at exit could no longer make."""
    script = tmp_path / "exiting.py"
    script.write_text(EXIT_SCRIPT.format(key=KEY))
    url = emu.url.replace("127.0.0.1", host)
    out = subprocess.run([sys.executable, str(script), url, "3000"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "logged 0"  # nothing had gone before the exit
    assert out.stderr == ""
    assert emu.wait_for(3001)
    ids = sorted(e["extra"]["rid"] for e in arrived(emu))
    assert ids == [-1, *range(3000)]  # including a record logged by an atexit function


def test_dictconfig_builds_the_handler_from_a_class_path(emu: Emulator,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGSIEM_API_KEY", KEY)  # the key from the environment, not the file
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"short": {"format": "%(levelname)s|%(message)s"}},
        "handlers": {"ngsiem": {
            "class": "hecnb.HECHandler", "level": "INFO", "formatter": "short",
            "ingest_url": emu.url, "queue_size": 1000, "batch_size": 50,
            "flush_interval": 0.05, "fields": {"#app": "dictconfig"}}},
        "loggers": {"dictconfig-app": {"handlers": ["ngsiem"], "level": "DEBUG",
                                       "propagate": False}},
    }
    logging.config.dictConfig(config)
    log = logging.getLogger("dictconfig-app")
    (h,) = log.handlers
    try:
        assert isinstance(h, HECHandler) and h.queue_size == 1000 and h.level == logging.INFO
        log.debug("below the handler's level")
        log.info("configured")
        assert h.flush() and emu.wait_for(1)
        (envelope,) = emu.events
        assert envelope["event"]["message"] == "INFO|configured"
        assert envelope["fields"] == {"#app": "dictconfig"}
    finally:
        log.removeHandler(h)
        h.close()
    bad = dict(config, handlers={"ngsiem": {"class": "hecnb.HECHandler", "ingest_url": emu.url,
                                            "queue_sise": 5}})
    with pytest.raises(ValueError, match="Unable to configure handler 'ngsiem'") as info:
        logging.config.dictConfig(bad)
    assert "Did you mean 'queue_size'?" in str(info.value.__cause__)


def test_bad_keywords_say_what_is_wrong(emu: Emulator) -> None:
    with pytest.raises(ConfigError, match=r"unknown keyword 'flush_timout'\. Did you mean "
                       "'flush_timeout'"):
        HECHandler(api_key=KEY, ingest_url=emu.url, flush_timout=3)
    with pytest.raises(ConfigError, match="queue_size must be a whole number of at least 1"):
        HECHandler(api_key=KEY, ingest_url=emu.url, queue_size=0)
    with pytest.raises(ConfigError, match="No API key"):
        HECHandler(ingest_url=emu.url)


# ---------------------------------------------------------------------------------- feedback


def test_its_own_sending_does_not_feed_back(emu: Emulator) -> None:
    """On the root logger at DEBUG, httpx and httpcore log every request the handler makes;
    those records must not become events (each would make another request)."""
    root = logging.getLogger()
    old_level = root.level
    h = handler(emu.url)
    root.addHandler(h)
    root.setLevel(logging.DEBUG)
    try:
        for i in range(5):
            logging.getLogger("app").info("r%d", i)
        assert h.flush()
        assert until(lambda: h.stats["ignored"] > 0)  # httpx did log the requests
        for i in range(5, 10):
            logging.getLogger("app").info("r%d", i)
        assert h.flush() and emu.wait_for(10)
        stats = h.stats
    finally:
        root.removeHandler(h)
        root.setLevel(old_level)
        h.close()
    events = arrived(emu)
    assert [e["message"] for e in events] == [f"r{i}" for i in range(10)]
    assert {e["logger"] for e in events} == {"app"}
    assert stats["delivered"] == 10 and emu.stats["events"] == 10


def test_the_key_is_masked_in_the_repr(emu: Emulator) -> None:
    h = handler(emu.url)
    try:
        text = repr(h)
        assert KEY not in text and "api_key='****" + KEY[-4:] + "'" in text
        assert emu.url in text
    finally:
        h.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_sends_its_own_records_only(emu: Emulator, tmp_path: Path) -> None:
    script = tmp_path / "forking.py"
    script.write_text(textwrap.dedent(f"""
        import logging, multiprocessing as mp, sys
        import hecnb
        h = hecnb.HECHandler(api_key={KEY!r}, ingest_url=sys.argv[1], flush_interval=3600)
        log = logging.getLogger("fork"); log.addHandler(h); log.setLevel(logging.INFO)
        log.info("parent before", extra={{"who": "parent"}})   # queued, not sent yet
        def child():
            log.info("child", extra={{"who": "child"}})
            assert h.flush(), h.stats
        p = mp.get_context("fork").Process(target=child); p.start(); p.join()
        assert p.exitcode == 0
        h.close()
    """))
    out = subprocess.run([sys.executable, str(script), emu.url], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert emu.wait_for(2)
    assert sorted(e["extra"]["who"] for e in arrived(emu)) == ["child", "parent"]  # once each
    assert json.dumps(emu.stats["events"]) == "2"


def test_handler_is_public_and_lazy() -> None:
    assert hecnb.HECHandler is HECHandler
    code = "import sys, hecnb; print('hecnb.handler' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_a_handler_that_fails_to_build_leaves_nothing_for_exit(tmp_path: Path) -> None:
    """logging keeps every handler it has seen built and flushes it at exit: a handler whose
    construction failed must not be among them (an error at exit would follow)."""
    script = tmp_path / "bad.py"
    script.write_text(textwrap.dedent(f"""
        import hecnb, sys
        keep = []
        for kwargs in ({{"ingest_url": "http://127.0.0.1:9/services/collector"}},
                       {{"api_key": {KEY!r}, "ingest_url": "http://127.0.0.1:9/x",
                        "level": "LOUD"}}):
            try:
                hecnb.HECHandler(**kwargs)
            except (hecnb.ConfigError, ValueError) as exc:
                keep.append(exc)  # the traceback holds the half-made handler
                sys.last_value = exc
        print(len(keep))
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "2", out.stderr
    assert out.stderr == ""


def test_no_exception_is_sent_where_there_was_none() -> None:
    """``exc_info=True`` outside an ``except`` gives ``(None, None, None)``; a handler that ran
    first (pytest's own, a StreamHandler) may have cached "NoneType: None" as the record's
    text. Neither is an exception. A record rebuilt with only a text keeps that text."""
    from hecnb._source.logrecords import record_event

    def event(record: logging.LogRecord, formatter: logging.Formatter | None) -> dict[str, Any]:
        return record_event(record, formatter=formatter, host="h", fields={},
                            timeunit="nanoseconds", per_second=10**9)["event"]

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "plain", None, (None, None, None))
    logging.Formatter().format(record)  # another handler formatted it first
    assert record.exc_text == "NoneType: None"
    for formatter in (None, logging.Formatter("%(message)s")):
        assert not {"exc_type", "exc_info"} & set(event(record, formatter))
    rebuilt = logging.makeLogRecord({"msg": "from a socket", "exc_text": "Traceback ...\nKeyError"})
    assert event(rebuilt, None)["exc_info"] == "Traceback ...\nKeyError"
