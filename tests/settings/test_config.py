"""IngestConfig: regions, formats, time units, URLs, environment, masking."""

from __future__ import annotations

import pytest

from hecnb import ConfigError, IngestConfig
from hecnb._settings.names import REGIONS, normalize_region
from hecnb._settings.secret import mask_secret

KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("spelling", "region"),
    [("us1", "us1"), ("US-1", "us1"), ("us_2", "us2"), ("US3", "us3"), ("eu-1", "eu1"),
     ("EU1", "eu1"), ("usgov1", "usgov1"), ("gov1", "usgov1"), ("US-GOV-2", "usgov2"),
     ("gov2", "usgov2"), (" us-1 ", "us1")],
)
def test_region_spellings(spelling: str, region: str) -> None:
    assert normalize_region(spelling) == region


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_each_region_builds_its_host(region: str) -> None:
    cfg = IngestConfig(KEY, "abc123", ingest_region=region, environ={})
    assert cfg.ingest_url == f"https://abc123.{REGIONS[region]}/services/collector"
    assert cfg.raw_ingest_url == cfg.ingest_url + "/raw"


def test_unknown_region_lists_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match="us1, us2, us3, eu1, usgov1, usgov2"):
        IngestConfig(KEY, "abc", ingest_region="ap1", environ={})


@pytest.mark.parametrize(("value", "name"), [("json", "json"), ("JSON", "json"),
                                             ("application/json", "json"), ("yml", "yaml"),
                                             ("text/csv", "csv"), ("XML", "xml")])
def test_format_spellings(value: str, name: str) -> None:
    assert IngestConfig(KEY, "abc", ingest_format=value, environ={}).ingest_format == name


def test_unknown_format_and_timeunit() -> None:
    with pytest.raises(ConfigError, match="json, yaml, xml, csv"):
        IngestConfig(KEY, "abc", ingest_format="parquet", environ={})
    with pytest.raises(ConfigError, match="seconds, milliseconds, nanoseconds"):
        IngestConfig(KEY, "abc", ingest_timeunit="weeks", environ={})


@pytest.mark.parametrize("key", ["", "   ", "\t\n"])
def test_empty_key(key: str) -> None:
    with pytest.raises(ConfigError, match="empty"):
        IngestConfig(key, "abc", environ={})


def test_key_with_inner_space_and_pasted_newline() -> None:
    with pytest.raises(ConfigError, match="spaces"):
        IngestConfig("abc def", "abc", environ={})
    assert IngestConfig(KEY + "\n", "abc", environ={}).ingest_key == KEY


@pytest.mark.parametrize(
    ("url", "event", "raw"),
    [
        ("https://x1.ingest.us-1.crowdstrike.com/services/collector",
         "https://x1.ingest.us-1.crowdstrike.com/services/collector",
         "https://x1.ingest.us-1.crowdstrike.com/services/collector/raw"),
        ("https://x1.ingest.us-1.crowdstrike.com/services/collector/",
         "https://x1.ingest.us-1.crowdstrike.com/services/collector",
         "https://x1.ingest.us-1.crowdstrike.com/services/collector/raw"),
        ("https://x1.ingest.us-1.crowdstrike.com/services/collector/raw",
         "https://x1.ingest.us-1.crowdstrike.com/services/collector",
         "https://x1.ingest.us-1.crowdstrike.com/services/collector/raw"),
        ("https://x1.ingest.us-1.crowdstrike.com",
         "https://x1.ingest.us-1.crowdstrike.com/services/collector",
         "https://x1.ingest.us-1.crowdstrike.com/services/collector/raw"),
        ("https://h.example:8443/services/collector/event",
         "https://h.example:8443/services/collector/event",
         "https://h.example:8443/services/collector/raw"),
        ("https://logscale.example/api/v1/ingest/hec",
         "https://logscale.example/api/v1/ingest/hec",
         "https://logscale.example/api/v1/ingest/hec/raw"),
        ("https://ingest.us-1.crowdstrike.com/api/ingest/hec/abc/v1/services/collector",
         "https://ingest.us-1.crowdstrike.com/api/ingest/hec/abc/v1/services/collector",
         "https://ingest.us-1.crowdstrike.com/api/ingest/hec/abc/v1/services/collector/raw"),
        ("http://127.0.0.1:8088/services/collector",
         "http://127.0.0.1:8088/services/collector",
         "http://127.0.0.1:8088/services/collector/raw"),
    ],
)
def test_ingest_url_forms(url: str, event: str, raw: str) -> None:
    cfg = IngestConfig(KEY, ingest_url=url, environ={})
    assert (cfg.ingest_url, cfg.raw_ingest_url) == (event, raw)


def test_ingest_url_wins_over_url_key_and_region() -> None:
    cfg = IngestConfig(KEY, "abc", ingest_region="eu1",
                       ingest_url="http://localhost:1/services/collector", environ={})
    assert cfg.ingest_url == "http://localhost:1/services/collector"


def test_full_url_pasted_as_url_key() -> None:
    cfg = IngestConfig(KEY, "https://zz9.ingest.eu-1.crowdstrike.com/services/collector",
                       environ={})
    assert cfg.ingest_url == "https://zz9.ingest.eu-1.crowdstrike.com/services/collector"
    assert cfg.ingest_url_key == "zz9"


@pytest.mark.parametrize(
    ("url", "message"),
    [("x1.ingest.us-1.crowdstrike.com/services/collector", "no scheme"),
     ("https://x1.ingest.us-1.crowdstrike.com/services/colector", "typo"),
     ("http://x1.ingest.us-1.crowdstrike.com/services/collector", "clear text"),
     ("ftp://x1.example/services/collector", "https://"),
     ("https:///services/collector", "host"),
     ("https://user:pw@x1.example/services/collector", "password")],
)
def test_bad_ingest_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        IngestConfig(KEY, ingest_url=url, environ={})


def test_insecure_http_allowed_only_explicitly() -> None:
    cfg = IngestConfig(KEY, ingest_url="http://10.1.2.3:8088/services/collector",
                       allow_insecure_http=True, environ={})
    assert cfg.ingest_url.startswith("http://10.1.2.3")


def test_bad_url_key() -> None:
    with pytest.raises(ConfigError, match="not a URL key"):
        IngestConfig(KEY, "abc/def", environ={})


def test_no_destination_and_no_key() -> None:
    cfg = IngestConfig(KEY, environ={})
    with pytest.raises(ConfigError, match="No destination"):
        _ = cfg.ingest_url
    with pytest.raises(ConfigError, match="NGSIEM_API_KEY"):
        IngestConfig(None, "abc", environ={}).require_key()


def test_environment_variables() -> None:
    env = {"NGSIEM_API_KEY": KEY, "NGSIEM_URL_KEY": "envkey", "NGSIEM_REGION": "eu-1"}
    cfg = IngestConfig(environ=env)
    assert cfg.ingest_key == KEY
    assert cfg.ingest_url == "https://envkey.ingest.eu-1.crowdstrike.com/services/collector"
    env["NGSIEM_INGEST_URL"] = "http://127.0.0.1:9/services/collector"
    assert IngestConfig(environ=env).ingest_url == "http://127.0.0.1:9/services/collector"
    # keywords win over the environment
    assert IngestConfig("k" * 20, "kw", environ=env).ingest_key == "k" * 20


@pytest.mark.parametrize(
    ("name", "value"),
    [("ingest_timeout", 0), ("ingest_timeout", -1), ("ingest_timeout", "soon"),
     ("batch_max_bytes", 0), ("batch_max_bytes", 1.5), ("batch_max_bytes", 64 * 1024 * 1024),
     ("batch_max_events", 0), ("batch_max_events", -5)],
)
def test_bad_numbers(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=name):
        IngestConfig(KEY, "abc", environ={}, **{name: value})  # type: ignore[arg-type]


def test_timeout_accepts_string_like_falconpy() -> None:
    assert IngestConfig(KEY, "abc", ingest_timeout="7", environ={}).ingest_timeout == 7
    assert IngestConfig(KEY, "abc", ingest_timeout=2.5, environ={}).ingest_timeout == 2.5


def test_auth_scheme() -> None:
    cfg = IngestConfig(KEY, "abc", auth_scheme="splunk", environ={})
    assert cfg.headers()["Authorization"] == f"Splunk {KEY}"
    with pytest.raises(ConfigError, match="Bearer"):
        cfg.auth_scheme = "Basic"


def test_base_url_setter_takes_region_or_host() -> None:
    cfg = IngestConfig(KEY, "abc", environ={})
    cfg.ingest_base_url = "eu-1"
    assert cfg.ingest_region == "eu1"
    cfg.ingest_base_url = "ingest.example.org"
    assert cfg.ingest_url == "https://abc.ingest.example.org/services/collector"


def test_repr_masks_key_and_equality() -> None:
    a = IngestConfig(KEY, "abc", environ={})
    assert KEY not in repr(a)
    assert "****cdef" in repr(a)
    assert a == IngestConfig(KEY, "abc", environ={})
    assert a != IngestConfig(KEY, "abd", environ={})


def test_mask_secret() -> None:
    assert mask_secret("short") == "****"
    assert mask_secret(KEY) == "****cdef"
    assert mask_secret(None) == "<not set>"


@pytest.mark.parametrize("base", ["ab@cd.evil", "x.example/y", "x..y", "!@#$%?&*_.", "x?y", ""])
def test_base_url_that_is_not_a_host_name_is_refused(base: str) -> None:
    """In the URL, 'ab@cd.evil' made 'abc.ab' a user name and sent the API key to cd.evil."""
    cfg = IngestConfig(KEY, "abc", environ={})
    with pytest.raises(ConfigError, match="ingest_base_url must be a region"):
        cfg.ingest_base_url = base
    assert cfg.ingest_url == "https://abc.ingest.us-1.crowdstrike.com/services/collector"
    cfg.ingest_base_url = "ingest.example.org:8443"
    assert cfg.ingest_url == "https://abc.ingest.example.org:8443/services/collector"


@pytest.mark.parametrize("field", ["ingest_url", "ingest_url_key"])
def test_a_query_on_the_url_is_refused_and_its_value_never_shown(field: str) -> None:
    secret = "0123456789abcdefSECRET"
    url = f"https://abc123.ingest.us-1.crowdstrike.com/services/collector?token={secret}"
    with pytest.raises(ConfigError) as err:
        IngestConfig("k" * 32, **{field: url})
    text = str(err.value)
    assert secret not in text and "'token'" in text and "Authorization header" in text
    assert "api_key=" in text
    with pytest.raises(ConfigError, match=r"query \('channel'\), which hecnb does not send"):
        IngestConfig("k" * 32, ingest_url="https://abc123.ingest.us-1.crowdstrike.com"
                                         "/services/collector?channel=42")
