"""What runs on a worker: the task that sends one partition with the worker's own client (its
key read from the worker's environment, never from the graph), deterministic event ids, and
the plugin that sets the key from a file on the worker.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("hecnb.dask needs Dask (dataframe and distributed): "
                      "pip install 'hecnb[dask]'") from exc

from .._encode.eventids import frame_with_ids, with_id_column
from .._errors import ConfigError, ConversionError
from .._hec import HEC
from .report import PartitionFailedEvent, PartitionResult

DEFAULT_KEY_ENV = "NGSIEM_API_KEY"


class KeyFromFile(WorkerPlugin):
    """Set the API key variable on every worker from a file *on that worker* (a mounted secret).

    Only the path and the variable's name travel to the workers; each worker reads the key
    itself, now and whenever a new worker joins. Register it once per cluster:

    >>> client.register_plugin(KeyFromFile("/run/secrets/ngsiem_api_key"))   # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], key_env: str = DEFAULT_KEY_ENV) -> None:
        self.path = os.fspath(path)
        self.key_env = _check_key_env(key_env)
        self.name = f"hecnb-key-from-file-{self.key_env}"

    def setup(self, worker: Any) -> None:
        """Read the file and set the variable in this worker's environment."""
        try:
            key = Path(self.path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"KeyFromFile cannot read {self.path!r} on worker "
                              f"{getattr(worker, 'address', '?')}: "
                              f"{exc.strerror or type(exc).__name__}.") from None
        if not key:
            raise ConfigError(f"KeyFromFile: {self.path!r} is empty on worker "
                              f"{getattr(worker, 'address', '?')}.")
        os.environ[self.key_env] = key

    def __repr__(self) -> str:
        return f"KeyFromFile({self.path!r}, key_env={self.key_env!r})"


@dataclass(frozen=True)
class _Job:
    """Everything a partition's task needs except the data and the key (which it reads)."""

    settings: dict[str, Any]
    key_env: str
    ingest_format: str
    raw_ingest: bool
    options: dict[str, Any]
    event_id: str | None
    event_id_from: str
    id_prefix: str
    dead_letter_dir: str | None
    failed_limit: int
    run_id: str
    url: str = ""  # where the events go (for the report)


def _options_with_id(options: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    """Keep the id column when ``columns=`` picks the columns to send."""
    return options if event_id is None else with_id_column(options, event_id)


def _with_event_ids(frame: pd.DataFrame, column: str, prefix: str,
                    source: str = "position") -> pd.DataFrame:
    """``frame`` with an id column: ``prefix`` + the row's position in the partition, or
    (``source="content"``) 16 hex digits of a hash of the row's values."""
    return frame_with_ids(frame, column, prefix, source)


def _here(partition: int, run_id: str) -> str:
    """This worker's address (announcing the attempt to the scheduler), or host:pid."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # a local scheduler: threads or processes
        return f"{socket.gethostname()}:{os.getpid()}"
    worker.log_event(_topic(run_id), {"partition": partition})
    return str(worker.address)


def _topic(run_id: str) -> str:
    return f"hecnb-dask-{run_id}"


@functools.lru_cache(maxsize=1)
def _default_tls() -> Any:
    """This process's default TLS context (what ``verify=True`` means), made once: loading the CA
    bundle costs ~20 ms of CPU, which a new client per partition would otherwise pay each time."""
    return httpx.create_ssl_context()


def _worker_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings for this partition's HEC; ``verify=True`` shares the process's TLS context."""
    if settings.get("verify") is True and hasattr(httpx, "create_ssl_context"):  # httpx >= 0.28
        return {**settings, "verify": _default_tls()}
    return settings


_CLIENTS: dict[tuple[Any, ...], HEC] = {}  # this worker's clients, one per thread and settings


_CLIENTS_LOCK = threading.Lock()


def _worker_client(key: str, settings: dict[str, Any]) -> HEC:
    """This worker thread's HEC for these settings, made once and kept for the worker's life:
    the partitions it sends share its connection pool and what its throttle learned about the
    connector's rate limit (a client per partition met every limit with a burst of 429s)."""
    ident = (threading.get_ident(), hashlib.sha256(key.encode()).hexdigest(),
             tuple(sorted((k, repr(v)) for k, v in settings.items())))
    with _CLIENTS_LOCK:
        hec = _CLIENTS.get(ident)
        if hec is None:
            hec = _CLIENTS[ident] = HEC(api_key=key, **_worker_settings(settings))
        return hec


def _send_partition(frame: pd.DataFrame, partition: int, job: _Job) -> PartitionResult:
    """On a worker: send one partition with an HEC made here; return its summary."""
    t0 = time.perf_counter()
    result = PartitionResult(partition=partition, worker=_here(partition, job.run_id),
                             total=len(frame))
    if not len(frame):
        return result
    options = _options_with_id(job.options, job.event_id)
    if job.event_id is not None:
        frame = _with_event_ids(frame, job.event_id, f"{job.id_prefix}-{partition}-",
                                job.event_id_from)
    key = os.environ.get(job.key_env, "").strip()
    try:
        if not key:
            raise ConfigError(_missing_key_message(job.key_env, [result.worker]))
        hec = _worker_client(key, job.settings)
        report = hec.send(frame, show_progress=False, ingest_format=job.ingest_format,
                          raw_ingest=job.raw_ingest, **options)
    except (ConfigError, ConversionError) as exc:  # raised before anything was sent
        reason = f"partition not sent: {exc}"
        result.failed_count = len(frame)
        result.reasons = {reason: len(frame)}
        labels = frame.index[:job.failed_limit]
        result.failed = [PartitionFailedEvent(i, label, reason, partition=partition)
                         for i, label in enumerate(labels)]
        result.last_status, result.last_message = 0, reason
        result.elapsed = time.perf_counter() - t0
        return result
    enc = report.encoder
    result.framing = (getattr(enc, "prefix", b""), getattr(enc, "suffix", b""))
    result.delivered = report.delivered
    result.failed_count = len(report.failed)
    result.reasons = report.failure_reasons()
    result.batches = report.batches
    result.bytes_raw, result.bytes_sent = report.bytes_raw, report.bytes_sent
    result.errors = list(report.errors)
    result.last_status, result.last_message = report.last_status, report.last_message
    result.warnings, result.stopped = dict(report.warnings), report.stopped
    result.answers = dict(report.answers)
    result.throttled, result.throttle_wait = report.throttled, report.throttle_wait
    result.time_fields, result.time_fallback = dict(report.time_fields), report.time_fallback
    result.time_rule = report.time_rule
    listed = report.failed
    if report.failed and job.dead_letter_dir is not None:
        os.makedirs(job.dead_letter_dir, exist_ok=True)
        path = os.path.join(job.dead_letter_dir,
                            f"hecnb-{job.run_id}-part-{partition:05d}.ndjson")
        report.write_dead_letter(path)
        result.dead_letter, listed = path, []
    result.failed = [PartitionFailedEvent(f.index, f.event, f.reason, f.status, f.hec_code,
                                          f.payload, partition=partition)
                     for f in listed[:job.failed_limit]]
    result.elapsed = time.perf_counter() - t0
    return result


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_key_env(key_env: Any) -> str:
    if not isinstance(key_env, str) or not _ENV_NAME.match(key_env):
        raise ConfigError(f"key_env must be the name of an environment variable (such as "
                          f"{DEFAULT_KEY_ENV!r}), not {type(key_env).__name__} "
                          f"{'value' if isinstance(key_env, str) else repr(key_env)}.")
    return key_env


def _key_is_set(key_env: str) -> bool:
    """On a worker: whether the key variable is set (the value never leaves the worker)."""
    return bool(os.environ.get(key_env, "").strip())


def _missing_key_message(key_env: str, where: list[str]) -> str:
    return (f"The API key is read on the workers from the environment variable {key_env}, which "
            f"is not set on {', '.join(where)}. hecnb never puts the key into the task graph: "
            f"set {key_env} in the workers' environment before they start (for a LocalCluster, "
            f"set os.environ[{key_env!r}] first or pass LocalCluster(env=...); for a remote "
            "cluster, the worker pods' or jobs' environment), or register "
            "hecnb.dask.KeyFromFile(path) to read it from a file on each worker. "
            "See docs/dask.md.")
