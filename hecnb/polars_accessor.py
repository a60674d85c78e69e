"""``pl_df.ngsiem``: send a Polars DataFrame or LazyFrame to NG-SIEM, as ``df.to_ngsiem``.

A Polars namespace (Polars has no callable accessors, so sending is ``.send()``):
``pl_df.ngsiem.send(...)`` sends and returns a :class:`~hecnb.SendReport`,
``.preview()`` shows the exact text that would be sent, ``.events()`` returns the encoded
events. Every method delegates to the same core as ``df.to_ngsiem`` (``HEC.send``,
``_preview``); a LazyFrame is collected in streaming batches. Registered when both hecnb and
polars are imported, whichever comes first; ``import hecnb`` never imports polars.

>>> import hecnb, polars as pl
>>> hecnb.configure(api_key=KEY, ingest_url=URL)                    # doctest: +SKIP
>>> pl.DataFrame({"user": ["alice"]}).ngsiem.send(host="nb-01")      # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ._hec import HEC, check_send_keywords, split_keywords
from ._preview import Preview, frame_events, preview
from ._report.report import SendReport
from ._session import current, get_default

__all__ = ["NgsiemNamespace"]


class NgsiemNamespace:
    """Send this Polars frame to Falcon NG-SIEM: ``pl_df.ngsiem.send(hec=None, **options)``.

    The options are those of ``df.to_ngsiem`` (``host``, ``timestamp_column``, ``timeunit``,
    ``fields``, ``columns``, ``na``, ``hec_time``; ``ingest_format``, ``raw_ingest``,
    ``show_progress``), and HEC keywords make a client for this call.
    """

    def __init__(self, frame: pl.DataFrame | pl.LazyFrame) -> None:
        self._obj: Any = frame  # HEC.send takes it (an iterable for the type checker)

    def send(self, hec: HEC | None = None, *, ingest_format: str | None = None,
             raw_ingest: bool | None = None, show_progress: bool | None = None,
             **options: Any) -> SendReport:
        """Send every row as one event; return the :class:`SendReport`."""
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
        """The exact text one request would carry for the first ``n`` rows (before gzip)."""
        return preview(self._obj, n, hec=hec, ingest_format=ingest_format,
                       raw_ingest=raw_ingest, **options)

    def events(self, ingest_format: str | None = None, *, raw_ingest: bool | None = None,
               hec: HEC | None = None, **options: Any) -> list[bytes]:
        """Every row's encoded event, exactly as it would travel (one item per row)."""
        return frame_events(self._obj, hec=hec, ingest_format=ingest_format,
                            raw_ingest=raw_ingest, **options)


pl.api.register_dataframe_namespace("ngsiem")(NgsiemNamespace)
pl.api.register_lazyframe_namespace("ngsiem")(NgsiemNamespace)
