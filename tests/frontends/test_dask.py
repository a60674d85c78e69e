"""hecnb.dask: a Dask DataFrame sent from a real LocalCluster's worker processes, one report.

The cluster (2 worker processes, 1 thread each, loopback only) gets the key the way a real one
should: in the workers' environment (``LocalCluster(env=...)``), never through the scheduler;
this test process itself has no ``NGSIEM_API_KEY`` (see conftest).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cloudpickle
import pandas as pd
import pytest
from conftest import KEY, in_ci

try:
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin
except ImportError:  # pragma: no cover - the dev extra installs them; CI must have them
    if in_ci():
        raise
    pytest.skip("needs dask[dataframe,distributed]: pip install -e '.[dev]'",
                allow_module_level=True)

import hecnb.dask
import hecnb.dask.task
from hecnb import HEC, ConfigError, ConversionError
from hecnb.dask import DaskSendReport, KeyFromFile, PartitionFailedEvent, send_dask
from hecnb.emulator import Emulator, Faults

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", env={"NGSIEM_API_KEY": KEY}) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster: LocalCluster) -> Iterator[Client]:
    with Client(cluster) as c:
        yield c


def frame(n: int, partitions: int) -> dd.DataFrame:
    """``n`` rows with a unique ``uid`` each, in ``partitions`` partitions."""
    df = pd.DataFrame({"uid": [f"u{i:06d}" for i in range(n)],
                       "user": [f"user{i % 37}" for i in range(n)],
                       "bytes": range(n)})
    return dd.from_pandas(df, npartitions=partitions, sort=False)


def arrived(emu: Emulator) -> Counter[str]:
    """How many times each uid is at the collector."""
    return Counter(e["event"]["uid"] for e in emu.events)


def test_import_hecnb_does_not_import_dask_and_hecnb_dask_registers_the_accessor() -> None:
    code = ("import sys, hecnb; print(sorted(m for m in ('dask', 'distributed') "
            "if m in sys.modules)); import hecnb.dask, dask.dataframe as dd; "
            "print(hasattr(dd.DataFrame, 'to_ngsiem'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True"]


def test_every_row_arrives_exactly_once_in_one_report(client: Client, emu: Emulator) -> None:
    ddf = frame(20_000, 4)
    report = ddf.to_ngsiem({"ingest_url": emu.url}, host="dask-test", event_id="hecnb_id",
                           show_progress=False)
    assert isinstance(report, DaskSendReport) and report.ok, report
    assert report.total == report.delivered == 20_000 and report.failed_count == 0
    assert [p.partition for p in report.partitions] == [0, 1, 2, 3]
    assert [p.total for p in report.partitions] == [5_000] * 4
    workers = set(client.scheduler_info()["workers"])
    assert report.workers and set(report.workers) <= workers
    assert all(p.attempts == 1 for p in report.partitions) and report.rerun_partitions == []
    assert report.possible_duplicates == 0 and report.requests >= 4
    assert report.bytes_sent > 0 and report.elapsed > 0
    assert "20,000 of 20,000 events delivered" in str(report)
    assert "4 partitions on" in str(report) and "Partitions" in report._repr_html_()
    assert emu.wait_for(20_000)
    events = [e["event"] for e in emu.events]
    counts = Counter(e["uid"] for e in events)
    assert len(events) == 20_000 and max(counts.values()) == 1
    assert set(counts) == {f"u{i:06d}" for i in range(20_000)}
    assert {e["host"] for e in events} == {"dask-test"}
    # the id is <data token>-<partition>-<row in the partition>: it locates the row
    token = dask.base.tokenize(ddf)[:12]
    for e in events:
        tok, part, row = e["hecnb_id"].rsplit("-", 2)
        assert tok == token and e["uid"] == f"u{int(part) * 5_000 + int(row):06d}"
    frame_ = report.partitions_frame()
    assert frame_["delivered"].tolist() == [5_000] * 4 and frame_["error"].isna().all()


def test_event_ids_are_the_same_when_the_data_is_sent_again(client: Client,
                                                            emu: Emulator) -> None:
    ddf = frame(3_000, 3)
    ids: list[dict[str, str]] = []
    for _ in range(2):
        emu.reset()
        assert send_dask(ddf, {"ingest_url": emu.url}, event_id="hecnb_id",
                         columns=["uid"], show_progress=False).ok
        assert emu.wait_for(3_000)
        events = [e["event"] for e in emu.events]
        # columns= picks what is sent, and the id is kept
        assert sorted(events[0]) == ["hecnb_id", "timestamp", "timeunit", "uid"]
        ids.append({e["uid"]: e["hecnb_id"] for e in events})
    assert ids[0] == ids[1] and len(set(ids[0].values())) == 3_000


def test_content_ids_survive_repartitioning_and_slicing(client: Client, emu: Emulator) -> None:
    ids: list[dict[str, str]] = []
    for ddf in (frame(3_000, 3), frame(3_000, 5), frame(3_000, 5).partitions[[1, 3]]):
        emu.reset()
        report = send_dask(ddf, {"ingest_url": emu.url}, event_id="hecnb_id",
                           event_id_from="content", show_progress=False)
        assert report.ok and emu.wait_for(report.total)
        ids.append({e["event"]["uid"]: e["event"]["hecnb_id"] for e in emu.events})
    assert ids[0] == ids[1] and len(set(ids[0].values())) == 3_000
    assert ids[2] and ids[2].items() <= ids[0].items()
    assert all(re.fullmatch(r"[0-9a-f]{16}", v) for v in ids[0].values())
    with pytest.raises(ConfigError, match="event_id_from must be"):
        send_dask(frame(10, 1), {"ingest_url": emu.url}, event_id="i", event_id_from="hash")


def test_preview_shows_the_text_and_the_id_of_the_first_rows(client: Client) -> None:
    ddf = frame(100, 2)
    text = ddf.to_ngsiem.preview(2, event_id="hecnb_id")
    token = dask.base.tokenize(ddf)[:12]
    lines = text.splitlines()
    assert len(lines) == 2 and f'"hecnb_id":"{token}-0-1"' in lines[1]
    assert '"uid":"u000000"' in lines[0]
    header = ddf.to_ngsiem.preview(1, "csv").splitlines()[0]
    assert header == '"timestamp","timeunit","uid","user","bytes"'


class _TaskSpecs(SchedulerPlugin):
    """Keeps the pickled spec of every task the scheduler hands to a worker."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.specs: list[bytes] = []

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "processing":
            self.specs.append(cloudpickle.dumps(self.scheduler.tasks[key].run_spec))


def test_the_key_is_in_no_task_spec_event_or_log(client: Client, cluster: LocalCluster,
                                                 emu: Emulator, tmp_path: Path) -> None:
    assert "NGSIEM_API_KEY" not in os.environ  # this process never had it
    assert set(client.run(lambda: os.environ.get("NGSIEM_API_KEY") == KEY).values()) == {True}
    spy = _TaskSpecs(cluster.scheduler)
    cluster.scheduler.add_plugin(spy, name="hecnb-test-specs")
    try:
        ddf = frame(4_000, 2)
        assert send_dask(ddf, {"ingest_url": emu.url}, event_id="hecnb_id",
                         show_progress=False).ok
        # a task that fails: its arguments are written to the worker's log ("Compute Failed")
        not_a_dir = tmp_path / "file"
        not_a_dir.write_text("")
        emu.faults = Faults(error_503_rate=1.0)
        broken = send_dask(ddf, {"ingest_url": emu.url, "retry_count": 0},
                           dead_letter_dir=not_a_dir, show_progress=False)
    finally:
        cluster.scheduler.remove_plugin(name="hecnb-test-specs")
    assert broken.failed_partitions == [0, 1] and not broken.ok
    assert "FileExistsError" in broken.errors[0] and broken.total == 0
    assert any(b"_send_partition" in spec for spec in spy.specs)
    secret = KEY.encode()
    assert spy.specs and not any(secret in spec for spec in spy.specs)
    logs = [client.get_worker_logs(), client.get_worker_logs(nanny=True),
            client.get_scheduler_logs(), client.get_events()]
    text = repr(logs)
    assert "Compute Failed" in text and "_send_partition" in text  # the args were logged...
    assert KEY not in text and KEY[-8:] not in text  # ...and hold no key
    client.dump_cluster_state(str(tmp_path / "state"), format="yaml")  # scheduler + workers
    dump = next(tmp_path.glob("state*")).read_text()
    assert "_send_partition" in dump and KEY not in dump
    assert KEY not in repr(broken) and KEY not in repr(broken.partitions)


def test_without_the_key_on_the_workers_nothing_is_sent(client: Client, emu: Emulator) -> None:
    ddf = frame(100, 2)
    with pytest.raises(ConfigError, match=r"HECNB_TEST_UNSET, which is not set on "
                       r"tcp://127\.0\.0\.1:\d+, tcp://127\.0\.0\.1:\d+\. hecnb never puts"):
        send_dask(ddf, {"ingest_url": emu.url}, key_env="HECNB_TEST_UNSET")
    with pytest.raises(ConfigError, match="key would travel in the task graph"):
        send_dask(ddf, {"ingest_url": emu.url, "api_key": KEY})
    with pytest.raises(ConfigError, match="never takes the API key"):
        send_dask(ddf, {"ingest_url": emu.url}, api_key=KEY)
    with pytest.raises(ConfigError, match="name of an environment variable"):
        send_dask(ddf, {"ingest_url": emu.url}, key_env="not a name")
    with pytest.raises(ConfigError, match="Did you mean 'host'"):
        send_dask(ddf, {"ingest_url": emu.url}, hots="x")
    with pytest.raises(ConversionError, match="timestamp_column='when' is not a column"):
        send_dask(ddf, {"ingest_url": emu.url}, timestamp_column="when")
    with pytest.raises(ConfigError, match="already a column"):
        send_dask(ddf, {"ingest_url": emu.url}, event_id="uid")
    with pytest.raises(TypeError, match=r"use df\.to_ngsiem"):
        send_dask(ddf.compute(), {"ingest_url": emu.url})
    assert emu.stats["requests"] == 0


def test_settings_come_from_an_hec_but_its_key_stays_here(client: Client, emu: Emulator) -> None:
    with HEC(api_key="a-driver-key-the-workers-never-see", ingest_url=emu.url,
             ingest_format="csv", batch_max_events=100) as hec:
        report = send_dask(frame(1_000, 2), hec, show_progress=False)
    assert report.ok and report.ingest_format == "csv" and report.requests == 10
    assert emu.wait_for(1_000) and len(arrived(emu)) == 1_000  # the emulator takes KEY only


def test_failures_come_back_capped_or_as_dead_letters_and_resend_exactly(
        client: Client, emu: Emulator, tmp_path: Path) -> None:
    ddf = frame(2_000, 2)
    settings = {"ingest_url": emu.url, "retry_count": 0, "batch_max_events": 250}
    emu.faults = Faults(error_503_rate=1.0)
    capped = send_dask(ddf, settings, failed_limit=10, show_progress=False)
    assert not capped.ok and capped.total == 2_000 and capped.delivered == 0
    assert capped.failed_count == 2_000 and capped.unlisted_failed == 1_980
    assert len(capped.failed) == 20 and all(isinstance(f, PartitionFailedEvent)
                                            for f in capped.failed)
    assert sorted({f.partition for f in capped.failed}) == [0, 1]
    assert sum(capped.failure_reasons().values()) == 2_000
    assert "2,000 FAILED" in str(capped) and "hecnb SendReport: failures" in capped._repr_html_()
    assert list(capped.failed_frame().columns[:2]) == ["partition", "index"]
    assert capped.write_dead_letter(tmp_path / "listed.ndjson") == 20

    dead = send_dask(ddf, settings, dead_letter_dir=tmp_path / "dl", show_progress=False)
    assert dead.failed == [] and dead.failed_count == dead.unlisted_failed == 2_000
    assert len(dead.dead_letters) == 2 and not dead.ok and "2,000 FAILED" in str(dead)
    lines = [ln for p in dead.dead_letters for ln in Path(p).read_text().splitlines()]
    assert len(lines) == 2_000

    emu.faults = None
    emu.reset()
    with HEC(api_key=KEY, ingest_url=emu.url) as hec:
        resent = [hec.resend(p, show_progress=False) for p in dead.dead_letters]
        again = hec.resend(capped, show_progress=False)  # from the report: its 20 listed
    assert all(r.ok for r in resent) and sum(r.delivered for r in resent) == 2_000
    assert again.ok and again.delivered == 20
    assert emu.wait_for(2_020)
    counts = arrived(emu)
    assert set(counts) == {f"u{i:06d}" for i in range(2_000)} and sum(counts.values()) == 2_020


def test_key_from_a_file_on_the_workers(client: Client, emu: Emulator, tmp_path: Path) -> None:
    secret_file = tmp_path / "ngsiem_api_key"
    secret_file.write_text(KEY + "\n")
    plugin = KeyFromFile(secret_file, key_env="HECNB_TEST_FILE_KEY")
    assert KEY.encode() not in cloudpickle.dumps(plugin)  # only the path travels
    client.register_plugin(plugin)
    try:
        report = send_dask(frame(500, 2), {"ingest_url": emu.url},
                           key_env="HECNB_TEST_FILE_KEY", show_progress=False)
    finally:
        client.unregister_worker_plugin(plugin.name)
    assert report.ok and emu.wait_for(500)


def test_an_explicit_client_need_not_be_the_default(cluster: LocalCluster, emu: Emulator,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import distributed.client

    def no_default() -> None:
        raise ValueError("No clients found")

    with Client(cluster, set_as_default=False) as other:
        monkeypatch.setattr(distributed.client, "default_client", no_default)
        report = send_dask(frame(1_000, 2), {"ingest_url": emu.url}, client=other,
                           show_progress=False)
    assert report.ok and report.delivered == 1_000 and emu.wait_for(1_000)


def test_on_the_local_scheduler_too(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGSIEM_API_KEY", KEY)
    with dask.config.set(scheduler="threads"):
        report = send_dask(frame(3_000, 3), {"ingest_url": emu.url}, show_progress=False)
    assert report.ok and report.delivered == 3_000 and len(report.partitions) == 3
    assert report.workers == [f"{socket.gethostname()}:{os.getpid()}"]
    assert emu.wait_for(3_000) and max(arrived(emu).values()) == 1
    monkeypatch.delenv("NGSIEM_API_KEY")
    with dask.config.set(scheduler="threads"), pytest.raises(ConfigError, match="not set"):
        send_dask(frame(10, 1), {"ingest_url": emu.url})


def test_a_worker_killed_mid_send_still_delivers_every_row_at_least_once(
        client: Client, emu: Emulator) -> None:
    """Each request is held 0.4 s; one worker is killed (SIGKILL) while it sends."""
    n = 12_000
    ddf = frame(n, 6)
    emu.faults = Faults(delay=0.4)
    settings = {"ingest_url": emu.url, "batch_max_events": 500, "thread_count": 2,
                "ingest_timeout": 30}
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(send_dask, ddf, settings, event_id="hecnb_id",
                              show_progress=False)
        assert emu.wait_for(500, timeout=30)  # a first batch is stored: sends are under way
        victim = next(addr for addr, keys in client.processing().items()
                      if any(str(k).startswith("hecnb-send-") for k in keys))
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        report = running.result(timeout=90)
    try:
        assert report.total == report.delivered == n and report.ok, report
        assert report.rerun_partitions, "the killed worker's partition ran again"
        assert emu.wait_for(n)
        events = [e["event"] for e in emu.events]
        counts = Counter(e["uid"] for e in events)
        assert set(counts) == {f"u{i:06d}" for i in range(n)}  # every row at least once
        duplicates = sum(c - 1 for c in counts.values())
        assert duplicates <= report.possible_duplicates
        # a duplicate carries the same id, and comes from a partition that ran again
        ids: dict[str, set[str]] = {}
        for e in events:
            ids.setdefault(e["uid"], set()).add(e["hecnb_id"])
        assert all(len(v) == 1 for v in ids.values())
        twice = {int(next(iter(ids[u])).rsplit("-", 2)[1]) for u, c in counts.items() if c > 1}
        assert twice <= set(report.rerun_partitions)
    finally:
        client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_public_names() -> None:
    assert set(hecnb.dask.__all__) == {"DaskNgsiemAccessor", "DaskSendReport", "KeyFromFile",
                                       "PartitionFailedEvent", "PartitionResult", "send_dask"}


def test_partitions_of_one_worker_share_its_tls_context_not_their_clients() -> None:
    import ssl

    first = hecnb.dask.task._worker_settings({"verify": True, "ingest_url": "https://x"})["verify"]
    again = hecnb.dask.task._worker_settings({"verify": True})["verify"]
    assert isinstance(first, ssl.SSLContext) and first is again
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert hecnb.dask.task._worker_settings({"verify": "/ca.pem"}) == {"verify": "/ca.pem"}


def test_content_ids_of_rows_holding_dicts_and_lists() -> None:
    df = pd.DataFrame({"a": [{"x": 1, "y": 2}, {"x": 2}, {"y": 2, "x": 1}],
                       "b": [[1], [2], [1]], "c": [1.0, None, 1.0]})
    ids = hecnb.dask.task._with_event_ids(df, "id", "", "content")["id"].tolist()
    assert ids[0] == ids[2] != ids[1] and list(df.columns) == ["a", "b", "c"]


def test_import_hecnb_registers_ddf_to_ngsiem_whichever_is_imported_first() -> None:
    for code in ("import hecnb, sys; import dask.dataframe as dd",
                 "import dask.dataframe as dd, sys; import hecnb"):
        code += ("; print(hasattr(dd.DataFrame, 'to_ngsiem'), 'distributed' in sys.modules, "
                 "'hecnb.dask.send' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        # light: the accessor is registered, but neither distributed nor hecnb.dask's sending
        # side is imported until the first call
        assert out.stdout.split() == ["True", "False", "False"], code


def test_the_readmes_call_destination_keywords_as_keywords(client: Client,
                                                            emu: Emulator) -> None:
    """``ddf.to_ngsiem(ingest_url=..., event_id=...)``: HEC keywords go to the destination,
    the rest to the converter, as ``df.to_ngsiem`` takes them."""
    ddf = frame(2_000, 2)
    report = ddf.to_ngsiem(ingest_url=emu.url, event_id="hecnb_id", batch_max_events=100,
                           host="kw", show_progress=False)
    assert report.ok and report.delivered == 2_000 and report.requests >= 20
    assert emu.wait_for(2_000) and {e["event"]["host"] for e in emu.events} == {"kw"}
    assert report.time_column is None and "no time field found" in str(report)
    # keywords change a settings dict, or an HEC's settings (its key stays here)
    with HEC(api_key="not-the-workers-key-123", ingest_url="http://127.0.0.1:9/services/"
             "collector", batch_max_bytes=4096) as hec:
        again = send_dask(ddf, hec, ingest_url=emu.url, show_progress=False)
    assert again.ok and again.requests > 20  # batch_max_bytes came from the HEC
    with pytest.raises(ConfigError, match="never takes the API key"):
        ddf.to_ngsiem(ingest_url=emu.url, api_key=KEY)
    with pytest.raises(ConfigError, match=r"unknown keyword 'ingest_urll'\. Did you mean "
                                          r"'ingest_url'"):
        ddf.to_ngsiem(ingest_urll=emu.url)


def test_each_rows_time_in_the_merged_report(client: Client, emu: Emulator) -> None:
    df = pd.DataFrame({"uid": [f"t{i}" for i in range(400)],
                       "ts": [1693958400.5 + i for i in range(399)] + [None]})
    report = dd.from_pandas(df, npartitions=2, sort=False).to_ngsiem(
        ingest_url=emu.url, show_progress=False)
    assert report.ok and report.time_fields == {"ts": 399} and report.time_fallback == 1
    assert "event time from 'ts'; 1 event without a readable time" in str(report)
    assert emu.wait_for(400)
    got = {e["event"]["uid"]: e for e in emu.events}
    assert got["t3"]["event"]["timestamp"] == 1693958403500000000
    assert got["t3"]["time"] == 1693958403.5
