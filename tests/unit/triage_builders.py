"""Shared pieces of the morning-triage tests: the fixture events, the app's macros expanded, a KV
store holding the example site data, and the intake run the way the scheduled search runs it."""

from __future__ import annotations

import calendar
import copy
import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from devtools import evalspl
from devtools.conf import parse_conf
from devtools.splcheck import AppContent, expand, split_top_level

ROOT = Path(__file__).resolve().parents[2]
CONTENT = AppContent.load(ROOT)
FIXTURES: Dict[str, Dict[str, Any]] = {
    e["name"]: e for e in json.loads((ROOT / "tests" / "fixtures" / "triage" / "events.json").read_text())["events"]}
SAVED = {s.name: s for s in parse_conf(ROOT / "default" / "savedsearches.conf")}


def utc(text: str) -> float:
    """Epoch of ``YYYY-MM-DDTHH:MM[:SS]Z``."""
    match = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?Z", text)
    assert match, text
    parts = [int(p or 0) for p in match.groups()]
    return float(calendar.timegm((parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], 0, 0, 0)))


#: The morning review: Tuesday 2026-12-01, 09:00 UTC.
NOW = utc("2026-12-01T09:00Z")


def macro(text: str) -> str:
    """A search string with every macro expanded, as splunkd runs it."""
    problems: List[str] = []
    expanded = expand(text, CONTENT, problems)
    assert problems == [], problems
    return expanded


def event(name: str) -> evalspl.Fields:
    """One fixture as Splunk holds it: the JSON written compactly as ``_raw``, and its sourcetype."""
    fixture = FIXTURES[name]
    body = fixture["event"]
    raw = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return {"_raw": raw, "sourcetype": fixture["sourcetype"]}


def site_kvstore() -> evalspl.KVStore:
    """A KV store holding the example site data (allowlist, cloud accounts, ...), as an admin loads it."""
    store = evalspl.KVStore()
    evalspl.load_examples(store, ROOT)
    return store


def normalise(names: List[str]) -> List[evalspl.Fields]:
    return evalspl.run_pipeline(macro("`cloud_finding_normalise`"), [event(n) for n in names], now=NOW)


def variant(name: str, edit: Callable[[Dict[str, Any]], None], indexed: Optional[float] = None) -> evalspl.Fields:
    """A fixture event changed by ``edit`` (given the JSON body to change in place), indexed at ``indexed``."""
    body = copy.deepcopy(FIXTURES[name]["event"])
    edit(body)
    fields: evalspl.Fields = {"_raw": json.dumps(body, separators=(",", ":")),
                              "sourcetype": FIXTURES[name]["sourcetype"]}
    if indexed is not None:
        fields["_indextime"] = str(int(indexed))
    return fields


def intake_events(events: List[evalspl.Fields], store: evalspl.KVStore, now: float = NOW,
                  sid: str = "scheduler__intake") -> List[evalspl.Fields]:
    """One run of the scheduled intake over these events: everything after its base search."""
    search = SAVED["cloud_findings_intake"].get("search") or ""
    stages = split_top_level(search, "|")
    assert "`cloud_findings`" in stages[0]
    return evalspl.run_pipeline(macro("|".join(stages[1:])), [dict(e) for e in events], now=now, kvstore=store,
                                info={"info_sid": sid})


def intake(names: List[str], store: evalspl.KVStore, now: float = NOW,
           sid: str = "scheduler__intake") -> List[evalspl.Fields]:
    """One run of the scheduled intake over these fixture events."""
    return intake_events([event(n) for n in names], store, now=now, sid=sid)


def queue(store: evalspl.KVStore, now: float = NOW) -> Dict[str, evalspl.Fields]:
    """The cloud findings in the triage queue (suppression and priority evaluated at ``now``), by finding_key."""
    rows = evalspl.run_pipeline(macro("| `cloud_findings_queue`"), [], now=now, kvstore=store)
    return {str(r["finding_key"]): r for r in rows}


def key_of(name: str) -> str:
    return str(FIXTURES[name]["expect"]["finding_key"])


def as_list(value: Optional[evalspl.Value]) -> List[str]:
    """A field's values as a list (a single value, a multivalue, or none)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [str(value)]
