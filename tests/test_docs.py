"""The documentation is run, so that it cannot rot: every Python example of README.md and
docs/*.md against the emulator, and the facts the docs state about the code.

Examples are recognised by their fence: ```python blocks run (each file's blocks in order, in
one namespace, as a reader would type them), ```ipython (magics), ```bash and plain ``` blocks do
not. A Python block that cannot run here says so in its first line, visibly, with the reason:
``# (not run by tests/test_docs.py: <why>)``. The names the examples use for a tenant
(``NGSIEM_API_KEY``, ``NGSIEM_URL_KEY``, ``NGSIEM_URL``, ``KEY``, ``URL``) are bound to a local
emulator, the files they name are written to a temporary directory first, and the variables
they take from the text around them (``hec``, ``events``, ``records``, ``ddf``) are given.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY

import hecnb
from hecnb import _session
from hecnb.emulator import Emulator

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
SKIP = re.compile(r"# \(not run by tests/test_docs\.py: ([^)]+)\)")


def blocks(path: Path) -> list[tuple[int, str, str]]:
    """``(line, language, code)`` of every fenced block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(text[:m.start()].count("\n") + 1, (m.group(1).split() or [""])[0], m.group(2))
            for m in FENCE.finditer(text)]


ZEEK = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n"
        "1693958400.123456\tC1\t10.0.0.1\t51000\t10.0.0.2\t53\tudp\n"
        "1693958401.5\tC2\t10.0.0.3\t51001\t10.0.0.2\t443\ttcp\n#close\t2023-09-06-01-00-00\n")
IOCS = ("host,indicator,type,TLP,first_seen\n"
        "mx1,evil.example,domain,amber,2026-11-01T21:14:00Z\n"
        "mx2,203.0.113.7,ipv4,green,2026-11-02T03:05:00Z\n")
FALCONPY_FILE = (
    '{"event": {"host": "IV1IDSBP", "kind": "event", "timestamp": 1747771778324434944, '
    '"timeunit": "nanoseconds", "message": "VP35ya83siwOC9bThq0U"}}\n'
    '{"event": {"host": "XIHQBIOV", "kind": "event", "timestamp": 1747771778324711936, '
    '"timeunit": "nanoseconds", "message": "ngZbqZroR8763eMODCWN"}}\n')


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Examples configure logging (dictConfig disables the loggers it does not name): put
    the root handlers, levels and every logger's disabled flag back afterwards."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {name: (lg.disabled, lg.level, list(lg.handlers))
               for name, lg in logging.Logger.manager.loggerDict.items()
               if isinstance(lg, logging.Logger)}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lg in logging.Logger.manager.loggerDict.items():
        if isinstance(lg, logging.Logger):
            disabled, lvl, hs = loggers.get(name, (False, logging.NOTSET, []))
            lg.disabled, lg.level = disabled, lvl
            for handler in [h for h in lg.handlers if h not in hs]:
                lg.removeHandler(handler)
                handler.close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory with the files the examples name, as the current directory."""
    (tmp_path / "conn.log").write_text(ZEEK)
    (tmp_path / "iocs.csv").write_text(IOCS)
    (tmp_path / "sample_import_file.json").write_text(FALCONPY_FILE)
    hecnb.demo_evtx(tmp_path / "Security.evtx", records=50)  # a real EVTX file (hecnb's writer)
    monkeypatch.chdir(tmp_path)
    _session.set_default(None)
    yield tmp_path
    _session.set_default(None)


def namespace(emu: Emulator) -> dict[str, Any]:
    """What the examples take from the text around them."""
    import pandas as pd

    ns: dict[str, Any] = {"__name__": "__doc_example__", "NGSIEM_API_KEY": KEY, "KEY": KEY,
                          "NGSIEM_URL_KEY": emu.url, "NGSIEM_URL": emu.url, "URL": emu.url}
    ns["hec"] = hecnb.HEC(api_key=KEY, ingest_url=emu.url)
    ns["events"] = hecnb.demo_events(2_000)
    ns["records"] = [{"user": "alice", "n": 1, "ts": 1693958400.5}, {"user": "bob", "n": None}]
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - the dev extra installs it
        pass
    else:
        ns["ddf"] = dd.from_pandas(pd.DataFrame(ns["events"][:400]), npartitions=2)
    return ns


WITH_EXAMPLES = [p for p in DOCS if any(lang == "python" for _, lang, _ in blocks(p))]


@pytest.mark.parametrize("doc", WITH_EXAMPLES,
                         ids=[p.relative_to(ROOT).as_posix() for p in WITH_EXAMPLES])
def test_every_python_example_runs(doc: Path, workdir: Path, emu: Emulator,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    examples = [(line, code) for line, lang, code in blocks(doc) if lang == "python"]
    monkeypatch.setenv("NGSIEM_API_KEY", KEY)  # what Dask's workers read (never an argument)
    import dask

    ns = namespace(emu)
    ran = 0
    with dask.config.set(scheduler="sync"):
        for line, code in examples:
            if SKIP.match(code.lstrip()):
                continue
            compiled = compile(code, f"{doc.relative_to(ROOT)}:{line}", "exec")
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(
                    io.StringIO()):
                exec(compiled, ns)
            ran += 1
    assert ran, f"every example of {doc.name} is marked not to run"
    import logging

    for value in list(ns.values()):
        if isinstance(value, hecnb.HEC):
            value.close()
        if isinstance(value, hecnb.HECHandler):  # an example attached it to the root logger
            logging.getLogger().removeHandler(value)
            value.close()


def test_examples_that_do_not_run_are_few_marked_and_say_why() -> None:
    assert {p.name for p in WITH_EXAMPLES} >= {"README.md", "formats.md", "dask.md",
                                               "emulator.md", "reliability.md", "notebooks.md"}
    marked = []
    for doc in DOCS:
        for line, lang, code in blocks(doc):
            if lang == "python":
                first = code.lstrip().splitlines()[0]
                assert not first.startswith("%"), f"{doc.name}:{line}: magics go in ```ipython"
                found = SKIP.match(code.lstrip())
                if "not run by" in first:
                    assert found and found.group(1).strip(), f"{doc.name}:{line}: say why"
                if found:
                    marked.append(f"{doc.name}:{line}")
    assert len(marked) <= 3, marked  # docs/dask.md (a cluster), docs/notebooks.md (a tenant)
    assert sum(lang == "ipython" for doc in DOCS for _, lang, _ in blocks(doc)) >= 6


def test_a_failing_example_fails_the_test(workdir: Path, emu: Emulator) -> None:
    """The runner is not a formality: a block that raises fails."""
    broken = workdir / "broken.md"
    broken.write_text("```python\nimport hecnb\nhecnb.read_zeek('missing.log')\n```\n")
    (_, _, code), = blocks(broken)
    with pytest.raises(hecnb.EventFileError):
        exec(compile(code, "broken.md", "exec"), namespace(emu))


# ------------------------------------------------------------------ what the docs say of the code


def test_chunk_sizes_in_the_docs_are_the_codes() -> None:
    from hecnb._encode.frames import CHUNK_ROWS
    from hecnb._send.producer import CHUNK

    delivery = (ROOT / "docs" / "delivery.md").read_text()
    formats = (ROOT / "docs" / "formats.md").read_text()
    assert f"{CHUNK:,} events at a time" in delivery and f"{CHUNK_ROWS:,} rows at a time" in \
        delivery
    assert f"{CHUNK:,} events of a list or a file, {CHUNK_ROWS:,} rows of\na DataFrame" in \
        delivery
    assert f"converted column by column, {CHUNK_ROWS:,} rows at a time" in formats


def test_block_sizes_in_the_docs_are_the_codes() -> None:
    from hecnb._encode.frames import BLOCK_ROWS, KEEP_OBJECT_ROWS, KEEP_ROWS

    formats = (ROOT / "docs" / "formats.md").read_text()
    assert f"over\nthe frame {BLOCK_ROWS:,} rows at a time" in formats
    assert f"a block of {BLOCK_ROWS:,} at a time" in formats
    kept = (f"the event times of up to\n{KEEP_ROWS:,} rows, a column's texts up to "
            f"{KEEP_OBJECT_ROWS:,}")
    assert kept + " rows" in formats


def test_the_lenient_spellings_are_in_the_keyword_tables() -> None:
    from hecnb._settings.names import _FORMAT_ALIASES, _TIMEUNIT_ALIASES

    for doc in (ROOT / "README.md", ROOT / "docs" / "configuration.md"):
        rows = {line.split("|")[1].strip(" `"): line for line in doc.read_text().splitlines()
                if line.startswith("| `ingest_")}
        for alias in _FORMAT_ALIASES:
            assert f"`{alias}`" in rows["ingest_format"], (doc.name, alias)
        for alias in _TIMEUNIT_ALIASES:
            assert re.search(rf"\b{alias}\b", rows["ingest_timeunit"]), (doc.name, alias)
        assert "any case" in rows["ingest_format"] and "any case" in rows["ingest_timeunit"]


def test_the_event_time_names_in_the_docs_are_the_rules() -> None:
    from hecnb._encode.eventtime import NAMES

    text = (ROOT / "docs" / "formats.md").read_text()
    table = re.findall(r"^\s*\| (\d+) \| `([^`]+)` \|", text, re.M)
    assert [name for _, name in table] == list(NAMES)
    assert [int(rank) for rank, _ in table] == list(range(1, len(NAMES) + 1))


def test_keywords_documented_where_the_code_has_them() -> None:
    from hecnb._settings.declared import keywords_of

    readme = (ROOT / "README.md").read_text()
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    assert "| `hec_time` | `True` |" in readme and "| `hec_time` | `True` |" in configuration
    assert "hec_time" in keywords_of() and os.path.exists(ROOT / "docs" / "formats.md")
