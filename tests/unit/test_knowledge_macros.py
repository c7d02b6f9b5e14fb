"""The gcp audit macros and eventtypes, run over the sample events.

Base-search macros are expanded as splunkd would and matched against the events' search-time
fields (devtools/evalspl.py models the ``search`` clause subset); pipeline macros run through the
modelled ``eval | lookup | where | fields`` commands against the shipped lookups.
"""

from __future__ import annotations

import calendar
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from devtools.conf import ROOT, parse_conf
from devtools.evalspl import Fields, apply_props, run_pipeline, search_matches, with_eventtypes
from devtools.splcheck import AppContent, expand
from tests.unit.knowledge_builders import large_request, reshape, site_kvstore, with_request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "knowledge"
CASES: List[Dict[str, Any]] = json.loads((FIXTURES / "events.json").read_text(encoding="utf-8"))
NOW = float(calendar.timegm((2026, 11, 27, 12, 0, 0, 0, 0, 0)))
CONTENT = AppContent.load()
SITE = site_kvstore()  # the example site data, loaded into the KV store as an admin would


def expanded(call: str) -> str:
    problems: List[str] = []
    text = expand(call, CONTENT, problems)
    assert not problems, problems
    return text


def event(case: Dict[str, Any], index: str = "gcp") -> Fields:
    fields = apply_props(case["sourcetype"], case["raw"], now=NOW, kvstore=SITE)
    fields["index"] = index
    fields["_time"] = case["expected_time"]
    return with_eventtypes(fields)


EVENTS = {case["name"]: event(case) for case in CASES}
DENIED = {"vpcsc_enforced_masked_wrapped", "org_policy_restrict_service_usage_wrapped",
          "org_policy_external_ip_admin_activity_bare"}


def selected(call: str, events: Dict[str, Fields] = EVENTS) -> set:
    search = expanded(call)
    return {name for name, fields in events.items() if search_matches(search, fields)}


def test_gcp_audit_selects_every_audit_entry_and_nothing_else() -> None:
    assert selected("`gcp_audit`") == set(EVENTS) - {"non_audit_message_wrapped"}


def test_gcp_policy_denied_follows_the_contract() -> None:
    assert selected("`gcp_policy_denied`") == DENIED


def test_long_denied_entries_stay_policy_denied_in_both_shapes() -> None:
    """An entry whose large protoPayload.request pushes serviceName, status and the rest past the
    [spath] extraction_cutoff is still selected by the macro and the eventtype, in both shapes."""
    long_events: Dict[str, Fields] = {}
    for case in CASES:
        for shape, raw in (("as_is", case["raw"]), ("reshaped", reshape(case["raw"]))):
            if "protoPayload" in raw:
                long_raw = with_request(raw, large_request(disks=100))
                assert len(long_raw.encode("utf-8")) > 5000
                long_events[f"{case['name']}/{shape}"] = event(dict(case, raw=long_raw))
    assert selected("`gcp_policy_denied`", long_events) == {f"{n}/{s}" for n in DENIED for s in ("as_is", "reshaped")}
    assert selected("`gcp_policy_denied_dry_run`", long_events) == {"vpcsc_dry_run_bare/as_is",
                                                                     "vpcsc_dry_run_bare/reshaped"}
    for name, fields in long_events.items():
        short = EVENTS[name.split("/")[0]]
        assert set(fields.get("eventtype") or []) == set(short.get("eventtype") or []), name
        assert set(fields.get("tag") or []) == set(short.get("tag") or []), name


def test_dry_run_is_separate() -> None:
    assert selected("`gcp_policy_denied_dry_run`") == {"vpcsc_dry_run_bare"}


def test_repointing_the_index_macro_moves_the_base_search() -> None:
    elsewhere = {name: dict(fields, index="main") for name, fields in EVENTS.items()}
    assert selected("`gcp_policy_denied`", elsewhere) == set()


def test_eventtypes_and_cim_tags() -> None:
    vpcsc = EVENTS["vpcsc_enforced_masked_wrapped"]
    assert set(vpcsc["eventtype"]) == {"gcp_audit", "gcp_policy_denied", "gcp_vpcsc_violation"}
    assert {"cloud", "policy_denied", "vpcsc"} <= set(vpcsc["tag"])
    dry = EVENTS["vpcsc_dry_run_bare"]
    assert "gcp_policy_denied" not in dry["eventtype"] and "gcp_policy_denied_dry_run" in dry["eventtype"]
    org = EVENTS["org_policy_external_ip_admin_activity_bare"]
    assert "gcp_org_policy_violation" in org["eventtype"]
    assert "eventtype" not in EVENTS["non_audit_message_wrapped"]
    # On the add-on's sourcetypes the add-on tags its own events: the app adds no CIM tag there.
    for case in CASES:
        if case["sourcetype"] != "google:gcp:pubsub:message":
            assert "change" not in EVENTS[case["name"]]["tag"], case["name"]
    # Where the app maps CIM (google:gcp:pubsub:message: Dataflow -> HEC), only changes are tagged
    # change (docs/knowledge.md, "Eventtypes and tags"), and nothing is ever tagged authentication.
    for case in CASES:
        fields = event(dict(case, sourcetype="google:gcp:pubsub:message"))
        tags = set(fields.get("tag") or [])
        assert ("change" in tags) == (case["expected_cim"].get("gcp_cim_change") == "true"), case["name"]
        assert ("gcp_change" in (fields.get("eventtype") or [])) == ("change" in tags)
        assert not tags & {"authentication", "audit", "account", "endpoint", "network", "instance"}, case["name"]


def test_identity_evidence_takes_gcp_activity_and_tagged_evidence() -> None:
    events = dict(EVENTS)
    events["vpn"] = {"index": "netfw", "_raw": "vpn", "tag": ["network", "session", "vpn"], "src_ip": "198.51.100.77",
                     "user": "avery.lin"}
    events["dhcp"] = {"index": "netfw", "_raw": "dhcp", "tag": ["network", "session", "dhcp"], "dest_ip": "10.1.2.3",
                      "dest_nt_host": "LAPTOP-7"}
    events["nat_without_translation"] = {"index": "netfw", "_raw": "x", "tag": ["network", "communicate"],
                                         "src_ip": "10.1.2.3"}
    events["nat"] = {"index": "netfw", "_raw": "x", "tag": ["network", "communicate"], "src_ip": "10.1.2.3",
                     "src_translated_ip": "203.0.113.5"}
    events["okta"] = {"index": "idp", "_raw": "x", "tag": ["authentication"], "sourcetype": "OktaIM2:log",
                      "user": "avery.lin@example-corp.com", "src": "198.51.100.77", "action": "success"}
    events["logon"] = {"index": "wineventlog", "_raw": "x", "tag": ["authentication"], "sourcetype": "XmlWinEventLog",
                       "user": "CORP\\avery.lin", "dest": "LAPTOP-7", "action": "success", "Logon_Type": "2"}
    events["falcon"] = {"index": "edr", "_raw": "x", "event_simpleName": "NetworkConnectIP4", "aip": "198.51.100.77"}
    events["proxy"] = {"index": "proxy", "_raw": "x", "tag": ["web", "proxy"], "dest": "compute.googleapis.com"}
    # what the command would throw away stays on the indexers
    events["proxy_elsewhere"] = {"index": "proxy", "_raw": "x", "tag": ["web", "proxy"], "dest": "www.example.org"}
    events["network_logon"] = {**events["logon"], "Logon_Type": "3", "src": "10.9.8.7"}
    events["failed_okta"] = {**events["okta"], "action": "failure"}
    events["process"] = {"index": "edr", "_raw": "x", "tag": ["process", "report"], "process": "cmd.exe"}
    chosen = selected("`identity_evidence`", events)
    assert {"vpn", "dhcp", "nat", "okta", "logon", "falcon", "proxy"} <= chosen
    assert not {"nat_without_translation", "proxy_elsewhere", "network_logon", "failed_okta", "process"} & chosen
    assert "set_iam_policy_success_wrapped" in chosen and "iam_denied_data_access_wrapped" in chosen
    assert "system_event_wrapped" not in chosen and "non_audit_message_wrapped" not in chosen
    assert selected("`evidence_idp`", events) == {"okta"}
    assert selected("`evidence_logon`", events) == {"logon"}


def test_every_macro_has_a_description_and_filters_are_empty() -> None:
    block = [s for s in parse_conf(ROOT / "default" / "macros.conf") if s.name != "default"]
    ours = [s for s in block if s.name in OUR_MACROS]
    assert len(ours) == len(OUR_MACROS)
    for stanza in ours:
        assert (stanza.get("description") or "").strip(), stanza.name
        if stanza.name.endswith("_filter"):
            assert stanza.get("definition") == "search *"
        if "(" in stanza.name:
            assert stanza.get("args"), stanza.name


OUR_MACROS = {
    "gcp_audit_index", "gcp_audit_sourcetypes", "gcp_audit", "gcp_audit_activity", "gcp_policy_denied",
    "gcp_policy_denied_dry_run", "gcp_audit_filter", "gcp_policy_denied_filter", "identity_evidence_filter",
    "evidence_index", "evidence_vpn_index", "evidence_dhcp_index", "evidence_proxy_index", "evidence_nat_index",
    "evidence_logon_index", "evidence_idp_index", "evidence_edr_index", "evidence_vpn", "evidence_dhcp",
    "evidence_proxy", "evidence_nat", "evidence_idp_sourcetypes", "evidence_logon", "evidence_idp", "evidence_edr",
    "identity_evidence", "clock_tolerance_secs", "network_tolerance_secs", "idp_lookback_secs", "near_time(2)",
    "egress_network(1)", "gcp_constraint_info", "gcp_project_service_declared", "guardrail_allowlist_match",
    "guardrail_allowlisted", "guardrail_not_allowlisted",
}


# ---- the guardrail_allowlist examples through the guardrail_allowlist_match macro --------------

def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)))


def allow(now: float = NOW, **fields: Any) -> Dict[str, Any]:
    base: Dict[str, Any] = {"_time": NOW}
    base.update(fields)
    rows = run_pipeline(expanded("`guardrail_allowlist_match`"), [base], now=now, kvstore=SITE)
    assert not [k for k in rows[0] if k.startswith("_gr_")], "temporary fields must be removed"
    return rows[0]


def test_allowlist_any_caller_row_matches_ci_service_account() -> None:
    row = allow(gcp_principal="Terraform-CI@platform-shared-ops.iam.gserviceaccount.com", caller_ip="34.90.11.20",
                gcp_project="ml-sandbox-4821", gcp_service="orgpolicy.googleapis.com", gcp_method="x.Update")
    assert row["guardrail_allowlisted"] == "true" and row["guardrail_allow_rule"] == "AL-001"
    # 0.0.0.0/0 also stands for callers without an address (private / gce-internal-ip)
    row = allow(gcp_principal="terraform-ci@platform-shared-ops.iam.gserviceaccount.com",
                gcp_project="p", gcp_service="s", gcp_method="m")
    assert row["guardrail_allowlisted"] == "true"


@pytest.mark.parametrize("hour,minute,ip,expected", [
    (23, 30, "203.0.113.5", "true"),    # inside 22:00-04:00 (wraps midnight)
    (3, 59, "203.0.113.14", "true"),
    (4, 0, "203.0.113.5", "false"),     # the window's end is exclusive
    (12, 0, "203.0.113.5", "false"),
    (23, 30, "203.0.113.16", "false"),  # outside 203.0.113.0/28
    (23, 30, "198.51.100.77", "false"),
])
def test_allowlist_maintenance_window_and_cidr(hour: int, minute: int, ip: str, expected: str) -> None:
    row = allow(now=utc(2026, 11, 28, 12), _time=utc(2026, 11, 27, hour, minute),
                gcp_principal="mei.tanaka@example-corp.com", caller_ip=ip, gcp_project="data-platform-prod",
                gcp_service="compute.googleapis.com", gcp_method="v1.compute.instances.insert")
    assert row["guardrail_allowlisted"] == expected


def test_allowlist_expired_rows_never_match() -> None:
    fields = dict(gcp_principal="avery.lin@example-corp.com", caller_ip="198.51.100.77",
                  gcp_project="ml-sandbox-4821", gcp_service="notebooks.googleapis.com",
                  gcp_method="google.cloud.notebooks.v2.NotebookService.CreateInstance")
    assert allow(**fields)["guardrail_allowlisted"] == "false"
    # not even for an event from before the expiry, once the row has expired
    assert allow(_time=utc(2026, 10, 15, 9), **fields)["guardrail_allowlisted"] == "false"
    # while the row was valid it did match (the row itself is fine)
    assert allow(now=utc(2026, 10, 20), _time=utc(2026, 10, 15, 9), **fields)["guardrail_allowlisted"] == "true"
    # expires is the last valid day (UTC)
    last_evening = utc(2026, 10, 31, 23, 0)
    assert allow(now=utc(2026, 10, 31, 23, 59), _time=last_evening, **fields)["guardrail_allowlisted"] == "true"
    assert allow(now=utc(2026, 11, 1, 0, 0), _time=last_evening, **fields)["guardrail_allowlisted"] == "false"


def test_allowlist_scanner_row_needs_internal_range_and_read_method() -> None:
    base = dict(gcp_principal="scanner@sec-tools-7731.iam.gserviceaccount.com", gcp_project="data-platform-prod",
                gcp_service="storage.googleapis.com")
    row = allow(caller_ip="10.20.5.5", gcp_method="storage.buckets.getIamPolicy", **base)
    assert row["guardrail_allowlisted"] == "true"
    assert allow(caller_ip="10.20.5.5", gcp_method="storage.buckets.delete", **base)["guardrail_allowlisted"] == "false"
    assert allow(caller_ip="10.30.0.1", gcp_method="storage.buckets.get", **base)["guardrail_allowlisted"] == "false"
    assert allow(gcp_method="storage.buckets.get", **base)["guardrail_allowlisted"] == "false"  # no caller address


def test_allowlisted_and_not_allowlisted_split_events() -> None:
    events = [dict(_time=NOW, gcp_principal="terraform-ci@platform-shared-ops.iam.gserviceaccount.com",
                   caller_ip="34.90.11.20", gcp_project="a", gcp_service="b", gcp_method="c"),
              dict(_time=NOW, gcp_principal="avery.lin@example-corp.com", caller_ip="198.51.100.77",
                   gcp_project="ml-sandbox-4821", gcp_service="notebooks.googleapis.com", gcp_method="m")]
    kept = run_pipeline(expanded("`guardrail_not_allowlisted`"), events, now=NOW, kvstore=SITE)
    assert [r["gcp_principal"] for r in kept] == ["avery.lin@example-corp.com"]
    kept = run_pipeline(expanded("`guardrail_allowlisted`"), events, now=NOW, kvstore=SITE)
    assert [r["gcp_principal"] for r in kept] == ["terraform-ci@platform-shared-ops.iam.gserviceaccount.com"]


# ---- the gcp_project_services examples through gcp_project_service_declared ----------------------

def declared(project: str, service: str, when: float = NOW) -> Dict[str, Any]:
    rows = run_pipeline(expanded("`gcp_project_service_declared`"),
                        [{"_time": when, "gcp_project": project, "gcp_service": service}], now=NOW, kvstore=SITE)
    assert not [k for k in rows[0] if k.startswith("_ps_")]
    return rows[0]


def test_motivating_case_is_an_application_gap() -> None:
    row = declared("ml-sandbox-4821", "notebooks.googleapis.com")
    assert row["project_service_declared"] == "false" and row["gcp_application_gap"] == "true"
    assert declared("ml-sandbox-4821", "compute.googleapis.com")["gcp_application_gap"] == "true"
    row = declared("ml-sandbox-4821", "aiplatform.googleapis.com")
    assert row["project_service_declared"] == "true" and row["gcp_application_gap"] == "false"
    assert row["project_service_ticket"] == "CLOUD-2291"
    assert row["project_service_approved_by"] == "dana.okafor@example-corp.com"


def test_expired_declaration_and_project_wide_rows() -> None:
    assert declared("analytics-poc-0917", "bigquery.googleapis.com")["project_service_declared"] == "false"
    assert declared("analytics-poc-0917", "bigquery.googleapis.com",
                    when=utc(2026, 9, 1))["project_service_declared"] == "true"
    assert declared("platform-shared-ops", "anything.googleapis.com")["project_service_declared"] == "true"
    assert declared("ML-SANDBOX-4821", "BigQuery.googleapis.com")["project_service_declared"] == "true"


def test_constraint_info_and_egress_network_steps() -> None:
    row = run_pipeline(expanded("`gcp_constraint_info`"), [{"org_constraint": "ainotebooks.restrictPublicIp"}])[0]
    assert row["org_constraint_category"] == "ai_ml" and row["org_constraint_severity"] == "high"
    row = run_pipeline(expanded("`gcp_constraint_info`"), [{"org_constraint": "ainotebooks.someFutureConstraint"}])[0]
    assert "Vertex AI Workbench" in row["org_constraint_description"]  # family row, after the specific ones
    row = run_pipeline(expanded("`egress_network(src_translated_ip)`"), [{"src_translated_ip": "192.0.2.20"}],
                       kvstore=SITE)[0]
    assert row["src_translated_ip_egress_kind"] == "vpn_concentrator"
    assert row["src_translated_ip_egress_site"] == "datacenter-1"


def test_near_time_expression_macro() -> None:
    from devtools.evalspl import evaluate

    expression = expanded("`near_time(lease_start, 60)`")
    assert evaluate(expression, {"_time": 1000, "lease_start": 1059}) is True
    assert evaluate(expression, {"_time": 1000, "lease_start": 1061}) is False
