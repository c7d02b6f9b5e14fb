"""Search pipelines: the commands the app's macros and saved searches chain, run over result rows.

``run_pipeline`` runs a pipeline stage by stage. Only the commands in ``COMMANDS`` exist, and each
only with the options it names; anything else raises ``EvalError``, so a test fails the day a macro
uses a command or option this module does not model.

Modelled (Splunk 9.x Search Reference), with the choices where the reference is silent marked
"assumption":

* ``eval``: assignments left to right, each seeing the ones before it.
* ``where <expr>``, ``search <clause>``: keep rows where the expression is true / the clause matches.
* ``lookup``: CSV or KV store lookups (``devtools.evalspl.lookups``).
* ``fields - <patterns>``, ``fields <patterns>`` (keeps ``_``-prefixed fields too, as Splunk keeps
  internal fields), ``table <patterns>`` (only those, in that order), ``rename <a> AS <b>, <c> AS "<d e>"``.
* ``stats <fn>(<field>) [AS <name>] ... [by <fields>]`` with ``count``, ``dc``, ``sum``, ``min``,
  ``max``, ``values`` (distinct, sorted by code point), ``list``, ``first``, ``last`` (first/last
  non-null value in row order). Rows lacking a by-field are dropped; groups come out sorted by their
  by-values. Without ``by``, empty input still gives one row (``count`` = 0).
* ``sort [<limit>] [-|+]<field> ...``: numbers compare as numbers, strings by code point; a row
  without a sort field, or a field holding numbers and strings, raises (not modelled).
* ``dedup <fields> [keepempty=true]``: the first row of each value combination; a row lacking one of
  the fields is dropped (``keepempty=false``, the default) or kept.
* ``inputlookup [append=true] <lookup>``, ``outputlookup [append=true] [key_field=<f>] <lookup>``:
  CSV files are read from and written to the app's ``lookups/``; KV store collections live in the
  ``KVStore`` given (only the lookup's ``fields_list`` is written and read back);
  ``override_if_empty=false`` leaves the lookup alone when there are no rows.
* ``appendpipe [<pipeline>]``: the rows, then the pipeline's output over them.
* ``addinfo``: ``info_min_time``, ``info_max_time``, ``info_search_time``, ``info_sid`` of the search.
* ``eventstats`` / ``streamstats [current=f]``: the ``stats`` functions per ``by`` group, added to
  each row (``streamstats``: over the rows before it, and itself unless ``current=f``).
* ``append [<search>]``: the rows, then a whole search's results (``SearchContext.subsearch``).
* ``inputlookup <lookup> where <clause>``: the records the ``search`` clause matches.
* ``mvexpand <field>``, ``head <n>``, ``makeresults [count=<n>]``, and the custom commands the
  context names (the app's own search commands, modelled by the caller).

``devtools.evalspl.spl`` runs whole searches (base search, subsearches) with these commands.
"""

from __future__ import annotations

import csv
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from devtools.conf import ROOT

from .evaluate import as_field, evaluate, multivalue
from .kvstore import KVStore
from .lookups import Lookup, apply_lookup, lookup_stanza
from .search import search_matches
from .values import EvalError, Fields, Value


@dataclass
class SearchContext:
    """What a running search knows besides its rows: the app, the clock, the KV store, its job."""

    root: Path = ROOT
    now: float = field(default_factory=time.time)
    kvstore: KVStore = field(default_factory=KVStore)
    info: Dict[str, str] = field(default_factory=dict)
    #: what ``time()`` returns while the pipeline runs (``now`` when None)
    clock: Optional[float] = None
    #: custom search commands: name -> (rows, arguments) -> rows
    custom: Dict[str, Callable[[List[Fields], str], List[Fields]]] = field(default_factory=dict)
    #: runs a whole search (``append [...]``); None where only pipelines are modelled
    subsearch: Optional[Callable[[str], List[Fields]]] = None


Command = Callable[[SearchContext, str, List[Fields]], List[Fields]]


def _split_assignments(text: str) -> List[Tuple[str, str]]:
    from devtools.splcheck import split_top_level

    out: List[Tuple[str, str]] = []
    for part in split_top_level(text, ","):
        name, _, expression = part.partition("=")
        if not expression:
            raise EvalError(f"eval without assignment: {part!r}")
        out.append((name.strip(), expression.strip()))
    return out


def _patterns(text: str) -> List[re.Pattern[str]]:
    names = [n for n in re.split(r"[\s,]+", text.strip()) if n]
    return [re.compile(re.escape(p).replace(r"\*", ".*") + "$") for p in names]


def _cmd_eval(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    assignments = _split_assignments(rest)
    for row in rows:
        for name, expression in assignments:
            value = as_field(evaluate(expression, row, ctx.now, ctx.clock))
            if value is None:
                row.pop(name, None)
            else:
                row[name] = value
    return rows


def _cmd_where(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    return [row for row in rows if evaluate(rest, row, ctx.now, ctx.clock) is True]


def _cmd_search(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    return [row for row in rows if search_matches(rest, row, ctx.now)]


def _cmd_lookup(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    name = rest.split()[0]
    loaded = Lookup.load(name, ctx.root, ctx.kvstore)
    return [apply_lookup(rest, row, ctx.root, ctx.kvstore, loaded) for row in rows]


def _cmd_fields(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    rest = rest.strip()
    if rest.startswith("- "):
        patterns = _patterns(rest[2:])
        return [{k: v for k, v in row.items() if not any(p.match(k) for p in patterns)} for row in rows]
    if rest.startswith("+ "):
        rest = rest[2:]
    patterns = _patterns(rest)
    return [{k: v for k, v in row.items() if k.startswith("_") or any(p.match(k) for p in patterns)}
            for row in rows]


def _cmd_table(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    patterns = _patterns(rest)
    out: List[Fields] = []
    for row in rows:
        kept: Fields = {}
        for pattern in patterns:
            for key, value in row.items():
                if pattern.match(key) and key not in kept:
                    kept[key] = value
        out.append(kept)
    return out


_NAME = r'(?:"(?:[^"\\]|\\.)*"|[^\s,"]+)'
_RENAME = re.compile(rf"\s*({_NAME})\s+AS\s+({_NAME})\s*(?:,|$)", re.I)


def _unquote(name: str) -> str:
    return name[1:-1].replace('\\"', '"') if name.startswith('"') else name


def rename_pairs(rest: str) -> List[Tuple[str, str]]:
    """The (old, new) names of a ``rename a AS b, c AS "Two words"`` stage."""
    pairs: List[Tuple[str, str]] = []
    pos, text = 0, rest.strip()
    while pos < len(text):
        match = _RENAME.match(text, pos)
        if not match or match.end() == pos:
            raise EvalError(f"rename {rest!r}: only 'a AS b' pairs are modelled")
        old, new = (_unquote(name) for name in match.groups())
        pairs.append((old, new))
        pos = match.end()
    return pairs


def _cmd_rename(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    pairs = rename_pairs(rest)
    if not pairs or any("*" in a or "*" in b for a, b in pairs):
        raise EvalError(f"rename {rest!r}: only plain 'a AS b' pairs are modelled")
    for row in rows:
        for old, new in pairs:
            if old in row:
                row[new] = row.pop(old)
            else:
                row.pop(new, None)
    return rows


def _number(value: Value) -> Optional[float]:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _sort_value(value: Value, name: str) -> Tuple[int, Any]:
    if value is None:
        raise EvalError(f"sort/stats on {name}: a row without it is not modelled")
    if isinstance(value, list):
        raise EvalError(f"sort/stats on {name}: a multivalue value is not modelled")
    number = _number(value)
    return (0, number) if number is not None else (1, str(value))


def _check_mixed(keys: List[Tuple[int, Any]], name: str) -> None:
    if len({k[0] for k in keys}) > 1:
        raise EvalError(f"sort on {name}: numbers and strings together are not modelled")


_AGG = re.compile(r"\s*(\w+)(?:\(([^()]*)\))?(?:\s+(?:AS|as)\s+([\w.:-]+))?\s*,?")


def _aggregate(fn: str, name: str, values: List[Value], rows: List[Fields]) -> Value:
    present = [v for v in values if v is not None and v != []]
    if fn == "count":
        return str(len(rows) if not name else len(present))
    if fn == "dc":
        return str(len({x for v in present for x in multivalue(v)}))
    if fn in {"values", "list"}:
        flat = [x for v in present for x in multivalue(v)]
        out = sorted(set(flat)) if fn == "values" else flat
        return None if not out else out[0] if len(out) == 1 else out
    if fn in {"first", "last"}:
        if any(isinstance(v, list) for v in present):
            raise EvalError(f"{fn}({name}) over a multivalue field is not modelled")
        return None if not present else present[0] if fn == "first" else present[-1]
    if fn in {"min", "max", "sum"}:
        if any(isinstance(v, list) for v in present):
            raise EvalError(f"{fn}({name}) over a multivalue field is not modelled")
        if not present:
            return None
        numbers = [_number(v) for v in present]
        if fn == "sum":
            if any(n is None for n in numbers):
                raise EvalError(f"sum({name}) over text is not modelled")
            return as_field(sum(n for n in numbers if n is not None))
        if all(n is not None for n in numbers):
            picked = (max if fn == "max" else min)(n for n in numbers if n is not None)
            return as_field(picked)
        if any(n is not None for n in numbers):
            raise EvalError(f"{fn}({name}) over numbers and text together is not modelled")
        return (max if fn == "max" else min)(str(v) for v in present)
    raise EvalError(f"stats function {fn}() is not modelled")


Aggregation = Tuple[str, str, str]


def _stats_spec(command: str, rest: str, allowed: Tuple[str, ...] = ()) -> Tuple[List[Aggregation], List[str],
                                                                                  Dict[str, str]]:
    """``(function, field, output name)`` list, ``by`` fields and leading options of a stats command."""
    options: Dict[str, str] = {}
    while True:
        found = re.match(r"\s*(\w+)=(\S+)", rest)
        if not found or found.group(1) in {"count"}:
            break
        if found.group(1) not in allowed:
            raise EvalError(f"{command} option {found.group(1)} is not modelled")
        options[found.group(1)] = found.group(2)
        rest = rest[found.end():]
    split = re.split(r"\s+by\s+", rest, maxsplit=1, flags=re.I)
    spec, by = split[0], ([b for b in re.split(r"[\s,]+", split[1].strip()) if b] if len(split) > 1 else [])
    aggregations: List[Aggregation] = []
    pos = 0
    while pos < len(spec.strip()):
        match = _AGG.match(spec, pos)
        if not match or match.end() == pos:
            raise EvalError(f"{command}: cannot read {spec[pos:pos + 30]!r}")
        fn, arg, alias = match.group(1), (match.group(2) or "").strip(), match.group(3)
        if fn.lower() != fn or (not arg and fn != "count") or "eval(" in spec:
            raise EvalError(f"{command} {fn}({arg}) is not modelled")
        aggregations.append((fn, arg, alias or (f"{fn}({arg})" if arg else fn)))
        pos = match.end()
    return aggregations, by, options


def _group(row: Fields, by: List[str]) -> Optional[Tuple[str, ...]]:
    """The row's ``by`` values, None when one is missing (such rows form no group, as in Splunk)."""
    parts: List[str] = []
    for name in by:
        value = row.get(name)
        if value is None or value == []:
            return None
        if isinstance(value, list):
            raise EvalError(f"grouping by a multivalue field ({name}) is not modelled")
        parts.append(str(value))
    return tuple(parts)


def _groups(rows: List[Fields], by: List[str]) -> Dict[Tuple[str, ...], List[Fields]]:
    """Rows by the values of their ``by`` fields, in first-seen order (rows missing one are left out)."""
    groups: Dict[Tuple[str, ...], List[Fields]] = {}
    for row in rows:
        key = _group(row, by)
        if key is not None:
            groups.setdefault(key, []).append(row)
    return groups


def _results(aggregations: List[Aggregation], members: List[Fields]) -> Fields:
    out: Fields = {}
    for fn, arg, alias in aggregations:
        out[alias] = _aggregate(fn, arg, [m.get(arg) for m in members] if arg else [], members)
    return out


def _cmd_stats(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    aggregations, by, _ = _stats_spec("stats", rest)
    groups = _groups(rows, by)
    if not by and not groups:
        groups[()] = []
    ordered = sorted(groups.items(), key=lambda item: [_sort_value(v, "by") for v in item[0]])
    return [{**dict(zip(by, key)), **_results(aggregations, members)} for key, members in ordered]


def _cmd_eventstats(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    aggregations, by, _ = _stats_spec("eventstats", rest)
    results = {key: _results(aggregations, members) for key, members in _groups(rows, by).items()}
    out: List[Fields] = []
    for row in rows:
        key = _group(row, by)
        out.append({**row, **results[key]} if key is not None else row)
    return out


def _cmd_streamstats(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    aggregations, by, options = _stats_spec("streamstats", rest, ("current",))
    current = options.get("current", "t").lower() not in {"f", "false", "0"}
    seen: Dict[Tuple[str, ...], List[Fields]] = {}
    out: List[Fields] = []
    for row in rows:
        key = _group(row, by)
        if key is None:
            out.append(row)
            continue
        group = seen.setdefault(key, [])
        window = [*group, row] if current else group
        out.append({**row, **_results(aggregations, window)})
        group.append(row)
    return out


def _cmd_sort(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    tokens = rest.replace(",", " ").split()
    limit = 10000
    if tokens and tokens[0].isdigit():
        limit = int(tokens.pop(0)) or len(rows)
    keys: List[Tuple[str, bool]] = []
    descending = False
    for token in tokens:
        if token in {"-", "+"}:
            descending = token == "-"  # noqa: S105 (a sort direction, not a secret)
            continue
        if "(" in token or token.lower() in {"d", "desc"}:
            raise EvalError(f"sort {token}: only plain fields with -/+ are modelled")
        if token[0] in "-+":
            descending, token = token[0] == "-", token[1:]
        keys.append((token, descending))
        descending = False
    result = list(rows)
    for name, desc in reversed(keys):  # stable sorts, least significant key first
        values = [_sort_value(row.get(name), name) for row in result]
        _check_mixed(values, name)
        order = sorted(range(len(result)), key=lambda i: values[i], reverse=desc)
        result = [result[i] for i in order]
    return result[:limit]


def _cmd_dedup(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    words = rest.replace(",", " ").split()
    keepempty = "keepempty=true" in words
    names = [w for w in words if w not in ("keepempty=true", "keepempty=false")]
    if not names or any("=" in n for n in names):
        raise EvalError(f"dedup {rest!r}: only a list of fields and keepempty are modelled")
    seen = set()
    out: List[Fields] = []
    for row in rows:
        if any(row.get(n) in (None, []) for n in names):
            if keepempty:
                out.append(row)
            continue  # keepempty=false (the default): a row without one of the fields is dropped
        key = tuple(_sort_value(row.get(n), n) for n in names)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _options(rest: str, allowed: Tuple[str, ...]) -> Tuple[Dict[str, str], List[str]]:
    options: Dict[str, str] = {}
    words: List[str] = []
    for token in rest.split():
        name, eq, value = token.partition("=")
        if eq:
            if name not in allowed:
                raise EvalError(f"option {name} is not modelled")
            options[name] = value
        else:
            words.append(token)
    return options, words


def _true(value: Optional[str]) -> bool:
    return (value or "").lower() in {"1", "t", "true"}


def _read_lookup(ctx: SearchContext, name: str) -> List[Fields]:
    lookup = Lookup.load(name, ctx.root, ctx.kvstore)
    return [dict(row) for row in lookup.rows]


def _cmd_inputlookup(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    clause = None
    found = re.search(r"\swhere\s", " " + rest, re.I)
    if found:
        rest, clause = (" " + rest)[:found.start()].strip(), (" " + rest)[found.end():]
    options, words = _options(rest, ("append",))
    if len(words) != 1:
        raise EvalError(f"inputlookup {rest!r}: one lookup name is modelled")
    read = _read_lookup(ctx, words[0])
    if clause is not None:
        read = [row for row in read if search_matches(clause, row, ctx.now)]
    return rows + read if _true(options.get("append")) else read


def _cmd_outputlookup(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    options, words = _options(rest, ("append", "key_field", "override_if_empty"))
    if len(words) != 1:
        raise EvalError(f"outputlookup {rest!r}: one lookup name is modelled")
    lookup = Lookup.load(words[0], ctx.root, ctx.kvstore)
    append = _true(options.get("append"))
    if not rows and options.get("override_if_empty", "true").lower() in {"0", "f", "false"}:
        return rows  # an empty result leaves the lookup as it is
    if lookup.collection is not None:
        key_field = options.get("key_field", "_key")
        records: List[Fields] = []
        for row in rows:
            record: Fields = {k: v for k, v in row.items() if k in lookup.fields_list}
            if row.get(key_field) is not None:
                record["_key"] = row[key_field]
            records.append(record)
        (ctx.kvstore.upsert if append else ctx.kvstore.replace)(lookup.collection, records)
        return rows
    if "key_field" in options:
        raise EvalError("outputlookup key_field on a CSV lookup is not modelled")
    path = lookup.path
    if path is None:
        raise EvalError(f"outputlookup {words[0]}: no file")
    written: List[Fields] = (lookup.rows if append else []) + rows
    columns: List[str] = []
    for row in written:
        columns += [k for k in row if not k.startswith("_") and k not in columns]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in written:
            if any(isinstance(v, list) for v in row.values()):
                raise EvalError("outputlookup of a multivalue field to CSV is not modelled")
            writer.writerow({k: row.get(k) or "" for k in columns})
    return rows


def _bracketed(rest: str) -> str:
    start, end = rest.find("["), rest.rfind("]")
    if start < 0 or end < start or rest[:start].strip() or rest[end + 1:].strip():
        raise EvalError(f"expected one [subsearch], got {rest[:40]!r}")
    return rest[start + 1:end]


def _cmd_appendpipe(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    return rows + _run(ctx, _bracketed(rest), [dict(r) for r in rows])


def _cmd_append(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    if ctx.subsearch is None:
        raise EvalError("append needs a whole search: run it with devtools.evalspl.spl.run_search")
    return rows + ctx.subsearch(_bracketed(rest))


def _cmd_addinfo(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    if rest.strip():
        raise EvalError("addinfo options are not modelled")
    info = {"info_min_time": "0.000", "info_max_time": "+Infinity", "info_search_time": str(ctx.now),
            "info_sid": "scheduler__test"}
    info.update(ctx.info)
    return [{**row, **info} for row in rows]


def _cmd_mvexpand(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    name = rest.strip()
    if not re.fullmatch(r"[\w.:]+", name):
        raise EvalError(f"mvexpand {rest!r}: one field, no limit, is modelled")
    out: List[Fields] = []
    for row in rows:
        values = multivalue(row.get(name))
        if not values:
            out.append(row)  # assumption: a row without the field passes unchanged
        for value in values:
            out.append({**row, name: value})
    return out


def _cmd_head(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    if not rest.strip().isdigit():
        raise EvalError(f"head {rest!r}: only a count is modelled")
    return rows[: int(rest)]


def _cmd_makeresults(ctx: SearchContext, rest: str, rows: List[Fields]) -> List[Fields]:
    options, words = _options(rest, ("count",))
    if words:
        raise EvalError(f"makeresults {rest!r} is not modelled")
    return [{"_time": str(int(ctx.now))} for _ in range(int(options.get("count", "1")))]


COMMANDS: Dict[str, Command] = {
    "eval": _cmd_eval, "where": _cmd_where, "search": _cmd_search, "lookup": _cmd_lookup,
    "fields": _cmd_fields, "table": _cmd_table, "rename": _cmd_rename, "stats": _cmd_stats,
    "sort": _cmd_sort, "dedup": _cmd_dedup, "inputlookup": _cmd_inputlookup,
    "outputlookup": _cmd_outputlookup, "appendpipe": _cmd_appendpipe, "addinfo": _cmd_addinfo,
    "mvexpand": _cmd_mvexpand, "head": _cmd_head, "makeresults": _cmd_makeresults,
    "eventstats": _cmd_eventstats, "streamstats": _cmd_streamstats, "append": _cmd_append,
}


def run_stage(ctx: SearchContext, stage: str, rows: List[Fields]) -> List[Fields]:
    """One command of a pipeline over ``rows``."""
    command, _, rest = stage.strip().partition(" ")
    handler = COMMANDS.get(command)
    if handler is not None:
        rows = handler(ctx, rest.strip(), rows)
    elif command in ctx.custom:
        rows = ctx.custom[command](rows, rest.strip())
    else:
        raise EvalError(f"command {command!r} is not modelled")
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def _run(ctx: SearchContext, pipeline: str, rows: List[Fields]) -> List[Fields]:
    from devtools.splcheck import split_top_level

    for stage in (s.strip() for s in split_top_level(pipeline, "|")):
        if stage:
            rows = run_stage(ctx, stage, rows)
    return rows


def run_pipeline(pipeline: str, events: List[Fields], root: Path = ROOT, now: Optional[float] = None,
                 kvstore: Optional[KVStore] = None, info: Optional[Dict[str, str]] = None) -> List[Fields]:
    """Run a pipeline (a pipeline macro's expansion, or a search starting with ``|``) over rows.

    ``kvstore`` is the store KV store lookups read and write (an empty one, as on a fresh
    install, when none is given); ``info`` overrides what ``addinfo`` reports.
    """
    ctx = SearchContext(root, time.time() if now is None else now, kvstore if kvstore is not None else KVStore(),
                        dict(info or {}))
    return _run(ctx, pipeline, [dict(e) for e in events])


__all__ = ["COMMANDS", "SearchContext", "lookup_stanza", "rename_pairs", "run_pipeline", "run_stage"]
