"""Real Cloud Audit Logs entries published by Google and public projects, through the real command.

The 193 entries of ``shared/data/gcp-audit-public`` (VPC Service Controls troubleshooting examples,
detection-rule test logs, ingestion fixtures; see its SOURCES.md) are third-party data: this test
reads them from beside the repository when they are there and skips, saying so, when not. Each runs
in both ingest shapes (bare as Dataflow sends it, wrapped as the Pub/Sub input does) under both
Pythons Splunk ships: every policy-denied entry comes out exactly once with its own fields, masked
callers are never named (nothing else is in the stream), and no other entry comes out.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from devtools.scp import ROOT, run_command

SAMPLES = ROOT.parent / "shared" / "data" / "gcp-audit-public" / "entries.ndjson"
SCRIPT = ROOT / "bin" / "correlatepolicydenied.py"
SERVICE_AGENT = ("@cloudservices.gserviceaccount.com",)


def samples() -> List[Dict[str, Any]]:
    if not SAMPLES.is_file():
        pytest.skip(f"public samples not present at {SAMPLES} (they are never copied into the repository)")
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def _epoch(text: str) -> Optional[float]:
    from datetime import datetime, timezone

    try:
        whole, _, frac = text.rstrip("Z").partition(".")
        stamp = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None
    return stamp + (float("0." + frac[:6]) if frac else 0.0)


def is_denied(entry: Dict[str, Any]) -> bool:
    """The contract's definition, written here from it (not from the command's code)."""
    log = str(entry.get("logName", ""))
    if log.endswith("cloudaudit.googleapis.com%2Fpolicy") or log.endswith("/policy"):
        return True
    payload = entry.get("protoPayload") or {}
    status = payload.get("status") or {}
    if status.get("code") not in (7, 9):
        return False
    if "policyViolationInfo" in payload:
        return True
    details = json.dumps(status.get("details", []))
    return '"constraints/' in details


def is_masked(entry: Dict[str, Any]) -> bool:
    auth = (entry.get("protoPayload") or {}).get("authenticationInfo") or {}
    email = str(auth.get("principalEmail", "") or "").strip().lower()
    if not email or "..." in email:
        return True
    local, _, domain = email.partition("@")
    agent = (local.startswith("service-") and local[8:].isdigit() and domain.startswith("gcp-sa-")
             and domain.endswith(".iam.gserviceaccount.com")) or (local.isdigit() and email.endswith(SERVICE_AGENT))
    return agent


def rows(shape: str) -> List[Dict[str, Any]]:
    out = []
    for i, sample in enumerate(samples()):
        entry = sample["entry"]
        when = _epoch(str(entry.get("timestamp", ""))) or 1_700_000_000.0 + i
        raw = entry if shape == "bare" else {"publish_time": when, "data": entry, "attributes": {}}
        out.append({"_time": f"{when:.6f}", "_raw": json.dumps(raw), "sample_id": sample["id"],
                    "sourcetype": "google:gcp:pubsub:message"})
    return sorted(out, key=lambda r: -float(r["_time"]))


def _first(value: object) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


@pytest.mark.parametrize("shape", ["bare", "wrapped"])
def test_public_entries_through_the_command(splunk_python: str, shape: str) -> None:
    entries = {s["id"]: s["entry"] for s in samples()}
    expected = {sid for sid, entry in entries.items() if is_denied(entry)}
    assert len(expected) >= 12  # the published Policy Denied examples are there
    run = run_command(SCRIPT, splunk_python, [], rows(shape))
    assert run.returncode == 0, run.stderr
    out: Dict[str, Dict[str, Any]] = {}
    for row in run.rows:
        sid = _first(row.get("sample_id"))
        assert sid not in out, f"{sid} came out twice"
        out[sid] = row
    assert set(out) == expected
    for sid, row in out.items():
        entry = entries[sid]
        payload = entry["protoPayload"]
        status = _first(row.get("match_status"))
        if is_masked(entry):
            assert status in ("unidentified", "ambiguous"), (sid, status)  # nothing in the stream names anyone
            assert _first(row.get("identified_user")) == ""
        else:
            assert (status, _first(row.get("identified_user"))) == (
                "not_masked", payload["authenticationInfo"]["principalEmail"]), sid
        assert _first(row.get("gcp_service")) == payload.get("serviceName", ""), sid
        assert _first(row.get("gcp_method")) == payload.get("methodName", ""), sid
        project = (entry.get("resource") or {}).get("labels", {}).get("project_id")
        if project:
            assert _first(row.get("gcp_project")) == project, sid
        caller = (payload.get("requestMetadata") or {}).get("callerIp", "")
        got = _first(row.get("caller_ip"))
        try:
            assert ipaddress.ip_address(got) == ipaddress.ip_address(caller), sid
        except ValueError:
            assert got == caller, sid


def test_the_samples_cover_what_they_are_here_for() -> None:
    entries = [s["entry"] for s in samples()]
    denied = [e for e in entries if is_denied(e)]
    assert any(is_masked(e) for e in denied)
    payloads = [e["protoPayload"] for e in entries if isinstance(e.get("protoPayload"), dict)]
    metadata = [p["requestMetadata"] for p in payloads if isinstance(p.get("requestMetadata"), dict)]
    callers = {str(m.get("callerIp", "")) for m in metadata}
    assert any(":" in c for c in callers) and "gce-internal-ip" in callers
    assert Path(SAMPLES).name == "entries.ndjson"
