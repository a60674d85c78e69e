"""Connection settings, and profiles of them saved per user: where and how to send, never the key.

:class:`ConnectionSettings` is the model behind the config panel (and ``%hec_config
profile=NAME``): region, URL key or full API URL, format, raw mode, timeout, and where the key
comes from. The key itself is held only in memory, in a private attribute, and never written:
a profile file names its source instead, either the system keyring (when ``keyring`` is
installed and has a usable backend) or an environment variable.

Profiles are JSON files (mode 0600) in ``$HECNB_CONFIG_DIR``, else ``%APPDATA%\\hecnb`` on
Windows, else ``$XDG_CONFIG_HOME/hecnb`` or ``~/.config/hecnb``, under ``profiles/``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .declared import by_keyword, parse_text, profile_fields
from .names import normalize_format, normalize_region
from .secret import Secret

__all__ = [
    "KEYRING_SERVICE",
    "ConnectionSettings",
    "LoadedProfile",
    "SavedProfile",
    "config_dir",
    "keyring_available",
    "list_profiles",
    "load_profile",
    "profile_path",
    "save_profile",
]

#: The keyring "service" under which profile keys are stored (the user name is the profile).
KEYRING_SERVICE = "hecnb"
_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_SOURCES = ("env", "keyring")
#: Fields a profile file must never hold: loading refuses a file that has one.
#: Names under which a key could be written; never stored in a profile, never a magic argument.
SECRET_FIELDS = frozenset({"api_key", "apikey", "key", "ingest_key", "token", "password",
                           "secret"})


def config_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The user's hecnb configuration directory (not created here)."""
    env = os.environ if environ is None else environ
    if env.get("HECNB_CONFIG_DIR"):
        return Path(env["HECNB_CONFIG_DIR"]).expanduser()
    if (platform or sys.platform) == "win32":
        base = env.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "hecnb"
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "hecnb"


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise ConfigError(f"Profile name {name!r} is not allowed: use up to 64 letters, digits, "
                          "'-', '_' or '.', starting with a letter or digit.")
    return name.strip()


def profile_path(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """The file a profile is saved in."""
    return config_dir(environ) / "profiles" / f"{_check_name(name)}.json"


def list_profiles(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the saved profiles, sorted."""
    directory = config_dir(environ) / "profiles"
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json") if _NAME.match(p.stem))


# ----------------------------------------------------------------------------------- keyring


def keyring_available() -> bool:
    """True when ``keyring`` is installed and has a backend that can store secrets."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        return not isinstance(backend, fail.Keyring) and float(backend.priority) > 0
    except Exception:
        return False


def _keyring_problem(exc: BaseException) -> str:
    if type(exc).__name__ == "NoKeyringError":
        return "no keyring backend is available"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _keyring_set(name: str, key: str) -> str | None:
    """Store the key; None when done, else why not."""
    try:
        import keyring
    except ImportError:
        return "keyring is not installed"
    try:
        keyring.set_password(KEYRING_SERVICE, name, key)
    except Exception as exc:
        return _keyring_problem(exc)
    return None


def _keyring_get(name: str) -> tuple[str | None, str]:
    """The stored key (or None) and, when None, why."""
    try:
        import keyring
    except ImportError:
        return None, "keyring is not installed"
    try:
        key = keyring.get_password(KEYRING_SERVICE, name)
    except Exception as exc:
        return None, _keyring_problem(exc)
    return key, "" if key else "the keyring has no key for it"


# ---------------------------------------------------------------------------------- settings


#: The panel's fields and the settings they are (the others a profile holds go in ``extra``).
_PANEL = {"region": "ingest_region", "ingest_format": "ingest_format",
          "raw_ingest": "raw_ingest", "timeout": "ingest_timeout", "proxy": "proxy"}


@dataclass
class ConnectionSettings:
    """Where and how to send, plus where the key comes from; the key stays in memory only.

    The fields are the config panel's; every other setting a profile may hold (the declared
    ones with ``profile=True``: batch limits, compression, auth scheme...) is in ``extra``, by
    keyword. The key is a :class:`~hecnb._settings.secret.Secret`, never printed or saved.

    >>> s = ConnectionSettings(url_or_key="a1b2c3d4", region="eu1")
    >>> s.set_key("k" * 32)
    >>> s.hec_kwargs()["api_url_key"], s.key_hint
    ('a1b2c3d4', '****kkkk')
    """

    region: str = "us1"
    url_or_key: str = ""
    ingest_format: str = "json"
    raw_ingest: bool = False
    timeout: float = 5.0
    key_source: str = "env"
    key_env: str = "NGSIEM_API_KEY"
    use_emulator: bool = False
    proxy: str = ""  # for https:// targets; "" = the environment's (HTTPS_PROXY ...)
    extra: dict[str, Any] = field(default_factory=dict)
    _key: Secret | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def from_hec(cls, hec: Any) -> ConnectionSettings:
        """The settings of an existing client (the session default), its key in memory."""
        values = hec.settings()
        made = cls(region=values["ingest_region"],
                   url_or_key=values["ingest_url"] or values["api_url_key"] or "",
                   ingest_format=values["ingest_format"], raw_ingest=values["raw_ingest"],
                   timeout=float(values["ingest_timeout"]),
                   proxy=values["proxy"] if isinstance(values["proxy"], str) else "",
                   extra={k: v for k, v in values.items()
                          if k in _EXTRA and v != by_keyword()[k].default_value()})
        made.set_key(hec.ingest_config.ingest_key)
        return made

    def validate(self) -> None:
        """Normalise the fields; a ConfigError names the first bad one."""
        self.region = normalize_region(self.region)
        self.ingest_format = normalize_format(self.ingest_format)
        self.url_or_key = str(self.url_or_key or "").strip()
        if not isinstance(self.raw_ingest, bool):
            raise ConfigError(f"raw must be true or false; got {self.raw_ingest!r}.")
        try:
            timeout = float(self.timeout)
        except (TypeError, ValueError):
            timeout = -1.0
        if not 0 < timeout <= 3600:
            raise ConfigError(f"timeout must be a number of seconds above 0 and at most 3600; "
                              f"got {self.timeout!r}.")
        self.timeout = timeout
        if self.key_source not in _KEY_SOURCES:
            raise ConfigError(f"key_source must be 'keyring' or 'env'; got {self.key_source!r}.")
        if not isinstance(self.key_env, str) or not _ENV_NAME.match(self.key_env):
            raise ConfigError(f"key_env must be the name of an environment variable, such as "
                              f"NGSIEM_API_KEY; got {self.key_env!r}.")
        self.proxy = _check_proxy(self.proxy)
        declared = by_keyword()
        for keyword, value in list(self.extra.items()):
            if keyword not in _EXTRA:
                raise ConfigError(f"a profile holds no setting {keyword!r}: it may hold "
                                  f"{', '.join(sorted(_EXTRA))}.")
            if isinstance(value, str):
                value = parse_text(declared[keyword], value)
            self.extra[keyword] = declared[keyword].normalize(value)

    # -- the key (memory only) --------------------------------------------------------------
    def set_key(self, key: str | None) -> None:
        """Hold the API key in memory (None or blank forgets it)."""
        text = (key or "").strip()
        self._key = Secret(text) if text else None

    @property
    def has_key(self) -> bool:
        """Whether a key was typed or loaded (the environment variable is not counted)."""
        return self._key is not None

    def resolve_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key held in memory, else the value of the ``key_env`` variable."""
        env = os.environ if environ is None else environ
        return (self._key.reveal() if self._key else None) or env.get(self.key_env) or None

    @property
    def key_hint(self) -> str:
        """The key as ``'****'`` + at most its last 4 characters, or where it would come from."""
        if self._key:
            return str(self._key)  # masked
        state = "set" if os.environ.get(self.key_env) else "not set"
        return f"from ${self.key_env} ({state})"

    # -- to HEC keywords ----------------------------------------------------------------------
    def hec_kwargs(self, environ: Mapping[str, str] | None = None, *,
                   destination: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Keywords for :class:`hecnb.HEC`; a ConfigError says what is missing.

        ``destination`` (a URL, a key: the local emulator's) replaces the panel's own."""
        self.validate()
        kwargs: dict[str, Any] = {keyword: getattr(self, name) for name, keyword in
                                  _PANEL.items()}
        kwargs["proxy"] = self.proxy or None
        kwargs.update(self.extra)
        if destination is not None:
            return {**kwargs, **destination}
        target = self.url_or_key
        if not target:
            raise ConfigError("No destination: enter the URL key, or the full API URL the Falcon "
                              "console shows for the HEC connector.")
        if "://" in target:
            kwargs.update(ingest_url=target, api_url_key="")
        else:  # "" stops NGSIEM_INGEST_URL from the environment overriding what was entered
            kwargs.update(api_url_key=target, ingest_url="")
        key = self.resolve_key(environ)
        if not key:
            raise ConfigError(f"No API key: type it in the config panel, or set the environment "
                              f"variable {self.key_env}.")
        kwargs["api_key"] = key
        return kwargs

    # -- profile form ---------------------------------------------------------------------------
    def to_profile(self) -> dict[str, Any]:
        """What a profile file holds: everything but the key (and the emulator switch), each
        setting under its ``%hec_config`` field name."""
        self.validate()
        data: dict[str, Any] = {"hecnb_profile": _VERSION, "url": self.url_or_key,
                                "key_source": self.key_source, "key_env": self.key_env}
        fields = _field_of()
        for name, keyword in _PANEL.items():
            value = getattr(self, name)
            if value not in ("", None):
                data[fields[keyword]] = value
        for keyword, value in self.extra.items():
            data[fields[keyword]] = value
        return data

    @classmethod
    def from_profile(cls, data: Mapping[str, Any]) -> ConnectionSettings:
        """Settings from a profile's fields; a file holding a key is refused."""
        if not isinstance(data, Mapping):
            raise ConfigError("A profile must be a JSON object.")
        secret = sorted(SECRET_FIELDS & {str(k).lower() for k in data})
        if secret:
            raise ConfigError(f"The profile holds a secret field ({', '.join(secret)}): remove "
                              "it, the key belongs in the keyring or an environment variable.")
        declared = profile_fields()
        own = {"hecnb_profile", "url", "key_source", "key_env"}
        unknown = [k for k in data if k not in declared and k not in own]
        if unknown:
            raise ConfigError(f"The profile has a field hecnb does not know ({unknown[0]!r}); "
                              f"it may hold {', '.join(sorted({*declared, *own}))}.")
        by_setting = {s.keyword: data[name] for name, s in declared.items() if name in data}
        panel = {name: by_setting.pop(keyword) for name, keyword in _PANEL.items()
                 if keyword in by_setting}
        by_setting.pop("ingest_url", None)  # "url" is the panel's URL-or-key field
        by_setting.pop("api_url_key", None)
        return cls(url_or_key=data.get("url", ""), key_source=data.get("key_source", "env"),
                   key_env=data.get("key_env", "NGSIEM_API_KEY"),
                   **{k: v for k, v in panel.items() if v is not None},
                   extra=by_setting)


def _field_of() -> dict[str, str]:
    """``{keyword: profile field name}``."""
    return {s.keyword: name for name, s in profile_fields().items()}


#: Settings a profile may hold beyond the panel's fields (and the destination).
_EXTRA = frozenset(s.keyword for s in profile_fields().values()) - set(_PANEL.values()) - {
    "ingest_url", "api_url_key"}


def _check_proxy(value: Any) -> str:
    """A proxy URL without a password, or "" (the environment's proxy)."""
    text = str(value or "").strip()
    if not text:
        return ""
    import httpx

    try:
        url = httpx.URL(text if "://" in text else "http://" + text)
    except (httpx.InvalidURL, ValueError):
        raise ConfigError("proxy is not a valid URL: give one such as "
                          "http://proxy.example:3128.") from None
    if url.password:
        raise ConfigError("proxy holds a password, which would be saved in the profile and the "
                          "notebook: put an authenticating proxy in HTTPS_PROXY instead.")
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"proxy must be an http:// or https:// URL with a host, such as "
                          f"http://proxy.example:3128; got {text!r}.")
    return str(url)


# ---------------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class SavedProfile:
    """Where a profile went and where its key will come from."""

    name: str
    path: Path
    key_source: str
    note: str


@dataclass
class LoadedProfile:
    """A profile read back: its settings (with the keyring's key, if any) and a note."""

    name: str
    path: Path
    settings: ConnectionSettings
    note: str


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_profile(name: str, settings: ConnectionSettings, *, key: str | None = None,
                 environ: Mapping[str, str] | None = None) -> SavedProfile:
    """Save ``settings`` as profile ``name``; the key goes to the keyring or nowhere.

    With ``settings.key_source == 'keyring'`` and a ``key``, the key is stored in the system
    keyring; when that is impossible the profile falls back to ``key_env`` and the note says so.
    """
    name = _check_name(name)
    path = profile_path(name, environ)
    data = settings.to_profile()
    if settings.key_source == "keyring":
        if key is None:
            note = "no key was set, so the keyring was left as it was"
        else:
            problem = _keyring_set(name, key)
            if problem is None:
                note = "the key is in the system keyring"
            else:
                data["key_source"] = "env"
                note = (f"the key was not saved ({problem}): set ${settings.key_env} before "
                        "using this profile")
    else:
        note = f"the key was not saved: it is read from ${settings.key_env}"
    _write_private(path, json.dumps(data, indent=2) + "\n")
    return SavedProfile(name, path, data["key_source"], note)


def load_profile(name: str, environ: Mapping[str, str] | None = None) -> LoadedProfile:
    """Read profile ``name``; a keyring-sourced key is fetched into the settings (memory)."""
    name = _check_name(name)
    path = profile_path(name, environ)
    if not path.is_file():
        saved = ", ".join(list_profiles(environ)) or "none"
        raise ConfigError(f"No profile named {name!r} in {path.parent} (saved profiles: "
                          f"{saved}).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Profile file {path} cannot be read ({exc}).") from None
    settings = ConnectionSettings.from_profile(data)
    env = os.environ if environ is None else environ
    if settings.key_source == "keyring":
        key, why = _keyring_get(name)
        settings.set_key(key)
        note = ("the key came from the system keyring" if key else
                f"no key loaded ({why}): type it, or set ${settings.key_env}")
    elif env.get(settings.key_env):
        note = f"the key is read from ${settings.key_env}"
    else:
        note = f"${settings.key_env} is not set: set it, or type the key"
    return LoadedProfile(name, path, settings, note)
