"""IPython magics: ``%%hec_send`` / ``%hec_send VAR`` and ``%hec_config``.

Load them with ``%load_ext hecnb``. They are a thin layer over the core: the cell body is
parsed by :func:`hecnb._source.cells.parse_cell`, events are sent by the session default client
(``hecnb.configure``, the config panel, ``%hec_config`` or the ``NGSIEM_*`` variables) with
``HEC.send``, and the :class:`~hecnb.SendReport` is shown and kept in ``_hec_report``.

Notebook defaults are traitlets: ``%config HecMagics.ingest_format = 'csv'``. Mistakes (an
unknown option, a malformed cell, no configuration) raise ``UsageError``, which IPython shows
as one line without a traceback.

Example::

    %load_ext hecnb
    %hec_config url_key=<url-key> region=us1 key_env=NGSIEM_API_KEY

    %%hec_send --format csv --host nb-01
    user,action
    alice,login
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import (
    MagicArgumentParser,
    argument,
    magic_arguments,
    parse_argstring,
)
from IPython.utils.process import arg_split
from traitlets import Bool, Int, TraitError, Unicode, validate
from traitlets.config.configurable import Configurable

from . import _session
from ._errors import ConfigError, HecError
from ._hec import HEC
from ._preview import preview
from ._report.table import Table
from ._settings.declared import by_keyword, magic_fields, parse_text
from ._settings.names import normalize_format
from ._settings.profiles import SECRET_FIELDS
from ._source.cells import CELL_FORMATS, notebook_variable, parse_cell
from .emulator import Emulator

__all__ = [
    "CONFIG_FIELDS",
    "HecMagics",
    "load_ipython_extension",
    "parse_assignments",
    "resolve_variable",
    "unload_ipython_extension",
]

NO_CONFIGURATION = (
    "No HEC connection is configured: run %hec_config url=<API URL> key_env=<variable holding "
    "the key>, use hecnb.ConfigPanel(), or call hecnb.configure(...) first."
)
KEY_REFUSED = (
    "The API key is never a magic argument, because the notebook would keep it: use "
    "hecnb.ConfigPanel(), %hec_config key_env=<environment variable>, or set NGSIEM_API_KEY."
)

#: ``%hec_config`` fields that are not settings (every declared setting is a field too).
_OWN_FIELDS: dict[str, str] = {
    "key_env": "name of the environment variable that holds the API key",
    "host": "default host for %hec_send events (empty: none)",
    "emulator": "on: start a local emulator and send to it; off: stop it",
    "profile": "load a profile saved from the config panel",
}
#: ``%hec_config`` fields and what they set: the declared settings' own, then these.
CONFIG_FIELDS: dict[str, str] = {**{name: s.doc for name, s in magic_fields().items()},
                                 **_OWN_FIELDS}


# --------------------------------------------------------------------------- plain functions


class _ArgumentParser(MagicArgumentParser):
    """A magic's option parser that raises a one-sentence UsageError instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"%{self.prog}: {message} (see %{self.prog}? for the options).")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message.strip() if message else f"%{self.prog} stopped.")


class _hec_magic_arguments(magic_arguments):  # a decorator, named like IPython's
    """``magic_arguments`` whose parser is an :class:`_ArgumentParser`."""

    def __call__(self, func: Any) -> Any:
        func = super().__call__(func)
        built = func.parser
        func.parser = _ArgumentParser(prog=built.prog, description=built.description,
                                      parents=[built])
        return func


def parse_assignments(line: str) -> dict[str, str]:
    """``'region=eu1 format=csv'`` -> ``{'region': 'eu1', 'format': 'csv'}``, checked.

    A key given as an argument is refused before anything else is looked at.
    """
    tokens = arg_split(line.strip(), posix=True) if line.strip() else []
    names = {t.partition("=")[0].strip().lower().replace("-", "_") for t in tokens}
    if names & SECRET_FIELDS:
        raise UsageError(KEY_REFUSED)
    settings: dict[str, str] = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not name:
            raise UsageError(f"{token!r} is not a setting: write name=value, for example "
                             "%hec_config region=eu1.")
        if name not in CONFIG_FIELDS:  # the declared settings' fields, and the magics' own
            raise UsageError(f"%hec_config has no field {name!r}: use "
                             f"{', '.join(CONFIG_FIELDS)}.")
        settings[name] = value.strip()
    return settings


def resolve_variable(namespace: Mapping[str, Any], name: str) -> Any:
    """The DataFrame or list called ``name`` (see ``hecnb._source.cells.notebook_variable``)."""
    try:
        return notebook_variable(namespace, name)
    except HecError as exc:
        raise UsageError(str(exc)) from None


def _labels(text: str | None) -> list[str] | None:
    if text is None:
        return None
    labels = [part.strip() for part in text.split(",") if part.strip()]
    return labels or None


# ------------------------------------------------------------------------------------ magics


@magics_class
class HecMagics(Magics, Configurable):
    """``%%hec_send``, ``%hec_send VAR`` and ``%hec_config``; defaults via ``%config HecMagics``."""

    ingest_format = Unicode(
        None, allow_none=True,
        help="Format of %%hec_send cell bodies and of what is sent: json yaml xml csv "
             "(None: the session client's format, as set by the panel or %hec_config)."
    ).tag(config=True)
    raw_ingest = Bool(None, allow_none=True,
                      help="Send to the raw endpoint unless --no-raw (None: as the session "
                           "client).").tag(config=True)
    host = Unicode(None, allow_none=True,
                   help="Host set on every event unless --host is given.").tag(config=True)
    show_progress = Bool(True, help="Show a progress bar while sending.").tag(config=True)
    report_variable = Unicode(
        "_hec_report", help="Name under which the last SendReport is kept in the notebook."
    ).tag(config=True)
    preview_rows = Int(3, help="Events shown by --dry-run.").tag(config=True)

    shell: Any  # the InteractiveShell (IPython declares it None at class level)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)

    @validate("ingest_format")
    def _check_format(self, proposal: Any) -> str | None:
        if proposal["value"] is None:
            return None
        try:
            return normalize_format(proposal["value"])
        except ConfigError as exc:
            raise TraitError(str(exc)) from None

    @validate("report_variable")
    def _check_variable(self, proposal: Any) -> str:
        name = proposal["value"]
        if not name.isidentifier():
            raise TraitError(f"report_variable must be a Python name; got {name!r}.")
        return name

    @validate("preview_rows")
    def _check_rows(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise TraitError("preview_rows must be at least 1.")
        return proposal["value"]

    # -- helpers ------------------------------------------------------------------------------
    def _show(self, obj: Any) -> None:
        """Display ``obj`` through this shell (HTML in a notebook, repr in a terminal)."""
        data, metadata = self.shell.display_formatter.format(obj)
        self.shell.display_pub.publish(data=data, metadata=metadata)

    @staticmethod
    def _client() -> HEC:
        try:
            return _session.get_default()
        except ConfigError as exc:
            if str(exc) == _session.HOW_TO_CONFIGURE:
                raise UsageError(NO_CONFIGURATION) from None
            raise UsageError(str(exc)) from None

    # -- %%hec_send / %hec_send VAR -------------------------------------------------------------
    @line_cell_magic
    @_hec_magic_arguments()
    @argument("variable", nargs="?",
              help="line form: the DataFrame, list or dict to send (a.b for an attribute)")
    @argument("-f", "--format", dest="fmt", choices=CELL_FORMATS,
              help="format of the cell body and of what is sent (default: "
                   "HecMagics.ingest_format); text: one event per line")
    @argument("--raw", action=argparse.BooleanOptionalAction, default=None,
              help="send to the raw endpoint (default: HecMagics.raw_ingest)")
    @argument("--host", help="host of every event: a value, or a column name")
    @argument("--time-column", "--timestamp-column", dest="timestamp_column",
              help="column holding each event's time: auto (the default: found by hecnb's "
                   "rule), none (only a 'timestamp' column, as FalconPy), or a column name")
    @argument("--no-hec-time", dest="hec_time", action="store_false", default=True,
              help="do not write HEC's top-level 'time' member beside each json event")
    @argument("--fields", help="comma-separated columns to move into the event's fields")
    @argument("--columns", help="comma-separated columns to keep (the others are left out)")
    @argument("--na", choices=["drop", "null"], help="missing values: drop (default) or null")
    @argument("-n", "--dry-run", action="store_true",
              help="show the first request body instead of sending")
    @argument("--progress", action=argparse.BooleanOptionalAction, default=None,
              help="progress bar (default: HecMagics.show_progress)")
    @argument("-o", "--out", help="variable for the report (default: HecMagics.report_variable)")
    def hec_send(self, line: str = "", cell: str | None = None) -> None:
        """Send the events of the cell body (%%hec_send) or of a variable (%hec_send VAR)."""
        args = parse_argstring(self.hec_send, line)
        current = _session.current()
        fmt = args.fmt or self.ingest_format or (current.ingest_format if current else "json")
        if cell is None:
            if not args.variable:
                raise UsageError("%hec_send needs the name of a DataFrame, list or dict, for "
                                 "example %hec_send df (use %%hec_send for events in a cell).")
            if fmt == "text":
                raise UsageError("--format text is for cell bodies: %hec_send VAR sends a "
                                 "DataFrame, list or dict.")
            data = resolve_variable(self.shell.user_ns, args.variable)
        else:
            if args.variable:
                raise UsageError(f"%%hec_send takes no variable ({args.variable!r}): the events "
                                 f"are the cell body; use %hec_send {args.variable} on its own "
                                 "line to send a variable.")
            try:
                data = parse_cell(cell, fmt)
            except HecError as exc:
                raise UsageError(str(exc)) from None
        ingest_format = "json" if fmt == "text" else fmt
        raw = args.raw
        if raw is None:
            raw = self.raw_ingest if self.raw_ingest is not None else bool(
                current and current.raw_ingest)
        options = self._options(args)
        out = args.out or self.report_variable
        if not out.isidentifier():
            raise UsageError(f"--out {out!r} is not a Python name.")
        if args.dry_run:  # encoded once, as a send would, with the session default's limits
            try:
                self._show(preview(data, self.preview_rows, whole=True,
                                   ingest_format=ingest_format, raw_ingest=raw, **options))
            except HecError as exc:
                raise UsageError(str(exc)) from None
            return
        hec = self._client()
        progress = self.show_progress if args.progress is None else args.progress
        try:
            report = hec.send(data, ingest_format=ingest_format, raw_ingest=raw,
                              show_progress=progress, **options)
        except KeyboardInterrupt:
            if hec.last_report is not None:  # what was and was not confirmed, for a resend
                self.shell.user_ns[out] = hec.last_report
            raise
        except HecError as exc:
            raise UsageError(str(exc)) from None
        self.shell.user_ns[out] = report
        self._show(report)

    def _options(self, args: argparse.Namespace) -> dict[str, Any]:
        """Converter options of ``HEC.send`` from the arguments and the traits."""
        options: dict[str, Any] = {}
        host = args.host if args.host is not None else self.host
        if host:
            options["host"] = host
        if args.timestamp_column:
            choice = args.timestamp_column
            options["timestamp_column"] = {"auto": "auto", "none": None}.get(
                choice.strip().lower(), choice)
        if not args.hec_time:
            options["hec_time"] = False
        for name in ("fields", "columns"):
            labels = _labels(getattr(args, name))
            if labels:
                options[name] = labels
        if args.na:
            options["na"] = args.na
        return options

    # -- %hec_config -----------------------------------------------------------------------------
    @line_magic
    def hec_config(self, line: str = "") -> None:
        """Show the configuration (key masked), or set fields: %hec_config region=eu1 format=csv.

        Fields: region, url, url_key, format, raw, timeout, timeunit, key_env, host,
        emulator=on|off, profile=NAME. The key itself is never an argument.
        """
        settings = parse_assignments(line)
        if settings:
            self._configure(settings)
        self._show(self.describe())

    def describe(self) -> Table:
        """The active configuration, safe to show: the key masked."""
        hec = _session.current()
        rows: list[tuple[str, str]] = []
        if hec is None:
            title = "hecnb: no HEC connection configured"
            rows.append(("how", NO_CONFIGURATION))
        else:
            title = "hecnb: session default"
            for name, value in hec.ingest_config.describe().items():
                if value is not None:
                    rows.append((name, str(value)))
        rows += [
            ("magics: format", self.ingest_format or "(as the client)"),
            ("magics: raw", "(as the client)" if self.raw_ingest is None else str(self.raw_ingest)),
            ("magics: host", self.host or "(none)"),
            ("magics: report variable", self.report_variable),
            ("emulator", emu.url if (emu := _session.emulator()) is not None else "off"),
        ]
        return Table(title, rows)

    def _configure(self, settings: dict[str, str]) -> None:
        """Apply ``%hec_config`` fields: a new session default, then the magics' defaults."""
        fields = dict(settings)
        emulator = host = None
        try:
            if "emulator" in fields:
                emulator = parse_text(by_keyword()["raw_ingest"], fields.pop("emulator"))
            host = fields.pop("host", None)
            profile = fields.pop("profile", None)
            changes = {by_magic[name].keyword: parse_text(by_magic[name], text)
                       for name, text in fields.items() if name in (by_magic := magic_fields())}
            if "key_env" in fields:
                changes["api_key"] = _session.key_from_environment(fields["key_env"])
            if emulator is not None or profile is not None or changes:
                made = _session.reconfigure(changes, profile=profile, use_emulator=emulator)
            else:
                made = None
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        if host is not None:
            self.host = host or None
        if made is not None and "ingest_format" in changes:
            self.ingest_format = made.ingest_format
        if made is not None and "raw_ingest" in changes:
            self.raw_ingest = made.raw_ingest

    # -- the local emulator (the session's: the config panel shares it) --------------------------
    @property
    def emulator(self) -> Emulator | None:
        """The emulator started by ``%hec_config emulator=on`` (or the panel), if running."""
        return _session.emulator()  # type: ignore[no-any-return]

    def start_emulator(self) -> Emulator:
        """Start the session's local emulator (once), kept until ``emulator=off``."""
        return _session.start_emulator()  # type: ignore[no-any-return]

    def stop_emulator(self) -> None:
        """Stop the emulator; a session default that pointed at it is cleared."""
        _session.stop_emulator()


def _registered(shell: Any) -> list[Any]:
    return [c for c in getattr(shell, "configurables", []) if type(c).__name__ == "HecMagics"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext hecnb``); loading twice registers them once."""
    if _registered(ipython):
        return
    ipython.register_magics(HecMagics(shell=ipython))


def unload_ipython_extension(ipython: Any) -> None:
    """Stop the magics' emulator and forget the magics' configurable (``%unload_ext``)."""
    for magics in _registered(ipython):
        magics.stop_emulator()
        ipython.configurables.remove(magics)
