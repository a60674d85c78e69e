"""Real-browser test helpers: JupyterLab on 127.0.0.1, driven by Debian's Chromium via Playwright.

Not a test module. What was seen to work on these machines (see the team's browser-testing
notes): Playwright for Python launching the system ``chromium`` through ``executable_path``
(browser downloads are not possible here, so never ``playwright install``), with background
networking off; JupyterLab started with ``--allow-root`` (CI runs as root) on a free loopback
port with a random token; the "Jupyter news" toast switched off in the settings.

A lesson learned: after a notebook opens, wait for the status bar's
``Python 3 (ipykernel) | Idle`` (only then is the kernel's websocket connected) before running
a cell. Waiting for the toolbar's kernel indicator alone is too early, and the execute request
is silently lost.

>>> chromium = require_browser()                      # doctest: +SKIP
>>> with jupyterlab(root, chromium=chromium) as lab:  # doctest: +SKIP
...     lab.open_notebook("panel.ipynb")
...     lab.run_code_cell(0)
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from conftest import in_ci

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

__all__ = ["CHROMIUM_ARGS", "KERNEL_IDLE", "Lab", "chromium_path", "jupyterlab",
           "require_browser"]

# Without the background-networking flags Chromium keeps trying hosts this machine cannot
# reach; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")
# The status bar once the kernel's websocket is connected and the kernel is idle.
KERNEL_IDLE = "text=Python 3 (ipykernel) | Idle"
# JupyterLab settings every session gets: no news toast, no update check (both would also
# make requests to outside hosts).
QUIET_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}
# Anything the page asks for that is not on the loopback interface is refused (a JavaScript
# regular expression too: Playwright matches it in the driver, so local requests pass freely).
_NOT_LOCAL = re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1([:/]|$)|data:|blob:|about:)")


def chromium_path() -> str | None:
    """Debian's Chromium (``/usr/bin/chromium``), or another on PATH, or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_browser() -> str:
    """The Chromium executable; skip when the browser stack is missing, but fail in CI.

    The stack is Debian's ``chromium`` package plus the Python packages ``playwright``,
    ``jupyterlab`` and ``ipykernel`` (the ``dev`` extra). ``.ci/run`` installs all of them,
    so with ``CI=true`` a missing piece is a failure, never a skip.
    """
    missing: list[str] = []
    chromium = chromium_path()
    if chromium is None:
        missing.append("Chromium (Debian: apt-get install chromium)")
    for module in ("playwright", "jupyterlab", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            missing.append(f"the Python package {module} (pip install -e '.[dev]')")
    if missing:
        reason = "real-browser test: missing " + "; ".join(missing)
        if in_ci():
            pytest.fail(f"CI=true, so this must not skip: {reason}. .ci/run installs them.",
                        pytrace=False)
        pytest.skip(reason)
    assert chromium is not None
    return chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    """A running JupyterLab and a Chromium page on it."""

    base_url: str
    token: str
    root: Path
    log: Path
    page: Page
    blocked: list[str] = field(default_factory=list)  # requests refused (not 127.0.0.1)

    def url(self, path: str) -> str:
        """The address of ``path`` (relative to the root dir) in JupyterLab."""
        return f"{self.base_url}/lab/tree/{path}?token={self.token}"

    def open_notebook(self, path: str) -> None:
        """Open a notebook and wait until its kernel is connected and idle."""
        self.page.goto(self.url(path))
        self.page.wait_for_selector(".jp-Notebook .jp-Cell")
        self.page.wait_for_selector(KERNEL_IDLE)

    def run_code_cell(self, index: int) -> None:
        """Click into the ``index``-th code cell (0-based) and press Shift+Enter."""
        self.page.locator(".jp-CodeCell .jp-InputArea-editor").nth(index).click()
        self.page.keyboard.press("Shift+Enter")

    def menu(self, *labels: str) -> None:
        """Click through the main menu, e.g. ``menu("Run", "Run All Cells")``."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(
            rf"^{re.escape(labels[0])}$")).click()
        for label in labels[1:]:
            self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(
                rf"^{re.escape(label)}$")).click()

    def save(self) -> None:
        """Save the open notebook (command mode, Ctrl+S) and wait until it is not dirty."""
        self.page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
        self.page.keyboard.press("Control+s")
        self.page.wait_for_selector(".jp-mod-dirty", state="detached")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def _write_settings(settings_dir: Path, settings: Mapping[str, Mapping[str, Any]]) -> None:
    for plugin, values in settings.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited ({proc.returncode}):\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"JupyterLab did not answer {url.split('?')[0]} within "
                               f"{timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes], base_url: str, token: str) -> None:
    """Shut the kernels down, then the server (kill it if it does not stop)."""
    if proc.poll() is None:
        try:
            headers = {"Authorization": f"token {token}"}
            kernels = httpx.get(f"{base_url}/api/kernels", headers=headers, timeout=5,
                                trust_env=False).json()
            for kernel in kernels:
                httpx.delete(f"{base_url}/api/kernels/{kernel['id']}", headers=headers,
                             timeout=15, trust_env=False)
        except (httpx.HTTPError, ValueError):
            pass
        proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextmanager
def jupyterlab(root: Path, *, chromium: str,
               settings: Mapping[str, Mapping[str, Any]] | None = None,
               viewport: tuple[int, int] = (1280, 900),
               startup_timeout: float = 90.0) -> Iterator[Lab]:
    """Start JupyterLab serving ``root`` on 127.0.0.1 and open headless Chromium on it.

    JupyterLab's own state (settings, runtime files, workspaces, IPython history) goes to a
    temporary directory, so nothing outside ``root`` is touched and ``root`` holds only what
    the test puts there. ``settings`` are JupyterLab settings per plugin id, added to the
    quiet defaults. The page refuses every request that is not for 127.0.0.1. On the way out
    the kernels and the server are shut down; the server log is printed if the body failed.
    """
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="hecnb-lab-") as state_dir:
        state = Path(state_dir)
        _write_settings(state / "settings", {**QUIET_SETTINGS, **(settings or {})})
        env = dict(os.environ,
                   JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(state / "runtime"),
                   JUPYTER_CONFIG_DIR=str(state / "config"),
                   IPYTHONDIR=str(state / "ipython"))
        port, token = _free_port(), secrets.token_hex(16)
        base_url = f"http://127.0.0.1:{port}"
        log = state / "lab.log"
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                 "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
                 f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly",
                 "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=root)
        try:
            _wait_until_up(proc, f"{base_url}/api/status?token={token}", log, startup_timeout)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
                try:
                    context = browser.new_context(
                        viewport={"width": viewport[0], "height": viewport[1]})
                    page = context.new_page()
                    page.set_default_timeout(90_000)
                    lab = Lab(base_url, token, root, log, page)

                    def refuse(route: Route) -> None:
                        lab.blocked.append(route.request.url)
                        route.abort()

                    context.route(_NOT_LOCAL, refuse)
                    try:
                        yield lab
                    except BaseException:
                        print(f"JupyterLab log (tail):\n{lab.log_tail()}")
                        print(f"requests refused: {lab.blocked}")
                        raise
                finally:
                    browser.close()
        finally:
            _stop(proc, base_url, token)
