"""hecnb: get data from Jupyter notebooks into CrowdStrike Falcon NG-SIEM through its HEC.

The public surface is exactly ``__all__``; everything else lives in private modules.
"""

__version__ = "0.1.0"

from . import accessor  # noqa: F401 - registers df.to_ngsiem, the one name added to DataFrame
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
from ._formats import encode, to_events
from ._hec import HEC, ConnectionCheck
from ._payload import IngestPayload
from ._readers import read_csv, read_ndjson, read_zeek
from ._report import BatchResult, FailedEvent, SendReport
from ._session import configure

__all__ = [
    "HEC",
    "BatchResult",
    "ConfigError",
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
    "encode",
    "read_csv",
    "read_ndjson",
    "read_zeek",
    "to_events",
]
