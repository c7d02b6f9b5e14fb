"""Keep the generated definitions of ``default/macros.conf`` in step with the engine.

The evidence filters (:mod:`.filters`), the key search (:mod:`.keys`) and the time expressions
derived from the command's options are written from the engine's own constants. Their stanzas
live in ``macros.conf`` with a hand-written description; this tool owns only their ``definition``.

``python -m devtools.narrow.generate --check`` exits 1 and names each macro out of step (a test
runs it); ``--write`` rewrites those definition lines in place.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional

from guardrail.correlate.index import CHECK_BUCKET
from guardrail.correlate.options import Options

from devtools.conf import ROOT, parse_conf

from . import filters, keys, older, presence

MACROS = ROOT / "default" / "macros.conf"


def definitions() -> Dict[str, str]:
    """Stanza name -> definition of every generated macro."""
    out = {name: render() for name, (render, _) in filters.FILTERS.items()}
    out["guardrail_nat_log_check_bucket_secs"] = f"{CHECK_BUCKET:g}"
    out["guardrail_nat_log_window"] = f"{Options().natlog_window:g}"
    out["guardrail_nat_log_check_keys(2)"] = keys.render_check_keys()
    out["guardrail_point_back"] = keys.render_point_back()
    out["guardrail_forward"] = keys.render_forward()
    out["guardrail_epoch(1)"] = keys.render_epoch()
    out["guardrail_gcp_range(2)"] = keys.render_range("gcp")
    out["guardrail_interval_range(2)"] = keys.render_range("intervals")
    out["guardrail_key_source_range(2)"] = keys.render_range("key_source")
    out["guardrail_evidence_keys(2)"] = keys.render_evidence_keys()
    out["guardrail_interval_dedup(2)"] = older.render()
    out["guardrail_presence_keys(2)"] = keys.render_evidence_keys(presence=True)
    out["guardrail_presence(2)"] = presence.render()
    out[presence.MAX_ROWS_MACRO] = str(presence.MAX_ROWS)
    return out


def differences(path: Path = MACROS) -> List[str]:
    """Generated macros whose definition in ``path`` differs (or that are missing)."""
    conf = parse_conf(path)
    out: List[str] = []
    for name, wanted in definitions().items():
        stanza = conf.stanza(name)
        if stanza is None:
            out.append(f"[{name}] is missing")
        elif stanza.get("definition") != wanted:
            out.append(f"[{name}] definition is out of step")
    return out


def write(path: Path = MACROS) -> int:
    """Rewrite the definition line of each generated macro; returns how many changed."""
    wanted = definitions()
    lines = path.read_text(encoding="utf-8").split("\n")
    stanza: Optional[str] = None
    changed = 0
    for i, line in enumerate(lines):
        if line.startswith("[") and line.rstrip().endswith("]"):
            stanza = line.strip()[1:-1]
        elif stanza in wanted and line.startswith("definition = "):
            new = "definition = " + wanted[stanza]
            if line != new:
                lines[i] = new
                changed += 1
    path.write_text("\n".join(lines), encoding="utf-8")
    return changed


def main(argv: List[str]) -> int:
    if "--write" in argv:
        print(f"{MACROS.relative_to(ROOT)}: {write()} generated definitions rewritten")
    problems = differences()
    for problem in problems:
        print(f"{MACROS.relative_to(ROOT)}: {problem} (python -m devtools.narrow.generate --write)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
