"""The words of the settings and their limits: regions, formats, time units (with FalconPy's
``IngestFormat`` and ``TimeUnit``), the defaults and maxima, and the checks every value passes.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from typing import Any

from .._errors import ConfigError

#: Region keyword -> ingest host (FalconPy 1.6.6 ``IngestBaseURL``).
REGIONS: dict[str, str] = {
    "us1": "ingest.us-1.crowdstrike.com",
    "us2": "ingest.us-2.crowdstrike.com",
    "us3": "ingest.us-3.crowdstrike.com",
    "eu1": "ingest.eu-1.crowdstrike.com",
    "usgov1": "ingest.laggar.gcw.crowdstrike.com",
    "usgov2": "ingest.us-gov-2.crowdstrike.mil",
}


_REGION_ALIASES = {"gov1": "usgov1", "gov2": "usgov2", "laggar": "usgov1"}


#: Ingest format -> Content-Type header (FalconPy ``IngestFormat``).
CONTENT_TYPES: dict[str, str] = {
    "json": "application/json",
    "yaml": "application/x-yaml",
    "xml": "text/xml",
    "csv": "text/csv",
}


_FORMAT_ALIASES = {"yml": "yaml", "ndjson": "json", "jsonl": "json"}


#: Time unit name -> units per second (FalconPy ``TimeUnit``).
TIMEUNITS: dict[str, int] = {"seconds": 1, "milliseconds": 1_000, "nanoseconds": 1_000_000_000}


class IngestFormat(enum.Enum):
    """FalconPy's ``IngestFormat``: member name -> Content-Type. Accepted wherever a format is."""

    JSON = "application/json"
    CSV = "text/csv"
    XML = "text/xml"
    YAML = "application/x-yaml"


class TimeUnit(enum.Enum):
    """FalconPy's ``TimeUnit``: member name -> units per second. Accepted wherever a unit is.

    >>> TimeUnit["NANOSECONDS"].value
    1000000000
    """

    SECONDS = 1
    MILLISECONDS = 1_000
    NANOSECONDS = 1_000_000_000


_TIMEUNIT_ALIASES = {
    "s": "seconds", "sec": "seconds", "second": "seconds",
    "ms": "milliseconds", "millisecond": "milliseconds",
    "ns": "nanoseconds", "nanosecond": "nanoseconds",
}


DEFAULT_BATCH_MAX_BYTES = 1024 * 1024


#: Seconds per request when ``ingest_timeout`` is not given (or None), as in FalconPy.
DEFAULT_TIMEOUT = 5


#: The collector's limit for one request after decompression (LogScale default).
MAX_REQUEST_BYTES = 32 * 1024 * 1024


#: The collector's limit for one event; larger ones are reported failed, never sent.
MAX_EVENT_BYTES = 1024 * 1024


MAX_THREADS = 500


#: Requests in flight at once: enough to hide a ~150 ms round trip at a few hundred MB/s.
DEFAULT_MAX_IN_FLIGHT = 16


#: Seconds a throttled send (429, or 503 with Retry-After) goes on while the collector accepts
#: nothing: throttling is back-pressure, bounded by time rather than by retry_count.
DEFAULT_RETRY_MAX_ELAPSED = 300.0


MAX_IN_FLIGHT = 256


_AUTH_SCHEMES = {"bearer": "Bearer", "splunk": "Splunk"}


def default_thread_count() -> int:
    """CPU count x 2, or 50, whichever is smaller (FalconPy's default)."""
    return min((os.cpu_count() or 1) * 2, 50)


def _words(values: Mapping[str, Any] | list[str]) -> str:
    return ", ".join(values)


def normalize_region(value: str) -> str:
    """``'US-1'``, ``'us_1'``, ``'gov1'`` -> ``'us1'`` / ``'usgov1'``; unknown regions raise."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"ingest_region must be one of {_words(REGIONS)}; got {value!r}.")
    key = re.sub(r"[\s_\-]", "", value).lower()
    key = _REGION_ALIASES.get(key, key)
    if key not in REGIONS:
        raise ConfigError(
            f"Unknown ingest_region {value!r}: use one of {_words(REGIONS)} "
            "(spellings such as 'us-1' or 'EU1' are accepted), or pass the full API URL as "
            "ingest_url=."
        )
    return key


def normalize_format(value: str | IngestFormat) -> str:
    """``'JSON'``, ``'application/json'``, ``'yml'``, ``IngestFormat.JSON`` -> the short format
    name. Unknown formats raise (FalconPy falls back to json, so a typo changed what was sent)."""
    if isinstance(value, IngestFormat):
        return value.name.lower()
    if isinstance(value, str):
        key = value.strip().lower()
        for name, ctype in CONTENT_TYPES.items():
            if key == ctype:
                return name
        key = _FORMAT_ALIASES.get(key, key)
        if key in CONTENT_TYPES:
            return key
    raise ConfigError(f"Unknown ingest_format {value!r}: use one of {_words(CONTENT_TYPES)} "
                      "(or None for json).")


def normalize_timeunit(value: str | TimeUnit) -> str:
    """``'ns'``, ``'Nanoseconds'``, ``TimeUnit.NANOSECONDS`` -> ``'nanoseconds'``; unknown units
    raise."""
    if isinstance(value, TimeUnit):
        return value.name.lower()
    if isinstance(value, str):
        key = value.strip().lower()
        key = _TIMEUNIT_ALIASES.get(key, key)
        if key in TIMEUNITS:
            return key
    raise ConfigError(f"Unknown ingest_timeunit {value!r}: use one of {_words(TIMEUNITS)} "
                      "(or None for nanoseconds).")


def positive_number(name: str, value: Any, *, integer: bool = False, maximum: float | None = None,
                     hint: str = "") -> Any:
    try:
        number = int(value) if integer else float(value)
        if integer and float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {kind} greater than 0; got {value!r}{hint}."
                          ) from None
    if isinstance(value, bool) or number <= 0 or number != number:
        raise ConfigError(f"{name} must be greater than 0; got {value!r}{hint}.")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum:g}; got {value!r}.")
    return number


_positive_number = positive_number  # the name IngestConfig's properties use


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is True or False, else a ConfigError naming the setting."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False; got {value!r}.")
    return value


def check_count(name: str, value: Any, *, minimum: int, maximum: int) -> int:
    """A whole number from ``minimum`` to ``maximum``, else a ConfigError naming the setting."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(
            f"{name} must be a whole number from {minimum} to {maximum}; got {value!r}.")
    return value


def check_seconds(name: str, value: Any, *, maximum: float = 86_400) -> float:
    """A number of seconds above 0 and at most ``maximum``, else a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 < value <= maximum):
        raise ConfigError(f"{name} must be a number of seconds above 0 and at most "
                          f"{maximum:g}; got {value!r}.")
    return float(value)
