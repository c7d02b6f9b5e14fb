"""The attribution model's parts: VPN pairing, NAT-log health, sensor ids, addresses one person uses,
explaining away, exclusion by a complete NAT log, and the documented confidence of each chain."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from guardrail.correlate.decide import LINK, RELIABILITY
from guardrail.correlate.engine import Correlator
from guardrail.correlate.evidence import parse_cim, parse_fdr
from guardrail.correlate.index import EvidenceStore
from guardrail.correlate.model import AuditEntry, Nat, Session, Sighting
from guardrail.correlate.options import Options
from guardrail.correlate.render import to_record

from tests.unit.correlate_builders import (
    T0,
    Row,
    dhcp,
    fdr,
    gcloud_agent,
    gcp_row,
    logon,
    nat,
    newest_first,
    proxy,
    signin,
    vpn,
)

EGRESS = "203.0.113.10"
HOME = "198.51.100.7"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


def verdicts(rows: List[Row], **options: Any) -> Dict[str, Dict[str, Any]]:
    engine = Correlator(Options(**options))
    out = {}
    for item in engine.feed_records(newest_first(rows)) + engine.finish():
        assert item.entry is not None
        out[item.entry.insert_id] = to_record(item)
    return out


def one(rows: List[Row], **options: Any) -> Dict[str, Any]:
    [record] = verdicts(rows, **options).values()
    return record


def office(ip: str, host: str, user: str) -> List[Row]:
    return [dhcp(T0 - 3600, ip, host), logon(T0 - 1800, user, host)]


# ---- VPN start and end rows ----------------------------------------------------------------------


def mark(t: float, kind: str, user: str = "avery.lin", duration: str = "") -> Row:
    row = vpn(t, HOME, "10.250.0.9", user, "LAPTOP-A")
    row["tag"] = "network\nsession\nvpn\n" + kind
    row["duration"] = duration
    return row


@pytest.mark.parametrize("rows,up", [
    ([mark(T0 - 3600, "start"), mark(T0 + 600, "end")], True),
    ([mark(T0 + 600, "end", duration="7200")], True),
    ([mark(T0 + 600, "end")], True),  # began before the window
    ([mark(T0 - 3600, "start")], True),  # not ended yet
    ([mark(T0 - 3600, "start"), mark(T0 - 600, "end")], False),
    ([mark(T0 + 300, "start"), mark(T0 + 900, "end", duration="600")], False),
    ([mark(T0 - 7200, "start"), mark(T0 - 3600, "start"), mark(T0 - 60, "end")], False),
])
def test_vpn_start_and_end_rows_pair_per_user(rows: List[Row], up: bool) -> None:
    store = EvidenceStore()
    for row in rows:
        for rec in parse_cim("vpn " + row["tag"].split("\n")[-1], row, float(row["_time"])):
            store.add(rec)
    found = store.sessions(HOME, T0, 43200, 2)
    assert bool(found) is up
    assert one([gcp_row(T0, ip=HOME), *rows])["match_status"] == ("identified" if up else "unidentified")


# ---- the NAT log's health ------------------------------------------------------------------------


def entry(t: float, principal: str = "", agent: str = BROWSER, ip: str = EGRESS) -> AuditEntry:
    return AuditEntry(t, False, not principal, False, principal, ip, ip, agent, "", "", False, "p", "s", "m", "r",
                      "", str(t), public=True)


def health(nats: List[float], calls: List[AuditEntry]) -> str:
    store = EvidenceStore()
    for t in nats:
        store.add(Nat(t, EGRESS, "10.1.2.3", "", "fw"))
    for call in calls:
        store.add_audit(call)
    store.health.settle(store, 2.0, 120.0, 60.0, lambda _t: True)
    return store.health.state(EGRESS, T0)[0]


def test_nat_log_is_complete_when_every_call_had_a_translation() -> None:
    assert health([T0, T0 + 600], [entry(T0, "a"), entry(T0 + 600, "b")]) == "complete"


def test_one_call_without_a_translation_makes_it_incomplete() -> None:
    assert health([T0], [entry(T0, "a"), entry(T0 + 600, "b")]) == "incomplete"


def test_an_address_without_any_translation_has_no_nat_log() -> None:
    assert health([], [entry(T0, "a"), entry(T0 + 60, "b")]) == "absent"


def test_a_call_riding_its_program_s_open_connection_is_no_check() -> None:
    # the second call of the same program 30 s later needs no translation of its own
    assert health([T0], [entry(T0, "a"), entry(T0 + 30, "a")]) == "complete"
    assert health([T0], [entry(T0, "a"), entry(T0 + 30, "b", agent="Terraform/1.9")]) == "incomplete"


# ---- EDR sensor ids, ports ----------------------------------------------------------------------


def test_a_record_naming_only_the_sensor_takes_the_device_another_record_names() -> None:
    store = EvidenceStore()
    named, bare = parse_fdr({"event_simpleName": "AgentOnline", "aid": "AB12", "ComputerName": "LAPTOP-A"}, T0)[0], \
        parse_fdr({"event_simpleName": "DnsRequest", "aid": "ab12", "DomainName": "compute.googleapis.com"}, T0)[0]
    assert isinstance(bare, Sighting) and bare.host == "" and bare.aid == "ab12"
    store.add(named)
    assert store.host_of(bare) == "LAPTOP-A"


def test_translations_to_ports_an_api_call_never_uses_are_ignored() -> None:
    for port, kept in (("443", True), ("80", True), ("", True), ("53", False), ("123", False)):
        row = nat(T0, "10.1.2.3", EGRESS)
        row["dest_port"] = port
        assert bool(parse_cim("nat", row, T0)) is kept, port


# ---- addresses one person uses, and shared ones ------------------------------------------------


def test_a_sign_in_names_the_one_person_seen_at_an_address() -> None:
    r = one([gcp_row(T0, ip=HOME), signin(T0 - 120, "avery.lin", HOME)])
    assert (r["match_status"], r["identified_user"]) == ("identified", "avery.lin")
    assert r["match_confidence"] == f"{RELIABILITY['personal address']:.3f}"


def test_a_sign_in_at_an_address_several_people_use_names_nobody() -> None:
    r = one([gcp_row(T0, ip=HOME), signin(T0 - 120, "avery.lin", HOME), signin(T0 - 200, "blake.ng", HOME)])
    assert r["match_status"] == "ambiguous" and r["identified_user"] == ""
    assert "is shared" in r["match_evidence"][0]


# ---- exclusion and explaining away ----------------------------------------------------------------


def test_a_complete_nat_log_rules_out_a_look_up_without_a_translation() -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), *office("10.1.2.3", "LAPTOP-A", "avery.lin"),
            *office("10.1.2.4", "LAPTOP-B", "blake.ng"),
            fdr(T0 + 30, "DnsRequest", "LAPTOP-B", aip=EGRESS, local="10.1.2.4", domain="compute.googleapis.com")]
    r = one(rows)
    assert (r["match_status"], r["identified_user"]) == ("identified", "avery.lin")
    assert any(line.startswith("ruled out blake.ng: no translation of LAPTOP-B") for line in r["match_evidence"])


def test_a_nat_log_that_misses_connections_rules_out_nobody() -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), *office("10.1.2.3", "LAPTOP-A", "avery.lin"),
            *office("10.1.2.4", "LAPTOP-B", "blake.ng"),
            fdr(T0 + 30, "DnsRequest", "LAPTOP-B", aip=EGRESS, local="10.1.2.4", domain="compute.googleapis.com"),
            gcp_row(T0 + 900, ip=EGRESS, principal="casey@example-corp.com", log="activity", code=0, insert_id="x")]
    r = verdicts(rows)["abc123"]
    assert r["match_status"] == "ambiguous"
    assert sorted(r["candidate_users"]) == ["avery.lin", "blake.ng"]
    assert "misses connections" in r["match_evidence"][0]
    assert "(1 of 2 calls within 2 h had no translation)" in r["match_evidence"][0]  # the window it judged


def test_a_colleague_s_own_call_explains_their_translation_away() -> None:
    rows = [gcp_row(T0, ip=EGRESS, agent=gcloud_agent()), nat(T0, "10.1.2.3", EGRESS), nat(T0, "10.1.2.4", EGRESS),
            *office("10.1.2.3", "LAPTOP-A", "avery.lin"), *office("10.1.2.4", "LAPTOP-B", "blake.ng"),
            gcp_row(T0 + 1, ip=EGRESS, agent=BROWSER, principal="blake.ng@example-corp.com", log="activity", code=0,
                    insert_id="own")]
    r = verdicts(rows)["abc123"]
    assert (r["match_status"], r["identified_user"]) == ("identified", "avery.lin")
    assert any(line.split(" ", 2)[2].startswith("explained: blake.ng's own call")
               for line in r["match_evidence"])


def test_an_own_call_seconds_away_from_a_translation_does_not_explain_it() -> None:
    # blake.ng's visible call comes 3.5 s after the masked one: the translation at the masked call's
    # second is beyond the network tolerance of it, so it may be the masked call's (blake made both)
    rows = [gcp_row(T0, ip=EGRESS, agent=gcloud_agent()), nat(T0, "10.1.2.3", EGRESS), nat(T0, "10.1.2.4", EGRESS),
            *office("10.1.2.3", "LAPTOP-A", "avery.lin"), *office("10.1.2.4", "LAPTOP-B", "blake.ng"),
            gcp_row(T0 + 3.5, ip=EGRESS, agent=BROWSER, principal="blake.ng@example-corp.com", log="activity", code=0,
                    insert_id="own")]
    r = verdicts(rows)["abc123"]
    assert r["match_status"] == "ambiguous" and sorted(r["candidate_users"]) == ["avery.lin", "blake.ng"]
    assert not any("explained:" in line for line in r["match_evidence"])


# ---- what match_confidence means -----------------------------------------------------------------


def test_confidence_is_the_product_of_the_chain_s_documented_reliabilities() -> None:
    nat_chain = one([gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), *office("10.1.2.3", "LAPTOP-A", "a.b")])
    assert nat_chain["match_confidence"] == f"{RELIABILITY['NAT translation'] * LINK['lease'] * LINK['logon']:.3f}"
    vpn_chain = one([gcp_row(T0, ip=HOME), vpn(T0 - 600, HOME, "10.250.0.9", "a.b", "L", 3600)])
    assert vpn_chain["match_confidence"] == f"{RELIABILITY['VPN session']:.3f}"
    internal = one([gcp_row(T0, ip="10.1.2.3"), *office("10.1.2.3", "LAPTOP-A", "a.b")])
    assert internal["match_confidence"] == f"{RELIABILITY['internal address'] * LINK['lease'] * LINK['logon']:.3f}"
    sibling = one([gcp_row(T0, ip=HOME, agent=gcloud_agent(), insert_id="denied"),
                   gcp_row(T0 - 2, ip=HOME, agent=gcloud_agent(), principal="a.b@example-corp.com", code=0,
                           log="data_access", insert_id="read")])
    assert sibling["match_confidence"] == f"{RELIABILITY['same gcloud run']:.3f}"


def test_ambiguous_confidence_splits_the_best_chain_between_the_candidates() -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), nat(T0, "10.1.2.4", EGRESS),
            *office("10.1.2.3", "LAPTOP-A", "a.b"), *office("10.1.2.4", "LAPTOP-B", "c.d")]
    r = one(rows)
    assert r["match_status"] == "ambiguous"
    assert r["match_confidence"] == f"{RELIABILITY['NAT translation'] * LINK['lease'] * LINK['logon'] / 2:.3f}"


def test_session_records_keep_their_mark() -> None:
    [start] = parse_cim("vpn start", mark(T0, "start"), T0)
    [end] = parse_cim("vpn end", mark(T0, "end", duration="60"), T0)
    assert isinstance(start, Session) and (start.mark, start.end) == ("start", float("inf"))
    assert isinstance(end, Session) and (end.mark, end.start, end.end) == ("end", T0 - 60, T0)


def test_a_check_reads_its_proxy_record_however_often_the_evidence_is_pruned() -> None:
    """A colleague's call that went through the explicit proxy is no check of the NAT log; the proxy
    record that shows it must still be there when the check is settled. Checks settle in arrival
    order, so a call that arrived a little out of order (within the clock skew) holds the ones behind
    it; the engine used to prune their proxy records meanwhile, and the check then counted as a
    missing translation: the NAT log looked incomplete and nobody was ruled out."""
    rows = newest_first([gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS),
                         *office("10.1.2.3", "LAPTOP-A", "avery.lin"), *office("10.1.2.4", "LAPTOP-B", "blake.ng"),
                         fdr(T0 + 30, "DnsRequest", "LAPTOP-B", aip=EGRESS, local="10.1.2.4",
                             domain="compute.googleapis.com"),
                         gcp_row(T0 + 900, ip=EGRESS, principal="casey@example-corp.com", log="activity", code=0,
                                 insert_id="x"),
                         proxy(T0 + 930, "casey@example-corp.com", "10.1.9.9", "compute.googleapis.com"),
                         # traffic of another egress, enough for the engine to prune on the way
                         *(nat(T0 + 805 - i * 0.5, f"10.9.{i // 200}.{i % 200}", "192.0.2.99") for i in range(400))])
    # a call from elsewhere, 50 s older than casey's, arrives just before it (within the skew)
    early = gcp_row(T0 + 850, ip="198.51.100.50", principal="dana@example-corp.com", log="activity", code=0,
                    insert_id="y")
    at = next(i for i, r in enumerate(rows) if r["_time"] == f"{T0 + 900:.3f}" and "_raw" in r)
    rows.insert(at, early)
    results = []
    for every_row in (True, False):
        engine = Correlator(Options())
        released = []
        for row in rows:
            if every_row:  # prune before every row, as often as the engine ever could
                engine.prune_floor, engine._pruned_size = 0, 0
            released += engine.feed_records([row])
        out = {item.entry.insert_id: to_record(item) for item in released + engine.finish()
               if item.entry is not None}
        results.append(out["abc123"])
    pruned, kept = results
    assert (kept["match_status"], kept["identified_user"]) == ("identified", "avery.lin")
    assert pruned["match_evidence"] == kept["match_evidence"]
