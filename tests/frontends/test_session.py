"""The session default client: configure, the environment, and the message when there is none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import KEY

import hecnb
from hecnb import HEC, ConfigError
from hecnb import _session as session
from hecnb.emulator import Emulator


@pytest.fixture(autouse=True)
def _clean_default() -> Iterator[None]:
    session.set_default(None)
    yield
    session.set_default(None)


def test_no_default_says_how_to_configure() -> None:
    with pytest.raises(ConfigError) as err:
        session.get_default()
    text = str(err.value)
    for hint in ("hecnb.configure(api_key=..., ingest_url=...)", "config panel",
                 "NGSIEM_API_KEY", "NGSIEM_INGEST_URL"):
        assert hint in text
    assert session.current() is None


def test_configure_makes_and_replaces_the_default(emu: Emulator) -> None:
    first = hecnb.configure(api_key=KEY, ingest_url=emu.url)
    assert session.get_default() is first and first.ingest_url == emu.url
    assert first.test_connection()
    second = hecnb.configure(api_key=KEY, ingest_url=emu.url, ingest_format="csv")
    assert session.get_default() is second and second.ingest_format == "csv"
    assert first.sessions == []  # the replaced default (made here) was closed


def test_configure_adopts_an_existing_client_and_never_closes_it(emu: Emulator) -> None:
    mine = HEC(api_key=KEY, ingest_url=emu.url)
    assert hecnb.configure(mine) is mine and session.get_default() is mine
    mine.test_connection()
    hecnb.configure(api_key=KEY, ingest_url=emu.url)
    assert mine.sessions  # the user's own client stays open
    mine.close()
    with pytest.raises(ConfigError, match="either an HEC instance or HEC keywords"):
        hecnb.configure(mine, api_key=KEY)
    with pytest.raises(ConfigError, match=r"takes a hecnb\.HEC"):
        hecnb.configure("not a client")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        hecnb.configure(api_key=KEY)  # no destination: HEC's own error, unchanged


def test_default_from_the_environment(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    monkeypatch.setenv("NGSIEM_API_KEY", KEY)
    with pytest.raises(ConfigError):  # a key alone does not suffice
        session.get_default()
    monkeypatch.setenv("NGSIEM_INGEST_URL", emu.url)
    hec = session.get_default()
    assert hec.ingest_url == emu.url and session.get_default() is hec  # kept as the default
    assert session.current() is hec


def test_set_default_checks_its_argument() -> None:
    with pytest.raises(ConfigError):
        session.set_default(object())  # type: ignore[arg-type]
