"""Every alert of default/savedsearches.conf is ready for Enterprise Security and risk-based alerting.

The alerts are found, not listed: any scheduled stanza that triggers (``counttype`` or
``alert.track = 1``) is an alert, so one added later is held to the same rules. Each carries ES
correlation-search annotations (ATT&CK techniques as its description names them, an analytic
story), a risk action on the person (``identified_user_key``) and/or the caller address
(``caller_ip``) with the documented score, an optional notable action (shipped off) and a spread
schedule (its own cron minutes, ``allow_skew``). The KV store triage record stays in every search
for sites without ES (tests/unit/test_savedsearches.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest

from devtools.conf import Stanza, parse_conf
from devtools.splcheck import split_top_level

ROOT = Path(__file__).resolve().parents[2]
SAVED = parse_conf(ROOT / "default" / "savedsearches.conf")
ALERTS: List[Stanza] = [
    s for s in SAVED if (s.get("enableSched") or "0") in {"1", "true"}
    and (s.get("counttype") or (s.get("alert.track") or "0") in {"1", "true"})
]
# Risk objects: the person (one key per person, however the evidence spelled the name), the
# caller's address, and for cloud findings the resource the finding is about (an ARN, an Azure
# resource id, a cluster workload: type other); scores by alert severity (docs/alerts.md,
# "Enterprise Security").
RISK_OBJECTS = {"identified_user_key": "user", "caller_ip": "system", "resource_id": "other"}
RISK_SCORES = {"3": 16, "4": 40, "5": 64, "6": 80}
SEVERITY_LABELS = {"3": "low", "4": "medium", "5": "high", "6": "critical"}
SECURITY_DOMAINS = {"access", "endpoint", "network", "threat", "identity", "audit"}
TECHNIQUE = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
DOCS = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
ES_SECTION = DOCS.split("## Enterprise Security", 1)[-1].split("\n## ", 1)[0]


def ids(stanzas: List[Stanza]) -> List[str]:
    return [s.name for s in stanzas]


def output_fields(stanza: Stanza) -> List[str]:
    tables = [p.strip() for p in split_top_level(stanza.get("search") or "", "|") if p.strip().startswith("table ")]
    assert tables, f"[{stanza.name}] has no final table"
    return tables[-1].split()[1:]


def described_techniques(stanza: Stanza) -> Set[str]:
    description = stanza.get("description") or ""
    assert "ATT&CK:" in description, stanza.name
    return set(TECHNIQUE.findall(description.split("ATT&CK:", 1)[1].split("Drilldown:", 1)[0]))


def annotations(stanza: Stanza) -> Dict[str, Any]:
    value: Dict[str, Any] = json.loads(stanza.get("action.correlationsearch.annotations") or "null")
    return value


def test_the_alerts_are_found() -> None:
    assert len(ALERTS) >= 8
    assert "guardrail_dry_run_daily_report" not in ids(ALERTS)


@pytest.mark.parametrize("stanza", ALERTS, ids=ids(ALERTS))
def test_correlation_search_annotations(stanza: Stanza) -> None:
    assert stanza.get("action.correlationsearch.enabled") == "1"
    assert (stanza.get("action.correlationsearch.label") or "").startswith("GCP Guardrail - ")
    notes = annotations(stanza)
    assert set(notes) >= {"mitre_attack", "analytic_story"}
    assert notes["analytic_story"] and all(isinstance(s, str) and s for s in notes["analytic_story"])
    assert all(TECHNIQUE.fullmatch(t) for t in notes["mitre_attack"]), notes["mitre_attack"]
    assert set(notes["mitre_attack"]) == described_techniques(stanza)
    # the results' own mitre_attack column names the same techniques
    search = stanza.get("search") or ""
    if "mitre_attack=" in search:
        found = re.search(r'mitre_attack=(split\("([^"]*)", ","\)|"([^"]*)")', search)
        assert found, stanza.name
        listed = {t for t in (found.group(2) or found.group(3) or "").split(",") if TECHNIQUE.fullmatch(t)}
        assert listed == set(notes["mitre_attack"])


def test_labels_are_unique() -> None:
    labels = [s.get("action.correlationsearch.label") for s in ALERTS]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize("stanza", ALERTS, ids=ids(ALERTS))
def test_risk_action_on_the_person_and_the_caller_address(stanza: Stanza) -> None:
    assert stanza.get("action.risk") == "1"
    risks = json.loads(stanza.get("action.risk.param._risk") or "[]")
    assert risks, "at least one risk object"
    outputs = output_fields(stanza)
    severity = stanza.get("alert.severity") or ""
    for risk in risks:
        field = risk["risk_object_field"]
        assert RISK_OBJECTS.get(field) == risk["risk_object_type"], risk
        assert field in outputs, f"risk object {field} is not a column of the results"
        assert risk["risk_score"] == RISK_SCORES[severity], risk
    # every risk object the results carry is used
    assert {f for f in RISK_OBJECTS if f in outputs} == {r["risk_object_field"] for r in risks}
    assert stanza.get("action.risk.param._risk_message") == "$finding$" and "finding" in outputs
    assert stanza.get("action.risk.param.verbose") == "0"


@pytest.mark.parametrize("stanza", ALERTS, ids=ids(ALERTS))
def test_optional_notable_action_shipped_off(stanza: Stanza) -> None:
    assert stanza.get("action.notable") == "0"
    assert stanza.get("action.notable.param.security_domain") in SECURITY_DOMAINS
    assert stanza.get("action.notable.param.severity") == SEVERITY_LABELS[stanza.get("alert.severity") or ""]
    assert "$finding$" in (stanza.get("action.notable.param.rule_title") or "")
    assert stanza.get("action.notable.param.rule_description")
    outputs = output_fields(stanza)
    for token in re.findall(r"\$(\w+)\$", " ".join(v for k, v in stanza.as_dict().items() if k.startswith("action."))):
        assert token in outputs, f"${token}$ names no column of the results"
    nes = [f.strip() for f in (stanza.get("action.notable.param.nes_fields") or "").split(",")]
    assert nes == [f.strip() for f in (stanza.get("alert.suppress.fields") or "").split(",")]


@pytest.mark.parametrize("stanza", ALERTS, ids=ids(ALERTS))
def test_triage_stays_for_sites_without_es(stanza: Stanza) -> None:
    """Policy Denied alerts record their rows as triage entries; the cloud findings alert reads
    rows that already are triage entries (the queue), new ones only."""
    search = stanza.get("search") or ""
    if search.startswith("| `cloud_findings_queue`"):
        assert 'status=="new"' in search
    else:
        assert "`guardrail_triage_record(" in search


def minutes(cron: str) -> Set[int]:
    """Minutes of the hour a cron's minute field fires on (n, a-b/n, */n, lists)."""
    out: Set[int] = set()
    for part in cron.split()[0].split(","):
        found = re.fullmatch(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?", part)
        assert found, f"cron minute {part!r} not understood"
        first = 0 if found.group(1) == "*" else int(found.group(1))
        open_ended = found.group(1) == "*" or (found.group(3) and not found.group(2))
        last = 59 if open_ended else int(found.group(2) or first)
        out |= set(range(first, last + 1, int(found.group(3) or 1)))
    return out


def test_minutes_parser() -> None:
    assert minutes("*/20 * * * *") == {0, 20, 40}
    assert minutes("17-59/20 * * * *") == {17, 37, 57}
    assert minutes("7 * * * *") == {7} and minutes("0,30 * * * *") == {0, 30}


def test_alerts_start_on_minutes_of_their_own() -> None:
    """Spread cron minutes (savedsearches.conf.spec: stagger schedules "to reduce system load"):
    no two alerts start on the same minute of the hour, so the ones that run every five minutes
    never queue behind each other."""
    taken: Dict[int, str] = {}
    for stanza in ALERTS:
        for minute in minutes(stanza.get("cron_schedule") or ""):
            assert minute not in taken, f"{stanza.name} and {taken[minute]} both start at :{minute:02d}"
            taken[minute] = stanza.name


def test_the_queue_intake_runs_off_the_summary_and_before_the_alert_that_reads_it() -> None:
    """The two scheduled searches that are not alerts and run every few minutes start apart; the
    findings intake fills the triage queue the minute before the alert reads it."""
    by_name = {s.name: s for s in SAVED}
    summary = minutes(by_name["guardrail_correlation_summary"].get("cron_schedule") or "")
    intake = minutes(by_name["cloud_findings_intake"].get("cron_schedule") or "")
    alert = minutes(by_name["cloud_findings_new_critical_high"].get("cron_schedule") or "")
    assert not summary & intake
    assert {(m + 1) % 60 for m in intake} == alert


@pytest.mark.parametrize("stanza", ALERTS, ids=ids(ALERTS))
def test_allow_skew(stanza: Stanza) -> None:
    skew = stanza.get("allow_skew") or ""
    found = re.fullmatch(r"(\d+)(m|min|minutes?|mins|%)", skew)
    assert found and int(found.group(1)) > 0, f"allow_skew {skew!r}"
    # with fixed cron minutes the scheduler skews only the second: at most a minute either way
    assert found.group(2) != "%" and int(found.group(1)) <= 1


@pytest.mark.parametrize("stanza", ALERTS, ids=ids(ALERTS))
def test_alert_documented_in_the_es_table(stanza: Stanza) -> None:
    row = next((line for line in ES_SECTION.splitlines() if line.startswith(f"| `{stanza.name}` |")), None)
    assert row, f"{stanza.name} missing from the ES table of docs/alerts.md"
    risks = json.loads(stanza.get("action.risk.param._risk") or "[]")
    for risk in risks:
        assert f"`{risk['risk_object_field']}`" in row and str(risk["risk_score"]) in row, row
