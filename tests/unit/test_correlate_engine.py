"""The streaming engine: hold until the window has passed, both orders, any chunking, bounded memory,
exactly once, bad rows counted and never fatal."""

from __future__ import annotations

import json
import random
from typing import Any, Dict, List, Tuple

import pytest
from guardrail.correlate.engine import ASCENDING, DESCENDING, UNORDERED, Correlator
from guardrail.correlate.index import HEALTH_WINDOW
from guardrail.correlate.model import OUTPUT_FIELDS, Released
from guardrail.correlate.options import Options
from guardrail.correlate.render import to_record
from guardrail.correlate.rules import reads_only

from tests.unit.correlate_builders import T0, Row, as_table, dhcp, gcp_row, logon, nat, newest_first, run, signin, vpn

EGRESS = "203.0.113.10"


def day_of_traffic(days: int = 2, per_hour: int = 6) -> Tuple[List[Row], Dict[str, str]]:
    """Office traffic over ``days``: a denied call every 10 minutes, each with its own chain, plus noise."""
    rows: List[Row] = []
    truth: Dict[str, str] = {}
    n = 0
    for hour in range(days * 24):
        for k in range(per_hour):
            n += 1
            t = T0 + hour * 3600 + k * 600
            ip, host, user = f"10.1.{n // 250}.{n % 250 + 2}", f"LAPTOP-{n}", f"user{n}"
            rows += [dhcp(t - 1800, ip, host, 3 * 3600), logon(t - 900, f"CORP\\{user}", host), nat(t, ip, EGRESS),
                     gcp_row(t, ip=EGRESS, insert_id=f"id{n}"), nat(t + 120, "10.9.9.9", EGRESS),
                     signin(t - 30, "someone.else", "198.51.100.1")]
            truth[f"id{n}"] = f"CORP\\{user}"
    return rows, truth


def names(out: List[Released]) -> Dict[str, str]:
    result = {}
    for item in out:
        assert item.entry is not None
        assert item.entry.insert_id not in result
        result[item.entry.insert_id] = to_record(item)["identified_user"]
    return result


@pytest.mark.parametrize("chunk", [1, 7, 97, 50000])
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_every_denied_event_out_exactly_once_whatever_the_chunking(chunk: int, order: str) -> None:
    rows, truth = day_of_traffic(days=1)
    ordered = newest_first(rows)
    if order == "asc":
        ordered.reverse()
    out, engine = run(ordered, chunk)
    assert names(out) == truth
    assert engine.mode == (DESCENDING if order == "desc" else ASCENDING)
    assert engine.stats["denied"] == len(truth) and not any(k.startswith("bad:") for k in engine.stats)


def test_descending_holds_until_the_lookback_has_streamed_past() -> None:
    engine = Correlator(Options(lookback=3600, skew=60))
    rows = newest_first([gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS)])
    assert engine.feed_records(rows) == []
    assert engine.feed_records([logon(T0 - 1700, "a.b", "LAPTOP-A"), dhcp(T0 - 1800, "10.1.2.3", "LAPTOP-A")]) == []
    assert engine.held == 1
    # rows older than t - lookback - slack would do for the chain; the NAT log's health is judged over
    # HEALTH_WINDOW on either side, so the wider of the two decides
    assert engine.feed_records([signin(T0 - 3700, "x", "198.51.100.1")]) == []
    # the frontier moves with the second row past it (one row's time alone may be wrong)
    assert engine.feed_records([signin(T0 - HEALTH_WINDOW - 200, "x", "198.51.100.1")]) == []
    [item] = engine.feed_records([signin(T0 - HEALTH_WINDOW - 201, "x", "198.51.100.1")])
    assert to_record(item)["identified_user"] == "a.b"
    assert engine.finish() == []


def test_one_row_with_a_wrong_time_releases_nothing_early() -> None:
    engine = Correlator(Options(lookback=3600, skew=60))
    rows = newest_first([gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS)])
    assert engine.feed_records(rows) == []
    assert engine.feed_records([signin(0.0, "x", "198.51.100.1")]) == []  # _time=0: 1970, a broken clock
    assert engine.feed_records([logon(T0 - 1700, "a.b", "LAPTOP-A"), dhcp(T0 - 1800, "10.1.2.3", "LAPTOP-A")]) == []
    assert engine.mode == DESCENDING and engine.held == 1
    [item] = engine.feed_records([signin(T0 - HEALTH_WINDOW - 200, "x", "198.51.100.1")])
    assert to_record(item)["identified_user"] == "a.b"


def test_ascending_releases_once_the_forward_window_has_passed() -> None:
    engine = Correlator(Options())
    rows = [dhcp(T0 - 1800, "10.1.2.3", "LAPTOP-A"), logon(T0 - 1700, "a.b", "LAPTOP-A"), gcp_row(T0, ip=EGRESS)]
    assert engine.feed_records(rows) == []
    assert engine.feed_records([nat(T0 + 1, "10.1.2.3", EGRESS)]) == []
    # the forward window has passed, but the NAT log's completeness is judged over 30 minutes
    assert engine.feed_records([signin(T0 + 400, "x", "198.51.100.1")]) == []
    assert engine.feed_records([signin(T0 + HEALTH_WINDOW + 120, "x", "198.51.100.1")]) == []
    [item] = engine.feed_records([signin(T0 + HEALTH_WINDOW + 121, "x", "198.51.100.1")])
    assert to_record(item)["identified_user"] == "a.b"


def test_memory_is_bounded_by_the_window_not_the_volume() -> None:
    rows, truth = day_of_traffic(days=3)
    engine = Correlator(Options(lookback=3 * 3600))
    engine.prune_floor = 50  # prune as soon as the store doubles, as a long search would
    header_rows = newest_first(rows)
    peak_store = peak_held = 0
    out: List[Released] = []
    for i in range(0, len(header_rows), 200):
        header, table = as_table(header_rows[i:i + 200])
        out += engine.feed_rows(header, table)
        peak_store = max(peak_store, len(engine.store))
        peak_held = max(peak_held, engine.held)
    out += engine.finish()
    assert names(out) == truth
    # 432 denied events over 72 hours; a 3-hour lookback holds about 18 + a chunk's worth
    assert peak_held < 60
    assert peak_store < 400


def test_unordered_input_is_held_to_the_end_and_reported() -> None:
    rows, truth = day_of_traffic(days=1, per_hour=2)
    random.Random(3).shuffle(rows)
    out, engine = run(rows, 50)
    assert engine.mode == UNORDERED
    assert names(out) == truth
    assert any("not ordered" in w for w in engine.take_warnings())


def test_max_buffer_caps_what_is_held_and_says_so() -> None:
    rows, truth = day_of_traffic(days=1, per_hour=2)
    random.Random(5).shuffle(rows)
    out, engine = run(rows, 50, max_buffer=5)
    assert sorted(names(out)) == sorted(truth)
    assert any("max_buffer=5" in w for w in engine.take_warnings())
    assert engine.stats["bad:denied events resolved early (max_buffer)"] > 0


def test_keep_evidence_passes_every_row_through_with_empty_output_fields() -> None:
    rows = newest_first([gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), dhcp(T0 - 60, "10.1.2.3", "L"),
                         gcp_row(T0 - 5, ip=EGRESS, principal="a@b.c", log="activity", code=0, insert_id="other")])
    out, _ = run(rows, 2, keep_evidence=True)
    assert len(out) == 4
    records = [to_record(item) for item in out]
    assert all(set(OUTPUT_FIELDS) <= set(r) for r in records)
    evidence = [r for r, item in zip(records, out) if item.verdict is None]
    assert len(evidence) == 3 and all(r["match_status"] == "" for r in evidence)
    out, _ = run(rows, 2)
    assert len(out) == 1


@pytest.mark.parametrize("path", ["rows", "records"])
def test_bad_rows_are_counted_never_fatal(path: str) -> None:
    denied_but_broken = {"_time": str(T0), "_raw": '{"logName": "projects/p/logs/cloudaudit.googleapis.com%2Fpolicy",'
                                                   ' "protoPayload": {', "sourcetype": "google:gcp:pubsub:message"}
    other_broken = {"_time": str(T0), "_raw": '{"protoPayload": [', "sourcetype": "google:gcp:pubsub:message"}
    no_time = {**nat(T0, "10.1.2.3", EGRESS), "_time": "yesterday"}
    unknown_tags = {"_time": str(T0), "tag": "change\naudit", "user": "x"}
    bad_lease = {**dhcp(T0, "10.1.2.3", "L"), "lease_duration": "-5"}
    huge = gcp_row(T0, ip=EGRESS, insert_id="huge")
    huge["_raw"] = huge["_raw"][:-1] + ', "pad": "' + "x" * (5 * 1024 * 1024) + '"}'
    good = gcp_row(T0 - 1, ip=EGRESS, insert_id="good")
    rows = [denied_but_broken, other_broken, no_time, unknown_tags, bad_lease, huge, good]
    out, engine = run(rows, 3, path)
    records = [to_record(item) for item in out]
    assert [r["match_status"] for r in records] == ["unidentified", "unidentified", "unidentified"]
    assert records[0]["_raw"] == denied_but_broken["_raw"]  # passed through as it came
    bad = {k[4:]: v for k, v in engine.stats.items() if k.startswith("bad:")}
    assert engine.stats["fixed:truncated or malformed _raw read in part"] == 1
    assert bad == {"malformed JSON in _raw": 1, "evidence rows without a usable _time": 1,
                   "rows with tags the command does not use": 1,
                   "lease_duration is negative or longer than a year": 1, "oversized _raw": 1}
    assert "skipped:" in engine.summary()


def test_wrong_column_count_is_repaired_and_counted() -> None:
    header, table = as_table([gcp_row(T0, ip=EGRESS)])
    engine = Correlator()
    out = engine.feed_rows(header, [table[0][:-3]]) + engine.finish()
    assert len(out) == 1 and engine.stats["bad:rows with a wrong column count"] == 1


def test_rows_that_are_neither_pass_quietly() -> None:
    rows = [{"_serial": "0", "_time": "1380899494", "text": "RT @someone: ünïcødé 👀"}] * 3
    out, engine = run(rows, 2)
    assert out == [] and engine.stats["other"] == 3
    out, engine = run(rows, 2, keep_evidence=True)
    assert [to_record(i)["text"] for i in out] == [r["text"] for r in rows]


def test_all_input_fields_survive() -> None:
    row = gcp_row(T0, ip=EGRESS)
    row.update({"index": "gcp", "custom": "keep me", "match_status": "stale"})
    [item] = run([row], 10)[0]
    record = to_record(item)
    assert record["custom"] == "keep me" and record["_raw"] == row["_raw"] and record["index"] == "gcp"
    assert record["match_status"] == "unidentified"
    assert json.loads(record["_raw"])["data"]["insertId"] == "abc123"


def test_vpn_and_lease_older_than_lookback_are_not_used() -> None:
    rows = [gcp_row(T0, ip="198.51.100.7"), vpn(T0 - 5 * 3600, "198.51.100.7", "10.250.0.9", "a.b", "L", 8 * 3600)]
    assert names(run(newest_first(rows), 50, lookback=4 * 3600)[0]) == {"abc123": ""}
    assert names(run(newest_first(rows), 50, lookback=6 * 3600)[0]) == {"abc123": "a.b"}


def test_an_error_deep_in_parsing_or_scoring_costs_a_row_not_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    import guardrail.correlate.engine as engine_module

    def broken(*args: Any) -> Any:
        raise TypeError("unexpected shape")

    monkeypatch.setattr(engine_module, "resolve", broken)
    monkeypatch.setattr(engine_module, "parse_cim", broken)
    rows = newest_first([gcp_row(T0, ip=EGRESS, insert_id="a"), gcp_row(T0 - 1, ip=EGRESS, insert_id="b"),
                         nat(T0, "10.1.2.3", EGRESS)])
    out, engine = run(rows, 2)
    assert [to_record(i)["match_status"] for i in out] == ["unidentified", "unidentified"]
    assert engine.stats["bad:denied events that could not be correlated (TypeError)"] == 2
    assert engine.stats["bad:unreadable evidence rows (TypeError)"] == 1


@pytest.mark.parametrize("method, reads", [
    ("v1.compute.instances.get", True), ("google.cloud.notebooks.v1.NotebookService.GetInstance", True),
    ("beta.compute.instances.aggregatedList", True), ("storage.objects.list", True),
    ("google.iam.v1.IAMPolicy.TestIamPermissions", True), ("v1.compute.projects.getIamPolicy", True),
    ("SearchAllResources", True), ("v1.compute.instances.insert", False), ("CreateInstance", False),
    ("google.cloud.notebooks.v1.NotebookService.StartInstance", False), ("SetIamPolicy", False),
    ("Listen", False), ("getaway", False), ("", False)])
def test_which_methods_only_read(method: str, reads: bool) -> None:
    assert reads_only(method) is reads
