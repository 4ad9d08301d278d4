"""The layers hold (docs/architecture.md): the import-linter contracts in pyproject.toml, no
connector importing configuration or the engine, no import cycle, and no import inside a
function except the commented app-loading ones."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("syncsmart", "connectors", "mappings", "tenants", "bench")
# What a connector may never import: configuration, the engine and its state, the web layer.
ABOVE_CONNECTORS = ("mappings", "tenants", "syncsmart.engine", "syncsmart.models", "syncsmart.api", "syncsmart.staff")
ABOVE_CONNECTORS += ("syncsmart.webhooks", "bench")
# The one reason an import may sit inside a function: Django's app registry is not ready yet
# (a comment on or just above the import says so).
EXCEPTION_MARKS = ("app loading", "app registry")


def product_files(*packages: str) -> list[Path]:
    return [p for package in packages for p in sorted((ROOT / package).rglob("*.py")) if "migrations" not in p.parts]


def imported_names(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `tree` (relative ones resolved)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def forbidden_imports(source: str, module: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported_names(ast.parse(source), module)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def function_level_imports(source: str, where: str) -> list[str]:
    """Imports inside a function without an app-loading comment on or just above them."""
    lines = source.splitlines()
    problems = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                nearby = " ".join(lines[max(0, node.lineno - 4) : node.lineno]).lower()
                if not any(mark in nearby for mark in EXCEPTION_MARKS):
                    problems.append(f"{where}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return sorted(set(problems))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_connector_imports_configuration_the_engine_or_the_web():
    problems = [
        problem
        for path in product_files("connectors")
        for problem in forbidden_imports(path.read_text(), module_name(path), ABOVE_CONNECTORS)
    ]
    assert problems == []


def test_the_connector_check_catches_a_connector_importing_mappings_or_the_engine():
    source = "from mappings.models import Integration\nimport syncsmart.engine.flow\nfrom connectors.base import Record\n"
    assert forbidden_imports(source, "connectors.hubspot.connector", ABOVE_CONNECTORS) == [
        "connectors.hubspot.connector:1 imports mappings.models",
        "connectors.hubspot.connector:2 imports syncsmart.engine.flow",
    ]


def test_no_function_level_imports_outside_the_app_loading_exceptions():
    problems = [
        problem for path in product_files(*PRODUCT_PACKAGES) for problem in function_level_imports(path.read_text(), str(path))
    ]
    assert problems == []


def test_the_function_level_check_catches_a_hidden_import_and_allows_a_commented_one():
    source = (
        "def f():\n    from mappings.models import Integration\n    return Integration\n\n\n"
        "def ready():\n    # App loading: receivers connect once the models are loaded.\n    from syncsmart.engine import queue\n"
    )
    assert function_level_imports(source, "x.py") == ["x.py:2: from mappings.models import Integration"]


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return groups


def test_no_import_cycles():
    graph = grimp.build_graph(*PRODUCT_PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    # A package's __init__ is its parent's, not an import of its children: leave the edge
    # module -> its own package out (importing `a.b` runs `a/__init__` first by definition).
    edges = {
        module: {m for m in graph.find_modules_directly_imported_by(module) if not module.startswith(m + ".")}
        for module in graph.modules
        if ".migrations" not in module
    }
    assert strongly_connected(edges) == []


def test_the_cycle_check_finds_a_cycle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def layer_modules() -> list[str]:
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    return [name.strip() for layer in contract["layers"] for name in layer.replace("|", ":").split(":")]


def test_every_product_module_has_a_layer():
    """A module in no layer is checked by nothing: place a new one in pyproject.toml's layers."""
    layers = layer_modules()
    graph = grimp.build_graph(*PRODUCT_PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    unplaced = sorted(
        module
        for module in graph.modules
        if module not in PRODUCT_PACKAGES
        and not any(part in ("migrations", "management", "apps") for part in module.split("."))
        and not any(module == layer or module.startswith(layer + ".") for layer in layers)
    )
    assert unplaced == []
