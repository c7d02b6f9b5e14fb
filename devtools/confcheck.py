"""Check every setting of every stanza in ``default/*.conf`` and ``metadata/*.meta`` against Splunk's
own ``.conf.spec`` files (9.2), including their ``<placeholder>`` wildcard patterns, plus the app's
``README/*.conf.spec`` for settings it introduces. AppInspect does not catch a misspelled setting:
splunkd ignores it silently, so a typo in ``alert.suppress.perod`` would mean an unthrottled alert.

Run ``python -m devtools.confcheck``; exit status 1 lists every problem.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

from devtools.conf import ROOT, SPEC_DIR, parse_conf, spec_for

# default.meta has per-object stanzas (``[views/foo]``); its spec lists these settings.
META_KEYS = {"access", "export", "owner", "import", "version", "modtime"}


def conf_files(root: Path = ROOT) -> List[Path]:
    return sorted((root / "default").glob("*.conf")) + sorted((root / "metadata").glob("*.meta"))


def check_file(path: Path, root: Path = ROOT, spec_dir: Path = SPEC_DIR) -> List[str]:
    conf = parse_conf(path)
    problems = list(conf.errors)
    where = path.relative_to(root) if path.is_relative_to(root) else path
    if path.suffix == ".meta":
        for stanza in conf:
            for setting in stanza.settings:
                if setting.key not in META_KEYS:
                    problems.append(f"{where}:{setting.line}: [{stanza.name}] unknown setting '{setting.key}'")
        return problems
    spec = spec_for(path.stem, root, spec_dir)
    if spec is None:
        return [*problems, f"{where}: no spec file for {path.name} (add README/{path.name}.spec)"]
    for stanza in conf:
        seen = set()
        for setting in stanza.settings:
            if setting.key in seen:
                problems.append(f"{where}:{setting.line}: [{stanza.name}] duplicate setting '{setting.key}'")
            seen.add(setting.key)
            if not spec.allows(stanza.name, setting.key):
                problems.append(f"{where}:{setting.line}: [{stanza.name}] '{setting.key}' is not a "
                                f"setting of {path.name} per its spec")
    return problems


def main() -> int:
    files = conf_files()
    problems = [p for f in files for p in check_file(f)]
    for problem in problems:
        print(problem)
    settings = sum(len(s.settings) for f in files for s in parse_conf(f))
    print(f"confcheck: {len(files)} files, {settings} settings, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
