"""``ConfigPanel``: configure the session's HEC client from a notebook, without leaking the key.

The panel is a thin view over :class:`~hecnb._settings.profiles.ConnectionSettings` (the
model): every control writes into the model, every button calls an ordinary method you can call
from code
(:meth:`ConfigPanel.test_connection`, :meth:`~ConfigPanel.apply`,
:meth:`~ConfigPanel.save_profile`, :meth:`~ConfigPanel.load_profile`,
:meth:`~ConfigPanel.start_emulator`, :meth:`~ConfigPanel.stop_emulator`).

The API key is typed into a password field. The moment its value reaches the kernel it is moved
into the model and the field is cleared, so the key is not in the widget state that Jupyter
saves with the notebook; the panel shows only ``key set (****abcd)``. Profiles never hold it
(see :mod:`hecnb._settings.profiles`).

>>> from hecnb.widgets import ConfigPanel
>>> panel = ConfigPanel()       # doctest: +SKIP
>>> panel                       # doctest: +SKIP   (shows the controls)
>>> panel.hec                   # doctest: +SKIP   (the configured client, after Apply)
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as widgets
from traitlets import Unicode

from . import _session
from ._errors import ConfigError, HecError
from ._hec import HEC
from ._report.check import ConnectionCheck
from ._settings.names import CONTENT_TYPES, REGIONS
from ._settings.profiles import (
    ConnectionSettings,
    keyring_available,
    list_profiles,
    load_profile,
    save_profile,
)
from .emulator import Emulator

__all__ = ["ConfigPanel"]

_REGION_LABELS = {
    "us1": "US-1", "us2": "US-2", "us3": "US-3", "eu1": "EU-1",
    "usgov1": "US-GOV-1", "usgov2": "US-GOV-2",
}
_OK, _FAIL, _INFO = "#1a7f37", "#cf222e", "#57606a"
_WIDE = widgets.Layout(width="32em")
_STYLE = {"description_width": "9em"}


class _KeyField(widgets.Password):
    """A password field whose value is never echoed back to the browser(s).

    ipywidgets 8 answers each value a browser sends with an ``echo_update`` message to every
    connected frontend; for the key that would be one more copy on the wire (and on a
    collaborator's screen). The panel clears the field as soon as the key arrives instead.
    """

    value = Unicode(help="The API key while it is in transit; the panel clears it at once.").tag(
        sync=True, echo_update=False)


def _walk(widget: widgets.Widget) -> Iterator[widgets.Widget]:
    """``widget`` and every widget inside it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


class ConfigPanel:
    """Region, URL, API key, format, raw, timeout and a local emulator switch; Test and Apply.

    ``Apply`` makes the client the session default used by ``df.to_ngsiem()`` and the magics;
    ``panel.hec`` is the configured client. Saved profiles hold region, URL and format, never
    the key.
    """

    def __init__(self, *, profile: str | None = None) -> None:
        self.model = ConnectionSettings()
        self._hec: HEC | None = None
        self._applied: HEC | None = None
        self._syncing = False
        self.last_check: ConnectionCheck | None = None
        current = _session.current()
        if current is not None:  # start from the session default: its settings and key
            self.model = ConnectionSettings.from_hec(current)
        self._build()
        self._wire()
        self._show_model()
        if profile is not None:
            self.load_profile(profile)

    # -- construction (per instance; nothing is displayed here) ---------------------------------
    def _build(self) -> None:
        self.region = widgets.Dropdown(
            options=[(f"{_REGION_LABELS.get(k, k)} ({k})", k) for k in REGIONS],
            description="Region", style=_STYLE, layout=_WIDE)
        self.url = widgets.Text(
            description="URL key or URL", placeholder="URL key, or the full API URL from the "
            "Falcon console", style=_STYLE, layout=_WIDE)
        self.api_key = _KeyField(
            description="API key", placeholder="paste the key, then press Enter",
            continuous_update=False, style=_STYLE, layout=_WIDE)
        self.key_status = widgets.HTML()
        self.ingest_format = widgets.Dropdown(options=list(CONTENT_TYPES), description="Format",
                                              style=_STYLE)
        self.raw = widgets.Checkbox(description="Raw endpoint (one event per line)",
                                    indent=False)
        self.timeout = widgets.BoundedFloatText(min=0.1, max=3600, step=1,
                                                description="Timeout (s)", style=_STYLE)
        self.proxy = widgets.Text(
            description="Proxy (https)", placeholder="http://proxy.example:3128 (empty: "
            "HTTPS_PROXY from the environment)", continuous_update=False, style=_STYLE,
            layout=_WIDE)
        self.use_emulator = widgets.Checkbox(description="Local emulator (starts one and sends "
                                             "to it)", indent=False)
        self.test_button = widgets.Button(description="Test connection", icon="plug")
        self.apply_button = widgets.Button(description="Apply", button_style="primary",
                                           icon="check")
        sources = [("system keyring", "keyring"), ("environment variable", "env")]
        if not keyring_available():
            sources = sources[1:]
        self.key_source = widgets.Dropdown(options=sources, description="Key from",
                                           style=_STYLE)
        self.key_env = widgets.Text(description="Variable", style={"description_width": "5em"},
                                    layout=widgets.Layout(width="18em"))
        self.profile_name = widgets.Combobox(options=list_profiles(), value="default",
                                             description="Profile", style=_STYLE,
                                             ensure_option=False)
        self.save_button = widgets.Button(description="Save profile", icon="save")
        self.load_button = widgets.Button(description="Load profile", icon="folder-open")
        self.status = widgets.HTML()
        self.widget = widgets.VBox([
            widgets.HTML("<b>hecnb: NG-SIEM HEC connection</b>"),
            self.region, self.url, self.api_key, self.key_status,
            widgets.HBox([self.ingest_format, self.raw]),
            self.timeout, self.proxy, self.use_emulator,
            widgets.HBox([self.test_button, self.apply_button]),
            self.profile_name,
            widgets.HBox([self.key_source, self.key_env]),
            widgets.HBox([self.save_button, self.load_button]),
            self.status,
        ])

    def _wire(self) -> None:
        self.api_key.observe(self._on_key, names="value")
        for control in (self.region, self.url, self.ingest_format, self.raw, self.timeout,
                        self.proxy, self.key_source, self.key_env):
            control.observe(self._on_control, names="value")
        self.use_emulator.observe(self._on_emulator, names="value")
        self.test_button.on_click(self._handler(self.test_connection))
        self.apply_button.on_click(self._handler(self.apply))
        self.save_button.on_click(self._handler(self.save_profile))
        self.load_button.on_click(self._handler(self.load_profile))

    def _handler(self, method: Callable[[], Any]) -> Callable[[widgets.Button], None]:
        """A button callback: call ``method``; a mistake is shown in the status line."""
        def on_click(_button: widgets.Button) -> None:
            try:
                method()
            except HecError as exc:
                self._say(str(exc), _FAIL)
        return on_click

    # -- model <-> widgets ----------------------------------------------------------------------
    def _show_model(self) -> None:
        """Copy the model into the controls (without treating that as user input)."""
        was = self._syncing
        self._syncing = True
        try:
            self.region.value = self.model.region
            self.url.value = self._emulator.url if self._emulator else self.model.url_or_key
            self.ingest_format.value = self.model.ingest_format
            self.raw.value = self.model.raw_ingest
            self.timeout.value = self.model.timeout
            self.proxy.value = self.model.proxy
            self.use_emulator.value = self._emulator is not None
            if self.model.key_source in dict(self.key_source.options).values():
                self.key_source.value = self.model.key_source
            self.key_env.value = self.model.key_env
            self.url.disabled = self.region.disabled = self._emulator is not None
            self.proxy.disabled = self._emulator is not None
            self.region.disabled = self.region.disabled or "://" in self.model.url_or_key
            self.api_key.disabled = self._emulator is not None
        finally:
            self._syncing = was
        self._show_key()

    def _show_key(self) -> None:
        if self._emulator is not None:
            text = "API key: the emulator's own (generated)"
        elif self.model.has_key:
            text = f"API key: key set ({html.escape(self.model.key_hint)})"
        else:
            text = f"API key: not typed; read {html.escape(self.model.key_hint)}"
        self.key_status.value = f"<span style='color:{_INFO}'>{text}</span>"

    def _on_key(self, change: dict[str, Any]) -> None:
        """The key reached the kernel: move it into the model and clear the field at once."""
        value = change["new"]
        if not value:
            return
        self.api_key.value = ""
        self.model.set_key(value)
        self._invalidate()
        self._show_key()

    def _on_control(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        owner = change["owner"]
        field = {id(self.region): "region", id(self.url): "url_or_key",
                 id(self.ingest_format): "ingest_format", id(self.raw): "raw_ingest",
                 id(self.timeout): "timeout", id(self.proxy): "proxy",
                 id(self.key_source): "key_source",
                 id(self.key_env): "key_env"}[id(owner)]
        previous = getattr(self.model, field)
        setattr(self.model, field, change["new"])
        try:
            self.model.validate()
        except ConfigError as exc:
            setattr(self.model, field, previous)
            if field == "proxy":  # it may hold a password: not kept in the widget state
                self._syncing = True
                try:
                    self.proxy.value = previous
                finally:
                    self._syncing = False
            self._say(str(exc), _FAIL)
            return
        self.region.disabled = self._emulator is not None or "://" in self.model.url_or_key
        self._invalidate()
        self._show_key()

    def _on_emulator(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            if change["new"]:
                self.start_emulator()
            else:
                self.stop_emulator()
        except (HecError, OSError) as exc:
            self._say(f"The emulator did not start: {exc}.", _FAIL)
            self._show_model()

    def _invalidate(self) -> None:
        """Settings changed: the next ``hec`` is built afresh (the old one closed if unused)."""
        old, self._hec = self._hec, None
        if old is not None and old is not _session.current():
            old.close()

    def _say(self, text: str, colour: str = _INFO) -> None:
        self.status.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    # -- the client -------------------------------------------------------------------------------
    def hec_kwargs(self) -> dict[str, Any]:
        """Keywords for :class:`hecnb.HEC` from the panel (a ConfigError says what is missing)."""
        if self._emulator is not None:
            return self.model.hec_kwargs(destination=_session.emulator_settings())
        return self.model.hec_kwargs()

    @property
    def hec(self) -> HEC:
        """The client the panel's settings describe (the session default after Apply)."""
        if self._hec is None:
            self._hec = HEC(**self.hec_kwargs())
        return self._hec

    def test_connection(self) -> ConnectionCheck:
        """Send one test event (``HEC.check_connection``) and show the outcome in plain words."""
        try:
            hec = self.hec
        except ConfigError as exc:
            check = ConnectionCheck(False, "", None, f"Not tested: {exc}")
        else:
            check = hec.check_connection()
        self.last_check = check
        if check.ok:
            self._say(f"\u2714 Connected to {check.url}: a test event was accepted in "
                      f"{check.latency_ms or 0:.0f} ms.", _OK)
        else:
            self._say(f"\u2718 {check.reason}", _FAIL)
        return check

    def apply(self) -> HEC:
        """Make the panel's client the session default (accessor, magics) and return it."""
        hec = self.hec
        previous, self._applied = self._applied, hec
        _session.configure(hec)
        if previous is not None and previous is not hec:
            previous.close()  # an earlier Apply's client, no longer the default
        self._say(f"\u2714 Applied: df.to_ngsiem() and %hec_send now send to {hec.ingest_url} "
                  f"({hec.ingest_format}{', raw' if hec.raw_ingest else ''}).", _OK)
        return hec

    # -- profiles -----------------------------------------------------------------------------
    def save_profile(self, name: str | None = None) -> str:
        """Save region, URL, format, raw and timeout as profile ``name``; return the file path.

        The key is never written: it goes to the system keyring when "Key from" is the keyring
        (and one is usable), else the profile names the environment variable to read it from.
        """
        name = (name if name is not None else self.profile_name.value).strip()
        settings = ConnectionSettings(
            region=self.model.region, url_or_key=self.model.url_or_key,
            ingest_format=self.model.ingest_format, raw_ingest=self.model.raw_ingest,
            timeout=self.model.timeout, key_source=self.model.key_source,
            key_env=self.model.key_env, proxy=self.model.proxy)
        saved = save_profile(name, settings, key=self.model.resolve_key())
        self.profile_name.options = list_profiles()
        self._say(f"Saved profile {saved.name!r} to {saved.path}; {saved.note}.",
                  _OK if saved.key_source == self.model.key_source else _FAIL)
        return str(saved.path)

    def load_profile(self, name: str | None = None) -> ConnectionSettings:
        """Load profile ``name`` into the panel (press Apply to use it); return its settings."""
        name = (name if name is not None else self.profile_name.value).strip()
        loaded = load_profile(name)
        if self._emulator is not None:
            self.stop_emulator()
        self.model = loaded.settings  # holds the keyring's key, if it had one
        self._syncing = True
        self.profile_name.value = loaded.name
        self._syncing = False
        self._invalidate()
        self._show_model()
        self._say(f"Loaded profile {loaded.name!r}; {loaded.note}. Press Apply to use it.")
        return self.model

    # -- the local emulator -------------------------------------------------------------------
    @property
    def _emulator(self) -> Emulator | None:
        return _session.emulator()  # type: ignore[no-any-return]

    @property
    def emulator(self) -> Emulator | None:
        """The session's emulator (the switch, or ``%hec_config emulator=on``), while it runs."""
        return self._emulator

    def start_emulator(self) -> Emulator:
        """Start the session's local emulator, point the panel at it and apply (it needs
        nothing typed)."""
        _session.start_emulator()
        self._invalidate()
        self._show_model()
        self.apply()
        emu = _session.start_emulator()
        self._say(f"\u2714 Emulator running at {emu.url}; it is the session default "
                  "now (its events: panel.emulator.events).", _OK)
        return emu  # type: ignore[no-any-return]

    def stop_emulator(self) -> None:
        """Stop the emulator; a session default that pointed at it is cleared."""
        if self._emulator is None:
            return
        old, self._hec = self._hec, None
        if old is not None:
            if old is _session.current():
                _session.set_default(None)
            old.close()
        _session.stop_emulator()
        self._show_model()
        self._say("Emulator stopped; configure a collector and press Apply.")

    def close(self) -> None:
        """Stop the emulator and close the widgets."""
        self.stop_emulator()
        for widget in list(_walk(self.widget)):
            widget.close()

    # -- display ---------------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        target = self._emulator.url if self._emulator else (self.model.url_or_key or None)
        key = "emulator" if self._emulator else (
            self.model.key_hint)
        return (f"ConfigPanel(region={self.model.region!r}, url={target!r}, key={key!r}, "
                f"format={self.model.ingest_format!r}, raw={self.model.raw_ingest}, "
                f"timeout={self.model.timeout:g}, emulator={'on' if self._emulator else 'off'})")
