"""LogFacility: FalconPy's name for where debug output goes (``debug`` and ``sanitize_log``)."""

from __future__ import annotations

import logging
from typing import Any

from .declared import Keeps, LogSettings, Setting

__all__ = ["LogFacility"]


class LogFacility(LogSettings, Keeps):
    """A logger (``logging.getLogger("hecnb")`` while ``debug`` is on), sanitising, a file flag.

    ``LogFacility(log, file_log, sanitize_log)`` as FalconPy's; hecnb's ``debug`` turns the
    logger on and off.
    """

    log: logging.Logger | None

    def __init__(self, log: logging.Logger | None = None, file_log: int | None = None,
                 sanitize_log: bool | None = None, *, debug: bool | None = None) -> None:
        self._values: dict[str, Any] = {}
        self.sanitize_log = sanitize_log
        self.debug = bool(debug) or log is not None
        if log is not None:
            self.log = log
        self.file_log = file_log or 0

    def _setting_set(self, setting: Setting[Any], value: Any) -> None:
        super()._setting_set(setting, value)
        if setting.name == "debug":
            self.log = logging.getLogger("hecnb") if self._values["debug"] else None
