"""The session's default HEC client, shared by the accessor, the magics and the config panel.

A notebook sets it once (``hecnb.configure(...)``, the config panel, or the ``NGSIEM_*``
environment variables) and every front-end then sends without being handed a client.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from ._errors import ConfigError
from ._hec import HEC
from ._settings.secret import Secret

__all__ = ["HOW_TO_CONFIGURE", "client_for", "configure", "current", "emulator", "get_default",
           "key_from_environment",
           "reconfigure", "set_default", "start_emulator", "stop_emulator"]

HOW_TO_CONFIGURE = (
    "No HEC connection is configured for this session. Configure one with "
    "hecnb.configure(api_key=..., ingest_url=...) (or api_url_key=... and ingest_region=...), "
    "with the config panel, or by setting the environment variables NGSIEM_API_KEY and "
    "NGSIEM_INGEST_URL (or NGSIEM_URL_KEY and NGSIEM_REGION) before starting Python; or pass "
    "hec=HEC(...) to the call."
)

_lock = threading.Lock()
_default: HEC | None = None
_owned = False  # True when this module made the default (and so may close it)
_emulator: Any = None  # the session's local emulator (magics and panel share it)
_emulator_key: Secret | None = None


def configure(hec: HEC | None = None, /, **hec_kwargs: Any) -> HEC:
    """Make (or adopt) the session's default HEC client and return it.

    Pass the same keywords as :class:`hecnb.HEC`, or an existing ``HEC``. A default this
    function made earlier is closed when it is replaced.

    >>> import hecnb
    >>> hec = hecnb.configure(api_key=KEY, ingest_url=URL)      # doctest: +SKIP
    >>> df.to_ngsiem()                                          # doctest: +SKIP
    """
    if hec is not None:
        if hec_kwargs:
            raise ConfigError("configure() takes either an HEC instance or HEC keywords, "
                              "not both.")
        if not isinstance(hec, HEC):
            raise ConfigError(f"configure() takes a hecnb.HEC, not {type(hec).__name__}; "
                              "or pass keywords such as api_key=... and ingest_url=....")
        _replace(hec, owned=False)
        return hec
    made = HEC(**hec_kwargs)
    _replace(made, owned=True)
    return made


def set_default(hec: HEC | None) -> None:
    """Set (or with None, clear) the session default without making a client."""
    if hec is not None and not isinstance(hec, HEC):
        raise ConfigError(f"set_default() takes a hecnb.HEC or None, not {type(hec).__name__}.")
    _replace(hec, owned=False)


def get_default(environ: Mapping[str, str] | None = None) -> HEC:
    """The session default: the configured client, else one made from the ``NGSIEM_*``
    environment variables when they suffice (kept as the default), else a ConfigError that
    says how to configure one."""
    global _default, _owned
    with _lock:
        if _default is not None:
            return _default
    env = os.environ if environ is None else environ
    if env.get("NGSIEM_API_KEY") and (env.get("NGSIEM_INGEST_URL") or env.get("NGSIEM_URL_KEY")):
        made = HEC()  # reads the same variables; a malformed one is a ConfigError that says so
        with _lock:
            if _default is None:
                _default, _owned = made, True
                return made
            current = _default
        made.close()
        return current
    raise ConfigError(HOW_TO_CONFIGURE)


def current() -> HEC | None:
    """The configured default, or None (does not look at the environment)."""
    return _default


def _replace(hec: HEC | None, *, owned: bool) -> None:
    global _default, _owned
    with _lock:
        old, old_owned = _default, _owned
        _default, _owned = hec, owned
    if old is not None and old_owned and old is not hec:
        old.close()


def client_for(settings: Mapping[str, Any], key: Callable[[], str],
               environ: Mapping[str, str] | None = None) -> AbstractContextManager[HEC]:
    """The client a command (``hecnb.cli.main([...])`` in a kernel, a ``%%`` cell) sends with:
    the session default when ``settings`` and the environment name no destination (it stays
    open), else a new HEC from ``settings`` with the key ``key()`` gives (closed after)."""
    from ._settings.declared import by_keyword

    env = os.environ if environ is None else environ
    declared = by_keyword()
    named = any(settings.get(k) for k in ("ingest_url", "api_url_key")) or any(
        env.get(declared[k].env or "") for k in ("ingest_url", "api_url_key"))
    session = current()
    if session is not None and not named:
        return nullcontext(session)
    return HEC(api_key=key(), **settings)


def key_from_environment(var: str, environ: Mapping[str, str] | None = None) -> str:
    """The API key held by the environment variable ``var`` (``%hec_config key_env=VAR``):
    the key itself is never an argument of a magic (the notebook would keep it)."""
    value = (os.environ if environ is None else environ).get(var, "").strip()
    if not value:
        raise ConfigError(f"The environment variable {var!r} is not set (or is empty): set it "
                          "before starting Jupyter, or use hecnb.ConfigPanel().")
    return value


# ------------------------------------------------------------------- the session's emulator


def emulator() -> Any:
    """The session's local emulator while it runs (started by ``%hec_config emulator=on`` or
    the panel's switch), else None."""
    return _emulator if _emulator is not None and _emulator.running else None


def start_emulator() -> Any:
    """Start the session's emulator (once), with a fresh key that lives in memory only."""
    global _emulator, _emulator_key
    with _lock:
        if _emulator is None or not _emulator.running:
            import secrets

            from .emulator import Emulator

            _emulator_key = Secret(secrets.token_urlsafe(24))
            _emulator = Emulator(api_key=_emulator_key.reveal()).start()
        return _emulator


def emulator_settings() -> dict[str, Any]:
    """HEC keywords that point a client at the session's emulator (starting it)."""
    emu = start_emulator()
    assert _emulator_key is not None
    return {"api_key": _emulator_key.reveal(), "ingest_url": emu.url, "api_url_key": "",
            "proxy": False}


def stop_emulator() -> None:
    """Stop the session's emulator; a session default that pointed at it is cleared."""
    global _emulator
    with _lock:
        emu, _emulator = _emulator, None
    if emu is None:
        return
    default = current()
    if default is not None and default.ingest_config.describe()["url"] in (emu.url, emu.raw_url):
        set_default(None)
    emu.stop()


def reconfigure(changes: Mapping[str, Any], *, profile: str | None = None,
                use_emulator: bool | None = None) -> HEC | None:
    """A new session default: the current one (or a profile, or the emulator) with
    ``changes`` (HEC keywords), made and set in one step (``%hec_config`` does this).
    ``use_emulator=False`` stops the emulator; with nothing else to do, the result is None."""
    from ._settings.profiles import load_profile

    if use_emulator is False:
        stop_emulator()
        if not changes and profile is None:
            return None
    base = current()
    changes = dict(changes)
    if profile is not None:
        made = HEC(**{**load_profile(profile).settings.hec_kwargs(), **changes})
    elif use_emulator:
        made = HEC(**{**(base.settings() if base is not None else {}), **emulator_settings(),
                      **changes})
    elif base is not None:
        made = base.replace(**changes)
    else:
        made = HEC(**changes)
    _replace(made, owned=True)
    return made
