"""A titled two-column table: HTML in a notebook, aligned text elsewhere (``%hec_config``)."""

from __future__ import annotations

import html

__all__ = ["Table"]


class Table:
    """A titled two-column table: HTML in a notebook, aligned text elsewhere."""

    def __init__(self, title: str, rows: list[tuple[str, str]]) -> None:
        self.title, self.rows = title, rows

    def __repr__(self) -> str:
        width = max((len(k) for k, _ in self.rows), default=0)
        return "\n".join([self.title, *(f"  {k:<{width}}  {v}" for k, v in self.rows)])

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                       for k, v in self.rows)
        return (f"<table class='hecnb-config'><caption style='text-align:left'><b>"
                f"{html.escape(self.title)}</b></caption>{body}</table>")
