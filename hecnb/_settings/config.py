"""IngestConfig: regions, formats, time units, URL building and environment loading.

Everything a user can get wrong about *where* and *how* to send is checked here, on creation and on
every change, so that a mistake is a :class:`ConfigError` before a single request goes out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from .._errors import ConfigError
from .declared import ConfigSettings, Keeps, by_keyword, check_keywords, keywords_of
from .names import (
    CONTENT_TYPES,
    REGIONS,
    IngestFormat,
    TimeUnit,
    _words,
    normalize_region,
)
from .secret import WITHHELD, KeyAuth, Secret, SecretHeaders, key_problem, mask_secret
from .url import _BASE_HOST, _PROXY_HTTP, _URL_KEY, _parse_ingest_url, _parse_proxy, _show_proxy


class IngestConfig(ConfigSettings, Keeps):
    """Where and how events are sent: key, URL, format, time unit, timeout, raw mode, limits.

    Mutable like FalconPy's ``IngestConfig``; every setter validates. ``repr`` masks the key.
    Its settings are declared in :mod:`hecnb._settings.declared` (``ConfigSettings``): the plain
    ones are kept there; the key, the destination and the proxy, which depend on each other,
    by the properties below.

    >>> cfg = IngestConfig(api_key="k" * 32, api_url_key="abc123", ingest_region="eu-1")
    >>> cfg.ingest_url
    'https://abc123.ingest.eu-1.crowdstrike.com/services/collector'
    """

    def __init__(
        self,
        ingest_key: str | None = None,
        ingest_url_key: str | None = None,
        ingest_format: str | IngestFormat | None = None,
        ingest_region: str | None = None,
        ingest_timeout: float | str | None = None,
        ingest_timeunit: str | TimeUnit | None = None,
        raw_ingest: bool | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> None:
        """FalconPy's positional arguments, then any other setting of ``ConfigSettings`` by
        its keyword (``ingest_url``, ``proxy``, ``batch_max_bytes``...). Every argument may be
        None for its default; the key, URL key, region and URL then come from the ``NGSIEM_*``
        environment variables when set."""
        outside = [k for k in settings if k in keywords_of() and k not in keywords_of(
            ConfigSettings)]
        if outside:
            raise ConfigError(f"IngestConfig() takes where-and-how settings only; "
                              f"{outside[0]!r} belongs to HEC().")
        check_keywords(settings, "IngestConfig()", keywords_of(ConfigSettings))
        declared = by_keyword()
        env = os.environ if environ is None else environ
        given = {"ingest_format": ingest_format, "ingest_timeout": ingest_timeout,
                 "ingest_timeunit": ingest_timeunit, "raw_ingest": raw_ingest, **settings}
        if ingest_key is None:
            ingest_key = given.pop("api_key", None)
        if ingest_url_key is None:
            ingest_url_key = given.pop("api_url_key", None)
        self._values: dict[str, Any] = {}
        self._allow_insecure_http = bool(given.pop("allow_insecure_http", None))
        self._explicit_url: tuple[str, str, str] | None = None
        self._base_host: str | None = None
        self._url_key: str | None = None
        self._proxy: str | Secret | bool | None = None
        self.ingest_key = ingest_key if ingest_key is not None else env.get("NGSIEM_API_KEY")
        self.ingest_region = (ingest_region if ingest_region is not None
                              else env.get("NGSIEM_REGION") or "us1")
        url = given.pop("ingest_url", None)
        url = url if url is not None else env.get("NGSIEM_INGEST_URL")
        url_key = ingest_url_key if ingest_url_key is not None else env.get("NGSIEM_URL_KEY")
        if url_key:
            self.ingest_url_key = url_key
        if url:  # the full URL wins over (url key, region)
            self.set_ingest_url(url)
        proxy = given.pop("proxy", None)
        for s in declared.values():  # the plain settings, each checked (None: its default)
            if s.owner == "ConfigSettings" and not s.custom:
                setattr(self, s.name, given.get(s.keyword))
        self.proxy = proxy

    # -- key -------------------------------------------------------------------------------
    @property
    def ingest_key(self) -> str | None:
        """The API key (shown once by the console). Never printed by hecnb.

        Kept as a :class:`~hecnb._settings.secret.Secret`, so ``vars()``, ``repr`` and ``pickle`` of
        the configuration never show it; reading this property gives the real key.
        """
        return self._ingest_key.reveal() if self._ingest_key else None

    @ingest_key.setter
    def ingest_key(self, value: str | None) -> None:
        if value is None:
            self._ingest_key: Secret | None = None
            return
        if not isinstance(value, str):
            raise ConfigError(f"api_key must be a string, not {type(value).__name__}.")
        key = value.strip()
        if not key:
            raise ConfigError(
                "api_key is empty: pass the API key the Falcon console showed when the HEC "
                "connector was created, or set NGSIEM_API_KEY."
            )
        problem = key_problem(key)
        if problem:
            raise ConfigError(problem)
        self._ingest_key = Secret(key)

    def require_key(self) -> str:
        """The key, or a ConfigError that says how to provide one."""
        if self._ingest_key is WITHHELD:
            raise ConfigError(
                "No API key: this IngestConfig was unpickled, and the key is never pickled. "
                "Set ingest_key again (or NGSIEM_API_KEY) in this process."
            )
        if not self._ingest_key:
            raise ConfigError(
                "No API key: pass api_key=... or set the NGSIEM_API_KEY environment variable "
                "(the key the Falcon console showed when the HEC connector was created)."
            )
        return self._ingest_key.reveal()

    def auth(self) -> KeyAuth:
        """What writes the ``Authorization`` header into each request (the key stays inside)."""
        self.require_key()
        assert self._ingest_key is not None
        return KeyAuth(self.auth_scheme, self._ingest_key)

    def secrets(self) -> tuple[Secret, ...]:
        """The secrets to remove from anything a server sends back: the key, a proxy's URL."""
        found = [s for s in (self._ingest_key, self._proxy) if isinstance(s, Secret) and s]
        if isinstance(self._proxy, Secret):  # its password alone, too
            password = httpx.URL(self._proxy.reveal()).password
            if password:
                found.append(Secret(password))
        return tuple(found)

    # -- where -----------------------------------------------------------------------------
    @property
    def ingest_region(self) -> str:
        """Normalised region keyword (``us1`` ... ``usgov2``)."""
        return self._region

    @ingest_region.setter
    def ingest_region(self, value: str | None) -> None:
        self._region = normalize_region("us1" if value is None else value)
        self._base_host = None

    @property
    def ingest_base_url(self) -> str:
        """Ingest host for the region; may be set to a region keyword or to a host name."""
        return self._base_host or REGIONS[self._region]

    @ingest_base_url.setter
    def ingest_base_url(self, value: str) -> None:
        try:
            self.ingest_region = value
        except ConfigError:
            host = str(value).strip().removeprefix("https://").rstrip("/")
            if not _BASE_HOST.match(host):
                # anything else could change which host the key goes to: 'a@b' is user 'a'
                # at host 'b' once it is part of a URL
                raise ConfigError(
                    f"ingest_base_url must be a region ({_words(REGIONS)}) or a host name such as "
                    f"'ingest.us-1.crowdstrike.com' (letters, digits, '-', '_' and dots, an "
                    f"optional :port); got {value!r}."
                ) from None
            self._base_host = host
        self._explicit_url = None

    @property
    def ingest_url_key(self) -> str | None:
        """The URL key: the first label of the connector's API URL host."""
        return self._url_key

    @ingest_url_key.setter
    def ingest_url_key(self, value: str | None) -> None:
        if value is None:
            self._url_key = None
            return
        text = str(value).strip()
        if "://" in text:  # the whole API URL was pasted where the key was expected
            try:
                self.set_ingest_url(text)
            except ConfigError as exc:
                shown = text.split("?", 1)[0] + ("?..." if "?" in text else "")  # no query
                raise ConfigError(f"api_url_key {shown!r} is a URL, but not an HEC API URL: "
                                  f"{exc}") from None
            self._url_key = httpx.URL(text).host.split(".")[0]
            return
        if not _URL_KEY.match(text):
            raise ConfigError(
                f"api_url_key {text!r} is not a URL key: it is the first part of the API URL's "
                "host (e.g. 'a1b2c3d4' in https://a1b2c3d4.ingest.us-1.crowdstrike.com/...), so "
                "it may hold only letters, digits, '-' and '_' (a character such as '@', ':' or "
                "'/' would make the URL point the API key at another host). Pass the whole URL "
                "as ingest_url= if you have it."
            )
        self._url_key = text
        self._explicit_url = None

    def set_ingest_url(self, value: str) -> None:
        """Use the full API URL the console shows; it wins over the URL key and region."""
        parsed = _parse_ingest_url(value, allow_insecure_http=self._allow_insecure_http)
        if parsed[0].startswith("http:") and isinstance(self._proxy, (str, Secret)):
            raise ConfigError(_PROXY_HTTP)
        self._explicit_url = parsed

    @property
    def ingest_url(self) -> str:  # type: ignore[override]  # read-only, as declared
        """The event endpoint URL."""
        if self._explicit_url:
            return self._explicit_url[0]
        if not self._url_key:
            raise ConfigError(
                "No destination: pass api_url_key= (and ingest_region=) or the full API URL as "
                "ingest_url=, or set NGSIEM_URL_KEY / NGSIEM_INGEST_URL."
            )
        url = f"https://{self._url_key}.{self.ingest_base_url}/services/collector"
        host = f"{self._url_key}.{self.ingest_base_url}".rsplit(":", 1)[0]
        if httpx.URL(url).host != host.lower():  # never: the parts were checked when set
            raise ConfigError(f"URL key and base URL do not make one host name: {url!r}.")
        return url

    @property
    def raw_ingest_url(self) -> str:
        """The raw endpoint URL (one event per line)."""
        if self._explicit_url:
            return self._explicit_url[1]
        return self.ingest_url + "/raw"

    @property
    def target_url(self) -> str:
        """The URL requests go to: raw or event endpoint, per ``raw_ingest``."""
        return self.raw_ingest_url if self.raw_ingest else self.ingest_url

    # -- how -------------------------------------------------------------------------------
    @property
    def content_type(self) -> str:
        """The Content-Type header for the format."""
        return CONTENT_TYPES[self.ingest_format]

    @property
    def proxy(self) -> str | bool | None:
        """The proxy for ``https://`` targets: None uses the environment (``HTTPS_PROXY``,
        ``ALL_PROXY``, ``NO_PROXY``), False uses none, a URL uses that proxy. An ``http://``
        target never goes through a proxy (the key would travel in clear to it)."""
        if isinstance(self._proxy, Secret):  # an unpickled one carries nothing: no proxy set
            return self._proxy.reveal() or None
        return self._proxy

    @proxy.setter
    def proxy(self, value: str | bool | None) -> None:
        parsed = _parse_proxy(value)
        if isinstance(parsed, (str, Secret)) and self._explicit_url and (
                self._explicit_url[0].startswith("http:")):
            raise ConfigError(_PROXY_HTTP)
        self._proxy = parsed

    @property
    def proxy_setting(self) -> str | Secret | bool | None:
        """The proxy as kept: a URL with a password stays a Secret (it pickles to nothing, so
        the password never travels to another process)."""
        return self._proxy

    def destination(self) -> dict[str, Any]:
        """``ingest_url``, ``api_url_key`` and ``ingest_region`` as keywords that make the same
        destination again ("" keeps the ``NGSIEM_*`` environment from filling a gap)."""
        if self._explicit_url:
            return {"ingest_url": self._explicit_url[0], "api_url_key": "",
                    "ingest_region": self._region}
        return {"ingest_url": "", "api_url_key": self._url_key or "",
                "ingest_region": self._region}

    @property
    def proxy_shown(self) -> str | bool | None:
        """The proxy setting, its password masked."""
        return _show_proxy(self._proxy)

    @property
    def allow_insecure_http(self) -> bool:  # type: ignore[override]  # read-only, as declared
        """Whether ``http://`` to a non-loopback host was explicitly allowed."""
        return self._allow_insecure_http

    def headers(self) -> dict[str, str]:
        """The real request headers (with the key); their printed form masks it."""
        self.require_key()
        assert self._ingest_key is not None
        return SecretHeaders({"Authorization": self._ingest_key.header(self.auth_scheme),
                              "Content-Type": self.content_type})

    def describe(self) -> dict[str, Any]:
        """A dict of the configuration safe to show: the key is masked."""
        try:
            url = self.target_url
        except ConfigError:
            url = None
        return {
            "url": url,
            "region": None if self._explicit_url else self._region,
            "api_key": mask_secret(self.ingest_key),
            "format": self.ingest_format,
            "raw_ingest": self.raw_ingest,
            "timeunit": self.ingest_timeunit,
            "timeout": self.ingest_timeout,
            "auth_scheme": self.auth_scheme,
            "batch_max_bytes": self.batch_max_bytes,
            "batch_max_events": self.batch_max_events,
            "compress": self.compress,
            "verify": self.verify if isinstance(self.verify, (bool, str)) else "custom",
            "proxy": self.proxy_shown,
        }

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"IngestConfig({items})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IngestConfig):
            return NotImplemented
        return (self.describe(), self._ingest_key) == (other.describe(), other._ingest_key)

    __hash__ = None  # type: ignore[assignment]  # mutable
