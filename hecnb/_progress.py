"""The progress bar: tqdm in a terminal, its notebook form in Jupyter, none when neither is
there (``show_progress=None``); found without importing IPython.
"""

from __future__ import annotations

import sys
from typing import Any


def _progress(show: bool | None, total: int | None, unit: str = " events") -> Any:
    """A tqdm bar (or None: ``show=None`` means in a notebook or at a terminal)."""
    if show is None:
        show = _interactive()
    if not show:
        return None
    if _in_notebook():
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, desc="hecnb", mininterval=0.25,
                dynamic_ncols=True, leave=True)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (never imports IPython to find out)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def _interactive() -> bool:
    """True in a notebook or when stderr is a terminal (progress bars make sense)."""
    return _in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())
