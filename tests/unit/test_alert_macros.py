"""The alerts' building-block macros do what the alerts rely on, evaluated over real field values.

Uses the knowledge layer's evaluator (devtools/evalspl.py): the normalised fields come from the
app's own props.conf applied to the knowledge fixtures, macros are expanded from macros.conf, and
the allowlist runs against a lookup written here, so expiry and time windows are under test control.
"""

from __future__ import annotations

import calendar
import json
import re
from pathlib import Path
from typing import Dict, List

import pytest

from devtools import evalspl
from devtools.splcheck import AppContent, expand
from tests.unit.knowledge_builders import site_kvstore

ROOT = Path(__file__).resolve().parents[2]
CONTENT = AppContent.load(ROOT)
EVENTS = {e["name"]: e for e in json.loads((ROOT / "tests" / "fixtures" / "knowledge" / "events.json").read_text())}


def macro(call: str) -> str:
    problems: List[str] = []
    text = expand(f"`{call}`", CONTENT, problems)
    assert problems == []
    return text


def fields_of(name: str) -> evalspl.Fields:
    event = EVENTS[name]
    fields = evalspl.apply_props(event["sourcetype"], event["raw"])
    fields["_raw"] = event["raw"]
    fields["sourcetype"] = event["sourcetype"]
    return evalspl.with_eventtypes(fields)


@pytest.mark.parametrize(
    ("method", "sensitive"),
    [
        ("SetIamPolicy", True),
        ("google.iam.admin.v1.CreateServiceAccountKey", True),
        ("google.iam.admin.v1.UploadServiceAccountKey", True),
        ("GenerateAccessToken", True),
        ("google.cloud.orgpolicy.v2.OrgPolicy.UpdatePolicy", True),
        ("SetOrgPolicy", True),
        ("google.iam.admin.v1.CreateRole", True),
        ("google.identity.accesscontextmanager.v1.AccessContextManager.UpdateServicePerimeter", True),
        ("storage.objects.get", False),
        ("v1.compute.instances.insert", False),
        ("google.cloud.notebooks.v2.NotebookService.CreateInstance", False),
        ("GetIamPolicy", False),
    ],
)
def test_sensitive_methods(method: str, sensitive: bool) -> None:
    assert evalspl.search_matches(macro("guardrail_sensitive_methods"), {"gcp_method": method}) is sensitive


def test_sensitive_methods_on_a_real_event() -> None:
    assert evalspl.search_matches(macro("guardrail_sensitive_methods"), fields_of("set_iam_policy_success_wrapped"))
    assert not evalspl.search_matches(macro("guardrail_sensitive_methods"), fields_of("iam_denied_data_access_wrapped"))


def test_vpcsc_direction() -> None:
    ingress, egress = macro("guardrail_vpcsc_ingress"), macro("guardrail_vpcsc_egress")
    no_access_level = fields_of("vpcsc_enforced_masked_wrapped")
    assert evalspl.search_matches(ingress, no_access_level) and not evalspl.search_matches(egress, no_access_level)
    cross_perimeter = fields_of("vpcsc_dry_run_bare")
    assert evalspl.search_matches(egress, cross_perimeter) and not evalspl.search_matches(ingress, cross_perimeter)
    org_policy = fields_of("org_policy_restrict_service_usage_wrapped")
    assert not evalspl.search_matches(ingress, org_policy) and not evalspl.search_matches(egress, org_policy)


@pytest.mark.parametrize(
    ("fields", "agent"),
    [
        ({"gcp_principal": "service-904112356789@gcp-sa-notebooks.iam.gserviceaccount.com"}, True),
        ({"gcp_principal": "904112356789@cloudservices.gserviceaccount.com"}, True),
        ({"gcp_principal": "service-org-123456789012@gcp-sa-cloudasset.iam.gserviceaccount.com"}, True),
        ({"gcp_principal": "service-folder-123456789012@gcp-sa-cloudasset.iam.gserviceaccount.com"}, True),
        ({"caller_ip": "private"}, True),
        ({"caller_network_kind": "private", "gcp_principal": "a...@example-corp.com"}, True),
        ({"gcp_principal": "service-1@gcp-sa-x.iam.gserviceaccount.com.evil.example"}, False),
        ({"gcp_principal": "terraform-ci@platform-shared-ops.iam.gserviceaccount.com"}, False),
        ({"gcp_principal": "avery.lin@example-corp.com", "caller_network_kind": "public"}, False),
        ({}, False),
    ],
)
def test_service_agent_condition(fields: Dict[str, str], agent: bool) -> None:
    assert evalspl.evaluate(macro("guardrail_is_service_agent"), dict(fields)) is agent


def test_service_agent_condition_on_a_real_event() -> None:
    assert evalspl.evaluate(macro("guardrail_is_service_agent"), fields_of("service_agent_private_bare")) is True
    assert evalspl.evaluate(macro("guardrail_is_service_agent"),
                            fields_of("org_policy_external_ip_admin_activity_bare")) is False


def test_ingress_keeps_only_callers_outside_the_egress_networks() -> None:
    rows = [{"caller_ip": "203.0.113.5"}, {"caller_ip": "198.51.100.77"}, {"caller_ip": "192.0.2.20"}]
    kept = evalspl.run_pipeline(macro("egress_network(caller_ip)") + " | where isnull(caller_ip_egress_kind)", rows,
                                kvstore=site_kvstore())
    # 203.0.113.0/28 is the Lisbon office NAT and 192.0.2.16/28 the VPN concentrators in the example site data.
    assert [r["caller_ip"] for r in kept] == ["198.51.100.77"]


NOW = calendar.timegm((2026, 11, 28, 12, 0, 0))
ALLOWLIST_COLUMNS = ("rule_id,kind,source,principal,caller_cidr,project,service,method,account,rule,resource,days,"
                     "window_start,window_end,expires,ticket,owner,reason").split(",")
ALLOWLIST = [
    "T-ACTIVE,business_operation,gcp_guardrail,deploy@ops.iam.gserviceaccount.com,0.0.0.0/0,*,*,*,*,*,*,*,00:00,00:00,2027-06-30,CHG-1,sec@example,pipeline",
    "T-EXPIRED,business_operation,*,*,0.0.0.0/0,ml-sandbox-4821,notebooks.googleapis.com,*,*,*,*,*,00:00,00:00,2026-10-31,CHG-2,dana@example,pilot",
    "T-NIGHT,business_operation,gcp_guardrail,*@example-corp.com,203.0.113.0/28,data-prod,compute.googleapis.com,v1.compute.instances.*,*,*,*,*,22:00,04:00,2027-01-31,CHG-3,mei@example,maintenance",
]


@pytest.fixture(scope="module")
def allowlist_store() -> evalspl.KVStore:
    store = evalspl.KVStore()
    store.upsert("guardrail_allowlist", [dict(zip(ALLOWLIST_COLUMNS, row.split(","))) for row in ALLOWLIST])
    return store


def denial(hour: int, **fields: str) -> evalspl.Fields:
    row: evalspl.Fields = {"_time": float(calendar.timegm((2026, 11, 28, hour, 30, 0)))}
    row.update(fields)
    return row


def test_alerts_drop_active_allowlist_rows_but_not_expired_ones(allowlist_store: evalspl.KVStore) -> None:
    rows = [
        denial(9, gcp_principal="deploy@ops.iam.gserviceaccount.com", caller_ip="34.1.2.3",
               gcp_project="p1", gcp_service="iam.googleapis.com", gcp_method="SetIamPolicy"),
        denial(9, gcp_principal="x@example-corp.com", caller_ip="198.51.100.7", gcp_project="ml-sandbox-4821",
               gcp_service="notebooks.googleapis.com", gcp_method="CreateInstance"),
        denial(23, gcp_principal="mei@example-corp.com", caller_ip="203.0.113.4", gcp_project="data-prod",
               gcp_service="compute.googleapis.com", gcp_method="v1.compute.instances.insert"),
        denial(11, gcp_principal="mei@example-corp.com", caller_ip="203.0.113.4", gcp_project="data-prod",
               gcp_service="compute.googleapis.com", gcp_method="v1.compute.instances.insert"),
    ]
    kept = evalspl.run_pipeline(macro("guardrail_not_allowlisted"), rows, kvstore=allowlist_store, now=NOW)
    # active rule: dropped; expired rule: alerts again; maintenance window: dropped at 23:30, kept at 11:30
    assert [(r["gcp_project"], r["_time"]) for r in kept] == [
        ("ml-sandbox-4821", rows[1]["_time"]), ("data-prod", rows[3]["_time"])]


def test_macro_args_are_bare_names() -> None:
    # macros.conf.spec: "args = <string>,<string>,..." - "Argument names can only contain alphanumeric
    # characters, underscores ( _ ), and hyphens ( - )", so no blanks around the commas.
    from devtools.conf import parse_conf

    for stanza in parse_conf(ROOT / "default" / "macros.conf"):
        args = stanza.get("args")
        if args is not None:
            assert re.fullmatch(r"[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*", args), f"[{stanza.name}] args = {args!r}"
