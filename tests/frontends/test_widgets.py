"""ConfigPanel: every control, Test/Apply against the emulator, the emulator switch, profiles,
and the key never surviving in widget state, a saved notebook, a repr or a profile file."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import keyring
import nbformat
import pandas as pd
import pytest
from _browser import jupyterlab, require_browser
from conftest import KEY
from ipywidgets.embed import embed_data
from ipywidgets.widgets.widget import Widget
from traitlets.config import Config

from hecnb import HEC, ConfigError, _session
from hecnb._settings.names import REGIONS
from hecnb.emulator import Emulator
from hecnb.widgets import ConfigPanel, _walk

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("HECNB_CONFIG_DIR", str(tmp_path / "config"))
    _session.set_default(None)
    yield
    _session.set_default(None)


@pytest.fixture
def panel() -> Iterator[ConfigPanel]:
    p = ConfigPanel()
    yield p
    p.close()


def type_key(panel: ConfigPanel, key: str) -> None:
    """The key arriving from the browser, as a comm message does it."""
    panel.api_key.set_state({"value": key})


def everything_saved() -> str:
    """The notebook widget state (all live widgets), as JSON text."""
    return json.dumps(Widget.get_manager_state(drop_defaults=False), default=str)


# ---------------------------------------------------------------------------------- controls


def test_every_control_exists(panel: ConfigPanel) -> None:
    assert [value for _, value in panel.region.options] == list(REGIONS)
    assert len(panel.region.options) == 6
    assert isinstance(panel.url, widgets.Text)
    assert isinstance(panel.api_key, widgets.Password)
    assert panel.api_key.continuous_update is False
    assert list(panel.ingest_format.options) == ["json", "yaml", "xml", "csv"]
    assert isinstance(panel.raw, widgets.Checkbox) and panel.raw.value is False
    assert panel.timeout.value == 5
    assert isinstance(panel.use_emulator, widgets.Checkbox)
    for button in (panel.test_button, panel.apply_button, panel.save_button,
                   panel.load_button):
        assert isinstance(button, widgets.Button)
    assert panel.test_button.description == "Test connection"
    everything = list(_walk(panel.widget))
    for control in (panel.region, panel.url, panel.api_key, panel.key_status,
                    panel.ingest_format, panel.raw, panel.timeout, panel.use_emulator,
                    panel.key_source, panel.key_env, panel.profile_name, panel.status):
        assert control in everything


def test_widgets_belong_to_each_panel() -> None:
    a, b = ConfigPanel(), ConfigPanel()
    try:
        assert a.api_key is not b.api_key and a.widget is not b.widget
        a.region.value = "eu1"
        assert b.region.value == "us1" and b.model.region == "us1"
    finally:
        a.close()
        b.close()


def test_panel_displays_its_layout(panel: ConfigPanel) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.clear_instance()
    InteractiveShell.instance(config=config)
    try:
        with capture_output() as cap:
            display(panel)
        assert any(VIEW_MIME in out.data and out.data[VIEW_MIME]["model_id"] ==
                   panel.widget.model_id for out in cap.outputs)
    finally:
        InteractiveShell.clear_instance()


# ------------------------------------------------------------------------------ test / apply


def test_apply_sets_the_session_default(panel: ConfigPanel, emu: Emulator) -> None:
    panel.url.value = emu.url
    panel.ingest_format.value = "csv"
    panel.timeout.value = 12
    type_key(panel, KEY)
    panel.apply_button.click()
    hec = _session.current()
    assert hec is panel.hec and isinstance(hec, HEC)
    assert hec.ingest_url == emu.url and hec.ingest_format == "csv" and hec.ingest_timeout == 12
    assert "Applied" in panel.status.value
    report = pd.DataFrame({"user": ["alice", "bob"]}).to_ngsiem(show_progress=False)
    assert report.ok and emu.wait_for(2)
    assert sorted(e["event"]["user"] for e in emu.events) == ["alice", "bob"]
    panel.raw.value = True  # a change makes a new client; Apply again to use it
    assert panel.hec is not hec and _session.current() is hec
    assert panel.apply() is _session.current() and _session.current().raw_ingest


def test_url_key_and_region(panel: ConfigPanel) -> None:
    panel.region.value = "eu1"
    panel.url.value = "abc123"
    type_key(panel, KEY)
    assert panel.hec.ingest_url == "https://abc123.ingest.eu-1.crowdstrike.com/services/collector"
    panel.url.value = "https://xyz.ingest.us-2.crowdstrike.com/services/collector"
    assert panel.region.disabled  # the full URL decides the region
    assert panel.hec.ingest_url.startswith("https://xyz.ingest.us-2.")


def test_test_connection_success_shows_latency(panel: ConfigPanel, emu: Emulator) -> None:
    panel.url.value = emu.url
    type_key(panel, KEY)
    panel.test_button.click()
    check = panel.last_check
    assert check is not None and check.ok and check.latency_ms is not None
    assert f"{check.latency_ms:.0f} ms" in panel.status.value
    assert "Connected to " + emu.url in panel.status.value
    assert _session.current() is None  # testing does not apply


def test_test_connection_wrong_key(panel: ConfigPanel, emu: Emulator) -> None:
    panel.url.value = emu.url
    type_key(panel, "wrong-key-00000000000000")
    check = panel.test_connection()
    assert not check.ok and check.status == 403
    assert "HTTP 403" in panel.status.value and "API key was refused" in panel.status.value


def test_test_connection_closed_port(panel: ConfigPanel, free_port: int) -> None:
    panel.url.value = f"http://127.0.0.1:{free_port}/services/collector"
    panel.timeout.value = 2
    type_key(panel, KEY)
    check = panel.test_connection()
    assert not check.ok and check.status is None
    assert "Cannot reach the collector" in panel.status.value
    assert "Traceback" not in panel.status.value


def test_incomplete_settings_are_said_plainly(panel: ConfigPanel) -> None:
    panel.test_button.click()
    assert "No destination" in panel.status.value
    panel.url.value = "abc123"
    panel.apply_button.click()  # a button never raises: the status says why
    assert "No API key" in panel.status.value and _session.current() is None
    with pytest.raises(ConfigError, match="No API key"):
        panel.apply()  # called from code, the same mistake raises


def test_key_from_the_environment_variable(panel: ConfigPanel, emu: Emulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_KEY", KEY)
    panel.url.value = emu.url
    panel.key_env.value = "LAB_KEY"
    assert "$LAB_KEY (set)" in panel.key_status.value
    assert panel.test_connection().ok


def test_starts_from_the_current_session_default(emu: Emulator) -> None:
    _session.configure(api_key=KEY, ingest_url=emu.url, ingest_format="yaml")
    p = ConfigPanel()
    try:
        assert p.url.value == emu.url and p.ingest_format.value == "yaml"
        assert "****XYZW" in p.key_status.value and p.test_connection().ok
    finally:
        p.close()


# ---------------------------------------------------------------------------- the emulator


def test_emulator_switch_starts_applies_and_stops(panel: ConfigPanel) -> None:
    panel.use_emulator.value = True
    emu = panel.emulator
    assert emu is not None and emu.running
    hec = _session.current()
    assert hec is not None and hec.ingest_url == emu.url and panel.url.value == emu.url
    assert panel.url.disabled and panel.api_key.disabled
    assert panel.test_connection().ok
    pd.DataFrame({"user": ["alice"]}).to_ngsiem(show_progress=False)
    assert emu.wait_for(2) and emu.events[-1]["event"]["user"] == "alice"
    panel.use_emulator.value = False
    assert panel.emulator is None and not emu.running and _session.current() is None
    assert not panel.url.disabled and panel.url.value == ""


def test_emulator_methods_from_code(panel: ConfigPanel) -> None:
    emu = panel.start_emulator()
    assert panel.use_emulator.value is True and panel.start_emulator() is emu
    panel.stop_emulator()
    assert panel.use_emulator.value is False and not emu.running


# --------------------------------------------------------------------------------- profiles


def test_profile_round_trip_without_the_key(panel: ConfigPanel, emu: Emulator,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    panel.url.value = emu.url
    panel.region.value = "eu1"
    panel.ingest_format.value = "xml"
    panel.raw.value = True
    panel.key_env.value = "LAB_KEY"
    type_key(panel, KEY)
    panel.profile_name.value = "lab"
    panel.save_button.click()
    path = Path(panel.status.value.split(" to ")[1].split(";")[0])
    text = path.read_text()
    assert KEY not in text and KEY[-4:] not in text
    assert json.loads(text)["key_env"] == "LAB_KEY" and "lab" in panel.profile_name.options

    other = ConfigPanel()
    try:
        other.profile_name.value = "lab"
        other.load_button.click()
        assert (other.url.value, other.region.value, other.ingest_format.value,
                other.raw.value) == (emu.url, "eu1", "xml", True)
        assert not other.model.has_key and "$LAB_KEY is not set" in other.status.value
        monkeypatch.setenv("LAB_KEY", KEY)
        assert other.test_connection().ok
    finally:
        other.close()


def test_profile_key_in_the_keyring(emu: Emulator) -> None:
    from test_profiles import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    p = ConfigPanel()
    try:
        assert ("system keyring", "keyring") in p.key_source.options
        p.url.value = emu.url
        p.key_source.value = "keyring"
        type_key(p, KEY)
        p.save_profile("prod")
        assert list(backend.store.values()) == [KEY]
        q = ConfigPanel(profile="prod")
        try:
            assert q.model.has_key and q.test_connection().ok
        finally:
            q.close()
    finally:
        keyring.set_keyring(previous)
        p.close()


def test_without_a_usable_keyring_only_the_variable_is_offered() -> None:
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        p = ConfigPanel()
        assert [v for _, v in p.key_source.options] == ["env"]
        p.close()
    finally:
        keyring.set_keyring(previous)


def test_loading_a_missing_profile_says_so(panel: ConfigPanel) -> None:
    panel.profile_name.value = "nope"
    panel.load_button.click()
    assert "No profile named" in panel.status.value


# ------------------------------------------------------------------------------ key hygiene


def test_password_field_is_cleared_as_soon_as_the_key_arrives(panel: ConfigPanel) -> None:
    type_key(panel, KEY)
    assert panel.api_key.value == "" and panel.api_key.get_state()["value"] == ""
    assert panel.model.has_key and panel.model.resolve_key({}) == KEY
    assert "key set (****XYZW)" in panel.key_status.value
    panel.api_key.value = "  " + KEY[::-1] + "  "  # typed from code: the same
    assert panel.api_key.value == "" and panel.model.resolve_key({}) == KEY[::-1]


def test_the_browser_is_told_to_clear_the_field_and_never_sent_the_key(
        panel: ConfigPanel) -> None:
    sent: list[dict[str, object]] = []
    panel.api_key.comm.send = lambda data=None, **_: sent.append(data)  # type: ignore[union-attr]
    # the comm message a browser sends when the user presses Enter in the field
    panel.api_key._handle_msg({"content": {"data": {
        "method": "update", "state": {"value": KEY}, "buffer_paths": []}}, "buffers": []})
    assert panel.model.resolve_key({}) == KEY
    assert sent == [{"method": "update", "state": {"value": ""}, "buffer_paths": []}]
    assert "echo_update" not in json.dumps(sent) and KEY not in json.dumps(sent)


def test_the_saved_state_check_would_catch_a_leak() -> None:
    leak = widgets.Password(value=KEY)
    try:
        assert KEY in everything_saved()
    finally:
        leak.close()
    assert KEY not in everything_saved()


def test_key_does_not_survive_in_the_notebook(panel: ConfigPanel, emu: Emulator,
                                              tmp_path: Path) -> None:
    panel.url.value = emu.url
    type_key(panel, KEY)
    panel.test_button.click()
    panel.apply_button.click()
    assert panel.last_check is not None and panel.last_check.ok
    assert _session.current() is panel.hec
    hidden = KEY[:-4]  # all but the last four characters, which the label may show

    # (a) no widget of the panel holds it
    for widget in _walk(panel.widget):
        state = json.dumps(widget.get_state(), default=str)
        assert hidden not in state, type(widget).__name__
    assert "****XYZW" in panel.key_status.value

    # (b) nor the state Jupyter saves for the whole kernel, nor an embedding of the panel
    manager_state = Widget.get_manager_state(drop_defaults=False)
    assert panel.api_key.model_id in manager_state["state"]
    assert hidden not in json.dumps(manager_state, default=str)
    assert hidden not in json.dumps(embed_data(views=[panel.widget]), default=str)

    # (c) nor a notebook file saved with that widget state and the panel's output
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("from hecnb.widgets import ConfigPanel\n"
                                     "panel = ConfigPanel()\npanel")
    cell.outputs = [nbformat.v4.new_output(
        "display_data",
        data={VIEW_MIME: {"version_major": 2, "version_minor": 0,
                          "model_id": panel.widget.model_id},
              "text/plain": repr(panel)})]
    nb.cells.append(cell)
    nb.metadata["widgets"] = {STATE_MIME: manager_state}
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, str(path))
    saved = path.read_text(encoding="utf-8")
    assert panel.widget.model_id in saved and panel.api_key.model_id in saved
    assert hidden not in saved

    # ... nor the panel's repr, nor a saved profile
    assert hidden not in repr(panel) and "****XYZW" in repr(panel)
    profile = Path(panel.save_profile("after-apply"))
    assert hidden not in profile.read_text() and KEY[-4:] not in profile.read_text()


# --------------------------------------------------------------------------- in a real browser


@pytest.mark.timeout(300)
def test_key_typed_in_jupyterlab_is_not_in_the_saved_notebook(tmp_path: Path) -> None:
    """Type the key into the panel in JupyterLab, Apply, Test, save with widget state, and
    look for it in the .ipynb the browser saved. Skips without the browser stack, except in
    CI (``CI=true``), where it fails."""
    chromium = require_browser()
    key = "browser-key-" + secrets.token_hex(8) + "QRST"
    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import os\nos.environ['HECNB_CONFIG_DIR'] = {str(tmp_path / 'cfg')!r}\n"
        "from hecnb.emulator import Emulator\nfrom hecnb.widgets import ConfigPanel\n"
        "emu = Emulator().start()\npanel = ConfigPanel()\npanel.url.value = emu.url\npanel"))
    notebook = root / "panel.ipynb"
    nbformat.write(nb, str(notebook))
    save_widgets = {"@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True}}
    with jupyterlab(root, chromium=chromium, settings=save_widgets) as lab:
        page = lab.page
        lab.open_notebook("panel.ipynb")
        lab.run_code_cell(0)
        page.wait_for_selector("button:has-text('Test connection')")
        field = page.locator("input[type=password]").first
        field.fill(key)
        field.press("Enter")
        page.wait_for_selector("text=key set (****QRST)")
        assert field.input_value() == ""
        page.click("button:has-text('Apply')")
        page.wait_for_selector("text=Applied")
        page.click("button:has-text('Test connection')")
        page.wait_for_selector("text=a test event was accepted in")
        lab.save()
    saved = notebook.read_text(encoding="utf-8")
    state = json.loads(saved)["metadata"]["widgets"][STATE_MIME]["state"]
    assert any(m["model_name"] == "PasswordModel" for m in state.values())
    assert "key set (****QRST)" in saved
    assert key[:-4] not in saved


def test_proxy_field_reaches_the_client_and_the_profile_but_never_a_password(
        panel: ConfigPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    assert panel.proxy in list(_walk(panel.widget))
    panel.url.value = "https://abc.ingest.us-1.crowdstrike.com/services/collector"
    type_key(panel, KEY)
    panel.proxy.value = "http://proxy.example:3128"
    assert panel.hec_kwargs()["proxy"] == "http://proxy.example:3128"
    assert panel.hec.proxy == "http://proxy.example:3128"
    panel.profile_name.value = "behind-proxy"
    panel.save_button.click()
    path = Path(panel.status.value.split(" to ")[1].split(";")[0])
    assert json.loads(path.read_text())["proxy"] == "http://proxy.example:3128"
    other = ConfigPanel(profile="behind-proxy")
    try:
        assert other.proxy.value == "http://proxy.example:3128"
    finally:
        other.close()
    panel.proxy.value = "http://me:pr0xy-pw@proxy.example:3128"
    assert "HTTPS_PROXY" in panel.status.value and "pr0xy-pw" not in panel.status.value
    assert panel.proxy.value == "http://proxy.example:3128"  # the password is not kept
    assert panel.model.proxy == "http://proxy.example:3128"
