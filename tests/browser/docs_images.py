"""The screenshots docs/dashboards.md shows: the browser ring's 1440 px renders, made small for the repository.

``make dashboard-images`` renders every view (the browser ring) and runs this module: for every
``images/<view>.png`` that docs/dashboards.md links, it writes ``docs/images/<view>.png`` from
``build/screenshots/<view>.1440.png`` through pngquant (a 256-colour palette; Debian package ``pngquant``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "dashboards.md"
IMAGES = ROOT / "docs" / "images"
SCREENSHOTS = ROOT / "build" / "screenshots"
WIDTH = 1440
LINK = re.compile(r"\]\(images/([\w.-]+)\.png\)")


def shown_views(page: Path = PAGE) -> List[str]:
    """The views whose screenshot the page links, in page order."""
    return list(dict.fromkeys(LINK.findall(page.read_text(encoding="utf-8"))))


def main() -> int:
    pngquant = shutil.which("pngquant")
    if pngquant is None:
        print("pngquant is missing: `apt-get install pngquant` (make dashboard-images installs it)", file=sys.stderr)
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    for view in shown_views():
        source = SCREENSHOTS / f"{view}.{WIDTH}.png"
        if not source.is_file():
            print(f"{source.relative_to(ROOT)} is missing: run the browser ring first (make test-browser)",
                  file=sys.stderr)
            return 1
        target = IMAGES / f"{view}.png"
        subprocess.run([pngquant, "--quality=60-90", "--speed=1", "--strip", "--force", "--output", str(target),
                        str(source)], check=True)
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
