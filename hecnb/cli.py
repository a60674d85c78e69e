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

from . import __version__
from ._errors import HecError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Signals handled as Ctrl-C: what ``kill``, systemd, Docker and a closing terminal send.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
_received: list[int] = []  # the stop signals that arrived during this command


def _destination_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("destination (else NGSIEM_INGEST_URL / NGSIEM_URL_KEY / "
                             "NGSIEM_REGION)")
    g.add_argument("--url", dest="ingest_url", help="the full API URL shown by the console")
    g.add_argument("--url-key", dest="api_url_key", help="the URL key (first label of the host)")
    g.add_argument("--region", dest="ingest_region",
                   help="us1, us2, us3, eu1, usgov1 or usgov2 (default us1)")
    g.add_argument("--api-key-env", default="NGSIEM_API_KEY", metavar="VAR",
                   help="environment variable holding the API key (default NGSIEM_API_KEY); "
                        "without it you are prompted")
    g.add_argument("--auth-scheme", default="Bearer", choices=["Bearer", "Splunk"],
                   help="Authorization header scheme: Bearer (NG-SIEM, the default) or Splunk "
                        "(Splunk, Fluent Bit and Cribl receivers)")
    g.add_argument("--timeout", dest="ingest_timeout", type=float, default=5,
                   help="seconds per request (default 5)")
    g.add_argument("--ca-bundle", help="CA bundle for TLS-inspecting proxies")
    g.add_argument("--no-verify", action="store_true", help="turn TLS verification off (unsafe)")
    g.add_argument("--allow-insecure-http", action="store_true",
                   help="allow http:// to a host that is not this machine")
    g.add_argument("--proxy", metavar="URL",
                   help="the proxy for https:// targets, e.g. http://proxy.example:3128 "
                        "(default: HTTPS_PROXY/ALL_PROXY from the environment; http:// targets "
                        "never use a proxy). A proxy password belongs in HTTPS_PROXY, not here")
    g.add_argument("--no-proxy", action="store_true",
                   help="use no proxy, whatever the environment says")


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

    s = sub.add_parser("send", help="send a file of events (JSON lines, or any text with --raw; "
                       "plain or gzip)")
    s.add_argument("file", help="the file to send")
    _destination_options(s)
    s.add_argument("--raw", action="store_true", help="one raw event per line")
    s.add_argument("--format", dest="ingest_format", default="json",
                   help="json, yaml, xml or csv (default json)")
    s.add_argument("--timeunit", dest="ingest_timeunit", default="nanoseconds",
                   help="unit of each event's timestamp: nanoseconds (default), milliseconds "
                        "or seconds (also ns, ms, s)")
    s.add_argument("--time-column", default="auto", metavar="NAME",
                   help="the member holding each event's time: auto (default: found by "
                        "hecnb's rule, see docs/formats.md), none (only a 'timestamp' member, "
                        "as FalconPy), or a key name")
    s.add_argument("--no-hec-time", dest="hec_time", action="store_false",
                   help="do not write HEC's top-level 'time' member beside the event")
    s.add_argument("--retries", dest="retry_count", type=int, default=3,
                   help="retries of a request after the first attempt (default 3)")
    s.add_argument("--retry-max-elapsed", dest="retry_max_elapsed", type=float, default=300.0,
                   metavar="SECONDS",
                   help="how long a throttled send (429, or 503 with Retry-After) may go on "
                        "while the collector accepts nothing (default 300)")
    s.add_argument("--threads", dest="thread_count", type=int, default=None,
                   help="worker threads that compress (default: CPUs x 2)")
    s.add_argument("--in-flight", dest="max_in_flight", type=int, default=16,
                   help="most requests in flight at once (default 16; the window adapts "
                        "below it)")
    s.add_argument("--batch-bytes", dest="batch_max_bytes", type=int, default=1024 * 1024,
                   metavar="BYTES",
                   help="most bytes per request, before compression (default 1048576)")
    s.add_argument("--batch-events", dest="batch_max_events", type=int, default=None,
                   metavar="N", help="most events per request (default: no limit)")
    s.add_argument("--no-compress", action="store_true", help="do not gzip requests")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--debug", action="store_true", help="debug log to stderr (key masked)")
    s.add_argument("--dead-letter", metavar="FILE",
                   help="write events that were not delivered (or, after Ctrl-C, not yet "
                        "confirmed) to FILE as NDJSON, for `hecnb resend FILE`")

    r = sub.add_parser("resend", help="send again the events of a dead-letter file")
    r.add_argument("file", help="a file written by `hecnb send --dead-letter`")
    _destination_options(r)
    r.add_argument("--dead-letter", metavar="FILE",
                   help="write what still fails to FILE (may be the same file)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    t = sub.add_parser("test-connection", help="send one test event and say what happened")
    _destination_options(t)
    t.add_argument("--raw", action="store_true", help="test the raw endpoint")

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


_RATE_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
               "bit": 1 / 8, "kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8,
               "bps": 1 / 8, "kbps": 1e3 / 8, "mbps": 1e6 / 8, "gbps": 1e9 / 8}


def _rate(text: str) -> float:
    """``'100Mbit'`` -> 12,500,000 bytes a second; a bare number is bytes a second."""
    import re

    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*?)(?:/s)?\s*",
                         text.lower())
    unit = match.group(2) if match else None
    if match is None or unit not in _RATE_UNITS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a rate: give bytes a second (1000000) or a number with a unit "
            "(100Mbit, 12.5MB, 512kbit)")
    return float(match.group(1)) * _RATE_UNITS[unit]


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


def _client(args: argparse.Namespace, **extra: Any) -> Any:
    """A context manager giving the HEC for this command.

    Called from Python inside a kernel (``hecnb.cli.main([...])``) with no destination on the
    command line or in the environment, it uses the session default (set by the config panel,
    ``%hec_config`` or ``hecnb.configure``) and leaves it open; otherwise it makes a client.
    """
    import contextlib

    from ._hec import HEC
    from ._session import current

    session = current()
    given = (args.ingest_url or args.api_url_key or os.environ.get("NGSIEM_INGEST_URL")
             or os.environ.get("NGSIEM_URL_KEY"))
    if session is not None and not given:
        return contextlib.nullcontext(session)
    kw = _hec_kwargs(args)
    kw.update(extra)
    return HEC(**kw)


def _hec_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    verify: Any = True
    if args.no_verify:
        verify = False
    elif args.ca_bundle:
        verify = args.ca_bundle
    kw: dict[str, Any] = {
        "api_key": _read_key(args.api_key_env),
        "api_url_key": args.api_url_key,
        "ingest_region": args.ingest_region,
        "ingest_url": args.ingest_url,
        "auth_scheme": args.auth_scheme,
        "ingest_timeout": args.ingest_timeout,
        "verify": verify,
        "allow_insecure_http": args.allow_insecure_http,
        "raw_ingest": getattr(args, "raw", False),
        "proxy": _proxy(args),
    }
    return kw


def _proxy(args: argparse.Namespace) -> str | bool | None:
    if args.no_proxy:
        if args.proxy:
            raise _Usage("--proxy and --no-proxy contradict each other: give one.")
        return False
    if args.proxy:
        import httpx

        try:
            password = httpx.URL(args.proxy if "://" in args.proxy else
                                 "http://" + args.proxy).password
        except (httpx.InvalidURL, ValueError):
            password = None  # HEC says what is wrong with it
        if password:
            raise _Usage("--proxy holds a password, which would land in shell history and "
                         "`ps` output: put the proxy URL with its password in HTTPS_PROXY "
                         "instead.")
    return args.proxy or None


def _cmd_send(args: argparse.Namespace) -> int:
    import logging


    if args.debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(message)s")
    extra = {"ingest_format": args.ingest_format, "ingest_timeunit": args.ingest_timeunit,
             "retry_count": args.retry_count, "thread_count": args.thread_count,
             "retry_max_elapsed": args.retry_max_elapsed,
             "max_in_flight": args.max_in_flight, "batch_max_bytes": args.batch_max_bytes,
             "batch_max_events": args.batch_max_events,
             "compress": not args.no_compress, "debug": args.debug}
    time_column = {"auto": "auto", "none": None}.get(args.time_column.strip().lower(),
                                                     args.time_column)
    with _client(args, **extra) as hec:
        try:
            report = hec.send_file(args.file, show_progress=False if args.no_progress else None,
                                   raw_ingest=args.raw, timestamp_column=time_column,
                                   hec_time=args.hec_time)
        except KeyboardInterrupt:
            return _interrupted(hec.last_report, args.dead_letter)
    return _finish(report, args.dead_letter, what="line")


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
