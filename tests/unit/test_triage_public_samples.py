"""Real published samples of all four finding formats (Security Hub, GuardDuty, Sysdig Secure,
Defender for Cloud), read from the shared data folder beside the repository, never copied into it:
every sample is normalised or rejected with a reason, none stops the intake, and the copies and
updates the sample set marks merge into one queue entry each.

The folder is ``<repository>/../shared/data/cloud-findings-public/`` (``samples.ndjson``, origins in
``sources/SOURCES.md``); without it these tests skip and say so."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Dict, List

import pytest

from devtools import evalspl
from tests.unit.triage_builders import NOW, ROOT, macro, queue, site_kvstore

SAMPLES = ROOT.parent / "shared" / "data" / "cloud-findings-public" / "samples.ndjson"
pytestmark = pytest.mark.skipif(not SAMPLES.is_file(),
                                reason=f"public finding samples not found at {SAMPLES}: nothing to check")


def samples() -> List[Dict[str, Any]]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def as_event(sample: Dict[str, Any]) -> evalspl.Fields:
    return {"_raw": sample["raw"], "sourcetype": sample["sourcetype"]}


@pytest.fixture(scope="module")
def normalised() -> Dict[str, evalspl.Fields]:
    out: Dict[str, evalspl.Fields] = {}
    pipeline = macro("`cloud_finding_normalise`")
    for sample in samples():
        (row,) = evalspl.run_pipeline(pipeline, [as_event(sample)], now=NOW)
        out[sample["id"]] = row
    return out


def test_the_sample_set_is_the_one_described() -> None:
    found = samples()
    assert len(found) >= 51
    assert {s["source"] for s in found} == {"securityhub", "guardduty", "sysdig", "defender"}
    assert all(s["id"] and s["sourcetype"] and "expect_finding" in s for s in found)


def test_every_sample_is_normalised_or_rejected_with_a_reason(normalised: Dict[str, evalspl.Fields]) -> None:
    wrong = []
    for sample in samples():
        row = normalised[sample["id"]]
        reason = row.get("finding_reject_reason")
        if sample["expect_finding"]:
            complete = all(row.get(f) not in (None, "") for f in (
                "finding_key", "finding_source", "finding_provider", "finding_severity", "finding_title",
                "finding_type", "finding_first_seen", "finding_last_seen", "finding_updated", "finding_status"))
            if reason is not None or not complete:
                wrong.append((sample["id"], reason or "incomplete"))
            elif row["finding_source"] != sample["source"]:
                wrong.append((sample["id"], f"source {row['finding_source']} != {sample['source']}"))
        elif not (isinstance(reason, str) and len(reason) > 10):
            wrong.append((sample["id"], "not rejected with a reason"))
    assert wrong == []


def test_the_whole_set_goes_through_the_intake_in_one_run() -> None:
    """One scheduled run over all of them: nothing crashes, and each finding is one queue entry."""
    store = site_kvstore()
    found = samples()
    evalspl.run_pipeline(macro("`cloud_findings_queue_update`"), [as_event(s) for s in found], now=NOW,
                         kvstore=store, info={"info_sid": "scheduler__samples"})
    entries = queue(store)
    expected = {s["id"] for s in found if s["expect_finding"]}
    # every finding that is open at its source, or was open in any of its copies, has an entry
    assert 25 <= len(entries) <= len(expected)
    assert len({e["_key"] for e in entries.values()}) == len(entries)


def test_marked_copies_and_updates_are_one_finding(normalised: Dict[str, evalspl.Fields]) -> None:
    pairs = []
    by_id = {s["id"]: s for s in samples()}
    for sample in by_id.values():
        note = str(sample.get("note") or "")
        for marker in ("same finding as ", "UPDATE of ", "identical alert to ", "as "):
            if marker in note:
                other = note.split(marker, 1)[1].split()[0].strip(":,()")
                if other in by_id:
                    pairs.append((sample["id"], other))
                    break
    assert len(pairs) >= 6, pairs
    for one, other in pairs:
        assert normalised[one]["finding_key"] == normalised[other]["finding_key"], (one, other)
    # and nothing else collides: distinct findings keep distinct keys
    keys = Counter(str(normalised[s]["finding_key"]) for s in by_id if by_id[s]["expect_finding"])
    merged = {str(normalised[a]["finding_key"]) for a, _ in pairs}
    assert {k for k, n in keys.items() if n > 1} <= merged


def test_guardduty_through_security_hub_keeps_guardduty_severity(normalised: Dict[str, evalspl.Fields]) -> None:
    found = [s for s in samples() if s["source"] == "guardduty" and s["channel"] == "asff"]
    assert found
    for sample in found:
        row = normalised[sample["id"]]
        product = json.loads(sample["raw"])["Severity"]["Product"]
        assert row["finding_severity_original"] == f"GuardDuty {product}"
