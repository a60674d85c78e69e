"""HTTPS to the emulator with a certificate from a private CA (as behind a TLS-inspecting proxy).

``trustme`` makes the CA and a certificate for 127.0.0.1 in memory; nothing leaves loopback.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from conftest import KEY

from hecnb import HEC
from hecnb.emulator import Emulator

FAST = {"backoff_base": 0.005, "backoff_max": 0.02}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_emu(ca: trustme.CA) -> Emulator:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    with Emulator(api_key=KEY, tls=server) as emu:
        yield emu


def events(n: int) -> list[dict]:
    return [{"id": i} for i in range(n)]


def test_a_ca_bundle_path_is_trusted(ca: trustme.CA, tls_emu: Emulator, tmp_path: Path) -> None:
    assert tls_emu.url.startswith("https://127.0.0.1:")
    bundle = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with HEC(api_key=KEY, ingest_url=tls_emu.url, verify=str(bundle), batch_max_events=50) as hec:
        assert hec.send_event_list(events(500)) == 500
        assert hec.check_connection().ok
    ids = sorted(e["event"]["id"] for e in tls_emu.events if "id" in e["event"])
    assert ids == list(range(500))  # (and the connection check's test event)


def test_an_ssl_context_is_used_as_given(ca: trustme.CA, tls_emu: Emulator) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with HEC(api_key=KEY, ingest_url=tls_emu.url, verify=context) as hec:
        assert hec.send_event_list(events(10)) == 10


def test_an_untrusted_certificate_fails_every_event_with_a_reason_that_says_what_to_do(
        tls_emu: Emulator) -> None:
    with HEC(api_key=KEY, ingest_url=tls_emu.url, retry_count=1, **FAST) as hec:
        report = hec.send(events(20))
        check = hec.check_connection()
    assert report.delivered == 0 and report.failed_count == 20
    (reason,) = set(report.failure_reasons())
    assert "could not be verified" in reason and "verify='/path/to/corporate-ca.pem'" in reason
    assert not check.ok and "verify=" in check.reason
    assert tls_emu.events == []
