"""Sending event files: one file (``HEC.send_file``) or many in one run (``HEC.send_files``),
with a journal (``journal=``) that makes the send resumable after a kill.

The facade hands its ``HEC`` in (as ``hec``: anything with ``_run``, ``send``, ``_encoder``,
``_finish``); this module never imports the send engine. With a journal each file is checked
against what the journal recorded of it (size, mtime, a hash of its head), the lines it
confirms are passed over unsent, and every request is recorded as it goes out and as it is
answered (``hecnb._report.journal``).
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import Any

from .._encode.eventids import check_event_id, lines_with_ids, token_of
from .._errors import ConfigError, EventFileError
from .._progress import _progress
from .._report.journal import Journal, Ranges, Tracker, file_identity
from .._report.reasons import STOPPED
from .._report.report import SendReport
from .files import _FileEvents, _open_event_file, _RawFileChunks

__all__ = ["send_file", "send_files"]

Lines = _FileEvents | _RawFileChunks


def send_file(hec: Any, event_file: str | os.PathLike[str], *, show_progress: bool | None,
              raw_ingest: bool | None, start_line: int = 0,
              journal: str | os.PathLike[str] | None = None, restart: bool = False,
              **options: Any) -> SendReport:
    """One file; with ``journal``, only what the journal does not confirm (see module)."""
    path = os.fspath(event_file)
    _check_ids(hec, raw_ingest, options)
    if journal is None:
        if restart:
            raise ConfigError("restart=True starts a journal over: pass journal= with it.")
        return _send_one(hec, path, show_progress=show_progress, raw_ingest=raw_ingest,
                         start_line=start_line, options=options)
    with Journal.open(journal, "files", [os.path.abspath(path)], restart=restart) as book:
        return _journaled(hec, book, 0, path, show_progress=show_progress,
                          raw_ingest=raw_ingest, start_line=start_line, options=options)


def send_files(hec: Any, event_files: Iterable[str | os.PathLike[str]], *,
               show_progress: bool | None, raw_ingest: bool | None,
               journal: str | os.PathLike[str] | None = None, restart: bool = False,
               **options: Any) -> SendReport:
    """Many files in one run: one bar over their bytes, one report (per file in
    ``report.files``, and in total), one journal. A file that is missing or cannot be read
    is an error of its own in the report; the others are sent. A permanent failure (a wrong
    key...) stops the run: the files after it are reported not sent."""
    if isinstance(event_files, (str, bytes, os.PathLike)):
        raise ConfigError("send_files() takes a list of files; use send_file() for one.")
    _check_ids(hec, raw_ingest, options)
    paths = [os.fspath(p) for p in event_files]
    if not paths:
        raise ConfigError("send_files() got no files: name at least one.")
    keys = [os.path.abspath(p) for p in paths]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ConfigError(f"{', '.join(twice)} named more than once: name each file once.")
    if restart and journal is None:
        raise ConfigError("restart=True starts a journal over: pass journal= with it.")
    book = Journal.open(journal, "files", keys, restart=restart) if journal is not None else None
    sizes = [_size(p) for p in paths]
    bar = _progress(show_progress, sum(sizes), unit="B")
    seen = [0]  # bytes of the current file the bar has shown
    cfg = hec.ingest_config
    raw = hec.raw_ingest if raw_ingest is None else raw_ingest
    total = SendReport(url=cfg.raw_ingest_url if raw else cfg.ingest_url,
                       ingest_format=cfg.ingest_format, raw=bool(raw),
                       journal=book.path if book is not None else None)
    try:
        for n, path in enumerate(paths):
            if total.stopped:
                part = _empty(total, errors=[f"{path}: not sent ({STOPPED}{total.stopped})"])
            else:
                part = _one_of_many(hec, book, n, path, (bar, seen), raw_ingest=raw_ingest,
                                    options=options, total=total)
            if bar is not None:  # the rest of the file (skipped, or not read) at once
                bar.update(max(0, sizes[n] - seen[0]))
                seen[0] = 0
            total.merge(part)
            total.files.append((path, part))
    finally:
        if bar is not None:
            bar.close()
        if book is not None:
            book.close()
    return total


def _one_of_many(hec: Any, book: Journal | None, n: int, path: str,
                 bar: tuple[Any, list[int]], *,
                 raw_ingest: bool | None, options: dict[str, Any],
                 total: SendReport) -> SendReport:
    """One file of :func:`send_files`; an interrupt leaves the total report as
    ``last_report`` (this file's part merged in) before it propagates."""
    try:
        if book is not None:
            return _journaled(hec, book, n, path, show_progress=False, raw_ingest=raw_ingest,
                              start_line=0, options=options, bar=bar)
        return _send_one(hec, path, show_progress=False, raw_ingest=raw_ingest,
                         start_line=0, options=options, bar=bar)
    except EventFileError as exc:  # missing, unreadable, empty: said, and the rest goes on
        return _empty(total, errors=[str(exc)])
    except KeyboardInterrupt:
        part = hec.last_report
        if part is not None and part is not total:
            total.merge(part)
            total.files.append((path, part))
        total.interrupted = True
        hec._last_report = total
        raise


def _empty(like: SendReport, *, errors: list[str]) -> SendReport:
    return SendReport(url=like.url, ingest_format=like.ingest_format, raw=like.raw,
                      errors=errors, last_status=0, last_message=errors[0] if errors else None)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


# -- one file, journaled -------------------------------------------------------------------------
def _journaled(hec: Any, book: Journal, n: int, path: str, *, show_progress: bool | None,
               raw_ingest: bool | None, start_line: int, options: dict[str, Any],
               bar: tuple[Any, list[int]] | None = None) -> SendReport:
    """Source ``n`` of ``book``: checked against it, sent without what it confirms."""
    try:
        identity = file_identity(path)
    except OSError:
        handle, _ = _open_event_file(path)  # raises the EventFileError that says what is wrong
        handle.close()
        raise
    book.check_identity(n, identity, what=f"The file {path}")
    already = book.delivered(n)
    if book.finished(n):  # every line of it delivered by an earlier run: nothing to send
        cfg = hec.ingest_config
        raw = hec.raw_ingest if raw_ingest is None else raw_ingest
        report = SendReport(url=cfg.raw_ingest_url if raw else cfg.ingest_url,
                            ingest_format=cfg.ingest_format, raw=bool(raw), journal=book.path,
                            resumed=already, last_status=200)
        return hec._finish(report)  # type: ignore[no-any-return]
    tracker = book.tracker(n)
    state: dict[str, Any] = {}

    def note(report: SendReport) -> None:
        report.journal, report.resumed = book.path, already
        report.resent_in_flight = tracker.resent

    try:
        report = _send_one(hec, path, show_progress=show_progress, raw_ingest=raw_ingest,
                           start_line=start_line, options=options, tracker=tracker,
                           skip=book.state[n].done if already else None, bar=bar,
                           state=state)
    except KeyboardInterrupt:
        if hec.last_report is not None:
            note(hec.last_report)
        raise
    note(report)
    lines = state["lines"]
    if lines.exhausted and start_line == 0:
        book.finish(n, lines.lines_read, report.ok)
    return report


# -- one file ------------------------------------------------------------------------------------
def _send_one(hec: Any, path: str, *, show_progress: bool | None, raw_ingest: bool | None,
              start_line: int, options: dict[str, Any], tracker: Tracker | None = None,
              skip: Ranges | None = None, bar: tuple[Any, list[int]] | None = None,
              state: dict[str, Any] | None = None) -> SendReport:
    """Stream a file (plain or gzip) in bounded memory; the report, also on an interrupt.
    ``bar``: a bar over bytes read from disk, and the count it has shown of this file."""
    raw = hec.raw_ingest if raw_ingest is None else raw_ingest
    handle, compressed = _open_event_file(path)
    hec.log_activity(f"EVENT FILE: {path} ({'gzip' if compressed else 'plain'})")
    lines: Lines = (_RawFileChunks(handle, path, start_line=start_line) if raw else
                    _FileEvents(handle, path, raw=raw, start_line=start_line, skip=skip))
    if state is not None:
        state["lines"] = lines
    report: SendReport
    try:
        if raw:  # lines go as they are: cut the file in blocks, no Python step per line
            chunks: Iterable[Any] = lines if skip is None else _not_done(lines, skip)
            report = hec._run(_shown(chunks, handle, bar, 1), hec._encoder(raw=True),
                              raw=True, fmt=hec.ingest_format, show_progress=show_progress,
                              encoded=True, journal=tracker)
        else:
            events: Iterable[Any] = lines
            options = dict(options)  # the same options go to every file of many
            event_id = options.pop("event_id", None)
            id_from = options.pop("event_id_from", "position")
            if event_id is not None:
                token = token_of(file_identity(path)) if id_from == "position" else ""
                events = lines_with_ids(lines, event_id, token, id_from)
            report = hec.send(_shown(events, handle, bar, 2048), show_progress=show_progress,
                              raw_ingest=raw, _indexed=True, _journal=tracker, **options)
    except KeyboardInterrupt:
        report = hec.last_report
        if report is not None:
            if not lines.exhausted:
                report.unread = (os.path.abspath(path), lines.lines_read)
            _add_file_problems(hec, report, lines)
        raise
    finally:
        handle.close()
    if report.stopped and not lines.exhausted:  # a permanent failure: the rest not read
        report.unread = (os.path.abspath(path), lines.lines_read)
    _add_file_problems(hec, report, lines)
    return report


def _check_ids(hec: Any, raw_ingest: bool | None, options: dict[str, Any]) -> None:
    """``event_id=`` for files: checked before anything is read or sent."""
    if "event_id" not in options:
        if options.get("event_id_from", "position") != "position":
            raise ConfigError("event_id_from= says how event_id= is made: pass event_id= too.")
        options.pop("event_id_from", None)
        return
    check_event_id(options["event_id"], options.get("event_id_from", "position"))
    if (hec.raw_ingest if raw_ingest is None else raw_ingest):
        raise ConfigError("event_id= adds a member to each JSON event, and raw lines are sent "
                          "as they are: send JSON lines without raw_ingest (--raw), or send "
                          "without event_id=.")


def _not_done(chunks: Iterable[tuple[Sequence[int], list[bytes], list[bytes]]],
              done: Container[int] | Ranges) -> Iterator[tuple[Sequence[int], list[bytes],
                                                                list[bytes]]]:
    """Raw chunks without the lines a journal confirms (whole chunks at once when it can)."""
    assert isinstance(done, Ranges)
    for indices, parts, _ in chunks:
        a, b = indices[0], indices[-1] + 1
        hit = done.overlap(a, b)
        if not hit:
            yield indices, parts, parts
            continue
        if hit == b - a:
            continue
        keep_i = [i for i in indices if i not in done]
        if keep_i:
            keep_p = [p for i, p in zip(indices, parts, strict=True) if i not in done]
            yield keep_i, keep_p, keep_p


def _shown(items: Iterable[Any], handle: Any, bar: tuple[Any, list[int]] | None,
           every: int) -> Iterable[Any]:
    """``items`` as they are; with a bar, the bytes read from disk shown every ``every``
    items (the compressed bytes of a gzip file), on the calling thread."""
    if bar is None or bar[0] is None:
        return items
    return _showing(items, handle, bar[0], bar[1], every)


def _showing(items: Iterable[Any], handle: Any, bar: Any, seen: list[int],
             every: int) -> Iterator[Any]:
    disk = getattr(handle, "fileobj", None) or handle
    for k, item in enumerate(items):
        if k % every == 0:
            try:
                at = disk.tell()
            except (OSError, ValueError):
                at = seen[0]
            if at > seen[0]:
                bar.update(at - seen[0])
                seen[0] = at
        yield item


def _add_file_problems(hec: Any, report: SendReport, lines: Lines) -> None:
    """Lines that could not be events, and a file that broke off, into the report."""
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
    hec._finish(report)


# -- the command line (``hecnb send``): its journal options, resolved here -----------------------
def add_journal_options(parser: Any) -> None:
    """``--journal``, ``--resume`` and ``--restart`` on an argparse parser."""
    group = parser.add_argument_group("resuming after a kill (docs/reliability.md)")
    group.add_argument("--journal", metavar="PATH",
                       help="record what the collector confirmed in PATH; the same command "
                            "again sends only the rest")
    group.add_argument("--resume", action="store_true",
                       help="as --journal, with the journal kept in the state directory "
                            "under a name derived from the files (printed)")
    group.add_argument("--restart", action="store_true",
                       help="start the journal over: send everything again")
    group.add_argument("--event-id", metavar="NAME",
                       help="give every JSON event a deterministic id in member NAME (the "
                            "same in every resend: duplicates can be found in the SIEM)")
    group.add_argument("--event-id-from", choices=["position", "content"],
                       default="position", help="the id from the file and line (default) or "
                                                "from a hash of the line")


def send_command(hec: Any, files: Sequence[str], *, journal: str | None, resume: bool,
                 restart: bool, event_id: str | None, event_id_from: str, say: Any,
                 **send: Any) -> tuple[SendReport, str]:
    """What ``hecnb send FILE... [--journal PATH | --resume] [--restart] [--event-id NAME]``
    does; returns the report and what its positions count ("line" or "row").

    One file is sent by its content (``detect``: Parquet, EVTX, JSON and CSV as data, the
    rest as lines); several are files of lines, in one run (:func:`send_files`). ``say`` (a
    print) tells where the journal is and what it already confirms, and, for many files,
    gives one line each."""
    from .detect import detect, open_source, send_source

    if journal is not None and resume:
        raise ConfigError("--journal and --resume both name a journal: give one of them.")
    if restart and journal is None and not resume:
        raise ConfigError("--restart starts a journal over: give --journal PATH or --resume "
                          "with it.")
    raw = bool(hec.raw_ingest)
    source = open_source(files[0], detect(files[0]), raw=raw) if len(files) == 1 else None
    if len(files) > 1:
        for path in files:
            try:
                kind = detect(path)
            except EventFileError:
                continue  # said in the report, and the others are sent
            if kind.kind not in ("ndjson", "lines") and not (raw and kind.kind == "csv"):
                raise ConfigError(f"{path} is {kind}: several files in one run must be files "
                                  "of lines (NDJSON or text, plain or gzip); send it on its "
                                  "own. Nothing was sent.")
    if resume:
        from .._report.journal import journal_for

        journal = str(journal_for(files))
        say(f"hecnb: journal {journal}")
    if journal is not None and not restart:
        done = _peek(journal)
        if done:
            say(f"hecnb: resuming: {done:,} events already delivered (journal {journal}); "
                "sending the rest")
    ids: dict[str, Any] = ({} if event_id is None else
                           {"event_id": event_id, "event_id_from": event_id_from})
    if source is not None:
        if journal is not None or ids:
            from .._lazy import is_frame

            if not (isinstance(source, list) or is_frame(source)):
                raise ConfigError(f"--journal, --resume and --event-id take files of lines, "
                                  f"JSON and CSV; {files[0]} is {detect(files[0])}: send it "
                                  "without them. Nothing was sent.")
            if journal is not None:
                ids.update(journal=journal, restart=restart)
        return send_source(hec, source, **send, **ids), "row"
    if len(files) == 1:
        return send_file(hec, files[0], journal=journal, restart=restart, raw_ingest=None,
                         **send, **ids), "line"
    report = send_files(hec, files, journal=journal, restart=restart, raw_ingest=None,
                        **send, **ids)
    for path, part in report.files:
        state = "ok" if part.ok else "NOT all delivered"
        said = f"; {part.errors[0]}" if part.errors else ""
        resumed = f", {part.resumed:,} already before" if part.resumed else ""
        say(f"  {path}: {part.delivered:,} of {part.total:,} delivered{resumed} ({state}"
            f"{said})")
    return hec._finish(report), "line"


def _peek(path: str) -> int:
    """How many events a journal confirms, at a glance (a damaged one is refused when it is
    opened, not here)."""
    import json

    done: dict[int, Ranges] = {}
    try:
        with open(path, "rb") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                    if isinstance(rec, dict) and "d" in rec:
                        done.setdefault(int(rec["d"]), Ranges()).update(Ranges(rec["r"]))
                except (ValueError, TypeError, KeyError):
                    continue
    except OSError:
        return 0
    return sum(len(r) for r in done.values())
