"""hecnb: get data from Jupyter notebooks into CrowdStrike Falcon NG-SIEM through its HEC.

The public surface is exactly ``__all__``; everything else lives in private modules.
"""

__version__ = "0.1.0"

from ._config import IngestConfig
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
from ._hec import HEC, ConnectionCheck
from ._payload import IngestPayload
from ._report import BatchResult, FailedEvent, SendReport

__all__ = [
    "BatchResult",
    "ConfigError",
    "ConnectionCheck",
    "ConversionError",
    "EventFileError",
    "FailedEvent",
    "HEC",
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
]
