"""Python's ``logging`` records as events: what ``HECHandler`` sends for one record.

Each event holds the formatted message, the level, the logger, where it was logged (module,
function, line, file), the thread, process and asyncio task, the exception and stack when
there is one, and every ``extra=`` attribute, copied to plain JSON values at once (the record is
sent later, and its objects may change meanwhile). Its ``timestamp`` is the record's own
creation time, explicit, so that no event-time rule replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson

from .._encode.envelope import dumps

__all__ = ["plain", "record_event"]

#: Attributes every LogRecord has; everything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_DEFAULT_FORMATTER = logging.Formatter()


def plain(value: Any) -> Any:
    """A JSON-ready copy of a value as it is now; an object with no JSON form becomes its repr
    rather than failing the record."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    try:
        return orjson.loads(dumps(value))
    except (TypeError, ValueError, orjson.JSONDecodeError):
        try:
            return repr(value)
        except Exception:  # a repr that raises
            return f"<{type(value).__name__} object>"


def record_event(record: logging.LogRecord, *, formatter: logging.Formatter | None, host: str,
                 fields: Mapping[str, Any], timeunit: str, per_second: int) -> dict[str, Any]:
    """The HEC envelope for one record, with its time and everything it carries."""
    message = formatter.format(record) if formatter else record.getMessage()
    created = record.created
    whole = int(created)
    stamp = whole * per_second + round((created - whole) * per_second)
    event: dict[str, Any] = {}
    if host:
        event["host"] = host
    event["timestamp"] = stamp  # the record's own time: explicit, so no rule replaces it
    event["timeunit"] = timeunit
    event.update({
        "message": message, "level": record.levelname, "levelno": record.levelno,
        "logger": record.name, "module": record.module, "func": record.funcName,
        "line": record.lineno, "file": record.pathname, "thread": record.threadName,
        "thread_id": record.thread, "process": record.process,
        "process_name": record.processName,
    })
    task = getattr(record, "taskName", None)
    if task:
        event["task"] = task
    shown = formatter or _DEFAULT_FORMATTER
    if record.exc_info and record.exc_info[0] is not None:
        exc_type = record.exc_info[0]
        event["exc_type"] = (exc_type.__qualname__ if exc_type.__module__ == "builtins"
                             else f"{exc_type.__module__}.{exc_type.__qualname__}")
        event["exc_info"] = record.exc_text or shown.formatException(record.exc_info)
    elif record.exc_text and not record.exc_info:
        # a text without exc_info (a record rebuilt by makeLogRecord); with exc_info=(None,
        # None, None), as logger.error(..., exc_info=True) outside an except gives, another
        # handler may have cached "NoneType: None" there: no exception, nothing to send
        event["exc_info"] = record.exc_text
    if record.stack_info:
        event["stack_info"] = shown.formatStack(record.stack_info)
    extra = {k: plain(v) for k, v in record.__dict__.items() if k not in _STANDARD}
    if extra:
        event["extra"] = extra
    envelope: dict[str, Any] = {"event": event}
    if fields:
        envelope["fields"] = dict(fields)
    return envelope
