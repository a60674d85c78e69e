"""What a resend sends: the failed events of a report or a dead-letter file, grouped by how
their requests are framed (format, raw mode, a csv header or an xml document around them), as
the engine's encoded chunks, byte for byte as first encoded."""

from __future__ import annotations

import os
from typing import Any

from .deadletter import fill_payloads, read_dead_letter
from .report import FailedEvent, SendReport

__all__ = ["replay_chunks", "replay_groups"]


def replay_groups(source: SendReport | str | os.PathLike[str] | list[dict[str, Any]],
                  default_raw: bool) -> tuple[dict[tuple[Any, ...], list[Any]],
                                              list[tuple[str, int]], bool]:
    """What a resend sends, grouped by how it is framed: ``({(format, raw, prefix, suffix):
    [(index, payload, event) | FailedEvent never encoded]}, [(unread file, from line)], raw
    mode of the unread tails)``, from a report or a dead-letter file (or its records)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    if isinstance(source, SendReport):
        fill_payloads(source)
        enc = source.encoder
        key = (source.ingest_format, source.raw, getattr(enc, "prefix", b""),
               getattr(enc, "suffix", b""))
        groups[key] = [(f.index, f.payload, f.event) if f.payload is not None else f
                       for f in source.failed]
        return groups, ([source.unread] if source.unread else []), source.raw
    records = source if isinstance(source, list) else read_dead_letter(source)
    unread: list[tuple[str, int]] = []
    unread_raw = default_raw
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
    return groups, unread, unread_raw


def replay_chunks(ready: list[tuple[int, bytes, Any]], size: int = 2048
                  ) -> list[tuple[list[int], list[bytes], list[Any]]]:
    """``(index, payload, event)`` items as the engine's encoded chunks."""
    return [([i for i, _, _ in part], [p for _, p, _ in part], [e for _, _, e in part])
            for part in (ready[start:start + size] for start in range(0, len(ready), size))]

