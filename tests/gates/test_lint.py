"""Lint and types are gates too: ruff over all Python, ``mypy --strict`` over the engine and dev tools."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(sys.executable).parent


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_is_clean() -> None:
    proc = run(str(TOOLS / "ruff"), "check", "bin", "devtools", "tests")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_engine_and_dev_tools_are_strictly_typed() -> None:
    proc = run(str(TOOLS / "mypy"), "--strict", "bin/guardrail", "devtools")
    assert proc.returncode == 0, proc.stdout[-4000:]
