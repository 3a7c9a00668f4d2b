"""The quality gates run with the tests: ruff (with the ASYNC rules) and mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_quality_ruff_is_clean() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_quality_mypy_strict_is_clean() -> None:
    result = run("mypy")  # files and strict = true come from pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_quality_the_promised_license_is_there() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in pyproject
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    assert "[LICENSE](LICENSE)" in (ROOT / "README.md").read_text()
