"""The triage view tells an admin which allowlist rows can match, which have expired and why a row
never will, with the same rules the allowlist engine applies (a broken row never suppresses)."""

from __future__ import annotations

from typing import Dict

import pytest

from devtools import evalspl
from tests.unit.test_triage_suppression import rule
from tests.unit.triage_builders import NOW, macro, utc


def state(row: Dict[str, str], now: float = NOW) -> str:
    (out,) = evalspl.run_pipeline(macro("`guardrail_allowlist_state`"), [row], now=now)
    assert not [k for k in out if k.startswith("_as_")]
    return str(out["state"])


@pytest.mark.parametrize(("cells", "expected"), [
    ({}, "active"),
    ({"expires": "2026-12-10"}, "expires soon"),
    ({"expires": "2026-11-30"}, "expired"),
    ({"ticket": ""}, "never matches: no ticket"),
    ({"window_start": "2:00"}, "never matches: window is not HH:MM"),
    ({"days": "tuesday"}, "never matches: days is neither * nor mon..sun"),
    ({"expires": "31/12/2027"}, "never matches: expires is not YYYY-MM-DD"),
    ({"rule": "Recon:EC2/Portscan"},
     "never matches: an upper-case letter in a pattern (store patterns in lower case)"),
    ({"kind": "maintenance"}, "never matches: kind is neither business_operation nor false_positive"),
    ({"account": ""}, "never matches: an empty cell"),
])
def test_state_of_a_row(cells: Dict[str, str], expected: str) -> None:
    assert state(rule(**cells)) == expected


def test_a_row_the_engine_ignores_is_one_the_state_names() -> None:
    """Every row the state calls 'never matches' is one the rule engine does not match, and back."""
    finding = {"source": "guardduty", "account": "111122223333", "finding_type": "Recon:EC2/Portscan",
               "resource_id": "i-1", "last_seen": str(utc("2026-12-01T03:00Z"))}
    for cells in ({}, {"ticket": ""}, {"window_start": "2:00"}, {"days": "tuesday"}, {"expires": "31/12/2027"},
                  {"rule": "Recon:EC2/Portscan"}, {"kind": "x"}):
        store = evalspl.KVStore()
        store.upsert("guardrail_allowlist", [rule(**cells)])
        (out,) = evalspl.run_pipeline(macro("`cloud_finding_allowlist_match`"), [finding], now=NOW, kvstore=store)
        matches = "suppressed_by" in out
        assert matches == (not state(rule(**cells)).startswith("never matches")), cells
