"""HEC: the FalconPy-compatible surface over IngestConfig and the sending engine."""

from __future__ import annotations

import difflib
import itertools
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx

from . import __version__
from ._compress import GZIP_ERRORS, gzip_reader
from ._encode.envelope import IngestPayload, JsonEventEncoder
from ._errors import ConfigError, ConversionError, EventFileError, HecInsecureWarning
from ._report.deadletter import ReplayEncoder, fill_payloads, read_dead_letter
from ._report.report import FailedEvent, SendReport
from ._send.engine import NOT_SENT, STOPPED, Engine, describe_status
from ._send.retry import RetryPolicy, is_delivered
from ._settings.config import (
    CONTENT_TYPES,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_RETRY_MAX_ELAPSED,
    MAX_EVENT_BYTES,
    MAX_IN_FLIGHT,
    MAX_THREADS,
    IngestConfig,
    IngestFormat,
    TimeUnit,
    default_thread_count,
    mask_secret,
    normalize_format,
)
from ._settings.secret import SecretHeaders as _Headers
from ._settings.secret import _mask_auth

__all__ = ["CLIENT_KEYWORDS", "HEC", "ConnectionCheck", "DeliveredCount", "HTTPEventCollector",
           "LogFacility", "SessionManager", "check_send_keywords", "client_keywords",
           "split_keywords"]

_KEYWORDS = (
    "api_key", "api_url_key", "debug", "ingest_format", "ingest_region", "ingest_timeout",
    "ingest_timeunit", "raw_ingest", "retry_count", "sanitize_log", "thread_count", "ingest_url",
    "auth_scheme", "batch_max_bytes", "batch_max_events", "compress", "verify",
    "allow_insecure_http", "backoff_base", "backoff_max", "max_in_flight", "retry_max_elapsed",
    "hec_time", "proxy", "transport",
)
#: HEC keywords a one-call front-end (``df.to_ngsiem``) takes beside the send options: the
#: destination and the client's settings.
CLIENT_KEYWORDS = frozenset(_KEYWORDS) - {"ingest_format", "raw_ingest"}
_DESTINATION = ("ingest_url", "api_url_key", "ingest_region")
#: Send options that keep a json list on FalconPy's per-event path (no bulk encoding).
_PLAIN_SEND_OPTIONS = frozenset({"timeunit", "timestamp_column", "hec_time"})
_TEST_EVENT = {"host": "connection_test", "test": "connection"}


def _check_seconds(name: str, value: Any, *, maximum: float = 86_400) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 < value <= maximum):
        raise ConfigError(f"{name} must be a number of seconds above 0 and at most "
                          f"{maximum:g}; got {value!r}.")
    return float(value)


def _check_count(name: str, value: Any, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(
            f"{name} must be a whole number from {minimum} to {maximum}; got {value!r}.")
    return value


class LogFacility:
    """Where debug output goes (FalconPy's LogFacility): a logger, sanitising, file flag."""

    def __init__(self, log: logging.Logger | None = None, file_log: int | None = None,
                 sanitize_log: bool = True) -> None:
        self.log = log
        self.file_log = file_log or 0
        self.sanitize_log = sanitize_log


class SessionManager:
    """Holds the sending engine: its thread count, retry count and the pooled HTTP clients.

    FalconPy keeps a list of ``requests`` sessions here; hecnb keeps one ``httpx.AsyncClient``
    connection pool (up to ``max_in_flight`` connections) driven by one event-loop thread, used
    by sends and connection checks alike; ``sessions`` lists it once it is open.
    """

    def __init__(self, thread_count: int | None = None, retry_count: int | None = 3, *,
                 backoff_base: float | None = 0.25, backoff_max: float | None = 10.0,
                 max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
                 retry_max_elapsed: float | None = DEFAULT_RETRY_MAX_ELAPSED,
                 transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None
                 ) -> None:
        """Every argument may be None for its default, as FalconPy's ``thread_count``."""
        threads = default_thread_count() if thread_count is None else thread_count
        backoff_base = 0.25 if backoff_base is None else backoff_base
        backoff_max = 10.0 if backoff_max is None else backoff_max
        for name, value in (("backoff_base", backoff_base), ("backoff_max", backoff_max)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    0 < value <= 600):
                raise ConfigError(f"{name} must be a number of seconds above 0 and at most 600; "
                                  f"got {value!r}.")
        self.engine = Engine(
            thread_count=_check_count("thread_count", threads, minimum=1, maximum=MAX_THREADS),
            max_in_flight=_check_count(
                "max_in_flight", DEFAULT_MAX_IN_FLIGHT if max_in_flight is None else max_in_flight,
                minimum=1, maximum=MAX_IN_FLIGHT),
            retry=RetryPolicy(retries=_check_count("retry_count",
                                                   3 if retry_count is None else retry_count,
                                                   minimum=0, maximum=100),
                              base=float(backoff_base), cap=float(backoff_max)),
            retry_max_elapsed=_check_seconds(
                "retry_max_elapsed",
                DEFAULT_RETRY_MAX_ELAPSED if retry_max_elapsed is None else retry_max_elapsed),
            transport=transport,
        )

    @property
    def retry_max_elapsed(self) -> float:
        """Seconds a throttled send goes on while the collector accepts nothing (429, or 503
        with Retry-After, are waited out, not counted against ``retry_count``)."""
        return self.engine.retry_max_elapsed

    @retry_max_elapsed.setter
    def retry_max_elapsed(self, value: float | None) -> None:
        self.engine.retry_max_elapsed = _check_seconds(
            "retry_max_elapsed", DEFAULT_RETRY_MAX_ELAPSED if value is None else value)

    @property
    def thread_count(self) -> int:
        """Worker threads per send: they assemble and gzip request bodies."""
        return self.engine.thread_count

    @thread_count.setter
    def thread_count(self, value: int | None) -> None:
        self.engine.thread_count = _check_count(
            "thread_count", default_thread_count() if value is None else value, minimum=1,
            maximum=MAX_THREADS)

    @property
    def max_in_flight(self) -> int:
        """Requests in flight at once (pooled connections); hides the round trip's latency."""
        return self.engine.max_in_flight

    @max_in_flight.setter
    def max_in_flight(self, value: int) -> None:
        self.engine.max_in_flight = _check_count("max_in_flight", value, minimum=1,
                                                 maximum=MAX_IN_FLIGHT)

    @property
    def retry_count(self) -> int:
        """Retries after the first attempt of a request."""
        return self.engine.retry.retries

    @retry_count.setter
    def retry_count(self, value: int | None) -> None:
        n = _check_count("retry_count", 3 if value is None else value, minimum=0, maximum=100)
        self.engine.retry = RetryPolicy(n, self.engine.retry.base, self.engine.retry.cap,
                                        self.engine.retry.retry_after_cap)

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


@dataclass
class ConnectionCheck:
    """The result of :meth:`HEC.check_connection`; truthy when the collector accepted an event."""

    ok: bool
    url: str
    status: int | None
    reason: str
    latency_ms: float | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.reason

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#cf222e"
        mark = "&#10004;" if self.ok else "&#10008;"
        import html

        return f"<span style='color:{colour}'>{mark} {html.escape(self.reason)}</span>"


class HEC:
    """Send events to Falcon NG-SIEM's HTTP Event Collector; a drop-in for FalconPy's ``HEC``.

    Same keywords, properties, methods and context manager as FalconPy, but events travel many
    per gzip-compressed request from a thread pool over one keep-alive connection pool, with
    retries and a :class:`SendReport` that accounts for every event.

    Every keyword may be ``None``, which means its default (as FalconPy's code passes
    ``ingest_timeout=None`` and ``thread_count=None``):

    ===================  ===============================  ==================================
    keyword              default (also for ``None``)      allowed
    ===================  ===============================  ==================================
    api_key              ``$NGSIEM_API_KEY``              the connector's API key
    api_url_key          ``$NGSIEM_URL_KEY``              a DNS label, or the whole API URL
    debug                False                            log to the ``hecnb`` logger
    ingest_format        json                             json yaml xml csv, IngestFormat
    ingest_region        ``$NGSIEM_REGION`` or us1        us1 us2 us3 eu1 usgov1 usgov2
    ingest_timeout       5                                seconds, > 0
    ingest_timeunit      nanoseconds                      seconds milliseconds, TimeUnit
    raw_ingest           False                            bool
    retry_count          3                                0-100 retries after the first try
    sanitize_log         True                             bool
    thread_count         CPUs x 2, at most 50             1-500
    ingest_url           ``$NGSIEM_INGEST_URL``           the full API URL (wins over both)
    auth_scheme          Bearer                           Bearer, Splunk
    batch_max_bytes      1 MiB                            1 byte - 32 MiB per request
    batch_max_events     no limit                         >= 1 per request
    compress             True                             gzip request bodies
    verify               True                             bool, CA bundle path, SSLContext
    allow_insecure_http  False                            http:// to hosts other than loopback
    backoff_base/_max    0.25 / 10.0                      seconds between retries
    max_in_flight        16                               1-256 requests at once
    retry_max_elapsed    300                              seconds a throttled send may wait
    ===================  ===============================  ==================================

    >>> from hecnb import HEC
    >>> with HEC(api_key=KEY, api_url_key=URL_KEY) as hec:          # doctest: +SKIP
    ...     hec.send_event_list(events, show_progress=True)
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_url_key: str | None = None,
        debug: bool | None = False,
        *,
        ingest_format: str | IngestFormat | None = None,
        ingest_region: str | None = None,
        ingest_timeout: float | str | None = None,
        ingest_timeunit: str | TimeUnit | None = None,
        raw_ingest: bool | None = None,
        retry_count: int | None = None,
        sanitize_log: bool | None = None,
        thread_count: int | None = None,
        ingest_url: str | None = None,
        auth_scheme: str | None = None,
        batch_max_bytes: int | None = None,
        batch_max_events: int | None = None,
        compress: bool | None = None,
        verify: Any = None,
        allow_insecure_http: bool | None = None,
        backoff_base: float | None = None,
        backoff_max: float | None = None,
        max_in_flight: int | None = None,
        retry_max_elapsed: float | None = None,
        hec_time: bool | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        proxy: str | bool | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            bad = next(iter(kwargs))
            close = difflib.get_close_matches(bad, _KEYWORDS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"HEC() got an unknown keyword {bad!r}.{hint} "
                              f"Known keywords: {', '.join(_KEYWORDS[:-1])}.")
        self._last_status: int | None = None
        self._last_message: str | None = None
        self._last_report: SendReport | None = None
        self.hec_time = hec_time
        self.ingest_config = IngestConfig(
            api_key, api_url_key, ingest_format, ingest_region, ingest_timeout, ingest_timeunit,
            raw_ingest, ingest_url=ingest_url, auth_scheme=auth_scheme,
            batch_max_bytes=batch_max_bytes, batch_max_events=batch_max_events,
            compress=compress, verify=verify, allow_insecure_http=allow_insecure_http,
            proxy=proxy,
        )
        self.ingest_config.require_key()
        _ = self.ingest_config.ingest_url  # a destination is required: fail now, not at send
        if verify is False:
            warnings.warn(
                "TLS certificate verification is off (verify=False): anyone on the network path "
                "can read the API key. Pass verify='/path/to/ca.pem' for a private CA instead.",
                HecInsecureWarning, stacklevel=2)
        self.session_manager = SessionManager(thread_count, retry_count,
                                              backoff_base=backoff_base, backoff_max=backoff_max,
                                              max_in_flight=max_in_flight,
                                              retry_max_elapsed=retry_max_elapsed,
                                              transport=transport)
        self.log_facility = LogFacility(
            logging.getLogger("hecnb") if debug else None, None,
            True if sanitize_log is None else sanitize_log)
        if debug:
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.FileHandler):
                    self.file_log = 2
            self.session_manager.engine._log = self.log_activity
            self.log_startup()

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> HEC:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (the context manager does this for you)."""
        self.session_manager.close()

    def __repr__(self) -> str:
        cfg = self.ingest_config
        try:
            url = cfg.target_url
        except ConfigError:
            url = None
        return (f"HEC(url={url!r}, api_key={mask_secret(cfg.ingest_key)!r}, "
                f"ingest_format={cfg.ingest_format!r}, raw_ingest={cfg.raw_ingest}, "
                f"thread_count={self.thread_count}, retry_count={self.retry_count})")

    # -- logging -------------------------------------------------------------------------------
    def log_activity(self, msg: str | list[str], logo: bool = False) -> None:
        """Write debug lines to the ``hecnb`` logger (only with ``debug=True``); keys masked."""
        log = self.log
        if not msg or log is None:
            return
        key = self.ingest_config.ingest_key
        for line in (msg if isinstance(msg, list) else [msg]):
            text = str(line)
            if key and key in text:
                text = text.replace(key, mask_secret(key) if not self.sanitize_log else "****")
            log.debug(text)

    def log_startup(self) -> None:
        """Log the collector's configuration (FalconPy's startup lines)."""
        cfg = self.ingest_config
        headers = self.hec_headers
        shown = {k: (_mask_auth(v, last4=not self.sanitize_log) if k == "Authorization" else v)
                 for k, v in headers.items()}
        self.log_activity([
            "HTTP EVENT COLLECTOR: Instance created",
            f"VERSION: hecnb {__version__}",
            f"START TIME: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M:%S %Z')}",
            f"INGEST FORMAT: {self.ingest_format_name}",
            f"INGEST TIME UNIT: {cfg.ingest_timeunit.title()}",
            f"CONNECTOR URL: {cfg.target_url}",
            f"RAW INGEST: {'Enabled' if cfg.raw_ingest else 'Disabled'}",
            f"REQUEST TIMEOUT: {cfg.ingest_timeout} seconds",
            f"REQUEST RETRY COUNT: {self.retry_count} retries",
            f"ASYNC THREAD COUNT: {self.thread_count} threads",
            f"BATCH LIMITS: {cfg.batch_max_bytes} bytes, {cfg.batch_max_events or 'any'} events",
            f"COMPRESSION: {'gzip' if cfg.compress else 'none'}",
            f"REQUEST HEADERS: {shown}",
        ])

    # -- sending -------------------------------------------------------------------------------
    def _encoder(self, ingest_format: str | None = None, raw: bool | None = None, *,
                 bulk: bool = False, **options: Any) -> Any:
        cfg = self.ingest_config
        fmt = normalize_format(cfg.ingest_format if ingest_format is None else ingest_format)
        raw = cfg.raw_ingest if raw is None else raw
        timeunit = options.pop("timeunit", None) or cfg.ingest_timeunit
        options.setdefault("hec_time", self.hec_time)
        if fmt == "json" and not bulk and _plain(options):  # FalconPy's path; no pandas
            return JsonEventEncoder(timeunit=timeunit, raw=raw, **options)
        from ._encode.formats import make_encoder

        return make_encoder(fmt, raw=raw, timeunit=timeunit, **options)

    def _finish(self, report: SendReport) -> SendReport:
        self._last_report = report
        self.track_result(report.last_status, report.last_message)
        self.log_activity(f"SEND COMPLETE: {report}")
        return report

    def send(self, events: Iterable[Any], *, show_progress: bool | None = None,
             total: int | None = None, ingest_format: str | None = None,
             raw_ingest: bool | None = None, _indexed: bool = False,
             **options: Any) -> SendReport:
        """Send events and return what became of each.

        ``events`` may be dicts, strings or IngestPayload objects, or a pandas DataFrame.
        ``ingest_format`` and ``raw_ingest`` override the instance's for this send; ``options``
        go to the converter (``host``, ``timestamp_column``, ``fields``, ``columns``, ``na``).
        ``show_progress=None`` shows a bar in notebooks and terminals. On KeyboardInterrupt the
        report (``hec.last_report``) lists every event not confirmed, then the interrupt is
        re-raised.

        >>> report = hec.send(events)          # doctest: +SKIP
        >>> report.delivered, report.failed    # doctest: +SKIP
        """
        cfg = self.ingest_config
        if isinstance(events, (dict, IngestPayload)):  # one event, not an iterable of its keys
            events = [events]
        fmt = cfg.ingest_format if ingest_format is None else normalize_format(ingest_format)
        raw = cfg.raw_ingest if raw_ingest is None else bool(raw_ingest)
        bulk = not _indexed and (not _plain(options) or fmt != "json" or _is_frame(events))
        encoder = self._encoder(fmt, raw, bulk=bulk, **options)
        items: Iterable[Any] = events
        if bulk:
            if total is None and hasattr(events, "__len__"):
                total = len(events)  # type: ignore[arg-type]
            items = encoder.encode_chunks(events)
        engine = self.session_manager.engine

        def keep_source(report: SendReport) -> SendReport:
            report.source, report.bulk = events, bulk  # what a resend re-encodes from
            if (report.interrupted or report.stopped) and bulk and hasattr(events, "__len__"):
                _add_unreached(report, events, engine.last_placed,
                               STOPPED + report.stopped if report.stopped else NOT_SENT)
            _time_report(report, encoder)
            return report

        return self._run(items, encoder, raw=raw, fmt=fmt, show_progress=show_progress,
                         total=total, indexed=_indexed, encoded=bulk, prepare=keep_source)

    def _run(self, items: Iterable[Any], encoder: Any, *, raw: bool, fmt: str,
             show_progress: bool | None, total: int | None = None, indexed: bool = False,
             encoded: bool = False,
             prepare: Callable[[SendReport], SendReport] | None = None) -> SendReport:
        """One engine run to this instance's endpoint. The report (made ready by ``prepare``)
        becomes ``last_report`` even when an interrupt ends the run, before it propagates."""
        cfg = self.ingest_config
        engine = self.session_manager.engine
        try:
            report = engine.run(items, config=cfg, encoder=encoder, show_progress=show_progress,
                                total=total, indexed=indexed, encoded=encoded,
                                url=cfg.raw_ingest_url if raw else cfg.ingest_url,
                                ingest_format=fmt)
        except BaseException:
            partial = engine.last_report
            if partial is not None and partial.interrupted:
                self._finish(prepare(partial) if prepare else partial)
            raise
        return self._finish(prepare(report) if prepare else report)

    def send_event(self, evt: dict[str, Any] | str | Any) -> int:
        """Send one event; return the HTTP status (0 when no answer came; see last_message).

        Safe to call from many threads at once (FalconPy's samples do): each call returns the
        status of its own request; ``last_status`` is that of whichever finished last.
        """
        if not isinstance(evt, (dict, str, bytes)) and not hasattr(evt, "to_json") and not \
                hasattr(evt, "keys"):
            raise ConversionError(
                f"send_event() takes a dict, a str or an IngestPayload, not {type(evt).__name__}.")
        if self.log is not None:
            self.log_activity(f"EVENT PROCESSED: {self.format_event(evt)}")
        report = self.send([evt], show_progress=False)
        if report.failed and report.failed[0].status is None and not report.batches:
            raise ConversionError(report.failed[0].reason)
        return 0 if report.last_status is None else report.last_status

    def send_event_list(self, event_list: Iterable[Any], show_progress: bool = False) -> int:
        """Send events many per request; return the number delivered.

        With ``show_progress=True`` a tqdm bar counts events as requests are answered, and the
        number returned is a :class:`DeliveredCount`: still that int, and also iterable like
        FalconPy's generator (the running count of delivered events after each request was
        answered). Details of every failure are in ``hec.last_report``.
        """
        self.log_activity("EVENT LIST: BEGIN PROCESSING")
        report = self.send(event_list, show_progress=show_progress)
        self.log_activity(f"EVENT LIST: Processing of {report.total} events completed with "
                          f"{report.delivered} successes")
        if show_progress:
            return DeliveredCount.of(report)
        return report.delivered

    def process_list(self, events: Iterable[Any]) -> int:
        """FalconPy's ``process_list``: :meth:`send_event_list` without progress."""
        return self.send_event_list(events)

    def process_list_with_progress(self, events: Iterable[Any]) -> DeliveredCount:
        """FalconPy's ``process_list_with_progress``: send with a bar; iterate the counts."""
        return self.send_event_list(events, show_progress=True)  # type: ignore[return-value]

    def slice_raw_data(self, data: str) -> list[dict[str, Any]]:
        """FalconPy's ``slice_raw_data``: cut text at line ends into chunks of at most
        10,240,000 characters, as ``[{"data": text, "count": lines}, ...]``.

        hecnb does not need it to send (``send_event_file`` streams and batches by bytes); it is
        here for code that calls it.
        """
        limit = 10_240_000
        created: list[dict[str, Any]] = []
        start, total = 0, 0
        while start < len(data):
            end = min(start + limit, len(data))
            if end < len(data):
                cut = data.rfind("\n", start, end)
                if cut != -1:
                    end = cut + 1
            chunk = data[start:end]
            count = len(chunk.split("\n")) - 1
            self.log_activity(f"Created batch of {count} records")
            total += count
            created.append({"data": chunk, "count": count})
            start = end
        self.log_activity(f"{total} records processed into {len(created)} batches")
        return created

    @staticmethod
    def detect_gzip(filename: str | os.PathLike[str]) -> bool:
        """True when the file starts with gzip's magic bytes (FalconPy's ``detect_gzip``).

        A missing file raises :class:`EventFileError` (FalconPy: ``SystemExit``).
        """
        path = os.fspath(filename)
        try:
            with open(path, "rb") as handle:
                return handle.read(2) == _GZIP_MAGIC
        except OSError as exc:
            raise EventFileError(f"Cannot read event file {path!r}: {exc.strerror or exc}."
                                 ) from None

    def send_event_file(self, event_file: str | os.PathLike[str]) -> int:
        """Stream a file (plain or gzip) in bounded memory; return the HTTP status, as FalconPy.

        With ``raw_ingest`` each line is one raw event; otherwise each line must be a JSON object
        and becomes one event envelope. The status is 200 only if every line was delivered
        (``hec.last_report.delivered`` counts them): the status of the last failed request, 0
        when no answer came, 400 when a line could not be an event (not JSON, not UTF-8, too
        long), the collector's answer to invalid data.
        """
        report = self.send_file(event_file, show_progress=False)
        return 200 if report.ok else (report.last_status or 0)

    def send_file(self, event_file: str | os.PathLike[str], *,
                  show_progress: bool | None = None, raw_ingest: bool | None = None,
                  start_line: int = 0, **options: Any) -> SendReport:
        """Like :meth:`send_event_file`, returning the :class:`SendReport`.

        ``start_line`` (0-based) skips the lines before it: a resume after an interrupt.
        ``options`` are the send options of :meth:`send` (``timestamp_column``,
        ``hec_time``...) for JSON lines; raw lines are sent as they are.
        """
        path = os.fspath(event_file)
        raw = self.raw_ingest if raw_ingest is None else raw_ingest
        handle, compressed = _open_event_file(path)
        self.log_activity(f"EVENT FILE: {path} ({'gzip' if compressed else 'plain'})")
        lines: _FileEvents | _RawFileChunks
        try:
            if raw:  # lines go as they are: cut the file in blocks, no Python step per line
                lines = _RawFileChunks(handle, path, start_line=start_line)
                report = self._run(lines, self._encoder(raw=True), raw=True,
                                   fmt=self.ingest_format, show_progress=show_progress,
                                   encoded=True)
            else:
                lines = _FileEvents(handle, path, raw=raw, start_line=start_line)
                report = self.send(lines, show_progress=show_progress, raw_ingest=raw,
                                   _indexed=True, **options)
        except KeyboardInterrupt:
            report = self.last_report  # type: ignore[assignment]
            if report is not None:
                if not lines.exhausted:
                    report.unread = (os.path.abspath(path), lines.lines_read)
                self._add_file_problems(report, lines)
            raise
        finally:
            handle.close()
        if report.stopped and not lines.exhausted:  # a permanent failure: the rest not read
            report.unread = (os.path.abspath(path), lines.lines_read)
        self._add_file_problems(report, lines)
        return report

    def _add_file_problems(self, report: SendReport,
                           lines: _FileEvents | _RawFileChunks) -> None:
        if not (lines.bad_lines or lines.problems):
            return
        report.failed.extend(lines.bad_lines)
        report.failed.sort(key=lambda f: f.index)
        report.total += len(lines.bad_lines)
        report.errors.extend(lines.problems)
        if report.last_status in (None, 200):  # no request failed: the file's own problem
            # a line that cannot be an event is what the collector answers 400 to; a file
            # that breaks off had no answer at all
            report.last_status = 0 if lines.problems else 400
            report.last_message = (lines.problems or [lines.bad_lines[0].reason])[0]
        lines.bad_lines, lines.problems = [], []
        self._finish(report)

    def resend(self, source: SendReport | str | os.PathLike[str] | list[dict[str, Any]], *,
               show_progress: bool | None = None) -> SendReport:
        """Send again exactly the events a report (or a dead-letter file) lists as failed.

        Events are re-sent byte for byte as first encoded (same timestamps), to this instance's
        destination. An unread file tail recorded at an interrupt is streamed from where it
        stopped. Events that were never encodable are reported failed again.
        """
        if isinstance(source, SendReport):
            fill_payloads(source)
            enc = source.encoder
            groups: dict[tuple[Any, ...], list[Any]] = {}
            key = (source.ingest_format, source.raw, getattr(enc, "prefix", b""),
                   getattr(enc, "suffix", b""))
            groups[key] = [(f.index, f.payload, f.event) if f.payload is not None else f
                           for f in source.failed]
            unread = [source.unread] if source.unread else []
            unread_raw = source.raw
        else:
            records = source if isinstance(source, list) else read_dead_letter(source)
            groups = {}
            unread = []
            unread_raw = self.raw_ingest
            for rec in records:
                if "unread_file" in rec:
                    unread.append((rec["unread_file"], int(rec.get("from_line", 0))))
                    unread_raw = bool(rec.get("raw", unread_raw))
                    continue
                key = (rec.get("format", "json"), bool(rec.get("raw")),
                       (rec.get("prefix") or "").encode(), (rec.get("suffix") or "").encode())
                item = ((rec.get("index", 0), rec["payload"].encode("utf-8"), rec.get("event"))
                        if rec.get("payload") is not None else
                        FailedEvent(rec.get("index", 0), rec.get("event"), rec.get("reason", "")))
                groups.setdefault(key, []).append(item)
        total = SendReport(url=self.ingest_url, ingest_format=self.ingest_format)
        for (fmt, raw, prefix, suffix), items in groups.items():
            ready = [i for i in items if isinstance(i, tuple)]
            hopeless = [i for i in items if isinstance(i, FailedEvent)]
            encoder = ReplayEncoder(content_type=CONTENT_TYPES[fmt], prefix=prefix,
                                    suffix=suffix, raw=raw)
            chunks = [([i for i, _, _ in part], [p for _, p, _ in part],
                       [e for _, _, e in part]) for part in _slices(ready, 2048)]
            if total.stopped:  # an earlier group met a permanent failure: send no more
                report = SendReport(url=total.url, ingest_format=fmt, raw=raw, encoder=encoder)
                report.failed = [FailedEvent(i, e, STOPPED + total.stopped, payload=p)
                                 for i, p, e in ready]
                report.total = len(ready)
            else:
                report = self._run(chunks, encoder, raw=raw, fmt=fmt,
                                   show_progress=show_progress, total=len(ready),
                                   encoded=True,
                                   prepare=lambda r: total.merge(r) if r.interrupted else r)
            for f in hopeless:
                report.failed.append(FailedEvent(f.index, f.event, "cannot be resent: it was "
                                                 f"never encoded ({f.reason})"))
                report.total += 1
            total.merge(report)
        for path, start in unread:
            if total.stopped:  # the tail stays unread, for the next resend
                total.unread = total.unread or (path, start)
                continue
            total.merge(self.send_file(path, show_progress=show_progress, raw_ingest=unread_raw,
                                       start_line=start))
        return self._finish(total)

    def format_event(self, evt: Any) -> Any:
        """The envelope hecnb would send for ``evt`` (FalconPy's ``format_event``); with
        ``raw_ingest``, its JSON text, as FalconPy returns it (``json.dumps``)."""
        env = self._encoder().envelope(evt)
        if self.raw_ingest and isinstance(env, dict):
            return json.dumps(env)
        return env

    # -- connection checks ----------------------------------------------------------------------
    def check_connection(self) -> ConnectionCheck:
        """Send FalconPy's test event once (no retries) and say in plain words what happened.

        The answer is read as a send reads it: within the ``ingest_timeout`` deadline, at most
        64 KiB, parsed defensively, its text cleaned of the key before it is kept.
        """
        cfg = self.ingest_config
        url = cfg.target_url
        engine = self.session_manager.engine
        enc = self._encoder()
        body = enc.body([enc.encode(_TEST_EVENT)])
        answer = engine.check(cfg, url, body, cfg.content_type)
        status = answer.status
        if status is None:
            self.track_result(0, answer.reason)
            return ConnectionCheck(False, url, None, f"Cannot reach the collector: "
                                   f"{answer.reason}.")
        latency = answer.seconds * 1000
        self.track_result(status, {"text": answer.text, "code": answer.hec_code}
                          if answer.hec else answer.text)
        if is_delivered(status):
            but = f" (but: {answer.warning})" if answer.warning else ""
            return ConnectionCheck(True, url, status,
                                   f"Connected: the collector accepted a test event in "
                                   f"{latency:.0f} ms{but}.", latency)
        advice = {
            401: "the API key is missing or malformed; paste the key shown when the connector "
                 "was created",
            403: "the API key was refused; it does not belong to this connector (or was "
                 "regenerated): check api_key and the URL",
            404: "there is no HEC endpoint at this URL; check the URL key and region, or copy "
                 "the API URL from the connector's page",
        }.get(status)
        if advice and answer.text:
            advice += f" (the collector said: {answer.text})"
        if advice:
            return ConnectionCheck(False, url, status, f"HTTP {status}: {advice}.", latency)
        reason = answer.reason or describe_status(status, answer.hec_code, answer.text)
        return ConnectionCheck(False, url, status, f"{reason}.", latency)

    def test_connection(self) -> bool:
        """True when the collector accepts a test event (FalconPy's test)."""
        self.log_activity("CONNECTION TEST: BEGIN")
        result = self.check_connection()
        self.log_activity(f"CONNECTION TEST: {'SUCCESS' if result else 'FAILED'}: {result}")
        return result.ok

    def track_result(self, code: int | None, msg: Any) -> None:
        """Update last_status and last_message."""
        self.last_status = code
        self.last_message = msg

    # -- properties (FalconPy's table) ----------------------------------------------------------
    @property
    def ingest_config(self) -> IngestConfig:
        """The ingest configuration object."""
        return self._ingest_config

    @ingest_config.setter
    def ingest_config(self, value: IngestConfig) -> None:
        if not isinstance(value, IngestConfig):
            raise ConfigError("ingest_config must be an IngestConfig.")
        self._ingest_config = value

    @property
    def ingest_key(self) -> str | None:
        """The API key (never shown by hecnb)."""
        return self.ingest_config.ingest_key

    @ingest_key.setter
    def ingest_key(self, value: str) -> None:
        self.ingest_config.ingest_key = value
        self.ingest_config.require_key()

    @property
    def ingest_url_key(self) -> str | None:
        """The URL key (first label of the API URL's host)."""
        return self.ingest_config.ingest_url_key

    @ingest_url_key.setter
    def ingest_url_key(self, value: str) -> None:
        self.ingest_config.ingest_url_key = value

    @property
    def ingest_format(self) -> str:
        """``json``, ``yaml``, ``xml`` or ``csv`` (the Content-Type is in ``hec_headers``)."""
        return self.ingest_config.ingest_format

    @ingest_format.setter
    def ingest_format(self, value: str) -> None:
        self.ingest_config.ingest_format = value

    @property
    def ingest_format_name(self) -> str:
        """Upper-case format name, e.g. ``JSON`` (as FalconPy's enum name)."""
        return self.ingest_config.ingest_format.upper()

    @property
    def ingest_timeout(self) -> float:
        """Request timeout in seconds."""
        return self.ingest_config.ingest_timeout

    @ingest_timeout.setter
    def ingest_timeout(self, value: float | str) -> None:
        self.ingest_config.ingest_timeout = value

    @property
    def ingest_timeunit(self) -> str:
        """Unit of generated timestamps."""
        return self.ingest_config.ingest_timeunit

    @ingest_timeunit.setter
    def ingest_timeunit(self, value: str) -> None:
        self.ingest_config.ingest_timeunit = value

    @property
    def ingest_base_url(self) -> str:
        """Ingest host of the region; set a region keyword or a host."""
        return self.ingest_config.ingest_base_url

    @ingest_base_url.setter
    def ingest_base_url(self, value: str) -> None:
        self.ingest_config.ingest_base_url = value

    @property
    def ingest_region(self) -> str:
        """Region keyword (``us1`` ... ``usgov2``)."""
        return self.ingest_config.ingest_region

    @ingest_region.setter
    def ingest_region(self, value: str) -> None:
        self.ingest_config.ingest_region = value

    @property
    def ingest_url(self) -> str:
        """The event endpoint URL (read-only; pass ``ingest_url=`` to the constructor)."""
        return self.ingest_config.ingest_url

    @property
    def raw_ingest_url(self) -> str:
        """The raw endpoint URL (read-only)."""
        return self.ingest_config.raw_ingest_url

    @property
    def raw_ingest(self) -> bool:
        """Send to the raw endpoint."""
        return self.ingest_config.raw_ingest

    @raw_ingest.setter
    def raw_ingest(self, value: bool) -> None:
        self.ingest_config.raw_ingest = value

    @property
    def hec_headers(self) -> dict[str, str]:
        """The real request headers; their printed form masks the key."""
        return _Headers(self.ingest_config.headers())

    @property
    def last_status(self) -> int | None:
        """HTTP status of the last request (0: no answer; after a list, 200 only if all ok)."""
        return self._last_status

    @last_status.setter
    def last_status(self, value: int | None) -> None:
        self._last_status = value

    @property
    def last_message(self) -> Any:
        """The last answer's message, or the reason of the last failure."""
        return self._last_message

    @last_message.setter
    def last_message(self, value: Any) -> None:
        self._last_message = value

    @property
    def last_report(self) -> SendReport | None:
        """The :class:`SendReport` of the last send."""
        return self._last_report

    @property
    def log_facility(self) -> LogFacility:
        """Debug logging facility."""
        return self._log_facility

    @log_facility.setter
    def log_facility(self, value: LogFacility) -> None:
        self._log_facility = value

    @property
    def log(self) -> logging.Logger | None:
        """The debug logger (``logging.getLogger('hecnb')`` with ``debug=True``)."""
        return self.log_facility.log

    @property
    def sanitize_log(self) -> bool:
        """Mask the key completely in debug logs (otherwise its last 4 characters show)."""
        return self.log_facility.sanitize_log

    @sanitize_log.setter
    def sanitize_log(self, value: bool) -> None:
        self.log_facility.sanitize_log = bool(value)

    @property
    def file_log(self) -> int:
        """2 when the root logger writes to a file (FalconPy's flag), else 0."""
        return self.log_facility.file_log

    @file_log.setter
    def file_log(self, value: int) -> None:
        self.log_facility.file_log = int(value)

    @property
    def session_manager(self) -> SessionManager:
        """Thread count, retry count and the HTTP connection pool."""
        return self._session_manager

    @session_manager.setter
    def session_manager(self, value: SessionManager) -> None:
        if not isinstance(value, SessionManager):
            raise ConfigError("session_manager must be a hecnb SessionManager.")
        self._session_manager = value

    @property
    def sessions(self) -> list[httpx.AsyncClient]:
        """The HTTP client in use: the connection pool, once a request was made."""
        return self.session_manager.sessions

    @sessions.setter
    def sessions(self, value: list[Any]) -> None:
        """Clearing (``[]``) closes the pool; anything else is not used (with a warning): hecnb
        sends through its own httpx pool, and FalconPy's ``requests`` sessions have no place
        in it."""
        if value:
            warnings.warn(
                "hec.sessions = [...] is ignored: hecnb sends through its own httpx connection "
                "pool, not through requests sessions. Set max_in_flight / thread_count instead.",
                UserWarning, stacklevel=2)
            return
        self.session_manager.close()

    @property
    def retry_count(self) -> int:
        """Retries after the first attempt of a request."""
        return self.session_manager.retry_count

    @retry_count.setter
    def retry_count(self, value: int) -> None:
        self.session_manager.retry_count = value

    @property
    def thread_count(self) -> int:
        """Worker threads per send (they assemble and gzip request bodies)."""
        return self.session_manager.thread_count

    @thread_count.setter
    def thread_count(self, value: int) -> None:
        self.session_manager.thread_count = value

    @property
    def retry_max_elapsed(self) -> float:
        """Seconds a throttled send goes on while the collector accepts nothing (hecnb only)."""
        return self.session_manager.retry_max_elapsed

    @retry_max_elapsed.setter
    def retry_max_elapsed(self, value: float | None) -> None:
        self.session_manager.retry_max_elapsed = value

    @property
    def hec_time(self) -> bool:
        """Write HEC's top-level ``time`` beside FalconPy's ``event`` (json, event endpoint;
        hecnb's own keyword). False gives FalconPy's envelope exactly."""
        return self._hec_time

    @hec_time.setter
    def hec_time(self, value: bool | None) -> None:
        if value is None:  # None: the default, as for every keyword
            value = True
        if not isinstance(value, bool):
            raise ConfigError(f"hec_time must be True or False; got {value!r}.")
        self._hec_time = value

    @property
    def max_in_flight(self) -> int:
        """Requests in flight at once (hecnb's own keyword; FalconPy has none)."""
        return self.session_manager.max_in_flight

    @max_in_flight.setter
    def max_in_flight(self, value: int) -> None:
        self.session_manager.max_in_flight = value

    @property
    def auth_scheme(self) -> str:
        """``Bearer`` or ``Splunk``."""
        return self.ingest_config.auth_scheme

    @auth_scheme.setter
    def auth_scheme(self, value: str) -> None:
        self.ingest_config.auth_scheme = value

    @property
    def batch_max_bytes(self) -> int:
        """Most bytes per request before compression."""
        return self.ingest_config.batch_max_bytes

    @batch_max_bytes.setter
    def batch_max_bytes(self, value: int) -> None:
        self.ingest_config.batch_max_bytes = value

    @property
    def batch_max_events(self) -> int | None:
        """Most events per request."""
        return self.ingest_config.batch_max_events

    @batch_max_events.setter
    def batch_max_events(self, value: int | None) -> None:
        self.ingest_config.batch_max_events = value

    @property
    def compress(self) -> bool:
        """gzip request bodies."""
        return self.ingest_config.compress

    @compress.setter
    def compress(self, value: bool) -> None:
        self.ingest_config.compress = value

    @property
    def verify(self) -> Any:
        """TLS verification setting."""
        return self.ingest_config.verify

    @property
    def proxy(self) -> str | bool | None:
        """The proxy for https:// targets (None: the environment's; False: none)."""
        return self.ingest_config.proxy

    @proxy.setter
    def proxy(self, value: str | bool | None) -> None:
        self.ingest_config.proxy = value


#: FalconPy's name for the collector class (``from falconpy import HTTPEventCollector``).
HTTPEventCollector = HEC


class DeliveredCount(int):
    """How many events a ``send_event_list(..., show_progress=True)`` delivered.

    It is that int for arithmetic, comparison, formatting and ``int()``, so code written for
    hecnb keeps reading a number; it also iterates like the generator FalconPy returns there:
    the running count of delivered events after each request was answered, ending with the
    total. Like a generator it is consumed by iterating. The send has already finished when it
    is returned (the tqdm bar showed its progress; ``hec.last_report`` has the details). Where a
    library takes any iterable as a sequence (``pd.Series(n)``), pass ``int(n)``.

    >>> n = DeliveredCount(5, [2, 5])
    >>> n + 1, f"{n:,}", list(n), list(n)
    (6, '5', [2, 5], [])
    """

    counts: tuple[int, ...]
    _next: int

    def __new__(cls, delivered: int, counts: Iterable[int] = ()) -> DeliveredCount:
        obj = super().__new__(cls, delivered)
        obj.counts = tuple(counts)  # numbers only: no report or events kept alive by a count
        obj._next = 0
        return obj

    @classmethod
    def of(cls, report: SendReport) -> DeliveredCount:
        """The count of ``report``, with the running totals of its answered requests."""
        running = itertools.accumulate(b.events if b.status == 200 else 0
                                       for b in report.batches)
        return cls(report.delivered, running)

    def __iter__(self) -> DeliveredCount:
        return self

    def __next__(self) -> int:
        if self._next >= len(self.counts):
            raise StopIteration
        self._next += 1
        return self.counts[self._next - 1]

    def __repr__(self) -> str:
        return int.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (DeliveredCount, (int(self), self.counts))


_GZIP_MAGIC = b"\x1f\x8b"


def split_keywords(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(HEC keywords, the rest)``: what makes a client, and the send options."""
    keywords = {k: v for k, v in options.items() if k in CLIENT_KEYWORDS}
    return keywords, {k: v for k, v in options.items() if k not in CLIENT_KEYWORDS}


def check_send_keywords(options: dict[str, Any], more: Sequence[str] = ()) -> None:
    """A keyword that is neither a send option nor an HEC keyword (nor one of ``more``) is a
    ConfigError that suggests the nearest of them all (checked before anything else)."""
    from ._encode.frames import OPTION_NAMES

    known = [*OPTION_NAMES, *sorted(CLIENT_KEYWORDS - {"transport"}), *more]
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown keyword {name!r}.{hint} Allowed options: "
                              f"{', '.join(OPTION_NAMES)}; and HEC keywords for the "
                              "destination and settings (ingest_url, api_url_key, ...).")


def client_keywords(base: HEC | None, changes: dict[str, Any]) -> dict[str, Any]:
    """HEC keywords for a client like ``base`` (its key included, in memory only) with
    ``changes``; a destination in ``changes`` replaces base's. Without a base, ``changes``
    (the key and destination fall back to the ``NGSIEM_*`` variables, as for ``HEC()``)."""
    if base is None:
        return dict(changes)
    cfg = base.ingest_config
    engine = base.session_manager.engine
    kw: dict[str, Any] = {
        "api_key": cfg.ingest_key, "ingest_format": cfg.ingest_format,
        "raw_ingest": cfg.raw_ingest, "ingest_timeout": cfg.ingest_timeout,
        "ingest_timeunit": cfg.ingest_timeunit, "auth_scheme": cfg.auth_scheme,
        "batch_max_bytes": cfg.batch_max_bytes, "batch_max_events": cfg.batch_max_events,
        "compress": cfg.compress, "verify": cfg.verify,
        "allow_insecure_http": cfg.allow_insecure_http, "retry_count": base.retry_count,
        "thread_count": base.thread_count, "max_in_flight": base.max_in_flight,
        "backoff_base": engine.retry.base, "backoff_max": engine.retry.cap,
        "hec_time": base.hec_time,
    }
    if "ingest_url" in changes or "api_url_key" in changes:
        if "api_url_key" in changes and "ingest_region" not in changes:
            kw["ingest_region"] = cfg.ingest_region
    elif cfg.describe()["region"] is None:  # base has a full URL
        if "ingest_region" in changes:
            raise ConfigError("ingest_region= applies to a URL key, but the client has a full "
                              "URL: pass api_url_key= with it, or ingest_url=.")
        kw["ingest_url"] = cfg.ingest_url
    else:
        kw.update(api_url_key=cfg.ingest_url_key, ingest_region=cfg.ingest_region)
    kw.update(changes)
    return kw


def _plain(options: dict[str, Any]) -> bool:
    """True for send options FalconPy's per-event json path handles (the time rule,
    ``timestamp_column=None``, ``hec_time``, ``timeunit``)."""
    from ._encode.eventtime import AUTO, check_choice

    return set(options) <= _PLAIN_SEND_OPTIONS and check_choice(
        options.get("timestamp_column", AUTO)) in (AUTO, None)


def _time_report(report: SendReport, encoder: Any) -> None:
    """Copy what the event-time rule did (the encoder's notes) into the report."""
    notes = getattr(encoder, "notes", None)
    if notes is None or not notes.events:  # raw text lines, ready envelopes: no rule applied
        return
    report.time_rule = notes.rule
    report.time_fields = dict(notes.fields)
    report.time_fallback = notes.fallback
    for warning in notes.all_warnings():
        if warning not in report.warnings:
            report.warn(warning)


def _slices(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _add_unreached(report: SendReport, data: Any, start: int, reason: str = NOT_SENT) -> None:
    """After an interrupt or a permanent failure, list the rows of ``data`` the send never
    reached (for a resend)."""
    n = len(data)
    if start >= n:
        return
    labels = list(data.index[start:]) if _is_frame(data) else data[start:]
    report.failed.extend(FailedEvent(pos, label, reason)
                         for pos, label in zip(range(start, n), labels, strict=True))
    report.total += n - start


def _is_frame(data: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas."""
    return type(data).__module__.startswith("pandas") and hasattr(data, "columns")


def _open_event_file(path: str) -> tuple[Any, bool]:
    """Open an event file for binary line reading; gzip is detected by its magic bytes."""
    if not os.path.exists(path):
        raise EventFileError(f"No such event file: {path!r}. Check the path (cwd is "
                             f"{os.getcwd()!r}).")
    if os.path.isdir(path):
        raise EventFileError(f"{path!r} is a directory, not an event file.")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the caller
        magic = handle.read(2)
    except OSError as exc:
        raise EventFileError(f"Cannot read event file {path!r}: {exc.strerror or exc}.") from None
    if not magic:
        handle.close()
        raise EventFileError(f"Event file {path!r} is empty: nothing to send.")
    handle.seek(0)
    if magic == _GZIP_MAGIC:
        return gzip_reader(handle), True
    return handle, False



class _RawFileChunks:
    """Raw event lines of a file as encoded chunks ``(line indices, lines, lines)``.

    The file is read in blocks and cut at line ends with C-level bytes methods (the raw
    endpoint's rule: ``\n``, ``\r\n`` or ``\r``); a block is checked for UTF-8 at once, and
    only a block with a problem is looked at line by line. Blank lines are skipped (the
    collector ignores them). A line longer than the per-event limit is skipped without ever
    being held whole. Memory stays bounded whatever the file size.
    """

    BLOCK = 1 << 20

    def __init__(self, handle: Any, path: str, *, start_line: int = 0) -> None:
        self.handle = handle
        self.path = path
        self.start_line = start_line
        self.bad_lines: list[FailedEvent] = []
        self.problems: list[str] = []
        self.lines_read = 0
        self.exhausted = False

    def _blocks(self) -> Iterator[bytes]:
        """Blocks of whole lines; an over-long line comes as ``b""`` (already skipped)."""
        read = self.handle.read
        rest = b""
        skipping = False
        while True:
            data = read(self.BLOCK)
            if not data:
                if rest and not skipping:
                    yield rest + b"\n"
                elif skipping:
                    yield b""
                return
            if skipping:  # inside an over-long line: drop up to its end
                cut = _line_end(data)
                if cut < 0:
                    continue
                skipping = False
                data = data[cut:]
                yield b""
            data = rest + data if rest else data
            cut = _last_line_end(data)
            if cut < 0:
                if len(data) > MAX_EVENT_BYTES + 2:
                    skipping, rest = True, b""
                else:
                    rest = data
                continue
            rest = data[cut:]
            if len(rest) > MAX_EVENT_BYTES + 2:
                skipping, rest = True, b""
            yield data[:cut]

    def __iter__(self) -> Iterator[tuple[Sequence[int], list[bytes], list[bytes]]]:
        try:
            for block in self._blocks():
                if not block:  # an over-long line
                    self.bad_lines.append(FailedEvent(
                        self.lines_read, None, f"line {self.lines_read + 1:,}: longer than "
                        f"the collector's {MAX_EVENT_BYTES:,}-byte limit per event; it was "
                        "skipped"))
                    self.lines_read += 1
                    continue
                lines = block.splitlines(keepends=True)
                first = self.lines_read
                self.lines_read += len(lines)
                if self.lines_read <= self.start_line:
                    continue
                indices: Sequence[int] = range(first, first + len(lines))
                if first < self.start_line:
                    lines = lines[self.start_line - first:]
                    indices = indices[self.start_line - first:]
                # a blank line is all whitespace, its line end included: one C-level pass
                if any(map(bytes.isspace, lines)) or not _is_utf8(block):
                    indices, lines = self._sift(indices, lines)
                if lines and lines[-1][-1:] not in (b"\n", b"\r"):
                    lines[-1] += b"\n"
                if lines:
                    yield indices, lines, lines
            self.exhausted = True
        except GZIP_ERRORS as exc:
            self.exhausted = True
            self.problems.append(f"{self.path} is truncated or corrupt after line "
                                 f"{self.lines_read} ({exc}); the lines before it were sent")

    def _sift(self, indices: Sequence[int], lines: list[bytes]
              ) -> tuple[list[int], list[bytes]]:
        """Drop blank lines and report lines that are not UTF-8."""
        keep_i, keep_l = [], []
        for i, line in zip(indices, lines, strict=True):
            if not line.strip():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad_lines.append(FailedEvent(
                    i, line.rstrip(b"\r\n"), f"line {i + 1:,}: not UTF-8 (byte "
                    f"{exc.start + 1}); re-encode {self.path} as UTF-8"))
                continue
            keep_i.append(i)
            keep_l.append(line)
        return keep_i, keep_l


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _line_end(data: bytes) -> int:
    """Position just after the first line end in ``data``, or -1."""
    n, r = data.find(b"\n"), data.find(b"\r")
    ends = [p for p in (n, r) if p >= 0]
    if not ends:
        return -1
    p = min(ends)
    return p + 2 if data[p:p + 2] == b"\r\n" else p + 1


def _last_line_end(data: bytes) -> int:
    """Position just after the last complete line end in ``data``, or -1.

    A ``\r`` at the very end may be the first half of ``\r\n``: it waits for more data.
    """
    p = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1))
    return p + 1 if p >= 0 else -1


class _FileEvents:
    """Iterate ``(line index, event)`` over an event file in bounded memory.

    Lines that cannot be events go to ``bad_lines`` (with the reason); a file that breaks off
    goes to ``problems``. ``lines_read`` says how far reading got (for a resume after an
    interrupt). A line longer than the per-event limit is skipped in chunks, never held whole.
    """

    def __init__(self, handle: Any, path: str, *, raw: bool, start_line: int = 0) -> None:
        self.handle = handle
        self.path = path
        self.raw = raw
        self.start_line = start_line
        self.bad_lines: list[FailedEvent] = []
        self.problems: list[str] = []
        self.lines_read = 0
        self.exhausted = False

    def _lines(self) -> Iterator[bytes | None]:
        """Raw lines; None stands for a line over the limit (already skipped)."""
        limit = MAX_EVENT_BYTES + 2
        readline = self.handle.readline
        while True:
            line = readline(limit)
            if not line:
                return
            if len(line) >= limit and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the long line
                    line = readline(limit)
                yield None
            else:
                yield line

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        import orjson

        try:
            for line in self._lines():
                self.lines_read += 1
                index = self.lines_read - 1
                if index < self.start_line:
                    continue
                if line is None:
                    self.bad_lines.append(FailedEvent(
                        index, None, f"line {index + 1:,}: longer than the collector's "
                        f"{MAX_EVENT_BYTES:,}-byte limit per event; it was skipped"))
                    continue
                text = line.rstrip(b"\r\n")
                if not text.strip():
                    continue
                try:
                    decoded = text.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self.bad_lines.append(FailedEvent(
                        index, text, f"line {index + 1:,}: not UTF-8 (byte {exc.start + 1}); "
                        f"re-encode {self.path} as UTF-8"))
                    continue
                if self.raw:
                    yield index, decoded
                    continue
                try:
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    self.bad_lines.append(FailedEvent(
                        index, decoded, f"line {index + 1:,}: invalid JSON ({exc.msg} at "
                        f"column {exc.colno}); text logs go with raw_ingest=True (--raw)"))
                    continue
                if not isinstance(obj, dict):
                    kind = {list: "an array", str: "a string", bool: "true or false",
                            type(None): "null"}.get(type(obj), "a number")
                    self.bad_lines.append(FailedEvent(
                        index, decoded, f"line {index + 1:,}: JSON {kind}, not an object (each "
                        "line must be one JSON object)"))
                    continue
                yield index, obj, decoded  # report the line as it was, keep no dict around
            self.exhausted = True
        except GZIP_ERRORS as exc:
            self.exhausted = True
            self.problems.append(f"{self.path} is truncated or corrupt after line "
                                 f"{self.lines_read} ({exc}); the lines before it were sent")
