"""Connection settings and saved profiles: the key is never written, files are private."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from conftest import KEY

from hecnb import HEC, ConfigError
from hecnb._settings.profiles import (
    KEYRING_SERVICE,
    ConnectionSettings,
    config_dir,
    keyring_available,
    list_profiles,
    load_profile,
    profile_path,
    save_profile,
)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend in memory, so the keyring path runs on machines without one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.NoKeyringError("no backend")


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cfg"
    monkeypatch.setenv("HECNB_CONFIG_DIR", str(home))
    return home


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_config_dir_per_platform(tmp_path: Path) -> None:
    assert config_dir({"HECNB_CONFIG_DIR": str(tmp_path)}) == tmp_path
    assert config_dir({"XDG_CONFIG_HOME": "/x/cfg"}, "linux") == Path("/x/cfg/hecnb")
    assert config_dir({}, "darwin") == Path.home() / ".config" / "hecnb"
    assert config_dir({"APPDATA": r"C:\Users\a\AppData\Roaming"}, "win32") == Path(
        r"C:\Users\a\AppData\Roaming") / "hecnb"


def test_profile_names_are_checked(config_home: Path) -> None:
    assert profile_path("lab-1.eu") == config_home / "profiles" / "lab-1.eu.json"
    for bad in ("../etc/passwd", "", ".hidden", "a/b", "x" * 65):
        with pytest.raises(ConfigError, match="Profile name"):
            profile_path(bad)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_save_writes_a_private_file_without_the_key(config_home: Path) -> None:
    settings = ConnectionSettings(region="EU-1", url_or_key="abc123", ingest_format="CSV",
                                  raw_ingest=True, timeout=9, key_env="LAB_KEY")
    settings.set_key(KEY)
    saved = save_profile("lab", settings, key=settings.resolve_key())
    text = saved.path.read_text()
    assert KEY not in text and KEY[-4:] not in text
    assert json.loads(text) == {"hecnb_profile": 1, "region": "eu1", "url": "abc123",
                                "format": "csv", "raw": True, "timeout": 9.0,
                                "key_source": "env", "key_env": "LAB_KEY"}
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.path.parent.stat().st_mode) == 0o700
    assert "$LAB_KEY" in saved.note and list_profiles() == ["lab"]
    saved.path.chmod(0o644)  # saving again restores the mode
    save_profile("lab", settings)
    assert stat.S_IMODE(saved.path.stat().st_mode) == 0o600


def test_round_trip_reads_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile("lab", ConnectionSettings(url_or_key="https://abc.ingest.us-2.crowdstrike.com",
                                           key_env="LAB_KEY"))
    loaded = load_profile("lab")
    assert not loaded.settings.has_key and "$LAB_KEY is not set" in loaded.note
    monkeypatch.setenv("LAB_KEY", KEY)
    loaded = load_profile("lab")
    assert "read from $LAB_KEY" in loaded.note
    hec = HEC(**loaded.settings.hec_kwargs())
    assert hec.ingest_url == "https://abc.ingest.us-2.crowdstrike.com/services/collector"
    assert hec.ingest_config.ingest_key == KEY


def test_keyring_round_trip(memory_keyring: MemoryKeyring) -> None:
    assert keyring_available()
    settings = ConnectionSettings(url_or_key="abc123", key_source="keyring")
    saved = save_profile("prod", settings, key=KEY)
    assert saved.key_source == "keyring" and "keyring" in saved.note
    assert memory_keyring.store == {(KEYRING_SERVICE, "prod"): KEY}
    assert KEY not in saved.path.read_text()
    loaded = load_profile("prod")
    assert loaded.settings.has_key and loaded.settings.resolve_key({}) == KEY
    assert loaded.settings.hec_kwargs({})["api_key"] == KEY


def test_unusable_keyring_falls_back_to_the_environment() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        assert keyring_available()  # it looks usable, but storing fails
        saved = save_profile("lab", ConnectionSettings(url_or_key="abc", key_source="keyring"),
                             key=KEY)
    finally:
        keyring.set_keyring(previous)
    assert saved.key_source == "env" and "no keyring backend is available" in saved.note
    assert json.loads(saved.path.read_text())["key_source"] == "env"
    assert KEY not in saved.path.read_text()


def test_loading_refuses_a_file_holding_a_key(config_home: Path) -> None:
    path = profile_path("bad")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"url": "abc", "api_key": KEY}))
    with pytest.raises(ConfigError, match="secret field") as err:
        load_profile("bad")
    assert KEY not in str(err.value)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_profile("bad")
    with pytest.raises(ConfigError, match=r"No profile named 'nope'.*saved profiles: bad"):
        load_profile("nope")


def test_settings_validate_and_hide_the_key() -> None:
    s = ConnectionSettings(url_or_key="abc")
    s.set_key(KEY)
    assert KEY not in repr(s) and s.key_hint == "****XYZW"
    with pytest.raises(ConfigError, match="Unknown ingest_region"):
        ConnectionSettings(region="mars")
    with pytest.raises(ConfigError, match="timeout"):
        ConnectionSettings(timeout=0)
    with pytest.raises(ConfigError, match="key_env"):
        ConnectionSettings(key_env="NOT A NAME")
    with pytest.raises(ConfigError, match="No destination"):
        ConnectionSettings().hec_kwargs({"NGSIEM_API_KEY": KEY})
    with pytest.raises(ConfigError, match=r"No API key.*NGSIEM_API_KEY"):
        ConnectionSettings(url_or_key="abc").hec_kwargs({})


def test_entered_url_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGSIEM_INGEST_URL", "https://other.ingest.us-1.crowdstrike.com")
    s = ConnectionSettings(url_or_key="abc123", region="eu1")
    s.set_key(KEY)
    hec = HEC(**s.hec_kwargs())
    assert hec.ingest_url == "https://abc123.ingest.eu-1.crowdstrike.com/services/collector"
