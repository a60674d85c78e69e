"""The config-panel notebook in a real browser: JupyterLab + headless Chromium (Playwright).

Opens ``notebooks/04_config_panel.ipynb`` in JupyterLab, runs the panel's cell, clicks
**Test connection**, checks the success message the panel shows, takes the screenshot used in
``docs/notebooks.md``, then runs the rest of the notebook and checks what JupyterLab saved.
Skips without Chromium/Playwright/JupyterLab, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import struct
from pathlib import Path

import nbformat
import pytest
from _browser import jupyterlab, require_browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "04_config_panel.ipynb"
SCREENSHOT = REPO / "docs" / "img" / "config_panel.png"
VIEWPORT = (1280, 900)
SUCCESS = re.compile(r"✔ Connected to http://127\.0\.0\.1:\d+/services/collector: a test event "
                     r"was accepted in \d+ ms\.")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def test_the_docs_show_the_screenshot() -> None:
    assert png_size(SCREENSHOT) == VIEWPORT
    assert "img/config_panel.png" in (REPO / "docs" / "notebooks.md").read_text(encoding="utf-8")


@pytest.mark.timeout(300)
def test_config_panel_notebook_in_jupyterlab(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the config-panel notebook in JupyterLab and click Test connection."""
    chromium = require_browser()
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    monkeypatch.setenv("HECNB_CONFIG_DIR", str(tmp_path / "config"))
    shot = tmp_path / "config_panel.png"
    key = "browser-key-" + secrets.token_hex(8) + "QRST"
    save_widgets = {"@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True}}

    with jupyterlab(root, chromium=chromium, settings=save_widgets, viewport=VIEWPORT) as lab:
        page = lab.page
        lab.open_notebook(NOTEBOOK.name)
        page.keyboard.press("Control+b")  # fold the file browser away: more room for the panel
        page.wait_for_selector(".jp-FileBrowser", state="hidden")

        lab.run_code_cell(0)  # imports, the panel, and its emulator switched on
        page.wait_for_selector("text=Emulator running at")
        page.click("button:has-text('Test connection')")
        status = page.locator("text=a test event was accepted in")
        status.wait_for()
        assert SUCCESS.fullmatch(status.inner_text().strip()), status.inner_text()

        # the picture for the docs: the panel under its cell, with the success message
        page.locator(".jp-CodeCell").first.scroll_into_view_if_needed()
        page.locator(".jp-CodeCell .jp-OutputArea").first.scroll_into_view_if_needed()
        page.mouse.move(0, 0)  # no hover highlight in the picture
        page.screenshot(path=str(shot))

        # a user's key: switch the emulator off, type a key, switch it back on
        switch = page.locator("label:has-text('Local emulator') input[type=checkbox]")
        switch.click()
        page.wait_for_selector("text=Emulator stopped")
        field = page.locator("input[type=password]")
        field.fill(key)
        field.press("Enter")
        page.wait_for_selector(f"text=key set (****{key[-4:]})")
        assert field.input_value() == ""
        switch.click()
        page.wait_for_selector("text=Emulator running at")

        # then the rest of the notebook, below the panel's cell
        lab.run_code_cell(1)
        page.keyboard.press("Escape")
        lab.menu("Run", "Run Selected Cell and All Below")
        page.wait_for_selector("text=panel closed, emulator stopped: True")
        lab.save()
        assert lab.blocked == [], f"the page tried to reach other hosts: {lab.blocked}"

    assert png_size(shot) == VIEWPORT
    if os.environ.get("HECNB_UPDATE_SCREENSHOTS") or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOT)

    saved = nbformat.read(str(root / NOTEBOOK.name), as_version=4)
    code = [cell for cell in saved.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert all(isinstance(n, int) for n in counts), f"cells not run: {counts}"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), counts
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", output
            assert output.get("name") != "stderr", output
    panel_outputs = code[0].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in panel_outputs), "the panel was not displayed"
    text = (root / NOTEBOOK.name).read_text(encoding="utf-8")
    assert "Connected: the collector accepted a test event" in text  # Test, from code
    assert "panel closed, emulator stopped: True" in text
    assert key[:-4] not in text  # the key typed in the browser is not in the saved file
