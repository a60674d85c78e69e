"""The public surface is exactly ``__all__``, and importing hecnb stays light."""

from __future__ import annotations

import subprocess
import sys

import hecnb


def test_public_surface_is_all() -> None:
    public = {name for name in dir(hecnb) if not name.startswith("_")}
    submodules = {"accessor", "cli", "dask", "emulator", "handler", "magics", "polars_accessor",
                  "widgets"}
    assert public - submodules == set(hecnb.__all__) - {"__version__"}
    assert len(hecnb.__all__) == len(set(hecnb.__all__))  # order: ruff RUF022
    for name in hecnb.__all__:
        assert getattr(hecnb, name) is not None


def test_falconpys_hec_names_are_exported() -> None:
    """``from falconpy import X`` -> ``from hecnb import X`` for every HEC name FalconPy has."""
    from falconpy import _ngsiem

    for name in (*_ngsiem.__all__, "IngestFormat", "TimeUnit"):
        assert name in hecnb.__all__, name
    assert hecnb.HTTPEventCollector is hecnb.HEC
    hec = hecnb.HEC(api_key="k" * 20, api_url_key="a")
    assert type(hec.session_manager) is hecnb.SessionManager


def test_error_tree() -> None:
    assert issubclass(hecnb.ConfigError, hecnb.HecError) and issubclass(hecnb.ConfigError,
                                                                         ValueError)
    assert issubclass(hecnb.ConversionError, ValueError)
    assert issubclass(hecnb.EventFileError, OSError)
    assert issubclass(hecnb.HecAuthError, hecnb.HecResponseError)
    assert issubclass(hecnb.HecResponseError, hecnb.SendError)
    assert issubclass(hecnb.HecTransportError, hecnb.SendError)
    err = hecnb.ConversionError("bad", column="c", row=3)
    assert (err.column, err.row) == ("c", 3)


def test_import_does_not_pull_in_notebook_stack() -> None:
    code = ("import sys, hecnb; heavy = [m for m in ('IPython', 'ipywidgets', 'tqdm', 'pandas', "
            "'numpy', 'evtx', 'polars', 'pyarrow') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sending_a_list_or_a_file_does_not_import_pandas(tmp_path) -> None:
    code = (
        "import sys, hecnb\n"
        "from hecnb.emulator import Emulator\n"
        f"p = {str(tmp_path / 'l.log')!r}\n"
        "open(p, 'w').write('a\\nb\\n')\n"
        "with Emulator() as emu, hecnb.HEC(api_key='k' * 20, ingest_url=emu.url) as hec:\n"
        "    assert hec.send_event_list([{'a': 1}]) == 1\n"
        "    assert hec.send_file(p, raw_ingest=True).delivered == 2\n"
        "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_accessor_registered_whichever_is_imported_first() -> None:
    for first, second in (("pandas", "hecnb"), ("hecnb", "pandas")):
        code = (f"import {first}, {second}; import pandas as pd; "
                "print(callable(pd.DataFrame({'a': [1]}).to_ngsiem), "
                "hasattr(pd.DataFrame, 'to_ngsiem'))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        assert out.stdout.strip() == "True True", (first, out.stdout, out.stderr)
