"""Tests of the local HEC emulator, over real sockets on 127.0.0.1 with httpx as the client."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from hecnb.emulator import Emulator, Faults, decode, faults, serve, server

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
EVENT_PATHS = ["/services/collector", "/services/collector/event", "/api/v1/ingest/hec"]
RAW_PATHS = ["/services/collector/raw", "/api/v1/ingest/hec/raw"]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """An emulator that wants KEY, on a free port, stopped afterwards."""
    with Emulator(api_key=KEY) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A keep-alive client that sends the right key."""
    with httpx.Client(headers=AUTH, timeout=10) as c:
        yield c


def post(
    client: httpx.Client, url: str, content: bytes, **headers: str
) -> tuple[int, dict[str, Any]]:
    """POST and return (status, decoded JSON answer)."""
    response = client.post(url, content=content, headers=headers)
    assert response.headers["content-type"] == "application/json"
    return response.status_code, response.json()


def lines(*envelopes: dict[str, Any]) -> bytes:
    """Newline-separated compact envelopes."""
    return b"\n".join(orjson.dumps(e) for e in envelopes)


# ------------------------------------------------------------------------------ routes and auth


@pytest.mark.parametrize("path", EVENT_PATHS)
def test_event_routes_store_envelopes(emu: Emulator, client: httpx.Client, path: str) -> None:
    body = lines({"event": {"a": 1}, "fields": {"#x": "y"}}, {"event": "text", "host": "h"})
    assert post(client, emu.base_url + path, body) == (200, {"text": "Success", "code": 0})
    assert emu.events == [
        {"event": {"a": 1}, "fields": {"#x": "y"}},
        {"event": "text", "host": "h"},
    ]
    assert emu.stats["by_route"] == {"event": 2, "raw": 0}


@pytest.mark.parametrize("path", RAW_PATHS)
def test_raw_routes_store_lines(emu: Emulator, client: httpx.Client, path: str) -> None:
    status, _ = post(client, emu.base_url + path, b"first line\nsecond line\n")
    assert status == 200
    assert emu.events == [{"raw": "first line"}, {"raw": "second line"}]
    assert emu.stats["by_route"] == {"event": 0, "raw": 2}


def test_urls_and_query_string_ignored(emu: Emulator, client: httpx.Client) -> None:
    assert emu.base_url == f"http://127.0.0.1:{emu.port}"
    assert emu.url == emu.base_url + "/services/collector"
    assert emu.raw_url == emu.url + "/raw"
    assert post(client, emu.url + "?channel=abc", b'{"event":1}')[0] == 200
    assert post(client, emu.raw_url + "?x=1&y=2", b"line")[0] == 200
    assert emu.events == [{"event": 1}, {"raw": "line"}]


def test_health(emu: Emulator) -> None:
    response = httpx.get(emu.base_url + "/services/collector/health")
    assert response.status_code == 200
    assert response.json() == {"text": "HEC is healthy", "code": 17}


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Splunk", "SPLUNK"])
def test_bearer_and_splunk_schemes(emu: Emulator, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {KEY}"}
    response = httpx.post(emu.url, content=b'{"event":"x"}', headers=headers)
    assert response.status_code == 200
    assert emu.events == [{"event": "x"}]


def test_missing_token_is_401_code_2(emu: Emulator) -> None:
    response = httpx.post(emu.url, content=b'{"event":"x"}')
    assert response.status_code == 401
    assert response.json() == {"text": "Token is required", "code": 2}
    assert emu.events == []


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Splunk", "token-only", ""])
def test_malformed_authorization_is_401_code_3(emu: Emulator, header: str) -> None:
    response = httpx.post(emu.url, content=b'{"event":"x"}', headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json() == {"text": "Invalid authorization", "code": 3}


def test_wrong_token_is_403_code_4(emu: Emulator) -> None:
    headers = {"Authorization": "Bearer wrong"}
    response = httpx.post(emu.url, content=b'{"event":"x"}', headers=headers)
    assert response.status_code == 403
    assert response.json() == {"text": "Invalid token", "code": 4}
    assert emu.events == []
    assert emu.stats["status_counts"] == {403: 1}


def test_any_token_accepted_without_api_key() -> None:
    with Emulator() as emu:
        headers = {"Authorization": "Splunk whatever"}
        assert httpx.post(emu.url, content=b'{"event":1}', headers=headers).status_code == 200
        assert httpx.post(emu.url, content=b'{"event":1}').status_code == 401


def test_unknown_path_is_404(emu: Emulator, client: httpx.Client) -> None:
    assert post(client, emu.base_url + "/nope", b'{"event":1}') == (
        404,
        {"text": "Not found", "code": 404},
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405(emu: Emulator, client: httpx.Client, method: str) -> None:
    response = client.request(method, emu.url)
    assert response.status_code == 405
    assert response.json()["code"] == 405
    assert client.post(emu.base_url + "/services/collector/health").status_code == 405
    assert post(client, emu.url, b'{"event":1}')[0] == 200  # the connection is still usable


def test_error_answers_keep_the_connection_in_step(emu: Emulator, client: httpx.Client) -> None:
    """A refused request's body is consumed, so the next request on the socket parses."""
    with socket.create_connection(("127.0.0.1", emu.port)) as sock:
        body = b'{"event":"x"}'
        bad = b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        good = (
            b"POST /services/collector HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (KEY.encode(), len(body), body)
        )
        sock.sendall(bad + good)
        received = b""
        while received.count(b"HTTP/1.1") < 2 or not received.endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk
            received += chunk
    assert received.startswith(b"HTTP/1.1 404")
    assert b"HTTP/1.1 200" in received
    assert emu.events == [{"event": "x"}]


# ------------------------------------------------------------------------------- gzip and limits


def test_gzip_bodies(emu: Emulator, client: httpx.Client) -> None:
    body = lines(*({"event": {"i": i}} for i in range(100)))
    packed = gzip.compress(body)
    assert post(client, emu.url, packed, **{"Content-Encoding": "gzip"})[0] == 200
    assert (
        post(client, emu.raw_url, gzip.compress(b"a\nb"), **{"Content-Encoding": "gzip"})[0] == 200
    )
    assert emu.events == [{"event": {"i": i}} for i in range(100)] + [{"raw": "a"}, {"raw": "b"}]
    stats = emu.stats
    assert stats["bytes_received"] == len(packed) + len(gzip.compress(b"a\nb"))
    assert stats["bytes_decoded"] == len(body) + 3


def test_gzip_members_back_to_back(emu: Emulator, client: httpx.Client) -> None:
    packed = gzip.compress(b'{"event":1}\n') + gzip.compress(b'{"event":2}')
    assert post(client, emu.url, packed, **{"Content-Encoding": "gzip"})[0] == 200
    assert emu.events == [{"event": 1}, {"event": 2}]


@pytest.mark.parametrize(
    "packed",
    [b"not gzip at all", gzip.compress(b'{"event":1}' * 50)[:-12]],
    ids=["garbage", "truncated"],
)
def test_corrupt_gzip_is_400_code_6(emu: Emulator, client: httpx.Client, packed: bytes) -> None:
    status, answer = post(client, emu.url, packed, **{"Content-Encoding": "gzip"})
    assert (status, answer["code"]) == (400, 6)
    assert emu.events == []


def test_body_over_limit_is_413_and_connection_stays_usable(client: httpx.Client) -> None:
    with Emulator(max_body_bytes=1000) as emu:
        big = lines(*({"event": "x" * 50} for _ in range(100)))
        status, answer = post(client, emu.url, big)
        assert (status, answer["text"]) == (413, "Content too large")
        assert post(client, emu.url, b'{"event":1}')[0] == 200
        assert emu.events == [{"event": 1}]
        assert emu.stats["bytes_received"] == len(big) + len(b'{"event":1}')
        assert emu.stats["status_counts"] == {413: 1, 200: 1}
        refused = httpx.post(emu.url, content=big)  # no token: 401, not a reset
        assert refused.status_code == 401


def test_gzip_that_inflates_over_limit_is_413(client: httpx.Client) -> None:
    with Emulator(max_body_bytes=100_000) as emu:
        bomb = gzip.compress(b"\n" * 20_000_000)
        assert len(bomb) < 100_000
        status, _ = post(client, emu.url, bomb, **{"Content-Encoding": "gzip"})
        assert status == 413
        assert emu.stats["bytes_decoded"] == 0
        exactly = gzip.compress(b'{"event":1}'.ljust(100_000))
        assert post(client, emu.url, exactly, **{"Content-Encoding": "gzip"})[0] == 200


def test_chunked_bodies(client: httpx.Client) -> None:
    with Emulator(max_body_bytes=1000) as emu:

        def parts() -> Iterator[bytes]:
            yield b'{"event":"one"}\n'
            yield b'{"event":"two"}'

        assert client.post(emu.url, content=parts()).status_code == 200
        assert client.post(emu.url, content=iter([b" " * 600, b" " * 600])).status_code == 413
        assert client.post(emu.url, content=b'{"event":3}').status_code == 200
        assert emu.events == [{"event": "one"}, {"event": "two"}, {"event": 3}]


@pytest.mark.parametrize("route", ["event", "raw"])
@pytest.mark.parametrize("body", [b"", b" \n\t\r\n "], ids=["empty", "whitespace"])
def test_empty_body_is_400_code_5(
    emu: Emulator, client: httpx.Client, route: str, body: bytes
) -> None:
    url = emu.url if route == "event" else emu.raw_url
    assert post(client, url, body) == (400, {"text": "No data", "code": 5})
    packed = gzip.compress(body)
    assert post(client, url, packed, **{"Content-Encoding": "gzip"})[1]["code"] == 5


# ------------------------------------------------------------------------------------ JSON bodies


@pytest.mark.parametrize("sep", ["", "\n", " ", "\r\n", "\t", "\n\n", " \n  "])
def test_concatenated_envelopes(emu: Emulator, client: httpx.Client, sep: str) -> None:
    envelopes = [{"event": {"i": i, "s": "a b\\n"}, "time": 1.5} for i in range(5)]
    body = sep.join(json.dumps(e) for e in envelopes) + sep
    assert post(client, emu.url, body.encode())[0] == 200
    assert emu.events == envelopes


def test_pretty_printed_envelopes(emu: Emulator, client: httpx.Client) -> None:
    envelopes = [{"event": {"i": i, "nested": {"k": [1, 2]}}, "host": "h"} for i in range(3)]
    body = "\n".join(json.dumps(e, indent=2) for e in envelopes)
    assert post(client, emu.url, body.encode())[0] == 200
    mixed = json.dumps(envelopes[0]) + "\n" + json.dumps(envelopes[1], indent=4)
    assert post(client, emu.url, mixed.encode())[0] == 200
    assert emu.events == envelopes + envelopes[:2]


@pytest.mark.parametrize(
    ("body", "index"),
    [
        (b'{"event":1}\n{"event":2}\n{"event":', 2),
        (b'{"event":1}{"event":2} nonsense', 2),
        (b'{"event":1}\n{"event":2},{"event":3}', 2),  # the comma is the bad value
        (b'{"event":1}\n"a string"\n{"event":3}', 1),
        (b"[1, 2]", 0),
        (b'{"event":1}\n{"event":NaN}', 1),
        (b'{"event":1}\n{"event":"\xff\xfe"}\n{"event":3}', 1),
        (b'{"event":1}\n{\n  "event": 2\n  "host": "h"\n}', 1),
    ],
)
def test_bad_json_names_the_first_bad_envelope_and_stores_nothing(
    emu: Emulator, client: httpx.Client, body: bytes, index: int
) -> None:
    status, answer = post(client, emu.url, body)
    assert status == 400
    assert answer == {"text": "Invalid data format", "code": 6, "invalid-event-number": index}
    assert emu.events == []
    assert emu.stats["events"] == 0


def test_missing_event_is_code_12(emu: Emulator, client: httpx.Client) -> None:
    status, answer = post(client, emu.url, lines({"event": 1}, {"host": "h"}, {"event": 3}))
    assert status == 400
    assert answer == {"text": "Event field is required", "code": 12, "invalid-event-number": 1}
    assert emu.events == []


@pytest.mark.parametrize("blank", [None, "", {}])
def test_blank_event_is_code_13(emu: Emulator, client: httpx.Client, blank: Any) -> None:
    body = lines({"event": 1}, {"event": 2}, {"event": blank})
    status, answer = post(client, emu.url, body)
    assert status == 400
    assert answer == {"text": "Event field cannot be blank", "code": 13, "invalid-event-number": 2}
    assert emu.events == []


def test_first_bad_envelope_wins(emu: Emulator, client: httpx.Client) -> None:
    body = b'{"event":1}\n{"nope":2}\n{broken'
    assert post(client, emu.url, body)[1] == {
        "text": "Event field is required",
        "code": 12,
        "invalid-event-number": 1,
    }


@pytest.mark.parametrize("value", [0, False, [], " "])
def test_falsy_but_not_blank_events_are_accepted(
    emu: Emulator, client: httpx.Client, value: Any
) -> None:
    assert post(client, emu.url, orjson.dumps({"event": value}))[0] == 200
    assert emu.events == [{"event": value}]


def test_json_content_types(emu: Emulator, client: httpx.Client) -> None:
    for ctype in ["application/json", "application/json; charset=utf-8", "text/plain"]:
        assert post(client, emu.url, b'{"event":1}', **{"Content-Type": ctype})[0] == 200
    assert emu.stats["events"] == 3


def test_large_batch_round_trips(emu: Emulator, client: httpx.Client) -> None:
    envelopes = [
        {"event": {"host": "h1", "message": f"m{i}", "n": i}, "fields": {"#s": "t"}}
        for i in range(5000)
    ]
    assert post(client, emu.url, lines(*envelopes) + b"\n")[0] == 200
    assert emu.events == envelopes


# ------------------------------------------------------------------------- other formats and raw


def test_yaml_body(emu: Emulator, client: httpx.Client) -> None:
    body = b"user: alice\nn: 1\n---\n- a\n- b: 2\n---\n"
    for ctype in ["application/x-yaml", "text/yaml", "application/yaml"]:
        assert post(client, emu.url, body, **{"Content-Type": ctype})[0] == 200
    assert (
        emu.events
        == [{"event": {"user": "alice", "n": 1}}, {"event": "a"}, {"event": {"b": 2}}] * 3
    )
    status, answer = post(client, emu.url, b"a: [1, 2\n", **{"Content-Type": "application/x-yaml"})
    assert (status, answer["code"]) == (400, 6)


def test_xml_body(emu: Emulator, client: httpx.Client) -> None:
    body = (
        b"<?xml version='1.0' encoding='utf-8'?>"
        b"<events><event><user>alice</user><tag>a</tag><tag>b</tag>"
        b"<geo><city>Oslo</city></geo></event>"
        b"<event><user>bob</user><empty/></event></events>"
    )
    assert post(client, emu.url, body, **{"Content-Type": "text/xml"})[0] == 200
    single = b"<event><user>carol</user></event>"
    assert post(client, emu.url, single, **{"Content-Type": "application/xml"})[0] == 200
    assert emu.events == [
        {"event": {"user": "alice", "tag": ["a", "b"], "geo": {"city": "Oslo"}}},
        {"event": {"user": "bob", "empty": ""}},
        {"event": {"user": "carol"}},
    ]
    status, answer = post(client, emu.url, b"<events><event>", **{"Content-Type": "text/xml"})
    assert (status, answer["code"]) == (400, 6)
    assert post(client, emu.url, b"<events/>", **{"Content-Type": "text/xml"})[1]["code"] == 5


@pytest.mark.parametrize("nested", [False, True])
def test_xml_one_event_a_line_is_counted_checked_and_read_back(
    emu: Emulator, client: httpx.Client, nested: bool
) -> None:
    """The emulator's fast path (one <event> a line: checked by expat, counted, parsed when read)
    and the whole parse (a field called "event" nested mid-line) store the same events."""
    inner = b"<event>x</event>" if nested else b"<kind>x</kind>"
    rows = [b'<event a="1"><n>%d</n>%s</event>' % (i, inner) for i in range(3)]
    body = b'<?xml version="1.0"?>\n<events>\n' + b"\n".join(rows) + b"\n</events>\n"
    assert decode._parse_event_xml(body).kind == ("xml" if nested else "xmlbody")
    assert post(client, emu.url, body, **{"Content-Type": "text/xml"})[0] == 200
    assert emu.stats["events"] == 3
    key = "event" if nested else "kind"
    assert emu.events == [{"event": {"@a": "1", "n": str(i), key: "x"}} for i in range(3)]
    for bad, code in [(body.replace(b"</events>", b"</event>"), 6),  # not well-formed
                      (body.replace(rows[1], b"<event />"), 13),  # a blank event
                      (body.replace(rows[1], b"<event></event >"), 13)]:
        status, answer = post(client, emu.url, bad, **{"Content-Type": "text/xml"})
        assert (status, answer["code"]) == (400, code)
    assert emu.stats["events"] == 3


def test_csv_body(emu: Emulator, client: httpx.Client) -> None:
    body = b'user,n,msg\nalice,1,"hello, world"\r\nbob,2,"two\nlines"\n'
    assert post(client, emu.url, body, **{"Content-Type": "text/csv"})[0] == 200
    assert emu.events == [
        {"event": {"user": "alice", "n": "1", "msg": "hello, world"}},
        {"event": {"user": "bob", "n": "2", "msg": "two\nlines"}},
    ]
    status, answer = post(client, emu.url, b"user,n\n", **{"Content-Type": "text/csv"})
    assert (status, answer["code"]) == (400, 5)


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_raw_line_endings(emu: Emulator, client: httpx.Client, eol: str) -> None:
    body = eol.join(["one", "two", "", '{"json": "three"}', ""]).encode()
    assert post(client, emu.raw_url, body, **{"Content-Type": "application/x-yaml"})[0] == 200
    assert emu.events == [{"raw": "one"}, {"raw": "two"}, {"raw": '{"json": "three"}'}]


def test_raw_mixed_endings_and_bad_utf8(emu: Emulator, client: httpx.Client) -> None:
    assert post(client, emu.raw_url, "a\r\nb\rc\nd é".encode())[0] == 200
    assert [e["raw"] for e in emu.events] == ["a", "b", "c", "d é"]
    assert post(client, emu.raw_url, b"ok\n\xff\xfe")[1]["code"] == 6
    assert emu.stats["events"] == 4


# ---------------------------------------------------------------------------------------- faults


def test_faults_validation_and_equality() -> None:
    assert Faults(error_503_rate=0.5, seed=1) == Faults(error_503_rate=0.5, seed=1)
    assert Faults() != Faults(delay=1)
    for bad in [
        {"error_503_rate": 1.5},
        {"error_429_rate": -0.1},
        {"drop_rate": float("nan")},
        {"delay_rate": 2},
        {"delay": -1},
        {"retry_after": -0.5},
        {"seed": 1.5},
        {"delay": "1"},
    ]:
        with pytest.raises(ValueError):
            Faults(**bad)
    with pytest.raises(TypeError):
        Faults(0.5)  # type: ignore[misc]


def test_503_fault(emu: Emulator, client: httpx.Client) -> None:
    emu.faults = Faults(error_503_rate=1.0)
    assert post(client, emu.url, b'{"event":1}') == (503, {"text": "Server is busy", "code": 9})
    assert emu.events == []
    assert emu.stats["status_counts"] == {503: 1}


def test_faults_come_after_auth(emu: Emulator) -> None:
    emu.faults = Faults(error_503_rate=1.0)
    assert httpx.post(emu.url, content=b'{"event":1}').status_code == 401


@pytest.mark.parametrize(("seconds", "header"), [(2, "2"), (2.0, "2"), (0.5, "0.5")])
def test_429_fault_with_retry_after(
    emu: Emulator, client: httpx.Client, seconds: float, header: str
) -> None:
    emu.faults = Faults(error_429_rate=1.0, retry_after=seconds)
    response = client.post(emu.url, content=b'{"event":1}')
    assert response.status_code == 429
    assert response.headers["Retry-After"] == header
    assert response.json()["text"] == "Too many requests"
    assert emu.events == []


def test_drop_fault_closes_without_answer(emu: Emulator, client: httpx.Client) -> None:
    emu.faults = Faults(drop_rate=1.0)
    with pytest.raises(httpx.TransportError):
        client.post(emu.url, content=b'{"event":1}')
    stats = emu.stats
    assert (stats["dropped"], stats["requests"], stats["status_counts"]) == (1, 1, {})
    emu.faults = Faults()
    assert client.post(emu.url, content=b'{"event":1}').status_code == 200
    assert emu.events == [{"event": 1}]


def test_delay_fault_is_counted(emu: Emulator, client: httpx.Client) -> None:
    emu.faults = Faults(delay=0.01)
    assert client.post(emu.url, content=b'{"event":1}').status_code == 200
    emu.faults = Faults(delay=0.01, delay_rate=0.0)
    assert client.post(emu.url, content=b'{"event":2}').status_code == 200
    assert emu.stats["delayed"] == 1
    assert emu.stats["events"] == 2


def test_seeded_fault_fractions_are_reproducible(emu: Emulator, client: httpx.Client) -> None:
    def statuses() -> list[int]:
        emu.faults = Faults(error_503_rate=0.3, error_429_rate=0.2, retry_after=0, seed=1234)
        return [client.post(emu.url, content=b'{"event":1}').status_code for _ in range(200)]

    first = statuses()
    assert statuses() == first
    assert 40 <= first.count(503) <= 80
    assert 20 <= first.count(429) <= 60
    assert emu.stats["events"] == 2 * first.count(200)


def test_seeded_drop_fraction(emu: Emulator) -> None:
    emu.faults = Faults(drop_rate=0.25, seed=7)
    dropped = 0
    with httpx.Client(headers=AUTH, timeout=10) as client:
        for _ in range(200):
            try:
                client.post(emu.url, content=b'{"event":1}')
            except httpx.TransportError:
                dropped += 1
    assert dropped == emu.stats["dropped"]
    assert 30 <= dropped <= 70
    assert emu.stats["events"] == 200 - dropped


def test_faults_settable_at_runtime(emu: Emulator, client: httpx.Client) -> None:
    assert emu.faults == Faults()
    emu.faults = Faults(error_503_rate=1.0)
    assert client.post(emu.url, content=b'{"event":1}').status_code == 503
    emu.faults = Faults()
    assert client.post(emu.url, content=b'{"event":1}').status_code == 200
    with pytest.raises(TypeError):
        emu.faults = {"error_503_rate": 1.0}  # type: ignore[assignment]


# ------------------------------------------------------------------------------- storage options


def test_ndjson_file(tmp_path: Path, client: httpx.Client) -> None:
    path = tmp_path / "events.ndjson"
    with Emulator(ndjson_path=path) as emu:
        assert post(client, emu.url, lines({"event": {"a": 1}}, {"event": "b"}))[0] == 200
        assert post(client, emu.raw_url, b"raw line\n")[0] == 200
        assert post(client, emu.url, b"a,b\n1,2\n", **{"Content-Type": "text/csv"})[0] == 200
        assert post(client, emu.url, b'{"event":1}\n{"nope":1}')[0] == 400
        written = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        assert written == emu.events
    assert len(written) == 4


def test_keep_events_false_counts_only(client: httpx.Client) -> None:
    with Emulator(keep_events=False) as emu:
        assert post(client, emu.url, lines({"event": 1}, {"event": 2}))[0] == 200
        assert emu.wait_for(2, timeout=5)
        assert emu.events == []
        assert emu.stats["events"] == 2


def test_wait_for(emu: Emulator) -> None:
    def send() -> None:
        with httpx.Client(headers=AUTH) as c:
            for i in range(20):
                c.post(emu.url, content=orjson.dumps({"event": i}))

    sender = threading.Thread(target=send)
    sender.start()
    assert emu.wait_for(20, timeout=10)
    sender.join()
    assert [e["event"] for e in emu.events] == list(range(20))
    assert not emu.wait_for(21, timeout=0.05)


def test_concurrent_clients(emu: Emulator) -> None:
    def send(n: int) -> None:
        with httpx.Client(headers=AUTH) as c:
            for i in range(25):
                assert c.post(
                    emu.url, content=lines({"event": [n, i]}, {"event": [n, i]})
                ).is_success

    senders = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for s in senders:
        s.start()
    for s in senders:
        s.join()
    assert emu.wait_for(200, timeout=10)
    events = emu.events
    assert len(events) == 200
    assert sorted(tuple(e["event"]) for e in events[::2]) == [
        (n, i) for n in range(4) for i in range(25)
    ]


def test_events_is_a_snapshot_and_reset_clears(emu: Emulator, client: httpx.Client) -> None:
    post(client, emu.url, b'{"event":1}')
    snapshot = emu.events
    snapshot.append({"event": "mine"})
    assert emu.events == [{"event": 1}]
    post(client, emu.url, b'{"event":2}')
    assert snapshot == [{"event": 1}, {"event": "mine"}]
    emu.reset()
    assert emu.events == []
    assert emu.stats == {
        "requests": 0,
        "events": 0,
        "bytes_received": 0,
        "bytes_decoded": 0,
        "status_counts": {},
        "dropped": 0,
        "delayed": 0,
        "throttled": 0,
        "by_route": {"event": 0, "raw": 0},
        "max_concurrent": 0,
    }
    post(client, emu.url, b'{"event":3}')
    assert emu.events == [{"event": 3}]


# ----------------------------------------------------------------------------------- life cycle


def test_stop_then_start_on_the_same_port(client: httpx.Client) -> None:
    emu = Emulator().start()
    try:
        assert emu.running
        assert emu.start() is emu  # idempotent
        port = emu.port
        assert port != 0
        assert client.post(emu.url, content=b'{"event":1}').status_code == 200
        emu.stop()
        emu.stop()  # idempotent
        assert not emu.running
        with pytest.raises(httpx.TransportError):
            client.post(emu.url, content=b'{"event":2}')
        emu.start()
        assert emu.port == port
        assert client.post(emu.url, content=b'{"event":3}').status_code == 200
        assert emu.events == [{"event": 1}, {"event": 3}]
    finally:
        emu.stop()


def test_stop_closes_idle_keep_alive_connections_promptly(emu: Emulator) -> None:
    client = httpx.Client(headers=AUTH)
    try:
        assert client.post(emu.url, content=b'{"event":1}').status_code == 200  # left open
        stopper = threading.Thread(target=emu.stop)
        stopper.start()
        stopper.join(timeout=2)
        assert not stopper.is_alive()
    finally:
        client.close()


def test_stop_interrupts_a_delayed_request() -> None:
    emu = Emulator(faults=Faults(delay=30)).start()
    client = httpx.Client(headers=AUTH, timeout=30)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            client.post(emu.url, content=b'{"event":1}')
        except httpx.TransportError as exc:
            errors.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        with emu._cond:  # wait (on the condition, no sleeps) until the request is being delayed
            assert emu._cond.wait_for(lambda: emu._delayed == 1, timeout=5)
        stopper = threading.Thread(target=emu.stop)
        stopper.start()
        stopper.join(timeout=2)
        assert not stopper.is_alive()
        sender.join(timeout=5)
        assert errors and emu.events == []
    finally:
        emu.stop()
        client.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "example.com", "::", "192.168.1.2"])
def test_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8, ::1 or 'localhost'"):
        Emulator(host=host)


def test_loopback_hosts_are_accepted() -> None:
    with Emulator(host="localhost") as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(emu.base_url + "/services/collector/health").status_code == 200
    assert Emulator(host="127.0.0.2").base_url == "http://127.0.0.2:0"
    assert Emulator(host="::1").base_url == "http://[::1]:0"


def test_repr_hides_the_api_key(emu: Emulator, client: httpx.Client) -> None:
    post(client, emu.url, b'{"event":1}')
    text = repr(emu)
    assert KEY not in text and KEY[-4:] not in text
    assert emu.url in text and "events=1" in text


def test_two_emulators_share_nothing(client: httpx.Client) -> None:
    with Emulator() as one, Emulator(faults=Faults(error_503_rate=1.0)) as two:
        assert one.port != two.port
        assert client.post(one.url, content=b'{"event":1}').status_code == 200
        assert client.post(two.url, content=b'{"event":2}').status_code == 503
        assert one.events == [{"event": 1}] and two.events == []
        assert one.stats["status_counts"] == {200: 1}
        assert two.stats["status_counts"] == {503: 1}
        assert one.faults == Faults()


def test_constructor_validation() -> None:
    with pytest.raises(ValueError):
        Emulator(port=70000)
    with pytest.raises(ValueError):
        Emulator(max_body_bytes=0)
    with pytest.raises(ValueError):
        Emulator(api_key="")
    with pytest.raises(TypeError):
        Emulator(faults={"drop_rate": 1})  # type: ignore[arg-type]


def test_serve_prints_the_url_and_stops_on_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "_pause", interrupt)
    serve(port=0)
    out = capsys.readouterr().out
    assert "http://127.0.0.1:" in out and "/services/collector" in out
    assert "stopped" in out


# ----------------------------------------------------------------- the network: rate and bandwidth


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_bucket_admits_into_debt_then_refuses_until_repaid() -> None:
    clock = _Clock()
    quota = faults._Quota(Faults(rate_limit=100, rate_burst=1), clock)
    assert quota.admit(60, 0) is None  # 100 tokens -> 40
    assert quota.admit(60, 0) is None  # 40 -> -20: a non-empty bucket admits, into debt
    assert quota.admit(1, 0) == pytest.approx(0.2)  # the debt of 20 takes 0.2 s to repay
    clock.now += 0.1
    assert quota.admit(1, 0) == pytest.approx(0.1)  # refused requests cost nothing
    clock.now += 0.1 + 1e-6
    assert quota.admit(1, 0) is None
    clock.now += 60  # idle for a minute: the bucket holds one burst, not a minute's worth
    assert quota.admit(100, 0) is None and quota.admit(1, 0) is not None


def test_rate_limit_in_bytes_and_events_both_apply() -> None:
    clock = _Clock()
    quota = faults._Quota(Faults(rate_limit=1000, rate_limit_bytes=500), clock)
    assert quota.admit(1, 600) is None  # bytes: 500 -> -100
    assert quota.admit(1, 1) == pytest.approx(0.2)  # refused by bytes, events have room
    assert not faults._Quota(Faults(), clock).active


def test_link_paces_bytes_as_one_shared_uplink() -> None:
    clock = _Clock()
    link = faults._Link(1000.0, clock)
    assert link.reserve(500) == pytest.approx(0.5)
    assert link.reserve(500) == pytest.approx(1.0)  # a second connection queues behind
    clock.now += 5
    assert link.reserve(1000) == pytest.approx(1.0)  # an idle link saves nothing up


def test_rate_limited_emulator_answers_429_with_retry_after(
    emu: Emulator, client: httpx.Client
) -> None:
    emu.faults = Faults(rate_limit=1, rate_burst=1)  # one event a second
    five = lines(*({"event": {"n": i}} for i in range(5)))
    assert post(client, emu.url, five)[0] == 200  # the bucket goes 4 events into debt
    response = client.post(emu.url, content=five)
    assert response.status_code == 429
    assert response.json()["text"] == "Too many requests"
    assert 3 <= int(response.headers["Retry-After"]) <= 5  # whole seconds until repaid
    stats = emu.stats
    assert (stats["events"], stats["throttled"], stats["status_counts"]) == (
        5, 1, {200: 1, 429: 1})
    emu.faults = Faults()  # a new Faults is a new quota
    assert post(client, emu.url, five)[0] == 200


def test_bandwidth_paces_every_body_and_still_receives_it_whole(
    emu: Emulator, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    reserved: list[int] = []
    real = faults._Link.reserve

    def spy(self: Any, size: int) -> float:
        reserved.append(size)
        return real(self, size) * 0  # count what is paced, without making the test wait

    monkeypatch.setattr(faults._Link, "reserve", spy)
    emu.faults = Faults(bandwidth=12.5e6)
    body = lines(*({"event": {"n": i, "pad": "x" * 500}} for i in range(1000)))
    assert post(client, emu.url, body)[0] == 200
    assert sum(reserved) == len(body) and max(reserved) <= 64 * 1024
    assert [e["event"]["n"] for e in emu.events] == list(range(1000))


@pytest.mark.parametrize("bad", [{"rate_limit": -1}, {"rate_burst": 0}, {"bandwidth": float("inf")},
                                 {"rate_limit_bytes": "10"}])
def test_network_knobs_are_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="Faults"):
        Faults(**bad)


def test_stats_over_http_for_another_process(emu: Emulator, client: httpx.Client) -> None:
    assert post(client, emu.url, b'{"event":1}')[0] == 200
    for _ in range(2):  # asking is not counted
        answer = httpx.get(emu.base_url + "/emulator/stats").json()
    assert answer["requests"] == 1 and answer["events"] == 1
    assert answer["status_counts"] == {"200": 1}
    assert emu.stats["requests"] == 1


def test_a_taken_port_is_an_address_in_use_error() -> None:
    """A bind that fails says why (it once raised an AttributeError from its own cleanup)."""
    import errno
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError) as info:
            Emulator(port=taken.getsockname()[1]).start()
    assert info.value.errno == errno.EADDRINUSE
