"""index: time-sorted stores whatever the arrival order, bisect queries, pruning."""

from __future__ import annotations

from guardrail.correlate.index import EvidenceStore, TimeIndex
from guardrail.correlate.model import Nat


def test_descending_arrival_is_sorted_on_query() -> None:
    idx: TimeIndex[str] = TimeIndex()
    for t in (50.0, 40.0, 30.0, 20.0, 10.0):
        idx.add("k", t, f"r{int(t)}")
    assert idx.between("k", 15, 40) == ["r20", "r30", "r40"]
    assert idx.between("missing", 0, 100) == []


def test_unordered_arrival_and_bounds_are_inclusive() -> None:
    idx: TimeIndex[int] = TimeIndex()
    for t in (5.0, 1.0, 9.0, 3.0, 7.0):
        idx.add("k", t, int(t))
    assert idx.between("k", 3, 7) == [3, 5, 7]


def test_prune_drops_outside_and_empty_keys() -> None:
    idx: TimeIndex[int] = TimeIndex()
    for t in range(10):
        idx.add("a", float(t), t)
    idx.add("b", 100.0, 100)
    assert idx.prune(3, 6) == 7
    assert idx.between("a", -1, 99) == [3, 4, 5, 6]
    assert idx.between("b", 0, 1000) == []
    assert len(idx) == 4


def test_evidence_store_routes_records() -> None:
    store = EvidenceStore()
    store.add(Nat(1.0, "203.0.113.1", "10.0.0.1", "", "fw"))
    assert len(store) == 1
    assert store.nats.between("203.0.113.1", 0, 2)[0].internal_ip == "10.0.0.1"
    store.prune(5, 10, 5, 10)
    assert len(store) == 0
