"""HEC: the FalconPy-compatible surface over IngestConfig and the sending engine."""

from __future__ import annotations

import difflib
import inspect
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import httpx

from ._encode.jsonevents import JsonEventEncoder
from ._encode.payload import IngestPayload
from ._errors import ConfigError, ConversionError, HecInsecureWarning
from ._lazy import is_columnar, is_frame
from ._report.check import ConnectionCheck
from ._report.deadletter import ReplayEncoder
from ._report.delivered import DeliveredCount
from ._report.framejournal import SEND_KEYWORDS, send_journaled
from ._report.reasons import NOT_SENT, STOPPED
from ._report.replay import replay_chunks, replay_groups
from ._report.report import FailedEvent, SendReport
from ._send.manager import SessionManager
from ._settings.config import IngestConfig
from ._settings.declared import (
    ConfigSettings,
    EngineSettings,
    HecSettings,
    Keeps,
    LogSettings,
    Setting,
    by_keyword,
    check_keywords,
    keywords_of,
)
from ._settings.declared import declared as declared_settings
from ._settings.logs import LogFacility
from ._settings.names import (
    CONTENT_TYPES,
    normalize_format,
    normalize_region,
)
from ._settings.secret import SecretHeaders as _Headers
from ._settings.secret import _mask_auth, mask_secret
from ._settings.url import url_key_of
from ._source.files import is_gzip, slice_text
from ._source.filesend import send_file, send_files
from ._version import __version__

#: HEC keywords a one-call front-end (``df.to_ngsiem``) takes beside the send options: the
#: destination and the client's settings.
CLIENT_KEYWORDS = frozenset(keywords_of()) - {"ingest_format", "raw_ingest"}
_DESTINATION = ("ingest_url", "api_url_key", "ingest_region")
#: Send options that keep a json list on FalconPy's per-event path (no bulk encoding).
_PLAIN_SEND_OPTIONS = frozenset({"timeunit", "timestamp_column", "hec_time"})
_TEST_EVENT = {"host": "connection_test", "test": "connection"}
_OWNERS = {"ConfigSettings": "ingest_config", "EngineSettings": "session_manager",
           "LogSettings": "log_facility"}


class HEC(ConfigSettings, EngineSettings, LogSettings, HecSettings, Keeps):
    """Send events to Falcon NG-SIEM's HTTP Event Collector; a drop-in for FalconPy's ``HEC``.

    Same keywords, properties, methods and context manager as FalconPy, but events travel many
    per gzip-compressed request from a thread pool over one keep-alive connection pool, with
    retries and a :class:`SendReport` that accounts for every event.

    ``HEC(api_key=None, api_url_key=None, debug=False, **settings)``: the settings and their
    defaults are declared once, in :mod:`hecnb._settings.declared` (the README and
    docs/configuration.md have the table); every one may be ``None`` for its default (FalconPy's
    code passes ``ingest_timeout=None`` and ``thread_count=None``), and every one is also a
    property. ``hec.settings()`` gives them back as keywords, without the key.

    >>> from hecnb import HEC
    >>> with HEC(api_key=KEY, api_url_key=URL_KEY) as hec:          # doctest: +SKIP
    ...     hec.send_event_list(events, show_progress=True)
    """

    def __init__(self, api_key: str | None = None, api_url_key: str | None = None,
                 debug: bool | None = None, **settings: Any) -> None:
        check_keywords(settings, "HEC()")
        parts: dict[str, dict[str, Any]] = {owner: {} for owner in (*_OWNERS, "HecSettings")}
        declared = by_keyword()
        for keyword, value in settings.items():
            parts[declared[keyword].owner][keyword] = value
        self._values: dict[str, Any] = {}
        self._last_status: int | None = None
        self._last_message: str | None = None
        self._last_report: SendReport | None = None
        for keyword, setting in declared.items():
            if setting.owner == "HecSettings":
                setattr(self, setting.name, parts["HecSettings"].get(keyword))
        self.ingest_config = IngestConfig(api_key, api_url_key, **parts["ConfigSettings"])
        self.ingest_config.require_key()
        _ = self.ingest_config.ingest_url  # a destination is required: fail now, not at send
        if parts["ConfigSettings"].get("verify") is False:
            warnings.warn(
                "TLS certificate verification is off (verify=False): anyone on the network path "
                "can read the API key. Pass verify='/path/to/ca.pem' for a private CA instead.",
                HecInsecureWarning, stacklevel=2)
        self.session_manager = SessionManager(**parts["EngineSettings"])
        self.log_facility = LogFacility(sanitize_log=parts["LogSettings"].get("sanitize_log"))
        self.debug = debug

    # -- the settings (declared in _settings/declared.py) ----------------------------------------
    def _setting_get(self, setting: Setting[Any]) -> Any:
        owner = _OWNERS.get(setting.owner)
        if owner is None:
            return Keeps._setting_get(self, setting)
        return getattr(getattr(self, owner), setting.name)

    def _setting_set(self, setting: Setting[Any], value: Any) -> None:
        owner = _OWNERS.get(setting.owner)
        if owner is None:
            Keeps._setting_set(self, setting, value)
            return
        setattr(getattr(self, owner), setting.name, value)
        if setting.name == "ingest_key":
            self.ingest_config.require_key()
        elif setting.name == "debug":
            self._debug_on(bool(value))

    def _debug_on(self, on: bool) -> None:
        """With debug on, the engine logs each request and the startup lines are written."""
        self.session_manager.engine._log = self.log_activity if on else None
        if on:
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.FileHandler):
                    self.file_log = 2
            self.log_startup()

    def settings(self, *, portable: bool = False) -> dict[str, Any]:
        """Every setting but the key, as ``HEC()`` keywords: ``HEC(api_key=..., **settings)``
        makes a client like this one (the front-ends and Dask make theirs so).

        ``portable=True``: only what can travel to another process (Dask's workers): a
        transport or an SSL context cannot, and is a ConfigError; a proxy's password does not
        (it is a Secret, which pickles to nothing).
        """
        out = {s.keyword: getattr(self, s.name) for s in declared_settings()
               if not s.secret and s.keyword not in _DESTINATION}
        out.update(self.ingest_config.destination())
        out["proxy"] = self.ingest_config.proxy_setting
        if portable:
            if out.pop("transport", None) is not None:
                raise ConfigError("This HEC has a custom transport, which cannot travel to "
                                  "another process; pass its settings as a dict instead.")
            if not isinstance(out["verify"], (bool, str)):
                raise ConfigError("verify must be True, False or the path of a CA bundle that "
                                  "exists on the workers; an SSL context cannot travel to "
                                  "them.")
        return out

    def replace(self, **changes: Any) -> HEC:
        """A new client like this one (its key included, in memory only) with ``changes``.

        A destination among the changes replaces this one's: ``ingest_url=`` a URL key,
        ``api_url_key=`` a URL; ``ingest_region=`` alone applies to this client's URL key
        (from a full URL of a CrowdStrike region too).
        """
        check_keywords(changes, "replace()")
        kw = self.settings()
        kw["api_key"] = self.ingest_config.ingest_key
        if "ingest_url" in changes and "api_url_key" not in changes:
            kw["api_url_key"] = ""
        elif "api_url_key" in changes and "ingest_url" not in changes:
            kw["ingest_url"] = ""
        elif "ingest_region" in changes and kw["ingest_url"]:
            normalize_region(changes["ingest_region"])  # a bad region says so first
            url_key = url_key_of(kw["ingest_url"])
            if url_key is None:
                raise ConfigError("ingest_region= applies to a URL key, but the client has a "
                                  "full URL of another host: pass api_url_key= with it, or "
                                  "ingest_url=.")
            kw.update(api_url_key=url_key, ingest_url="")
        kw.update(changes)
        return HEC(**kw)

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
             raw_ingest: bool | None = None, journal: str | os.PathLike[str] | None = None,
             restart: bool = False, _indexed: bool = False, _journal: Any = None,
             **options: Any) -> SendReport:
        """Send events and return what became of each.

        ``events`` may be dicts, strings or IngestPayload objects, or a pandas DataFrame.
        ``ingest_format`` and ``raw_ingest`` override the instance's for this send; ``options``
        go to the converter (``host``, ``timestamp_column``, ``fields``, ``columns``, ``na``).
        ``show_progress=None`` shows a bar in notebooks and terminals. On KeyboardInterrupt the
        report (``hec.last_report``) lists every event not confirmed, then the interrupt is
        re-raised. ``journal`` (a path; a DataFrame or a list) records the events confirmed,
        so that the same call after a kill sends only the rest; ``restart=True`` starts it
        over; ``event_id="hecnb_id"`` gives each event a deterministic id (``event_id_from``
        "position" or "content"; docs/reliability.md).

        >>> report = hec.send(events)          # doctest: +SKIP
        >>> report.delivered, report.failed    # doctest: +SKIP
        """
        if journal is not None or restart or any(k in options for k in SEND_KEYWORDS):
            return send_journaled(self, events, journal, restart=restart, total=total,
                                  show_progress=show_progress, ingest_format=ingest_format,
                                  raw_ingest=raw_ingest, **options)
        cfg = self.ingest_config
        if isinstance(events, (dict, IngestPayload)):  # one event, not an iterable of its keys
            events = [events]
        fmt = cfg.ingest_format if ingest_format is None else normalize_format(ingest_format)
        raw = cfg.raw_ingest if raw_ingest is None else bool(raw_ingest)
        bulk = not _indexed and (not _plain(options) or fmt != "json" or is_frame(events)
                                or is_columnar(events))
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
                report.add_unreached(events, engine.last_placed,
                               STOPPED + report.stopped if report.stopped else NOT_SENT)
            report.note_time(getattr(encoder, "notes", None))
            return report

        return self._run(items, encoder, raw=raw, fmt=fmt, show_progress=show_progress,
                         total=total, indexed=_indexed, encoded=bulk, prepare=keep_source,
                         journal=_journal)

    def _run(self, items: Iterable[Any], encoder: Any, *, raw: bool, fmt: str,
             show_progress: bool | None, total: int | None = None, indexed: bool = False,
             encoded: bool = False, prepare: Callable[[SendReport], SendReport] | None = None,
             journal: Any = None) -> SendReport:
        """One engine run to this instance's endpoint. The report (made ready by ``prepare``)
        becomes ``last_report`` even when an interrupt ends the run, before it propagates."""
        cfg = self.ingest_config
        engine = self.session_manager.engine
        try:
            report = engine.run(items, config=cfg, encoder=encoder, show_progress=show_progress,
                                total=total, indexed=indexed, encoded=encoded,
                                url=cfg.raw_ingest_url if raw else cfg.ingest_url,
                                ingest_format=fmt, journal=journal)
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
        return slice_text(data, self.log_activity)

    @staticmethod
    def detect_gzip(filename: str | os.PathLike[str]) -> bool:
        """True when the file starts with gzip's magic bytes (FalconPy's ``detect_gzip``).

        A missing file raises :class:`EventFileError` (FalconPy: ``SystemExit``).
        """
        return is_gzip(filename)

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
                  start_line: int = 0, journal: str | os.PathLike[str] | None = None,
                  restart: bool = False, **options: Any) -> SendReport:
        """Like :meth:`send_event_file`, returning the :class:`SendReport`.

        ``start_line`` (0-based) skips the lines before it: a resume after an interrupt.
        ``journal`` (a path) records what the collector confirmed, so that the same call
        after a kill sends only the rest (docs/reliability.md); ``restart=True`` starts it
        over. ``options`` are the send options of :meth:`send` (``timestamp_column``,
        ``hec_time``...) for JSON lines; raw lines are sent as they are.
        """
        return send_file(self, event_file, show_progress=show_progress, raw_ingest=raw_ingest,
                         start_line=start_line, journal=journal, restart=restart, **options)

    def send_files(self, event_files: Iterable[str | os.PathLike[str]], *,
                   show_progress: bool | None = None, raw_ingest: bool | None = None,
                   journal: str | os.PathLike[str] | None = None, restart: bool = False,
                   **options: Any) -> SendReport:
        """Send many files (plain or gzip) in one run: one bar over their bytes, one report
        (``report.files`` per file), one ``journal``; a missing file is an error in the report
        and the others are sent."""
        return self._finish(send_files(self, event_files, show_progress=show_progress,
                                       raw_ingest=raw_ingest, journal=journal,
                                       restart=restart, **options))

    def resend(self, source: SendReport | str | os.PathLike[str] | list[dict[str, Any]], *,
               show_progress: bool | None = None) -> SendReport:
        """Send again exactly the events a report (or a dead-letter file) lists as failed.

        Events are re-sent byte for byte as first encoded (same timestamps), to this instance's
        destination. An unread file tail recorded at an interrupt is streamed from where it
        stopped. Events that were never encodable are reported failed again.
        """
        groups, unread, unread_raw = replay_groups(source, self.raw_ingest)
        total = SendReport(url=self.ingest_url, ingest_format=self.ingest_format)
        for (fmt, raw, prefix, suffix), items in groups.items():
            ready = [i for i in items if isinstance(i, tuple)]
            hopeless = [i for i in items if isinstance(i, FailedEvent)]
            encoder = ReplayEncoder(content_type=CONTENT_TYPES[fmt], prefix=prefix,
                                    suffix=suffix, raw=raw)
            chunks = replay_chunks(ready)
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
        else:
            self.track_result(status, {"text": answer.text, "code": answer.hec_code}
                              if answer.hec else answer.text)
        return ConnectionCheck.of(answer, url)

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

    # -- properties that are no settings (the settings' are declared) ----------------------------
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
    def ingest_format_name(self) -> str:
        """Upper-case format name, e.g. ``JSON`` (as FalconPy's enum name)."""
        return self.ingest_config.ingest_format.upper()

    @property
    def ingest_base_url(self) -> str:
        """Ingest host of the region; set a region keyword or a host."""
        return self.ingest_config.ingest_base_url

    @ingest_base_url.setter
    def ingest_base_url(self, value: str) -> None:
        self.ingest_config.ingest_base_url = value

    @property
    def raw_ingest_url(self) -> str:
        """The raw endpoint URL (read-only)."""
        return self.ingest_config.raw_ingest_url

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


def _signature() -> inspect.Signature:
    """``HEC()``'s signature as the declarations make it (for help() and completion)."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for s in declared_settings():
        kind = (inspect.Parameter.POSITIONAL_OR_KEYWORD
                if s.keyword in ("api_key", "api_url_key", "debug")
                else inspect.Parameter.KEYWORD_ONLY)
        params.append(inspect.Parameter(s.keyword, kind, default=None))
    return inspect.Signature(params)


HEC.__init__.__signature__ = _signature()  # type: ignore[attr-defined]


#: FalconPy's name for the collector class (``from falconpy import HTTPEventCollector``).
HTTPEventCollector = HEC


def split_keywords(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(HEC keywords, the rest)``: what makes a client, and the send options."""
    keywords = {k: v for k, v in options.items() if k in CLIENT_KEYWORDS}
    return keywords, {k: v for k, v in options.items() if k not in CLIENT_KEYWORDS}


def check_send_keywords(options: dict[str, Any], more: Sequence[str] = ()) -> None:
    """A keyword that is neither a send option nor an HEC keyword (nor one of ``more``) is a
    ConfigError that suggests the nearest of them all (checked before anything else)."""
    from ._encode.options import OPTION_NAMES

    known = [*OPTION_NAMES, *sorted(CLIENT_KEYWORDS - {"transport"}), *more]
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown keyword {name!r}.{hint} Allowed options: "
                              f"{', '.join(OPTION_NAMES)}; and HEC keywords for the "
                              "destination and settings (ingest_url, api_url_key, ...).")


def _plain(options: dict[str, Any]) -> bool:
    """True for send options FalconPy's per-event json path handles (the time rule,
    ``timestamp_column=None``, ``hec_time``, ``timeunit``)."""
    from ._encode.eventtime import AUTO, check_choice

    return set(options) <= _PLAIN_SEND_OPTIONS and check_choice(
        options.get("timestamp_column", AUTO)) in (AUTO, None)
