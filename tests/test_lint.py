"""Lint and formatting are habits, checked with the suite: `ruff check` with the rules pinned in
pyproject.toml, and `ruff format --check` over the whole tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).parent / "ruff"


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RUFF), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing():
    result = ruff("check", "--quiet", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_file_is_ruff_formatted():
    result = ruff("format", "--check", "--quiet", ".")
    assert result.returncode == 0, result.stdout + result.stderr
