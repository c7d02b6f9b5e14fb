"""False positives and business operations go through the same allowlist as the Google Cloud
alerts (guardrail_allowlist, KV store): a row suppresses a cloud finding only for its source, rule,
account and resource pattern, only inside its recurring window and only until it expires, and a
suppressed finding stays in the queue, marked with the rule that suppressed it."""

from __future__ import annotations

from typing import Dict, List, Optional

import pytest

from devtools import evalspl
from tests.unit.triage_builders import NOW, intake, key_of, macro, queue, site_kvstore, utc

COLUMNS = ("rule_id,kind,source,principal,caller_cidr,project,service,method,account,rule,resource,days,"
           "window_start,window_end,expires,ticket,owner,reason").split(",")


def rule(**cells: str) -> Dict[str, str]:
    """An allowlist row for cloud findings: any unnamed pattern is "*", all day, every day."""
    row = dict(zip(COLUMNS, ["T-1", "business_operation", "*", "*", "0.0.0.0/0", "*", "*", "*", "*", "*", "*", "*",
                             "00:00", "00:00", "2027-06-30", "CHG-9", "ops@example", "test"]))
    row.update(cells)
    return row


def suppressed(row: evalspl.Fields, rules: List[Dict[str, str]], now: float = NOW) -> Optional[List[str]]:
    store = evalspl.KVStore()
    store.upsert("guardrail_allowlist", rules)
    (out,) = evalspl.run_pipeline(macro("`cloud_finding_allowlist_match`"), [row], now=now, kvstore=store)
    value = out.get("suppressed_by")
    return None if value is None else value if isinstance(value, list) else [str(value)]


SCAN: evalspl.Fields = {"source": "guardduty", "account": "111122223333", "finding_type": "Recon:EC2/Portscan",
                        "resource_id": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a11b22c33d44e55f"}


def at(when: str) -> evalspl.Fields:
    return {**SCAN, "last_seen": str(utc(when))}


def test_the_tuesday_maintenance_suppresses_only_inside_its_window() -> None:
    store = site_kvstore()
    intake(["gd_portscan_in_maintenance_window", "gd_portscan_after_window", "gd_exfiltration_eventbridge"], store,
           now=utc("2026-12-01T05:30Z"))
    entries = queue(store)
    inside = entries[key_of("gd_portscan_in_maintenance_window")]
    assert inside["suppressed_by"] == "AL-005" and inside["suppressed_kind"] == "business_operation"
    assert inside["suppressed_detail"] == "AL-005 (business_operation, CHG-2211, until 2027-03-31)"
    assert "suppressed_by" not in entries[key_of("gd_portscan_after_window")]
    # suppressed findings stay in the queue: all three entries are there
    assert len(entries) == 3
    marked = [k for k, e in entries.items() if "suppressed_by" in e]
    assert marked == [key_of("gd_portscan_in_maintenance_window")]
    # once the row has expired the finding is no longer suppressed (evaluated when the queue is read)
    scan = key_of("gd_portscan_in_maintenance_window")
    assert "suppressed_by" not in queue(store, now=utc("2027-04-01T00:00Z"))[scan]
    assert queue(store, now=utc("2027-03-31T23:59Z"))[scan]["suppressed_by"] == "AL-005"


@pytest.mark.parametrize(("when", "expected"), [
    ("2026-12-01T02:00Z", True),    # Tuesday, the window's first minute
    ("2026-12-01T03:59Z", True),
    ("2026-12-01T04:00Z", False),   # the end is exclusive
    ("2026-12-01T01:59Z", False),
    ("2026-12-02T03:05Z", False),   # Wednesday: the right hour on the wrong day
    ("2026-11-24T03:05Z", True),    # the Tuesday before: the window recurs every week
])
def test_recurring_weekly_window(when: str, expected: bool) -> None:
    store = site_kvstore()
    rules = [dict(r) for r in store.records("guardrail_allowlist")]
    assert (suppressed(at(when), rules) == ["AL-005"]) is expected


@pytest.mark.parametrize(("when", "expected"), [
    ("2026-12-01T23:30Z", True),    # Tuesday night, after 22:00
    ("2026-12-02T01:30Z", True),    # Wednesday 01:30 belongs to Tuesday's window
    ("2026-12-01T01:30Z", False),   # Tuesday 01:30 belongs to Monday's window
    ("2026-12-02T23:30Z", False),   # Wednesday night
])
def test_a_window_past_midnight_belongs_to_the_day_it_starts(when: str, expected: bool) -> None:
    rules = [rule(source="guardduty", days="tue", window_start="22:00", window_end="04:00")]
    assert (suppressed(at(when), rules) == ["T-1"]) is expected


def test_patterns_must_all_match() -> None:
    when = at("2026-12-01T03:00Z")
    assert suppressed(when, [rule(source="guardduty", account="111122223333")]) == ["T-1"]
    assert suppressed(when, [rule(source="sysdig")]) is None                      # another source
    assert suppressed(when, [rule(account="444455556666")]) is None               # another account
    assert suppressed(when, [rule(rule="recon:ec2/portscan")]) == ["T-1"]         # case-insensitive input
    assert suppressed(when, [rule(rule="recon:ec2/*")]) == ["T-1"]
    assert suppressed(when, [rule(rule="unauthorizedaccess:*")]) is None
    assert suppressed(when, [rule(resource="arn:aws:ec2:*:111122223333:instance/i-0b*")]) is None
    # the Google Cloud columns do not hold a finding back: a finding has no principal or caller
    assert suppressed(when, [rule(principal="deploy@example")]) is None
    assert suppressed(when, [rule(caller_cidr="10.0.0.0/8")]) is None


def test_a_broken_row_never_suppresses() -> None:
    when = at("2026-12-01T03:00Z")
    assert suppressed(when, [rule(window_start="2:00", window_end="04:00")]) is None    # not HH:MM
    assert suppressed(when, [rule(expires="31/03/2027")]) is None
    assert suppressed(when, [rule(ticket="")]) is None                                 # no ticket, no match
    assert suppressed(when, [rule(rule="Recon:EC2/Portscan")]) is None                 # upper case in the store
    assert suppressed(when, [rule(days="tuesday")]) is None
    assert suppressed(when, [rule(), rule(rule_id="T-2", window_start="99:00")]) == ["T-1"]
    # an empty cell in a row matching the same finding breaks the row-by-row pairing: both fail closed
    assert suppressed(when, [rule(), rule(rule_id="T-2", ticket="")]) is None


def test_false_positive_rows_suppress_the_same_way() -> None:
    store = site_kvstore()
    rules = [dict(r) for r in store.records("guardrail_allowlist")]
    liveness = {"source": "sysdig", "account": "7a100e05-8316-474d-99c0-b824d0e86366",
                "finding_type": "Drop and execute new binary in container",
                "resource_id": "servicenow-test-cluster/kube-system/ama-logs-cxhbd", "last_seen": str(NOW - 3600)}
    assert suppressed(liveness, rules) == ["AL-006"]
    assert suppressed({**liveness, "resource_id": "servicenow-test-cluster/default/ama-logs-cxhbd"}, rules) is None


def test_the_gcp_alerts_match_the_same_rows_on_their_own_columns() -> None:
    store = site_kvstore()
    event = {"_time": utc("2026-11-27T23:30Z"), "gcp_principal": "mei.tanaka@example-corp.com",
             "caller_ip": "203.0.113.5", "gcp_project": "data-platform-prod", "gcp_service": "compute.googleapis.com",
             "gcp_method": "v1.compute.instances.insert"}
    (row,) = evalspl.run_pipeline(macro("`guardrail_allowlist_match`"), [event], now=utc("2026-11-28T12:00Z"),
                                  kvstore=store)
    assert row["guardrail_allow_rule"] == "AL-002"
    # a row for cloud findings never matches a Google Cloud alert, even at its own hour: its source,
    # account, rule and resource patterns name a finding, and an alert event has none of them
    cloud_only = evalspl.KVStore()
    cloud_only.upsert("guardrail_allowlist", [r for r in store.records("guardrail_allowlist")
                                              if r["source"] != "gcp_guardrail"])
    tuesday = {**event, "_time": utc("2026-12-01T03:00Z")}
    assert not evalspl.run_pipeline(macro("`guardrail_allowlisted`"), [tuesday], now=NOW, kvstore=cloud_only)
    assert evalspl.run_pipeline(macro("`guardrail_allowlisted`"), [tuesday], now=NOW, kvstore=store)


def test_closing_a_finding_as_false_positive_proposes_a_row_that_suppresses_it() -> None:
    """Triage view -> allowlist proposal -> an admin adds the ticket and loads it -> suppressed."""
    from tests.unit.triage_builders import SAVED

    store = site_kvstore()
    intake(["sysdig_runtime_gke"], store, now=utc("2026-12-01T04:45Z"))
    decide = ("| inputlookup guardrail_triage_lookup | eval new_status=\"false_positive\", new_owner=\"lena\","
              " new_note=\"loader health check\" | `guardrail_triage_decide`"
              " | outputlookup guardrail_triage_lookup append=true key_field=_key")
    evalspl.run_pipeline(macro(decide), [], now=NOW, kvstore=store)
    search = SAVED["guardrail_allowlist_proposal"].get("search") or ""
    (proposed,) = evalspl.run_pipeline(macro(search), [], now=NOW, kvstore=store)
    assert (proposed["kind"], proposed["source"], proposed["account"], proposed["rule"]) == (
        "false_positive", "sysdig", "data-platform-prod", "redirect stdout/stdin to network connection in container")
    assert proposed["resource"] == "gke-data-prod/etl/loader-5c8d7b9f6-m2n4q"
    assert proposed["expires"] == "2027-03-01" and proposed["reason"] == "loader health check"
    assert proposed.get("ticket", "") == "", "the ticket is for the admin to fill in"
    scan = key_of("sysdig_runtime_gke")
    assert "suppressed_by" not in queue(store)[scan]
    # loaded as proposed, without a ticket, the row never suppresses anything
    row = {"_key": "proposal", **{c: str(proposed.get(c, "")) for c in COLUMNS}}
    store.upsert("guardrail_allowlist", [row])
    assert "suppressed_by" not in queue(store)[scan]
    # with its ticket it does (the admin edits the same row)
    store.upsert("guardrail_allowlist", [{**row, "ticket": "SEC-4100", "rule_id": "AL-020"}])
    assert queue(store)[scan]["suppressed_by"] == "AL-020"
