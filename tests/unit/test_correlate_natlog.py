"""How the NAT log's completeness is judged: from the stream (``natlog=stream``), from the check
counts the scheduled check search keeps (``natlog=summary``), and the checks themselves
(``natlog=checks``)."""

from __future__ import annotations

from typing import Dict, List

import pytest
from guardrail.correlate.index import CHECK_BUCKET, bucket_of
from guardrail.correlate.options import Options
from guardrail.correlate.render import to_record

from devtools import natlog
from tests.unit.correlate_builders import T0, Row, dhcp, gcp_row, logon, nat, newest_first, proxy, run, signin

EGRESS = "203.0.113.10"


def office(t: float = T0) -> List[Row]:
    return [dhcp(t - 3600, "10.1.2.3", "LAPTOP-A"), logon(t - 1800, "CORP\\avery.lin", "LAPTOP-A"),
            dhcp(t - 3600, "10.1.2.4", "LAPTOP-B"), logon(t - 1800, "CORP\\blake.ng", "LAPTOP-B")]


def counts(ip: str, at: float, ok: int, missing: int) -> Row:
    return {"nat_log_ip": ip, "nat_log_bucket": f"{bucket_of(at):.0f}", "nat_log_ok": str(ok),
            "nat_log_missing": str(missing)}


def the_call() -> List[Row]:
    """A masked call through the egress, one translation at its second (avery's laptop)."""
    return [gcp_row(T0, ip=EGRESS), nat(T0 + 1, "10.1.2.3", EGRESS), *office()]


def verdict(rows: List[Row], extra: List[Row] = (), **options: object) -> Dict[str, object]:  # type: ignore[assignment]
    out, _engine = run(newest_first(rows) + list(extra), 1000, **options)
    [denied] = [to_record(r) for r in out if r.entry is not None]
    return denied


def test_summary_names_through_a_complete_log_and_says_how_far_it_counted() -> None:
    r = verdict(the_call(), [counts(EGRESS, T0 - 3 * 3600, 40, 0)], natlog="summary")
    assert (r["match_status"], r["identified_user"]) == ("identified", "CORP\\avery.lin")
    assert any("40 calls within 12 h each had a translation" in line for line in r["match_evidence"])


def test_summary_without_counts_rules_nobody_out() -> None:
    r = verdict(the_call(), natlog="summary")
    assert r["match_status"] == "unidentified" and r["identified_user"] == ""
    assert any("NAT log shows nothing around the call" in line for line in r["match_evidence"])
    # judged from the stream, the call is its own check (its translation is there)
    assert verdict(the_call())["match_status"] == "identified"


def test_a_lost_translation_in_the_window_makes_the_log_incomplete() -> None:
    lost = verdict(the_call(), [counts(EGRESS, T0 - 3 * 3600, 40, 0), counts(EGRESS, T0 + 11 * 3600, 9, 1)],
                   natlog="summary")
    assert lost["match_status"] != "identified" and lost["identified_user"] == ""
    assert any("1 of 50 calls within 12 h had no translation" in line for line in lost["match_evidence"])
    # beyond the window (and its bucket) it does not count; a narrower window leaves it out
    far = bucket_of(T0 + 12 * 3600) + CHECK_BUCKET
    kept = verdict(the_call(), [counts(EGRESS, T0, 40, 0), counts(EGRESS, far, 9, 1)], natlog="summary")
    assert kept["match_status"] == "identified"
    narrow = verdict(the_call(), [counts(EGRESS, T0, 40, 0), counts(EGRESS, T0 + 11 * 3600, 9, 1)],
                     natlog="summary", natlog_window=7200.0)
    assert narrow["match_status"] == "identified"


def test_a_later_row_for_the_same_bucket_replaces_the_earlier() -> None:
    r = verdict(the_call(), [counts(EGRESS, T0, 9, 1), counts(EGRESS, T0, 10, 0)], natlog="summary")
    assert r["match_status"] == "identified"


def test_counts_rows_may_come_anywhere_and_never_move_the_frontier() -> None:
    # appended after a newest-first stream, hours older than its end: still ordered, nothing held back
    rows = [*newest_first(the_call()), counts(EGRESS, T0 - 20 * 3600, 40, 0), counts(EGRESS, T0, 40, 0)]
    out, engine = run(rows, 2, natlog="summary")
    assert engine.mode == "descending" and engine.stats["evidence"] >= 2
    [denied] = [to_record(r) for r in out if r.entry is not None]
    assert denied["identified_user"] == "CORP\\avery.lin"


def test_stream_mode_counts_but_does_not_read_counts_rows() -> None:
    _out, engine = run([*newest_first(the_call()), counts(EGRESS, T0, 40, 0)], 1000)
    assert engine.stats["nat log check rows not read (natlog is not summary)"] == 1


@pytest.mark.parametrize("bad", [
    {"nat_log_ip": "not an address", "nat_log_bucket": str(T0), "nat_log_ok": "1", "nat_log_missing": "0"},
    {"nat_log_ip": EGRESS, "nat_log_bucket": "soon", "nat_log_ok": "1", "nat_log_missing": "0"},
    {"nat_log_ip": EGRESS, "nat_log_bucket": str(T0), "nat_log_ok": "-1", "nat_log_missing": "0"},
    {"nat_log_ip": EGRESS, "nat_log_bucket": str(T0), "nat_log_ok": "x", "nat_log_missing": "0"},
    {"nat_log_ip": EGRESS, "nat_log_bucket": str(T0), "nat_log_ok": "\u0663", "nat_log_missing": "0"},  # ٣
    {"nat_log_ip": EGRESS, "nat_log_bucket": str(T0), "nat_log_ok": "9" * 5000, "nat_log_missing": "0"},
])
def test_a_bad_counts_row_is_counted_and_the_search_goes_on(bad: Row) -> None:
    out, engine = run([*newest_first(the_call()), bad], 1000, natlog="summary")
    assert engine.stats["bad:NAT log check rows without a usable address, _time or counts"] == 1
    assert len([r for r in out if r.entry is not None]) == 1


def test_keep_evidence_passes_counts_rows_through_too() -> None:
    rows = [*newest_first(the_call()), counts(EGRESS, T0, 40, 0)]
    out, _engine = run(rows, 1000, natlog="summary", keep_evidence=True)
    passed = [to_record(r) for r in out if r.entry is None]
    assert len(passed) == len(rows) - 1 and any(r.get("nat_log_ip") == EGRESS for r in passed)


def checks_of(rows: List[Row]) -> List[Dict[str, object]]:
    return natlog.checks(newest_first(rows))


def test_checks_mode_outputs_one_row_per_check_and_no_denied_event() -> None:
    rows = [*the_call(), gcp_row(T0 + 600, ip=EGRESS, principal="blake.ng@example-corp.com", code=0,
                                 log="activity", insert_id="v1"),
            gcp_row(T0 + 900, ip="198.51.100.7", principal="casey.ho@example-corp.com", code=0, log="activity",
                    insert_id="v2"),
            gcp_row(T0 + 950, ip="10.9.9.9", code=0, log="activity", insert_id="private")]
    out, _engine = run(newest_first(rows), 1000, natlog="checks")
    assert all(r.entry is None for r in out)  # the checks, not the denied event
    found = sorted((float(str(c["_time"])), c["nat_log_ip"], c["nat_log_ok"]) for c in checks_of(rows))
    assert found == [(T0, EGRESS, "1"), (T0 + 600, EGRESS, "0"), (T0 + 900, "198.51.100.7", "0")]


def test_a_call_through_the_proxy_or_on_an_open_connection_is_no_check() -> None:
    agent = "google-cloud-sdk gcloud/480.0.0 command/x invocation-id/run-1 environment/None"
    opened = gcp_row(T0, ip=EGRESS, agent=agent, principal="blake.ng@example-corp.com", code=0, log="activity",
                     insert_id="first")
    reused = gcp_row(T0 + 30, ip=EGRESS, agent=agent, principal="blake.ng@example-corp.com", code=0,
                     log="activity", insert_id="second")
    proxied = gcp_row(T0 + 600, ip=EGRESS, principal="casey.ho@example-corp.com", code=0, log="activity",
                      insert_id="proxied")
    rows = [opened, reused, proxied, proxy(T0 + 601, "casey.ho@example-corp.com", "10.1.2.9", "compute.googleapis.com")]
    assert [float(str(c["_time"])) for c in checks_of(rows)] == [T0]


def test_the_counts_are_the_checks_per_address_and_bucket() -> None:
    found = [{"_time": str(T0 + d), "nat_log_ip": ip, "nat_log_ok": ok} for d, ip, ok in
             ((0, EGRESS, "1"), (10, EGRESS, "0"), (CHECK_BUCKET, EGRESS, "1"), (5, "198.51.100.7", "0"))]
    got = {(c["nat_log_ip"], c["_time"]): (c["nat_log_ok"], c["nat_log_missing"]) for c in natlog.counts(found)}
    b = bucket_of(T0)
    assert got[(EGRESS, f"{b:.0f}")] == ("1", "1") and got[(EGRESS, f"{b + CHECK_BUCKET:.0f}")] == ("1", "0")
    assert got[("198.51.100.7", f"{b:.0f}")] == ("0", "1") and len(got) == 3
    assert natlog.counts(found, lo=T0 + 1) != natlog.counts(found)


def test_options_name_the_modes() -> None:
    assert Options().natlog == "stream" and Options().natlog_window == 43200.0
    from guardrail.correlate.options import parse_options
    from guardrail.errors import OptionError

    assert parse_options({"natlog": " Summary "}).natlog == "summary"
    with pytest.raises(OptionError, match="expected stream, summary or checks"):
        parse_options({"natlog": "both"})
    with pytest.raises(OptionError):
        parse_options({"natlog_window": "1m"})


def test_other_devices_translations_minutes_off_keep_an_egress_shared() -> None:
    """An office egress whose NAT log lost the call's own translation, with no check of it counted
    yet, and one colleague's sign-in from it two minutes earlier: the other devices' translations
    around the call show many people behind the address, so the sign-in names nobody."""
    rows = [gcp_row(T0, ip=EGRESS), nat(T0 - 100, "10.1.2.3", EGRESS), nat(T0 + 200, "10.1.2.4", EGRESS),
            nat(T0 - 250, "10.1.2.5", EGRESS), signin(T0 - 120, "casey.ho@example-corp.com", EGRESS)]
    for extra, options in (([], {}), ([counts(EGRESS, T0, 0, 1)], {"natlog": "summary"})):
        r = verdict(rows, extra, **options)
        assert r["match_status"] == "unidentified" and r["identified_user"] == "", options
    # the same sign-in at an address with no translations around it is a home's: it names
    home = [gcp_row(T0, ip="198.51.100.7"), signin(T0 - 120, "casey.ho@example-corp.com", "198.51.100.7")]
    assert verdict(home, [counts("198.51.100.7", T0, 0, 1)], natlog="summary")["match_status"] == "identified"


def seen(ip: str, at: float) -> Row:
    """A time a translation to ``ip`` was seen (what ``guardrail_presence`` appends)."""
    return {"_time": f"{at:.3f}", "nat_log_ip": ip, "nat_log_seen": "1"}


@pytest.mark.parametrize("offset", [-Options().point_back, Options().forward])
def test_translations_seen_around_the_call_keep_an_egress_shared(offset: float) -> None:
    """The same office egress when the correlation reads its translations only at the call's second:
    the times other translations were seen, appended after the stream, show the egress as well as the
    translations themselves did, up to the horizon's bounds and no further."""
    rows = [gcp_row(T0, ip=EGRESS), signin(T0 - 120, "casey.ho@example-corp.com", EGRESS)]
    extra = [counts(EGRESS, T0, 0, 1)]
    assert verdict(rows, extra, natlog="summary")["match_status"] == "identified"
    r = verdict(rows, [*extra, seen(EGRESS, T0 + offset)], natlog="summary")
    assert r["match_status"] == "unidentified" and r["identified_user"] == ""
    beyond = T0 + offset + (0.001 if offset > 0 else -0.001)
    assert verdict(rows, [*extra, seen(EGRESS, beyond)], natlog="summary")["match_status"] == "identified"
    # another address's, or one read in another mode, is no sign of this egress
    assert verdict(rows, [*extra, seen("198.51.100.9", T0)], natlog="summary")["match_status"] == "identified"
    assert verdict(rows, [seen(EGRESS, T0)])["match_status"] == "identified"


def test_unreadable_seen_rows_are_reported_not_used() -> None:
    rows = [gcp_row(T0, ip=EGRESS), signin(T0 - 120, "casey.ho@example-corp.com", EGRESS)]
    bad = [{"_time": "", "nat_log_ip": EGRESS, "nat_log_seen": "1"}, {"_time": f"{T0:.3f}", "nat_log_ip": "egress",
                                                                        "nat_log_seen": "1"}]
    out, engine = run([*newest_first(rows), counts(EGRESS, T0, 0, 1), *bad], 1000, natlog="summary")
    assert [to_record(r)["match_status"] for r in out if r.entry is not None] == ["identified"]
    reason = "rows of translations or devices seen (nat_log_seen) without a usable address or _time"
    assert engine.stats["bad:" + reason] == 2


def test_a_cut_presence_search_takes_no_address_for_one_persons() -> None:
    """``guardrail_presence`` says it was cut (too many rows, too long): the sign-in of a home no longer
    names anyone, and the job inspector says why."""
    rows = [gcp_row(T0, ip="198.51.100.7"), signin(T0 - 120, "casey.ho@example-corp.com", "198.51.100.7")]
    extra = [counts("198.51.100.7", T0, 0, 1)]
    assert verdict(rows, extra, natlog="summary")["match_status"] == "identified"
    cut = {"_time": f"{T0:.3f}", "nat_log_ip": "*", "nat_log_seen": "all"}
    out, engine = run([*newest_first(rows), *extra, cut], 1000, natlog="summary")
    assert [to_record(r)["match_status"] for r in out if r.entry is not None] == ["unidentified"]
    assert any("guardrail_presence" in w for w in engine.take_warnings())
