"""Priority an analyst can read: severity times reach, with environment, owner and criticality from
the cloud_accounts site data, shown with its reasons; and the source health check that turns a
silent finding source into a finding."""

from __future__ import annotations

from typing import Dict, List

import pytest

from devtools import evalspl
from tests.unit.triage_builders import NOW, as_list, intake, key_of, macro, queue, site_kvstore, utc


def prioritised(row: evalspl.Fields, store: evalspl.KVStore) -> evalspl.Fields:
    (out,) = evalspl.run_pipeline(macro("`cloud_finding_priority`"), [row], now=NOW, kvstore=store)
    return out


def test_a_high_finding_on_the_production_payments_account_is_p1_with_its_reasons() -> None:
    store = site_kvstore()
    intake(["gd_exfiltration_eventbridge", "sh_control_failed_eventbridge", "defender_rest_alert",
            "sysdig_runtime_eks", "sysdig_legacy_policy"], store)
    entries = queue(store)
    exfil = entries[key_of("gd_exfiltration_eventbridge")]
    assert exfil["priority"] == "P1" and exfil["priority_score"] == "70"
    assert as_list(exfil["priority_reasons"]) == [
        "high severity (GuardDuty 8)",
        "production account payments-prod, owner payments-platform@example-corp.com, criticality high",
        "internet exposure: remote address 198.51.100.23"]
    assert as_list(exfil["priority_factors"]) == ["high severity", "production account", "high criticality",
                                                   "internet exposure"]
    assert (exfil["environment"], exfil["account_owner"]) == ("production", "payments-platform@example-corp.com")
    # a medium alert on the development subscription stays low in the list
    rest = entries[key_of("defender_rest_alert")]
    assert rest["priority"] == "P3" and rest["environment"] == "development"
    # an EKS cluster is found through the prod-eks-* pattern row
    shell = entries[key_of("sysdig_runtime_eks")]
    assert shell["environment"] == "production" and shell["account_name"] == "production EKS clusters"
    assert shell["priority"] == "P1"
    # a host nobody listed is unknown reach, and says so
    legacy = next(e for e in entries.values() if e["account"] == "build-runner-3")
    reasons = as_list(legacy["priority_reasons"])
    assert "account build-runner-3 is not in cloud_accounts: treated as unknown reach" in reasons
    assert "unknown account" in as_list(legacy["priority_factors"])


@pytest.mark.parametrize(("fields", "score", "level"), [
    ({"severity": "critical", "account": "111122223333"}, 70, "P1"),
    ({"severity": "critical", "account": "777788889999"}, 40, "P2"),                 # sandbox, low criticality
    ({"severity": "medium", "account": "444455556666", "internet": "true"}, 55, "P2"),
    ({"severity": "low", "account": "777788889999"}, 10, "P4"),
    ({"severity": "informational"}, 0, "P4"),                                          # no account at all
    ({"severity": "medium", "account": "nobody-listed-this", "privileged": "true", "resource_count": "12"}, 50, "P2"),
    ({"severity": "high", "account": "8f3c2a10-5d4e-4b7a-9c61-2e0f1a7b9d34", "resource_count": "3"}, 65, "P1"),
])
def test_score_and_level(fields: Dict[str, str], score: int, level: str) -> None:
    out = prioritised(dict(fields), site_kvstore())
    assert (out["priority_score"], out["priority"]) == (str(score), level)


def test_an_exact_account_row_wins_over_a_pattern() -> None:
    store = site_kvstore()
    store.upsert("cloud_accounts", [{"account": "prod-eks-lab", "provider": "k8s", "name": "lab cluster",
                                     "environment": "sandbox", "owner": "lab@example", "criticality": "low",
                                     "notes": ""}])
    out = prioritised({"severity": "high", "account": "prod-eks-lab"}, store)
    assert (out["environment"], out["account_name"]) == ("sandbox", "lab cluster")
    out = prioritised({"severity": "high", "account": "prod-eks-orders"}, store)
    assert out["environment"] == "production"


def test_an_incomplete_account_row_counts_as_unknown() -> None:
    store = evalspl.KVStore()
    store.upsert("cloud_accounts", [{"account": "111122223333", "environment": "production", "owner": "",
                                     "criticality": "high", "name": "payments-prod"}])
    out = prioritised({"severity": "high", "account": "111122223333"}, store)
    assert "environment" not in out and "unknown account" in as_list(out["priority_factors"])


HEALTH = "`cloud_source_health` | `cloud_source_health_findings` | `cloud_findings_queue_upsert`"


def health(rows: List[evalspl.Fields], store: evalspl.KVStore, now: float) -> List[evalspl.Fields]:
    return evalspl.run_pipeline(macro(HEALTH), rows, now=now, kvstore=store, info={"info_sid": "scheduler__health"})


def test_a_silent_source_becomes_a_finding_and_resolves_when_it_sends_again() -> None:
    store = site_kvstore()
    last = utc("2026-11-30T06:00Z")
    rows: List[evalspl.Fields] = [
        {"finding_source": "securityhub", "count": "5120", "last_indexed": str(NOW - 600)},
        {"finding_source": "sysdig", "count": "800", "last_indexed": str(last)},
        {"finding_source": "defender", "count": "0"},  # never sent in 7 days, not expected: no finding
    ]
    written = health(rows, store, NOW)
    assert [w["source"] for w in written] == ["sysdig"]
    (entry,) = store.records("guardrail_triage")
    assert entry["title"] == "Sysdig Secure sent nothing to Splunk: nothing indexed for 27 h"
    assert (entry["severity"], entry["source_status"], entry["status"]) == ("high", "active", "new")
    assert entry["finding_key"] == "health|sysdig"
    # an hour later, still silent: nothing new to write
    assert health(rows, store, NOW + 3600) == []
    # events flow again: the same entry is resolved at the source, the analyst's fields kept
    rows[1]["last_indexed"] = str(NOW + 7000)
    assert len(health(rows, store, NOW + 7200)) == 1
    (entry,) = store.records("guardrail_triage")
    assert entry["source_status"] == "resolved" and len(entry["history"]) == 2  # type: ignore[arg-type]


def test_an_expected_source_with_no_events_is_a_finding() -> None:
    store = site_kvstore()
    pipeline = macro(HEALTH).replace('match("," . "" . ",",', 'match("," . "defender,sysdig" . ",",')
    assert pipeline != macro(HEALTH), "the expected-sources macro is where the test points"
    written = evalspl.run_pipeline(pipeline, [{"finding_source": "defender", "count": "0"}], now=NOW, kvstore=store,
                                   info={"info_sid": "s"})
    assert [w["title"] for w in written] == ["Defender for Cloud sent nothing to Splunk: nothing indexed in 7 days"]
