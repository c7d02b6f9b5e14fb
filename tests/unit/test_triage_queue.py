"""The scheduled intake keeps one triage queue entry per finding: copies merge, updates update, an
analyst's decision survives every update, and nothing that is not a finding gets in. The intake's
own search (default/savedsearches.conf, after its base search) runs over fixture events against a
modelled KV store, run after run, the way the scheduler runs it through a night."""

from __future__ import annotations

from typing import List

from devtools import evalspl
from tests.unit.triage_builders import NOW, as_list, intake, key_of, macro, queue, site_kvstore, utc

NIGHT_1 = ["sh_control_failed_eventbridge", "gd_exfiltration_eventbridge", "gd_exfiltration_via_securityhub",
           "sysdig_legacy_policy", "defender_rest_alert", "defender_export_alert", "sysdig_activity_audit",
           "truncated_event", "defender_recommendation_export"]
NIGHT_2 = ["gd_exfiltration_update", "gd_exfiltration_via_securityhub"]
NIGHT_3 = ["sh_control_passed_bare", "defender_export_resolved"]


def decide(store: evalspl.KVStore, finding_key: str, status: str, owner: str, note: str, now: float) -> None:
    """What the triage views' write search does for one finding."""
    search = ("| inputlookup guardrail_triage_lookup | where finding_key==\"" + finding_key + "\""
              " | eval new_status=\"" + status + "\", new_owner=\"" + owner + "\", new_note=\"" + note + "\""
              " | `guardrail_triage_decide` | outputlookup guardrail_triage_lookup append=true key_field=_key")
    assert len(evalspl.run_pipeline(macro(search), [], now=now, kvstore=store)) == 1


def history(entry: evalspl.Fields) -> List[str]:
    return [line.split(" ", 1)[1] for line in as_list(entry.get("history"))]


def test_a_night_of_findings_becomes_one_entry_each() -> None:
    store = site_kvstore()
    written = intake(NIGHT_1, store, now=utc("2026-12-01T02:15Z"))
    entries = queue(store)
    assert len(written) == len(entries) == 5
    exfil = entries[key_of("gd_exfiltration_eventbridge")]
    # GuardDuty natively and through Security Hub: one entry, both shapes named
    assert sorted(as_list(exfil["via"])) == ["asff", "guardduty_eventbridge"]
    assert exfil["status"] == "new" and exfil["owner"] == "" and exfil["severity"] == "high"
    assert exfil["alert"] == "cloud_findings_intake" and exfil["source"] == "guardduty"
    assert history(exfil) == ["intake: new high finding from guardduty (asff, guardduty_eventbridge)"]
    assert exfil["_key"] == evalspl.evaluate("md5(k)", {"k": key_of("gd_exfiltration_eventbridge")})
    # what is not a finding never reaches the queue
    sysdig = [e["finding_type"] for e in entries.values() if e["source"] == "sysdig"]
    assert sysdig == ["Write below binary dir"]


def test_updates_update_and_keep_the_analysts_decision() -> None:
    store = site_kvstore()
    intake(NIGHT_1, store, now=utc("2026-12-01T02:15Z"))
    exfil_key = key_of("gd_exfiltration_eventbridge")
    decide(store, exfil_key, "investigating", "sam.ortiz", "role used from a VPN exit?", now=utc("2026-12-01T03:00Z"))

    written = intake(NIGHT_2, store, now=utc("2026-12-01T04:45Z"))
    assert [r["finding_key"] for r in written] == [exfil_key]
    entries = queue(store)
    assert len(entries) == 5
    exfil = entries[exfil_key]
    assert exfil["count"] == "6" and exfil["last_seen"] == str(int(utc("2026-12-01T04:29Z") + 13))
    decision = (exfil["status"], exfil["owner"], exfil["note"])
    assert decision == ("investigating", "sam.ortiz", "role used from a VPN exit?")
    assert history(exfil) == ["intake: new high finding from guardduty (asff, guardduty_eventbridge)",
                              "sam.ortiz: new -> investigating (role used from a VPN exit?)",
                              "intake: updated at source: count 1 -> 6"]
    assert exfil["created"] == str(int(utc("2026-12-01T02:15Z")))

    intake(NIGHT_3, store, now=utc("2026-12-01T06:20Z"))
    entries = queue(store)
    control = entries[key_of("sh_control_failed_eventbridge")]
    assert (control["source_status"], control["severity"], control["status"]) == ("resolved", "informational", "new")
    assert history(control)[-1] == ("intake: updated at source: severity high -> informational; "
                                    "status at source active -> resolved")
    reverse_shell = entries[key_of("defender_export_alert")]
    assert reverse_shell["source_status"] == "resolved"
    assert len(entries) == 5


def test_a_repeated_or_older_version_writes_nothing() -> None:
    store = site_kvstore()
    intake(NIGHT_1 + NIGHT_2 + NIGHT_3, store, now=utc("2026-12-01T06:20Z"))
    before = store.records("guardrail_triage")
    assert intake(NIGHT_3, store, now=utc("2026-12-01T06:40Z")) == []
    # the failed version of the control, older than the resolved one stored, changes nothing
    assert intake(["sh_control_failed_eventbridge"], store, now=utc("2026-12-01T07:00Z")) == []
    assert store.records("guardrail_triage") == before


def test_a_later_copy_in_another_shape_is_merged_not_added() -> None:
    store = site_kvstore()
    intake(["gd_exfiltration_eventbridge"], store, now=utc("2026-12-01T02:15Z"))
    written = intake(["gd_exfiltration_via_securityhub"], store, now=utc("2026-12-01T02:25Z"))
    assert len(written) == 1
    (entry,) = queue(store).values()
    assert sorted(as_list(entry["via"])) == ["asff", "guardduty_eventbridge"]
    assert history(entry)[-1] == "intake: also received as asff"
    assert entry["count"] == "1"


def test_a_finding_first_seen_closed_is_not_queued() -> None:
    store = site_kvstore()
    assert intake(["sh_control_passed_bare"], store) == []
    assert queue(store) == {}


def test_the_gcp_alerts_share_the_collection_and_the_decision_step() -> None:
    store = site_kvstore()
    row: evalspl.Fields = {
        "triage_key": "caller=user:avery.lin;project=ml-sandbox-4821;service=notebooks.googleapis.com",
        "gcp_project": "ml-sandbox-4821", "gcp_service": "notebooks.googleapis.com",
        "finding": "6 denials of user:avery.lin", "first_seen": "1764550000", "last_seen": "1764550600"}
    evalspl.run_pipeline(macro("`guardrail_triage_record(guardrail_repeated_denials,medium)`"), [row], now=NOW,
                         kvstore=store, info={"info_sid": "scheduler__repeated"})
    (record,) = store.records("guardrail_triage")
    assert (record["source"], record["provider"], record["account"], record["status"]) == (
        "gcp_guardrail", "gcp", "ml-sandbox-4821", "new")
    assert record["title"] == "6 denials of user:avery.lin"
    search = ("| inputlookup guardrail_triage_lookup | eval new_status=\"business_operation\", new_owner=\"mei\","
              " new_note=\"nightly load\" | `guardrail_triage_decide`"
              " | outputlookup guardrail_triage_lookup append=true key_field=_key")
    evalspl.run_pipeline(macro(search), [], now=NOW + 60, kvstore=store)
    (record,) = store.records("guardrail_triage")
    assert record["status"] == "business_operation" and record["owner"] == "mei"
    assert [h.split(" ", 1)[1] for h in record["history"]] == [  # type: ignore[union-attr]
        "guardrail_repeated_denials: new medium finding", "mei: new -> business_operation (nightly load)"]
    # the GCP alerts' entries stay out of the cloud findings queue (they are allowlisted per event)
    assert queue(store) == {}


def test_an_unknown_status_keeps_the_entry_as_it_was() -> None:
    store = site_kvstore()
    intake(["defender_rest_alert"], store)
    search = ("| inputlookup guardrail_triage_lookup | eval new_status=\"closed\", new_owner=\"x\", new_note=\"\""
              " | `guardrail_triage_decide` | outputlookup guardrail_triage_lookup append=true key_field=_key")
    evalspl.run_pipeline(macro(search), [], now=NOW, kvstore=store)
    (entry,) = queue(store).values()
    assert entry["status"] == "new" and history(entry)[-1] == "x: new -> new"
