"""Run a callback right after a module is first imported (a post-import hook).

``import hecnb`` must stay light (the CLI and file sending need neither pandas nor numpy), yet
``df.to_ngsiem`` must exist whenever pandas is there. So the accessor is registered at once if
pandas is already imported, and otherwise the moment pandas finishes importing.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["is_columnar", "is_frame", "when_imported"]


def when_imported(name: str, callback: Callable[[], Any]) -> None:
    """Call ``callback()`` once ``name`` is imported (now, if it already is)."""
    if name in sys.modules:
        callback()
        return
    sys.meta_path.insert(0, _AfterImport(name, callback))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds ``name`` through the other finders and wraps its loader."""

    def __init__(self, name: str, callback: Callable[[], Any]) -> None:
        self.name = name
        self.callback = callback
        self._busy = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name or self._busy:
            return None
        self._busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _Loader(spec.loader, self)
        return spec


class _Loader(importlib.abc.Loader):
    """Executes the module with its own loader, then runs the callback."""

    def __init__(self, inner: Any, finder: _AfterImport) -> None:
        self.inner = inner
        self.finder = finder

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.inner.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.inner  # the module sees its real loader, as if never wrapped
        if module.__spec__ is not None:
            module.__spec__.loader = self.inner
        self.inner.exec_module(module)
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self.finder)
        self.finder.callback()


def is_frame(data: Any) -> bool:
    """True for a pandas DataFrame, found without importing pandas (``import hecnb`` and file
    sends need no pandas; a frame can only exist once pandas was imported by its owner)."""
    return type(data).__module__.startswith("pandas") and hasattr(data, "columns")


def is_columnar(data: Any) -> bool:
    """True for a Polars or Arrow frame or a Parquet source (``hecnb.read_parquet``), found
    without importing polars or pyarrow."""
    from ._encode.arrowframes import is_columnar as columnar

    return columnar(data)
