"""The ``hecnb`` command: demo, send, test-connection, emulate.

A thin layer: it turns options into keywords of :class:`hecnb.HEC` and prints the report. The API
key is read from ``NGSIEM_API_KEY`` (or the variable named by ``--api-key-env``) or asked for at a
hidden prompt; it is never an option, so it never lands in shell history or ``ps`` output.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ._errors import HecError
from ._settings.declared import add_cli_options, cli_settings
from ._source.filesend import add_journal_options, send_command
from ._version import __version__

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Signals handled as Ctrl-C: what ``kill``, systemd, Docker and a closing terminal send.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
_received: list[int] = []  # the stop signals that arrived during this command


def _client_options(p: argparse.ArgumentParser) -> None:
    """The key's variable, and one option per declared setting (hecnb/_settings/declared.py);
    an option not given leaves the setting to the environment or its default."""
    p.add_argument("--api-key-env", default="NGSIEM_API_KEY", metavar="VAR",
                   help="environment variable holding the API key (default NGSIEM_API_KEY); "
                        "without it you are prompted")
    add_cli_options(p.add_argument_group(
        "settings (destination else NGSIEM_INGEST_URL / NGSIEM_URL_KEY / NGSIEM_REGION)"))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hecnb", description="Send data to CrowdStrike Falcon "
                                "NG-SIEM's HTTP Event Collector (or the local emulator).")
    p.add_argument("--version", action="version", version=f"hecnb {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="send sample authentication events to a local emulator "
                       "and check every one arrived")
    d.add_argument("--events", type=int, default=50_000, help="how many (default 50,000)")
    d.add_argument("--no-progress", action="store_true", help="no progress bar")
    d.add_argument("--raw", action="store_true", help="use the raw endpoint")

    s = sub.add_parser("send", help="send files of events: Parquet, EVTX, JSON lines, JSON, "
                       "CSV, or any text with --raw; plain or gzip, recognised by content")
    s.add_argument("file", nargs="+", help="the file(s) to send (several: files of lines)")
    _client_options(s)
    s.add_argument("--time-column", default="auto", metavar="NAME",
                   help="the member holding each event's time: auto (default: found by "
                        "hecnb's rule, see docs/formats.md), none (only a 'timestamp' member, "
                        "as FalconPy), or a key name")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--dead-letter", metavar="FILE",
                   help="write events that were not delivered (or, after Ctrl-C, not yet "
                        "confirmed) to FILE as NDJSON, for `hecnb resend FILE`")
    add_journal_options(s)

    r = sub.add_parser("resend", help="send again the events of a dead-letter file")
    r.add_argument("file", help="a file written by `hecnb send --dead-letter`")
    _client_options(r)
    r.add_argument("--dead-letter", metavar="FILE",
                   help="write what still fails to FILE (may be the same file)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    t = sub.add_parser("test-connection", help="send one test event and say what happened")
    _client_options(t)

    e = sub.add_parser("emulate", help="run the local NG-SIEM HEC emulator until Ctrl-C")
    e.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    e.add_argument("--port", type=int, default=8088, help="port (default 8088; 0 = any)")
    e.add_argument("--api-key-env", metavar="VAR", default=None,
                   help="accept only the key in this environment variable (default: any key)")
    e.add_argument("--ndjson", metavar="FILE", help="append every received event to FILE")
    e.add_argument("--fail-503", type=float, default=0.0, metavar="RATE",
                   help="answer this fraction of requests 503")
    e.add_argument("--fail-429", type=float, default=0.0, metavar="RATE",
                   help="answer this fraction of requests 429 with Retry-After")
    e.add_argument("--retry-after", type=float, default=1.0, metavar="SECONDS")
    e.add_argument("--drop", type=float, default=0.0, metavar="RATE",
                   help="drop this fraction of connections without an answer")
    e.add_argument("--delay", type=float, default=0.0, metavar="SECONDS",
                   help="add this delay to every answer (a round trip's latency)")
    e.add_argument("--rate-limit", type=float, default=0.0, metavar="EVENTS_PER_S",
                   help="admit at most this many events a second (token bucket), answer 429 "
                        "with Retry-After beyond, as a rate-limited connector does")
    e.add_argument("--rate-limit-bytes", type=_rate, default=0.0, metavar="BYTES_PER_S",
                   help="the same limit in decoded bytes a second (e.g. 5MB)")
    e.add_argument("--rate-burst", type=float, default=1.0, metavar="SECONDS",
                   help="seconds of the rate the bucket holds (default 1)")
    e.add_argument("--bandwidth", type=_rate, default=0.0, metavar="RATE",
                   help="receive request bodies at most this fast, over all connections "
                        "together: bytes a second, or with a unit (100Mbit, 12.5MB, 512kbit)")
    e.add_argument("--quiet", action="store_true")
    return p


def _rate(text: str) -> float:
    """A rate with a unit (``100Mbit``), for argparse."""
    from .emulator import parse_rate

    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _read_key(var: str) -> str:
    key = os.environ.get(var)
    if key:
        return key
    if not sys.stdin.isatty():
        raise _Usage(f"No API key: set {var} (the key is never taken as an option, so it stays "
                     "out of shell history).")
    try:
        key = getpass.getpass(f"NG-SIEM API key ({var} is not set): ")
    except EOFError:  # Ctrl-D at the prompt
        print(file=sys.stderr)
        raise _Usage(f"No API key entered: type it at the prompt, or set {var} "
                     "(or name another variable with --api-key-env).") from None
    if not key.strip():
        raise _Usage(f"The API key entered is empty: paste the key the Falcon console showed "
                     f"when the connector was created, or set {var}.")
    return key


class _Usage(Exception):
    """A mistake on the command line: print the sentence, exit 2."""


def _client(args: argparse.Namespace) -> Any:
    """The HEC for this command (a context manager): made from the options, or, called from
    Python inside a kernel with no destination anywhere, the session default (left open)."""
    from ._session import client_for

    return client_for(cli_settings(args), lambda: _read_key(args.api_key_env))


def _cmd_send(args: argparse.Namespace) -> int:
    import logging

    if args.setting_debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(message)s")
    time_column = {"auto": "auto", "none": None}.get(args.time_column.strip().lower(),
                                                     args.time_column)
    with _client(args) as hec:  # each file by content: Parquet, EVTX, JSON, CSV, lines; gzip
        try:
            report, what = send_command(
                hec, args.file, journal=args.journal, resume=args.resume, restart=args.restart,
                event_id=args.event_id, event_id_from=args.event_id_from, say=print,
                timestamp_column=time_column, show_progress=False if args.no_progress else None)
        except KeyboardInterrupt:
            return _interrupted(hec.last_report, args.dead_letter)
    return _finish(report, args.dead_letter, what=what)


def _cmd_resend(args: argparse.Namespace) -> int:
    from ._report.deadletter import read_dead_letter

    records = read_dead_letter(args.file)  # read first: --dead-letter may name the same file
    with _client(args) as hec:
        try:
            report = hec.resend(records, show_progress=False if args.no_progress else None)
        except KeyboardInterrupt:
            return _interrupted(hec.last_report, args.dead_letter)
    return _finish(report, args.dead_letter, what="event")


def _interrupted(report: Any, dead_letter: str | None) -> int:
    if report is None:
        print("hecnb: interrupted before anything was sent", file=sys.stderr)
        return _interrupt_status()
    print(f"hecnb: interrupted: {report}", file=sys.stderr)
    if report.journal:
        print(f"hecnb: the journal {report.journal} holds what was confirmed: run the same "
              "command again to send the rest", file=sys.stderr)
    if dead_letter:
        n = report.write_dead_letter(dead_letter)
        print(f"hecnb: {n:,} records of events not confirmed written to {dead_letter}; send "
              f"them with: hecnb resend {dead_letter}", file=sys.stderr)
    return _interrupt_status()


def _interrupt_status() -> int:
    """130 for Ctrl-C; 128 + the signal for SIGTERM (143) and SIGHUP (129), as a shell does."""
    return 128 + _received[0] if _received else EXIT_INTERRUPTED


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """Handle SIGTERM and SIGHUP as Ctrl-C: stop, account, write the dead letter, exit.

    The signal is passed to whatever handles SIGINT at that moment: during a send that is the
    engine, which stops at its next safe point; elsewhere Python's own handler, which raises
    KeyboardInterrupt. Only on the main thread (``main()`` may be called from a kernel's).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: Any) -> None:
        _received.append(signum)
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = {}
    for sig in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, forward)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)
        _received.clear()


def _finish(report: Any, dead_letter: str | None, *, what: str) -> int:
    print(report)
    groups: dict[str, list[int]] = {}
    for failure in report.failed:  # one line per reason, not a screen of identical lines
        groups.setdefault(failure.reason, []).append(failure.index)
    for reason, indices in list(groups.items())[:10]:
        first = indices[0] + 1 if what == "line" else indices[0]
        if len(indices) == 1 and reason.startswith(f"{what} {first:,}:"):  # names its line
            print(f"  {reason}", file=sys.stderr)
            continue
        where = (f"{what} {first:,}" if len(indices) == 1 else
                 f"{len(indices):,} {what}s from {what} {first:,}")
        print(f"  {where}: {reason}", file=sys.stderr)
    if len(groups) > 10:
        rest = sum(len(v) for v in list(groups.values())[10:])
        print(f"  ... and {rest:,} more for {len(groups) - 10:,} other reasons", file=sys.stderr)
    if dead_letter and not report.ok:
        n = report.write_dead_letter(dead_letter)
        print(f"hecnb: {n:,} failed events written to {dead_letter}; send them again with: "
              f"hecnb resend {dead_letter}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _cmd_test(args: argparse.Namespace) -> int:

    with _client(args) as hec:
        result = hec.check_connection()
    print(f"{result.url}: {result}")
    return EXIT_OK if result.ok else EXIT_FAILED


def _cmd_emulate(args: argparse.Namespace) -> int:
    from .emulator import Faults, serve

    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise _Usage(f"--api-key-env {args.api_key_env}: that variable is not set.")
    faults = Faults(error_503_rate=args.fail_503, error_429_rate=args.fail_429,
                    retry_after=args.retry_after, drop_rate=args.drop, delay=args.delay,
                    rate_limit=args.rate_limit, rate_limit_bytes=args.rate_limit_bytes,
                    rate_burst=args.rate_burst, bandwidth=args.bandwidth)
    serve(host=args.host, port=args.port, api_key=key, ndjson_path=args.ndjson, faults=faults,
          quiet=args.quiet)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._hec import HEC
    from ._source.demo import auth_events
    from .emulator import Emulator

    if args.events < 1:
        raise _Usage("--events must be at least 1.")
    key = secrets.token_hex(16)  # a throwaway key the emulator will insist on
    print(f"hecnb {__version__} demo: {args.events:,} sample sshd/sudo authentication events "
          "-> local NG-SIEM HEC emulator")
    t0 = time.perf_counter()
    events = auth_events(args.events)
    print(f"  built {len(events):,} events in {time.perf_counter() - t0:.2f} s, e.g.:")
    print(f"  {events[0]}")
    with Emulator(api_key=key) as emu, HEC(api_key=key, ingest_url=emu.url,
                                           raw_ingest=args.raw) as hec:
        print(f"  emulator listening at {emu.url}")
        report = hec.send(events, show_progress=not args.no_progress)
        print(f"  {report}")
        emu.wait_for(len(events), timeout=10)
        received = emu.events
    if args.raw:
        import orjson

        ids = [orjson.loads(e["raw"])["event"]["event_id"] for e in received]
    else:
        ids = [e["event"]["event_id"] for e in received]
    expected = {e["event_id"] for e in events}
    got = set(ids)
    missing = expected - got
    duplicates = len(ids) - len(got)
    print(f"  emulator received {len(ids):,} events: {len(expected & got):,} of "
          f"{len(expected):,} expected ids present, {len(missing):,} missing, "
          f"{duplicates:,} duplicates")
    if missing or not report.ok:
        print("hecnb demo: FAILED - not every event arrived", file=sys.stderr)
        return EXIT_FAILED
    print("hecnb demo: OK - every event was delivered and acknowledged")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hecnb`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    commands = {"demo": _cmd_demo, "send": _cmd_send, "resend": _cmd_resend,
                "test-connection": _cmd_test, "emulate": _cmd_emulate}
    with _stop_signals():
        try:
            return commands[args.command](args)
        except (_Usage, HecError, ValueError) as exc:
            print(f"hecnb {args.command}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("hecnb: interrupted", file=sys.stderr)
            return _interrupt_status()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
