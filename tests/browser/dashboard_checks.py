"""Checks of Dashboard Studio views that Splunk's definition schema does not make.

The schema (``@splunk/dashboard-definition`` + ``@splunk/dashboard-validation``, run by ``validate.js``)
accepts a visualization pointing at a data source that does not exist, a ``ds.search`` without a query,
a ``ds.chain`` extending nothing, a token nobody sets and an event handler type no Splunk knows. Each of
those renders as an empty or forever-waiting panel, so they are checked here, on the definition alone.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from devtools import splcheck

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "default" / "data" / "ui" / "views"

# A token reference: $name$ or $name|filter$ (Studio filters: s, h, u, n).
TOKEN = re.compile(r"\$([A-Za-z0-9_][A-Za-z0-9_.:\-]*)(?:\|[shun])?\$")
# A token reference with its whole filter chain ($name|s$, $name|s|u$).
TOKEN_WITH_FILTERS = re.compile(r"\$([A-Za-z0-9_][A-Za-z0-9_.:\-]*)((?:\|[a-z]+)*)\$")
# Event handler types Dashboard Studio knows (the definition schema's own list).
EVENT_HANDLER_TYPES = frozenset({
    "drilldown.setToken", "drilldown.setTimeRange", "drilldown.customUrl", "drilldown.linkToDashboard",
    "drilldown.resetTokens", "drilldown.unsetTokens", "drilldown.switchToTab",
})
# Tokens an event carries into its handlers' options (row.<field>.value, click.value, ...).
EVENT_TOKEN_ROOTS = ("row.", "click.", "value", "name", "trellis.", "geo.", "value2", "name2")
DATA_SOURCE_TYPES_WITH_QUERY = {"ds.search", "ds.chain"}


@dataclass
class View:
    path: Path
    version: Optional[str]
    label: Optional[str]
    definition: Dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass
class Report:
    problems: List[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.problems.append(message)


def all_views(folder: Path = VIEWS) -> List[Path]:
    return sorted(folder.glob("*.xml"))


def load_view(path: Path) -> View:
    """Parse a view file; raises ``ET.ParseError`` or ``ValueError`` when it is not a Studio view."""
    root = ET.parse(path).getroot()
    if root.tag != "dashboard":
        raise ValueError(f"{path.name}: root element <{root.tag}>, expected <dashboard>")
    node = root.find("definition")
    if node is None or not (node.text or "").strip():
        raise ValueError(f"{path.name}: no <definition>")
    definition = json.loads(node.text or "")
    label = root.find("label")
    return View(path, root.get("version"), label.text if label is not None else None, definition)


def walk_strings(value: Any, where: str = "") -> Iterator[Tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{where}[{index}]")


def defined_tokens(definition: Dict[str, Any]) -> Set[str]:
    """Tokens the view itself sets: inputs, default values and setToken drilldowns."""
    tokens: Set[str] = set()
    for item in (definition.get("inputs") or {}).values():
        token = (item.get("options") or {}).get("token")
        if token:
            tokens.add(token)
            if item.get("type") == "input.timerange":
                tokens |= {f"{token}.earliest", f"{token}.latest"}
    for namespace in ((definition.get("defaults") or {}).get("tokens") or {}).values():
        tokens |= set(namespace)
    for _, handler in event_handlers(definition):
        if handler.get("type") == "drilldown.setToken":
            options = handler.get("options") or {}
            tokens |= {t["token"] for t in options.get("tokens") or [] if t.get("token")}
            if options.get("token"):
                tokens.add(options["token"])
    return tokens


def event_handlers(definition: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    for section in ("visualizations", "inputs"):
        for name, item in (definition.get(section) or {}).items():
            for handler in item.get("eventHandlers") or []:
                yield f"{section}.{name}", handler


def used_tokens(definition: Dict[str, Any]) -> Iterator[Tuple[str, str, bool]]:
    """(where, token, inside an event handler) for every token reference of the definition."""
    for section in ("dataSources", "visualizations", "inputs", "defaults", "layout"):
        for where, text in walk_strings(definition.get(section) or {}, section):
            for match in TOKEN.finditer(text):
                yield where, match.group(1), ".eventHandlers[" in where
    for key in ("title", "description"):
        for match in TOKEN.finditer(str(definition.get(key) or "")):
            yield key, match.group(1), False


def check_definition(view: View, views: Optional[Dict[str, View]] = None) -> List[str]:
    """Every problem of one view that the schema misses; ``views`` (by name) enables link checks."""
    d = view.definition
    report = Report()
    sources: Dict[str, Dict[str, Any]] = d.get("dataSources") or {}
    visualizations: Dict[str, Dict[str, Any]] = d.get("visualizations") or {}
    inputs: Dict[str, Dict[str, Any]] = d.get("inputs") or {}

    referenced: Set[str] = set()
    for section, items in (("visualizations", visualizations), ("inputs", inputs)):
        for name, item in items.items():
            for role, source in (item.get("dataSources") or {}).items():
                referenced.add(source)
                if source not in sources:
                    report.add(f"{section}.{name}.dataSources.{role}: data source '{source}' does not exist")

    for name, source in sources.items():
        kind = source.get("type")
        options = source.get("options") or {}
        if kind in DATA_SOURCE_TYPES_WITH_QUERY and not str(options.get("query") or "").strip():
            report.add(f"dataSources.{name}: {kind} without a query")
        if kind == "ds.chain":
            parent = options.get("extend")
            if not parent:
                report.add(f"dataSources.{name}: ds.chain without 'extend'")
            elif parent not in sources:
                report.add(f"dataSources.{name}: ds.chain extends missing data source '{parent}'")
            else:
                referenced.add(parent)
                seen, current = {name}, parent
                while current in sources and sources[current].get("type") == "ds.chain":
                    if current in seen:
                        report.add(f"dataSources.{name}: ds.chain cycle through '{current}'")
                        break
                    seen.add(current)
                    current = (sources[current].get("options") or {}).get("extend")
    for name in sources:
        if name not in referenced:
            report.add(f"dataSources.{name}: used by no visualization, input or chain (a search for nothing)")

    for where, handler in event_handlers(d):
        kind = handler.get("type")
        if kind not in EVENT_HANDLER_TYPES:
            report.add(f"{where}: unknown event handler type '{kind}'")
        if kind == "drilldown.linkToDashboard":
            check_link(where, handler.get("options") or {}, views, report)

    defined = defined_tokens(d)
    for where, token, in_handler in used_tokens(d):
        if token in defined:
            continue
        if in_handler and token.startswith(EVENT_TOKEN_ROOTS):
            continue
        report.add(f"{where}: token ${token}$ is never set (no input, default or setToken defines it)")

    layout = d.get("layout") or {}
    placed: Set[str] = set()
    definitions = layout.get("layoutDefinitions") or {}
    for tab in (layout.get("tabs") or {}).get("items") or []:
        if tab.get("layoutId") not in definitions:
            report.add(f"layout.tabs: layout '{tab.get('layoutId')}' does not exist")
    for layout_id, item in definitions.items():
        for block in item.get("structure") or []:
            placed.add(block.get("item"))
            if block.get("item") not in visualizations and block.get("item") not in inputs:
                report.add(f"layout.{layout_id}: item '{block.get('item')}' does not exist")
    for name in layout.get("globalInputs") or []:
        placed.add(name)
        if name not in inputs:
            report.add(f"layout.globalInputs: input '{name}' does not exist")
    for name in list(visualizations) + list(inputs):
        if name not in placed:
            report.add(f"{name}: defined but not placed in any layout")
    return report.problems


def check_link(where: str, options: Dict[str, Any], views: Optional[Dict[str, View]], report: Report) -> None:
    target_name = options.get("dashboard")
    app = options.get("app")
    if not target_name:
        report.add(f"{where}: linkToDashboard without a dashboard")
        return
    if views is None or app not in (None, "gcp_guardrail"):
        return
    target = views.get(target_name)
    if target is None:
        report.add(f"{where}: linkToDashboard to '{target_name}', which is not a view of this app")
        return
    accepted = defined_tokens(target.definition)
    for token in options.get("tokens") or []:
        if token.get("token") not in accepted:
            report.add(f"{where}: passes token '{token.get('token')}' that {target_name} does not read")


def base_searches(view: View) -> List[Tuple[str, str]]:
    return [(name, (source.get("options") or {}).get("query") or "")
            for name, source in (view.definition.get("dataSources") or {}).items()
            if source.get("type") == "ds.search"]


def last_macro(query: str) -> Optional[str]:
    stages = [s.strip() for s in re.split(r"\|(?![shun]\$)", query)]
    match = re.fullmatch(r"`([\w.:-]+)`", stages[-1]) if stages else None
    return match.group(1) if match else None


# ---- what reaches SPL ---------------------------------------------------------------------------------------------


def unescaped_tokens(query: str) -> List[str]:
    """Token uses of a query that could change the SPL around them.

    A token's value reaches SPL only safely through the ``|s`` filter, which quotes it and escapes quotes and
    backslashes, and only outside hand-written quotes: ``"$tok|s$"`` would close the author's quote and
    ``"$tok$"`` lets a value containing ``"`` end the string and write SPL of its own.
    """
    outside = {i for i, _ in splcheck.outside_quotes(query)}
    problems = []
    for match in TOKEN_WITH_FILTERS.finditer(query):
        token, filters = match.group(1), match.group(2).split("|")[1:]
        if match.start() not in outside:
            problems.append(f"${token}{match.group(2)}$ inside hand-written quotes")
        elif "s" not in filters:
            problems.append(f"${token}{match.group(2)}$ without the |s filter")
    return problems


# Commands whose output is a table of results rather than events (Splunk's transforming commands), and the
# generating commands that only ever return results.
TRANSFORMING = frozenset({"stats", "chart", "timechart", "top", "rare", "table", "tstats", "xyseries", "contingency",
                          "addtotals", "mstats", "datamodel", "pivot"})
RESULT_GENERATING = frozenset({"inputlookup", "rest", "makeresults", "tstats", "mstats", "metadata", "dbinspect"})


def reporting_commands(root: Path = ROOT) -> Set[str]:
    """The app's own custom commands that are reporting (transforming) commands."""
    from devtools.conf import parse_conf

    out: Set[str] = set()
    conf = root / "default" / "commands.conf"
    for stanza in parse_conf(conf) if conf.is_file() else []:
        script = root / "bin" / (stanza.get("filename") or f"{stanza.name}.py")
        if script.is_file() and "ReportingCommand" in script.read_text(encoding="utf-8"):
            out.add(stanza.name)
    return out


def transforming(query: str, content: splcheck.AppContent, reporting: Set[str]) -> bool:
    """Does the search return results (a table), not raw events, once its macros are expanded?"""
    expanded = splcheck.expand(splcheck.resolve_token_filters(query), content, [])
    stages = [s.strip() for s in splcheck.split_top_level(expanded, "|")]
    commands = [splcheck.first_word(s) for s in stages if s]
    if not commands:
        return False
    if not stages[0] and commands[0] in RESULT_GENERATING:
        return True
    return any(c in TRANSFORMING or c in reporting for c in commands[1:])


def chained_bases(definition: Dict[str, Any]) -> Set[str]:
    """The data sources some ds.chain extends."""
    sources = definition.get("dataSources") or {}
    return {(s.get("options") or {}).get("extend") for s in sources.values() if s.get("type") == "ds.chain"} - {None}


def tokens_with_a_value_at_load(definition: Dict[str, Any]) -> Set[str]:
    """Tokens set before anyone clicks: input defaults (a time picker's parts) and defaults.tokens."""
    tokens: Set[str] = set()
    for item in (definition.get("inputs") or {}).values():
        options = item.get("options") or {}
        if options.get("token") and options.get("defaultValue") not in (None, ""):
            tokens.add(options["token"])
            if item.get("type") == "input.timerange":
                tokens |= {f"{options['token']}.earliest", f"{options['token']}.latest"}
    for namespace in ((definition.get("defaults") or {}).get("tokens") or {}).values():
        tokens |= set(namespace)
    return tokens


def click_tokens(definition: Dict[str, Any]) -> Set[str]:
    """Tokens a drilldown (a click) sets."""
    tokens: Set[str] = set()
    for _, handler in event_handlers(definition):
        if handler.get("type") == "drilldown.setToken":
            tokens |= {t["token"] for t in (handler.get("options") or {}).get("tokens") or [] if t.get("token")}
    return tokens


def input_tokens(definition: Dict[str, Any]) -> Set[str]:
    return {(i.get("options") or {}).get("token") for i in (definition.get("inputs") or {}).values()} - {None}


def query_tokens(query: str) -> Set[str]:
    return {m.group(1) for m in TOKEN.finditer(query)}
