"""A small SPL checker for every search string the app ships.

No open-source SPL parser is reliable enough to gate a build, so this checks what breaks searches in
practice, on the app's own content: balanced quotes, brackets and backticks; no empty pipeline stage;
macros exist with the right argument count (and expand); every command is a known SPL command or one
of the app's own (``commands.conf``); lookups exist (``transforms.conf`` or ``lookups/``); no literal
``index=`` outside the ``*_index`` macros; every scheduled search and dashboard base search ends with a
``..._filter`` macro of its own.

Run ``python -m devtools.splcheck``; exit status 1 lists every problem.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from devtools.conf import ROOT, parse_conf

# Splunk 9.x search commands (Search Reference), plus the Splunk Enterprise Security / CIM ones an
# admin might use in a repointed macro. Anything else must be declared in the app's commands.conf.
SPL_COMMANDS = frozenset("""
abstract accum addcoltotals addinfo addtotals analyzefields anomalies anomalousvalue anomalydetection
append appendcols appendpipe arules associate audit autoregress bin bucket bucketdir chart cluster
cofilter collect concurrency contingency convert correlate datamodel dbinspect dedup delete delta diff
erex eval eventcount eventstats extract kv fieldformat fields fieldsummary filldown fillnull findtypes
folderize foreach format from gauge gentimes geom geomfilter geostats head highlight history iconify
inputcsv inputintelligence inputlookup iplocation join kmeans kvform loadjob localize localop lookup
makecontinuous makemv makeresults map mcollect metadata metasearch meventcollect mpreview msearch
mstats multikv multisearch mvcombine mvexpand nomv outlier outputcsv outputlookup outputtext overlap
pivot predict rangemap rare redistribute regex reltime rename replace require rest return reverse rex
rtorder run savedsearch script scrub search searchtxn selfjoin sendalert sendemail set setfields sichart
sirare sistats sitimechart sitop sort spath stats strcat streamstats table tags tail timechart
timewrap tojson top transaction transpose trendline tscollect tstats typeahead typelearner typer union
uniq untable walklex where x11 xmlkv xmlunescape xpath xyseries
""".split())

INDEX_LITERAL = re.compile(r"(?<![\w.])index\s*(=|!=|::)|(?<![\w.])index\s+in\s*\(", re.I)
MACRO_CALL = re.compile(r"`([^`]*)`")
LOOKUP_COMMANDS = {"lookup", "inputlookup", "outputlookup"}


@dataclass
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Macro:
    name: str
    args: List[str]
    definition: str


@dataclass
class AppContent:
    macros: Dict[Tuple[str, int], Macro] = field(default_factory=dict)
    commands: Set[str] = field(default_factory=set)
    lookups: Set[str] = field(default_factory=set)

    @classmethod
    def load(cls, root: Path = ROOT) -> AppContent:
        content = cls()
        default = root / "default"
        if (default / "macros.conf").is_file():
            for stanza in parse_conf(default / "macros.conf"):
                name, count = split_macro_stanza(stanza.name)
                args = [a.strip() for a in (stanza.get("args") or "").split(",") if a.strip()]
                content.macros[(name, count)] = Macro(name, args, stanza.get("definition") or "")
        if (default / "commands.conf").is_file():
            content.commands = {s.name for s in parse_conf(default / "commands.conf") if s.name != "default"}
        if (default / "transforms.conf").is_file():
            content.lookups = {s.name for s in parse_conf(default / "transforms.conf")
                               if s.get("filename") or s.get("collection") or s.get("external_type")}
        content.lookups |= {p.name for p in (root / "lookups").glob("*.csv")}
        return content


def split_macro_stanza(name: str) -> Tuple[str, int]:
    match = re.fullmatch(r"(.+?)\((\d+)\)", name.strip())
    return (match.group(1), int(match.group(2))) if match else (name.strip(), 0)


def outside_quotes(text: str) -> Iterator[Tuple[int, str]]:
    """Offsets and characters of ``text`` that lie outside double-quoted strings.

    Inside quotes a backslash escapes the next character (``"a \\" b"`` is one string);
    :func:`quote_open` tells whether a quoted string was left open.
    """
    quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                quote = False
        elif ch == '"':
            quote = True
        else:
            yield i, ch
        i += 1


def quote_open(text: str) -> bool:
    """True when a double-quoted string is never closed."""
    return '"' in _QUOTED.sub("", text)


def split_top_level(text: str, sep: str) -> List[str]:
    """Split on ``sep`` outside double quotes, brackets, parentheses and backticks."""
    cuts = [-1]
    depth, tick = 0, False
    for i, ch in outside_quotes(text):
        if ch == "`":
            tick = not tick
        elif tick:
            continue
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            cuts.append(i)
    cuts.append(len(text))
    return [text[a + 1:b] for a, b in zip(cuts, cuts[1:])]


def balance_problems(text: str) -> List[str]:
    problems: List[str] = []
    stack: List[str] = []
    ticks = 0
    pairs = {")": "(", "]": "["}
    for i, ch in outside_quotes(text):
        if ch == "`":
            ticks += 1
        elif ch in "([":
            stack.append(ch)
        elif ch in ")]":
            if not stack or stack[-1] != pairs[ch]:
                return [f"unbalanced '{ch}' at offset {i}"]
            stack.pop()
    if quote_open(text):
        problems.append("unbalanced double quote")
    if ticks % 2:
        problems.append("unbalanced backtick")
    if stack:
        problems.append(f"unclosed '{stack[-1]}'")
    return problems


def expand(text: str, content: AppContent, problems: List[str], depth: int = 0) -> str:
    """Expand macro calls recursively, recording undefined macros and wrong argument counts."""
    if depth > 20:
        problems.append("macro expansion deeper than 20 levels (recursive macro?)")
        return text

    def replace(match: re.Match[str]) -> str:
        call = match.group(1).strip()
        call_match = re.fullmatch(r"([\w.:-]+)\s*\((.*)\)", call, re.S)
        if call_match:
            name = call_match.group(1)
            args = [a.strip() for a in split_top_level(call_match.group(2), ",")]
        else:
            name, args = call, []
        macro = content.macros.get((name, len(args)))
        if macro is None:
            known = sorted(c for (n, c) in content.macros if n == name)
            if known:
                problems.append(f"macro `{name}` called with {len(args)} argument(s); defined with {known}")
            else:
                problems.append(f"undefined macro `{name}`")
            return "search *"
        body = macro.definition
        for param, value in zip(macro.args, args):
            body = body.replace(f"${param}$", value.strip('"') if value.startswith('"') else value)
        return expand(body, content, problems, depth + 1)

    return MACRO_CALL.sub(replace, text)


def first_word(stage: str) -> str:
    match = re.match(r"\s*([A-Za-z_][\w]*)", stage)
    return match.group(1).lower() if match else ""


def check_pipeline(text: str, content: AppContent, problems: List[str], subsearch: bool = False) -> None:
    stages = split_top_level(text, "|")
    leading_pipe = not stages[0].strip()
    if leading_pipe:
        stages = stages[1:]
        if not stages:
            problems.append("empty search")
            return
    for index, stage in enumerate(stages):
        if not stage.strip():
            problems.append("empty pipeline stage")
            continue
        word = first_word(stage)
        if index == 0 and not leading_pipe and not (subsearch and word in SPL_COMMANDS):
            word = "search"  # a search (or subsearch) that does not start with a pipe
        elif word not in SPL_COMMANDS and word not in content.commands:
            problems.append(f"unknown command '{word or stage.strip()[:20]}'")
        if word in LOOKUP_COMMANDS:
            check_lookup(word, stage, content, problems)
        for sub in subsearches(stage):
            check_pipeline(sub, content, problems, subsearch=True)


def subsearches(stage: str) -> Iterable[str]:
    """Bracketed pipelines of a stage (brackets inside quotes, as in rex classes, do not count)."""
    depth, start = 0, -1
    for i, ch in outside_quotes(stage):
        if ch == "[":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0 and start >= 0:
                yield stage[start:i]


def check_lookup(command: str, stage: str, content: AppContent, problems: List[str]) -> None:
    tokens = re.findall(r'"[^"]*"|\S+', stage)[1:]
    names = [t.strip('"') for t in tokens if "=" not in t]
    if not names:
        problems.append(f"{command} without a lookup name")
        return
    name = names[0]
    if "$" in name:  # a dashboard token chooses the lookup at run time
        return
    if name not in content.lookups and f"{name}.csv" not in content.lookups:
        problems.append(f"unknown lookup '{name}' in {command}")


def check_search(text: str, content: AppContent, *, allow_index: bool = False) -> List[str]:
    problems = balance_problems(text)
    if not allow_index and INDEX_LITERAL.search(strip_quoted(text)):
        problems.append("literal index= (put indexes behind a *_index macro)")
    if problems:
        return problems
    expanded = expand(text, content, problems)
    if balance_problems(expanded) and not problems:
        problems += [f"after macro expansion: {p}" for p in balance_problems(expanded)]
    if not problems:
        check_pipeline(expanded, content, problems)
    return problems


_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')


def strip_quoted(text: str) -> str:
    return _QUOTED.sub('""', text)


def last_stage_macro(text: str) -> Optional[str]:
    stages = [s.strip() for s in split_top_level(text, "|")]
    match = re.fullmatch(r"`([\w.:-]+)(?:\([^`]*\))?`", stages[-1]) if stages else None
    return match.group(1) if match else None


@dataclass
class SearchString:
    where: str
    text: str
    scheduled: bool = False
    base: bool = False
    allow_index: bool = False


def app_searches(root: Path = ROOT) -> List[SearchString]:
    """Every search string the app ships: macros, eventtypes, saved searches, dashboard queries."""
    out: List[SearchString] = []
    default = root / "default"
    if (default / "macros.conf").is_file():
        for stanza in parse_conf(default / "macros.conf"):
            name = split_macro_stanza(stanza.name)[0]
            out.append(SearchString(f"macros.conf [{stanza.name}]", stanza.get("definition") or "",
                                    allow_index=name.endswith("_index")))
    if (default / "eventtypes.conf").is_file():
        for stanza in parse_conf(default / "eventtypes.conf"):
            out.append(SearchString(f"eventtypes.conf [{stanza.name}]", stanza.get("search") or ""))
    if (default / "savedsearches.conf").is_file():
        for stanza in parse_conf(default / "savedsearches.conf"):
            if stanza.name == "default":
                continue
            scheduled = (stanza.get("enableSched") or "0").strip().lower() in {"1", "true"} \
                or bool(stanza.get("cron_schedule"))
            out.append(SearchString(f"savedsearches.conf [{stanza.name}]", stanza.get("search") or "",
                                    scheduled=scheduled))
    for view in sorted((default / "data" / "ui" / "views").glob("*.xml")):
        for name, query, base in dashboard_queries(view):
            out.append(SearchString(f"{view.name} dataSources.{name}", query, base=base))
    return out


_TOKEN_FILTER = re.compile(r"\$([\w.:]+)((?:\|[a-z]+)+)\$")


def resolve_token_filters(query: str) -> str:
    """``$tok|s$`` becomes ``"$tok$"`` (the filter quotes it); other filters leave ``$tok$``.

    Token filters use ``|``, which must not read as a pipe to the checker.
    """
    return _TOKEN_FILTER.sub(lambda m: f'"${m.group(1)}$"' if "|s" in m.group(2) else f"${m.group(1)}$", query)


def dashboard_queries(view: Path) -> List[Tuple[str, str, bool]]:
    """(data source, query, is a base search) for every search in a Dashboard Studio view."""
    text = view.read_text(encoding="utf-8")
    match = re.search(r"<definition>\s*<!\[CDATA\[(.*?)\]\]>\s*</definition>", text, re.S)
    if not match:
        return []
    definition = json.loads(match.group(1))
    out = []
    for name, source in (definition.get("dataSources") or {}).items():
        query = (source.get("options") or {}).get("query")
        if query is None:
            continue
        out.append((name, resolve_token_filters(query), source.get("type") == "ds.search"))
    return out


def check_app(root: Path = ROOT) -> Tuple[List[Problem], int]:
    content = AppContent.load(root)
    problems: List[Problem] = []
    searches = app_searches(root)
    filters: Dict[str, str] = {}
    for item in searches:
        if item.where.startswith("macros.conf"):
            problems += [Problem(item.where, p) for p in balance_problems(item.text)]
            if not item.allow_index and INDEX_LITERAL.search(strip_quoted(item.text)):
                problems.append(Problem(item.where, "literal index= (put indexes behind a *_index macro)"))
            continue
        problems += [Problem(item.where, p) for p in check_search(item.text, content)]
        if item.scheduled or item.base:
            macro = last_stage_macro(item.text)
            kind = "scheduled search" if item.scheduled else "dashboard base search"
            if macro is None or not macro.endswith("_filter"):
                problems.append(Problem(item.where, f"{kind} does not end with its own `..._filter` macro"))
            elif macro in filters and item.scheduled:
                problems.append(Problem(item.where, f"filter macro `{macro}` is shared with {filters[macro]}"))
            elif item.scheduled:
                filters[macro] = item.where
    # Every macro must also expand cleanly where it is used on its own.
    for (name, count), defined in content.macros.items():
        sub: List[str] = []
        expand(defined.definition, content, sub)
        problems += [Problem(f"macros.conf [{name}{f'({count})' if count else ''}]", p) for p in sub]
        if len(defined.args) != count:
            problems.append(Problem(f"macros.conf [{name}({count})]",
                                    f"args lists {len(defined.args)} names for {count} arguments"))
    return problems, len(searches)


def main() -> int:
    problems, count = check_app()
    for problem in problems:
        print(problem)
    print(f"splcheck: {count} search strings, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
