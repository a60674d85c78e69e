"""One answer, read defensively: bounded in size and time, undone of its encoding at most to a
bound, parsed without ever raising, every text cleaned of the key before it is kept.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from .._report.reasons import describe_status, is_delivered
from .._settings.secret import MAX_ANSWER_BYTES, Secret, untrusted
from .retry import is_permanent, parse_retry_after


@dataclass
class Answer:
    """One attempt of a request: the answer (read bounded, parsed, cleaned) or why none came.

    Every text in it has passed :func:`~hecnb._settings.secret.untrusted`.
    """

    status: int | None
    hec_code: int | None = None
    text: str = ""  # the answer's text (the HEC "text", else the body), cleaned
    hec: bool = False  # the body was an HEC JSON answer
    invalid_event: int | None = None  # position the collector named as bad (400 code 6/12/13)
    retry_after: float | None = None
    reason: str = ""  # a failure in words (empty for a 2xx)
    warning: str | None = None  # a 2xx that is not a clean success
    permanent: bool = False  # no other request of the send can fare better
    received: bool = False  # no answer, but the collector may have the whole request
    seconds: float = 0.0


def _decoded(data: bytes, encoding: str | None, cut: bool) -> tuple[bytes | None, bool]:
    """The body undone of its Content-Encoding, at most MAX_ANSWER_BYTES of it (so a small
    compressed answer cannot expand into gigabytes); None when it cannot be read."""
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return data, cut
    if enc not in ("gzip", "x-gzip", "deflate"):
        return None, cut
    for wbits in ((47,) if enc != "deflate" else (15, -15)):
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(data, MAX_ANSWER_BYTES)
        except zlib.error:
            continue
        return out, cut or bool(d.unconsumed_tail) or not d.eof
    return None, cut


def _parse_answer(status: int, headers: httpx.Headers, data: bytes, cut: bool,
                  secrets: Iterable[Secret], note: str = "", decoded: bool = False) -> Answer:
    """What a (bounded) answer says. Never raises: a body that cannot be parsed (junk, deep
    nesting, wrong types) is only a reason; any 2xx is delivered whatever its body."""
    body, cut = (data, cut) if decoded else _decoded(data, headers.get("content-encoding"), cut)
    code = invalid = None
    text = ""
    hec = False
    if body is None:
        raw = f"(an answer in {headers.get('content-encoding')!r} encoding, not read)"
    else:
        raw = untrusted(body, secrets, truncated=cut)
        obj: Any = None
        if body and not cut:
            try:
                obj = orjson.loads(body)
            except orjson.JSONDecodeError:
                obj = None
        if isinstance(obj, dict):
            hec = "code" in obj or "text" in obj
            value = obj.get("code")
            code = value if type(value) is int else None
            value = obj.get("invalid-event-number")
            invalid = value if type(value) is int and value >= 0 else None
            value = obj.get("text")
            text = untrusted(value, secrets) if isinstance(value, str) else ""
        if not text and not hec:
            text = raw
    if note:
        text = f"{text} ({note})" if text else f"({note})"
    answer = Answer(status, code, text, hec, invalid,
                    parse_retry_after(headers.get("retry-after")))
    if is_delivered(status):
        if code not in (None, 0):
            answer.warning = f"HTTP {status} with HEC code {code}" + (f": {text}" if text
                                                                      else "")
        elif text and not hec:
            answer.warning = (f"HTTP {status} whose body is not an HEC answer ({text[:120]}); "
                              "check that the URL is the collector's")
        return answer
    location = untrusted(headers.get("location"), secrets) if 300 <= status < 400 else None
    answer.reason = describe_status(status, code, text, location)
    answer.permanent = is_permanent(status)
    return answer


async def _within(deadline: float, aw: Any) -> Any:
    """Await ``aw`` until the loop time ``deadline``; ``asyncio.TimeoutError`` after it."""
    left = deadline - asyncio.get_running_loop().time()
    if left <= 0:
        aw.close()
        raise asyncio.TimeoutError
    return await asyncio.wait_for(aw, left)


async def _read_bounded(resp: httpx.Response, into: list[bytes]) -> bool:
    """Read the raw answer body into ``into``, at most MAX_ANSWER_BYTES; True if cut short."""
    if resp.is_stream_consumed:  # made in memory (a mock transport): already read
        into.append(resp.content[:MAX_ANSWER_BYTES])
        return len(resp.content) > MAX_ANSWER_BYTES
    n = 0
    async for chunk in resp.aiter_raw():
        into.append(chunk)
        n += len(chunk)
        if n >= MAX_ANSWER_BYTES:
            return True
    return False


def _maybe_received(exc: httpx.TransportError) -> bool:
    """True when the request may have reached the collector whole before the answer was lost."""
    return not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                                httpx.WriteError, httpx.WriteTimeout, httpx.UnsupportedProtocol,
                                httpx.ProxyError))
