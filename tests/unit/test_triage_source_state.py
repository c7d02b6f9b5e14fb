"""The queue follows each finding's latest state at its source, also when the source changes it without a
new update time (GuardDuty archive and unarchive, a Defender alert dismissed and active again, Security Hub
BatchUpdateFindings); a finding closed at its source is never urgent; the allowlist sees every resource of
a finding and its whole observed activity; a GKE project matches cloud_accounts by its project id. Fixture
events are changed in code (tests/fixtures/triage/events.json holds the originals) and run through the
intake's own search, run after run, with the _indextime Splunk gives each event."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List

import pytest

from devtools import evalspl
from tests.unit.triage_builders import (
    NOW,
    ROOT,
    as_list,
    intake_events,
    key_of,
    macro,
    queue,
    site_kvstore,
    utc,
    variant,
)

Edit = Callable[[Dict[str, Any]], None]
T0 = utc("2026-12-01T03:00Z")


def gd_archived(archived: bool) -> Edit:
    def edit(body: Dict[str, Any]) -> None:
        body["detail"]["service"]["archived"] = archived
    return edit


def defender_status(status: str) -> Edit:
    def edit(body: Dict[str, Any]) -> None:
        body["Status"] = status
    return edit


def sh_asff(**changes: Any) -> Edit:
    def edit(body: Dict[str, Any]) -> None:
        body["detail"]["findings"][0].update(changes)
    return edit


#: (fixture, the finding open at its source, the same finding closed there; the update time is unchanged)
REOPENED = {
    "guardduty archive, unarchive": ("gd_exfiltration_eventbridge", gd_archived(False), gd_archived(True), "archived"),
    "defender dismissed, active": ("defender_export_alert", defender_status("Active"), defender_status("Dismissed"),
                                   "suppressed"),
    "security hub suppressed, new": ("sh_control_failed_eventbridge", sh_asff(Workflow={"Status": "NEW"}),
                                     sh_asff(Workflow={"Status": "SUPPRESSED"}), "suppressed"),
}


def entry(store: evalspl.KVStore, name: str) -> evalspl.Fields:
    return queue(store, now=T0 + 86400)[key_of(name)]


def history(row: evalspl.Fields) -> List[str]:
    return [line.split(" ", 1)[1] for line in as_list(row.get("history"))]


@pytest.mark.parametrize("case", sorted(REOPENED))
def test_a_finding_reopened_at_its_source_reopens_in_the_queue(case: str) -> None:
    name, opened, closed, closed_as = REOPENED[case]
    store = site_kvstore()
    assert len(intake_events([variant(name, opened, indexed=T0)], store, now=T0 + 300)) == 1
    # the next run reads the open copy again (runs overlap) and the closed one indexed after it
    intake_events([variant(name, opened, indexed=T0), variant(name, closed, indexed=T0 + 600)], store, now=T0 + 900)
    assert entry(store, name)["source_status"] == closed_as
    # the closed copy read again, and later the open copy read again (a backfill): a duplicate reopens nothing
    assert intake_events([variant(name, closed, indexed=T0 + 600)], store, now=T0 + 1500) == []
    assert intake_events([variant(name, opened, indexed=T0)], store, now=T0 + 2100) == []
    assert entry(store, name)["source_status"] == closed_as
    # reopened at the source: a new event with the same update time, indexed later
    assert len(intake_events([variant(name, opened, indexed=T0 + 2400)], store, now=T0 + 2700)) == 1
    row = entry(store, name)
    assert row["source_status"] == "active" and row["status"] == "new"
    assert history(row)[-2:] == [f"intake: updated at source: status at source active -> {closed_as}",
                                 f"intake: updated at source: status at source {closed_as} -> active"]
    assert len(queue(store, now=T0 + 86400)) == 1


@pytest.mark.parametrize("case", sorted(REOPENED))
def test_in_one_run_the_copy_indexed_last_is_the_state(case: str) -> None:
    name, opened, closed, closed_as = REOPENED[case]
    for events, expected in (([variant(name, closed, indexed=T0 + 60), variant(name, opened, indexed=T0)], closed_as),
                             ([variant(name, opened, indexed=T0 + 60), variant(name, closed, indexed=T0)], "active")):
        store = site_kvstore()
        intake_events([variant(name, opened, indexed=T0 - 600)], store, now=T0 - 300)
        intake_events(events, store, now=T0 + 300)
        assert entry(store, name)["source_status"] == expected


def test_a_severity_changed_after_import_updates_the_entry() -> None:
    """BatchUpdateFindings (an analyst, an automation rule) raises the severity and keeps UpdatedAt."""
    name = "sh_control_failed_eventbridge"
    store = site_kvstore()
    intake_events([variant(name, sh_asff(), indexed=T0)], store, now=T0 + 300)
    raised = sh_asff(Severity={"Label": "CRITICAL", "Normalized": 90, "Original": "HIGH"},
                     Note={"Text": "card data reachable", "UpdatedBy": "automation-rule",
                           "UpdatedAt": "2026-12-01T03:05:00Z"})
    assert len(intake_events([variant(name, raised, indexed=T0 + 600)], store, now=T0 + 900)) == 1
    row = entry(store, name)
    assert (row["severity"], row["source_severity"]) == ("critical", "CRITICAL")
    assert row["severity_changed"] == str(int(T0 + 900)), "the alert sees the raise"
    assert history(row)[-1] == "intake: updated at source: severity high -> critical"
    # a workflow change that keeps the status (NEW -> NOTIFIED) is recorded too
    notified = sh_asff(Severity={"Label": "CRITICAL", "Normalized": 90, "Original": "HIGH"},
                       Workflow={"Status": "NOTIFIED"})
    assert len(intake_events([variant(name, notified, indexed=T0 + 1200)], store, now=T0 + 1500)) == 1
    assert entry(store, name)["source_status_detail"] == "RecordState ACTIVE, Workflow NOTIFIED, Compliance FAILED"


def test_two_shapes_of_one_state_do_not_flap() -> None:
    """The native GuardDuty copy and the Security Hub copy word one state differently: no update either way."""
    store = site_kvstore()
    intake_events([variant("gd_exfiltration_eventbridge", gd_archived(False), indexed=T0)], store, now=T0 + 300)
    forwarded = variant("gd_exfiltration_via_securityhub", lambda body: None, indexed=T0 + 600)
    native = variant("gd_exfiltration_eventbridge", gd_archived(False), indexed=T0 + 1200)
    written = intake_events([forwarded], store, now=T0 + 900)
    assert [history(r)[-1] for r in written] == ["intake: also received as asff"]
    assert intake_events([native], store, now=T0 + 1500) == []


# --- closed at the source: visible, never urgent ------------------------------------------------------------

def view_sources() -> Dict[str, Any]:
    text = (ROOT / "default" / "data" / "ui" / "views" / "morning_triage.xml").read_text()
    match = re.search(r"<definition><!\[CDATA\[(.*?)\]\]></definition>", text, re.S)
    assert match
    sources: Dict[str, Any] = json.loads(match.group(1))["dataSources"]
    return sources


def test_a_finding_closed_at_its_source_is_shown_closed_and_not_urgent() -> None:
    store = site_kvstore()
    for name, opened, closed, _ in (REOPENED["guardduty archive, unarchive"], REOPENED["defender dismissed, active"]):
        intake_events([variant(name, opened, indexed=T0)], store, now=T0 + 300)
        intake_events([variant(name, closed, indexed=T0 + 600)], store, now=T0 + 900)
    sources = view_sources()
    base = str(sources["ds_queue"]["options"]["query"])
    base = base.replace("$f_source|s$", '"*"').replace("$f_priority|s$", '"*"')
    rows = evalspl.run_pipeline(macro(base), [], now=NOW, kvstore=store,
                                info={"info_min_time": str(NOW - 86400), "info_max_time": str(NOW)})
    assert len(rows) == 2, "closed at the source, still in the queue"
    for row in rows:
        assert row["at_source"] in ("closed: archived", "closed: suppressed") and row["open"] == "no"
        assert row["priority"] == "P4" and as_list(row["why"])[0].startswith("closed at source")
    for kpi, field in (("ds_kpi_urgent", "urgent"), ("ds_kpi_unassigned", "unassigned")):
        (out,) = evalspl.run_pipeline(macro(str(sources[kpi]["options"]["query"])), [dict(r) for r in rows], now=NOW)
        assert out[field] == "0", kpi
    fired = evalspl.run_pipeline(macro(str(sources["ds_fired"]["options"]["query"])), [dict(r) for r in rows], now=NOW)
    assert sorted(str(r["At source"]) for r in fired) == ["closed: archived", "closed: suppressed"]


def test_priority_of_a_finding_closed_at_its_source() -> None:
    row = {"severity": "critical", "account": "111122223333", "source_status": "archived",
           "source_status_detail": "archived true", "source_severity": "GuardDuty 9"}
    (closed,) = evalspl.run_pipeline(macro("`cloud_finding_priority`"), [row], now=NOW, kvstore=site_kvstore())
    (open_,) = evalspl.run_pipeline(macro("`cloud_finding_priority`"), [{**row, "source_status": "active"}], now=NOW,
                                    kvstore=site_kvstore())
    assert (open_["priority"], closed["priority"]) == ("P1", "P4")
    reason = as_list(closed["priority_reasons"])[0]
    assert reason == "closed at source: archived (archived true), so P4 whatever its score"


# --- every resource of a finding ------------------------------------------------------------------------------

BUCKET = "arn:aws:s3:::payments-card-exports"


def s3_via_securityhub(body: Dict[str, Any]) -> None:
    """The GuardDuty S3 finding as Security Hub forwards it: the instance and key first, the bucket last."""
    body["Types"] = ["TTPs/Exfiltration/Exfiltration:S3-ObjectRead.Unusual"]
    body["Resources"] = [
        {"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0"},
        {"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:ASIAQ3EXAMPLE7KEYID"},
        {"Type": "AwsS3Bucket", "Id": BUCKET}]


def allow(**cells: str) -> Dict[str, str]:
    row = {"rule_id": "T-1", "kind": "false_positive", "source": "guardduty", "principal": "*",
           "caller_cidr": "0.0.0.0/0", "project": "*", "service": "*", "method": "*", "account": "111122223333",
           "rule": "exfiltration:s3/*", "resource": "*", "days": "*", "window_start": "00:00", "window_end": "00:00",
           "expires": "2027-06-30", "ticket": "SEC-1", "owner": "data@example", "reason": "nightly export reads"}
    row.update(cells)
    return row


def test_the_bucket_of_an_s3_finding_is_its_resource_and_the_allowlist_sees_every_resource() -> None:
    event = variant("gd_exfiltration_via_securityhub", s3_via_securityhub, indexed=T0)
    (norm,) = evalspl.run_pipeline(macro("`cloud_finding_normalise`"), [event], now=NOW)
    assert (norm["finding_resource_type"], norm["finding_resource_id"]) == ("AwsS3Bucket", BUCKET)
    assert as_list(norm["finding_resource_ids"])[0] == BUCKET and len(as_list(norm["finding_resource_ids"])) == 3
    for resource, expected in ((BUCKET, "T-1"), ("arn:aws:ec2:*:instance/i-0123456789abcdef0", "T-1"),
                               ("arn:aws:s3:::payments-other", None)):
        store = site_kvstore()
        store.upsert("guardrail_allowlist", [allow(resource=resource)])
        intake_events([event], store, now=T0 + 300)
        (row,) = queue(store, now=T0 + 600).values()
        assert row.get("suppressed_by") == expected, resource
        assert row["resource_id"] == BUCKET


# --- a maintenance window covers the whole observed activity ---------------------------------------------------

@pytest.mark.parametrize(("first", "last", "window", "expected"), [
    ("2026-12-01T02:03Z", "2026-12-01T03:05Z", ("tue", "02:00", "04:00"), True),
    ("2026-11-30T15:00Z", "2026-12-01T03:05Z", ("tue", "02:00", "04:00"), False),   # began Monday afternoon
    ("2026-12-01T01:59Z", "2026-12-01T03:05Z", ("tue", "02:00", "04:00"), False),   # a minute before the window
    ("2026-11-24T02:10Z", "2026-12-01T03:05Z", ("tue", "02:00", "04:00"), False),   # last Tuesday's window too
    ("2026-11-30T23:30Z", "2026-12-01T01:30Z", ("mon", "22:00", "04:00"), True),    # one window past midnight
    ("2026-11-30T21:30Z", "2026-12-01T01:30Z", ("mon", "22:00", "04:00"), False),
    ("2026-12-01T00:10Z", "2026-12-01T23:50Z", ("tue", "00:00", "00:00"), True),    # all day Tuesday
    ("2026-11-30T23:50Z", "2026-12-01T00:10Z", ("tue", "00:00", "00:00"), False),
    ("2026-11-24T00:10Z", "2026-12-01T23:50Z", ("*", "00:00", "00:00"), True),      # always
])
def test_a_window_suppresses_only_activity_wholly_inside_it(first: str, last: str, window: tuple,
                                                            expected: bool) -> None:
    store = evalspl.KVStore()
    days, start, end = window
    store.upsert("guardrail_allowlist", [allow(rule="recon:ec2/portscan", days=days, window_start=start,
                                               window_end=end, kind="business_operation")])
    row = {"source": "guardduty", "account": "111122223333", "finding_type": "Recon:EC2/Portscan",
           "resource_id": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a11b22c33d44e55f",
           "first_seen": str(utc(first)), "last_seen": str(utc(last))}
    (out,) = evalspl.run_pipeline(macro("`cloud_finding_allowlist_match`"), [row], now=NOW, kvstore=store)
    assert (out.get("suppressed_by") == "T-1") is expected


def test_a_scan_that_began_before_the_maintenance_is_not_filed_as_maintenance() -> None:
    def monday_afternoon(body: Dict[str, Any]) -> None:
        body["detail"]["service"]["eventFirstSeen"] = "2026-11-30T15:00:00.000Z"
        body["detail"]["service"]["count"] = 40
    store = site_kvstore()
    intake_events([variant("gd_portscan_in_maintenance_window", monday_afternoon, indexed=T0)], store, now=T0 + 300)
    (row,) = queue(store, now=T0 + 600).values()
    assert "suppressed_by" not in row


# --- a GKE project is matched by its project id -----------------------------------------------------------------

def gke_labels(**labels: str) -> Edit:
    def edit(body: Dict[str, Any]) -> None:
        body["labels"].update(labels)
    return edit


def test_a_gke_finding_with_a_project_number_matches_the_project_id_row() -> None:
    number = "289645096542"
    store = site_kvstore()
    labels = {"cloudProvider.account.id": number, "gcp.projectId": number, "gcp.projectName": "data-platform-prod"}
    intake_events([variant("sysdig_runtime_gke", gke_labels(**labels), indexed=T0)], store, now=T0 + 300)
    (row,) = queue(store, now=T0 + 600).values()
    assert (row["account"], row["account_aliases"], row["environment"]) == ("data-platform-prod", number, "production")
    # only the number on the finding: a cloud_accounts row of the project number matches it
    store = site_kvstore()
    store.upsert("cloud_accounts", [{"account": number, "provider": "gcp", "name": "data-platform-prod",
                                     "environment": "production", "owner": "gke@example", "criticality": "high",
                                     "notes": ""}])
    intake_events([variant("sysdig_runtime_gke", gke_labels(**{"cloudProvider.account.id": number,
                                                               "gcp.projectId": number}), indexed=T0)],
                  store, now=T0 + 300)
    (row,) = queue(store, now=T0 + 600).values()
    assert (row["account"], row["environment"]) == (number, "production")


# --- GuardDuty's severity through Security Hub --------------------------------------------------------------------

def test_guardduty_severity_through_security_hub_is_the_original_number() -> None:
    def original_only(body: Dict[str, Any]) -> None:
        body["Severity"] = {"Label": "MEDIUM", "Normalized": 40, "Original": "8"}
        body["FindingProviderFields"] = {"Severity": {"Label": "MEDIUM", "Original": "8"}}
    forwarded = variant("gd_exfiltration_via_securityhub", original_only, indexed=T0)
    (norm,) = evalspl.run_pipeline(macro("`cloud_finding_normalise`"), [forwarded], now=NOW)
    assert (norm["finding_severity"], norm["finding_severity_original"]) == ("high", "GuardDuty 8")
    store = site_kvstore()
    intake_events([forwarded], store, now=T0 + 300)
    intake_events([variant("gd_exfiltration_eventbridge", gd_archived(False), indexed=T0 + 600)], store, now=T0 + 900)
    (row,) = queue(store, now=T0 + 1200).values()
    assert row["severity"] == "high" and not [h for h in history(row) if "severity" in h and "->" in h]


# --- times and text -----------------------------------------------------------------------------------------------

def gd_detail(**changes: Any) -> Edit:
    def edit(body: Dict[str, Any]) -> None:
        body["detail"].update(changes)
    return edit


def test_an_hour_only_offset_is_read_and_an_unreadable_time_is_a_reject_reason() -> None:
    hour_only = variant("gd_exfiltration_eventbridge", gd_detail(updatedAt="2026-12-01T02:29:55.310+01"))
    unreadable = variant("gd_exfiltration_eventbridge", gd_detail(updatedAt="2026-12-01 02:29:55"))
    ok, bad = evalspl.run_pipeline(macro("`cloud_finding_normalise`"), [hour_only, unreadable], now=NOW)
    assert ok["finding_updated"] == str(int(utc("2026-12-01T01:29Z") + 55)) and "finding_reject_reason" not in ok
    assert bad["finding_reject_reason"] == ("a time the app cannot read (updated '2026-12-01 02:29:55'): "
                                            "ISO 8601 with a zone expected")


def test_nul_bytes_do_not_reach_the_queue() -> None:
    event = variant("gd_exfiltration_eventbridge", gd_detail(title="Credentials\u0000 used from\u0000 outside"))
    (norm,) = evalspl.run_pipeline(macro("`cloud_finding_normalise`"), [event], now=NOW)
    assert norm["finding_title"] == "Credentials used from outside"


def test_bidirectional_overrides_do_not_reach_the_queue() -> None:
    # U+202E would show "exe.txt" as "txt.exe"; every embedding, override and isolate goes
    title = "Malware \u202efdp.exe\u202c found \u2066here\u2069 and \u202athere\u202b, \u202d\u2067\u2068"
    event = variant("gd_exfiltration_eventbridge", gd_detail(title=title))
    (norm,) = evalspl.run_pipeline(macro("`cloud_finding_normalise`"), [event], now=NOW)
    assert norm["finding_title"] == "Malware fdp.exe found here and there, "
