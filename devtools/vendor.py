"""Vendor the pinned runtime dependencies (requirements.txt) into ``bin/lib``.

Splunk runs the app's scripts with its own Python on Linux and Windows search heads, so only pure
Python goes in: wheels are restricted to ``py3-none-any`` and sdists (splunk-sdk ships no wheel) are
built without compilation. A compiled extension in the result fails the build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "bin" / "lib"
SDIST_ONLY = {"splunk-sdk"}


def read_pins(path: Path) -> list[str]:
    pins = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            if "==" not in line:
                raise SystemExit(f"{path.name}: '{line}' is not pinned with ==")
            pins.append(line)
    return pins


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-deps", "--no-compile", "--target", str(LIB), *args]
    subprocess.run(cmd, check=True)


def main() -> int:
    pins = read_pins(ROOT / "requirements.txt")
    if LIB.exists():
        shutil.rmtree(LIB)
    LIB.mkdir(parents=True)
    wheels = [p for p in pins if p.split("==")[0].lower() not in SDIST_ONLY]
    sdists = [p for p in pins if p.split("==")[0].lower() in SDIST_ONLY]
    if wheels:
        pip("--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--python-version", "3.9", *wheels)
    if sdists:
        pip(*sdists)
    for junk in list(LIB.rglob("__pycache__")) + list(LIB.glob("bin")):
        shutil.rmtree(junk, ignore_errors=True)
    compiled = [p for p in LIB.rglob("*") if p.suffix in {".so", ".pyd", ".dll", ".dylib"}]
    if compiled:
        raise SystemExit(f"compiled files in bin/lib cannot travel to Splunk: {compiled}")
    (LIB / ".stamp").write_text("\n".join(pins) + "\n")
    print(f"vendored {len(pins)} packages into {LIB.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
