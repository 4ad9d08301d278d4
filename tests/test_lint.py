"""Lint and formatting are habits, checked with the suite: `ruff check` with the rules pinned in
pyproject.toml, `ruff format --check` over the whole tree, and no product function above radon's
cyclomatic complexity 20."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).parent / "ruff"
PRODUCT_PACKAGES = ("syncsmart", "connectors", "mappings", "tenants", "bench")
MAX_COMPLEXITY = 20


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUFF), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing():
    result = ruff("check", "--quiet", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_file_is_ruff_formatted():
    result = ruff("format", "--check", "--quiet", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_product_function_is_more_complex_than_20():
    """radon's cyclomatic complexity (the measure issue #14 names), which also counts each `and` /
    `or` and comprehension clause; ruff's C901 (mccabe) does not, so it lets some through."""
    too_complex = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for function in _functions(cc_visit(path.read_text())):
                if function.complexity > MAX_COMPLEXITY:
                    where = f"{path.relative_to(ROOT)}:{function.lineno}"
                    too_complex.append(f"{where} {function.fullname} ({function.complexity})")
    assert not too_complex, "split into named steps:\n" + "\n".join(too_complex)


def _functions(blocks: Iterable[Function | Class]) -> Iterator[Function]:
    """Functions, methods and the functions nested in them."""
    for block in blocks:
        if isinstance(block, Function):
            yield block
        yield from _functions(block.closures if isinstance(block, Function) else [])
