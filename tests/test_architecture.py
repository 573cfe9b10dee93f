"""The package's shape (ARCHITECTURE.md): imports run down the flow only, no cycles, small files.

The import graph is read with ``ast`` from the source (every ``import`` statement, also the
ones inside functions, so a cycle cannot hide behind a function-local import).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "modisoft"

#: The flow, top-level packages and modules from the bottom up: each may import only those
#: before it (and itself).  ``write`` is a sink that needs only ``errors`` and ``grids``, so
#: it sits low: a stage that writes (the warp plan cache, a quicklook PNG) uses its one
#: atomic-write helper instead of its own ``os.replace``.
FLOW = ["_version", "errors", "grids", "products", "catalog", "io", "info", "write", "acquire",
        "lookup", "decode",
        "qa", "warp", "timeseries", "lai", "cartography", "plot", "quicklook", "report",
        "pipeline", "cli",
        "__main__"]

#: The national run's stages, in order: each may import only those before it.
PIPELINE = ["schema", "memory", "fetch", "validate", "sensors", "beps_config", "metadata",
            "limits", "config",
            "manifest", "inventory", "plan", "verify", "inputs", "qa", "mosaic", "series", "lai",
            "beps_run", "summary", "outputs", "staging", "pool", "execute", "run", "record_config",
            "record_check", "record"]


def _name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            for a in node.names:
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != module}


GRAPH = {m: _imports(m) for m in MODULES}


def _rank(module: str, order: list[str], depth: int) -> int | None:
    parts = module.split(".")
    return order.index(parts[depth]) if len(parts) > depth and parts[depth] in order else None


def test_there_is_no_import_cycle():
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(GRAPH[m]):
            if state.get(t) == 1:
                cycles.append(" -> ".join([*stack[stack.index(t):], t]))
            elif t not in state:
                visit(t, [*stack, t])
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_imports_run_down_the_flow_only():
    upward = []
    for m, targets in GRAPH.items():
        for t in targets:
            if t == "modisoft":
                if m != "modisoft":
                    upward.append(f"{m} -> modisoft (import from the defining module)")
                continue
            a, b = _rank(m, FLOW, 1), _rank(t, FLOW, 1)
            if a is None and m != "modisoft":
                pytest.fail(f"{m}: not in the flow of tests/test_architecture.py")
            if a is not None and b is not None and b > a:
                upward.append(f"{m} -> {t}")
            if m.startswith("modisoft.pipeline.") and t.startswith("modisoft.pipeline."):
                pa, pb = _rank(m, PIPELINE, 2), _rank(t, PIPELINE, 2)
                if pa is None or pb is None:
                    pytest.fail(f"{m} or {t}: not a stage of tests/test_architecture.py")
                if pb > pa:
                    upward.append(f"{m} -> {t}")
    assert sorted(upward) == []


def test_no_private_name_crosses_a_module_boundary():
    crossing = []
    for m, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("modisoft"):
                crossing += [f"{m}: from {node.module} import {a.name}" for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
    assert crossing == []


def test_modules_are_small():
    sizes = {m: len(p.read_text().splitlines()) for m, p in MODULES.items()}
    assert {m: n for m, n in sizes.items() if n > 650} == {}
    assert {m: n for m, n in sizes.items() if m.startswith("modisoft.pipeline") and n > 300} == {}
    assert sizes["modisoft.pipeline.run"] <= 200


def test_every_test_asserts_something():
    """A test function asserts, expects an exception or warning, or calls a helper that does."""
    empty = []
    for path in sorted(PKG.parent.joinpath("tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        helpers = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)
                   and not f.name.startswith("test_")}
        for f in tree.body:
            if isinstance(f, ast.FunctionDef) and f.name.startswith("test_"):
                src = ast.unparse(f)
                if not any(k in src for k in ("assert", "raises", "warns", "fail(")) \
                        and not any(f"{h}(" in src for h in helpers):
                    empty.append(f"{path.name}::{f.name}")
    assert empty == []


TESTS = Path(__file__).resolve().parent


def test_tests_mirror_the_package():
    """A test file for module ``modisoft/<package>/<module>.py`` lives in ``tests/<package>/``:
    every test folder is a package of ``modisoft`` and every file in it a ``test_*.py``."""
    packages = {p.name for p in PKG.iterdir() if (p / "__init__.py").exists()}
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders, "no test folders"
    assert folders <= packages, f"test folders with no package: {sorted(folders - packages)}"
    for folder in folders:
        stray = [p.name for p in (TESTS / folder).glob("*.py") if not p.name.startswith("test_")]
        assert not stray, f"tests/{folder}: {stray} are not test_*.py files"
    # Top-level tests are for top-level modules or for the whole package (docs, layout).
    whole = {"architecture", "docs", "docs_examples", "sample_tiles", "china_synth"}
    for path in TESTS.glob("test_*.py"):
        name = path.stem.removeprefix("test_")
        assert name in whole or (PKG / f"{name}.py").exists(), (
            f"{path.name}: no modisoft/{name}.py; move it to tests/<package>/")
