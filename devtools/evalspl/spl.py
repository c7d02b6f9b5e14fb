"""Whole searches over a modelled index: base search, subsearches and the commands the app pipes into.

``run_search(text, env)`` runs an (already macro-expanded) search the way splunkd would over
``env.events``: subsearches first (each a search of its own over the same events, its results
turned into search text the way a subsearch returning a ``search`` field is: ``( ( s1 ) OR ( s2 )
)``), then the base search clause (:mod:`.search`, time modifiers included, results newest first),
then each command in turn, as :mod:`.pipeline` models it (the one table of commands; any other
raises :class:`EvalError`, so a search that starts using one fails its test until it is modelled),
plus the custom commands the caller supplies (the app's own). KV store lookups read and write
``env.kvstore``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from devtools.conf import ROOT

from .kvstore import KVStore
from .pipeline import SearchContext, run_stage
from .search import search_matches
from .values import EvalError, Fields, Value

Command = Callable[[List[Fields], str, "Env"], List[Fields]]


@dataclass
class Env:
    """What a search runs against: the events it can find, the time, lookups and custom commands."""

    events: Sequence[Fields] = ()
    now: float = 0.0
    #: what ``time()`` returns when the pipeline's tail runs (defaults to ``now``)
    clock: Optional[float] = None
    kvstore: KVStore = field(default_factory=KVStore)
    commands: Dict[str, Command] = field(default_factory=dict)
    root: Path = ROOT
    sid: str = "scheduler__nobody_Z2NwX2d1YXJkcmFpbA__test"
    #: subsearches run, with the text each one produced (for tests to read)
    subsearches: List[Tuple[str, str]] = field(default_factory=list)
    #: the search's dispatch range in epoch seconds (a time range picker's), None for all time:
    #: what ``addinfo`` reports, in subsearches too (events are not filtered by it here)
    earliest: Optional[float] = None
    latest: Optional[float] = None


def _split(text: str, sep: str) -> List[str]:
    from devtools.splcheck import split_top_level

    return split_top_level(text, sep)


def _bracket_spans(text: str) -> List[Tuple[int, int]]:
    """(start, end) of each top-level ``[...]`` outside double quotes (end is past the ``]``)."""
    from devtools.splcheck import outside_quotes

    spans: List[Tuple[int, int]] = []
    depth, start = 0, -1
    for i, ch in outside_quotes(text):
        if ch == "[":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans


def format_results(rows: Sequence[Fields]) -> str:
    """The search text a subsearch's results become: each row's ``search`` field, ORed."""
    if not rows:
        raise EvalError("a subsearch returned no results: what splunkd inserts then is not modelled")
    parts: List[str] = []
    for row in rows:
        text = row.get("search")
        if not isinstance(text, str):
            raise EvalError("only subsearches that return a single-valued search field are modelled")
        parts.append(f"( {text} )")
    return "( " + " OR ".join(parts) + " )"


def substitute_subsearches(text: str, env: Env) -> str:
    """``text`` with every top-level subsearch replaced by the search text its results make."""
    out: List[str] = []
    pos = 0
    for start, end in _bracket_spans(text):
        inner = text[start + 1:end - 1]
        rows = run_search(inner, env)
        made = format_results(rows)
        env.subsearches.append((inner, made))
        out.append(text[pos:start])
        out.append(made)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _time(row: Mapping[str, Value]) -> float:
    try:
        return float(str(row.get("_time")))
    except ValueError:
        return float("-inf")


def run_search(text: str, env: Env) -> List[Fields]:
    """Run a search (macros already expanded) and return its results."""
    stages = [s.strip() for s in _split(text.strip(), "|")]
    if not stages[0]:
        stages = stages[1:]
        rows: List[Fields] = []
        first = 0
    else:
        clause = stages[0]
        if re.match(r"search\s", clause):
            clause = clause[len("search"):]
        clause = substitute_subsearches(clause, env)
        rows = [dict(e) for e in env.events if search_matches(clause, e, env.now)]
        rows.sort(key=lambda r: -_time(r))  # events come newest first
        first = 1
    for index, stage in enumerate(stages[first:]):
        rows = run_command(stage, rows, env, generating=first == 0 and index == 0)
    return rows


def run_pipeline(pipeline: str, rows: List[Fields], env: Env) -> List[Fields]:
    """Run commands (``| a | b``) over given results."""
    for stage in (s.strip() for s in _split(pipeline.strip().lstrip("|"), "|")):
        if stage:
            rows = run_command(stage, rows, env, generating=False)
    return rows


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def _custom(command: Command, env: Env, rows: List[Fields], rest: str) -> List[Fields]:
    return command(rows, rest, env)


def context(env: Env) -> SearchContext:
    """The pipeline context of a search run against ``env``."""
    info = {"info_min_time": _fmt(env.earliest if env.earliest is not None else 0.0),
            "info_max_time": _fmt(env.latest) if env.latest is not None else "+Infinity",
            "info_search_time": _fmt(env.now), "info_sid": env.sid}
    custom: Dict[str, Callable[[List[Fields], str], List[Fields]]] = {
        name: functools.partial(_custom, command, env) for name, command in env.commands.items()}
    return SearchContext(env.root, env.now, env.kvstore, info, env.clock, custom, lambda text: run_search(text, env))


def run_command(stage: str, rows: List[Fields], env: Env, generating: bool = False) -> List[Fields]:
    """One pipeline stage over ``rows``; subsearches in its arguments run first (not those of
    ``append`` / ``appendpipe``, which are searches of their own)."""
    command, _, rest = stage.strip().partition(" ")
    if generating and command not in ("makeresults", "inputlookup"):
        raise EvalError(f"generating command {command!r} is not modelled")
    if command not in ("append", "appendpipe") and _bracket_spans(rest):
        rest = substitute_subsearches(rest, env)
    return run_stage(context(env), f"{command} {rest}", rows)


def rows_of(values: Iterable[Mapping[str, Value]]) -> List[Fields]:
    """Copies of rows with empty values left out (what a field that is not there looks like)."""
    return [{k: v for k, v in r.items() if v not in (None, "", [])} for r in values]


__all__ = ["Command", "Env", "context", "format_results", "rows_of", "run_command", "run_pipeline", "run_search",
           "substitute_subsearches"]
