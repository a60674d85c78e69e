"""The example notebooks: each runs top to bottom on a real kernel against the emulator, says
what it promises, cleans up after itself, and is committed with its outputs stripped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "notebooks.md"

# What each notebook's outputs must show (regular expressions over all its text output).
EXPECTED: dict[str, list[str]] = {
    "01_quickstart": [
        r"hecnb SendReport: ok",
        r"20,000 of 20,000 events delivered",
        r"Connected: the collector accepted a test event",
        r"stopped requests=\d+ events=20003>",
    ],
    "02_dataframes": [
        r"json: 5,000 of 5,000 events delivered",
        r"yaml: ([\d,]+) of \1 events delivered",
        r"xml: ([\d,]+) of \1 events delivered",
        r"csv: 5 of 5 events delivered",
        r"zeek: 3 of 3 events delivered.*event time from 'ts'",
        r"suricata: 2 of 2 events delivered.*event time from 'timestamp'",
        r"zeek: event time from 'ts' \| suricata: event time from 'timestamp'",
        r"# Event time from 'ts'\n\{\"time\":1793606401\.12,\"event\":\{\"host\":\"zeek-01\"",
        r"csv export: 5 of 5 events delivered",
        r"<\?xml version=\"1.0\" encoding=\"UTF-8\"\?>",
        r'"hunt"\r?\n"threat-intel"',
        r"datetime64\[ns, UTC\]",
    ],
    "03_magics": [
        r"no HEC connection configured",
        r"Dry run: 2 events would be sent",
        r'"007"',
        r"2,000 of 2,000 events delivered",
        r"UsageError: CSV line 3 has 4 values but the header has 3 columns",
        r"UsageError: The API key is never a magic argument",
        r"'raw': 3",
        r"'detection': 'Credential dumping \(LSASS\)'",
    ],
    "04_config_panel": [
        r"Connected: the collector accepted a test event",
        r"500 of 500 events delivered",
        r"50 of 50 events delivered",
        r"key='\*\*\*\*[\w-]{4}'",
        r"https://a1b2c3d4\.ingest\.eu-1\.crowdstrike\.com/services/collector",
        r'"key_env": "NGSIEM_API_KEY"',
        r"key='from \$NGSIEM_API_KEY \(not set\)'",
        r"panel closed, emulator stopped: True",
    ],
    "05_files_and_failures": [
        r"10,000 of 10,000 events delivered",
        r"'raw': 3",
        r"10,000 of 10,000 events delivered .*event time from '@timestamp'",
        r"2 of 3 events delivered .*1 FAILED: line 2: invalid JSON \(unexpected end of data at "
        r"column 23\)",
        r"send_event_file: 400 \| last_status: 400",
        r"0 of 1,000 events delivered .*1,000 FAILED: 1,000 HTTP 503",
        r"1,000 records in failed\.ndjson",
        r"collector: 1,000 distinct event ids, all 1,000 alerts",
    ],
    "06_dask": [
        r"2 workers: \['tcp://127\.0\.0\.1:\d+', 'tcp://127\.0\.0\.1:\d+'\]",
        r"8 partitions, columns: \['event_id'",
        r"40,000 of 40,000 events delivered .*event time from '@timestamp' \[8 partitions on 2 "
        r"workers\]",
        r"collector: 40,000 distinct event ids, each once",
        r"re-run partitions: \[\] \| possible duplicates: 0",
        r"after sending twice: 40,000 distinct hecnb_id values, each seen \[2\] times",
        r"0 of 10,000 events delivered .*10,000 FAILED: 10,000 HTTP 503.*dead letters in 2 files",
        r"resent: 10,000 of 10,000 events delivered",
        r"stopped requests=\d+ events=10000>",
    ],
    "07_sources": [
        r"2000 records, \d+ columns",
        r"datetime64\[ns, UTC\]",
        r"203\.0\.113\.50 +16",
        r"svc-backup",
        r"2,000 of 2,000 events delivered",
        r"event time : (\d+) nanoseconds\s+record time: [^=]+= \1",
        r"pieces: 2,000 of 2,000 events delivered",
        r"damaged\.evtx: 1,\d{3} records read; 2 of \d+ chunks unreadable",
        r"EvtxProblem\(chunk=\d+, record=None, lost=None",
        r"api_key='\*\*\*\*cret'",
        r"'delivered': 3,",
        r"KeyError: 'WS-008'",
        r"queued while down: 100 \| flushed: False",
        r"cannot deliver log records to http://127\.0\.0\.1:\d+/services/collector: ",
        r"the collector answers again",
        r"delivered: 103 \| failed: 0 \| dropped: 0",
        r"etl: loaded 1250 rows",
        r"closed: 0 queued, 0 failed",
    ],
}
# Report states shown as tables: only ok, except where failures are the point.
REPORT_STATES = {"05_files_and_failures": {"ok", "failures"}}

# Run after the notebook, in the same kernel: hecnb threads still alive (an emulator or a
# sender the notebook forgot to stop).
LEFTOVERS = (
    "import threading as _t\n"
    "print('LEFTOVER THREADS', sorted(x.name for x in _t.enumerate()"
    " if x.name.startswith(('hecnb-emulator', 'hecnb-send'))))"
)


def _text(output: dict[str, Any]) -> str:
    if output["output_type"] == "stream":
        return str(output["text"])
    if output["output_type"] == "error":
        return "\n".join(output["traceback"])
    data = output.get("data", {})
    return "\n".join(str(data[m]) for m in ("text/plain", "text/html") if m in data)


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def test_the_promised_notebooks_exist_and_are_documented() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert names == sorted(EXPECTED), "every notebook needs its expectations here, and back"
    docs = DOCS.read_text(encoding="utf-8")
    for name in names:
        assert f"notebooks/{name}.ipynb" in docs, f"{name} is not listed in docs/notebooks.md"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_stripped(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata, "saved widget state: clear it before committing"
    for i, cell in enumerate(nb.cells):
        assert cell.get("id"), f"cell {i} has no id"
        assert set(cell.metadata) <= {"tags"}, f"cell {i} metadata: {dict(cell.metadata)}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs"
            assert cell.execution_count is None, f"cell {i} has an execution count"
        else:
            assert "attachments" not in cell, f"cell {i} has attachments"
    source = "\n".join(cell.source for cell in nb.cells)
    assert "shared/data" not in source, "notebooks must run on a fresh clone"
    assert "from hecnb._" not in source and "import hecnb._" not in source, \
        "notebooks show the public API only"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Execute on a real ipykernel; any error (CellExecutionError) fails the test."""
    from nbclient import NotebookClient

    cwd, scratch = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the notebooks' tempfile dirs go
    monkeypatch.setenv("HECNB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())

    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(LEFTOVERS))
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()

    name = path.stem
    texts: list[str] = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.outputs
        problems = [_text(o) for o in outputs
                    if o["output_type"] == "error"
                    or (o["output_type"] == "stream" and o["name"] == "stderr")]
        if "raises-exception" in _tags(cell):
            assert problems, f"cell {i} is tagged raises-exception but reported nothing"
        else:
            assert not problems, f"cell {i} wrote an error or a warning: {problems}"
        texts.extend(_text(o) for o in outputs)
    everything = "\n".join(texts)

    assert "LEFTOVER THREADS []" in texts[-1], texts[-1]
    for pattern in EXPECTED[name]:
        assert re.search(pattern, everything), f"{name}: no output matches {pattern!r}"
    states = set(re.findall(r"hecnb SendReport: (\w+)", everything))
    assert states and states <= REPORT_STATES.get(name, {"ok"}), states
    assert states == REPORT_STATES.get(name, states)

    # nothing written beside the notebook, nor in the repository; temporary files removed
    assert list(cwd.iterdir()) == []
    assert [p.name for p in scratch.iterdir() if p.name.startswith("hecnb-")] == []
    assert sorted(p.name for p in NOTEBOOK_DIR.iterdir()) == before
