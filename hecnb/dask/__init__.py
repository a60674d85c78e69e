"""Send a Dask DataFrame to NG-SIEM from the workers that hold it, with one report.

``ddf.to_ngsiem(...)`` is registered on ``dask.dataframe.DataFrame`` (Dask's own accessor
API) as soon as both hecnb and ``dask.dataframe`` are imported, in either order (``import
hecnb.dask`` does it too); this module provides the function form :func:`send_dask`. Each
partition is encoded and sent on the worker that computes it, by an :class:`~hecnb.HEC` made
there for that partition; the workers return small :class:`PartitionResult` summaries that the
caller merges into one :class:`DaskSendReport`.

The API key never travels with the work: the tasks carry only the *name* of an environment
variable (``key_env``, default ``NGSIEM_API_KEY``) that each worker reads from its own
environment, so the key is in no task graph, task log or dashboard. :class:`KeyFromFile` sets
that variable on every worker from a file on the worker (a mounted secret). Delivery is at least
once: a partition whose worker dies is run again by Dask, and ``event_id=`` gives every row a
deterministic id by which the duplicates can be recognised. See ``docs/dask.md``.

>>> import hecnb, dask.dataframe as dd                                        # doctest: +SKIP
>>> ddf = dd.read_parquet("s3://bucket/auth/")                                # doctest: +SKIP
>>> report = ddf.to_ngsiem(ingest_url=URL, host="lake", event_id="hecnb_id")  # doctest: +SKIP

Inside: ``send`` (the caller's side), ``task`` (what runs on a worker), ``report`` (the
results), ``accessor`` (``ddf.to_ngsiem``, light: it imports no ``distributed``). This package
is light to import; the names below load ``dask``/``distributed`` on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .accessor import DaskNgsiemAccessor

__all__ = [
    "DaskNgsiemAccessor",
    "DaskSendReport",
    "KeyFromFile",
    "PartitionFailedEvent",
    "PartitionResult",
    "send_dask",
]

_LAZY = {"DaskSendReport": "report", "PartitionFailedEvent": "report",
         "PartitionResult": "report", "KeyFromFile": "task", "preview": "send",
         "send_dask": "send"}


def __getattr__(name: str) -> Any:
    """Load a name from its module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hecnb.dask' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
