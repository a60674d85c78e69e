"""The journal: which parts of a source (lines of files, rows of a DataFrame) the collector has
confirmed, kept on disk so that a run killed at any instant can be resumed with only the rest.

A journal is a file of JSON lines, appended to and flushed as a send goes:

``{"hecnb_journal": 1, "kind": "files", "sources": [path, ...]}``
    the header: what the journal is for (``kind`` "files" or "frame").
``{"run": k}``
    a run began (each open of the journal for sending).
``{"src": n, "size": ..., "mtime_ns": ..., "head": ...}``
    source ``n``'s identity, recorded when it is first read (a frame's: shape, columns,
    dtypes and a hash of a sample of rows).
``{"s": n, "r": [[a, b], ...]}``
    positions ``a`` to ``b - 1`` of source ``n`` are about to go out in a request.
``{"d": n, "r": [[a, b], ...]}``
    the collector confirmed them (written only after its 2xx answer was read).
``{"x": n, "r": [[a, b], ...]}``
    the collector answered and did not take them (a definite refusal: not in flight).
``{"f": n, "lines": N, "ok": true}``
    source ``n`` was read to its end (``N`` positions) and, with ``ok``, all of it delivered.

A ``d`` record follows the answer, never precedes it, so a journal never claims an event the
collector did not confirm; the worst a kill can do is leave the last line torn, and a torn last
line is ignored (and cut off before anything is appended). What was sent (``s``) but neither
confirmed nor refused when a run died was *in flight*: it is sent again and counted as
possibly duplicated. The journal holds positions, sizes and hashes: never the key, never the
content of an event.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._encode.eventids import row_hashes
from .._errors import ConfigError

__all__ = ["HEAD_BYTES", "Journal", "Positions", "Ranges", "Tracker", "file_identity",
           "frame_identity", "journal_dir", "journal_for", "list_identity", "to_ranges"]

VERSION = 1
#: How much of a file's start its fingerprint covers.
HEAD_BYTES = 64 * 1024
#: At most one fsync this often (seconds) while a send goes; always one at the end.
SYNC_EVERY = 1.0
_MAGIC = b'{"hecnb_journal":'
_RESTART = ("Pass restart=True (hecnb send --restart) to send everything again and start the "
            "journal over, or name another journal.")


class Ranges:
    """A set of non-negative ints as sorted, disjoint half-open ranges ``[a, b)``."""

    def __init__(self, pairs: Sequence[Sequence[int]] = ()) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for a, b in pairs:
            self.add(int(a), int(b))

    def add(self, a: int, b: int) -> None:
        """Add ``[a, b)``, merging with what it touches."""
        if b <= a:
            return
        starts, ends = self.starts, self.ends
        i = bisect.bisect_left(ends, a)  # first range that ends at or after a
        j = bisect.bisect_right(starts, b)  # ranges before j start at or before b
        if i < j:
            a, b = min(a, starts[i]), max(b, ends[j - 1])
        starts[i:j] = [a]
        ends[i:j] = [b]

    def update(self, other: Ranges) -> None:
        for a, b in other:
            self.add(a, b)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self.starts, self.ends, strict=True))

    def __contains__(self, i: object) -> bool:
        if not isinstance(i, int):
            return False
        k = bisect.bisect_right(self.starts, i) - 1
        return k >= 0 and i < self.ends[k]

    def __len__(self) -> int:
        """How many ints the set holds."""
        return sum(b - a for a, b in self)

    def __bool__(self) -> bool:
        return bool(self.starts)

    def overlap(self, a: int, b: int) -> int:
        """How many of ``a`` to ``b - 1`` are in the set."""
        n = 0
        k = max(bisect.bisect_right(self.starts, a) - 1, 0)
        while k < len(self.starts) and self.starts[k] < b:
            n += max(0, min(b, self.ends[k]) - max(a, self.starts[k]))
            k += 1
        return n

    def minus(self, other: Ranges) -> Ranges:
        """The ints of this set that are not in ``other``."""
        out = Ranges()
        for a, b in self:
            for c, d in _gaps(other, a, b):
                out.add(c, d)
        return out

    def missing(self, n: int) -> list[tuple[int, int]]:
        """The ranges of ``0`` to ``n - 1`` not in the set."""
        return list(_gaps(self, 0, n))

    def pairs(self) -> list[list[int]]:
        return [[a, b] for a, b in self]


def _gaps(ranges: Ranges, a: int, b: int) -> Iterator[tuple[int, int]]:
    """The parts of ``[a, b)`` not covered by ``ranges``."""
    at = a
    k = max(bisect.bisect_right(ranges.starts, a) - 1, 0)
    while k < len(ranges.starts) and ranges.starts[k] < b:
        s, e = ranges.starts[k], ranges.ends[k]
        if e > at:
            if s > at:
                yield at, min(s, b)
            at = max(at, e)
        k += 1
    if at < b:
        yield at, b


def to_ranges(indices: Sequence[int]) -> list[list[int]]:
    """Ascending positions as ``[[a, b), ...]`` runs (one run in the common case, at once)."""
    n = len(indices)
    if not n:
        return []
    first, last = indices[0], indices[-1]
    if last - first + 1 == n:
        return [[first, last + 1]]
    out: list[list[int]] = []
    start = prev = first
    for i in indices[1:]:
        if i != prev + 1:
            out.append([start, prev + 1])
            start = i
        prev = i
    out.append([start, prev + 1])
    return out


# -- identities ------------------------------------------------------------------------------
def file_identity(path: str) -> dict[str, Any]:
    """What tells a file apart from another or from itself changed: size, mtime and a sha256
    of its first 64 KiB (its content is not kept, only the hash)."""
    st = os.stat(path)
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(HEAD_BYTES)).hexdigest()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "head": head}


def _describe_file(identity: Mapping[str, Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(identity["mtime_ns"] / 1e9))
    return f"{identity['size']:,} bytes, modified {when}"


# -- where --resume keeps journals -----------------------------------------------------------
def journal_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The user's state directory for journals (not created here): ``%LOCALAPPDATA%\\hecnb\\
    journals`` on Windows, else ``$XDG_STATE_HOME/hecnb/journals`` or
    ``~/.local/state/hecnb/journals``."""
    env = os.environ if environ is None else environ
    if (platform or sys.platform) == "win32":
        base = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "hecnb" / "journals"
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "hecnb" / "journals"


def journal_for(paths: Sequence[str], environ: Mapping[str, str] | None = None) -> Path:
    """The journal ``--resume`` uses for these files: named after the first file and a hash of
    every absolute path, so the same command finds the same journal."""
    absolute = [os.path.abspath(p) for p in paths]
    digest = hashlib.sha256("\n".join(absolute).encode("utf-8", "surrogateescape")).hexdigest()
    stem = os.path.basename(absolute[0]) if absolute else "none"
    more = f"+{len(absolute) - 1}" if len(absolute) > 1 else ""
    return journal_dir(environ) / f"{stem}{more}-{digest[:16]}.journal"


# -- the journal -----------------------------------------------------------------------------
def _lock(fd: int) -> bool:
    """Hold the journal for this process (released when it ends, however it ends); False
    when another process holds it. Where there is no ``fcntl`` (Windows), always True."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class _Source:
    """What the journal says about one source."""

    def __init__(self) -> None:
        self.identity: dict[str, Any] | None = None
        self.done = Ranges()
        self.sent: dict[int, Ranges] = {}  # per earlier run: positions that went out
        self.refused: dict[int, Ranges] = {}  # per earlier run: definitely not taken
        self.finished: dict[str, Any] | None = None  # the "f" record, if any

    def in_flight(self) -> list[Ranges]:
        """Per earlier run, what was on the wire when it ended: sent, never confirmed, not
        refused by that run. Each may already be at the collector."""
        out = []
        for run, sent in self.sent.items():
            rest = sent.minus(self.done).minus(self.refused.get(run, Ranges()))
            if rest:
                out.append(rest)
        return out


class Journal:
    """A journal opened for one run: ``Journal.open(path, kind, sources, restart=...)``.

    ``sources`` are the keys of what is sent (absolute paths, or ``"frame"``); a journal
    written for other sources, or one that is damaged, is a :class:`ConfigError` naming it
    and the fix; ``restart=True`` starts it over.
    """

    def __init__(self, path: str, kind: str, sources: list[str]) -> None:
        self.path = path
        self.kind = kind
        self.sources = sources
        self.state = [_Source() for _ in sources]
        self.run = 0
        self._fd: int | None = None
        self._synced = time.monotonic()
        self._dirty = False  # written since the last fsync

    @classmethod
    def open(cls, path: str | os.PathLike[str], kind: str, sources: Sequence[str], *,
             restart: bool = False) -> Journal:
        journal = cls(os.fspath(path), kind, list(sources))
        journal._hold()
        try:
            lines, keep = journal._read(restart)
            if lines:
                journal._load(lines)
            journal._begin(keep)
        except BaseException:
            journal.close()
            raise
        return journal

    def _read(self, restart: bool) -> tuple[list[dict[str, Any]], int]:
        """The journal's records (torn last line dropped) and the byte length to keep."""
        path = self.path
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return [], 0
        except OSError as exc:
            raise ConfigError(f"Cannot read the journal {path!r}: {exc.strerror or exc}. "
                              "Check the path, or name another journal.") from None
        if data and not (data.startswith(_MAGIC) or _MAGIC.startswith(data)):
            raise ConfigError(f"{path!r} is not a hecnb journal (its first line is not one); "
                              "it was left as it is. Name another file for the journal.")
        if restart:
            return [], 0
        keep = data.rfind(b"\n") + 1  # a last line without its end is torn: not kept
        records = []
        for number, line in enumerate(data[:keep].splitlines(), 1):
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
            except ValueError:
                raise ConfigError(f"The journal {path!r} is damaged at line {number:,}: it "
                                  f"cannot say what was delivered. {_RESTART}") from None
            records.append(rec)
        if records and records[0].get("hecnb_journal") != VERSION:
            raise ConfigError(f"The journal {path!r} is of version "
                              f"{records[0].get('hecnb_journal')!r}, which this hecnb does "
                              f"not read. {_RESTART}")
        return records, keep

    def _load(self, records: list[dict[str, Any]]) -> None:
        header = records[0]
        if header.get("kind") != self.kind or header.get("sources") != self.sources:
            raise ConfigError(self._not_for(header))
        for number, rec in enumerate(records[1:], 2):
            try:
                self._apply(rec)
            except (KeyError, IndexError, TypeError, ValueError):
                raise ConfigError(f"The journal {self.path!r} is damaged at line {number:,}: "
                                  f"it cannot say what was delivered. {_RESTART}") from None

    def _apply(self, rec: dict[str, Any]) -> None:
        if "run" in rec:
            self.run = max(self.run, int(rec["run"]))
            return
        for tag in ("s", "d", "x"):
            if tag in rec:
                src = self.state[int(rec[tag])]
                ranges = Ranges(rec["r"])
                if tag == "d":
                    src.done.update(ranges)
                else:
                    into = src.sent if tag == "s" else src.refused
                    into.setdefault(self.run, Ranges()).update(ranges)
                return
        if "src" in rec:
            self.state[int(rec["src"])].identity = {k: v for k, v in rec.items() if k != "src"}
        elif "f" in rec:
            self.state[int(rec["f"])].finished = rec

    def _not_for(self, header: Mapping[str, Any]) -> str:
        theirs = header.get("sources") or []
        if header.get("kind") != self.kind:
            what = "a DataFrame" if header.get("kind") == "frame" else "files"
            mine = "a DataFrame" if self.kind == "frame" else "files"
            return (f"The journal {self.path!r} was written for {what}, not {mine}. Name "
                    "another journal (or pass restart=True / --restart to start this one "
                    "over).")
        if len(theirs) == 1 and len(self.sources) == 1:
            return (f"The journal {self.path!r} is for {theirs[0]}, not {self.sources[0]}. "
                    "Name that file, or another journal for this one (or pass restart=True / "
                    "--restart to start this journal over).")
        new = [s for s in self.sources if s not in theirs]
        gone = [s for s in theirs if s not in self.sources]
        return (f"The journal {self.path!r} was written for {len(theirs):,} files; this run "
                f"names {len(self.sources):,}" + (f" (not in the journal: {', '.join(new)})"
                                                  if new else "")
                + (f" (in the journal, not named now: {', '.join(gone)})" if gone else "")
                + ("" if new or gone else " in another order")
                + ". Name the same files, or another journal (or pass restart=True / --restart "
                "to start this one over).")

    def _hold(self) -> None:
        """Open the journal for writing (made if missing, nothing changed yet) and hold it
        for this process, before it is read."""
        try:
            parent = os.path.dirname(self.path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0),
                         0o600)
        except OSError as exc:
            raise ConfigError(f"Cannot write the journal {self.path!r}: "
                              f"{exc.strerror or exc}. Name a journal in a folder you can "
                              "write to.") from None
        if not _lock(fd):
            os.close(fd)
            raise ConfigError(f"The journal {self.path!r} is in use by another send (two "
                              "sends with one journal would each send again what the other "
                              "confirmed): wait for it to finish, or name another journal.")
        self._fd = fd

    def _begin(self, keep: int) -> None:
        """Append from here on (a torn tail cut off first) and mark a new run."""
        fd = self._fd
        assert fd is not None
        fresh = keep == 0
        os.ftruncate(fd, keep)
        os.lseek(fd, 0, os.SEEK_END)
        if fresh:
            self.run = 0
            self.state = [_Source() for _ in self.sources]
            self._write({"hecnb_journal": VERSION, "kind": self.kind,
                         "sources": self.sources})
        self.run += 1
        self._write({"run": self.run})

    # -- writing ---------------------------------------------------------------------------------
    def _write(self, record: dict[str, Any]) -> None:
        fd = self._fd
        if fd is None:
            return
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        os.write(fd, line)  # one write: the line is in the OS the moment this returns
        self._dirty = True

    def sync(self) -> None:
        """Put what was written on the disk (fsync): against a power cut, not only a kill
        (a killed process loses nothing the OS has: every record is written at once)."""
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
            self._synced = time.monotonic()
            self._dirty = False

    def close(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- per source ------------------------------------------------------------------------------
    def check_identity(self, n: int, identity: dict[str, Any], *, what: str) -> None:
        """Refuse a source that changed since the journal first saw it; record a new one."""
        known = self.state[n].identity
        if known is None:
            self.state[n].identity = identity
            self._write({"src": n, **identity})
            return
        if known == identity:
            return
        if self.kind == "files":
            raise ConfigError(
                f"{what} has changed since the journal {self.path!r} recorded it (then "
                f"{_describe_file(known)}, now {_describe_file(identity)}): resuming would "
                f"skip or repeat the wrong lines. {_RESTART}")
        raise ConfigError(
            f"{what} is not the one the journal {self.path!r} was written for (then "
            f"{_describe_rows(known)}; now {_describe_rows(identity)}): resuming would skip "
            f"or repeat the wrong rows. {_RESTART}")

    def delivered(self, n: int) -> int:
        """Positions of source ``n`` the journal confirms."""
        return len(self.state[n].done)

    def finished(self, n: int) -> bool:
        """True when source ``n`` was read to its end and all of it delivered."""
        fin = self.state[n].finished
        return bool(fin and fin.get("ok"))

    def known_total(self, n: int) -> int | None:
        fin = self.state[n].finished
        return int(fin["lines"]) if fin else None

    def finish(self, n: int, lines: int, ok: bool) -> None:
        self._write({"f": n, "lines": lines, "ok": ok})
        self.sync()

    def tracker(self, n: int, positions: Positions | None = None) -> Tracker:
        """The hook a run calls as requests go out and are answered, for source ``n``;
        ``positions`` maps the run's indices to the source's (a DataFrame's missing rows)."""
        return Tracker(self, n, positions)


class Positions:
    """The rows a resumed run sends, as a map from its positions (0, 1, ...) to the source's:
    the missing ranges of the source laid end to end."""

    def __init__(self, ranges: Sequence[tuple[int, int]]) -> None:
        self.ranges = [(a, b) for a, b in ranges if b > a]
        self.firsts: list[int] = []  # the run's position of each range's first row
        at = 0
        for a, b in self.ranges:
            self.firsts.append(at)
            at += b - a
        self.count = at

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> int:
        k = bisect.bisect_right(self.firsts, i) - 1
        return self.ranges[k][0] + i - self.firsts[k]

    def runs(self, a: int, b: int) -> list[list[int]]:
        """The run's positions ``a`` to ``b - 1`` as the source's ranges."""
        out = []
        k = bisect.bisect_right(self.firsts, a) - 1
        while a < b:
            start, stop = self.ranges[k]
            first = self.firsts[k]
            lo = start + a - first
            hi = min(stop, start + b - first)
            out.append([lo, hi])
            a += hi - lo
            k += 1
        return out

    def flat(self) -> Any:
        """Every source position, in order (a numpy array: for ``DataFrame.take``)."""
        import numpy as np

        parts = [np.arange(a, b, dtype=np.int64) for a, b in self.ranges]
        return np.concatenate(parts) if parts else np.array([], dtype=np.int64)


class Tracker:
    """Given to the send engine (``Run(journal=...)``): records what goes out and what the
    collector confirmed, on the calling thread, as it happens."""

    def __init__(self, journal: Journal, n: int, positions: Positions | None) -> None:
        self.journal = journal
        self.n = n
        self.positions = positions
        self.done = journal.state[n].done
        self.before = journal.state[n].in_flight()
        self.resent = 0  # events delivered now that were in flight when an earlier run died

    def _ranges(self, indices: Sequence[int]) -> list[list[int]]:
        ranges = to_ranges(indices)
        positions = self.positions
        if positions is None:
            return ranges
        return [r for a, b in ranges for r in positions.runs(a, b)]

    def sending(self, indices: Sequence[int]) -> None:
        """A request with these events is about to go out."""
        self.journal._write({"s": self.n, "r": self._ranges(indices)})

    def settled(self, indices: Sequence[int], delivered: bool, definite: bool) -> None:
        """The request's outcome: confirmed (``delivered``), refused for sure (``definite``),
        or neither (no answer: it stays in flight as far as a later run knows)."""
        ranges = self._ranges(indices)
        journal = self.journal
        if delivered:
            journal._write({"d": self.n, "r": ranges})
            for a, b in ranges:
                self.done.add(a, b)
                for earlier in self.before:
                    self.resent += earlier.overlap(a, b)
            if time.monotonic() - journal._synced >= SYNC_EVERY:
                journal.sync()
        elif definite:
            journal._write({"x": self.n, "r": ranges})


# -- DataFrames ------------------------------------------------------------------------------
SAMPLE_ROWS = 1000


def frame_identity(frame: Any) -> dict[str, Any]:
    """A DataFrame's fingerprint: shape, column names, dtypes and a sha256 over the hashes of
    up to 1,000 rows spread evenly through it (no value is kept, only the hash)."""
    import numpy as np

    n = len(frame)
    picks = np.unique(np.linspace(0, n - 1, num=min(n, SAMPLE_ROWS)).astype(np.int64)) if n \
        else np.array([], dtype=np.int64)
    sample = frame.iloc[picks]
    hashes = row_hashes(sample, index=True)
    digest = hashlib.sha256(np.ascontiguousarray(hashes).tobytes()).hexdigest()
    return {"rows": int(n), "columns": [str(c) for c in frame.columns],
            "dtypes": [str(t) for t in frame.dtypes], "sample": digest}


def list_identity(events: Sequence[Any]) -> dict[str, Any]:
    """A list's fingerprint: its length and a sha256 over up to 1,000 of its events spread
    evenly through it (their JSON text, keys sorted; only the hash is kept)."""
    import orjson

    n = len(events)
    step = max(1, n // SAMPLE_ROWS)
    digest = hashlib.sha256()
    for i in range(0, n, step):
        evt = events[i]
        digest.update(orjson.dumps(evt, default=repr, option=orjson.OPT_SORT_KEYS
                                   | orjson.OPT_NON_STR_KEYS) if not isinstance(
            evt, (str, bytes)) else (evt.encode("utf-8", "surrogatepass") if isinstance(
                evt, str) else evt))
        digest.update(b"\n")
    return {"rows": n, "sample": digest.hexdigest()}


def _describe_rows(identity: Mapping[str, Any]) -> str:
    columns = identity.get("columns")
    if columns is None:
        return f"{identity['rows']:,} events"
    return (f"{identity['rows']:,} rows x {len(columns):,} columns "
            f"{columns[:6]}{'...' if len(columns) > 6 else ''}")
