"""Reasons in words: what became of a request, said so that a user can act on it, and the fixed
words of the outcomes (not sent, interrupted, stopped) that group failures in a report.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpx

from .._settings.secret import Secret, untrusted


def is_delivered(status: int | None) -> bool:
    """True for any 2xx (what "delivered" means, everywhere): the collector took the request
    (201, 202 and 204 included)."""
    return status is not None and 200 <= status < 300


INTERRUPTED = "interrupted before the collector confirmed it"


NOT_SENT = "interrupted before it was sent"


#: The reason of every event a permanent failure kept from being sent: STOPPED + that failure.
STOPPED = "not sent: stopped after "


MAYBE_RECEIVED = " (the collector may have received it)"


_STATUS_HINTS = {
    400: "the collector rejected the data as invalid",
    401: "the API key is missing or malformed",
    403: "the API key is not valid for this connector",
    404: "no HEC endpoint at this URL: check the URL key, region and path",
    405: "this URL does not accept POST: check the path",
    407: "the proxy asks for a user name and password: put them in the proxy URL",
    408: "the collector timed out reading the request",
    410: "this endpoint no longer exists: check the URL",
    411: "the collector wants a Content-Length it did not get",
    413: "the request is larger than the collector accepts",
    415: "the collector does not accept this content type: check ingest_format",
    429: "the collector is rate limiting this connector",
    500: "the collector had an internal error",
    502: "a gateway in front of the collector failed",
    503: "the collector is busy",
    504: "a gateway in front of the collector timed out",
}


def describe_status(status: int, hec_code: int | None, text: str,
                    location: str | None = None) -> str:
    """A stable, readable reason for an HTTP error answer (used to group failures).

    ``text`` and ``location`` must already have passed :func:`~hecnb._settings.secret.untrusted`.
    """
    if 300 <= status < 400:
        where = f" to {location}" if location else ""
        hint = (f"the collector redirected the request{where}; hecnb does not follow redirects "
                "(the API key would go along): use the collector's own URL")
    else:
        hint = _STATUS_HINTS.get(status, "unexpected answer")
    detail = f": {text}" if text else ""
    code = f", code {hec_code}" if hec_code is not None else ""
    return f"HTTP {status} ({hint}{code}){detail}"


# what OpenSSL says when the other side answered a TLS hello in plain text (a plain-http port)
_PLAIN_HTTP = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE",
               "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL", "UNEXPECTED_RECORD")


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


def _transport_failure(exc: BaseException, url: str, timeout: float,
                       secrets: Iterable[Secret] = ()) -> tuple[str, bool]:
    """``(reason a user can act on, permanent?)`` for a request that got no HTTP answer.

    Exception texts can quote what the server sent, so they pass through ``untrusted``.
    Permanent: a certificate that does not verify, or a plain-http port spoken to in TLS
    (no retry, and no other batch can do better).
    """
    u = httpx.URL(url)
    host = u.host
    chain = _chain(exc)
    text = untrusted(" ".join(str(e) for e in chain), secrets, limit=2000).lower()
    if isinstance(exc, httpx.TimeoutException):
        phase = ("connecting" if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                 else "sending the request" if isinstance(exc, httpx.WriteTimeout)
                 else "waiting for the answer")
        return describe_timeout(host, timeout, phase), False
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or (
            "certificate verify failed" in text):
        return (f"TLS: the certificate of {host} could not be verified; behind a TLS-inspecting "
                "proxy pass verify='/path/to/corporate-ca.pem'"), True
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        what = untrusted(getattr(tls, "reason", None) or getattr(tls, "strerror", None)
                         or str(tls) or type(tls).__name__, secrets)
        where = f"{host}:{u.port}" if u.port else host
        if any(mark.lower() in text or mark in what for mark in _PLAIN_HTTP):
            return (f"TLS: the secure connection to {where} failed ({what}): the port may serve "
                    "plain http, not https; check the port, or use an http:// URL if it is this "
                    "machine"), True
        return f"TLS: the secure connection to {where} failed ({what})", False
    if ("name or service not known" in text or "nodename nor servname" in text
            or "getaddrinfo failed" in text or "temporary failure in name resolution" in text
            or "no address associated" in text or "[errno -2]" in text or "[errno -3]" in text
            or "[errno -5]" in text or "[errno 8]" in text):
        return (f"DNS: cannot resolve {host}; check the URL key and region (or the API URL) "
                "and your DNS/proxy settings"), False
    if "refused" in text or any(isinstance(e, ConnectionRefusedError) for e in chain):
        return (f"connection refused by {host}: nothing is listening at that address and port",
                False)
    if isinstance(exc, httpx.ProxyError):
        return f"proxy error on the way to {host}: {untrusted(str(exc), secrets)}", False
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return f"connection to {host} dropped before an answer arrived", False
    return (f"network error talking to {host}: {type(exc).__name__}: "
            f"{untrusted(str(exc), secrets)}"), False


def describe_transport_error(exc: BaseException, url: str, timeout: float,
                             secrets: Iterable[Secret] = ()) -> str:
    """A reason a user can act on for a request that got no HTTP answer."""
    return _transport_failure(exc, url, timeout, secrets)[0]


def describe_timeout(host: str, timeout: float, phase: str) -> str:
    """The reason for an attempt the deadline (``ingest_timeout``) cut."""
    return (f"timeout: no complete answer within ingest_timeout={timeout:g} s (cut while "
            f"{phase}, {host}); check proxies and firewalls or raise ingest_timeout")
