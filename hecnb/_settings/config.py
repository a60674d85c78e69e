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
from .names import (
    _AUTH_SCHEMES,
    CONTENT_TYPES,
    DEFAULT_BATCH_MAX_BYTES,
    DEFAULT_TIMEOUT,
    MAX_REQUEST_BYTES,
    REGIONS,
    IngestFormat,
    TimeUnit,
    _positive_number,
    _words,
    normalize_format,
    normalize_region,
    normalize_timeunit,
)
from .secret import WITHHELD, KeyAuth, Secret, SecretHeaders, key_problem, mask_secret
from .url import _BASE_HOST, _PROXY_HTTP, _URL_KEY, _parse_ingest_url, _parse_proxy, _show_proxy


class IngestConfig:
    """Where and how events are sent: key, URL, format, time unit, timeout, raw mode, limits.

    Mutable like FalconPy's ``IngestConfig``; every setter validates. ``repr`` masks the key.

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
        ingest_url: str | None = None,
        auth_scheme: str | None = None,
        batch_max_bytes: int | None = None,
        batch_max_events: int | None = None,
        compress: bool | None = None,
        verify: Any = None,
        allow_insecure_http: bool | None = None,
        environ: Mapping[str, str] | None = None,
        proxy: str | bool | None = None,
    ) -> None:
        """Every argument may be None for its default (FalconPy's defaults: json, us1, 5 s,
        nanoseconds, not raw); the key, URL key, region and URL then come from the
        ``NGSIEM_*`` environment variables when set."""
        env = os.environ if environ is None else environ
        self._allow_insecure_http = bool(allow_insecure_http)
        self._explicit_url: tuple[str, str, str] | None = None
        self._base_host: str | None = None
        self._url_key: str | None = None
        self._proxy: str | Secret | bool | None = None
        self.ingest_key = ingest_key if ingest_key is not None else env.get("NGSIEM_API_KEY")
        self.ingest_region = (ingest_region if ingest_region is not None
                              else env.get("NGSIEM_REGION") or "us1")
        url = ingest_url if ingest_url is not None else env.get("NGSIEM_INGEST_URL")
        url_key = ingest_url_key if ingest_url_key is not None else env.get("NGSIEM_URL_KEY")
        if url_key:
            self.ingest_url_key = url_key
        if url:  # the full URL wins over (url key, region)
            self.set_ingest_url(url)
        self.ingest_format = ingest_format
        self.ingest_timeout = ingest_timeout
        self.ingest_timeunit = ingest_timeunit
        self.raw_ingest = raw_ingest
        self.auth_scheme = auth_scheme
        self.batch_max_bytes = batch_max_bytes
        self.batch_max_events = batch_max_events
        self.compress = compress
        self.verify = verify
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
        return KeyAuth(self._auth_scheme, self._ingest_key)

    def secrets(self) -> tuple[Secret, ...]:
        """The secrets to remove from anything a server sends back: the key, a proxy's URL."""
        found = [s for s in (self._ingest_key, self._proxy) if isinstance(s, Secret) and s]
        if isinstance(self._proxy, Secret):  # its password alone, too
            password = httpx.URL(self._proxy.reveal()).password
            if password:
                found.append(Secret(password))
        return tuple(found)

    @property
    def auth_scheme(self) -> str:
        """``'Bearer'`` (NG-SIEM) or ``'Splunk'`` (Splunk, Fluent Bit and Cribl receivers)."""
        return self._auth_scheme

    @auth_scheme.setter
    def auth_scheme(self, value: str | None) -> None:
        scheme = _AUTH_SCHEMES.get(str(value or "bearer").strip().lower())
        if scheme is None:
            raise ConfigError(f"auth_scheme must be 'Bearer' or 'Splunk'; got {value!r}.")
        self._auth_scheme = scheme

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
    def ingest_url(self) -> str:
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
    def ingest_format(self) -> str:
        """Short format name: ``json``, ``yaml``, ``xml`` or ``csv``."""
        return self._format

    @ingest_format.setter
    def ingest_format(self, value: str | IngestFormat | None) -> None:
        self._format = "json" if value is None else normalize_format(value)

    @property
    def content_type(self) -> str:
        """The Content-Type header for the format."""
        return CONTENT_TYPES[self._format]

    @property
    def ingest_timeunit(self) -> str:
        """``nanoseconds``, ``milliseconds`` or ``seconds``: the unit of generated timestamps."""
        return self._timeunit

    @ingest_timeunit.setter
    def ingest_timeunit(self, value: str | TimeUnit | None) -> None:
        self._timeunit = "nanoseconds" if value is None else normalize_timeunit(value)

    @property
    def ingest_timeout(self) -> float:
        """Seconds one attempt of a request may take in all: connect, upload and answer
        together (a deadline, not a limit per read)."""
        return self._timeout

    @ingest_timeout.setter
    def ingest_timeout(self, value: float | str | None) -> None:
        if value is None:
            self._timeout = DEFAULT_TIMEOUT
            return
        number = _positive_number("ingest_timeout", value, maximum=3600,
                                  hint=f" (None means the default, {DEFAULT_TIMEOUT} seconds)")
        self._timeout = int(number) if float(number).is_integer() else number

    @property
    def raw_ingest(self) -> bool:
        """Send to the raw endpoint (one event per line, no envelope)."""
        return self._raw

    @raw_ingest.setter
    def raw_ingest(self, value: bool | None) -> None:
        if value is None:
            value = False
        if not isinstance(value, bool):
            raise ConfigError(f"raw_ingest must be True or False; got {value!r}.")
        self._raw = value

    @property
    def batch_max_bytes(self) -> int:
        """Most bytes in one request body before compression."""
        return self._batch_max_bytes

    @batch_max_bytes.setter
    def batch_max_bytes(self, value: int | None) -> None:
        if value is None:
            value = DEFAULT_BATCH_MAX_BYTES
        self._batch_max_bytes = _positive_number(
            "batch_max_bytes", value, integer=True, maximum=MAX_REQUEST_BYTES
        )

    @property
    def batch_max_events(self) -> int | None:
        """Most events in one request (None: only the byte limit applies)."""
        return self._batch_max_events

    @batch_max_events.setter
    def batch_max_events(self, value: int | None) -> None:
        self._batch_max_events = (
            None if value is None else _positive_number("batch_max_events", value, integer=True)
        )

    @property
    def compress(self) -> bool:
        """gzip request bodies (the size limits apply before compression)."""
        return self._compress

    @compress.setter
    def compress(self, value: bool | None) -> None:
        if value is None:
            value = True
        if not isinstance(value, bool):
            raise ConfigError(f"compress must be True or False; got {value!r}.")
        self._compress = value

    @property
    def verify(self) -> Any:
        """TLS verification: True, False, a CA bundle path, or an ``ssl.SSLContext``."""
        return self._verify

    @verify.setter
    def verify(self, value: Any) -> None:
        if value is None:
            value = True
        if isinstance(value, str) and not os.path.exists(value):
            raise ConfigError(f"verify={value!r}: no CA bundle at that path.")
        self._verify = value

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
    def proxy_shown(self) -> str | bool | None:
        """The proxy setting, its password masked."""
        return _show_proxy(self._proxy)

    @property
    def allow_insecure_http(self) -> bool:
        """Whether ``http://`` to a non-loopback host was explicitly allowed."""
        return self._allow_insecure_http

    def headers(self) -> dict[str, str]:
        """The real request headers (with the key); their printed form masks it."""
        self.require_key()
        assert self._ingest_key is not None
        return SecretHeaders({"Authorization": self._ingest_key.header(self._auth_scheme),
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
            "format": self._format,
            "raw_ingest": self._raw,
            "timeunit": self._timeunit,
            "timeout": self._timeout,
            "auth_scheme": self._auth_scheme,
            "batch_max_bytes": self._batch_max_bytes,
            "batch_max_events": self._batch_max_events,
            "compress": self._compress,
            "verify": self._verify if isinstance(self._verify, (bool, str)) else "custom",
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
