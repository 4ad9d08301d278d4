"""Every environment variable syncsmart/settings.py reads is in README's configuration table, so
the table cannot fall behind the settings again."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READERS = {"env_str", "env_bool", "env_int", "env_float", "env_list", "getenv", "get"}
# Set by pytest-xdist for its worker processes, never by whoever runs SyncSmart.
NOT_CONFIGURATION = {"PYTEST_XDIST_WORKER", "PYTEST_XDIST_TESTRUNUID"}


def variables_read(source: str) -> set[str]:
    """Names read from the environment: env_*("NAME", ...), os.environ.get("NAME"), os.getenv("NAME"),
    os.environ["NAME"] (an assignment to os.environ is a write, not a setting)."""
    return {name for node in ast.walk(ast.parse(source)) if (name := _read_name(node))}


def _read_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        environ_get = called == "get" and "environ" in ast.unparse(func)
        if (called in READERS - {"get"} or environ_get) and isinstance(node.args[0].value, str):
            return node.args[0].value
    is_read = isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Constant)
    return node.slice.value if is_read and ast.unparse(node.value) == "os.environ" else None


def readme_table_names() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Running on PostgreSQL + Redis with several workers", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name.split("=")[0] for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+(?:=\w+)?)`", row.split(" | ")[0])}


def test_every_setting_read_from_the_environment_is_in_the_readme_table():
    read = variables_read((ROOT / "syncsmart" / "settings.py").read_text()) - NOT_CONFIGURATION
    assert len(read) > 40, read  # the reader found the settings module's variables
    assert sorted(read - readme_table_names()) == []


def test_the_reader_finds_every_way_settings_read_a_variable():
    source = (
        'import os\nA = env_int("ONE", 1)\nB = os.environ.get("TWO")\nC = os.environ["THREE"]\n'
        'D = os.getenv("FOUR", "")\nos.environ["WRITTEN"] = "x"\nE = {"k": 1}.get("NOT_ENV")\n'
    )
    assert variables_read(source) == {"ONE", "TWO", "THREE", "FOUR"}
