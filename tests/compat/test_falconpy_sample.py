"""What FalconPy's sample ``samples/ngsiem/what_the_hec.py`` does, mode by mode, on hecnb.

Each test makes the collector as the sample does (``HTTPEventCollector`` with a URL key and
region, ``ingest_timeout=None``, its thread and retry counts; ``NGSIEM_INGEST_URL`` takes it to
the emulator), flips ``raw_ingest`` the way its ``set_ingest_destination`` does, and calls
hecnb with FalconPy's calling conventions: single events, single events from a thread pool, a
list with and without progress, a JSON file, and raw json/xml/csv files written with
``IngestPayload``. Every event must be at the emulator. (The sample itself is FalconPy's and is
not part of this repository.)
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import KEY

from hecnb import HTTPEventCollector, IngestPayload, TimeUnit
from hecnb.emulator import Emulator

THREADS = 270  # the sample's default --threads


def random_string(length: int) -> str:
    return secrets.token_hex(length)[:length].upper()


@pytest.fixture
def collector(emu: Emulator, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[tuple[HTTPEventCollector, Emulator]]:
    monkeypatch.setenv("NGSIEM_INGEST_URL", emu.url)
    with HTTPEventCollector(api_key=KEY, api_url_key="a1b2c3d4", ingest_format="json",
                            ingest_region="us1", ingest_timeunit="nanoseconds",
                            ingest_timeout=None, raw_ingest=False, debug=False,
                            sanitize_log=True, thread_count=THREADS, retry_count=5) as hec:
        yield hec, emu


def payloads(n: int) -> list[dict]:
    return [{"host": random_string(8), "message": random_string(20),
             "fields": {"#falconpy": "HEC testing"}} for _ in range(n)]


def hosts_at(emu: Emulator) -> list[str]:
    return sorted(e["event"]["host"] for e in emu.events)


def all_arrived_once_or_resent(emu: Emulator, sent: list[str]) -> None:
    """Every event arrived; a second copy only where its request was sent again (a retry
    after an answer that came too late: FalconPy's at-least-once, too), never lost."""
    hosts = hosts_at(emu)
    assert set(hosts) == set(sent)
    assert len(hosts) - len(sent) <= emu.stats["requests"] - len(sent)


def test_connectivity_test(collector) -> None:
    hec, _ = collector
    assert hec.test_connection()


def test_single_import(collector) -> None:
    hec, emu = collector
    hec.raw_ingest = False
    sent = payloads(5)
    for payload in sent:
        hec.send_event(payload)
    all_arrived_once_or_resent(emu, [p["host"] for p in sent])
    assert all(e["fields"] == {"#falconpy": "HEC testing"} for e in emu.events)


def test_single_import_async(collector) -> None:
    hec, emu = collector
    sent = payloads(540)
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="thread") as executor:
        futures = executor.map(hec.send_event, sent)
        success_count = sum(1 for future in futures if future == 200)
    assert success_count == 540
    all_arrived_once_or_resent(emu, [p["host"] for p in sent])


def test_list_import(collector) -> None:
    hec, emu = collector
    event_list = payloads(3000)
    returned = hec.send_event_list(event_list)
    assert f"Run complete with {returned:,} events processed." == (
        "Run complete with 3,000 events processed.")
    assert hosts_at(emu) == sorted(p["host"] for p in event_list)


def test_list_import_with_progress(collector) -> None:
    hec, emu = collector
    hec.batch_max_events = 500  # several requests, so several counts (hecnb's own keyword)
    event_list = payloads(3000)
    lines = []
    returned = 0
    for returned in hec.send_event_list(event_list, True):
        lines.append(f"Processed {returned:,} events")
    hec.log_activity(f"EVENT LIST: Processing of {len(event_list)} events completed with "
                     f"{returned} successes")
    assert lines[-1] == "Processed 3,000 events" and len(lines) == 6
    assert f"{returned:,}" == "3,000"
    assert hosts_at(emu) == sorted(p["host"] for p in event_list)


@pytest.mark.parametrize("show_progress", [False, True])
def test_json_import(collector, tmp_path: Path, show_progress: bool) -> None:
    hec, emu = collector
    path = tmp_path / "events.json"
    path.write_text(json.dumps(payloads(1200)), encoding="utf-8")
    with open(path, encoding="utf-8") as json_input:
        event_list = json.load(json_input)
    if show_progress:
        for returned in hec.send_event_list(event_list, show_progress):  # noqa: B007 - as the
            pass  # sample: it prints each count, then reads the last one after the loop
    else:
        returned = hec.send_event_list(event_list)
    assert f"{returned:,}" == "1,200"
    assert hosts_at(emu) == sorted(p["host"] for p in event_list)


def generate_raw_file(path: Path, count: int, fmt: str, wrap: bool) -> list[str]:
    """The sample's raw_import(generate=True) loop, verbatim in what it calls."""
    hosts = []
    with open(path, "w", encoding="utf-8") as generated:
        for _ in range(count):
            tstamp = int(datetime.now(timezone.utc).timestamp() * TimeUnit["NANOSECONDS"].value)
            payload = IngestPayload(host=random_string(8), message=random_string(20),
                                    timestamp=tstamp)
            hosts.append(payload.host)
            if fmt == "json":
                generated.write(f"{payload.to_json(raw=True, nowrap=not wrap)}\n")
            elif fmt == "csv":
                output = payload.to_csv().split("\n")
                generated.write(f"{output[1]}\n")
            elif fmt == "xml":
                generated.write(f"{payload.to_xml(raw=True, nowrap=not wrap)}\n")
    return hosts


def parse_raw_line(fmt: str, wrap: bool, line: str) -> dict:
    if fmt == "json":
        event = json.loads(line)
        return event["event"] if wrap else event
    if fmt == "xml":
        return {child.tag: child.text for child in ElementTree.fromstring(line)}
    (row,) = csv.reader(io.StringIO(line))
    return dict(zip(["host", "timestamp", "timeunit", "message"], row, strict=True))


# the sample always wraps xml (a line without a root element is not well formed) and csv has no
# wrapping; -w turns wrapping off for json
@pytest.mark.parametrize(("fmt", "wrap"), [("json", True), ("json", False), ("xml", True),
                                           ("csv", True)])
def test_raw_import(collector, tmp_path: Path, fmt: str, wrap: bool) -> None:
    hec, emu = collector
    hec.ingest_format = fmt  # the sample's -f
    path = tmp_path / f"events.{fmt}"
    hosts = generate_raw_file(path, 400, fmt, wrap)
    hec.raw_ingest = True  # set_ingest_destination(hec, True)
    response = hec.send_event_file(str(path))
    assert response == 200
    got = [parse_raw_line(fmt, wrap, e["raw"]) for e in emu.events]
    assert sorted(e["host"] for e in got) == sorted(hosts)
    assert {e["timeunit"] for e in got} == {"nanoseconds"}
    assert all(len(e["message"]) == 20 for e in got)
    assert len(emu.events) == 400 and all(set(e) == {"raw"} for e in emu.events)  # raw route


def test_debug_log_to_a_file(emu: Emulator, monkeypatch: pytest.MonkeyPatch,
                             tmp_path: Path) -> None:
    """-d -df FILE: logging.basicConfig to a file, then debug=True; the key stays masked."""
    import logging

    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    monkeypatch.setenv("NGSIEM_INGEST_URL", emu.url)
    try:
        with HTTPEventCollector(api_key=KEY, api_url_key="a1b2c3d4", ingest_timeout=None,
                                debug=True, sanitize_log=False, thread_count=None,
                                retry_count=5) as hec:
            assert hec.file_log == 2
            for payload in payloads(3):
                assert hec.send_event(payload) == 200
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    text = log_file.read_text()
    assert "HTTP EVENT COLLECTOR: Instance created" in text and "EVENT PROCESSED" in text
    assert KEY not in text and f"Bearer ****{KEY[-4:]}" in text
    assert len(emu.events) == 3
