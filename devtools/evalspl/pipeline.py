"""The ``eval | lookup | where | fields`` pipelines of the pipeline macros."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional, Tuple

from devtools.conf import ROOT

from .evaluate import as_field, evaluate
from .lookups import apply_lookup
from .values import EvalError, Fields

# Pipeline macros


def _split_assignments(text: str) -> List[Tuple[str, str]]:
    from devtools.splcheck import split_top_level

    out: List[Tuple[str, str]] = []
    for part in split_top_level(text, ","):
        name, _, expression = part.partition("=")
        if not expression:
            raise EvalError(f"eval without assignment: {part!r}")
        out.append((name.strip(), expression.strip()))
    return out


def run_pipeline(pipeline: str, events: List[Fields], root: Path = ROOT,
                 now: Optional[float] = None) -> List[Fields]:
    """Run an ``eval | lookup | where | fields -`` pipeline (a pipeline macro's expansion)."""
    from devtools.splcheck import split_top_level

    rows = [dict(e) for e in events]
    for stage in (s.strip() for s in split_top_level(pipeline, "|")):
        if not stage:
            continue
        command, _, rest = stage.partition(" ")
        if command == "eval":
            for row in rows:
                for name, expression in _split_assignments(rest):
                    value = as_field(evaluate(expression, row, now))
                    if value is None:
                        row.pop(name, None)
                    else:
                        row[name] = value
        elif command == "lookup":
            rows = [apply_lookup(rest, row, root) for row in rows]
        elif command == "where":
            rows = [row for row in rows if evaluate(rest, row, now) is True]
        elif command == "fields":
            if not rest.startswith("- "):
                raise EvalError("only 'fields - <patterns>' is modelled")
            patterns = [re.compile(re.escape(p).replace(r"\*", ".*") + "$") for p in rest[2:].split()]
            rows = [{k: v for k, v in row.items() if not any(p.match(k) for p in patterns)}
                    for row in rows]
        else:
            raise EvalError(f"command {command!r} is not modelled")
        rows = [{k: v for k, v in row.items() if v is not None} for row in rows]
    return rows
