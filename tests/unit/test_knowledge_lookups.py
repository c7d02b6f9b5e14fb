"""Content rules of the gcp audit lookups (what the macros and docs/lookups.md rely on): the shipped
reference lookup, and the example site data (lookups/<name>.example.csv) an admin starts from."""

from __future__ import annotations

import ipaddress
import re
from datetime import date

from devtools.evalspl import Lookup
from tests.unit.knowledge_builders import site_kvstore

SITE = site_kvstore()

CATEGORIES = {"data_residency", "service_usage", "encryption", "network", "compute", "identity", "storage",
              "database", "serverless", "ai_ml", "logging", "visibility", "custom"}


def test_constraints_are_real_names_with_meaning() -> None:
    rows = Lookup.load("gcp_org_policy_constraints").rows
    specific = [r for r in rows if "*" not in r["constraint"]]
    assert len(specific) >= 40
    names = [r["constraint"] for r in rows]
    assert len(names) == len(set(names))
    for row in specific:
        assert re.fullmatch(r"[a-z]+\.[a-z][A-Za-z0-9]+", row["constraint"]), row["constraint"]
        assert row["constraint_type"] in {"boolean", "list"}
    for row in rows:
        assert row["severity"] in {"low", "medium", "high"}
        assert row["category"] in CATEGORIES, row
        assert len(row["description"]) > 30
    # wildcard family rows come after every specific row (max_matches = 1, file order wins)
    first_family = next(i for i, r in enumerate(rows) if "*" in r["constraint"])
    assert all("*" in r["constraint"] for r in rows[first_family:])
    for required in ("gcp.resourceLocations", "gcp.restrictServiceUsage", "compute.vmExternalIpAccess",
                     "compute.requireShieldedVm", "iam.disableServiceAccountKeyCreation"):
        assert required in names
    assert sum(1 for n in names if n.startswith("ainotebooks.")) >= 5


def test_project_services_rows_are_complete_and_tell_the_motivating_case() -> None:
    rows = Lookup.load("gcp_project_services", kvstore=SITE).rows
    assert rows
    for row in rows:
        assert all(row.values()), row
        date.fromisoformat(row["expires"])
        assert row["service"] == "*" or row["service"].endswith(".googleapis.com")
    sandbox = {r["service"] for r in rows if r["project"] == "ml-sandbox-4821"}
    assert {"bigquery.googleapis.com", "storage.googleapis.com", "aiplatform.googleapis.com"} <= sandbox
    assert not sandbox & {"notebooks.googleapis.com", "compute.googleapis.com", "*"}


def test_allowlist_rows_are_complete_and_well_formed() -> None:
    lookup = Lookup.load("guardrail_allowlist", kvstore=SITE)
    assert lookup.match_types == {"caller_cidr": "CIDR", "source": "WILDCARD", "principal": "WILDCARD",
                                  "project": "WILDCARD", "service": "WILDCARD", "method": "WILDCARD",
                                  "account": "WILDCARD", "rule": "WILDCARD", "resource": "WILDCARD"}
    ids = [r["rule_id"] for r in lookup.rows]
    assert len(ids) == len(set(ids))
    for row in lookup.rows:
        assert all(row.values()), row  # the macro pairs output columns row by row
        ipaddress.ip_network(row["caller_cidr"], strict=True)
        for key in ("window_start", "window_end"):
            assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(row[key])), row[key]
        assert row["days"] == "*" or re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun)(,(mon|tue|wed|thu|fri|sat|sun))*",
                                                  str(row["days"])), row["days"]
        assert row["kind"] in {"business_operation", "false_positive"}
        assert row["source"] in {"*", "gcp_guardrail", "securityhub", "guardduty", "sysdig", "defender"}
        date.fromisoformat(str(row["expires"]))
        # a KV store lookup compares case-insensitively only when the stored patterns are lower case
        for key in ("source", "principal", "project", "service", "method", "account", "rule", "resource", "days"):
            assert row[key] == str(row[key]).lower(), (row["rule_id"], key)
    # the examples keep one expired row, so the "expired rows never match" rule is exercised
    assert any(date.fromisoformat(str(r["expires"])) < date(2026, 11, 27) for r in lookup.rows)
    # and both kinds, for the Google Cloud alerts and for cloud findings
    assert {r["kind"] for r in lookup.rows} == {"business_operation", "false_positive"}
    assert {"gcp_guardrail", "guardduty", "sysdig", "defender"} <= {str(r["source"]) for r in lookup.rows}


def test_egress_networks_are_cidrs_of_known_kinds() -> None:
    lookup = Lookup.load("egress_networks", kvstore=SITE)
    assert lookup.rows
    assert lookup.match_types == {"cidr": "CIDR"}
    networks = []
    for row in lookup.rows:
        networks.append(ipaddress.ip_network(row["cidr"], strict=True))
        assert row["kind"] in {"office_nat", "proxy", "vpn_concentrator"}
        assert row["site"]
    for i, earlier in enumerate(networks):
        for later in networks[i + 1:]:
            if earlier.version == later.version:
                # a KV store returns rows in insertion order: max_matches = 1 needs ranges that do not overlap
                assert not earlier.overlaps(later), (earlier, later)  # type: ignore[arg-type]
