"""The caller's side of a Dask send: check the settings and the key's variable here, make a
task per partition, run them (local scheduler or a distributed cluster), merge the results."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

try:
    import dask
    import dask.dataframe as dd
    from dask.callbacks import Callback
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("hecnb.dask needs Dask (dataframe and distributed): "
                      "pip install 'hecnb[dask]'") from exc

from .._encode.formats import to_events
from .._errors import ConfigError
from .._hec import HEC, check_send_keywords, split_keywords
from .._progress import _progress
from .._session import current
from .._settings.names import normalize_format
from .report import DaskSendReport, PartitionResult, _merge
from .task import (
    DEFAULT_KEY_ENV,
    _check_key_env,
    _Job,
    _key_is_set,
    _missing_key_message,
    _options_with_id,
    _send_partition,
    _topic,
    _with_event_ids,
)

# Validates settings on the caller's side; never sent anywhere (no request is made with it).
_PLACEHOLDER_KEY = "hecnb-dask-settings-check"








def _settings(hec: HEC | Mapping[str, Any] | None) -> dict[str, Any]:
    """The HEC keywords a worker needs, without the key, resolved and validated here.

    From an HEC (its key is left behind), from a mapping of HEC keywords, or from the session
    default / the ``NGSIEM_*`` variables of this process when ``hec`` is None.
    """
    if hec is None:
        hec = current()
    if isinstance(hec, HEC):
        return hec.settings(portable=True)
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
        settings = check.settings(portable=True)
    if "thread_count" not in kwargs:  # each worker's own default (its CPU count), not ours
        del settings["thread_count"]
    return settings


def _url_of(settings: dict[str, Any]) -> str:
    """The event URL those settings send to (for the report)."""
    with HEC(api_key=_PLACEHOLDER_KEY, **settings) as check:
        return check.raw_ingest_url if check.raw_ingest else check.ingest_url


def _with_keywords(hec: HEC | Mapping[str, Any] | None, keywords: dict[str, Any]
                   ) -> dict[str, Any]:
    """HEC keywords from ``hec`` (an HEC, a mapping, or the session default) changed by
    ``keywords``; a destination given replaces the one there."""
    if hec is None:
        hec = current()
    if isinstance(hec, HEC):
        base: dict[str, Any] = hec.settings(portable=True)
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
               failed_limit=failed_limit, run_id=run_id, url=_url_of(settings))
    prefix = f"hecnb-send-{run_id}-"
    send = dask.delayed(_send_partition, pure=False)
    tasks = [send(part, i, job, dask_key_name=f"{prefix}{i}")
             for i, part in enumerate(ddf.to_delayed())]
    dist = _distributed_client(ddf, client)
    bar = _progress(show_progress, len(tasks), unit=" partitions")
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


def preview(ddf: Any, n: int = 3, ingest_format: str | None = None, *,
            raw_ingest: bool | None = None, hec: HEC | Mapping[str, Any] | None = None,
            event_id: str | None = None, event_id_from: str = "position",
            **options: Any) -> str:
    """``ddf.to_ngsiem.preview()``: the exact text one request would carry for the first
    ``n`` rows (it computes them), as ``df.to_ngsiem.preview()`` says it."""
    from .._preview import preview as frame_preview

    keywords, options = split_keywords(options)
    if keywords:
        hec = _with_keywords(hec, keywords)
    settings = _settings(hec) if hec is not None or current() is not None else {}
    client = HEC(api_key=_PLACEHOLDER_KEY, **settings) if settings else None
    head = ddf.head(max(0, int(n)), npartitions=1)
    if event_id is not None:
        head = _with_event_ids(head, event_id, f"{dask.base.tokenize(ddf)[:12]}-0-",
                               event_id_from)
        options = _options_with_id(options, event_id)
    try:
        return frame_preview(head, n, hec=client, ingest_format=ingest_format,
                             raw_ingest=raw_ingest, **options)
    finally:
        if client is not None:
            client.close()
