"""SessionManager: FalconPy's name for what holds the sending engine and its settings.

FalconPy keeps a list of ``requests`` sessions here; hecnb keeps one ``httpx.AsyncClient``
connection pool (up to ``max_in_flight`` connections) driven by one event-loop thread, used by
sends and connection checks alike; ``sessions`` lists it once it is open. The settings it keeps
are declared in :mod:`hecnb._settings.declared` (``EngineSettings``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx

from .._errors import ConfigError
from .._settings.declared import EngineSettings, Keeps, Setting, check_keywords, keywords_of
from .._settings.names import default_thread_count
from .engine import Engine
from .retry import RetryPolicy

__all__ = ["SessionManager"]


class SessionManager(EngineSettings, Keeps):
    """Holds the engine: thread count, retries, requests in flight, backoff, the pool.

    ``SessionManager(thread_count=None, retry_count=None, **settings)`` as FalconPy's (None:
    the default), plus hecnb's engine settings by keyword (``max_in_flight``,
    ``retry_max_elapsed``, ``backoff_base``, ``backoff_max``, ``transport``).
    """

    def __init__(self, thread_count: int | None = None, retry_count: int | None = None,
                 **settings: Any) -> None:
        check_keywords(settings, "SessionManager()", keywords_of(EngineSettings))
        given = {"thread_count": thread_count, "retry_count": retry_count, **settings}
        self._values: dict[str, Any] = {}
        for name, setting in vars(EngineSettings).items():
            if isinstance(setting, Setting):
                self._values[name] = setting.normalize(given.get(setting.keyword))
        v = self._values
        self.engine = Engine(thread_count=v["thread_count"], retry=self._retry(),
                             max_in_flight=v["max_in_flight"],
                             retry_max_elapsed=v["retry_max_elapsed"], transport=v["transport"])

    def _retry(self) -> RetryPolicy:
        v = self._values
        _check_backoff(v["backoff_base"], v["backoff_max"])
        return RetryPolicy(v["retry_count"], v["backoff_base"], v["backoff_max"])

    def _setting_set(self, setting: Setting[Any], value: Any) -> None:
        """Keep the value, and give the engine what it now is."""
        if setting.keyword in ("backoff_base", "backoff_max"):
            after = {**self._values, setting.keyword: setting.normalize(value)}
            _check_backoff(after["backoff_base"], after["backoff_max"])
        super()._setting_set(setting, value)
        engine, v = self.engine, self._values
        engine.thread_count, engine.max_in_flight = v["thread_count"], v["max_in_flight"]
        engine.retry_max_elapsed = v["retry_max_elapsed"]
        engine.retry = self._retry()

    @property
    def sessions(self) -> list[httpx.AsyncClient]:
        """The HTTP client in use (one pool, once a request was made)."""
        return self.engine.clients

    @property
    def core_thread_count(self) -> int:
        """CPU count x 2, or 50, whichever is smaller (FalconPy's default thread count)."""
        return default_thread_count()

    @property
    def cycle(self) -> Iterator[httpx.AsyncClient]:
        """The clients in turn, endlessly (FalconPy's round robin; hecnb has one pool)."""
        return itertools.cycle(self.sessions)

    def __iter__(self) -> Iterator[httpx.AsyncClient]:
        return self.cycle

    def __next__(self) -> httpx.AsyncClient:
        sessions = self.sessions
        if not sessions:
            raise StopIteration
        return sessions[0]

    def __len__(self) -> int:
        return max(1, len(self.sessions))

    def close(self) -> None:
        """Close the connection pool."""
        self.engine.close()

    def __repr__(self) -> str:
        return f"SessionManager(thread_count={self.thread_count}, retry_count={self.retry_count})"


def _check_backoff(base: float, longest: float) -> None:
    """The first backoff cannot be longer than the longest one."""
    if base > longest:
        raise ConfigError(
            f"backoff_base ({base:g} s) is longer than backoff_max ({longest:g} s): the first "
            "backoff between retries cannot exceed the longest; raise backoff_max or lower "
            "backoff_base.")
