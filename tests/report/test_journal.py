"""The journal: a send killed at any instant resumes with only what the collector did not
confirm, every event arrives at least once, and the duplicates are no more than the report
says were in flight. Damaged journals, other files, changed files, gzip, many files, frames.

The emulator runs in this process; the sender, in a child process, is what gets killed.
"""

from __future__ import annotations

import collections
import gzip
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from conftest import KEY

from hecnb import HEC, ConfigError, SendReport
from hecnb._report.journal import (
    Journal,
    Positions,
    Ranges,
    file_identity,
    frame_identity,
    journal_dir,
    journal_for,
    to_ranges,
)
from hecnb.emulator import Emulator, Faults

N = 20_000
BATCH = 200  # events per request: many requests, so a kill lands among them


def write_lines(path: Path, n: int = N, *, gz: bool = False, start: int = 0) -> Path:
    data = b"".join(orjson.dumps({"n": i, "pad": "x" * 40}) + b"\n"
                    for i in range(start, start + n))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def received(emu: Emulator) -> collections.Counter[int]:
    out: collections.Counter[int] = collections.Counter()
    for e in emu.events:
        out[orjson.loads(e["raw"])["n"] if "raw" in e else e["event"]["n"]] += 1
    return out


def hec_for(emu: Emulator, **kw: object) -> HEC:
    return HEC(api_key=KEY, ingest_url=emu.url, batch_max_events=BATCH, **kw)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGSIEM_")}
    env["NGSIEM_API_KEY"] = KEY
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


# -- the pieces ----------------------------------------------------------------------------------
def test_ranges_merge_count_and_complement() -> None:
    r = Ranges([[10, 20], [0, 5], [5, 7], [30, 40]])
    assert list(r) == [(0, 7), (10, 20), (30, 40)]
    assert len(r) == 27 and 6 in r and 7 not in r and 39 in r and 40 not in r
    r.add(7, 10)
    assert list(r) == [(0, 20), (30, 40)]
    assert r.overlap(15, 35) == 10 and r.overlap(20, 30) == 0
    assert r.missing(50) == [(20, 30), (40, 50)]
    assert list(Ranges([[0, 50]]).minus(r)) == [(20, 30), (40, 50)]
    assert to_ranges(range(3, 9)) == [[3, 9]]
    assert to_ranges([1, 2, 4, 5, 9]) == [[1, 3], [4, 6], [9, 10]]


def test_positions_map_a_resumed_runs_rows_back_to_the_source() -> None:
    p = Positions([(5, 8), (20, 22)])
    assert len(p) == 5 and [p[i] for i in range(5)] == [5, 6, 7, 20, 21]
    assert p.runs(1, 5) == [[6, 8], [20, 22]]
    assert p.flat().tolist() == [5, 6, 7, 20, 21]


def test_resume_journals_live_in_the_state_directory(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path)}
    assert journal_dir(env, "linux") == tmp_path / "hecnb" / "journals"
    assert journal_dir({"LOCALAPPDATA": "C:/L"}, "win32") == Path("C:/L/hecnb/journals")
    one = journal_for(["a.json"], env)
    assert one.parent == tmp_path / "hecnb" / "journals" and one.name.startswith("a.json-")
    assert journal_for(["a.json"], env) == one  # the same command finds the same journal
    assert journal_for([os.path.abspath("a.json")], env) == one
    assert journal_for(["b/a.json"], env) != one
    assert journal_for(["a.json", "b.json"], env).name.startswith("a.json+1-")


def test_the_journal_holds_no_key_and_no_event(emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_text("".join(orjson.dumps({"secret_value": f"s3cr3t-{i}"}).decode() + "\n"
                            for i in range(1000)))
    journal = tmp_path / "j.journal"
    with hec_for(emu) as hec:
        assert hec.send_file(path, journal=journal, show_progress=False).ok
    text = journal.read_text()
    assert KEY not in text and "s3cr3t" not in text and "secret_value" not in text
    records = [orjson.loads(line) for line in text.splitlines()]
    assert records[0] == {"hecnb_journal": 1, "kind": "files", "sources": [str(path)]}
    assert {"d": 0, "r": [[0, 200]]} in records
    assert records[-1] == {"f": 0, "lines": 1000, "ok": True}
    assert oct(journal.stat().st_mode & 0o777) == "0o600"


# -- killed at random moments --------------------------------------------------------------------
@pytest.mark.parametrize("trial", range(6))
def test_a_send_killed_at_any_moment_resumes_with_the_rest(tmp_path: Path, trial: int) -> None:
    rng = random.Random(1700 + trial)
    raw, gz = trial % 2 == 1, trial % 3 == 2
    path = write_lines(tmp_path / ("e.ndjson.gz" if gz else "e.ndjson"), gz=gz)
    journal = tmp_path / "j.journal"
    kill_at = 0 if trial == 0 else rng.randrange(1, N)
    # answers take a moment, so that many requests are in flight when the kill comes
    with Emulator(api_key=KEY, faults=Faults(delay=0.005)) as emu:
        args = [sys.executable, "-m", "hecnb.cli", "send", str(path), "--journal",
                str(journal), "--url", emu.url, "--batch-events", str(BATCH), "--no-progress",
                "--threads", "2", "--in-flight", "8",
                *(["--raw"] if raw else ["--event-id", "hecnb_id"])]
        child = subprocess.Popen(args, env=child_env(), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert emu.wait_for(kill_at, timeout=120), child.stderr
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        before = sum(received(emu).values())
        with hec_for(emu, raw_ingest=raw) as hec:
            report = hec.send_file(path, journal=journal, show_progress=False,
                                   **({} if raw else {"event_id": "hecnb_id"}))
        got = received(emu)
        ids = {(e["event"]["n"], e["event"]["hecnb_id"]) for e in emu.events if not raw}
    assert report.ok, report
    assert set(got) == set(range(N)), "an event never arrived"
    duplicates = sum(got.values()) - N
    assert duplicates <= report.resent_in_flight <= report.possible_duplicates
    # what was in flight is bounded by the window: in flight + one batch per thread
    assert report.resent_in_flight <= (8 + 2) * BATCH
    assert report.resumed + report.total == N  # each line once: confirmed before, or now
    assert report.resumed <= before
    if not raw:  # a duplicate has its original's id: the SIEM can tell them apart
        assert len(ids) == N
    if report.resumed:
        assert str(report).startswith(f"resuming: {report.resumed:,} of {N:,} already "
                                      "delivered; ")


def test_the_command_says_it_resumes_and_where_the_journal_is(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 5000)
    env = {**child_env(), "XDG_STATE_HOME": str(tmp_path / "state")}
    with Emulator(api_key=KEY) as emu:
        # a first run that confirmed the first 1,000 lines, as a killed one leaves it
        journal = journal_for([str(path)], env)
        book = Journal.open(journal, "files", [str(path)])
        book.check_identity(0, file_identity(str(path)), what="f")
        tracker = book.tracker(0)
        tracker.sending(range(0, 1200))
        tracker.settled(range(0, 1000), True, True)
        book.close()
        out = subprocess.run([sys.executable, "-m", "hecnb.cli", "send", str(path), "--resume",
                              "--url", emu.url, "--no-progress"], env=env, capture_output=True,
                             text=True, stdin=subprocess.DEVNULL, timeout=120)
        assert out.returncode == 0, out.stderr
        assert f"hecnb: journal {journal}" in out.stdout
        assert "hecnb: resuming: 1,000 events already delivered" in out.stdout
        assert "resuming: 1,000 of 5,000 already delivered; 4,000 of 4,000 events" in out.stdout
        assert "200 possibly duplicated (200 were in flight when the last run died)" in \
            out.stdout
        assert sorted(received(emu)) == list(range(1000, 5000))
        again = subprocess.run([sys.executable, "-m", "hecnb.cli", "send", str(path),
                                "--resume", "--url", emu.url, "--no-progress"], env=env,
                               capture_output=True, text=True, stdin=subprocess.DEVNULL,
                               timeout=120)
        assert again.returncode == 0 and "0 of 0 events delivered" in again.stdout
        assert len(emu.events) == 4000  # nothing sent twice
        restart = subprocess.run([sys.executable, "-m", "hecnb.cli", "send", str(path),
                                  "--resume", "--restart", "--url", emu.url, "--no-progress"],
                                 env=env, capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL, timeout=120)
        assert restart.returncode == 0 and "5,000 of 5,000 events delivered" in restart.stdout


# -- damaged journals, other files, changed files ------------------------------------------------
def _half_sent(emu: Emulator, path: Path, journal: Path, lines: int) -> None:
    """A journal as a run killed after ``lines`` confirmed lines leaves it."""
    book = Journal.open(journal, "files", [os.path.abspath(path)])
    book.check_identity(0, file_identity(str(path)), what="f")
    book.tracker(0).settled(range(lines), True, True)
    book.close()


def test_a_torn_last_line_is_ignored_and_cut_off(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 1000)
    journal = tmp_path / "j.journal"
    _half_sent(emu, path, journal, 400)
    with open(journal, "ab") as fh:
        fh.write(b'{"d":0,"r":[[400,1000')  # a kill (or a power cut) in the middle of a line
    with hec_for(emu) as hec:
        report = hec.send_file(path, journal=journal, show_progress=False)
    assert report.ok and report.resumed == 400 and report.total == 600
    assert sorted(received(emu)) == list(range(400, 1000))
    for line in journal.read_bytes().splitlines():
        orjson.loads(line)  # the torn line is gone, every line is whole


def test_a_journal_truncated_anywhere_only_sends_more(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 1000)
    journal = tmp_path / "j.journal"
    with hec_for(emu) as hec:
        assert hec.send_file(path, journal=journal, show_progress=False).ok
        data = journal.read_bytes()
        for cut in (0, 10, len(data) // 2, len(data) - 3):
            journal.write_bytes(data[:cut])
            emu.reset()
            report = hec.send_file(path, journal=journal, show_progress=False)
            assert report.ok, (cut, report)
            assert report.resumed + report.total == 1000
            assert sorted(received(emu)) == list(range(report.resumed, 1000))
            journal.write_bytes(data)


def test_a_damaged_journal_is_refused_with_the_fix(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 100)
    journal = tmp_path / "j.journal"
    _half_sent(emu, path, journal, 50)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([*lines[:2], b"garbage\n", *lines[2:]]))
    with hec_for(emu) as hec:
        with pytest.raises(ConfigError, match=r"damaged at line 3.*restart=True"):
            hec.send_file(path, journal=journal, show_progress=False)
        assert emu.events == []  # nothing sent
        report = hec.send_file(path, journal=journal, restart=True, show_progress=False)
    assert report.ok and report.total == 100 and not report.resumed


def test_a_file_that_is_no_journal_is_never_overwritten(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 100)
    with hec_for(emu) as hec:
        for restart in (False, True):
            with pytest.raises(ConfigError, match=r"is not a hecnb journal.*left as it is"):
                hec.send_file(path, journal=path, restart=restart, show_progress=False)
    assert path.read_bytes() == write_lines(tmp_path / "copy", 100).read_bytes()
    assert emu.events == []


def test_a_journal_for_another_file_is_refused(emu: Emulator, tmp_path: Path) -> None:
    one, other = write_lines(tmp_path / "one.ndjson", 100), write_lines(tmp_path / "two", 100)
    journal = tmp_path / "j.journal"
    with hec_for(emu) as hec:
        assert hec.send_file(one, journal=journal, show_progress=False).ok
        with pytest.raises(ConfigError, match=rf"is for {one}, not {other}.*--restart"):
            hec.send_file(other, journal=journal, show_progress=False)
        with pytest.raises(ConfigError, match="written for files, not a DataFrame"):
            pd.DataFrame({"a": [1]}).to_ngsiem(hec, journal=journal)
    assert len(emu.events) == 100


def test_a_changed_file_is_refused(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 1000)
    journal = tmp_path / "j.journal"
    _half_sent(emu, path, journal, 500)
    write_lines(path, 1000, start=5)  # same length, other lines
    with hec_for(emu) as hec:
        with pytest.raises(ConfigError, match=rf"The file {path} has changed since the journal"
                                              r".*restart=True \(hecnb send --restart\)"):
            hec.send_file(path, journal=journal, show_progress=False)
        assert emu.events == []
        report = hec.send_file(path, journal=journal, restart=True, show_progress=False)
    assert report.ok and sorted(received(emu)) == list(range(5, 1005))


def test_a_gzip_file_resumes_by_its_lines(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson.gz", 3000, gz=True)
    journal = tmp_path / "j.journal"
    _half_sent(emu, path, journal, 1234)
    with hec_for(emu, raw_ingest=True) as hec:
        report = hec.send_file(path, journal=journal, show_progress=False)
    assert report.ok and report.resumed == 1234
    assert sorted(received(emu)) == list(range(1234, 3000))


def test_blank_and_bad_lines_are_reported_again_and_nothing_else(emu: Emulator,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_text('{"n": 0}\n\nnot json\n{"n": 1}\n')
    journal = tmp_path / "j.journal"
    with hec_for(emu) as hec:
        first = hec.send_file(path, journal=journal, show_progress=False)
        second = hec.send_file(path, journal=journal, show_progress=False)
    assert first.delivered == 2 and len(first.failed) == 1 and not first.ok
    assert second.resumed == 2 and second.delivered == 0
    assert [f.index for f in second.failed] == [2] and "invalid JSON" in second.failed[0].reason
    assert sorted(received(emu)) == [0, 1]


# -- many files ----------------------------------------------------------------------------------
def test_many_files_one_missing(emu: Emulator, tmp_path: Path) -> None:
    a = write_lines(tmp_path / "a.ndjson", 1000)
    b = write_lines(tmp_path / "b.ndjson.gz", 1000, gz=True, start=1000)
    missing = tmp_path / "c.ndjson"
    journal = tmp_path / "j.journal"
    with hec_for(emu) as hec:
        report = hec.send_files([a, missing, b], journal=journal, show_progress=False)
        assert not report.ok and report.delivered == 2000 and report.total == 2000
        assert [p for p, _ in report.files] == [str(a), str(missing), str(b)]
        assert report.files[1][1].errors[0].startswith(f"No such event file: '{missing}'")
        assert hec.last_report is report
        write_lines(missing, 500, start=2000)  # it turns up: the same call sends only it
        emu.reset()
        again = hec.send_files([a, missing, b], journal=journal, show_progress=False)
    assert again.ok, again
    assert again.resumed == 2000 and again.delivered == 500
    assert sorted(received(emu)) == list(range(2000, 2500))
    with hec_for(emu) as hec, pytest.raises(ConfigError, match="written for 3 files; this run "
                                                              "names 2"):
        hec.send_files([a, b], journal=journal, show_progress=False)


def test_many_files_from_the_command_line(emu: Emulator, tmp_path: Path) -> None:
    files = [write_lines(tmp_path / f"{i}.json.gz", 700, gz=True, start=700 * i)
             for i in range(3)]
    journal = tmp_path / "j.journal"
    out = subprocess.run([sys.executable, "-m", "hecnb.cli", "send", *map(str, files),
                          str(tmp_path / "nope.json"), "--journal", str(journal), "--url",
                          emu.url, "--no-progress"], env=child_env(), capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert out.returncode == 1, out.stderr
    assert "2,100 of 2,100 events delivered" in out.stdout
    assert f"  {files[0]}: 700 of 700 delivered (ok)" in out.stdout
    assert "nope.json: 0 of 0 delivered (NOT all delivered; No such event file" in out.stdout
    assert sorted(received(emu)) == list(range(2100))


# -- DataFrames ----------------------------------------------------------------------------------
def test_a_dataframe_resumes_with_the_rows_not_confirmed(emu: Emulator, tmp_path: Path) -> None:
    df = pd.DataFrame({"n": range(5000), "user": [f"u{i % 7}" for i in range(5000)]},
                      index=pd.RangeIndex(5000) * 10)
    journal = tmp_path / "j.journal"
    book = Journal.open(journal, "frame", ["frame"])
    book.check_identity(0, frame_identity(df), what="f")
    tracker = book.tracker(0)
    tracker.sending(range(1000, 1400))  # in flight when the kernel died
    tracker.settled(range(0, 1000), True, True)
    tracker.settled(range(1200, 1400), True, True)
    book.close()
    with hec_for(emu) as hec:
        report = df.to_ngsiem(hec, journal=journal)
        assert report.ok and report.resumed == 1200 and report.total == 3800
        assert report.resent_in_flight == 200  # rows 1000 to 1199
        assert sorted(received(emu)) == [*range(1000, 1200), *range(1400, 5000)]
        emu.reset()
        again = df.to_ngsiem(hec, journal=journal)
        assert again.ok and again.resumed == 5000 and emu.events == []
        changed = df.assign(n=df["n"] + 1)
        with pytest.raises(ConfigError, match="This DataFrame is not the one the journal"):
            changed.to_ngsiem(hec, journal=journal)
        with pytest.raises(ConfigError, match="This DataFrame is not the one"):
            df.head(10).to_ngsiem(hec, journal=journal)
        assert changed.to_ngsiem(hec, journal=journal, restart=True).delivered == 5000


def test_failed_rows_of_a_resumed_frame_name_the_frames_positions(tmp_path: Path) -> None:
    df = pd.DataFrame({"n": range(10)})
    journal = tmp_path / "j.journal"
    book = Journal.open(journal, "frame", ["frame"])
    book.check_identity(0, frame_identity(df), what="f")
    book.tracker(0).settled(range(0, 4), True, True)
    book.close()
    with Emulator(api_key="another-key-entirely") as emu, hec_for(emu) as hec:
        report = df.to_ngsiem(hec, journal=journal)  # 401: every row fails
    assert [f.index for f in report.failed] == list(range(4, 10))
    assert report.source is df


def test_a_list_can_be_journaled_but_not_a_generator(emu: Emulator, tmp_path: Path) -> None:
    events = [{"n": i} for i in range(300)]
    with hec_for(emu) as hec:
        assert hec.send(events, journal=tmp_path / "j").ok
        assert hec.send(events, journal=tmp_path / "j").resumed == 300
        with pytest.raises(ConfigError, match="a reader or a Polars/Arrow table cannot"):
            hec.send(iter(events), journal=tmp_path / "k")
    assert len(emu.events) == 300


def test_restart_without_a_journal_is_a_mistake(emu: Emulator, tmp_path: Path) -> None:
    with hec_for(emu) as hec, pytest.raises(ConfigError, match="pass journal= with it"):
        hec.send_file(write_lines(tmp_path / "e", 10), restart=True)
    assert emu.events == [] and SendReport().resume_note == ""


# -- deterministic event ids ---------------------------------------------------------------------
def test_file_events_carry_ids_that_survive_a_resume(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 1000)
    journal = tmp_path / "j.journal"
    _half_sent(emu, path, journal, 600)
    with hec_for(emu) as hec:
        report = hec.send_file(path, journal=journal, event_id="hecnb_id", show_progress=False)
        assert report.ok
        ids = {e["event"]["n"]: e["event"]["hecnb_id"] for e in emu.events}
        token = ids[600].split("-")[0]
        assert len(token) == 12 and ids == {n: f"{token}-{n}" for n in range(600, 1000)}
        emu.reset()  # the whole file again: the same ids, so the SIEM can tell duplicates
        hec.send_file(path, event_id="hecnb_id", show_progress=False)
        assert {e["event"]["n"]: e["event"]["hecnb_id"] for e in emu.events if
                e["event"]["n"] >= 600} == ids
        emu.reset()
        hec.send_file(path, event_id="h", event_id_from="content", show_progress=False)
        first = {e["event"]["n"]: e["event"]["h"] for e in emu.events}
        assert len(set(first.values())) == 1000 and all(len(v) == 16 for v in first.values())


def test_event_ids_are_refused_where_they_cannot_be(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 10)
    with hec_for(emu) as hec:
        with pytest.raises(ConfigError, match="raw lines are sent as they are"):
            hec.send_file(path, raw_ingest=True, event_id="hecnb_id")
        with pytest.raises(ConfigError, match="'position' or 'content'"):
            hec.send_file(path, event_id="hecnb_id", event_id_from="row")
        with pytest.raises(ConfigError, match="pass event_id= too"):
            hec.send_file(path, event_id_from="content")
        with pytest.raises(ConfigError, match="event 1 is a str, not a dict"):
            hec.send([{"a": 1}, "text"], event_id="hecnb_id")
        with pytest.raises(ConfigError, match="name of the member"):
            pd.DataFrame({"a": [1]}).to_ngsiem(hec, event_id="")
    assert emu.events == []


def test_frames_and_lists_carry_ids(emu: Emulator, tmp_path: Path) -> None:
    df = pd.DataFrame({"n": range(300), "user": ["u"] * 300, "drop": 1})
    events = [{"n": i} for i in range(300)]
    with hec_for(emu) as hec:
        assert df.to_ngsiem(hec, event_id="hecnb_id", columns=["n", "user"]).ok
        frame_ids = {e["event"]["n"]: e["event"]["hecnb_id"] for e in emu.events}
        assert "drop" not in emu.events[0]["event"] and "hecnb_id" not in df
        token = frame_ids[0].split("-")[0]
        assert frame_ids == {n: f"{token}-{n}" for n in range(300)}
        emu.reset()
        assert df.to_ngsiem(hec, event_id="hecnb_id", columns=["n", "user"]).ok
        assert {e["event"]["n"]: e["event"]["hecnb_id"] for e in emu.events} == frame_ids
        emu.reset()
        assert hec.send(events, event_id="id", event_id_from="content").ok
        assert events[0] == {"n": 0}  # the caller's dicts are left as they are
        assert len({e["event"]["id"] for e in emu.events}) == 300
        emu.reset()
        journal = tmp_path / "j.journal"
        df.to_ngsiem(hec, journal=journal, event_id="hecnb_id")
        df.to_ngsiem(hec, journal=journal, event_id="hecnb_id", restart=True)
        got = collections.Counter(e["event"]["hecnb_id"] for e in emu.events)
        assert got == collections.Counter({i: 2 for i in frame_ids.values()})


def test_a_journal_in_use_by_another_send_is_refused(emu: Emulator, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "e.ndjson", 100)
    journal = tmp_path / "j.journal"
    with hec_for(emu) as hec:
        with Journal.open(journal, "files", [str(path)]), pytest.raises(
                ConfigError, match="is in use by another send"):
            hec.send_file(path, journal=journal, show_progress=False)
        assert emu.events == []
        assert hec.send_file(path, journal=journal, show_progress=False).ok  # once it is free


def test_the_commands_journal_options_that_contradict_are_refused(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from hecnb import cli

    monkeypatch.setenv("NGSIEM_API_KEY", KEY)
    path = str(write_lines(tmp_path / "e.ndjson", 10))
    base = ["send", path, "--url", emu.url, "--no-progress"]
    assert cli.main([*base, "--restart"]) == 2
    assert "--restart starts a journal over: give --journal PATH or --resume" in \
        capsys.readouterr().err
    assert cli.main([*base, "--resume", "--journal", str(tmp_path / "j")]) == 2
    assert "give one of them" in capsys.readouterr().err
    assert cli.main([*base, "--raw", "--event-id", "id"]) == 2
    assert "raw lines are sent as they are" in capsys.readouterr().err
    assert emu.events == []


def test_the_command_journals_data_files_and_keeps_many_files_to_lines(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from hecnb import cli

    monkeypatch.setenv("NGSIEM_API_KEY", KEY)
    array = tmp_path / "events.json"  # one JSON array: sent as data (a list), journaled too
    array.write_bytes(orjson.dumps([{"n": i} for i in range(50)]))
    journal = str(tmp_path / "j")
    base = ["--url", emu.url, "--no-progress", "--journal", journal]
    assert cli.main(["send", str(array), *base]) == 0
    assert cli.main(["send", str(array), *base]) == 0
    assert "resuming: 50 of 50 already delivered" in capsys.readouterr().out
    assert sorted(received(emu)) == list(range(50))
    lines = write_lines(tmp_path / "e.ndjson", 10)
    assert cli.main(["send", str(lines), str(array), "--url", emu.url, "--no-progress"]) == 2
    assert f"{array} is json: several files in one run must be files of lines" in \
        capsys.readouterr().err
    assert len(emu.events) == 50  # nothing of the refused run was sent


def test_a_collector_that_refuses_then_takes_resumes_with_what_it_refused(
        hostile: Any, emu: Emulator, tmp_path: Path) -> None:
    """A server that answers every other request 400 (refused for sure) and the rest 200: the
    journal confirms only what was taken, counts none of the refused as in flight, and the
    next run against a collector that takes everything sends exactly the refused lines."""
    from hostile import hec as hec_answer

    path = write_lines(tmp_path / "e.ndjson", 2_000)
    journal = tmp_path / "j.journal"
    taken: list[int] = []

    def answer(request: Any) -> Any:
        numbers = [orjson.loads(line)["event"]["n"] for line in request.body.splitlines()]
        if numbers[0] // BATCH % 2:  # every other batch, whatever order they come in
            return hec_answer(400, "Invalid data format", 6)
        taken.extend(numbers)
        return hec_answer()

    hostile.handler = answer
    with HEC(api_key=KEY, ingest_url=hostile.url, batch_max_events=BATCH, retry_count=0,
             thread_count=1, max_in_flight=1) as hec:
        first = hec.send_file(path, journal=journal, show_progress=False)
    assert first.delivered == len(taken) and len(first.failed) == 2_000 - len(taken)
    assert 0 < len(taken) < 2_000
    with hec_for(emu) as hec:
        second = hec.send_file(path, journal=journal, show_progress=False)
    assert second.ok and second.resumed == len(taken)
    assert second.resent_in_flight == 0  # refused for sure is not "maybe delivered"
    got = received(emu)
    assert set(got) | set(taken) == set(range(2_000)) and not set(got) & set(taken)
