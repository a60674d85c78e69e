"""conftest.py of hecnb's compatibility run, written into FalconPy's extracted test tree.

FalconPy's HEC names are pointed at hecnb's before FalconPy's ``tests/test_hec.py`` imports
them: ``from falconpy import HTTPEventCollector, ...`` then gets hecnb's classes, while
FalconPy's console helpers (``random_string``, ``Indicator``) stay FalconPy's own.
"""

import falconpy
import pytest

import hecnb

HEC_NAMES = ("HTTPEventCollector", "IngestConfig", "IngestFormat", "IngestPayload",
             "SessionManager", "TimeUnit")

for _name in (*HEC_NAMES, "HEC"):  # the test module's own ``HEC`` is a client it makes
    setattr(falconpy, _name, getattr(hecnb, _name))


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"hecnb compatibility run: hecnb from {hecnb.__file__}, FalconPy "
            f"{falconpy.__version__} from {falconpy.__file__}"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to run if a test module holds any HEC name that is not hecnb's."""
    for item in items:
        module = getattr(item, "module", None)
        for name in HEC_NAMES:
            value = getattr(module, name, None)
            if value is not None and value is not getattr(hecnb, name):
                raise pytest.UsageError(f"{item.nodeid}: {name} is not hecnb's ({value!r})")
