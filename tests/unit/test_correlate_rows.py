"""The engine's row loop on odd rows: one classifier for both ways in, usable times only, the order
read from the first two distinct times, repeated column names."""

from __future__ import annotations

import random
from typing import Any, Dict, List, Tuple

import pytest
from guardrail.correlate.engine import (
    ASCENDING,
    DESCENDING,
    ROW_FDR,
    ROW_GCP,
    ROW_OTHER,
    ROW_UNUSED_TAGS,
    UNKNOWN,
    UNORDERED,
    Correlator,
    _Plan,
    epoch,
)
from guardrail.correlate.options import Options
from guardrail.correlate.render import ChunkTable, to_record

from tests.unit.correlate_builders import (
    T0,
    Row,
    as_table,
    dhcp,
    fdr,
    gcp_row,
    logon,
    nat,
    newest_first,
    proxy,
    run,
    signin,
    vpn,
)

EGRESS = "203.0.113.10"


def both_ways(rows: List[Row], chunk: int = 5, **options: Any) -> Tuple[List[Dict[str, Any]], Correlator,
                                                                     List[Dict[str, Any]], Correlator]:
    """The same rows through feed_rows and feed_records: (records out, engine) of each."""
    results: List[Any] = []
    for path in ("rows", "records"):
        out, engine = run(rows, chunk, path, **options)
        records = [{k: v for k, v in to_record(item).items() if not k.startswith("__mv_")} for item in out]
        results += [records, engine]
    return results[0], results[1], results[2], results[3]


def same_answer(rows: List[Row], **options: Any) -> Correlator:
    fast, fast_engine, slow, slow_engine = both_ways(rows, **options)
    assert [r.get("match_status") for r in fast] == [r.get("match_status") for r in slow]
    assert [(r.get("identified_user"), r.get("match_evidence")) for r in fast] == \
        [(r.get("identified_user"), r.get("match_evidence")) for r in slow]
    assert fast_engine.stats == slow_engine.stats
    assert fast_engine.mode == slow_engine.mode
    assert fast_engine.summary() == slow_engine.summary()
    return fast_engine


# --- one classifier ---------------------------------------------------------------------------------


@pytest.mark.parametrize("row,kind", [
    ({"_time": "1", "protoPayload.serviceName": "compute.googleapis.com"}, ROW_GCP),
    ({"_time": "1", "data.protoPayload.methodName": "v1.compute.instances.insert"}, ROW_GCP),
    ({"_time": "1", "logName": "projects/p/logs/cloudaudit.googleapis.com%2Fpolicy"}, ROW_GCP),
    ({"_time": "1", "_raw": '{"protoPayload": {}}', "tag": "network\ncommunicate"}, ROW_GCP),
    ({"_time": "1", "_raw": '{"protoPayload": {}}', "event_simpleName": "DnsRequest"}, ROW_FDR),
    ({"_time": "1", "tag": "network\ncommunicate"}, "nat"),
    ({"_time": "1", "tag": "change\naudit"}, ROW_UNUSED_TAGS),
    ({"_time": "1", "text": "protoPayload"}, ROW_OTHER),
])
def test_one_classifier_decides_what_a_row_is(row: Row, kind: str) -> None:
    header = tuple(row)
    assert _Plan(header, {}).classify(list(row.values())) == kind


def test_a_row_whose_only_gcp_field_is_the_service_name_is_an_audit_entry_both_ways() -> None:
    row = {"_time": f"{T0:.3f}", "protoPayload.serviceName": "compute.googleapis.com"}
    engine = same_answer([row])
    assert engine.stats["gcp_other"] == 1 and engine.stats["other"] == 0


def test_a_malformed_dhcp_row_moves_the_frontier_both_ways() -> None:
    malformed = dhcp(T0 - 100, "", "")  # a lease without address or device: skipped, but its time is real
    engine = same_answer([{"_time": f"{T0:.3f}", "text": "x"}, malformed])
    assert engine.mode == DESCENDING
    assert engine.stats["bad:DHCP lease without dest_ip or dest_nt_host"] == 1


@pytest.mark.parametrize("seed", range(6))
def test_both_ways_in_give_one_answer_on_mixed_and_broken_rows(seed: int) -> None:
    rng = random.Random(seed)
    rows: List[Row] = []
    for n in range(40):
        t = T0 - n * 97.0
        ip, host = f"10.1.2.{n + 2}", f"LAPTOP-{n}"
        rows += [gcp_row(t, ip=EGRESS, insert_id=f"id{n}"), nat(t - 0.5, ip, EGRESS), dhcp(t - 900, ip, host),
                 logon(t - 600, f"user{n}", host), signin(t - 30, "other.person", "198.51.100.1"),
                 proxy(t - 1, "", ip, "compute.googleapis.com"), fdr(t - 2, "DnsRequest", host, domain="x.example"),
                 vpn(t - 50, "198.51.100.9", "10.250.0.9", "v.p", host)]
    for row in rows:
        if rng.random() < 0.2:
            field = rng.choice([k for k in row if k != "_raw"] + ["_time", "_time"])
            row[field] = rng.choice(["", "nan", "1e20", "garbage", "-1", "１０．０．０．１", "{", "٥"])
    rows.sort(key=lambda r: -epoch(r["_time"]) if epoch(r["_time"]) == epoch(r["_time"]) else 0.0)
    same_answer(rows, lookback=3600)


def test_preloaded_rows_are_told_apart_by_the_same_classifier() -> None:
    engine = Correlator()
    extracted_only = {"_time": f"{T0:.3f}", "protoPayload.serviceName": "compute.googleapis.com",
                      "protoPayload.requestMetadata.callerIp": EGRESS}
    assert engine.preload([extracted_only, {**nat(T0, "10.1.2.3", EGRESS), "_time": "nan"}]) == 1
    assert engine.stats["bad:evidence lookup rows: no usable _time"] == 1


# --- usable times -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,usable", [
    ("1790000000.125", True), ("0", True), ("4102444799.9", True), (" 1790000000 ", True),
    ("", False), ("nan", False), ("NaN", False), ("inf", False), ("-inf", False), ("1e20", False),
    ("-1e20", False), ("-1", False), ("4102444800", False), ("١٧٩٠٠٠٠٠٠٠", False), ("１７９０", False),
    ("yesterday", False), ("1e308", False),
])
def test_a_usable_time_is_ascii_finite_and_in_range(text: str, usable: bool) -> None:
    t = epoch(text)
    assert (t == t) is usable


@pytest.mark.parametrize("path", ["rows", "records"])
@pytest.mark.parametrize("bad_time", ["nan", "inf", "1e20", "٥"])
def test_a_denied_row_with_a_broken_time_goes_out_at_once(path: str, bad_time: str) -> None:
    engine = Correlator(Options(lookback=3600))
    broken = dict(gcp_row(T0 + 10, ip=EGRESS, insert_id="broken"), _time=bad_time)
    other = dict(gcp_row(T0 + 5, ip=EGRESS, principal="a@b.c", log="activity", code=0, insert_id="o"),
                 _time=bad_time)
    rows = [broken, other, gcp_row(T0, ip=EGRESS, insert_id="good"), nat(T0 - 1, "10.1.2.3", EGRESS)]
    if path == "rows":
        header, table = as_table(rows)
        out = engine.feed_rows(header, table)
    else:
        out = engine.feed_records(rows)
    [first] = out
    record = to_record(first)
    assert record["match_status"] == "unidentified" and record["gcp_method"] == "v1.compute.instances.insert"
    assert record["match_evidence"] == ["denied event has no usable _time; see job inspector"]
    assert engine.held == 1 and engine.mode == DESCENDING
    assert engine.stats["bad:GCP rows with an unusable _time"] == 2
    assert (engine.stats["denied"], engine.stats["gcp_other"]) == (2, 1)


def test_an_absurd_logentry_timestamp_is_no_time_either() -> None:
    row = gcp_row(T0, ip=EGRESS)
    row["_time"] = ""
    row["_raw"] = row["_raw"].replace('"2026-09-21T00:00:00Z"', '"9999-12-31T23:59:59Z"')
    engine = Correlator()
    [item] = engine.feed_records([row]) + engine.finish()
    assert to_record(item)["match_status"] == "unidentified"
    assert engine.stats["bad:no usable _time or timestamp"] == 1 and engine.mode == UNKNOWN


# --- order --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("times,mode", [
    ([T0, T0 - 1], DESCENDING),
    ([T0, T0, T0 - 0.001], DESCENDING),
    ([T0, T0 + 1], ASCENDING),
    ([T0, T0], UNKNOWN),
    ([T0, T0 + 5, T0 - 10, T0 - 30, T0 - 70, T0 - 50], DESCENDING),  # jitter before the span passes slack
    ([T0, T0 - 61, T0 - 62, T0 + 1], UNORDERED),
    # one row far below the rest is not yet the frontier: the next row may show it was a wrong time
    ([T0, T0 - 61, T0 + 1], DESCENDING),
])
def test_order_is_read_from_the_first_two_distinct_times(times: List[float], mode: str) -> None:
    engine = Correlator(Options(skew=60))
    engine.feed_records([{"_time": repr(t), "text": "x"} for t in times])
    assert engine.mode == mode


def test_strictly_descending_times_release_and_prune_as_they_go() -> None:
    engine = Correlator(Options(lookback=3600))
    engine.prune_floor = 50
    rows = [gcp_row(T0, ip=EGRESS, insert_id="a"), nat(T0 - 0.5, "10.1.2.3", EGRESS)]
    rows += [nat(T0 - 1 - 3.7 * k, f"10.9.{k // 200}.{k % 200}", "198.51.100.7") for k in range(3000)]
    assert len({r["_time"] for r in rows}) == len(rows)
    out = []
    peak = 0
    for i in range(0, len(rows), 100):
        out += engine.feed_records(rows[i:i + 100])
        peak = max(peak, len(engine.store))
    assert [to_record(item)["match_status"] for item in out] == ["unidentified"]  # released before the end
    assert engine.mode == DESCENDING and engine.stats["evidence pruned"] > 0
    assert peak < 1500  # an hour and a bit of 3.7 s rows, not the 3,000 of the stream


# --- repeated column names ------------------------------------------------------------------------


def test_a_repeated_column_keeps_its_first_and_is_counted() -> None:
    row = gcp_row(T0, ip=EGRESS)
    header = ["_time", "_raw", "sourcetype", "_raw", "_time"]
    values = [row["_time"], row["_raw"], row["sourcetype"], "", "nan"]
    engine = Correlator()
    out = engine.feed_rows(header, [values]) + engine.feed_rows(header, [values]) + engine.finish()
    assert [to_record(item)["match_status"] for item in out] == ["unidentified", "unidentified"]
    assert engine.stats["fixed:duplicate column names (first kept)"] == 4  # two per chunk
    assert engine.take_warnings() == [
        "correlatepolicydenied: column _raw appears more than once in the input; the first is used",
        "correlatepolicydenied: column _time appears more than once in the input; the first is used"]
    table = ChunkTable(out)
    assert table.header.count("_raw") == 1
    assert table.rows()[0][table.header.index("_raw")] == row["_raw"]
    assert to_record(out[0])["_time"] == row["_time"]


def test_both_ways_agree_on_newest_first_traffic() -> None:
    rows = newest_first([gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), dhcp(T0 - 60, "10.1.2.3", "L"),
                         logon(T0 - 30, "a.b", "L")])
    engine = same_answer(rows)
    assert engine.stats["denied"] == 1
