"""Where requests go: the API URL the console shows, a URL key, a base host, a proxy, each checked
so that the key can only ever travel to the host the user meant (and never in clear to a proxy).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import httpx

from .._errors import ConfigError
from .secret import Secret

_EVENT_PATH = re.compile(
    r"^(?P<base>(/api/ingest/hec/[^/]+/v1)?/services/collector)(/event)?(?P<raw>/raw)?$"
    r"|^(?P<base2>/api/v1/ingest/hec)(?P<raw2>/raw)?$"
)


#: One DNS label: letters, digits, '-' and '_' (DNS allows '_'; FalconPy's tests use one).
#: Nothing that could end the host part of a URL (``@ : / ? #``) or add a label (``.``).
_URL_KEY = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"


#: A host name for ``ingest_base_url``: DNS labels joined by dots, with an optional port.
_BASE_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?$")


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_SECRET_NAMES = re.compile(r"token|key|auth|pass|secret|signature|sig\b", re.IGNORECASE)


def _refuse_query(text: str) -> None:
    """A query on the URL (``?token=...``) would be dropped: say so, naming the parameters
    but never their values (one may be the key)."""
    if "?" not in text:
        return
    query = text.split("?", 1)[1].split("#", 1)[0]
    names = [part.split("=", 1)[0] for part in query.split("&") if part]
    shown = ", ".join(repr(n[:40]) for n in names[:5]) or "an empty query"
    if any(_SECRET_NAMES.search(n) for n in names):
        raise ConfigError(
            f"ingest_url has a query ({shown}) that looks like a key: hecnb sends the key only "
            "in the Authorization header, never in a URL (URLs end up in logs and proxies). "
            "Pass the key as api_key= (or NGSIEM_API_KEY) and the URL without the part from "
            "'?' on.")
    raise ConfigError(
        f"ingest_url has a query ({shown}), which hecnb does not send: give the API URL "
        "without the part from '?' on.")


def _parse_ingest_url(value: str, *, allow_insecure_http: bool) -> tuple[str, str, str]:
    """Return ``(event_url, raw_url, host)`` from the API URL the console shows."""
    text = value.strip()
    _refuse_query(text)
    if "://" not in text:
        raise ConfigError(
            f"ingest_url {text!r} has no scheme: paste the whole API URL from the Falcon console, "
            "e.g. 'https://<url-key>.ingest.us-1.crowdstrike.com/services/collector'."
        )
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ConfigError(f"ingest_url {text!r} is not a valid URL ({exc}).") from None
    if url.scheme not in ("http", "https"):
        raise ConfigError(f"ingest_url must start with https:// (got scheme {url.scheme!r}).")
    if not url.host:
        raise ConfigError(f"ingest_url {text!r} has no host name.")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ConfigError(
            f"ingest_url {text!r} uses plain http:// to a host that is not this machine: the API "
            "key would cross the network in clear text. Use https://, or pass "
            "allow_insecure_http=True if you really mean it (e.g. a lab receiver)."
        )
    if url.userinfo:
        raise ConfigError("ingest_url must not contain a user name or password; use api_key=.")
    path = url.path.rstrip("/")
    if path == "":
        path = "/services/collector"
    match = _EVENT_PATH.match(path)
    if not match:
        raise ConfigError(
            f"ingest_url path {url.path!r} is not an HEC endpoint: expected /services/collector "
            "(or /services/collector/raw, /api/v1/ingest/hec). Check the URL for a typo."
        )
    base = match.group("base") or match.group("base2")
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    event_url = origin + path.removesuffix("/raw")
    if event_url.endswith("/services/collector/event"):
        raw_url = event_url.removesuffix("/event") + "/raw"
    else:
        raw_url = origin + base + "/raw"
    return event_url, raw_url, url.host


_PROXY_HTTP = (
    "proxy= is only used for https:// targets: through a proxy, an http:// request would show "
    "the API key to the proxy in clear text. Use the https:// URL, or leave proxy= unset "
    "(http:// targets are always reached directly).")


def _parse_proxy(value: Any) -> str | Secret | bool | None:
    """None/'' (the environment), False (none) or a proxy URL; a URL with a password is kept
    as a Secret."""
    if value is None or value is True:
        return None
    if isinstance(value, Secret):  # a proxy URL with a password, as settings() gives it
        value = value.reveal()
        if not value:  # unpickled in another process: the password stayed home
            return None
    if value is False:
        return False
    if not isinstance(value, str):
        raise ConfigError(f"proxy must be a URL such as 'http://proxy.example:3128', None or "
                          f"False; got {type(value).__name__}.")
    text = value.strip()
    if not text:
        return None
    try:
        url = httpx.URL(text if "://" in text else "http://" + text)
    except (httpx.InvalidURL, ValueError):
        raise ConfigError(f"proxy {_show_proxy(text)!r} is not a valid URL.") from None
    if url.scheme not in ("http", "https"):
        raise ConfigError(f"proxy must be an http:// or https:// proxy URL (got scheme "
                          f"{url.scheme!r}).")
    if not url.host:
        raise ConfigError(f"proxy {_show_proxy(text)!r} has no host name.")
    text = str(url)
    return Secret(text) if url.password else text


def _show_proxy(value: str | Secret | bool | None) -> str | bool | None:
    """A proxy setting safe to show: any password in it masked."""
    if isinstance(value, Secret):
        value = value.reveal()
    if isinstance(value, str):
        return re.sub(r"//[^/@]*@", lambda m: "//" + m.group(0)[2:].split(":")[0] + ":****@"
                      if ":" in m.group(0) else m.group(0), value)
    return value


def url_key_of(url: str) -> str | None:
    """``https://abc.ingest.us-1.crowdstrike.com/...`` -> ``'abc'``; None for other hosts."""
    from .names import REGIONS

    host = httpx.URL(url).host
    label, _, rest = host.partition(".")
    return label if rest in REGIONS.values() else None
