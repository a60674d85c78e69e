"""ConnectionCheck: what ``HEC.check_connection()`` found, in words a user can act on."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from .reasons import describe_status, is_delivered

__all__ = ["ConnectionCheck"]

_ADVICE = {
    401: "the API key is missing or malformed; paste the key shown when the connector "
         "was created",
    403: "the API key was refused; it does not belong to this connector (or was "
         "regenerated): check api_key and the URL",
    404: "there is no HEC endpoint at this URL; check the URL key and region, or copy "
         "the API URL from the connector's page",
}


@dataclass
class ConnectionCheck:
    """The result of :meth:`HEC.check_connection`; truthy when the collector accepted an event."""

    ok: bool
    url: str
    status: int | None
    reason: str
    latency_ms: float | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.reason

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#cf222e"
        mark = "&#10004;" if self.ok else "&#10008;"
        return f"<span style='color:{colour}'>{mark} {html.escape(self.reason)}</span>"

    @classmethod
    def of(cls, answer: Any, url: str) -> ConnectionCheck:
        """The check an answer (``hecnb._send.answers.Answer``) to the test event makes."""
        status = answer.status
        if status is None:
            return cls(False, url, None, f"Cannot reach the collector: {answer.reason}.")
        latency = answer.seconds * 1000
        if is_delivered(status):
            but = f" (but: {answer.warning})" if answer.warning else ""
            return cls(True, url, status, f"Connected: the collector accepted a test event in "
                       f"{latency:.0f} ms{but}.", latency)
        advice = _ADVICE.get(status)
        if advice and answer.text:
            advice += f" (the collector said: {answer.text})"
        if advice:
            return cls(False, url, status, f"HTTP {status}: {advice}.", latency)
        reason = answer.reason or describe_status(status, answer.hec_code, answer.text)
        return cls(False, url, status, f"{reason}.", latency)
