"""The declared list of settings is the single source: every setting reaches every place.

For each declaration of ``hecnb/_settings/declared.py``: a keyword of ``HEC()`` (in its
signature) with the declared default, a property of ``HEC`` that reads and writes it, a CLI
option of ``hecnb send`` whose default is the HEC's (argparse's is None, the help says the
declared one), a ``%hec_config`` field that sets it, a field of the profiles where declared;
or, where it is none of these, a stated reason.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from conftest import KEY

import hecnb
from hecnb import HEC, ConfigError, IngestConfig, SessionManager
from hecnb._settings.declared import (
    ConfigSettings,
    EngineSettings,
    Setting,
    by_keyword,
    cli_settings,
    declared,
    keyword_table,
    magic_fields,
    parse_text,
    profile_fields,
)
from hecnb.cli import _parser

SETTINGS = declared()
URL = "http://127.0.0.1:9/services/collector"

#: A value other than the default for each setting, as a user would type it, and as HEC keeps it.
CHANGED: dict[str, tuple[str, Any]] = {
    "api_url_key": ("abc123", "abc123"), "debug": ("on", True), "ingest_region": ("eu1", "eu1"),
    "ingest_url": ("http://127.0.0.1:8/services/collector",
                   "http://127.0.0.1:8/services/collector"),
    "ingest_format": ("csv", "csv"), "ingest_timeout": ("7", 7),
    "ingest_timeunit": ("ms", "milliseconds"), "raw_ingest": ("yes", True),
    "auth_scheme": ("splunk", "Splunk"), "batch_max_bytes": ("4096", 4096),
    "batch_max_events": ("50", 50), "compress": ("off", False), "verify": ("false", False),
    "allow_insecure_http": ("true", True), "proxy": ("none", False),
    "thread_count": ("3", 3), "retry_count": ("1", 1), "max_in_flight": ("5", 5),
    "retry_max_elapsed": ("60", 60.0), "backoff_base": ("0.5", 0.5),
    "backoff_max": ("2", 2.0), "sanitize_log": ("false", False), "hec_time": ("off", False),
}


def test_the_list_is_whole_and_every_entry_is_accounted_for() -> None:
    names = [s.keyword for s in SETTINGS]
    assert names[:3] == ["api_key", "api_url_key", "debug"]  # FalconPy's positional order
    assert len(names) == len(set(names))
    without = {s.keyword for s in SETTINGS if s.why_not}
    assert without == {"api_key", "transport"}  # the key, and a Python object
    assert set(CHANGED) == set(names) - without  # every other one is exercised below


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.keyword)
def test_every_setting_is_a_keyword_with_its_default(setting: Setting[Any]) -> None:
    params = inspect.signature(HEC).parameters
    assert setting.keyword in params and params[setting.keyword].default is None
    if setting.secret or setting.keyword in ("api_url_key", "ingest_url", "ingest_region",
                                             "transport"):
        return  # the key and the destination have no plain default to read back
    hec = HEC(api_key=KEY, ingest_url=URL)
    try:
        assert getattr(hec, setting.name) == setting.default_value()
        assert hec.settings()[setting.keyword] == setting.default_value()
    finally:
        hec.close()


@pytest.mark.parametrize("keyword", sorted(CHANGED))
def test_every_setting_is_a_keyword_a_property_and_a_round_trip(keyword: str) -> None:
    setting = by_keyword()[keyword]
    text, kept = CHANGED[keyword]
    value = parse_text(setting, text)
    extra = {"ingest_url": ""} if keyword in ("api_url_key", "ingest_region") else {}
    if keyword == "allow_insecure_http":
        extra = {"ingest_url": "http://192.0.2.1/services/collector"}
    hec = HEC(api_key=KEY, **{"ingest_url": URL, **extra, keyword: value,
                              **({"api_url_key": "abc123"} if keyword == "ingest_region"
                                 else {})})
    try:
        assert getattr(hec, setting.name) == kept
        again = HEC(api_key=KEY, **hec.settings())  # settings() makes the same client
        try:
            assert getattr(again, setting.name) == kept
            assert again.ingest_url == hec.ingest_url
        finally:
            again.close()
        if not setting.read_only and not setting.custom:
            setattr(hec, setting.name, None)  # None: the default again, through the property
            assert getattr(hec, setting.name) == setting.default_value()
    finally:
        hec.close()


@pytest.mark.parametrize("keyword", sorted(CHANGED))
def test_every_setting_is_a_cli_option_whose_default_is_the_hecs(keyword: str) -> None:
    setting = by_keyword()[keyword]
    assert setting.cli, keyword
    commands = next(a for a in _parser()._actions if a.dest == "command").choices
    assert commands is not None
    send = commands["send"]  # type: ignore[index]
    action = next(a for a in send._actions if setting.cli in a.option_strings)
    assert action.default is None  # not given: the HEC's own default (or the environment)
    assert action.help and f"(default: {setting.default_text()})" in action.help
    text, _kept = CHANGED[keyword]
    argv = ["send", "f.ndjson"]
    argv += ([setting.cli] if text in ("on", "yes", "true") else [f"--no-{setting.cli[2:]}"]
             ) if setting.kind == "bool" else [setting.cli, text]
    given = cli_settings(send.parse_args(argv[1:]))
    assert given == {keyword: parse_text(setting, text)}
    assert cli_settings(send.parse_args(["f.ndjson"])) == {}


@pytest.mark.parametrize("keyword", sorted(CHANGED))
def test_every_setting_is_a_magic_field(keyword: str) -> None:
    setting = by_keyword()[keyword]
    assert setting.magic is not None, keyword
    assert magic_fields()[setting.magic] is setting
    from hecnb.magics import CONFIG_FIELDS

    assert setting.magic in CONFIG_FIELDS and CONFIG_FIELDS[setting.magic] == setting.doc


def test_the_key_is_no_option_no_field_and_no_profile_field() -> None:
    key = by_keyword()["api_key"]
    assert key.secret and key.cli is None and key.magic is None and "api_key" not in {
        s.keyword for s in profile_fields().values()}
    assert "never" in key.why_not


def test_the_owners_keep_their_settings() -> None:
    cfg = IngestConfig(KEY, "abc", environ={})
    for name, setting in vars(ConfigSettings).items():
        if isinstance(setting, Setting) and not setting.secret and name != "ingest_url":
            assert hasattr(cfg, name), name
    sm = SessionManager(max_in_flight=5)
    assert sm.max_in_flight == 5 and sm.engine.max_in_flight == 5
    for name, setting in vars(EngineSettings).items():
        if isinstance(setting, Setting):
            assert hasattr(sm, name), name


def test_the_docs_keyword_table_is_the_declared_one() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    table = keyword_table()
    for line in table.splitlines()[2:]:
        keyword = line.split("`")[1]
        assert f"| `{keyword}` |" in text, f"docs/configuration.md lacks {keyword}"
    assert hecnb.HEC.__init__.__doc__ is None or "settings" in (HEC.__doc__ or "")


def test_the_first_backoff_is_never_longer_than_the_longest() -> None:
    with pytest.raises(ConfigError, match=r"backoff_base .* backoff_max"):
        HEC(api_key=KEY, ingest_url=URL, backoff_base=20)
    hec = HEC(api_key=KEY, ingest_url=URL)
    with pytest.raises(ConfigError, match="raise backoff_max"):
        hec.backoff_base = 30
    assert hec.backoff_base == 0.25  # a refused change keeps nothing
    hec.backoff_max, hec.backoff_base = 40, 30
    assert (hec.backoff_base, hec.backoff_max) == (30, 40)
    hec.close()
