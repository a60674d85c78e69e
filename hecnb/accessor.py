"""``df.to_ngsiem``: send a DataFrame to NG-SIEM in one call.

A callable accessor, as pandas' own ``df.plot``: ``df.to_ngsiem(...)`` sends and returns a
:class:`~hecnb.SendReport`; ``df.to_ngsiem.preview()`` shows the exact text that would be sent
(and, in a notebook, where each event's time comes from); ``df.to_ngsiem.events()`` returns the
encoded events. Every method delegates to the core (``HEC.send``, :func:`hecnb.encode`,
:func:`hecnb.to_events`); nothing is written into ``df.attrs``. Importing hecnb registers it; it
adds exactly one name to ``dir(pd.DataFrame)``.

>>> import hecnb, pandas as pd
>>> hecnb.configure(api_key=KEY, ingest_url=URL)                    # doctest: +SKIP
>>> pd.DataFrame({"user": ["alice"]}).to_ngsiem(host="nb-01")        # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from ._hec import HEC, check_send_keywords, split_keywords
from ._report.report import SendReport
from ._session import current, get_default

__all__ = ["NgsiemAccessor", "Preview"]


class Preview(str):
    """The exact text of one request (``print`` it, or use it as the str it is), which also
    says where each event's time comes from: ``.event_time``, ``.warnings``, and shown above
    the text in a notebook."""

    event_time: str
    warnings: tuple[str, ...]

    def __new__(cls, text: str, event_time: str = "",
                warnings: tuple[str, ...] = ()) -> Preview:
        self = super().__new__(cls, text)
        self.event_time = event_time
        self.warnings = warnings
        return self

    def _header(self) -> list[str]:
        lines = [self.event_time[0].upper() + self.event_time[1:]] if self.event_time else []
        return lines + [f"WARNING: {w}" for w in self.warnings]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("\n".join([*(f"# {line}" for line in self._header()), str(self)]))

    def _repr_html_(self) -> str:
        head = "".join(f"<div><b>{html.escape(line)}</b></div>" for line in self._header())
        return f"<div class='hecnb-preview'>{head}<pre>{html.escape(str(self))}</pre></div>"


@pd.api.extensions.register_dataframe_accessor("to_ngsiem")
class NgsiemAccessor:
    """Send this DataFrame to Falcon NG-SIEM: ``df.to_ngsiem(hec=None, **options)``.

    Options: ``host`` (a value or a column), ``timestamp_column`` ("auto", the default: the
    event-time rule; None; or a column), ``timeunit``, ``fields`` (a dict, or columns to move
    into ``fields``), ``columns`` (to keep), ``na`` ('drop' | 'null'), ``hec_time``; and
    ``ingest_format``, ``raw_ingest``, ``show_progress`` for this send. HEC keywords
    (``ingest_url``, ``api_key``, ``hec_time``...) make a client for this call from the
    session default's settings with these changed.
    """

    def __init__(self, pandas_obj: pd.DataFrame) -> None:
        if not isinstance(pandas_obj, pd.DataFrame):  # pragma: no cover - pandas guarantees it
            raise TypeError("to_ngsiem works on DataFrames")
        self._obj = pandas_obj

    def __call__(self, hec: HEC | None = None, *, ingest_format: str | None = None,
                 raw_ingest: bool | None = None, show_progress: bool | None = None,
                 **options: Any) -> SendReport:
        """Send every row as one event; return the :class:`SendReport`.

        ``hec=None`` uses the session default (``hecnb.configure(...)``, the config panel or
        the ``NGSIEM_*`` environment variables). ``show_progress=None`` shows a bar in
        notebooks. An empty frame makes no request.
        """
        check_send_keywords(options)
        keywords, options = split_keywords(options)
        if keywords:  # a client for this call: the default's settings, these changed
            base = hec if hec is not None else current()
            with (base.replace(**keywords) if base is not None else HEC(**keywords)) as client:
                return client.send(self._obj, ingest_format=ingest_format,
                                   raw_ingest=raw_ingest, show_progress=show_progress,
                                   **options)
        client = hec if hec is not None else get_default()
        return client.send(self._obj, ingest_format=ingest_format, raw_ingest=raw_ingest,
                           show_progress=show_progress, **options)

    def preview(self, n: int = 3, ingest_format: str | None = None, *,
                raw_ingest: bool | None = None, hec: HEC | None = None,
                **options: Any) -> Preview:
        """The exact text one request would carry for the first ``n`` rows (before gzip).

        Format, raw mode and time unit default to those of ``hec`` or the session default,
        else json on the event endpoint. The result is that text (a str); it also tells where
        the events' time comes from (``.event_time``), judged on the whole frame.
        """
        fmt, raw, unit, hec_time = self._defaults(hec, ingest_format, raw_ingest)
        options.setdefault("timeunit", unit)
        options.setdefault("hec_time", hec_time)
        # here, not at import: pandas' own import may still be running
        from ._encode.formats import encode_noted, frame_time_notes

        bodies, head = encode_noted(self._obj.head(max(0, int(n))), fmt, raw=raw, **options)
        text = "".join(body.decode("utf-8") for body in bodies)
        notes = frame_time_notes(self._obj, **{k: v for k, v in options.items()
                                               if k in ("timeunit", "timestamp_column")})
        warnings = notes.all_warnings()
        warnings += [w for w in (head.warnings if head is not None else []) if w not in warnings]
        return Preview(text, notes.summary(), tuple(warnings))

    def events(self, ingest_format: str | None = None, *, raw_ingest: bool | None = None,
               hec: HEC | None = None, **options: Any) -> list[bytes]:
        """Every row's encoded event, exactly as it would travel (one item per row)."""
        fmt, raw, unit, hec_time = self._defaults(hec, ingest_format, raw_ingest)
        options.setdefault("timeunit", unit)
        options.setdefault("hec_time", hec_time)
        from ._encode.formats import to_events

        return to_events(self._obj, fmt, raw=raw, **options)

    @staticmethod
    def _defaults(hec: HEC | None, ingest_format: str | None,
                  raw_ingest: bool | None) -> tuple[str, bool, str, bool]:
        client = hec if hec is not None else current()
        fmt = ingest_format or (client.ingest_format if client is not None else "json")
        raw = raw_ingest if raw_ingest is not None else (
            client.raw_ingest if client is not None else False)
        unit = client.ingest_timeunit if client is not None else "nanoseconds"
        hec_time = client.hec_time if client is not None else True
        return fmt, bool(raw), unit, hec_time
