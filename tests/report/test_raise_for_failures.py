"""SendReport.raise_for_failures(): the error tree raised for real, against real sockets.

Each case is a server that does one thing wrong; the class, the attributes and the attached
report must say which, and nothing of the key may show.
"""

from __future__ import annotations

import pickle
import traceback

import pytest
from conftest import KEY
from hostile import HostileServer, Reply, hec

from hecnb import (
    HEC,
    HecAuthError,
    HecBusyError,
    HecResponseError,
    HecTransportError,
    SendError,
)
from hecnb.emulator import Emulator

FAST = {"backoff_base": 0.005, "backoff_max": 0.02}
EVENTS = [{"id": i, "message": f"event {i}"} for i in range(10)]


def _raised(client: HEC, events: list[dict[str, object]] = EVENTS) -> SendError:
    report = client.send(events, show_progress=False)
    assert not report.ok
    with pytest.raises(SendError) as info:
        report.raise_for_failures()
    assert info.value.report is report
    return info.value


def test_a_clean_send_returns_the_report_to_chain(emu: Emulator) -> None:
    with HEC(api_key=KEY, ingest_url=emu.url) as client:
        report = client.send(EVENTS, show_progress=False)
        assert report.raise_for_failures() is report
        assert report.delivered == 10


def test_a_refused_key_is_an_auth_error_without_the_key(emu: Emulator) -> None:
    wrong = "WrOnG-" + "9f8e7d6c5b" * 3
    with HEC(api_key=wrong, ingest_url=emu.url) as client:
        error = _raised(client)
    assert type(error) is HecAuthError
    assert error.status_code in (401, 403) and error.report.delivered == 0
    assert "10 of 10 events were not delivered" in str(error)
    assert "Fix: check the API key" in str(error)
    shown = "".join(traceback.TracebackException.from_exception(
        error, capture_locals=True).format())
    assert wrong not in shown and wrong not in repr(error.report) and wrong not in str(error)


def test_throttling_past_the_time_budget_is_a_busy_error(hostile: HostileServer) -> None:
    busy = hec(429, "Too many requests", 9)
    busy.headers["Retry-After"] = "1"
    hostile.handler = lambda request: busy
    with HEC(api_key=KEY, ingest_url=hostile.url, retry_max_elapsed=0.3, **FAST) as client:
        error = _raised(client)
    assert type(error) is HecBusyError and error.status_code == 429
    assert "retry_max_elapsed" in str(error)


def test_another_http_error_is_a_response_error_with_its_codes(hostile: HostileServer) -> None:
    hostile.handler = lambda request: hec(400, "Invalid data format", 6)
    with HEC(api_key=KEY, ingest_url=hostile.url, retry_count=0) as client:
        error = _raised(client)
    assert type(error) is HecResponseError
    assert (error.status_code, error.hec_code) == (400, 6)
    assert "Invalid data format" in error.text


def test_no_answer_at_all_is_a_transport_error(free_port: int) -> None:
    url = f"http://127.0.0.1:{free_port}/services/collector"
    with HEC(api_key=KEY, ingest_url=url, retry_count=0, **FAST) as client:
        error = _raised(client)
    assert type(error) is HecTransportError
    assert "check the URL" in str(error)


def test_events_that_never_went_out_are_a_plain_send_error(emu: Emulator) -> None:
    with HEC(api_key=KEY, ingest_url=emu.url) as client:
        error = _raised(client, [{"a": 1}, {"o": object()}, {"b": 2}])
    assert type(error) is SendError
    assert error.report.delivered == 2
    assert "1 of 3 events were not delivered" in str(error) and "cannot be encoded" in str(error)


def test_an_auth_failure_decides_even_when_other_failures_are_more(
        hostile: HostileServer) -> None:
    seen: list[int] = []

    def answer(request: object) -> Reply:
        seen.append(1)
        return hec(401, "Invalid token", 4) if len(seen) == 3 else hec(500, "oops", 8)

    hostile.handler = answer
    with HEC(api_key=KEY, ingest_url=hostile.url, retry_count=0, batch_max_events=1,
             max_in_flight=1, **FAST) as client:
        error = _raised(client)
    statuses = {b.status for b in error.report.batches if b.attempts}
    assert statuses >= {401, 500}
    assert type(error) is HecAuthError and error.status_code == 401


def test_the_error_pickles_with_its_report(hostile: HostileServer) -> None:
    hostile.handler = lambda request: hec(400, "Invalid data format", 6)
    with HEC(api_key=KEY, ingest_url=hostile.url, retry_count=0) as client:
        error = _raised(client)
    error.report.encoder = error.report.source = None  # the live parts a pickle cannot carry
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is HecResponseError and str(again) == str(error)
    assert (again.status_code, again.hec_code, again.text) == (400, 6, error.text)
    assert again.report.failed_count == 10
