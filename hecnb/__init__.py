"""hecnb: get data from Jupyter notebooks into CrowdStrike Falcon NG-SIEM through its HEC.

The public surface is exactly ``__all__``; everything else lives in private modules.
"""

__version__ = "0.1.0"

from typing import Any as _Any

from . import accessor  # noqa: F401 - registers df.to_ngsiem, the one name added to DataFrame
from ._config import IngestConfig
from ._demo import auth_events as demo_events
from ._errors import (
    ConfigError,
    ConversionError,
    EventFileError,
    HecAuthError,
    HecBusyError,
    HecError,
    HecInsecureWarning,
    HecResponseError,
    HecTransportError,
    SendError,
)
from ._formats import encode, to_events
from ._hec import HEC, ConnectionCheck
from ._payload import IngestPayload
from ._readers import read_csv, read_ndjson, read_zeek
from ._report import BatchResult, FailedEvent, SendReport
from ._session import configure


def load_ipython_extension(ipython: _Any) -> None:
    """``%load_ext hecnb``: register the ``%%hec_send`` and ``%hec_config`` magics."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: _Any) -> None:
    """``%unload_ext hecnb``: stop the magics' emulator, if one was started."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


def __getattr__(name: str) -> _Any:
    """``hecnb.ConfigPanel`` is imported on first use, so ``import hecnb`` stays light."""
    if name == "ConfigPanel":
        from .widgets import ConfigPanel

        return ConfigPanel
    raise AttributeError(f"module 'hecnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"ConfigPanel"})

__all__ = [
    "HEC",
    "BatchResult",
    "ConfigError",
    "ConfigPanel",
    "ConnectionCheck",
    "ConversionError",
    "EventFileError",
    "FailedEvent",
    "HecAuthError",
    "HecBusyError",
    "HecError",
    "HecInsecureWarning",
    "HecResponseError",
    "HecTransportError",
    "IngestConfig",
    "IngestPayload",
    "SendError",
    "SendReport",
    "__version__",
    "configure",
    "demo_events",
    "encode",
    "load_ipython_extension",
    "read_csv",
    "read_ndjson",
    "read_zeek",
    "to_events",
    "unload_ipython_extension",
]
