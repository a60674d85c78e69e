"""The one declared list of settings: each setting once, with everything every front-end needs.

A setting is declared here as a typed descriptor in the class of the object that keeps it
(``ConfigSettings`` for :class:`~hecnb.IngestConfig`, ``EngineSettings`` for the
:class:`~hecnb.SessionManager`, ``LogSettings`` for the log facility, ``HecSettings`` for the
:class:`~hecnb.HEC` itself). From these declarations come, with nothing written out again:

- the keywords of ``HEC()`` (and their check: an unknown one suggests the nearest),
- the properties of ``HEC`` (``HEC`` inherits all four classes; a property reads and writes the
  object that keeps the setting), of ``IngestConfig`` and of ``SessionManager``,
- ``HEC.settings()``, the round trip that the magics, the config panel and Dask use,
- the options of the ``hecnb`` CLI (:func:`add_cli_options`, :func:`cli_settings`),
- the fields of ``%hec_config`` (:func:`magic_fields`, :func:`parse_text`),
- the fields a profile may hold (:func:`profile_fields`),
- the keyword table of the docs (``python -m hecnb._settings.declared`` prints it).

Adding a setting is one entry here and the code that uses it (see CONTRIBUTING.md);
``tests/settings/test_declared.py`` checks that every entry reaches every place.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, overload

from .._errors import ConfigError
from .names import (
    _AUTH_SCHEMES,
    DEFAULT_BATCH_MAX_BYTES,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_RETRY_MAX_ELAPSED,
    DEFAULT_TIMEOUT,
    MAX_IN_FLIGHT,
    MAX_REQUEST_BYTES,
    MAX_THREADS,
    check_bool,
    check_count,
    check_seconds,
    default_thread_count,
    normalize_format,
    normalize_timeunit,
    positive_number,
)

__all__ = [
    "ConfigSettings",
    "EngineSettings",
    "HecSettings",
    "LogSettings",
    "Setting",
    "add_cli_options",
    "by_keyword",
    "check_keywords",
    "cli_settings",
    "declared",
    "keyword_table",
    "keywords_of",
    "magic_fields",
    "parse_text",
    "profile_fields",
]

T = TypeVar("T")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class Setting(Generic[T]):
    """One setting: a typed descriptor plus what the front-ends need to know of it.

    ``default`` is what ``None`` (or leaving it out) means; a callable is called for it (the
    thread count depends on the machine). ``check`` turns a given value into the stored one or
    raises a ConfigError that names the setting and what is allowed. ``custom`` settings are
    kept by a property of their own class (the key, the destination, the proxy: they depend on
    each other); the declaration still carries their name, keyword and texts.

    Front-ends: ``cli`` is the flag (``--timeout``; for a bool ``--raw`` gives ``--raw`` and
    ``--no-raw``; ``cli_off`` a flag that sets it False, e.g. ``--no-verify``), ``magic`` the
    ``%hec_config`` field (the keyword unless a short name is given), ``kind`` how a text is
    read (``str``, ``int``, ``float``, ``bool``, ``verify``, ``proxy``). ``why_not`` says why a
    setting is no CLI option or magic field (the key never is: it would land in shell history
    or the notebook). ``profile`` says whether a saved profile may hold it; ``portable`` whether
    it travels to other processes (Dask workers): a Python object does not.
    """

    name: str

    def __init__(self, default: Any, *, doc: str, check: Callable[[Any], Any] | None = None,
                 keyword: str | None = None, kind: str = "str", env: str | None = None,
                 cli: str | None = None, cli_off: str | None = None, cli_alias: str = "",
                 magic: str | None = None, why_not: str = "", profile: bool = False,
                 falconpy: bool = False, custom: bool = False, read_only: bool = False,
                 secret: bool = False, portable: bool = True, shown: str = "",
                 metavar: str = "") -> None:
        self.default = default
        self.doc = doc
        self.check = check
        self._keyword = keyword
        self.kind = kind
        self.env = env
        self.cli, self.cli_off, self.cli_alias = cli, cli_off, cli_alias
        self._magic = magic
        self.why_not = why_not
        self.profile, self.falconpy = profile, falconpy
        self.custom, self.read_only, self.secret, self.portable = (custom, read_only, secret,
                                                                   portable)
        self.shown = shown  # the default as the docs say it, when repr(default) would not do
        self.metavar = metavar or {"int": "N", "float": "SECONDS", "verify": "BUNDLE|yes|no",
                                   "proxy": "URL|none"}.get(kind, "NAME")

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = owner.__name__

    @property
    def keyword(self) -> str:
        """The ``HEC()`` keyword (``api_key`` for the ``ingest_key`` property)."""
        return self._keyword or self.name

    @property
    def magic(self) -> str | None:
        """The ``%hec_config`` field name, or None."""
        if self.why_not:
            return None
        return self._magic or self.keyword

    def default_value(self) -> Any:
        """The value ``None`` stands for."""
        return self.default() if callable(self.default) else self.default

    def default_text(self) -> str:
        """The default in words, for help texts and the docs."""
        if self.shown:
            return self.shown
        value = self.default_value()
        return "none" if value is None else str(value)

    def normalize(self, value: Any) -> Any:
        """The stored form of ``value`` (None: the default); a ConfigError names the setting."""
        if value is None:
            value = self.default_value()
            if value is None:
                return None
        return self.check(value) if self.check is not None else value

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Setting[T]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._setting_get(self)  # type: ignore[attr-defined]

    def __set__(self, obj: object, value: T | None) -> None:
        if self.read_only:
            raise AttributeError(f"{self.name} is read-only: pass {self.keyword}= when the "
                                 "client is made.")
        obj._setting_set(self, value)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"<Setting {self.keyword}>"


class Keeps:
    """The store of a class that keeps plain settings: their values, checked when set."""

    _values: dict[str, Any]

    def _setting_get(self, setting: Setting[Any]) -> Any:
        return self._values[setting.name]

    def _setting_set(self, setting: Setting[Any], value: Any) -> None:
        self.__dict__.setdefault("_values", {})[setting.name] = setting.normalize(value)


# ----------------------------------------------------------------------------- the checks


def _auth_scheme(value: Any) -> str:
    scheme = _AUTH_SCHEMES.get(str(value).strip().lower())
    if scheme is None:
        raise ConfigError(f"auth_scheme must be 'Bearer' or 'Splunk'; got {value!r}.")
    return scheme


def _timeout(value: Any) -> float | int:
    number = positive_number("ingest_timeout", value, maximum=3600,
                             hint=f" (None means the default, {DEFAULT_TIMEOUT} seconds)")
    return int(number) if float(number).is_integer() else float(number)


def _batch_bytes(value: Any) -> int:
    return int(positive_number("batch_max_bytes", value, integer=True,
                               maximum=MAX_REQUEST_BYTES))


def _batch_events(value: Any) -> int:
    return int(positive_number("batch_max_events", value, integer=True))


def _verify(value: Any) -> Any:
    import os

    if isinstance(value, (str, os.PathLike)) and not os.path.exists(value):
        raise ConfigError(f"verify={os.fspath(value)!r}: no CA bundle at that path.")
    return value


def _count(name: str, minimum: int, maximum: int) -> Callable[[Any], int]:
    return lambda value: check_count(name, value, minimum=minimum, maximum=maximum)


def _seconds(name: str, maximum: float) -> Callable[[Any], float]:
    return lambda value: check_seconds(name, value, maximum=maximum)


def _flag(name: str) -> Callable[[Any], bool]:
    return lambda value: check_bool(name, value)


_KEY_WHY = ("the API key is never an option or an argument (it would land in shell history or "
            "the notebook): hecnb send reads it from $NGSIEM_API_KEY (--api-key-env) or a "
            "hidden prompt, %hec_config from key_env=, the panel from a password field")


# -------------------------------------------------------------------- the declarations


class ConfigSettings:
    """Where and how: kept by :class:`~hecnb.IngestConfig`."""

    ingest_key: Setting[str | None] = Setting(
        None, keyword="api_key", env="NGSIEM_API_KEY", custom=True, secret=True, falconpy=True,
        why_not=_KEY_WHY, doc="the connector's API key (shown once by the console)",
        shown="$NGSIEM_API_KEY")
    ingest_url_key: Setting[str | None] = Setting(
        None, keyword="api_url_key", env="NGSIEM_URL_KEY", custom=True, falconpy=True,
        cli="--url-key", metavar="KEY", magic="url_key", profile=True, shown="$NGSIEM_URL_KEY",
        doc="the URL key: first label of the API URL's host (a whole URL is accepted too)")
    ingest_region: Setting[str] = Setting(
        "us1", env="NGSIEM_REGION", custom=True, falconpy=True, cli="--region", magic="region",
        profile=True, shown="$NGSIEM_REGION or us1",
        doc="us1 us2 us3 eu1 usgov1 usgov2 (us-1, US1, gov1 also work)")
    ingest_url: Setting[str] = Setting(
        None, env="NGSIEM_INGEST_URL", custom=True, read_only=True, cli="--url", metavar="URL",
        magic="url", profile=True, shown="$NGSIEM_INGEST_URL",
        doc="the full API URL the console shows; wins over URL key + region")
    ingest_format: Setting[str] = Setting(
        "json", check=normalize_format, falconpy=True, cli="--format", magic="format",
        profile=True, doc="json yaml xml csv (also yml, ndjson, jsonl, the content types)")
    ingest_timeout: Setting[float] = Setting(
        DEFAULT_TIMEOUT, check=_timeout, kind="float", falconpy=True, cli="--timeout",
        magic="timeout", profile=True,
        doc="seconds per attempt of a request: connect, upload and answer together")
    ingest_timeunit: Setting[str] = Setting(
        "nanoseconds", check=normalize_timeunit, falconpy=True, cli="--timeunit",
        magic="timeunit", profile=True,
        doc="unit of generated timestamps: nanoseconds milliseconds seconds (ns ms s)")
    raw_ingest: Setting[bool] = Setting(
        False, check=_flag("raw_ingest"), kind="bool", falconpy=True, cli="--raw", magic="raw",
        profile=True, doc="use the raw endpoint (one event per line)")
    auth_scheme: Setting[str] = Setting(
        "Bearer", check=_auth_scheme, cli="--auth-scheme", profile=True,
        doc="Bearer (NG-SIEM) or Splunk (Splunk, Fluent Bit or Cribl receivers)")
    batch_max_bytes: Setting[int] = Setting(
        DEFAULT_BATCH_MAX_BYTES, check=_batch_bytes, kind="int", cli="--batch-bytes",
        metavar="BYTES", profile=True, shown="1 MiB",
        doc="most bytes per request, before compression")
    batch_max_events: Setting[int | None] = Setting(
        None, check=_batch_events, kind="int", cli="--batch-events", profile=True,
        doc="most events per request (none: only the byte limit)")
    compress: Setting[bool] = Setting(
        True, check=_flag("compress"), kind="bool", cli="--compress", profile=True,
        doc="gzip request bodies")
    verify: Setting[Any] = Setting(
        True, check=_verify, kind="verify", cli="--verify", cli_alias="--ca-bundle",
        cli_off="--no-verify", profile=True,
        doc="TLS verification: true, false, a CA bundle (TLS-inspecting proxies)")
    allow_insecure_http: Setting[bool] = Setting(
        False, check=_flag("allow_insecure_http"), kind="bool", custom=True, read_only=True,
        cli="--allow-insecure-http", profile=True,
        doc="allow http:// to a host that is not this machine")
    proxy: Setting[str | bool | None] = Setting(
        None, custom=True, kind="proxy", cli="--proxy", cli_off="--no-proxy", profile=True,
        shown="the environment's",
        doc="a proxy URL for https:// targets, or false for none; http:// targets never use one")


class EngineSettings:
    """How hard: kept by the :class:`~hecnb.SessionManager` for its engine."""

    thread_count: Setting[int] = Setting(
        default_thread_count, check=_count("thread_count", 1, MAX_THREADS), kind="int",
        falconpy=True, cli="--threads", shown="CPUs x 2, at most 50",
        doc="worker threads that assemble and gzip bodies")
    retry_count: Setting[int] = Setting(
        3, check=_count("retry_count", 0, 100), kind="int", falconpy=True, cli="--retries",
        doc="retries after the first attempt, for errors (408, 5xx, no answer)")
    max_in_flight: Setting[int] = Setting(
        DEFAULT_MAX_IN_FLIGHT, check=_count("max_in_flight", 1, MAX_IN_FLIGHT), kind="int",
        cli="--in-flight",
        doc="most requests in flight at once; the window adapts below it")
    retry_max_elapsed: Setting[float] = Setting(
        DEFAULT_RETRY_MAX_ELAPSED, check=_seconds("retry_max_elapsed", 86_400), kind="float",
        cli="--retry-max-elapsed",
        doc="seconds a throttled send (429, 503 + Retry-After) goes on while nothing is accepted")
    backoff_base: Setting[float] = Setting(
        0.25, check=_seconds("backoff_base", 600), kind="float", cli="--backoff-base",
        doc="seconds: the first backoff between retries (doubling, full jitter)")
    backoff_max: Setting[float] = Setting(
        10.0, check=_seconds("backoff_max", 600), kind="float", cli="--backoff-max",
        doc="seconds: the longest backoff between retries")
    transport: Setting[Any] = Setting(
        None, portable=False, read_only=True,
        why_not="an httpx transport is a Python object (for tests and embedding)",
        doc="an httpx transport to send through instead of the network")


class LogSettings:
    """Debug output: kept by the log facility."""

    debug: Setting[bool] = Setting(
        False, check=_flag("debug"), kind="bool", falconpy=True, cli="--debug",
        doc="debug lines on the hecnb logger (the key always masked)")
    sanitize_log: Setting[bool] = Setting(
        True, check=_flag("sanitize_log"), kind="bool", falconpy=True, cli="--sanitize-log",
        doc="mask the key completely in debug lines (otherwise its last 4 characters show)")


class HecSettings:
    """What the HEC itself keeps."""

    hec_time: Setting[bool] = Setting(
        True, check=_flag("hec_time"), kind="bool", cli="--hec-time", profile=True,
        doc="also write HEC's top-level time (epoch seconds) beside the event")


_CLASSES = (ConfigSettings, EngineSettings, LogSettings, HecSettings)
#: FalconPy's positional order comes first: HEC(api_key, api_url_key, debug, ...).
_FIRST = ("api_key", "api_url_key", "debug")


def declared() -> tuple[Setting[Any], ...]:
    """Every setting, in keyword order (FalconPy's positional ones first)."""
    found = [v for cls in _CLASSES for v in vars(cls).values() if isinstance(v, Setting)]
    first = sorted((s for s in found if s.keyword in _FIRST), key=lambda s: _FIRST.index(
        s.keyword))
    return (*first, *(s for s in found if s.keyword not in _FIRST))


def by_keyword() -> dict[str, Setting[Any]]:
    """``{keyword: setting}``."""
    return {s.keyword: s for s in declared()}


def keywords_of(*owners: type) -> list[str]:
    """The keywords of the settings the given declaration classes hold (all: every one)."""
    names = {cls.__name__ for cls in owners}
    return [s.keyword for s in declared() if not names or s.owner in names]


def check_keywords(given: Any, where: str = "HEC()", known: list[str] | None = None,
                   more: tuple[str, ...] = ()) -> None:
    """An unknown keyword is a ConfigError that suggests the nearest known one."""
    known = [*(keywords_of() if known is None else known), *more]
    for name in given:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where} got an unknown keyword {name!r}.{hint} Known keywords: "
                              f"{', '.join(k for k in known if k != 'transport')}.")


# -------------------------------------------------------------------------- from text


def parse_text(setting: Setting[Any], text: str) -> Any:
    """A value from the text of a CLI option or a ``%hec_config`` field (then checked)."""
    word = text.strip()
    lower = word.lower()
    if setting.kind == "bool":
        if lower in _TRUE:
            return True
        if lower in _FALSE:
            return False
        raise ConfigError(f"{setting.magic or setting.keyword}={text!r} is not true or false "
                          "(use on/off, true/false, yes/no).")
    if setting.kind == "verify":
        return True if lower in _TRUE else False if lower in _FALSE else word
    if setting.kind == "proxy":
        if lower in ("", "env"):
            return None
        if lower in _FALSE | {"none"}:
            return False
        _refuse_typed_password(word)
        return word
    if lower in ("", "none", "default"):
        return None
    if setting.kind == "int":
        try:
            return int(word)
        except ValueError:
            raise ConfigError(f"{setting.keyword}={text!r} is not a whole number.") from None
    if setting.kind == "float":
        try:
            return float(word)
        except ValueError:
            raise ConfigError(f"{setting.keyword}={text!r} is not a number.") from None
    return word


def _refuse_typed_password(text: str) -> None:
    """A proxy URL typed at a prompt, a command line or a notebook cell must not hold its
    password (shell history, ``ps``, the saved notebook): it belongs in ``HTTPS_PROXY``."""
    import httpx

    try:
        password = httpx.URL(text if "://" in text else "http://" + text).password
    except (httpx.InvalidURL, ValueError):
        return  # the setting's own check says what is wrong with it
    if password:
        raise ConfigError("the proxy holds a password, which would be kept in shell history, "
                          "`ps` output or the notebook: put the proxy URL with its password "
                          "in HTTPS_PROXY instead.")


# ------------------------------------------------------------------------------- the CLI


def cli_options() -> Iterator[Setting[Any]]:
    """The settings the CLI takes as options."""
    return (s for s in declared() if s.cli)


def add_cli_options(group: Any) -> None:
    """One option per setting (default None: the HEC's own default, or the environment)."""
    for s in cli_options():
        help_text = f"{s.doc} (default: {s.default_text()})"
        dest = f"setting_{s.keyword}"
        if s.kind == "bool":
            group.add_argument(s.cli, dest=dest, action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)
            continue
        flags = [s.cli, *([s.cli_alias] if s.cli_alias else [])]
        group.add_argument(*flags, dest=dest, default=None, metavar=s.metavar,
                           help=help_text)
        if s.cli_off:
            group.add_argument(s.cli_off, dest=dest, action="store_const", const=False,
                               help=f"the same as {s.cli} false")


def cli_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``HEC()`` keywords of the options that were given."""
    out: dict[str, Any] = {}
    for s in cli_options():
        value = getattr(args, f"setting_{s.keyword}", None)
        if value is None:
            continue
        out[s.keyword] = parse_text(s, value) if isinstance(value, str) else value
    return out


# --------------------------------------------------------------------- magics, profiles


def magic_fields() -> dict[str, Setting[Any]]:
    """``{%hec_config field: setting}``."""
    return {s.magic: s for s in declared() if s.magic}


def profile_fields() -> dict[str, Setting[Any]]:
    """``{profile field: setting}``: what a saved profile may hold (never the key)."""
    return {s.magic or s.keyword: s for s in declared() if s.profile and not s.secret}


def keyword_table() -> str:
    """The keyword table of the docs, as Markdown."""
    rows = ["| keyword | default | |", "|---|---|---|"]
    for s in declared():
        note = " (FalconPy)" if s.falconpy else ""
        rows.append(f"| `{s.keyword}` | {s.default_text()} | {s.doc}{note} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    print(keyword_table())
