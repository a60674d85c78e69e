"""``ddf.to_ngsiem``: registered on Dask DataFrames the moment ``dask.dataframe`` is imported.

``import hecnb`` sets a post-import hook (see ``_lazy``) that imports this module once
``dask.dataframe`` is there, so ``ddf.to_ngsiem(...)`` works without ``import hecnb.dask``. The
accessor is thin and light: the work (and the import of ``distributed``) happens in
:mod:`hecnb.dask` on the first call.
"""

from __future__ import annotations

from typing import Any

from dask.dataframe.extensions import register_dataframe_accessor

__all__ = ["DaskNgsiemAccessor"]


@register_dataframe_accessor("to_ngsiem")
class DaskNgsiemAccessor:
    """``ddf.to_ngsiem(hec=None, **keywords)``: :func:`hecnb.dask.send_dask` as an accessor.

    Keywords are those of ``send_dask``: the converter options of ``df.to_ngsiem``
    (``host``, ``timestamp_column``, ``fields``...), HEC keywords for the destination and
    settings (``ingest_url``, ``api_url_key``, ``hec_time``...; never the key), and
    ``event_id``, ``key_env``, ``dead_letter_dir``... ``ddf.to_ngsiem.preview()`` shows the
    exact text the first rows would travel as.
    """

    def __init__(self, ddf: Any) -> None:
        self._obj = ddf

    def __call__(self, hec: Any = None, **kwargs: Any) -> Any:
        """Send every row; see :func:`hecnb.dask.send_dask` for the keywords."""
        from .send import send_dask

        return send_dask(self._obj, hec, **kwargs)

    def preview(self, n: int = 3, ingest_format: str | None = None, *,
                raw_ingest: bool | None = None, hec: Any = None,
                event_id: str | None = None, event_id_from: str = "position",
                **options: Any) -> str:
        """The exact text one request would carry for the first ``n`` rows (computes them)."""
        from .send import preview

        return preview(self._obj, n, ingest_format, raw_ingest=raw_ingest, hec=hec,
                       event_id=event_id, event_id_from=event_id_from, **options)
