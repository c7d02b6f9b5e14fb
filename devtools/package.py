"""Build ``dist/gcp_guardrail-<version>.tgz`` with only what Splunk needs.

The package is an allowlist, not the work tree minus some junk: app metadata, ``default/``,
``metadata/default.meta``, ``README/``, ``lookups/``, ``appserver/``, ``static/``, ``bin/`` (with the
vendored ``bin/lib``) and the licence. Hidden files, ``__pycache__``, byte code and ``local/``
never go in (vendored ``.dist-info`` folders stay: they carry the third-party
licences). Files get Splunk-friendly modes (no exec bit on data files).
"""

from __future__ import annotations

import argparse
import io
import re
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "gcp_guardrail"
TOP_FILES = ("app.manifest", "README.md", "LICENSE")
TOP_DIRS = ("default", "metadata", "README", "lookups", "appserver", "static", "bin")
SKIP_PARTS = {"__pycache__", "local"}
SKIP_SUFFIXES = {".pyc", ".pyo"}


def version() -> str:
    text = (ROOT / "bin" / "guardrail" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not match:
        raise SystemExit("no __version__ in bin/guardrail/__init__.py")
    return match.group(1)


def wanted(rel: Path) -> bool:
    parts = rel.parts
    if any(p.startswith(".") for p in parts):
        return False
    if any(p in SKIP_PARTS for p in parts):
        return False
    if rel.suffix in SKIP_SUFFIXES:
        return False
    if parts[0] == "metadata" and rel.name != "default.meta":
        return False
    return True


def files() -> list[Path]:
    out = [ROOT / name for name in TOP_FILES if (ROOT / name).is_file()]
    for top in TOP_DIRS:
        base = ROOT / top
        if base.is_dir():
            out += [p for p in sorted(base.rglob("*")) if p.is_file() and wanted(p.relative_to(ROOT))]
    return out


def build(dist: Path) -> Path:
    if not (ROOT / "bin" / "lib" / "splunklib").is_dir():
        raise SystemExit("bin/lib is not vendored: run `make vendor` first")
    dist.mkdir(parents=True, exist_ok=True)
    target = dist / f"{APP_ID}-{version()}.tgz"
    with tarfile.open(target, "w:gz") as tar:
        for path in files():
            rel = path.relative_to(ROOT)
            info = tarfile.TarInfo(f"{APP_ID}/{rel.as_posix()}")
            data = path.read_bytes()
            info.size = len(data)
            info.mode = 0o755 if rel.parts[0] == "bin" and rel.suffix == ".py" and len(rel.parts) == 2 else 0o644
            info.mtime = int(path.stat().st_mtime)
            info.uname = info.gname = "splunk"
            tar.addfile(info, io.BytesIO(data))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    target = build(args.dist)
    print(f"built {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
