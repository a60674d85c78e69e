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
import html
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
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
from ._encode.formats import encode, encode_noted
from ._errors import ConfigError, HecError
from ._hec import HEC
from ._settings.names import REGIONS, normalize_format, normalize_region, normalize_timeunit
from ._settings.profiles import SECRET_FIELDS, load_profile
from ._source.cells import CELL_FORMATS, parse_cell
from .emulator import Emulator

__all__ = [
    "CONFIG_FIELDS",
    "DryRun",
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

#: ``%hec_config`` fields and what they set.
CONFIG_FIELDS: dict[str, str] = {
    "region": "region of the URL key (us1 us2 us3 eu1 usgov1 usgov2)",
    "url": "the full API URL the Falcon console shows",
    "url_key": "the URL key (first label of the API URL's host)",
    "format": "ingest format: json yaml xml csv (also the magics' default)",
    "raw": "use the raw endpoint: true or false (also the magics' default)",
    "timeout": "seconds per request",
    "timeunit": "unit of generated timestamps: nanoseconds milliseconds seconds",
    "key_env": "name of the environment variable that holds the API key",
    "host": "default host for %hec_send events (empty: none)",
    "emulator": "on: start a local emulator and send to it; off: stop it",
    "profile": "load a profile saved from the config panel",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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


def _flag(name: str, value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise UsageError(f"{name}={value!r} is not true or false (use on/off, true/false, yes/no).")


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
        if name not in CONFIG_FIELDS:
            raise UsageError(f"%hec_config has no field {name!r}: use "
                             f"{', '.join(CONFIG_FIELDS)}.")
        settings[name] = value.strip()
    return settings


def resolve_variable(namespace: Mapping[str, Any], name: str) -> Any:
    """The DataFrame or list called ``name`` (a dict becomes a list of one event); ``a.b``
    follows attributes."""
    head, *attrs = name.split(".")
    if not head.isidentifier() or not all(a.isidentifier() for a in attrs):
        raise UsageError(f"{name!r} is not a variable name: %hec_send takes the name of a "
                         "DataFrame, list or dict.")
    if head not in namespace:
        raise UsageError(f"No variable named {head!r} in the notebook: run the cell that "
                         "makes it first.")
    value = namespace[head]
    for i, attr in enumerate(attrs):
        try:
            value = getattr(value, attr)
        except AttributeError:
            where = ".".join([head, *attrs[:i]])
            raise UsageError(f"{where!r} has no attribute {attr!r}.") from None
    if isinstance(value, dict):
        return [value]  # one event (HEC.send takes an iterable of events)
    if isinstance(value, (list, tuple)):
        return list(value)
    if _is_frame(value):
        return value
    raise UsageError(f"{name!r} is a {type(value).__name__}: %hec_send sends a DataFrame, a list "
                     "of dicts or a dict.")


def _is_frame(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and hasattr(value, "columns")


def _labels(text: str | None) -> list[str] | None:
    if text is None:
        return None
    labels = [part.strip() for part in text.split(",") if part.strip()]
    return labels or None


def _head(data: Any, n: int) -> Any:
    if _is_frame(data):
        return data.head(n)
    if isinstance(data, dict):
        return [data]
    return list(data[:n])


def _length(data: Any) -> int:
    return 1 if isinstance(data, dict) else len(data)


@dataclass
class DryRun:
    """What ``--dry-run`` shows: the first request body (for the first events) and counts."""

    text: str
    events: int
    shown: int
    requests: int
    url: str | None
    ingest_format: str
    raw: bool
    event_time: str = ""  # where the events' time comes from (the report's sentence)
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: how many events, how many requests, to where, and their time."""
        where = self.url or "(no destination configured yet)"
        mode = "raw" if self.raw else self.ingest_format
        time = f" {self.event_time[0].upper()}{self.event_time[1:]}." if self.event_time \
            else ""
        warned = "".join(f" WARNING: {w}." for w in self.warnings)
        return (f"Dry run: {self.events:,} {_plural(self.events, 'event')} would be sent in "
                f"{self.requests:,} {_plural(self.requests, 'request')} to {where} ({mode}); "
                f"nothing was sent.{time}{warned} First request body, first "
                f"{self.shown:,} {_plural(self.shown, 'event')}:")

    def __str__(self) -> str:
        return f"{self.summary()}\n{self.text}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return (f"<div class='hecnb-dry-run'><b>{html.escape(self.summary())}</b>"
                f"<pre>{html.escape(self.text)}</pre></div>")


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


class _Table:
    """A titled two-column table: HTML in a notebook, aligned text elsewhere."""

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        self.title, self.rows = title, rows

    def __repr__(self) -> str:
        width = max((len(k) for k, _ in self.rows), default=0)
        return "\n".join([self.title, *(f"  {k:<{width}}  {v}" for k, v in self.rows)])

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                       for k, v in self.rows)
        return (f"<table class='hecnb-config'><caption style='text-align:left'><b>"
                f"{html.escape(self.title)}</b></caption>{body}</table>")


def _client_kwargs(hec: HEC) -> tuple[dict[str, Any], str | None]:
    """Keywords that rebuild ``hec`` (key included, in memory only), and the URL key of its
    full URL when it has one (so that ``region=`` can still apply)."""
    cfg = hec.ingest_config
    kwargs: dict[str, Any] = {
        "api_key": cfg.ingest_key, "ingest_format": cfg.ingest_format,
        "raw_ingest": cfg.raw_ingest, "ingest_timeout": cfg.ingest_timeout,
        "ingest_timeunit": cfg.ingest_timeunit, "auth_scheme": cfg.auth_scheme,
        "batch_max_bytes": cfg.batch_max_bytes, "batch_max_events": cfg.batch_max_events,
        "compress": cfg.compress, "verify": cfg.verify,
        "allow_insecure_http": cfg.allow_insecure_http,
        "retry_count": hec.retry_count, "thread_count": hec.thread_count,
        "max_in_flight": hec.max_in_flight, "hec_time": hec.hec_time,
        "ingest_region": cfg.ingest_region,
    }
    if cfg.describe()["region"] is None:  # a full URL was given: it wins over key + region
        kwargs.update(ingest_url=cfg.ingest_url, api_url_key="")
        return kwargs, cfg.ingest_url_key or _url_key_of(cfg.ingest_url)
    kwargs.update(api_url_key=cfg.ingest_url_key or "", ingest_url="")
    return kwargs, None


def _url_key_of(url: str) -> str | None:
    """``https://abc.ingest.us-1.crowdstrike.com/...`` -> ``'abc'``; None for other hosts."""
    host = httpx.URL(url).host
    label, _, rest = host.partition(".")
    return label if rest in REGIONS.values() else None


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
        self._emulator: Emulator | None = None
        self._emulator_key = ""

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
        if args.dry_run:
            self._show(self._dry_run(data, ingest_format, raw, options))
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

    def _dry_run(self, data: Any, ingest_format: str, raw: bool,
                 options: dict[str, Any]) -> DryRun:
        """Encode as a send would, with the session default's limits if there is one."""
        hec = _session.current()
        limits: dict[str, Any] = {}
        timeunit, url = "nanoseconds", None
        if hec is not None:
            cfg = hec.ingest_config
            limits = {"batch_max_bytes": cfg.batch_max_bytes,
                      "batch_max_events": cfg.batch_max_events}
            timeunit = cfg.ingest_timeunit
            url = cfg.raw_ingest_url if raw else cfg.ingest_url
        if hec is not None:
            options.setdefault("hec_time", hec.hec_time)
        try:
            bodies, notes = encode_noted(data, ingest_format, raw=raw, timeunit=timeunit,
                                         **limits, **options)
            first = encode(_head(data, self.preview_rows), ingest_format, raw=raw,
                           timeunit=timeunit, **limits, **options)
        except HecError as exc:
            raise UsageError(str(exc)) from None
        total = _length(data)
        return DryRun(text=first[0].decode("utf-8") if first else "", events=total,
                      shown=min(total, self.preview_rows), requests=len(bodies), url=url,
                      ingest_format=ingest_format, raw=raw,
                      event_time=notes.summary() if notes is not None else "",
                      warnings=tuple(notes.all_warnings()) if notes is not None else ())

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

    def describe(self) -> _Table:
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
            ("emulator", self._emulator.url if self._emulator is not None else "off"),
        ]
        return _Table(title, rows)

    def _configure(self, settings: dict[str, str]) -> None:
        """Apply ``%hec_config`` fields: a new session default, then the magics' defaults."""
        fields = dict(settings)
        fmt = None
        if "format" in fields:
            try:
                fmt = fields["format"] = normalize_format(fields["format"])
            except ConfigError as exc:
                raise UsageError(str(exc)) from None
        raw = _flag("raw", fields["raw"]) if "raw" in fields else None
        emulator = _flag("emulator", fields.pop("emulator")) if "emulator" in fields else None
        host = fields.pop("host", None)
        if emulator is False:
            self.stop_emulator()
        if emulator or fields:
            kwargs = self._client_keywords(fields, emulator=bool(emulator), raw=raw)
            try:
                _session.configure(**kwargs)
            except ConfigError as exc:
                raise UsageError(str(exc)) from None
        if host is not None:
            self.host = host or None
        if fmt is not None:
            self.ingest_format = fmt
        if raw is not None:
            self.raw_ingest = raw

    def _client_keywords(self, fields: dict[str, str], *, emulator: bool,
                         raw: bool | None) -> dict[str, Any]:
        """HEC keywords: the current default (or a profile, or the emulator) plus ``fields``."""
        current = _session.current()
        kwargs, url_key = _client_kwargs(current) if current is not None else ({}, None)
        if "profile" in fields:
            try:
                kwargs, url_key = load_profile(fields["profile"]).settings.hec_kwargs(), None
            except ConfigError as exc:
                raise UsageError(str(exc)) from None
        if emulator:
            emu = self.start_emulator()
            kwargs.update(ingest_url=emu.url, api_url_key="", api_key=self._emulator_key)
            url_key = None
        if "url" in fields:
            kwargs.update(ingest_url=fields["url"], api_url_key="")
            url_key = None
        if "url_key" in fields:
            kwargs.update(api_url_key=fields["url_key"], ingest_url="")
        if "region" in fields:
            try:
                kwargs["ingest_region"] = normalize_region(fields["region"])
            except ConfigError as exc:
                raise UsageError(str(exc)) from None
            if kwargs.get("ingest_url"):
                if not url_key:
                    raise UsageError("region= applies to a URL key but a full URL is set: give "
                                     "url_key=... with it, or set url= to the API URL.")
                kwargs.update(api_url_key=url_key, ingest_url="")
        if "format" in fields:
            kwargs["ingest_format"] = fields["format"]
        if raw is not None:
            kwargs["raw_ingest"] = raw
        if "timeout" in fields:
            kwargs["ingest_timeout"] = fields["timeout"]
        if "timeunit" in fields:
            try:
                kwargs["ingest_timeunit"] = normalize_timeunit(fields["timeunit"])
            except ConfigError as exc:
                raise UsageError(str(exc)) from None
        if "key_env" in fields:
            var = fields["key_env"]
            value = os.environ.get(var, "").strip()
            if not value:
                raise UsageError(f"The environment variable {var!r} is not set (or is empty): "
                                 "set it before starting Jupyter, or use hecnb.ConfigPanel().")
            kwargs["api_key"] = value
        return kwargs

    # -- the local emulator -------------------------------------------------------------------
    @property
    def emulator(self) -> Emulator | None:
        """The emulator started by ``%hec_config emulator=on``, if running."""
        return self._emulator

    def start_emulator(self) -> Emulator:
        """Start a local emulator (once) with a fresh key, kept until ``emulator=off``."""
        if self._emulator is None or not self._emulator.running:
            self._emulator_key = secrets.token_urlsafe(24)
            self._emulator = Emulator(api_key=self._emulator_key).start()
        return self._emulator

    def stop_emulator(self) -> None:
        """Stop the emulator; a session default that pointed at it is cleared."""
        emu, self._emulator = self._emulator, None
        if emu is None:
            return
        current = _session.current()
        if current is not None and current.ingest_config.ingest_url == emu.url:
            _session.set_default(None)
        emu.stop()


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
