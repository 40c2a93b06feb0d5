"""The project's own style checks (README, Tests): ruff and snakefmt, clean."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT

CHECKS = {
    "ruff check": [sys.executable, "-m", "ruff", "check", "."],
    "ruff format": [sys.executable, "-m", "ruff", "format", "--check", "."],
    "snakefmt": [
        sys.executable,
        "-m",
        "snakefmt",
        "--check",
        "Snakefile",
        "workflow/rules",
        "workflow/methods",
    ],
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_style_is_clean(name):
    result = subprocess.run(CHECKS[name], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{name}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
