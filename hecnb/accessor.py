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

import os
from typing import Any

import pandas as pd

from ._hec import HEC, check_send_keywords, split_keywords
from ._preview import Preview, frame_events, preview
from ._report.framejournal import SEND_KEYWORDS
from ._report.report import SendReport
from ._session import current, get_default

__all__ = ["NgsiemAccessor", "Preview"]


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
                 journal: str | os.PathLike[str] | None = None, restart: bool = False,
                 **options: Any) -> SendReport:
        """Send every row as one event; return the :class:`SendReport`.

        ``hec=None`` uses the session default (``hecnb.configure(...)``, the config panel or
        the ``NGSIEM_*`` environment variables). ``show_progress=None`` shows a bar in
        notebooks. An empty frame makes no request. ``journal`` (a path) records the rows the
        collector confirmed: the same call after a kernel restart sends only the rest
        (``restart=True`` starts it over); ``event_id="hecnb_id"`` gives every row a
        deterministic id (docs/reliability.md).
        """
        check_send_keywords(options, SEND_KEYWORDS)
        keywords, options = split_keywords(options)
        if keywords:  # a client for this call: the default's settings, these changed
            base = hec if hec is not None else current()
            with (base.replace(**keywords) if base is not None else HEC(**keywords)) as client:
                return client.send(self._obj, ingest_format=ingest_format,
                                   raw_ingest=raw_ingest, show_progress=show_progress,
                                   journal=journal, restart=restart, **options)
        client = hec if hec is not None else get_default()
        return client.send(self._obj, ingest_format=ingest_format, raw_ingest=raw_ingest,
                           show_progress=show_progress, journal=journal, restart=restart,
                           **options)

    def preview(self, n: int = 3, ingest_format: str | None = None, *,
                raw_ingest: bool | None = None, hec: HEC | None = None,
                **options: Any) -> Preview:
        """The exact text one request would carry for the first ``n`` rows (before gzip).

        Format, raw mode and time unit default to those of ``hec`` or the session default,
        else json on the event endpoint. The result is that text (a str); it also tells where
        the events' time comes from (``.event_time``), judged on the whole frame.
        """
        return preview(self._obj, n, hec=hec, ingest_format=ingest_format,
                       raw_ingest=raw_ingest, **options)

    def events(self, ingest_format: str | None = None, *, raw_ingest: bool | None = None,
               hec: HEC | None = None, **options: Any) -> list[bytes]:
        """Every row's encoded event, exactly as it would travel (one item per row)."""
        return frame_events(self._obj, hec=hec, ingest_format=ingest_format,
                            raw_ingest=raw_ingest, **options)
