"""Deterministic event ids (``event_id="hecnb_id"``): every event carries an id that is the
same each time the same data is sent, so that duplicates (a resend after a kill, what was in
flight) can be recognised in the SIEM.

``event_id_from="position"`` (the default): ``<source token>-<position>``, the token a hash of
the source's identity (a file's size and the sha256 of its head; a frame's shape, columns,
dtypes and sampled rows; a list's length and sampled events) and the position its line, row or
index, from 0; unique per event. ``"content"``: 16 hex digits of a hash of the event itself
(the line's text, the row's values, the record's JSON with sorted keys): the same however the
data is cut, shared by identical events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .._errors import ConfigError

__all__ = ["EVENT_ID_SOURCES", "check_event_id", "frame_with_ids", "lines_with_ids",
           "records_with_ids", "row_hashes", "stable_text", "token_of",
           "with_id_column"]

EVENT_ID_SOURCES = ("position", "content")


def check_event_id(name: Any, source: Any) -> None:
    """A ConfigError, before anything is sent, for an id name or source that cannot be."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"event_id must be the name of the member to hold each event's id "
                          f"(e.g. 'hecnb_id'), not {name!r}.")
    if source not in EVENT_ID_SOURCES:
        raise ConfigError(f"event_id_from must be 'position' or 'content', not {source!r}.")


def token_of(identity: Mapping[str, Any]) -> str:
    """12 hex digits naming a source by its identity (where it lives and when it was written
    do not count: a copy of a file gets the same ids)."""
    kept = {k: v for k, v in identity.items() if k not in ("mtime_ns", "path")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:12]


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def lines_with_ids(pairs: Iterable[tuple[Any, ...]], name: str, token: str,
                   source: str) -> Iterator[tuple[Any, ...]]:
    """File events ``(line index, event dict, line text)`` with the id member set."""
    content = source == "content"
    for pair in pairs:
        index, event = pair[0], pair[1]
        event[name] = (_digest(pair[-1].encode("utf-8", "surrogatepass")) if content
                       else f"{token}-{index}")
        yield pair


def records_with_ids(events: Sequence[Any], name: str, token: str,
                     source: str) -> list[Any]:
    """A list of events as new dicts with the id member (the caller's dicts are left as they
    are); an event that is no dict cannot carry a member and is a ConfigError."""
    import orjson

    out = []
    for i, event in enumerate(events):
        if hasattr(event, "to_dict") and not isinstance(event, Mapping):
            event = event.to_dict()  # an IngestPayload
        if not isinstance(event, Mapping):
            raise ConfigError(f"event_id= adds a member to each event, and event {i} is a "
                              f"{type(event).__name__}, not a dict. Nothing was sent.")
        if source == "content":
            ident = _digest(orjson.dumps(event, default=repr, option=orjson.OPT_SORT_KEYS
                                         | orjson.OPT_NON_STR_KEYS))
        else:
            ident = f"{token}-{i}"
        out.append({**event, name: ident})
    return out


def row_hashes(frame: Any, *, index: bool = False) -> Any:
    """A 64-bit hash per row of ``frame`` (numpy); cells holding dicts or lists are hashed by
    their stable JSON text. The one row hash of ids, journals' fingerprints and Dask."""
    import pandas as pd

    try:
        hashes = pd.util.hash_pandas_object(frame, index=index)
    except TypeError:  # dicts or lists in a column: hash their stable JSON text
        hashes = pd.util.hash_pandas_object(frame.apply(
            lambda col: col.map(stable_text) if col.dtype == object else col), index=index)
    return hashes.to_numpy()


def frame_with_ids(frame: Any, name: str, prefix: str, source: str) -> Any:
    """``frame`` with an id column (a shallow copy: the caller's frame is left as it is):
    ``prefix`` + the row's position, or (``source="content"``) 16 hex digits of its hash."""
    import pandas as pd

    out = frame.copy(deep=False)
    if source == "content":
        out[name] = [f"{h:016x}" for h in row_hashes(frame).tolist()]
    else:
        out[name] = (prefix + pd.RangeIndex(len(frame)).astype(str)).to_numpy()
    return out


def with_id_column(options: dict[str, Any], name: str) -> dict[str, Any]:
    """Send options that keep the id column when ``columns=`` picks the columns to send."""
    columns = options.get("columns")
    if columns is None:
        return options
    picked = [columns] if isinstance(columns, str) else list(columns)
    return {**options, "columns": [*picked, name]}


def stable_text(value: Any) -> Any:
    """A hashable stand-in for a cell: JSON with sorted keys for containers, else the value."""
    if isinstance(value, (dict, list, tuple, set)):
        import orjson

        return orjson.dumps(value, default=repr, option=orjson.OPT_SORT_KEYS).decode()
    return value
