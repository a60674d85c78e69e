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
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas as pd

try:
    import dask
    import dask.dataframe as dd
    from dask.callbacks import Callback
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("hecnb.dask needs Dask (dataframe and distributed): "
                      "pip install 'hecnb[dask]'") from exc

from ._dask_accessor import DaskNgsiemAccessor
from ._encode.formats import encode, to_events
from ._errors import ConfigError, ConversionError
from ._hec import HEC, check_send_keywords, split_keywords
from ._progress import _interactive
from ._report.deadletter import ReplayEncoder
from ._report.report import BatchResult, FailedEvent, SendReport
from ._session import current
from ._settings.names import CONTENT_TYPES, normalize_format

__all__ = [
    "DaskNgsiemAccessor",
    "DaskSendReport",
    "KeyFromFile",
    "PartitionFailedEvent",
    "PartitionResult",
    "send_dask",
]

DEFAULT_KEY_ENV = "NGSIEM_API_KEY"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Validates settings on the caller's side; never sent anywhere (no request is made with it).
_PLACEHOLDER_KEY = "hecnb-dask-settings-check"


# ------------------------------------------------------------------------------------ results


@dataclass
class PartitionFailedEvent(FailedEvent):
    """A failed event of a Dask send: ``index`` is the row's position within ``partition``
    (``ddf.partitions[partition]`` then ``.iloc[index]``); ``event`` is its index label."""

    partition: int = 0


@dataclass
class PartitionResult:
    """What the send of one partition did; made on the worker, small enough to travel back.

    ``failed`` lists at most ``failed_limit`` events (none when they went to ``dead_letter``);
    ``failed_count`` and ``reasons`` count them all. ``error`` is set when the partition's task
    itself failed (reading the data, a lost worker too often): its rows were then not counted.
    ``attempts`` is how many times the task started (more than 1 after a worker was lost).
    """

    partition: int
    worker: str = ""
    total: int = 0
    delivered: int = 0
    failed_count: int = 0
    failed: list[PartitionFailedEvent] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    batches: list[BatchResult] = field(default_factory=list)
    bytes_raw: int = 0
    bytes_sent: int = 0
    elapsed: float = 0.0
    dead_letter: str | None = None
    errors: list[str] = field(default_factory=list)
    error: str | None = None
    attempts: int = 1
    last_status: int | None = None
    last_message: str | None = None
    framing: tuple[bytes, bytes] = field(default=(b"", b""), repr=False)  # encoder prefix/suffix
    warnings: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None
    answers: dict[int | None, int] = field(default_factory=dict)
    throttled: int = 0
    throttle_wait: float = 0.0
    time_fields: dict[str, int] = field(default_factory=dict)  # as SendReport's
    time_fallback: int = 0
    time_rule: str | None = None

    @property
    def ok(self) -> bool:
        """True when every row of the partition was delivered."""
        return (self.error is None and not self.failed_count and not self.errors
                and self.delivered == self.total)

    @property
    def possible_duplicates(self) -> int:
        """Rows that may be at the collector twice: all of them when the task ran more than
        once (an earlier attempt may have sent any of them), else those acknowledged after a
        retry whose first answer was lost."""
        if self.attempts > 1:
            return self.total
        return sum(b.events for b in self.batches if b.ok and b.ambiguous)


@dataclass(repr=False)
class DaskSendReport(SendReport):
    """A :class:`~hecnb.SendReport` for a whole Dask DataFrame, plus ``partitions``.

    Totals add up over the partitions; ``elapsed`` is the caller's wall time. ``failed`` holds
    :class:`PartitionFailedEvent` entries (at most ``failed_limit`` per partition);
    ``failed_count`` also counts the failed events not listed (``unlisted_failed``: beyond the
    limit, or written to the per-partition files in ``dead_letters``). ``possible_duplicates``
    includes every row of a partition that ran more than once (``rerun_partitions``).
    """

    partitions: list[PartitionResult] = field(default_factory=list)
    unlisted_failed: int = 0
    dead_letters: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def failed_count(self) -> int:
        """Events not delivered, listed or not."""
        return len(self.failed) + self.unlisted_failed

    @property
    def ok(self) -> bool:
        """True when every row of every partition was delivered."""
        return super().ok and not self.unlisted_failed and not self.failed_partitions

    @property
    def possible_duplicates(self) -> int:
        """Rows that may be at the collector more than once (an upper bound)."""
        return sum(p.possible_duplicates for p in self.partitions)

    @property
    def rerun_partitions(self) -> list[int]:
        """Partitions whose task started more than once (a worker was lost while it ran)."""
        return [p.partition for p in self.partitions if p.attempts > 1]

    @property
    def failed_partitions(self) -> list[int]:
        """Partitions whose task failed as a whole; send ``ddf.partitions[these]`` again."""
        return [p.partition for p in self.partitions if p.error is not None]

    @property
    def workers(self) -> list[str]:
        """The workers that sent, sorted."""
        return sorted({p.worker for p in self.partitions if p.worker})

    def failure_reasons(self) -> dict[str, int]:
        """How many events failed for each reason (listed or not)."""
        return dict(self.reasons)

    def failed_frame(self) -> Any:
        """The listed failed events as a DataFrame, with the partition of each."""
        frame = super().failed_frame()
        frame.insert(0, "partition", [f.partition for f in self.failed])  # type: ignore[attr-defined]
        return frame

    def partitions_frame(self) -> pd.DataFrame:
        """One row per partition: where it was sent, counts, attempts, time, dead letters."""
        rows = [{"partition": p.partition, "worker": p.worker, "total": p.total,
                 "delivered": p.delivered, "failed": p.failed_count, "attempts": p.attempts,
                 "elapsed_s": round(p.elapsed, 3), "dead_letter": p.dead_letter,
                 "error": p.error} for p in self.partitions]
        columns = ["partition", "worker", "total", "delivered", "failed", "attempts",
                   "elapsed_s", "dead_letter", "error"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """The summary of :meth:`SendReport.to_dict`, plus the partitions' outcome."""
        out = super().to_dict()
        out.update(partitions=len(self.partitions), workers=self.workers,
                   rerun_partitions=self.rerun_partitions,
                   failed_partitions=self.failed_partitions,
                   unlisted_failed=self.unlisted_failed, dead_letters=list(self.dead_letters))
        return out

    def _where(self) -> str:
        parts, workers = len(self.partitions), len(self.workers)
        text = (f"{parts:,} {'partition' if parts == 1 else 'partitions'} on {workers:,} "
                f"{'worker' if workers == 1 else 'workers'}")
        if self.rerun_partitions:
            text += f", {len(self.rerun_partitions):,} run again after a worker was lost"
        if self.dead_letters:
            text += f", dead letters in {len(self.dead_letters):,} files"
        return text

    def __str__(self) -> str:
        line = super().__str__()
        if self.unlisted_failed and not self.failed:  # the base line lists listed failures only
            reasons = "; ".join(f"{n:,} {r}" for r, n in self.failure_reasons().items())
            line += f"; {self.failed_count:,} FAILED: {reasons}"
        return f"{line} [{self._where()}]"

    def _repr_html_(self) -> str:
        rows = [("Partitions", self._where())]
        if self.unlisted_failed:
            rows.append(("Not listed", f"{self.unlisted_failed:,} failed events "
                                       "(dead-letter files or beyond failed_limit)"))
        extra = "".join(f"<tr><th style='text-align:left'>{k}</th>"
                        f"<td style='text-align:left'>{html.escape(v)}</td></tr>" for k, v in rows)
        return super()._repr_html_().replace("</table>", extra + "</table>")


# ------------------------------------------------------------------------- the key on workers


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


# ------------------------------------------------------------------------ settings and tasks


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


def _settings(hec: HEC | Mapping[str, Any] | None) -> dict[str, Any]:
    """The HEC keywords a worker needs, without the key, resolved and validated here.

    From an HEC (its key is left behind), from a mapping of HEC keywords, or from the session
    default / the ``NGSIEM_*`` variables of this process when ``hec`` is None.
    """
    if hec is None:
        hec = current()
    if isinstance(hec, HEC):
        return _extract(hec)
    if hec is not None and not isinstance(hec, Mapping):
        raise ConfigError(f"hec must be a hecnb.HEC, a mapping of HEC keywords or None, not "
                          f"{type(hec).__name__}.")
    kwargs = dict(hec) if hec is not None else {}
    if "api_key" in kwargs or "transport" in kwargs:
        name = "api_key" if "api_key" in kwargs else "transport"
        raise ConfigError(f"{name} cannot go to the workers: "
                          + ("the key would travel in the task graph; set it in the workers' "
                             "environment and name the variable with key_env= (see "
                             "docs/dask.md)." if name == "api_key" else
                             "a transport object does not travel between processes."))
    with HEC(api_key=_PLACEHOLDER_KEY, **kwargs) as check:
        settings = _extract(check)
    if "thread_count" not in kwargs:  # each worker's own default (its CPU count), not ours
        del settings["thread_count"]
    return settings


def _with_keywords(hec: HEC | Mapping[str, Any] | None, keywords: dict[str, Any]
                   ) -> dict[str, Any]:
    """HEC keywords from ``hec`` (an HEC, a mapping, or the session default) changed by
    ``keywords``; a destination given replaces the one there."""
    if hec is None:
        hec = current()
    if isinstance(hec, HEC):
        base: dict[str, Any] = _extract(hec)
    elif hec is None:
        base = {}
    elif isinstance(hec, Mapping):
        base = dict(hec)
    else:
        raise ConfigError(f"hec must be a hecnb.HEC, a mapping of HEC keywords or None, not "
                          f"{type(hec).__name__}.")
    if "ingest_url" in keywords or "api_url_key" in keywords:
        for name in ("ingest_url", "api_url_key"):
            base.pop(name, None)
    return {**base, **keywords}


def _extract(hec: HEC) -> dict[str, Any]:
    cfg = hec.ingest_config
    engine = hec.session_manager.engine
    if getattr(engine, "_transport", None) is not None:
        raise ConfigError("This HEC has a custom transport, which cannot travel to the workers; "
                          "pass its settings as a dict instead.")
    if not isinstance(cfg.verify, (bool, str)):
        raise ConfigError("verify must be True, False or the path of a CA bundle that exists on "
                          "the workers; an SSL context cannot travel to them.")
    return {
        "ingest_url": cfg.ingest_url,
        "ingest_format": cfg.ingest_format,
        "ingest_timeunit": cfg.ingest_timeunit,
        "ingest_timeout": cfg.ingest_timeout,
        "raw_ingest": cfg.raw_ingest,
        "auth_scheme": cfg.auth_scheme,
        "batch_max_bytes": cfg.batch_max_bytes,
        "batch_max_events": cfg.batch_max_events,
        "compress": cfg.compress,
        "verify": cfg.verify,
        "allow_insecure_http": bool(getattr(cfg, "_allow_insecure_http", False)),
        "retry_count": hec.retry_count,
        "thread_count": hec.thread_count,
        "max_in_flight": hec.max_in_flight,
        "backoff_base": engine.retry.base,
        "backoff_max": engine.retry.cap,
        "hec_time": hec.hec_time,
    }


def _labels(value: Any) -> list[Any]:
    return [value] if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") \
        else list(value)


def _options_with_id(options: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    """Keep the id column when ``columns=`` picks the columns to send."""
    if event_id is None or options.get("columns") is None:
        return options
    return {**options, "columns": [*_labels(options["columns"]), event_id]}


def _with_event_ids(frame: pd.DataFrame, column: str, prefix: str,
                    source: str = "position") -> pd.DataFrame:
    """``frame`` with an id column: ``prefix`` + the row's position in the partition, or
    (``source="content"``) 16 hex digits of a hash of the row's values."""
    out = frame.copy(deep=False)
    if source == "content":
        try:
            hashes = pd.util.hash_pandas_object(frame, index=False)
        except TypeError:  # dicts or lists in a column: hash their stable JSON text
            hashes = pd.util.hash_pandas_object(frame.apply(
                lambda col: col.map(_stable_text) if col.dtype == object else col), index=False)
        out[column] = [f"{h:016x}" for h in hashes.to_numpy().tolist()]
    else:
        out[column] = (prefix + pd.RangeIndex(len(frame)).astype(str)).to_numpy()
    return out


def _stable_text(value: Any) -> Any:
    """A hashable stand-in for a cell: JSON with sorted keys for containers, else the value."""
    if isinstance(value, (dict, list, tuple, set)):
        return orjson.dumps(value, default=repr, option=orjson.OPT_SORT_KEYS).decode()
    return value


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


def _merge(results: list[PartitionResult], job: _Job, elapsed: float,
           attempts: Mapping[int, int]) -> DaskSendReport:
    """One report from the partitions' summaries (in partition order)."""
    report = DaskSendReport(url=job.settings["ingest_url"], ingest_format=job.ingest_format,
                            raw=job.raw_ingest, elapsed=elapsed)
    reasons: Counter[str] = Counter()
    framing: tuple[bytes, bytes] | None = None
    for part in sorted(results, key=lambda r: r.partition):
        part.attempts = max(part.attempts, attempts.get(part.partition, 1))
        report.partitions.append(part)
        if part.error is not None:
            report.errors.append(f"partition {part.partition}: {part.error} (its rows were not "
                                 "counted; send ddf.partitions[report.failed_partitions] again)")
            report.last_status, report.last_message = 0, part.error
            continue
        report.total += part.total
        report.delivered += part.delivered
        report.failed.extend(part.failed)
        report.unlisted_failed += part.failed_count - len(part.failed)
        reasons.update(part.reasons)
        report.batches.extend(part.batches)
        report.bytes_raw += part.bytes_raw
        report.bytes_sent += part.bytes_sent
        report.errors.extend(f"partition {part.partition}: {e}" for e in part.errors)
        for message, n in part.warnings.items():
            report.warnings[message] = report.warnings.get(message, 0) + n
        for status, n in part.answers.items():
            report.answers[status] = report.answers.get(status, 0) + n
        report.throttled += part.throttled
        report.throttle_wait = max(report.throttle_wait, part.throttle_wait)
        if part.stopped and report.stopped is None:
            report.stopped = f"partition {part.partition}: {part.stopped}"
        if part.dead_letter:
            report.dead_letters.append(part.dead_letter)
        if part.last_status not in (None, 200) or report.last_status is None:
            report.last_status, report.last_message = part.last_status, part.last_message
        if framing is None and part.batches:
            framing = part.framing
        for name, count in part.time_fields.items():
            report.time_fields[name] = report.time_fields.get(name, 0) + count
        report.time_fallback += part.time_fallback
        report.time_rule = report.time_rule or part.time_rule
    report.reasons = dict(reasons)
    prefix, suffix = framing or (b"", b"")
    report.encoder = ReplayEncoder(content_type=CONTENT_TYPES[job.ingest_format], prefix=prefix,
                                   suffix=suffix, raw=job.raw_ingest)
    return report


# ------------------------------------------------------------------------------- running it


class _LocalProgress(Callback):  # type: ignore[misc]
    """Advance a bar as partitions finish on a local (threads/processes) scheduler."""

    def __init__(self, bar: Any, prefix: str) -> None:
        super().__init__()
        self.bar, self.prefix = bar, prefix

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if isinstance(key, str) and key.startswith(self.prefix):
            self.bar.update(1)


def _distributed_client(ddf: Any, client: Any) -> Any:
    """The distributed Client that would run ``ddf`` (Dask's own choice), or None."""
    if client is not None:
        return client
    try:
        scheduler = dask.base.get_scheduler(collections=[ddf])
    except (RuntimeError, ValueError):
        return None
    owner = getattr(scheduler, "__self__", None)
    return owner if type(owner).__name__ == "Client" else None


def _run_distributed(client: Any, tasks: list[Any], job: _Job, bar: Any
                     ) -> tuple[list[PartitionResult], dict[int, int]]:
    from distributed import as_completed

    present = client.run(_key_is_set, job.key_env)
    missing = sorted(addr for addr, ok in present.items() if not ok)
    if missing:
        raise ConfigError(_missing_key_message(job.key_env, missing))
    futures = client.compute(tasks)
    partition_of = {f.key: i for i, f in enumerate(futures)}
    results: list[PartitionResult] = []
    try:
        done = as_completed(futures, with_results=True, raise_errors=False, loop=client.loop)
        for future, value in done:
            p = partition_of[future.key]
            if future.status == "finished" and isinstance(value, PartitionResult):
                results.append(value)
            else:
                exc = value[1] if isinstance(value, tuple) and len(value) == 3 else value
                results.append(PartitionResult(partition=p,
                                               error=f"{type(exc).__name__}: {exc}"))
            future.release()  # forget it now: a worker lost later must not re-run it
            if bar is not None:
                bar.update(1)
    except BaseException:
        client.cancel(futures)
        raise
    attempts: Counter[int] = Counter()
    for _, msg in client.get_events(_topic(job.run_id)):
        if isinstance(msg, dict) and "partition" in msg:
            attempts[int(msg["partition"])] += 1
    return results, dict(attempts)


def send_dask(ddf: Any, hec: HEC | Mapping[str, Any] | None = None, *,
              key_env: str = DEFAULT_KEY_ENV, event_id: str | None = None,
              event_id_from: str = "position",
              dead_letter_dir: str | os.PathLike[str] | None = None,
              failed_limit: int = 10_000, ingest_format: str | None = None,
              raw_ingest: bool | None = None, show_progress: bool | None = None,
              client: Any = None, **options: Any) -> DaskSendReport:
    """Send every row of a Dask DataFrame, each partition from the worker that computes it.

    ``hec`` gives the destination and settings (URL, format, limits, retries...) but never the
    key: an :class:`~hecnb.HEC` (its key stays here), a dict of HEC keywords, or None for the
    session default or the ``NGSIEM_*`` variables. Each worker reads the key from its own
    environment variable ``key_env``. ``options`` are the converter options of ``df.to_ngsiem``
    (``host``, ``timestamp_column``, ``fields``, ``columns``, ``na``, ``timeunit``).

    ``event_id="hecnb_id"`` adds to every event a field with a deterministic id, the same when
    Dask runs a partition again, so duplicates after a lost worker can be recognised:
    ``<data token>-<partition>-<row>`` (unique per row), or with ``event_id_from="content"`` a
    hash of the row's values (the same however the data is partitioned or sliced; identical rows
    share it). ``dead_letter_dir`` makes each partition
    write its failed events to a file there (on the worker) instead of returning them; otherwise
    at most ``failed_limit`` failed events per partition come back. Runs on the distributed
    ``client`` given or current, else on Dask's local scheduler; ``show_progress`` counts
    partitions.

    >>> import hecnb.dask                                                  # doctest: +SKIP
    >>> report = hecnb.dask.send_dask(ddf, {"ingest_url": URL}, host="lake")  # doctest: +SKIP
    >>> report.delivered, report.partitions_frame()                       # doctest: +SKIP
    """
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"send_dask takes a dask DataFrame, not {type(ddf).__name__}; for a "
                        "pandas DataFrame use df.to_ngsiem().")
    if "api_key" in options:
        raise ConfigError("send_dask never takes the API key: it would travel in the task "
                          f"graph. Each worker reads it from ${key_env}; see docs/dask.md.")
    check_send_keywords(options)
    keywords, options = split_keywords(options)
    if keywords:  # destination and settings as keywords: they change those of `hec`
        hec = _with_keywords(hec, keywords)
    key_env = _check_key_env(key_env)
    if isinstance(failed_limit, bool) or not isinstance(failed_limit, int) or failed_limit < 0:
        raise ConfigError(f"failed_limit must be a whole number >= 0; got {failed_limit!r}.")
    settings = _settings(hec)
    fmt = settings["ingest_format"] if ingest_format is None else normalize_format(ingest_format)
    raw = settings["raw_ingest"] if raw_ingest is None else bool(raw_ingest)
    meta = ddf._meta
    if event_id is not None:
        if not isinstance(event_id, str) or not event_id:
            raise ConfigError(f"event_id must be a field name such as 'hecnb_id'; got "
                              f"{event_id!r}.")
        if event_id in meta.columns:
            raise ConfigError(f"event_id={event_id!r} is already a column of the frame; "
                              "choose another name.")
        if event_id_from not in ("position", "content"):
            raise ConfigError(f"event_id_from must be 'position' or 'content'; got "
                              f"{event_id_from!r}.")
        meta = _with_event_ids(meta, event_id, "", event_id_from)
    # check the options against the columns here, before any task runs
    to_events(meta, fmt, raw=raw, **{"timeunit": settings["ingest_timeunit"],
                                     **_options_with_id(options, event_id)})
    run_id = uuid.uuid4().hex[:12]
    job = _Job(settings=settings, key_env=key_env, ingest_format=fmt, raw_ingest=raw,
               options=dict(options), event_id=event_id, event_id_from=event_id_from,
               id_prefix=dask.base.tokenize(ddf)[:12] if event_id else "",
               dead_letter_dir=(os.path.abspath(os.fspath(dead_letter_dir))
                                if dead_letter_dir is not None else None),
               failed_limit=failed_limit, run_id=run_id)
    prefix = f"hecnb-send-{run_id}-"
    send = dask.delayed(_send_partition, pure=False)
    tasks = [send(part, i, job, dask_key_name=f"{prefix}{i}")
             for i, part in enumerate(ddf.to_delayed())]
    dist = _distributed_client(ddf, client)
    bar = _bar(show_progress, len(tasks))
    t0 = time.perf_counter()
    try:
        if dist is not None:
            results, attempts = _run_distributed(dist, tasks, job, bar)
        else:
            if not _key_is_set(key_env):
                raise ConfigError(_missing_key_message(key_env, ["this machine"]))
            with _LocalProgress(bar, prefix) if bar is not None else nullcontext():
                results, attempts = list(dask.compute(*tasks)), {}
    finally:
        if bar is not None:
            bar.close()
    return _merge(results, job, time.perf_counter() - t0, attempts)


def _bar(show: bool | None, total: int) -> Any:
    if not (_interactive() if show is None else show):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=" partitions", desc="hecnb", mininterval=0.25,
                dynamic_ncols=True, leave=True)


# ---------------------------------------------------------------------------------- preview


def preview(ddf: Any, n: int = 3, ingest_format: str | None = None, *,
            raw_ingest: bool | None = None, hec: HEC | Mapping[str, Any] | None = None,
            event_id: str | None = None, event_id_from: str = "position",
            **options: Any) -> str:
    """``ddf.to_ngsiem.preview()``: the exact text one request would carry for the first
    ``n`` rows (it computes them)."""
    keywords, options = split_keywords(options)
    if keywords:
        hec = _with_keywords(hec, keywords)
    settings = _settings(hec) if hec is not None or current() is not None else {}
    fmt = ingest_format or settings.get("ingest_format", "json")
    raw = bool(settings.get("raw_ingest", False) if raw_ingest is None else raw_ingest)
    options.setdefault("timeunit", settings.get("ingest_timeunit", "nanoseconds"))
    options.setdefault("hec_time", settings.get("hec_time", True))
    head = ddf.head(max(0, int(n)), npartitions=1)
    if event_id is not None:
        head = _with_event_ids(head, event_id, f"{dask.base.tokenize(ddf)[:12]}-0-",
                               event_id_from)
        options = _options_with_id(options, event_id)
    return "".join(b.decode("utf-8") for b in encode(head, fmt, raw=raw, **options))
