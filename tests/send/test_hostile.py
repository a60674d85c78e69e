"""Both promises against servers, proxies and processes that misbehave (issue 13).

Each test names the case of the issue it holds: the API key never leaks (1-4), every event is
delivered or reported (5-11). The other side is ``tests/hostile.py``: a real loopback server
that answers whatever the test tells it to (echoes, redirects, trickles, stalls, deep JSON, odd
status codes), or the emulator where a polite collector is needed.
"""

from __future__ import annotations

import _thread
import base64
import copy
import gzip
import logging
import os
import pickle
import signal
import ssl
import subprocess
import sys
import threading
import traceback
import urllib.parse
from pathlib import Path

import httpx
import orjson
import pytest
import trustme
from conftest import KEY
from hostile import HostileServer, Reply, Request, deep_json, echo_headers, hec, huge, redirect

from hecnb import HEC, ConfigError, IngestConfig
from hecnb.emulator import Emulator

FAST = {"backoff_base": 0.005, "backoff_max": 0.02}
SECRET = "SeCrEt-" + "4b1d9e0c7a" * 3 + "-QQZV"  # recognisable, and unlike anything else
AUTH = f"Bearer {SECRET}"


def events(n: int) -> list[dict]:
    return [{"id": i, "message": f"event {i}"} for i in range(n)]


def leaks(text: str) -> bool:
    """True when ``text`` holds the key, the Authorization value or a base64 form of either."""
    forms = [SECRET, base64.b64encode(SECRET.encode()).decode()[:-4],
             base64.b64encode(AUTH.encode()).decode()[:-4], urllib.parse.quote(SECRET)]
    return any(f in text for f in forms)


def cli(*args: str, key: str = SECRET, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGSIEM_")}
    env["NGSIEM_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "hecnb.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


# -- 1. the server echoes the key ---------------------------------------------------------------
def _echo_everywhere(request: Request) -> Reply:
    """401 whose text holds the Authorization value, its base64 and URL-encoded forms, and a
    header that repeats it."""
    auth = request.headers.get("authorization", "")
    key = auth.partition(" ")[2]
    text = (f"invalid token {auth} (b64 {base64.b64encode(auth.encode()).decode()}, "
            f"url {urllib.parse.quote(key, safe='')}, again {key})")
    reply = hec(401, text, 4)
    reply.headers = [("Content-Type", "application/json"), ("X-Echo", auth),
                     ("WWW-Authenticate", f'Bearer error="{key}"')]
    reply.reason = f"Unauthorized {auth}"
    return reply


def test_1_an_echoed_key_is_kept_nowhere(hostile: HostileServer, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    hostile.handler = _echo_everywhere
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log what the server sent, too
    hec_ = HEC(api_key=SECRET, ingest_url=hostile.url, debug=True, sanitize_log=False)
    report = hec_.send(events(5))
    assert report.failed_count == 5 and report.failed[0].status == 401
    dead = tmp_path / "dead.ndjson"
    report.write_dead_letter(dead)
    check = hec_.check_connection()
    assert not check.ok and check.status == 401
    seen = [f.reason for f in report.failed] + [
        str(report), repr(report), report._repr_html_(), str(report.to_dict()),
        str(hec_.last_message), dead.read_text(), str(check), check._repr_html_(),
        str(hec_.last_message), caplog.text]
    for i, text in enumerate(seen):
        assert not leaks(text), f"#{i}: {text[:300]!r}"
    assert "invalid token Bearer ****QQZV" in report.failed[0].reason  # still readable
    hec_.close()

    src = tmp_path / "e.ndjson"
    src.write_text('{"a": 1}\n')
    for args in (["send", str(src), "--url", hostile.url, "--debug", "--no-progress",
                  "--dead-letter", str(tmp_path / "cli-dead.ndjson")],
                 ["test-connection", "--url", hostile.url]):
        out = cli(*args)
        assert out.returncode == 1, out.stderr
        assert not leaks(out.stdout + out.stderr), out.stdout + out.stderr
    assert not leaks((tmp_path / "cli-dead.ndjson").read_text())


def test_1_an_echo_in_a_success_a_redirect_or_junk_is_cleaned_and_capped(
        hostile: HostileServer) -> None:
    other = HostileServer().start()
    try:
        answers = iter([echo_headers, lambda r: redirect(f"{other.url}?k={SECRET}"),
                        lambda r: Reply(500, ("x" * 70_000 + SECRET).encode())])
        hostile.handler = lambda r: next(answers)(r)
        hec_ = HEC(api_key=SECRET, ingest_url=hostile.url, retry_count=0, **FAST)
        ok = hec_.send([{"a": 1}])
        assert ok.ok and not leaks(str(ok)) and not leaks(str(hec_.last_message))
        moved = hec_.send([{"a": 2}])
        (reason,) = moved.failure_reasons()
        assert "redirected the request to" in reason and not leaks(reason)
        assert other.requests == []  # never followed: the key would have gone along
        big = hec_.send([{"a": 3}])
        (reason,) = big.failure_reasons()
        assert len(reason) < 500 and not leaks(reason)  # capped, and cut before the key
        hec_.close()
    finally:
        other.stop()


# -- 2. a proxy --------------------------------------------------------------------------------
def test_2_an_http_target_never_goes_through_an_environment_proxy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileServer() as proxy, Emulator(host="127.0.0.2", api_key=SECRET) as emu:
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(var, proxy.proxy_url)
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(var, raising=False)
        assert emu.url.startswith("http://127.0.0.2:")
        with HEC(api_key=SECRET, ingest_url=emu.url) as hec_:
            report = hec_.send(events(20))
            assert hec_.check_connection().ok
        assert report.ok and emu.wait_for(21)
        assert proxy.requests == [], "the proxy received the request (and the key in clear)"


def test_2_proxy_keyword_tunnels_https_and_sees_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    tunnel = Reply(tunnel=True)
    with Emulator(api_key=SECRET, tls=server) as emu, HostileServer(lambda r: tunnel) as proxy:
        with HEC(api_key=SECRET, ingest_url=emu.url, verify=client,
                 proxy=proxy.proxy_url) as hec_:
            assert hec_.send(events(10)).ok
        assert [r.method for r in proxy.requests] == ["CONNECT"]
        assert SECRET.encode() not in proxy.requests[0].head
        # the environment's proxy (trust_env) serves https targets the same way
        proxy.requests.clear()
        monkeypatch.setenv("HTTPS_PROXY", proxy.proxy_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with HEC(api_key=SECRET, ingest_url=emu.url, verify=client) as hec_:
            assert hec_.send(events(10)).ok
        assert [r.method for r in proxy.requests] == ["CONNECT"]
        # and proxy=False ignores it
        proxy.requests.clear()
        with HEC(api_key=SECRET, ingest_url=emu.url, verify=client, proxy=False) as hec_:
            assert hec_.send(events(10)).ok
        assert proxy.requests == []
        assert emu.wait_for(30)


def test_2_a_proxy_for_an_http_target_is_refused_and_a_proxy_password_is_masked() -> None:
    with pytest.raises(ConfigError, match="only used for https"):
        HEC(api_key=SECRET, ingest_url="http://127.0.0.1:8088/services/collector",
            proxy="http://proxy.example:3128")
    with pytest.raises(ConfigError, match="http:// or https://"):
        HEC(api_key=SECRET, api_url_key="abc", proxy="ftp://proxy.example")
    h = HEC(api_key=SECRET, api_url_key="abc", proxy="http://me:pr0xy-pa55@proxy.example:3128")
    assert h.proxy == "http://me:pr0xy-pa55@proxy.example:3128"
    shown = repr(h.ingest_config) + str(vars(h.ingest_config)) + str(h.ingest_config.describe())
    assert "pr0xy-pa55" not in shown and "me:****@proxy.example" in shown


# -- 3. the key in locals and attributes ----------------------------------------------------------
class _Boom(httpx.AsyncBaseTransport):
    """A transport that fails deep inside a send with an unexpected error."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == AUTH  # it did get the key
        raise ValueError("boom deep in the transport")


def test_3_no_frame_local_of_a_failing_send_shows_the_key() -> None:
    from _pytest._code import ExceptionInfo

    hec_ = HEC(api_key=SECRET, ingest_url="http://127.0.0.1:9/services/collector",
               transport=_Boom())
    with pytest.raises(ValueError, match="boom") as caught:
        hec_.send(events(3))
    exc = caught.value
    frames = traceback.TracebackException.from_exception(exc, capture_locals=True)
    text = "".join(frames.format())
    assert "_exchange" in text and "run" in text  # deep: from the engine down into httpx
    assert not leaks(text), [line for line in text.splitlines() if leaks(line)][:5]
    pytest_l = str(ExceptionInfo.from_exception(exc).getrepr(showlocals=True, style="long"))
    assert "headers" in pytest_l and not leaks(pytest_l)
    hec_.close()


def test_3_the_key_is_in_no_attribute_copy_or_pickle() -> None:
    cfg = IngestConfig(SECRET, ingest_url="https://abc.ingest.us-1.crowdstrike.com")
    assert not leaks(str(vars(cfg))) and not leaks(repr(cfg))
    assert not leaks(str(vars(copy.copy(cfg)))) and copy.deepcopy(cfg) == cfg
    data = pickle.dumps(cfg)
    assert SECRET.encode() not in data
    again = pickle.loads(data)  # what unpickling gives: a configuration without the key
    assert again.ingest_key is None and again.ingest_url == cfg.ingest_url
    with pytest.raises(ConfigError, match="never pickled"):
        again.require_key()
    h = HEC(api_key=SECRET, api_url_key="abc")
    assert h.hec_headers["Authorization"] == AUTH  # FalconPy's contract: the real value
    assert not leaks(repr(h.hec_headers)) and not leaks(str(vars(h)))
    assert h.ingest_key == SECRET  # asked for by name, it is given


# -- 4. a key with a non-ASCII character --------------------------------------------------------
@pytest.mark.parametrize("bad", ["\u201d", "\u200b", "\x00", "\u00e9"])
def test_4_a_key_that_cannot_go_into_a_header_is_refused_at_construction(
        bad: str, hostile: HostileServer) -> None:
    key = SECRET[:10] + bad + SECRET[10:]
    with pytest.raises(ConfigError) as caught:
        HEC(api_key=key, ingest_url=hostile.url)
    message = str(caught.value)
    assert "position 11 of" in message and f"U+{ord(bad):04X}" in message
    assert SECRET[:10] not in message and SECRET[10:] not in message and not leaks(message)
    assert hostile.requests == []


# -- 5. a deeply nested (or junk) answer ---------------------------------------------------------
def test_5_a_deeply_nested_answer_is_delivered_never_an_exception(
        hostile: HostileServer) -> None:
    hostile.handler = lambda r: deep_json(100_000)
    with HEC(api_key=SECRET, ingest_url=hostile.url, retry_count=0) as hec_:
        report = hec_.send(events(10))
        assert report.ok and report.delivered == 10  # the collector said 200
        assert report.warnings  # but not the answer an HEC gives: said so
        assert hec_.check_connection().ok
        hostile.handler = lambda r: deep_json(30_000, status=400)
        failed = hec_.send(events(2))
        assert failed.failed_count == 2 and "HTTP 400" in failed.failed[0].reason


@pytest.mark.parametrize("body", [b'{"text": 5, "code": "x"}', b"[1, 2]", b'"a string"',
                                  b"\xff\xfe junk", b'{"text": {"deep": [[[]]]}}', b"null"])
def test_5_answers_of_the_wrong_shape_are_reasons(hostile: HostileServer, body: bytes) -> None:
    hostile.handler = lambda r: Reply(400, body, {"Content-Type": "application/json"})
    with HEC(api_key=SECRET, ingest_url=hostile.url) as hec_:
        report = hec_.send(events(3))
        check = hec_.check_connection()
    assert report.failed_count == 3 and report.failed[0].reason.startswith("HTTP 400")
    assert check.status == 400 and not check.ok


# -- 6. Ctrl-C while a request is on the wire ----------------------------------------------------
def test_6_ctrl_c_while_a_request_is_on_the_wire_counts_it_possibly_received(
        hostile: HostileServer) -> None:
    # the server reads the whole request, then never answers: an interrupt now must count
    # the request as possibly received, so a resend may duplicate it
    hostile.handler = lambda r: Reply(stall=True)

    def interrupt() -> None:
        hostile.wait_for(1)
        _thread.interrupt_main()

    threading.Thread(target=interrupt, daemon=True).start()
    with HEC(api_key=SECRET, ingest_url=hostile.url, ingest_timeout=60) as hec_:
        with pytest.raises(KeyboardInterrupt):
            hec_.send(events(10))
        report = hec_.last_report
    assert report.interrupted and report.failed_count == 10
    assert report.possible_duplicates == 10
    assert {f.reason for f in report.failed} == {
        "interrupted before the collector confirmed it (the collector may have received it)"}


# -- 7. SIGTERM and SIGHUP to the CLI --------------------------------------------------------------
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_7_sigterm_and_sighup_write_the_dead_letter(tmp_path: Path, hostile: HostileServer,
                                                    sig: signal.Signals) -> None:
    # what kill, systemd, Docker and a closing terminal send: handled as Ctrl-C is
    src = tmp_path / "events.ndjson"
    src.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(5000)))
    dead = tmp_path / "dead.ndjson"
    hostile.handler = lambda r: Reply(stall=True)  # requests go out, no answer comes
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGSIEM_")}
    env["NGSIEM_API_KEY"] = KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "hecnb.cli", "send", str(src), "--url", hostile.url,
         "--batch-events", "500", "--timeout", "60", "--no-progress", "--dead-letter",
         str(dead)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert hostile.wait_for(1, timeout=30)  # a request is on the wire
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, err
    assert "interrupted" in err and "hecnb resend" in err
    records = [orjson.loads(line) for line in dead.read_bytes().splitlines()]
    listed = sum(1 for r in records if "payload" in r)
    tail = [5000 - r["from_line"] for r in records if "unread_file" in r]
    assert listed + sum(tail) == 5000  # nothing was confirmed: all of it is in the dead letter
    got: list[int] = []
    lock = threading.Lock()

    def accept(r: Request) -> Reply:
        with lock:
            got.extend(e["event"]["id"] for e in r.events)
        return hec()

    hostile.handler = accept
    res = subprocess.run([sys.executable, "-m", "hecnb.cli", "resend", str(dead), "--url",
                          hostile.url, "--no-progress"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert sorted(got) == list(range(5000))


# -- 8. the timeout is a deadline; answers are read bounded ----------------------------------------
def test_8_a_trickling_answer_is_cut_at_the_deadline(hostile: HostileServer) -> None:
    # one byte every 20 ms: each read makes progress, so a per-read timeout never fires
    answer = hec(200, "Success " + "." * 150)
    answer.trickle = 0.02
    hostile.handler = lambda r: answer
    with HEC(api_key=SECRET, ingest_url=hostile.url, ingest_timeout=0.3, retry_count=0) as h:
        report = h.send(events(3))
    hostile.stop()  # ends the trickle if it is still writing
    (reason,) = report.failure_reasons()
    assert "timeout" in reason and "ingest_timeout=0.3" in reason
    assert "may have received" in reason and report.possible_duplicates == 3
    record = hostile.answers[0]
    assert record.total is not None and record.written < record.total


def test_8_a_stalled_answer_is_cut_at_the_deadline(hostile: HostileServer) -> None:
    hostile.handler = lambda r: Reply(stall=True)
    with HEC(api_key=SECRET, ingest_url=hostile.url, ingest_timeout=0.2, retry_count=0) as h:
        report = h.send(events(2))
        check = h.check_connection()
    assert "timeout" in report.failed[0].reason and "timeout" in check.reason


def test_8_a_huge_answer_is_read_bounded(hostile: HostileServer) -> None:
    size = 128 * 1024 * 1024
    hostile.handler = lambda r: huge(size)
    with HEC(api_key=SECRET, ingest_url=hostile.url, retry_count=0) as h:
        report = h.send(events(3))
        assert h.check_connection().ok
    hostile.stop()
    assert all(a.written < 32 * 1024 * 1024 for a in hostile.answers), [
        a.written for a in hostile.answers]
    assert report.ok and report.warnings  # a 200, though not an HEC answer


def test_8_a_status_then_a_stalled_or_broken_body_keeps_the_status(
        hostile: HostileServer) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/json\r\n\r\n"
    answers = iter([Reply(raw=head + b'{"text": "Succ', close_after=len(head) + 14),
                    Reply(raw=head + b"{", trickle=0.0)])
    hostile.handler = lambda r: next(answers)
    with HEC(api_key=SECRET, ingest_url=hostile.url, ingest_timeout=0.5, retry_count=0) as h:
        cut = h.send(events(2))  # the connection breaks in the body: the 200 still stands
        stalled = h.send(events(2))  # the body never completes: the 200 still stands
    assert cut.ok and cut.delivered == 2
    assert stalled.ok and stalled.delivered == 2


def test_8_a_gzip_bomb_answer_is_not_inflated_whole(hostile: HostileServer) -> None:
    from hostile import gzip_body

    bomb = gzip_body(b"\0" * (200 * 1024 * 1024))  # 200 MB of zeros in about 200 KB
    hostile.handler = lambda r: Reply(503, bomb, {"Content-Encoding": "gzip"})
    with HEC(api_key=SECRET, ingest_url=hostile.url, retry_count=0) as h:
        report = h.send(events(1))
    assert report.failed[0].status == 503 and len(report.failed[0].reason) < 500


# -- 9. permanent failures stop the send --------------------------------------------------------
def test_9_a_403_stops_a_file_send_and_the_rest_is_not_sent(hostile: HostileServer,
                                                             tmp_path: Path) -> None:
    hostile.handler = lambda r: hec(403, "Invalid token", 4)
    src = tmp_path / "big.ndjson"
    src.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(10_000)))
    with HEC(api_key=SECRET, ingest_url=hostile.url, batch_max_events=50, thread_count=1,
             max_in_flight=2) as h:
        report = h.send_file(src)
    assert len(hostile.requests) <= 2, len(hostile.requests)  # what was in flight, no more
    assert report.stopped and "HTTP 403" in report.stopped and not report.ok
    reasons = report.failure_reasons()
    assert any(r.startswith("HTTP 403") for r in reasons)
    assert any(r.startswith("not sent: stopped after HTTP 403") for r in reasons)
    assert report.unread is not None and report.unread[1] < 10_000  # the rest never read
    assert report.delivered + report.failed_count == report.total == report.unread[1]
    assert "STOPPED after a permanent failure, the rest not sent" in str(report)
    assert f"not read from line {report.unread[1] + 1:,}" in str(report)
    # fixed (here: the collector relents), a resend sends exactly the rest, file tail too
    hostile.handler = lambda r: hec()
    before = len(hostile.requests)
    with HEC(api_key=SECRET, ingest_url=hostile.url) as h:
        again = h.resend(report)
    got = sorted(e["event"]["id"] for r in hostile.requests[before:] for e in r.events)
    assert again.ok and again.delivered == 10_000 and got == list(range(10_000))


@pytest.mark.parametrize("status", [401, 404, 405])
def test_9_a_permanent_answer_stops_a_list_send(hostile: HostileServer, status: int) -> None:
    hostile.handler = lambda r: hec(status, "no", 2)
    with HEC(api_key=SECRET, ingest_url=hostile.url, batch_max_events=10, thread_count=1,
             max_in_flight=1) as h:
        report = h.send(events(1000))
    assert len(hostile.requests) == 1
    assert report.failed_count == 1000 == report.total and report.stopped
    not_sent = [f for f in report.failed if f.reason.startswith("not sent: stopped after")]
    assert len(not_sent) == 990 and all(f.status is None for f in not_sent)
    assert h.last_status == status


def test_9_a_permanent_answer_stops_a_dataframe_send(hostile: HostileServer) -> None:
    pd = pytest.importorskip("pandas")
    hostile.handler = lambda r: hec(404, "not here", None)
    frame = pd.DataFrame({"id": range(30_000), "user": ["u"] * 30_000})
    with HEC(api_key=SECRET, ingest_url=hostile.url, batch_max_events=100, thread_count=1,
             max_in_flight=1) as h:
        report = h.send(frame)
    assert len(hostile.requests) == 1
    assert report.failed_count == 30_000 == report.total
    assert sorted(f.index for f in report.failed) == list(range(30_000))


def test_9_a_collector_answering_413_to_everything_costs_a_few_requests(
        hostile: HostileServer) -> None:
    hostile.handler = lambda r: hec(413, "Content too large", None)
    with HEC(api_key=SECRET, ingest_url=hostile.url, thread_count=1, max_in_flight=1) as h:
        report = h.send(events(1000))  # one batch of 1,000: halving costs one path down
    assert len(hostile.requests) <= 12, len(hostile.requests)  # not 2 x 1,000 - 1
    assert report.failed_count == 1000 and report.stopped and "single event" in report.stopped


def test_9_one_event_too_large_for_a_collector_that_accepts_the_rest(
        hostile: HostileServer) -> None:
    def limited(r: Request) -> Reply:
        return hec(413, "too large", None) if len(r.body) > 2000 else hec()

    hostile.handler = limited
    evs = events(40)
    evs[25]["blob"] = "z" * 5000
    with HEC(api_key=SECRET, ingest_url=hostile.url, batch_max_events=10, thread_count=1,
             max_in_flight=1) as h:
        report = h.send(evs)
    assert report.delivered == 39 and [f.index for f in report.failed] == [25]
    assert report.stopped is None


# -- 10. status codes ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_10_any_2xx_is_delivered(hostile: HostileServer, status: int) -> None:
    hostile.handler = lambda r: Reply(status, b"") if status == 204 else hec(status)
    with HEC(api_key=SECRET, ingest_url=hostile.url) as h:
        report = h.send(events(5))
        check = h.check_connection()
    assert report.ok and report.delivered == 5 and not report.warnings
    assert check.ok and check.status == status


def test_10_a_200_with_a_nonzero_hec_code_is_delivered_logged_and_reported(
        hostile: HostileServer, caplog: pytest.LogCaptureFixture) -> None:
    hostile.handler = lambda r: hec(200, "Data channel is missing", 10)
    with HEC(api_key=SECRET, ingest_url=hostile.url, batch_max_events=5) as h:
        report = h.send(events(20))
    assert report.delivered == 20
    (message, n), = report.warnings.items()
    assert n == 4 and "HEC code 10" in message and "Data channel is missing" in message
    assert "WARNING (4 times): HTTP 200 with HEC code 10" in str(report)
    assert "Warning" in report._repr_html_() and "code 10" in report._repr_html_()
    assert [r for r in caplog.records if r.levelno == logging.WARNING and "code 10" in
            r.getMessage()]


def test_10_invalid_event_number_must_be_a_number(hostile: HostileServer) -> None:
    hostile.handler = lambda r: hec(400, "Invalid data format", 6,
                                    **{"invalid-event-number": True})
    with HEC(api_key=SECRET, ingest_url=hostile.url) as h:
        report = h.send(events(4))
    # True is no event number: nothing is set aside on its word, nothing sent again
    assert len(hostile.requests) == 1 and report.failed_count == 4


# -- 11. TLS ---------------------------------------------------------------------------------
def test_11_a_certificate_that_does_not_verify_is_permanent() -> None:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    with Emulator(api_key=SECRET, tls=server) as emu, HEC(
            api_key=SECRET, ingest_url=emu.url, retry_count=3, batch_max_events=10,
            thread_count=1, max_in_flight=1, **FAST) as h:
        report = h.send(events(100))
    assert [b.attempts for b in report.batches if b.attempts] == [1]  # no retries
    assert report.stopped and "could not be verified" in report.stopped
    assert report.failed_count == 100


def test_11_https_to_a_plain_http_port_says_it_may_be_plain_http(
        hostile: HostileServer) -> None:
    with HEC(api_key=SECRET, ingest_url=hostile.https_url, retry_count=3, **FAST) as h:
        report = h.send(events(3))
        check = h.check_connection()
    (reason,) = report.failure_reasons()
    assert "plain http" in reason and "()" not in reason
    assert report.retries == 0 and "plain http" in check.reason


# -- the connection dropped before any answer: retried, counted -----------------------------------
def test_a_connection_closed_before_the_status_is_retried_and_counted(
        hostile: HostileServer) -> None:
    answers = iter([Reply(raw=b"", close_after=0), hec()])
    hostile.handler = lambda r: next(answers)
    with HEC(api_key=SECRET, ingest_url=hostile.url, **FAST) as h:
        report = h.send(events(4))
    assert report.ok and report.retries == 1 and report.possible_duplicates == 4
    assert len(hostile.requests) == 2 and gzip.decompress(hostile.requests[0].raw_body)


def test_9_the_cli_stops_at_a_wrong_key_and_says_so_once(hostile: HostileServer,
                                                         tmp_path: Path) -> None:
    hostile.handler = lambda r: hec(403, "Invalid token", 4)
    src = tmp_path / "e.ndjson"
    src.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(1000)))
    out = cli("send", str(src), "--url", hostile.url, "--batch-events", "50", "--threads", "1",
              "--in-flight", "1", "--no-progress")
    assert out.returncode == 1
    assert len(hostile.requests) == 1
    lines = [line for line in out.stderr.splitlines() if line.startswith("  ")]
    assert len(lines) == 2, out.stderr  # one per reason, not a screen of identical lines
    assert lines[0].startswith("  50 lines from line 1: HTTP 403")
    assert lines[1].startswith("  950 lines from line 51: not sent: stopped after HTTP 403")
    assert "STOPPED after a permanent failure" in out.stdout


def test_2_the_cli_takes_a_proxy_but_not_its_password(tmp_path: Path) -> None:
    out = cli("test-connection", "--url", "https://abc.ingest.us-1.crowdstrike.com",
              "--proxy", "http://me:s3cret-pw@proxy.example:3128")
    assert out.returncode == 2 and "HTTPS_PROXY" in out.stderr
    assert "s3cret-pw" not in out.stdout + out.stderr
    out = cli("test-connection", "--url", "http://127.0.0.1:9/services/collector",
              "--proxy", "http://proxy.example:3128")
    assert out.returncode == 2 and "only used for https" in out.stderr


def test_9_a_resend_that_meets_a_permanent_failure_stops_too(hostile: HostileServer,
                                                              tmp_path: Path) -> None:
    src = tmp_path / "e.ndjson"
    src.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(5000)))
    hostile.handler = lambda r: hec(503, "busy", 9)
    with HEC(api_key=SECRET, ingest_url=hostile.url, batch_max_events=100, retry_count=0,
             **FAST) as h:
        first = h.send(events(300))
        dead = tmp_path / "dead.ndjson"
        first.write_dead_letter(dead)
        with dead.open("ab") as fh:  # and a file tail, as an interrupt leaves one
            fh.write(orjson.dumps({"hecnb": "dead-letter/1", "unread_file": str(src),
                                   "from_line": 0, "raw": False}) + b"\n")
        hostile.handler = lambda r: hec(403, "Invalid token", 4)
        before = len(hostile.requests)
        again = h.resend(dead)
    assert len(hostile.requests) - before <= 4  # the window's worth, not every batch
    assert again.stopped and again.unread == (str(src), 0)
    assert again.failed_count == 300 and not again.ok
    assert again.delivered == 0 and again.total == 300  # none counted as delivered
