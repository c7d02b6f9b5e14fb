"""Each finding source's events become one normalised finding, inside Splunk: the app's own
`cloud_finding_normalise` macro evaluated over fixture events written from each vendor's documented
schema (tests/fixtures/triage/events.json names the page each one follows)."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from devtools import evalspl
from tests.unit.triage_builders import FIXTURES, NOW, event, macro, normalise, utc

TIMES = ("finding_first_seen", "finding_last_seen", "finding_updated")


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_normalises_as_expected(name: str) -> None:
    fixture: Dict[str, Any] = FIXTURES[name]
    assert fixture["proves"] and fixture["schema"], "every fixture says what it proves and which schema it follows"
    (row,) = normalise([name])
    for field, expected in fixture["expect"].items():
        if field in TIMES:
            assert float(row[field]) == utc(expected[:16] + "Z") + int(expected[17:19]), field
        else:
            assert row.get(field) == expected, field
    if "finding_reject_reason" in fixture["expect"]:
        return
    assert "finding_reject_reason" not in row
    # every finding carries the whole normalised shape
    for field in ("finding_source", "finding_provider", "finding_account", "finding_resource_type",
                  "finding_resource_id", "finding_title", "finding_type", "finding_severity", "finding_first_seen",
                  "finding_last_seen", "finding_updated", "finding_count", "finding_status", "finding_key",
                  "finding_indexed", "finding_internet", "finding_privileged"):
        assert row.get(field) not in (None, ""), field
    assert row["finding_severity"] in {"critical", "high", "medium", "low", "informational"}
    assert row["finding_provider"] in {"aws", "gcp", "azure", "k8s", "host"}
    assert not [k for k in row if k.startswith("_cf_") or k.startswith("_sd_")], "temporary fields are removed"


def test_guardduty_copies_normalise_to_the_same_finding() -> None:
    native, forwarded = normalise(["gd_exfiltration_eventbridge", "gd_exfiltration_via_securityhub"])
    same = ("finding_key", "finding_source", "finding_account", "finding_region", "finding_type", "finding_severity",
            "finding_title", "finding_resource_type", "finding_resource_id", "finding_first_seen", "finding_last_seen",
            "finding_updated", "finding_count", "finding_status", "finding_internet")
    assert {f: native.get(f) for f in same} == {f: forwarded.get(f) for f in same}
    # equal update and index times: the native copy sorts first, so its details win the merge
    assert int(native["finding_via_rank"]) > int(forwarded["finding_via_rank"])


def test_closed_status_wins_only_a_complete_tie() -> None:
    """Same update time and indexed in the same second: nothing says which came last, the closed one wins."""
    new, resolved = normalise(["defender_export_alert", "defender_export_resolved"])
    assert new["finding_updated"] == resolved["finding_updated"]
    assert int(resolved["finding_status_rank"]) > int(new["finding_status_rank"])


@pytest.mark.parametrize(("value", "level"), [
    ("10", "critical"), ("9.0", "critical"), ("8.9", "high"), ("7", "high"), ("6.9", "medium"), ("4", "medium"),
    ("3.9", "low"), ("1", "low"), ("0.1", "low"), ("0", "informational"),
])
def test_guardduty_severity_scale(value: str, level: str) -> None:
    assert evalspl.evaluate(macro("`cloud_severity_guardduty(v)`"), {"v": value}) == level


@pytest.mark.parametrize(("label", "normalized", "level"), [
    ("CRITICAL", None, "critical"), ("low", None, "low"), (None, "95", "critical"), (None, "70", "high"),
    (None, "69", "medium"), (None, "40", "medium"), (None, "1", "low"), (None, "0", "informational"),
])
def test_asff_label_or_normalized_severity(label: Any, normalized: Any, level: str) -> None:
    import json

    finding = json.loads(event("sh_control_passed_bare")["_raw"])
    finding["Severity"] = {k: v for k, v in (("Label", label), ("Normalized", normalized)) if v is not None}
    finding.pop("FindingProviderFields")
    (row,) = evalspl.run_pipeline(macro("`cloud_finding_normalise`"),
                                  [{"_raw": json.dumps(finding), "sourcetype": "aws:securityhub:finding"}], now=NOW)
    assert row["finding_severity"] == level


@pytest.mark.parametrize(("value", "level"), [("0", "high"), ("3", "high"), ("4", "medium"), ("5", "medium"),
                                              ("6", "low"), ("7", "informational")])
def test_sysdig_severity_scale(value: str, level: str) -> None:
    import json

    policy = json.loads(event("sysdig_runtime_eks")["_raw"])
    policy["severity"] = int(value)
    (row,) = evalspl.run_pipeline(macro("`cloud_finding_normalise`"),
                                  [{"_raw": json.dumps(policy), "sourcetype": "SysdigSecureEvents"}], now=NOW)
    assert row["finding_severity"] == level


@pytest.mark.parametrize(("text", "epoch"), [
    ("2026-12-01T02:09:41.218Z", "2026-12-01T02:09:41Z"),
    ("2026-12-01T02:47:31.204118233Z", "2026-12-01T02:47:31Z"),
    ("2026-11-30T22:15:00.0000000Z", "2026-11-30T22:15:00Z"),
    ("2026-12-01T03:09:41+01:00", "2026-12-01T02:09:41Z"),
    ("2026-12-01T02:09:41+0000", "2026-12-01T02:09:41Z"),
])
def test_iso_times_read_in_their_zone(text: str, epoch: str) -> None:
    assert evalspl.evaluate(macro("`cloud_iso_epoch(t)`"), {"t": text}) == utc(epoch)


def test_a_time_without_a_zone_is_not_guessed() -> None:
    assert evalspl.evaluate(macro("`cloud_iso_epoch(t)`"), {"t": "2026-12-01T02:09:41"}) is None
