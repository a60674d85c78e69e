"""``JsonEventEncoder``: FalconPy's per-event JSON path, one event or a list chunk at a time.

Dicts (FalconPy style, plain records, ready envelopes), ``IngestPayload`` objects, JSON strings
and raw text lines become envelope lines. This is the list and file path's hot loop
(``encode_list``), kept free of pandas; DataFrames take ``frames.FramePlan`` and records with
converter options or in other formats ``RecordConverter``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Mapping
from typing import Any

import orjson

from .._errors import ConfigError, ConversionError
from .._settings.names import TIMEUNITS, normalize_timeunit
from . import eventtime as evtime
from .envelope import (
    INT_TOO_BIG,
    ORJSON_OPTIONS,
    ORJSON_OPTIONS_NL,
    hec_seconds,
    is_envelope,
    json_default,
)
from .payload import IngestPayload
from .timenotes import TimeNotes

__all__ = ["JsonEventEncoder"]


class JsonEventEncoder:
    """Turns one user event into the bytes of one JSON envelope (or one raw line).

    Accepts dicts (FalconPy style, or ready envelopes), ``IngestPayload``, JSON strings and, in raw
    mode, any text line. Returns bytes ending in ``\\n``. The event time follows the rule of
    ``eventtime`` (``timestamp_column="auto"``, or None for FalconPy's ``timestamp`` only);
    with ``hec_time`` (the default) the envelope also carries HEC's top-level ``time`` (epoch
    seconds), which raw lines never do. ``notes`` counts what the rule did.
    """

    content_type = "application/json"

    def __init__(self, *, timeunit: str = "nanoseconds", raw: bool = False,
                 timestamp_column: Any = evtime.AUTO, hec_time: bool = True,
                 notes: TimeNotes | None = None) -> None:
        self.timeunit = normalize_timeunit(timeunit)
        self.raw = raw
        self._divisor = 1_000_000_000 // TIMEUNITS[self.timeunit]
        self._ups = TIMEUNITS[self.timeunit]
        self._per_s = float(self._ups)
        choice = evtime.check_choice(timestamp_column)
        if choice not in (evtime.AUTO, None):
            raise ConfigError("JsonEventEncoder takes timestamp_column='auto' or None; a named "
                              "column goes through make_encoder().")
        self.time_choice = choice
        if not isinstance(hec_time, bool):
            raise ConfigError(f"hec_time must be True or False; got {hec_time!r}.")
        self.hec_time = hec_time and not raw
        self.notes = notes if notes is not None else TimeNotes(
            evtime.AUTO if choice == evtime.AUTO else "timestamp", self._divisor)
        self._ranker = evtime.Ranker()
        self._saw_datetime = False

    def _hook(self, obj: Any) -> Any:
        """orjson's fallback; notes that a datetime was met (for the datetime-member step)."""
        if isinstance(obj, dt.datetime):
            self._saw_datetime = True
        return json_default(obj)

    # -- one event -------------------------------------------------------------------------
    def envelope(self, evt: Any) -> Any:
        """The envelope object for ``evt`` (a str for raw text lines)."""
        return self._envelope(evt, time.time_ns() // self._divisor)[0]

    def _envelope(self, evt: Any, now: int) -> tuple[Any, Any]:
        """``(envelope, what the time rule did)``; the second part is committed to the
        notes only once the event is encoded (see :meth:`_commit`)."""
        if type(evt) is dict or isinstance(evt, Mapping):
            if "event" in evt and is_envelope(evt):  # ready envelopes pass as they are
                if self.raw and "fields" in evt:
                    return {k: v for k, v in evt.items() if k != "fields"}, None
                return evt, None
            host = evt.get("host")
            event: dict[str, Any] = {"host": host} if host is not None else {}
            event["timestamp"] = now
            event["timeunit"] = self.timeunit
            event.update(evt)
            if host is None:
                event.pop("host", None)
            fields = event.pop("fields", None)
            custom = event.pop("custom", None)
            if isinstance(custom, Mapping):  # FalconPy's custom keys join the event
                event.update(custom)
            elif custom is not None:  # anything else is an ordinary member
                event["custom"] = custom
            event["timeunit"] = self.timeunit
            members = event if "timestamp" in evt or (
                isinstance(custom, Mapping) and "timestamp" in custom) else _without(
                    event, "timestamp")
            stamp, key, bad, seen, several = evtime.resolve(members, self.time_choice,
                                                            self._ranker, self._divisor)
            event["timestamp"] = now if stamp is None else stamp
            env = self._wrap(event, fields if fields and not self.raw else None)
            return env, (key, event["timestamp"], bad, seen, several)
        if isinstance(evt, IngestPayload):
            had_time = bool(getattr(evt, "_timestamp", True))
            evt.timeunit = self.timeunit
            obj = evt.to_json(raw=False)
            if isinstance(obj, dict):
                if self.raw:
                    obj.pop("fields", None)
                stamp = obj["event"].get("timestamp")
                if self.hec_time and isinstance(stamp, int):
                    obj = {"time": hec_seconds(stamp, self._ups), **obj}
                note: Any = ("timestamp", stamp, [], ["timestamp"], "") if had_time else (
                    None, stamp, [], [], "")
                return obj, note
            return obj, None  # pragma: no cover - to_json(raw=False) returns a dict
        if isinstance(evt, (bytes, bytearray)):
            try:
                evt = bytes(evt).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConversionError(f"event is not UTF-8 text ({exc.reason}).") from None
        if isinstance(evt, str):
            text = evt.rstrip("\r\n")
            if self.raw:
                if "\n" in text or "\r" in text:
                    raise ConversionError(
                        "a raw event contains a line break: on the raw endpoint every line is a "
                        "separate event; split the text into lines first."
                    )
                return text, None
            if text.lstrip().startswith("{"):
                try:
                    parsed = orjson.loads(text)
                except orjson.JSONDecodeError:
                    parsed = None
                if isinstance(parsed, dict):
                    return self._envelope(parsed, now)
            event = {"timestamp": now, "timeunit": self.timeunit, "message": text}
            return self._wrap(event, None), (None, now, [], [], "")
        raise ConversionError(
            f"an event must be a dict, a str or an IngestPayload, not {type(evt).__name__}."
        )

    def _wrap(self, event: dict[str, Any], fields: Any) -> dict[str, Any]:
        env: dict[str, Any] = ({"time": hec_seconds(event["timestamp"], self._ups),
                                "event": event} if self.hec_time else {"event": event})
        if fields:
            env["fields"] = fields
        return env

    def _commit(self, note: Any) -> None:
        """Count one encoded event in the notes."""
        if note is None:  # a ready envelope or a raw line: the rule did not apply
            return
        key, stamp, bad, seen, several = note
        notes = self.notes
        notes.events += 1
        if seen:
            notes.seen.update(str(k) for k in seen)
        for k, v in bad:
            notes.bad_value(str(k), v)
        if several:
            notes.note(several)
        if key is not None:
            notes.add_times(str(key), [stamp])

    def encode(self, evt: Any) -> bytes:
        """Bytes of one event, newline-terminated."""
        out, note = self._encode_one(evt, time.time_ns() // self._divisor)
        self._commit(note)
        return out

    def _encode_one(self, evt: Any, now: int) -> tuple[bytes, Any]:
        obj, note = self._envelope(evt, now)
        if type(obj) is str:
            return obj.encode("utf-8") + b"\n", note
        return _dump_envelope(obj, self._hook), note

    # -- many events -----------------------------------------------------------------------
    def encode_list(self, events: list[Any]) -> list[bytes]:
        """:meth:`encode` for many events: the plain-record case inlined (the sender's hot
        loop). Raises ConversionError like ``encode`` for the first event that fails.

        The time rule is decided once per chunk from the keys present (one set union; each
        new spelling of a key is looked at once), so a plain record costs a dict lookup per
        candidate name and the reading of its value.
        """
        dumps, hook, opt = orjson.dumps, self._hook, ORJSON_OPTIONS_NL
        unit, div, ups, raw = self.timeunit, self._divisor, self._ups, self.raw
        hec_time = self.hec_time
        read, unreadable, iso_ns = evtime.read, evtime.Unreadable, evtime.iso_ns
        low, high = -(2**63), 2**63 - 1
        now = time.time_ns() // div
        now_s = hec_seconds(now, ups)
        if set(map(type, events)) <= {dict}:
            keys = set().union(*events)
        else:
            keys = set().union(*[e for e in events if type(e) is dict])
        odd = not _ODD_KEYS.isdisjoint(keys)  # envelopes, custom, timeunit: the full path
        has_host, has_fields, has_ts = "host" in keys, "fields" in keys, "timestamp" in keys
        if self.time_choice is None:
            cands: list[Any] = ["timestamp"] if has_ts else []
        else:
            cands = self._ranker.order(keys)
        timed: dict[Any, list[int]] = {}
        bad: list[tuple[Any, Any]] = []
        untimed: list[int] = []
        slow: list[Any] = []  # notes of the events that took the full path
        out: list[bytes] = []
        append = out.append
        self._saw_datetime = False
        try:
            for evt in events:
                if type(evt) is not dict or (odd and ("event" in evt or "custom" in evt
                                                      or "timeunit" in evt)) or (
                        has_host and evt.get("host", "") is None):
                    part, note = self._encode_one(evt, now)
                    append(part)
                    slow.append(note)
                    continue
                stamp = None
                for key in cands:
                    value = evt.get(key)
                    if value is None:
                        continue
                    try:
                        if type(value) is str:  # ISO text, the common case: read it here
                            ns = iso_ns(value)
                            stamp = ns // div if ns is not None and low < ns <= high else \
                                read(value, key, div)
                        else:
                            stamp = read(value, key, div)
                    except unreadable:
                        bad.append((key, value))
                        continue
                    if stamp is not None:
                        got = timed.get(key)
                        if got is None:
                            timed[key] = [stamp]
                        else:
                            got.append(stamp)
                        break
                if stamp is None:
                    untimed.append(len(out))
                    event = {"timestamp": now, "timeunit": unit}
                    event.update(evt)
                    if has_ts:
                        event["timestamp"] = now
                    seconds = now_s
                else:
                    event = {"timestamp": stamp, "timeunit": unit}
                    event.update(evt)
                    if has_ts:
                        event["timestamp"] = stamp
                    seconds = stamp if ups == 1 else stamp // ups + stamp % ups / ups
                fields = event.pop("fields", None) if has_fields else None
                env: dict[str, Any] = ({"time": seconds, "event": event} if hec_time
                                       else {"event": event})
                if fields and not raw:
                    env["fields"] = fields
                append(dumps(env, default=hook, option=opt))
        except TypeError:  # >64-bit ints (the standard library writes them), or a bad value
            return self._finish_slowly(events, out, slow, timed, bad, untimed, cands, now)
        if untimed and self._saw_datetime and self.time_choice is not None:
            self._datetime_members(events, out, untimed, timed, cands)
        self._commit_chunk(len(out) - len(slow), timed, bad, cands, slow)
        return out

    def _finish_slowly(self, events: list[Any], out: list[bytes], slow: list[Any],
                       timed: dict[Any, list[int]], bad: list[tuple[Any, Any]],
                       untimed: list[int], cands: list[Any], now: int) -> list[bytes]:
        """The rest of a chunk one event at a time (after orjson refused one): names the
        event and key that fail, or writes ints beyond 64 bits exactly."""
        fast = len(out) - len(slow)
        rest = events[len(out):]
        notes = []
        parts = []
        for evt in rest:
            part, note = self._encode_one(evt, now)  # raises ConversionError for a bad one
            parts.append(part)
            notes.append(note)
        out.extend(parts)
        if untimed and self._saw_datetime and self.time_choice is not None:
            self._datetime_members(events, out, [i for i in untimed if i < fast + len(slow)],
                                   timed, cands)
        self._commit_chunk(fast, timed, bad, cands, slow + notes)
        return out

    def _datetime_members(self, events: list[Any], out: list[bytes], untimed: list[int],
                          timed: dict[Any, list[int]], cands: list[Any]) -> None:
        """Step 2 of the rule for the records of a chunk that had no time by name: their only
        datetime member (a datetime was met while encoding, so there may be one)."""
        now = time.time_ns() // self._divisor
        for i in untimed:
            evt = events[i]
            if type(evt) is not dict or any(k in evt for k in cands):
                continue
            members = _without(evt, "fields")
            stamp, _, _, _, several = evtime.resolve(members, evtime.AUTO, self._ranker,
                                                     self._divisor)
            if several:
                self.notes.note(several)
            if stamp is None:
                continue
            out[i], note = self._encode_one(evt, now)
            if note is not None and note[0] is not None:
                timed.setdefault(note[0], []).append(note[1])
                self.notes.seen.update(str(k) for k in note[3])

    def _commit_chunk(self, fast: int, timed: dict[Any, list[int]],
                      bad: list[tuple[Any, Any]], cands: list[Any], slow: list[Any]) -> None:
        notes = self.notes
        notes.events += fast
        if fast and cands:
            notes.seen.update(str(k) for k in cands)
        for key, values in timed.items():
            notes.add_times(str(key), values)
        for key, value in bad:
            notes.bad_value(str(key), value)
        for note in slow:
            self._commit(note)

    @staticmethod
    def body(parts: list[bytes]) -> bytes:
        """A request body: the events one per line."""
        return b"".join(parts)


_ODD_KEYS = frozenset({"event", "custom", "timeunit"})


def _without(members: dict[str, Any], key: str) -> dict[str, Any]:
    if key not in members:
        return members
    out = dict(members)
    del out[key]
    return out


def _dump_envelope(obj: Any, hook: Any) -> bytes:
    """orjson of one envelope; ints beyond 64 bits through the standard library (exact, as a
    DataFrame writes them); anything with no JSON form a ConversionError naming its key."""
    try:
        return orjson.dumps(obj, default=hook, option=ORJSON_OPTIONS_NL)
    except TypeError as exc:
        if INT_TOO_BIG in str(exc):
            try:
                return json.dumps(_finite(obj), default=hook, ensure_ascii=False,
                                  separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"
            except (TypeError, ValueError) as again:
                exc = TypeError(str(again))
        found = _bad_key(obj, hook)
        where = f"key {found[1]!r}: " if found else ""
        why = found[2] if found else str(exc)  # the named key's own problem
        raise ConversionError(f"event cannot be encoded as JSON: {where}{why}.",
                              column=found[0] if found else None) from None


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None (what orjson writes for them)."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _surrogate_name(key: Any) -> bool:
    """True for a str key that cannot be UTF-8 (a lone surrogate)."""
    return isinstance(key, str) and any("\ud800" <= c <= "\udfff" for c in key)


_SURROGATE_KEY = "str is not valid UTF-8: surrogates not allowed"


def _bad_key(env: Any, hook: Any) -> tuple[str, str, str] | None:
    """``(member, path, why)`` of the first value of an envelope with no JSON form: the event
    member it is in (the "column"), where inside it (``a.b``, ``a[2]``) and its problem."""
    def path(value: Any, prefix: str) -> tuple[str, str] | None:
        if isinstance(value, dict):
            for k, v in value.items():
                here = f"{prefix}.{k}" if prefix else str(k)
                found = (here, _SURROGATE_KEY) if _surrogate_name(k) else path(v, here)
                if found is not None:
                    return found
            return None
        if isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                found = path(v, f"{prefix}[{i}]")
                if found is not None:
                    return found
            return None
        try:
            orjson.dumps(value, default=hook, option=ORJSON_OPTIONS)
        except TypeError as exc:
            if INT_TOO_BIG in str(exc):
                return None
            return prefix, str(exc)
        return None

    event = env.get("event") if isinstance(env, dict) else None
    if isinstance(event, dict):
        for k, v in event.items():
            found = (str(k), _SURROGATE_KEY) if _surrogate_name(k) else path(v, str(k))
            if found is not None:
                return str(k), *found
    if isinstance(env, dict) and isinstance(env.get("fields"), dict):
        found = path(env["fields"], "fields")
        if found is not None:
            return "fields", *found
    return None
