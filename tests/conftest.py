"""Shared test setup: make the engine (``bin/``) and dev tooling (``devtools/``) importable."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "bin", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
