"""hecnb: get data from Jupyter notebooks into CrowdStrike Falcon NG-SIEM through its HEC.

The public surface is exactly ``__all__``; everything else lives in private modules.
"""

from typing import Any as _Any

from ._encode.payload import IngestPayload
from ._errors import (
    ConfigError,
    ConversionError,
    EventFileError,
    HecAuthError,
    HecBusyError,
    HecDataWarning,
    HecError,
    HecInsecureWarning,
    HecResponseError,
    HecTransportError,
    SendError,
)
from ._hec import HEC, HTTPEventCollector
from ._lazy import when_imported as _when_imported
from ._report.check import ConnectionCheck
from ._report.delivered import DeliveredCount
from ._report.report import BatchResult, FailedEvent, SendReport
from ._send.manager import SessionManager
from ._session import configure
from ._settings.config import IngestConfig
from ._settings.names import IngestFormat, TimeUnit
from ._source.demo import auth_events as demo_events
from ._version import __version__


def load_ipython_extension(ipython: _Any) -> None:
    """``%load_ext hecnb``: register the ``%%hec_send`` and ``%hec_config`` magics."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: _Any) -> None:
    """``%unload_ext hecnb``: stop the magics' emulator, if one was started."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


#: Names imported on first use, so that ``import hecnb`` needs neither pandas nor ipywidgets.
_LAZY = {
    "ConfigPanel": "widgets",
    "HECHandler": "handler",
    "demo_evtx": "_source.evtxwrite",
    "encode": "_send.bodies",
    "iter_evtx": "_source.evtx",
    "to_events": "_encode.formats",
    "read_apache": "_source.readers",
    "read_csv": "_source.readers",
    "read_evtx": "_source.evtx",
    "read_ndjson": "_source.readers",
    "read_parquet": "_source.parquet",
    "read_syslog": "_source.readers",
    "read_zeek": "_source.readers",
}


def __getattr__(name: str) -> _Any:
    """Import a lazy name (PEP 562) on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hecnb' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"hecnb.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _register_accessor() -> None:
    from . import accessor  # noqa: F401 - registers df.to_ngsiem, the one name on DataFrame


def _register_polars_namespace() -> None:
    from . import polars_accessor  # noqa: F401 - registers pl_df.ngsiem (and on LazyFrame)


def _register_dask_accessor() -> None:
    from .dask import accessor  # noqa: F401 - registers ddf.to_ngsiem (no distributed import)


# df.to_ngsiem exists as soon as pandas does, ddf.to_ngsiem as soon as dask.dataframe does,
# pl_df.ngsiem as soon as polars does:
# now if they are imported, else the moment they are
_when_imported("pandas", _register_accessor)
_when_imported("dask.dataframe", _register_dask_accessor)
_when_imported("polars", _register_polars_namespace)

__all__ = [
    "HEC",
    "BatchResult",
    "ConfigError",
    "ConfigPanel",
    "ConnectionCheck",
    "ConversionError",
    "DeliveredCount",
    "EventFileError",
    "FailedEvent",
    "HECHandler",
    "HTTPEventCollector",
    "HecAuthError",
    "HecBusyError",
    "HecDataWarning",
    "HecError",
    "HecInsecureWarning",
    "HecResponseError",
    "HecTransportError",
    "IngestConfig",
    "IngestFormat",
    "IngestPayload",
    "SendError",
    "SendReport",
    "SessionManager",
    "TimeUnit",
    "__version__",
    "configure",
    "demo_events",
    "demo_evtx",
    "encode",
    "iter_evtx",
    "load_ipython_extension",
    "read_apache",
    "read_csv",
    "read_evtx",
    "read_ndjson",
    "read_parquet",
    "read_syslog",
    "read_zeek",
    "to_events",
    "unload_ipython_extension",
]
