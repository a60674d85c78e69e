"""The layout keeps its promises: the public surface is what it was, the stage folders import
one way only, the core knows nothing of notebooks, and no module grows past what one can read.

The rules are the README's Architecture section; a failure names the import or the file.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import hecnb

PACKAGE = Path(hecnb.__file__).parent

#: The public names; a change here is a change of the public API (and of the docs).
PUBLIC = [
    "BatchResult", "ConfigError", "ConfigPanel", "ConnectionCheck", "ConversionError",
    "DeliveredCount", "EventFileError", "FailedEvent", "HEC", "HECHandler",
    "HTTPEventCollector", "HecAuthError", "HecBusyError", "HecDataWarning", "HecError",
    "HecInsecureWarning", "HecResponseError", "HecTransportError", "IngestConfig",
    "IngestFormat", "IngestPayload", "SendError", "SendReport", "SessionManager", "TimeUnit",
    "__version__", "configure", "demo_events", "demo_evtx", "encode", "iter_evtx",
    "load_ipython_extension", "read_apache", "read_csv", "read_evtx", "read_ndjson",
    "read_parquet", "read_syslog", "read_zeek", "to_events", "unload_ipython_extension",
]

#: Which parts each stage folder may import (besides itself and the standard library).
LAYERS = {
    "_settings": {"_errors"},
    "_encode": {"_errors", "_settings"},
    "_report": {"_errors", "_settings", "_encode", "_lazy"},
    "_source": {"_errors", "_settings", "_encode", "_report", "_compress", "_lazy", "_progress"},
    "_send": {"_errors", "_settings", "_encode", "_report", "_compress", "_progress"},
}
FRONT_ENDS = {"accessor", "polars_accessor", "magics", "widgets", "cli", "handler", "dask",
              "_session", "_preview"}
NOTEBOOK = {"IPython", "ipywidgets", "ipykernel", "tqdm"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(("hecnb", *parts[:-1])) if parts[-1] == "__init__" else ".".join(
            ("hecnb", *parts))
        found[name] = path
    return found


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, except what is under ``if TYPE_CHECKING:`` (names for the type checker)."""
    found: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and (
                node.test.id == "TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, absolute, at any depth of the file (lazy ones too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in _nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def _part(module: str) -> str | None:
    """The top-level part of hecnb a module belongs to (a folder or a top-level module)."""
    parts = module.split(".")
    return parts[1] if parts[0] == "hecnb" and len(parts) > 1 else None


def test_the_public_surface_is_unchanged() -> None:
    assert sorted(hecnb.__all__) == sorted(PUBLIC)


def test_dataframes_gain_exactly_one_name() -> None:
    code = ("import pandas as pd; before = set(dir(pd.DataFrame)); import hecnb; "
            "print(sorted(set(dir(pd.DataFrame)) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['to_ngsiem']"


def test_the_stage_folders_import_one_way() -> None:
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        part = _part(name)
        if part not in LAYERS:
            continue
        for target in _imports(name, path):
            other = _part(target)
            if other is None or other == part or (target not in modules and ".".join(
                    target.split(".")[:-1]) not in modules):
                continue
            if other not in LAYERS[part]:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports against the layering (README, Architecture):\n" + "\n".join(wrong)


def test_the_core_knows_nothing_of_notebooks_or_front_ends() -> None:
    wrong = []
    for name, path in _modules().items():
        part = _part(name)
        if part in FRONT_ENDS or name == "hecnb" or part == "emulator":
            continue
        for target in _imports(name, path):
            if target.split(".")[0] in NOTEBOOK or _part(target) in FRONT_ENDS - {"_session"}:
                wrong.append(f"{name} imports {target}")
    # _progress is the one core module that shows a bar: it imports tqdm, lazily, when asked
    assert all(w.startswith("hecnb._progress imports tqdm") for w in wrong), wrong


def test_no_import_cycle() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in _imports(name, path):
            if target in modules and target != name:
                graph[name].add(target)
            elif target.rsplit(".", 1)[0] in modules and target.rsplit(".", 1)[0] != name:
                graph[name].add(target.rsplit(".", 1)[0])
    # a package's __init__ importing its own modules is not a cycle of the code
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        for nxt in graph[node]:
            if nxt == "hecnb" or (modules[nxt].name == "__init__.py" and node.startswith(nxt)):
                continue
            cycle = visit(nxt, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for name in sorted(modules):
        cycle = visit(name, [])
        assert cycle is None, " -> ".join(cycle or [])


def test_no_module_is_too_long_to_read() -> None:
    long = {}
    for name, path in _modules().items():
        lines = len(path.read_text().splitlines())
        limit = 400 if _part(name) in FRONT_ENDS else 700
        if lines > limit:
            long[name] = lines
    assert not long, f"over 700 lines (400 for front-ends): {long}"


#: The test folders mirror the package's stages; what checks the whole package stays on top.
TEST_FOLDERS = {"settings", "encode", "report", "send", "source", "frontends", "emulator",
                "compat"}
TOP_TESTS = {"test_layout.py", "test_public_api.py", "test_docs.py"}


def test_the_tests_are_filed_by_stage() -> None:
    tests = Path(__file__).resolve().parent
    folders = {p.name for p in tests.iterdir() if p.is_dir() and not p.name.startswith((
        "_", "."))}
    assert folders == TEST_FOLDERS
    assert {p.name for p in tests.glob("test_*.py")} == TOP_TESTS
    names = [p.name for p in tests.glob("*/test_*.py")]
    assert len(names) == len(set(names)), "two test files of one name (pytest imports by name)"


def test_no_module_takes_a_name_from_the_package_face() -> None:
    """``hecnb/__init__.py`` only gathers the public names; a module that took one from it
    (as ``_hec.py`` once took ``__version__``) would import the whole face, and make a cycle."""
    modules = _modules()
    taken = {}
    for name, path in modules.items():
        if name == "hecnb":
            continue
        names = {imported.rsplit(".", 1)[1] for imported in _imports(name, path)
                 if imported.count(".") == 1 and imported.startswith("hecnb.")}
        faces = {n for n in names if f"hecnb.{n}" not in modules}
        if faces:
            taken[name] = sorted(faces)
    assert not taken, taken
