"""Whole searches over a modelled index: base search, subsearches and the commands the app pipes into.

``run_search(text, env)`` runs an (already macro-expanded) search the way splunkd would over
``env.events``: subsearches first (each a search of its own over the same events, its results
turned into search text the way a subsearch returning a ``search`` field is: ``( ( s1 ) OR ( s2 )
)``), then the base search clause (:mod:`.search`, time modifiers included, results newest first),
then each command in turn. Only these commands exist; any other raises :class:`EvalError`, so a
search that starts using one fails its test until it is modelled here:

``search``, ``eval``, ``where``, ``fields``, ``table``, ``rename``, ``stats``, ``eventstats``,
``streamstats``, ``sort``, ``mvexpand``, ``dedup``, ``head``, ``addinfo``, ``makeresults``,
``append``, ``appendpipe``, ``lookup`` (CSV), ``inputlookup`` / ``outputlookup`` (KV store
collections and CSV files), and custom commands the caller supplies (the app's own).

Statistical functions: ``count``, ``min``, ``max``, ``sum``, ``values``, ``dc``, ``last``
(``streamstats``: ``current=f`` too). Groups whose ``by`` fields are not all present are left
out, as Splunk does. Numbers are compared as numbers, anything else as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from devtools.conf import ROOT

from .evaluate import as_field, evaluate, multivalue
from .lookups import apply_lookup
from .search import search_matches
from .values import EvalError, Fields, Value

Command = Callable[[List[Fields], str, "Env"], List[Fields]]


@dataclass
class Collection:
    """One KV store collection as a whole search writes and reads it: records by ``_key``
    (the site-data and triage collections the pipeline macros read are :class:`.kvstore.KVStore`)."""

    records: Dict[str, Fields] = field(default_factory=dict)
    _next: int = 0

    def upsert(self, row: Fields, key_field: Optional[str]) -> None:
        """Write a record: a row with a key (``key_field``, else ``_key``) replaces that record."""
        key = str(row.get(key_field or "_key") or "")
        if not key:
            self._next += 1
            key = f"{self._next:024x}"
        self.records[key] = {**{k: v for k, v in row.items() if v is not None}, "_key": key}


@dataclass
class Env:
    """What a search runs against: the events it can find, the time, lookups and custom commands."""

    events: Sequence[Fields] = ()
    now: float = 0.0
    #: what ``time()`` returns when the pipeline's tail runs (defaults to ``now``)
    clock: Optional[float] = None
    kvstores: Dict[str, Collection] = field(default_factory=dict)
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


_AGG = re.compile(r"(\w+)(?:\(([^)]*)\))?(?:\s+AS\s+(\w+))?", re.I)


def _aggregations(text: str) -> Tuple[List[Tuple[str, str, str]], List[str], Dict[str, str]]:
    """``(function, field, output name)`` list, ``by`` fields and options of a stats-like command."""
    options: Dict[str, str] = {}
    while True:
        match = re.match(r"\s*(current|window|global|allnum)=(\S+)", text)
        if not match:
            break
        options[match.group(1)] = match.group(2)
        text = text[match.end():]
    parts = re.split(r"\s+by\s+", text.strip(), maxsplit=1, flags=re.I)
    by = parts[1].replace(",", " ").split() if len(parts) > 1 else []
    aggs: List[Tuple[str, str, str]] = []
    for match in _AGG.finditer(parts[0]):
        func, arg, name = match.group(1).lower(), (match.group(2) or "").strip(), match.group(3)
        if func not in ("count", "min", "max", "sum", "values", "dc", "last"):
            raise EvalError(f"statistical function {func}() is not modelled")
        aggs.append((func, arg, name or (f"{func}({arg})" if arg else func)))
    return aggs, by, options


def _number(value: str) -> Optional[float]:
    try:
        return float(value)
    except ValueError:
        return None


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def _values(rows: Iterable[Fields], name: str) -> List[str]:
    return [v for row in rows for v in multivalue(row.get(name))]


def _aggregate(func: str, arg: str, rows: Sequence[Fields]) -> Value:
    if func == "count":
        return str(len(rows) if not arg else len(_values(rows, arg)))
    values = _values(rows, arg)
    if func == "values":
        unique = sorted(set(values))
        return None if not unique else unique[0] if len(unique) == 1 else unique
    if func == "dc":
        return str(len(set(values)))
    if func == "last":
        return values[-1] if values else None
    if not values:
        return None
    numbers = [_number(v) for v in values]
    if func == "sum":
        return _fmt(sum(n for n in numbers if n is not None))
    if all(n is not None for n in numbers):
        pick = min if func == "min" else max
        return _fmt(pick(n for n in numbers if n is not None))
    return (min if func == "min" else max)(values)


def _group_key(row: Fields, by: Sequence[str]) -> Optional[Tuple[str, ...]]:
    key: List[str] = []
    for name in by:
        value = row.get(name)
        if value is None or isinstance(value, list):
            if isinstance(value, list):
                raise EvalError(f"grouping by the multivalue field {name} is not modelled")
            return None
        key.append(str(value))
    return tuple(key)


def _sort_key(value: Value) -> Tuple[int, float, str]:
    if value is None:
        return (2, 0.0, "")
    text = str(value) if not isinstance(value, list) else (value[0] if value else "")
    number = _number(text)
    return (0, number, "") if number is not None else (1, 0.0, text)


def _stats(rows: List[Fields], text: str) -> List[Fields]:
    aggs, by, _ = _aggregations(text)
    groups: Dict[Tuple[str, ...], List[Fields]] = {}
    for row in rows:
        key = _group_key(row, by)
        if key is not None:
            groups.setdefault(key, []).append(row)
    if not by:
        groups = {(): rows}
    out: List[Fields] = []
    for key in sorted(groups, key=lambda k: tuple(_sort_key(v) for v in k)):
        result: Fields = dict(zip(by, key))
        for func, arg, name in aggs:
            value = _aggregate(func, arg, groups[key])
            if value is not None:
                result[name] = value
        out.append(result)
    return out


def _eventstats(rows: List[Fields], text: str) -> List[Fields]:
    aggs, by, _ = _aggregations(text)
    groups: Dict[Tuple[str, ...], List[Fields]] = {}
    for row in rows:
        key = _group_key(row, by)
        if key is not None:
            groups.setdefault(key, []).append(row)
    out: List[Fields] = []
    for row in rows:
        key = _group_key(row, by)
        new = dict(row)
        if key is not None:
            for func, arg, name in aggs:
                value = _aggregate(func, arg, groups[key])
                if value is None:
                    new.pop(name, None)
                else:
                    new[name] = value
        out.append(new)
    return out


def _streamstats(rows: List[Fields], text: str) -> List[Fields]:
    aggs, by, options = _aggregations(text)
    if set(options) - {"current"}:
        raise EvalError(f"streamstats options {sorted(options)} are not modelled")
    current = options.get("current", "t").lower() not in ("f", "false", "0")
    seen: Dict[Tuple[str, ...], List[Fields]] = {}
    out: List[Fields] = []
    for row in rows:
        key = _group_key(row, by)
        new = dict(row)
        if key is not None:
            group = seen.setdefault(key, [])
            window = [*group, row] if current else group
            for func, arg, name in aggs:
                value = _aggregate(func, arg, window) if window else None
                if value is None:
                    new.pop(name, None)
                else:
                    new[name] = value
            group.append(row)
        out.append(new)
    return out


def _sort(rows: List[Fields], text: str) -> List[Fields]:
    words = text.replace(",", " ").split()
    limit = 10000
    if words and (words[0].isdigit() or words[0].startswith("limit=")):
        limit = int(words.pop(0).split("=")[-1])
    keys: List[Tuple[str, bool]] = []
    pending_sign = ""
    for word in words:
        if word in ("+", "-"):
            pending_sign = word
            continue
        sign = pending_sign or ("-" if word.startswith("-") else "+")
        keys.append((word.lstrip("+-"), sign == "-"))
        pending_sign = ""
    out = list(rows)
    for name, descending in reversed(keys):
        out.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=descending)  # type: ignore[misc]
    return out[:limit] if limit else out


def _fields(rows: List[Fields], text: str, table: bool = False) -> List[Fields]:
    words = text.replace(",", " ").split()
    remove = not table and bool(words) and words[0] == "-"
    if words and words[0] in ("+", "-"):
        words = words[1:]
    patterns = [re.compile(re.escape(w).replace(r"\*", ".*") + "$") for w in words]

    def listed(name: str) -> bool:
        return any(p.match(name) for p in patterns)

    if remove:
        return [{k: v for k, v in r.items() if not listed(k)} for r in rows]
    keep_internal = not table
    return [{k: v for k, v in r.items() if listed(k) or (keep_internal and k in ("_time", "_raw"))} for r in rows]


def _rename(rows: List[Fields], text: str) -> List[Fields]:
    pairs = re.findall(r"(\S+)\s+AS\s+(\S+)", text, re.I)
    out = []
    for row in rows:
        new = dict(row)
        for old, name in pairs:
            if old.strip(",") in new:
                new[name.strip(",")] = new.pop(old.strip(","))
        out.append(new)
    return out


def _options(text: str) -> Tuple[Dict[str, str], List[str]]:
    options: Dict[str, str] = {}
    rest: List[str] = []
    for token in text.split():
        name, eq, value = token.partition("=")
        if eq and re.fullmatch(r"\w+", name):
            options[name] = value
        else:
            rest.append(token)
    return options, rest


def _truth(text: str) -> bool:
    return text.lower() in ("t", "true", "1", "yes")


def run_command(stage: str, rows: List[Fields], env: Env, generating: bool = False) -> List[Fields]:
    """One pipeline stage over ``rows``."""
    command, _, rest = stage.partition(" ")
    command = command.strip().lower()
    rest = rest.strip()
    if command in ("append", "appendpipe"):
        spans = _bracket_spans(rest)
        if len(spans) != 1:
            raise EvalError(f"{command} needs one subsearch")
        inner = rest[spans[0][0] + 1:spans[0][1] - 1]
        added = run_search(inner, env) if command == "append" else run_pipeline(inner, [dict(r) for r in rows], env)
        return rows + added
    rest = substitute_subsearches(rest, env) if _bracket_spans(rest) else rest
    if command == "makeresults":
        options, _ = _options(rest)
        return [{"_time": _fmt(env.now)} for _ in range(int(options.get("count", "1")))]
    if command == "inputlookup":
        return _inputlookup(rest, env)
    if generating:
        raise EvalError(f"generating command {command!r} is not modelled")
    if command == "search":
        return [r for r in rows if search_matches(rest, r, env.now)]
    if command == "eval":
        return [_eval(row, rest, env) for row in rows]
    if command == "where":
        return [r for r in rows if evaluate(rest, r, env.now, env.clock) is True]
    if command in ("fields", "table"):
        return _fields(rows, rest, table=command == "table")
    if command == "rename":
        return _rename(rows, rest)
    if command == "stats":
        return _stats(rows, rest)
    if command == "eventstats":
        return _eventstats(rows, rest)
    if command == "streamstats":
        return _streamstats(rows, rest)
    if command == "sort":
        return _sort(rows, rest)
    if command == "mvexpand":
        name = rest.split()[0]
        expanded: List[Fields] = []
        for row in rows:
            values = multivalue(row.get(name))
            expanded.extend([{**row, name: v} for v in values] if values else [row])
        return expanded
    if command == "dedup":
        names = rest.replace(",", " ").split()
        seen = set()
        out = []
        for row in rows:
            key = _group_key(row, names)
            if key is None or key in seen:
                continue
            seen.add(key)
            out.append(row)
        return out
    if command == "head":
        return rows[: int(rest.split()[0]) if rest else 10]
    if command == "addinfo":
        low = _fmt(env.earliest if env.earliest is not None else 0.0)
        high = _fmt(env.latest) if env.latest is not None else "+Infinity"
        return [{**r, "info_min_time": low, "info_max_time": high, "info_search_time": _fmt(env.now),
                 "info_sid": env.sid} for r in rows]
    if command == "lookup":
        return [apply_lookup(rest, row, env.root) for row in rows]
    if command == "outputlookup":
        return _outputlookup(rest, rows, env)
    custom = env.commands.get(command)
    if custom is not None:
        return custom(rows, rest, env)
    raise EvalError(f"command {command!r} is not modelled")


def _eval(row: Fields, text: str, env: Env) -> Fields:
    out = dict(row)
    for part in _split(text, ","):
        name, _, expression = part.partition("=")
        if not expression:
            raise EvalError(f"eval without assignment: {part!r}")
        value = as_field(evaluate(expression.strip(), out, env.now, env.clock))
        if value is None:
            out.pop(name.strip(), None)
        else:
            out[name.strip()] = value
    return out


def _inputlookup(text: str, env: Env) -> List[Fields]:
    clause = ""
    match = re.search(r"\swhere\s", " " + text, re.I)
    if match:
        clause = (" " + text)[match.end():]
        text = (" " + text)[:match.start()].strip()
    options, names = _options(text)
    if set(options) - {"append"} or len(names) != 1:
        raise EvalError(f"inputlookup {text!r} is not modelled")
    store = env.kvstores.get(names[0])
    if store is None:
        raise EvalError(f"inputlookup of {names[0]}: only KV store collections are modelled")
    rows = [dict(r) for r in store.records.values()]
    return [r for r in rows if search_matches(clause, r, env.now)] if clause.strip() else rows


def _outputlookup(text: str, rows: List[Fields], env: Env) -> List[Fields]:
    options, names = _options(text)
    if set(options) - {"append", "key_field", "override_if_empty"} or len(names) != 1:
        raise EvalError(f"outputlookup {text!r} is not modelled")
    store = env.kvstores.setdefault(names[0], Collection())
    if not rows and not _truth(options.get("override_if_empty", "true")):
        return rows  # nothing to write, and the lookup is left as it is
    if not _truth(options.get("append", "false")):
        store.records.clear()
    for row in rows:
        store.upsert(row, options.get("key_field"))
    return rows


def rows_of(values: Iterable[Mapping[str, Value]]) -> List[Fields]:
    """Copies of rows with empty values left out (what a field that is not there looks like)."""
    return [{k: v for k, v in r.items() if v not in (None, "", [])} for r in values]


__all__ = ["Collection", "Command", "Env", "format_results", "rows_of", "run_command", "run_pipeline", "run_search",
           "substitute_subsearches"]
