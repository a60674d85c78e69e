"""The API key as an object that never shows itself, and the one gate for text from a server.

:class:`Secret` holds the key. Its ``repr``/``str`` show ``'****'`` plus at most the last four
characters, ``pickle`` never carries it (an unpickled one is :data:`WITHHELD`), and its value is
read in one place only: :class:`KeyAuth`, while httpx writes the ``Authorization`` header of a
request. :class:`SecretHeaders` is a header mapping with the real values whose printed form
masks the key, so neither a frame local nor an attribute holds the key in a printable form.

Everything that comes from the other side (answer bodies, header values such as ``Location``,
exception texts that quote a server's bytes) is untrusted: :func:`untrusted` is the one function
it passes through before hecnb keeps, logs or shows any of it. It removes the key in the forms a
server may echo it (as is, as the ``Authorization`` value, base64 at any alignment, URL-encoded,
JSON-escaped), turns control characters into spaces (no terminal escapes, one line), and caps
the length. It cannot undo a deliberate disguise (the key reversed, say), which is why answers
are also read bounded and kept short.
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
import threading
import urllib.parse
import weakref
from collections.abc import Generator, Iterable
from typing import Any

import httpx

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_TEXT",
    "WITHHELD",
    "KeyAuth",
    "Secret",
    "SecretHeaders",
    "guard_logs",
    "key_problem",
    "mask_secret",
    "untrusted",
]

#: The most of an answer body hecnb reads; the rest is never read (the connection is closed).
MAX_ANSWER_BYTES = 64 * 1024
#: The most characters of server text kept in a reason, a message or a log line.
MAX_TEXT = 300
_SHORTEST_FORM = 8  # encoded forms shorter than this would match ordinary text
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")


def mask_secret(secret: str | None) -> str:
    """Show a secret as ``'****'`` plus at most its last four characters (none if it is short)."""
    if not secret:
        return "<not set>"
    return "****" + (secret[-4:] if len(secret) >= 12 else "")


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot go into an ``Authorization`` header, naming the position, never the
    key; None when it can. Only visible ASCII is allowed: a curly quote or a zero-width space
    pasted with the key would otherwise fail every request (and the encoding error would quote
    the whole header)."""
    for i, ch in enumerate(key):
        if " " < ch <= "~":
            continue
        if ch.isspace():
            what = "a space or line break"
        elif not ch.isascii() and ch.isprintable():
            what = f"a non-ASCII character (U+{ord(ch):04X})"
        else:
            what = f"an invisible control character (U+{ord(ch):04X})"
        return (f"api_key has {what} at position {i + 1} of {len(key)}: an API key is plain "
                "ASCII letters, digits and punctuation, with no spaces. Paste only the key "
                "itself (a quote or space copied along with it is the usual cause).")
    return None


class Secret:
    """A secret string that does not show itself; ``reveal()`` is the only way to read it.

    ``repr`` and ``str`` give ``Secret('****abcd')``/``'****abcd'``; ``copy`` and ``deepcopy``
    share it (it is immutable); ``pickle`` stores nothing of it and loads as :data:`WITHHELD`
    (falsy, no value), so a pickled configuration never carries the key to a file or another
    process.
    """

    __slots__ = ("__weakref__", "_forms", "_headers", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._forms: tuple[tuple[str, str], ...] | None = None
        self._headers: dict[str, str] = {}

    def reveal(self) -> str:
        """The secret itself: only for the place that must send it."""
        return self._value

    def header(self, scheme: str) -> str:
        """The ``Authorization`` value ``'<scheme> <secret>'`` (made once per scheme)."""
        value = self._headers.get(scheme)
        if value is None:
            value = self._headers[scheme] = f"{scheme} {self._value}"
        return value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({mask_secret(self._value)!r})" if self._value else "Secret(<withheld>)"

    def __str__(self) -> str:
        return mask_secret(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _withheld, ()

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    # -- what a server may echo ------------------------------------------------------------
    def forms(self) -> tuple[tuple[str, str], ...]:
        """``(text, replacement)`` for every form of the secret to remove from server text."""
        if self._forms is None:
            self._forms = _forms(self._value) if self._value else ()
        return self._forms


def _withheld() -> Secret:
    return WITHHELD


#: What an unpickled :class:`Secret` becomes: no value.
WITHHELD = Secret.__new__(Secret)
WITHHELD._value, WITHHELD._forms, WITHHELD._headers = "", (), {}


def _forms(value: str) -> tuple[tuple[str, str], ...]:
    shown = mask_secret(value)
    found: dict[str, str] = {value: shown}
    raw = value.encode("utf-8")
    for k in (0, 1, 2):  # base64 of any text that contains the key: one of three alignments
        std = base64.b64encode(b"\0" * k + raw).decode("ascii")
        start, stop = -(-8 * k // 6), (8 * (k + len(raw))) // 6
        core = std[start:stop]
        if len(core) >= _SHORTEST_FORM:
            found.setdefault(core, "****")
            found.setdefault(core.replace("+", "-").replace("/", "_"), "****")  # URL-safe
    for encoded in (urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
                    value.replace("/", "\\/"), value.replace("\\", "\\\\").replace('"', '\\"')):
        if len(encoded) >= _SHORTEST_FORM:
            found.setdefault(encoded, shown)
    # longest first, so that a form inside another is not replaced first
    return tuple(sorted(found.items(), key=lambda item: -len(item[0])))


def _redact(text: str, secrets: Iterable[Secret | None], truncated: bool) -> str:
    for secret in secrets:
        if not secret:
            continue
        for form, shown in secret.forms():
            if form in text:
                text = text.replace(form, shown)
        if truncated:  # the read stopped inside the text: the key may be cut at its end
            for form, shown in secret.forms():
                for n in range(len(form) - 1, _SHORTEST_FORM - 1, -1):
                    if text.endswith(form[:n]):
                        text = text[:-n] + shown
                        break
    return text


def untrusted(data: bytes | str | None, secrets: Iterable[Secret | None] = (), *,
              limit: int = MAX_TEXT, truncated: bool = False) -> str:
    """Server text made safe to keep: the secrets removed, one line, at most ``limit`` chars.

    The one function every piece of text from the other side passes through (answer texts,
    ``Location`` headers, exception messages that quote a server's bytes). ``truncated`` says
    the text was cut by a bounded read, so a secret may be cut at its end too.
    """
    if not data:
        return ""
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else str(data)
    text = _redact(text, secrets, truncated)
    if not text.isprintable():
        text = _CONTROL.sub(" ", text)
    text = text.strip()
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "\u2026"
    return text


class SecretHeaders(dict):  # type: ignore[type-arg]
    """Request headers with their real values; printing them shows the key masked."""

    def __repr__(self) -> str:
        shown = {k: (_mask_auth(v) if k.lower() in _SENSITIVE else v) for k, v in self.items()}
        return repr(shown)

    __str__ = __repr__


_SENSITIVE = frozenset({"authorization", "proxy-authorization"})


def _mask_auth(value: str, *, last4: bool = True) -> str:
    scheme, _, key = str(value).partition(" ")
    return f"{scheme} {mask_secret(key) if last4 else '****'}"


class KeyAuth(httpx.Auth):
    """Writes ``Authorization: <scheme> <key>`` into each request as httpx sends it: the one
    place the key is read. The headers hecnb builds never hold it."""

    def __init__(self, scheme: str, secret: Secret) -> None:
        self._scheme = scheme
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._secret.header(self._scheme)
        yield request

    def __repr__(self) -> str:
        return f"KeyAuth({self._scheme} {self._secret})"


# -- other libraries' logs ------------------------------------------------------------------
#: Loggers that print what a server sent (httpx: the reason phrase; httpcore at DEBUG: the
#: answer's headers). A logger's filter does not apply to its children, hence each by name.
_FOREIGN_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11",
                    "httpcore.http2", "httpcore.proxy", "httpcore.socks")
_live: weakref.WeakSet[Secret] = weakref.WeakSet()
_guard_lock = threading.RLock()


class _RedactFilter(logging.Filter):
    """Removes the keys in use from the records of httpx and httpcore (a server's echo of the
    key in a header or reason phrase would otherwise reach a DEBUG log verbatim)."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _guard_lock:  # another thread may be adding a secret
            secrets = list(_live)
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        clean = _redact(message, secrets, False)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_FILTER = _RedactFilter()


def guard_logs(secrets: Iterable[Secret]) -> None:
    """Keep ``secrets`` out of httpx's and httpcore's log records while they are alive."""
    with _guard_lock:
        for secret in secrets:
            if secret:
                _live.add(secret)
        for name in _FOREIGN_LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
