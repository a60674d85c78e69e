"""The hecnb exception tree.

Every error hecnb raises on purpose is a :class:`HecError`, so one ``except HecError`` catches them
all; the leaves also subclass the builtin a caller would expect (``ValueError`` for bad input,
``OSError`` for files)::

    HecError
    ├── ConfigError(ValueError)         a keyword, property or environment value is not allowed
    ├── ConversionError(ValueError)     an event or a cell cannot be encoded (.column, .row)
    ├── EventFileError(OSError)         an event file is missing, unreadable or malformed
    └── SendError                       events were not delivered (.report: the SendReport)
        ├── HecTransportError           no HTTP answer: DNS, TLS, refused, dropped, timeout
        └── HecResponseError            an HTTP answer that is not a success
            │                           (.status_code, .hec_code, .text)
            ├── HecAuthError            401 / 403: the key is missing or not accepted
            └── HecBusyError            429 / 503: the collector asks us to slow down

Sending never raises ``SendError`` by itself: a send returns its ``SendReport`` whatever happened,
and ``report.raise_for_failures()`` raises the subclass that says what to fix (as httpx's
``Response.raise_for_status()`` does), with the report attached.

Warnings, for what goes on but deserves a look::

    HecInsecureWarning(UserWarning)     TLS certificate verification is off
    HecDataWarning(UserWarning)         part of the input could not be read; the rest was

Messages name the problem and the fix. They never contain the API key: the key only ever appears
in the ``Authorization`` header of a request.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "ConversionError",
    "EventFileError",
    "HecAuthError",
    "HecBusyError",
    "HecDataWarning",
    "HecError",
    "HecInsecureWarning",
    "HecResponseError",
    "HecTransportError",
    "SendError",
]


class HecError(Exception):
    """Base class of every error hecnb raises on purpose."""


class ConfigError(HecError, ValueError):
    """A configuration value (keyword, property, environment variable) is not allowed."""


class ConversionError(HecError, ValueError):
    """An event, or a cell of a DataFrame, cannot be encoded in the ingest format.

    ``column`` and ``row`` say where, when that is known.
    """

    def __init__(self, message: str, *, column: object = None, row: object = None) -> None:
        super().__init__(message)
        self.column = column
        self.row = row


class EventFileError(HecError, OSError):
    """An event file is missing, is a directory, cannot be read, or is not what it claims."""


class SendError(HecError):
    """Events were not delivered; ``report`` is the ``SendReport`` of the send (or None).

    Raised by ``SendReport.raise_for_failures()``; the subclasses say why.
    """

    def __init__(self, message: str, *, report: Any = None) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only arguments: pickle the state, not a constructor call (Dask, multiprocessing)
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[SendError], args: tuple[Any, ...], state: dict[str, Any]) -> SendError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class HecTransportError(SendError):
    """No HTTP answer came back: DNS, TLS, connection refused or dropped, or a timeout."""


class HecResponseError(SendError):
    """The collector answered with an HTTP error: ``status_code``, ``hec_code`` (HEC's own code,
    when the answer had one) and ``text`` (the reason, with the collector's words cleaned and
    cut short)."""

    def __init__(
        self, message: str, *, status_code: int, hec_code: int | None = None, text: str = "",
        report: Any = None,
    ) -> None:
        super().__init__(message, report=report)
        self.status_code = status_code
        self.hec_code = hec_code
        self.text = text


class HecAuthError(HecResponseError):
    """401 or 403: the API key is missing, malformed, or not valid for this connector."""


class HecBusyError(HecResponseError):
    """429 or 503: the collector is overloaded and asks the client to back off."""


class HecInsecureWarning(UserWarning):
    """TLS certificate verification was turned off."""


class HecDataWarning(UserWarning):
    """Part of the input could not be read (a damaged file); what could be read was kept.

    The message says what was lost and where; the reader that warned also keeps the details
    (for EVTX: ``EvtxReader.problems``).
    """
