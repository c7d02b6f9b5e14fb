"""Every evidence chain of the contract and every trap, through the engine in both orders and both paths."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from guardrail.correlate.engine import Correlator
from guardrail.correlate.options import Options
from guardrail.correlate.render import to_record
from guardrail.correlate.rules import CROWD

from tests.unit.correlate_builders import (
    T0,
    Row,
    as_table,
    dhcp,
    dhcp_end,
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
INV = "0f4b2c3d-1111-4222-8333-944455556666"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
WAYS = [("desc", "rows"), ("desc", "records"), ("asc", "rows"), ("asc", "records")]


def correlate(rows: List[Row], order: str = "desc", path: str = "rows", **options: Any) -> Dict[str, Dict[str, Any]]:
    """Output records keyed by the denied entry's insertId."""
    ordered = newest_first(rows)
    if order == "asc":
        ordered.reverse()
    engine = Correlator(Options(**options))
    if path == "rows":
        header, table = as_table(ordered)
        released = engine.feed_rows(header, table) + engine.finish()
    else:
        released = engine.feed_records(ordered) + engine.finish()
    out = {}
    for item in released:
        record = to_record(item)
        assert item.entry is not None
        assert item.entry.insert_id not in out, "a denied event came out twice"
        out[item.entry.insert_id] = record
    return out


def verdict(rows: List[Row], order: str = "desc", path: str = "rows", **options: Any) -> Dict[str, Any]:
    [record] = correlate(rows, order, path, **options).values()
    return record


@pytest.mark.parametrize("order,path", WAYS)
def test_vpn_session_active_at_t(order: str, path: str) -> None:
    rows = [gcp_row(T0, ip="198.51.100.7", agent=gcloud_agent(INV)),
            vpn(T0 - 3 * 3600, "198.51.100.7", "10.250.0.9", "CORP\\avery.lin", "LAPTOP-A", 4 * 3600),
            vpn(T0 - 600, "198.51.100.99", "10.250.0.10", "blake.ng", "LAPTOP-B", 3600)]
    r = verdict(rows, order, path)
    assert (r["match_status"], r["identified_user"], r["identified_host"]) == (
        "identified", "CORP\\avery.lin", "LAPTOP-A")
    assert any("VPN src_ip=198.51.100.7" in line for line in r["match_evidence"])


def test_vpn_session_that_ended_before_t_or_began_after_does_not_count() -> None:
    ended = [gcp_row(T0, ip="198.51.100.7"), vpn(T0 - 90000, "198.51.100.7", "10.250.0.9", "carol", "L1", 8 * 3600)]
    assert verdict(ended, lookback=2 * 86400)["match_status"] == "unidentified"
    later = [gcp_row(T0, ip="198.51.100.7"), vpn(T0 + 120, "198.51.100.7", "10.250.0.9", "carol", "L1", 3600)]
    assert verdict(later)["match_status"] == "unidentified"


@pytest.mark.parametrize("order,path", WAYS)
def test_idp_signin_within_window_before_t(order: str, path: str) -> None:
    rows = [gcp_row(T0, ip="198.51.100.7", agent=gcloud_agent(INV)),
            signin(T0 - 200, "avery.lin@example-corp.com", "198.51.100.7")]
    assert verdict(rows, order, path)["identified_user"] == "avery.lin@example-corp.com"
    too_early = [gcp_row(T0, ip="198.51.100.7"), signin(T0 - 1800, "avery.lin@example-corp.com", "198.51.100.7")]
    assert verdict(too_early, order, path)["match_status"] == "unidentified"


def office(t: float = T0) -> List[Row]:
    """Two laptops behind one egress with their leases and logons."""
    return [dhcp(t - 3600, "10.1.2.3", "LAPTOP-A"), logon(t - 1800, "CORP\\avery.lin", "LAPTOP-A"),
            dhcp(t - 3600, "10.1.2.4", "LAPTOP-B"), logon(t - 1800, "CORP\\blake.ng", "LAPTOP-B")]


@pytest.mark.parametrize("order,path", WAYS)
def test_nat_to_dhcp_to_logon(order: str, path: str) -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0 + 1, "10.1.2.3", EGRESS), nat(T0 + 200, "10.1.2.4", EGRESS), *office()]
    r = verdict(rows, order, path)
    assert (r["match_status"], r["identified_user"], r["identified_host"]) == (
        "identified", "CORP\\avery.lin", "LAPTOP-A")
    # NAT, DHCP, logon: each checkable by hand; and why the lone translation decides
    assert [line.split()[0] for line in r["match_evidence"][:3]] == ["pan:traffic", "isc:dhcpd", "XmlWinEventLog"]
    assert "NAT log of 203.0.113.10 complete" in r["match_evidence"][3]


def test_two_users_behind_one_egress_in_the_same_second_are_ambiguous() -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), nat(T0, "10.1.2.4", EGRESS), *office()]
    r = verdict(rows)
    assert r["match_status"] == "ambiguous" and r["identified_user"] == ""
    assert sorted(r["candidate_users"]) == ["CORP\\avery.lin", "CORP\\blake.ng"]


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_proxy_fingerprint_singles_out_one_of_two(order: str) -> None:
    agent = gcloud_agent(INV)
    rows = [gcp_row(T0, ip=EGRESS, agent=agent), nat(T0, "10.1.2.3", EGRESS), nat(T0, "10.1.2.4", EGRESS), *office(),
            proxy(T0, "", "10.1.2.4", "compute.googleapis.com", agent),
            proxy(T0, "CORP\\avery.lin", "10.1.2.3", "compute.googleapis.com", gcloud_agent("other-run"))]
    r = verdict(rows, order)
    assert (r["match_status"], r["identified_user"]) == ("identified", "CORP\\blake.ng")


def test_proxy_with_the_calls_gcloud_invocation_names_the_user_alone() -> None:
    agent = gcloud_agent(INV)
    rows = [gcp_row(T0, ip=EGRESS, agent=agent), proxy(T0 + 1, "avery.lin@example-corp.com", "10.9.9.9",
                                                       "compute.googleapis.com", agent)]
    r = verdict(rows)
    assert (r["match_status"], r["identified_user"]) == ("identified", "avery.lin@example-corp.com")
    assert "same gcloud invocation-id" in r["match_evidence"][0]


@pytest.mark.parametrize("order,path", WAYS)
def test_proxy_host_in_upper_case_counts_on_both_paths(order: str, path: str) -> None:
    # Proxies log hosts as the client sent them; the row path used to skip such rows before parsing.
    agent = gcloud_agent(INV)
    rows = [gcp_row(T0, ip=EGRESS, agent=agent),
            proxy(T0, "CORP\\avery.lin", "10.9.9.9", "COMPUTE.GOOGLEAPIS.COM", agent)]
    rows[1]["url"] = "HTTPS://COMPUTE.GOOGLEAPIS.COM/compute/v1/projects/x"
    r = verdict(rows, order, path)
    assert (r["match_status"], r["identified_user"]) == ("identified", "CORP\\avery.lin")


def test_a_shared_agent_never_picks_between_people_behind_the_address() -> None:
    alone = [gcp_row(T0, ip=EGRESS, agent=BROWSER), proxy(T0, "CORP\\avery.lin", "10.1.2.3",
                                                          "compute.googleapis.com", BROWSER), *office()]
    r = verdict(alone)
    assert (r["match_status"], r["candidate_users"]) == ("unidentified", ["CORP\\avery.lin"])  # anyone's, anywhere
    # Both laptops left through the egress that second; a browser build many people share does not
    # make one of them the caller (nor does a proxy request of one, which is another connection).
    tied = [*alone, nat(T0, "10.1.2.3", EGRESS), nat(T0, "10.1.2.4", EGRESS)]
    r = verdict(tied)
    assert r["match_status"] == "ambiguous"
    assert sorted(r["candidate_users"]) == ["CORP\\avery.lin", "CORP\\blake.ng"]


def test_dhcp_address_handed_to_another_laptop_minutes_before() -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS),
            dhcp(T0 - 3 * 3600, "10.1.2.3", "LAPTOP-OLD", 3 * 3600 - 300), logon(T0 - 3 * 3600, "carol", "LAPTOP-OLD"),
            dhcp(T0 - 240, "10.1.2.3", "LAPTOP-NEW", 8 * 3600), logon(T0 - 3600, "dave", "LAPTOP-NEW")]
    r = verdict(rows)
    assert (r["identified_user"], r["identified_host"]) == ("dave", "LAPTOP-NEW")


def test_no_lease_active_at_t_gives_no_name() -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS),
            dhcp(T0 - 3 * 3600, "10.1.2.3", "LAPTOP-OLD", 3 * 3600 - 300), logon(T0 - 3 * 3600, "carol", "LAPTOP-OLD"),
            dhcp(T0 + 200, "10.1.2.3", "LAPTOP-NEW", 8 * 3600), logon(T0 - 3600, "dave", "LAPTOP-NEW")]
    r = verdict(rows)
    assert r["match_status"] == "unidentified" and r["identified_user"] == ""
    assert any("ended" in line for line in r["match_evidence"])


def test_shared_device_last_logon_before_t_counts() -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), dhcp(T0 - 6 * 3600, "10.1.2.3", "KIOSK-1", 14 * 3600),
            logon(T0 - 5 * 3600, "first", "KIOSK-1"), logon(T0 - 600, "second", "KIOSK-1"),
            logon(T0 + 900, "third", "KIOSK-1")]
    assert verdict(rows)["identified_user"] == "second"


@pytest.mark.parametrize("skew", [-60, -30, 30, 60])
def test_edr_look_up_of_the_api_host_within_clock_skew_at_a_home_address(skew: int) -> None:
    rows = [gcp_row(T0, ip="198.51.100.7"),
            fdr(T0 + skew, "DnsRequest", "LAPTOP-A", user="CORP\\avery.lin", aip="198.51.100.7", local="192.168.1.5",
                domain="compute.googleapis.com")]
    assert verdict(rows)["identified_user"] == "CORP\\avery.lin"


def test_edr_record_about_no_api_host_is_no_evidence_about_the_call() -> None:
    rows = [gcp_row(T0, ip="198.51.100.7"), fdr(T0 + 5, "ProcessRollup2", "LAPTOP-A", user="CORP\\avery.lin",
                                               aip="198.51.100.7", local="192.168.1.5")]
    assert verdict(rows)["match_status"] == "unidentified"


def test_edr_beyond_skew_does_not_count() -> None:
    rows = [gcp_row(T0, ip="198.51.100.7"), fdr(T0 + 90, "DnsRequest", "LAPTOP-A", user="avery.lin",
                                               aip="198.51.100.7", domain="compute.googleapis.com")]
    assert verdict(rows)["match_status"] == "unidentified"


def test_edr_device_without_user_leads_to_logon() -> None:
    rows = [gcp_row(T0, ip="198.51.100.7"), fdr(T0 - 20, "NetworkConnectIP4", "LAPTOP-A", aip="198.51.100.7"),
            fdr(T0 - 21, "DnsRequest", "LAPTOP-A", aip="198.51.100.7", domain="compute.googleapis.com"),
            logon(T0 - 7200, "CORP\\avery.lin", "LAPTOP-A")]
    r = verdict(rows)
    assert (r["identified_user"], r["identified_host"]) == ("CORP\\avery.lin", "LAPTOP-A")


def test_a_device_changing_hands_around_the_call_shows_both_people_at_the_address() -> None:
    """A home where one person signed in: the EDR records of its one device name that person at the
    call and someone else four minutes before. Both were there: nobody is named (the latest record
    alone would have said only the caller's user was)."""
    home = "198.51.100.7"
    rows = [gcp_row(T0, ip=home), signin(T0 - 120, "avery.lin", home),
            fdr(T0 - 250, "ProcessRollup2", "LAPTOP-A", user="CORP\\blake.ng", aip=home, local="192.168.1.5"),
            fdr(T0 - 5, "ProcessRollup2", "LAPTOP-A", user="CORP\\avery.lin", aip=home, local="192.168.1.5")]
    r = verdict(rows)
    assert r["match_status"] != "identified" and r["identified_user"] == ""
    assert verdict(rows[:2] + rows[3:])["identified_user"] == "avery.lin"  # the caller's own device alone


def test_ipv6_written_differently() -> None:
    rows = [gcp_row(T0, ip="2001:db8:1a::3c"),
            vpn(T0 - 600, "2001:0DB8:001A:0000:0000:0000:0000:003C", "10.250.0.9", "avery.lin", "L", 3600)]
    assert verdict(rows)["identified_user"] == "avery.lin"


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_gcloud_invocation_self_join(order: str) -> None:
    agent = gcloud_agent(INV)
    rows = [gcp_row(T0, ip="198.51.100.7", agent=agent, insert_id="denied"),
            gcp_row(T0 - 3, ip="198.51.100.7", agent=agent, principal="avery.lin@example-corp.com", log="data_access",
                    code=0, insert_id="seen")]
    out = correlate(rows, order)
    assert list(out) == ["denied"]  # the other audit entry is evidence, not output
    assert out["denied"]["identified_user"] == "avery.lin@example-corp.com"


def test_same_ip_and_agent_self_join_names_only_at_an_address_one_person_uses() -> None:
    home = [gcp_row(T0, ip="198.51.100.7", agent=BROWSER, insert_id="denied"),
            gcp_row(T0 - 60, ip="198.51.100.7", agent=BROWSER, principal="avery.lin@example-corp.com", log="activity",
                    code=0, insert_id="a")]
    assert correlate(home)["denied"]["identified_user"] == "avery.lin@example-corp.com"
    # At an office egress the same browser build is everyone's: a candidate, not a name.
    office_rows = [gcp_row(T0, ip=EGRESS, agent=BROWSER, insert_id="denied"),
                   gcp_row(T0 - 60, ip=EGRESS, agent=BROWSER, principal="avery.lin@example-corp.com",
                           log="activity", code=0, insert_id="a"),
                   gcp_row(T0 - 30, ip=EGRESS, agent="Mozilla/5.0 Chrome/120", principal="blake.ng@example-corp.com",
                           log="activity", code=0, insert_id="b")]
    r = correlate(office_rows)["denied"]
    assert (r["match_status"], r["candidate_users"]) == ("unidentified", ["avery.lin@example-corp.com"])


AGENT = "service-602214076417@gcp-sa-notebooks.iam.gserviceaccount.com"
NOTEBOOK = "projects/ml-sandbox/zones/us-central1-a/instances/nb-1"


def agent_denied() -> Row:
    """The notebooks service agent's denied call on NOTEBOOK (callerIp private)."""
    return gcp_row(T0, ip="private", principal=AGENT, resource=NOTEBOOK, insert_id="denied")


def notebook_call(t: float, ip: str, principal: str, method: str, insert_id: str, log: str = "activity") -> Row:
    """A browser's call on NOTEBOOK (masked when ``principal`` is empty)."""
    return gcp_row(t, ip=ip, agent=BROWSER, principal=principal, resource=NOTEBOOK, log=log, code=0,
                   method="google.cloud.notebooks.v1.NotebookService." + method, insert_id=insert_id)


def test_service_agent_to_originating_call() -> None:
    rows = [agent_denied(),
            gcp_row(T0 - 5, ip="198.51.100.7", agent=BROWSER, principal="avery.lin@example-corp.com",
                    resource=NOTEBOOK, log="activity", code=0, service="notebooks.googleapis.com", insert_id="origin"),
            gcp_row(T0 - 3, ip="198.51.100.8", agent=BROWSER, principal="blake.ng@example-corp.com",
                    resource=NOTEBOOK.replace("nb-1", "nb-2"), log="activity", code=0, insert_id="other")]
    r = correlate(rows)["denied"]
    assert (r["match_status"], r["identified_user"], r["caller_ip"]) == ("identified", "avery.lin@example-corp.com",
                                                                        "private")
    assert r["gcp_principal"] == AGENT


def test_service_agent_does_not_act_for_a_read_of_its_resource() -> None:
    rows = [agent_denied(),
            notebook_call(T0 - 30, "198.51.100.7", "avery.lin@example-corp.com", "CreateInstance", "origin"),
            notebook_call(T0 - 4, "198.51.100.8", "blake.ng@example-corp.com", "GetInstance", "viewer",
                          log="data_access")]
    for order, path in WAYS:
        r = correlate(rows, order, path)["denied"]
        assert (r["match_status"], r["identified_user"]) == ("identified", "avery.lin@example-corp.com"), (order, path)


def test_service_agent_with_an_origin_that_names_nobody_names_nobody_else() -> None:
    rows = [agent_denied(),
            notebook_call(T0 - 40, "198.51.100.7", "avery.lin@example-corp.com", "StartInstance", "visible"),
            notebook_call(T0 - 10, "198.51.100.9", "", "CreateInstance", "masked")]
    for order, path in WAYS:
        r = correlate(rows, order, path)["denied"]
        assert r["match_status"] != "identified" and r["identified_user"] == "", (order, path)
        assert "avery.lin@example-corp.com" in r["candidate_users"]


def test_service_agent_with_masked_origin_followed_through_vpn() -> None:
    rows = [agent_denied(),
            gcp_row(T0 - 5, ip="198.51.100.7", agent=BROWSER, principal="", resource=NOTEBOOK, log="activity", code=0,
                    insert_id="origin"),
            vpn(T0 - 3600, "198.51.100.7", "10.251.0.4", "avery.lin", "LAPTOP-A", 5 * 3600)]
    assert correlate(rows)["denied"]["identified_user"] == "avery.lin"


@pytest.mark.parametrize("ip", ["gce-internal-ip", "private", "198.51.100.200"])
def test_nothing_to_go_on_is_unidentified(ip: str) -> None:
    rows = [gcp_row(T0, ip=ip), gcp_row(T0 - 10, ip=ip, principal="other@example-corp.com", log="activity", code=0,
                                        insert_id="x")]
    r = correlate(rows)["abc123"]
    assert (r["match_status"], r["identified_user"], r["candidate_users"]) == ("unidentified", "", [])


def test_cloud_shell_address_is_not_followed() -> None:
    agent = gcloud_agent(INV).replace("environment/None", "environment/devshell")
    rows = [gcp_row(T0, ip="34.80.1.2", agent=agent), signin(T0 - 60, "someone", "34.80.1.2")]
    assert verdict(rows)["match_status"] == "unidentified"


def test_internal_caller_ip() -> None:
    rows = [gcp_row(T0, ip="10.1.2.3"), *office()]
    assert verdict(rows)["identified_user"] == "CORP\\avery.lin"


def test_unmasked_principal_is_not_masked() -> None:
    rows = [gcp_row(T0, ip="198.51.100.7", principal="avery.lin@example-corp.com"),
            vpn(T0 - 600, "198.51.100.7", "10.250.0.9", "blake.ng", "L", 3600)]
    r = verdict(rows)
    assert (r["match_status"], r["identified_user"], r["match_confidence"]) == ("not_masked",
                                                                               "avery.lin@example-corp.com", "1.000")


def test_min_confidence_is_honoured() -> None:
    rows = [gcp_row(T0, ip="198.51.100.7"), signin(T0 - 60, "avery.lin", "198.51.100.7")]
    assert verdict(rows)["match_status"] == "identified"
    strict = verdict(rows, min_confidence=0.9)
    assert (strict["match_status"], strict["identified_user"], strict["candidate_users"]) == (
        "unidentified", "", ["avery.lin"])


def test_fingerprints_do_not_apply_to_calls_made_inside_google() -> None:
    # Cloud Shell and service agents never pass the office proxy: a proxy hit at that second is someone else's
    shell = gcloud_agent(INV).replace("environment/None", "environment/devshell")
    rows = [gcp_row(T0, ip="34.80.1.2", agent=shell), proxy(T0, "avery.lin", "10.1.2.3", "compute.googleapis.com")]
    assert verdict(rows)["match_status"] == "unidentified"
    agent = "service-602214076417@gcp-sa-notebooks.iam.gserviceaccount.com"
    res = "projects/ml-sandbox/zones/us-central1-a/instances/nb-1"
    rows = [gcp_row(T0, ip="private", principal=agent, resource=res, insert_id="denied"),
            gcp_row(T0 - 5, ip="198.51.100.7", agent=BROWSER, principal="blake.ng@example-corp.com", resource=res,
                    log="activity", code=0, insert_id="origin"),
            proxy(T0, "avery.lin", "10.1.2.3", "compute.googleapis.com"),
            fdr(T0, "DnsRequest", "LAPTOP-A", user="avery.lin", domain="compute.googleapis.com")]
    r = correlate(rows)["denied"]
    assert (r["match_status"], r["identified_user"], r["candidate_users"]) == (
        "identified", "blake.ng@example-corp.com", ["blake.ng@example-corp.com"])


def test_proxy_without_agent_never_picks_and_is_ruled_out_by_a_complete_nat_log() -> None:
    behind = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), nat(T0, "10.1.2.4", EGRESS), *office(),
              dhcp(T0 - 3600, "10.1.2.5", "LAPTOP-C"), logon(T0 - 1800, "casey.okafor", "LAPTOP-C")]
    one = [*behind, proxy(T0, "", "10.1.2.3", "compute.googleapis.com")]
    r = verdict(one)
    assert r["match_status"] == "ambiguous" and r["identified_user"] == ""
    elsewhere = [*behind, proxy(T0, "", "10.1.2.5", "compute.googleapis.com")]
    r = verdict(elsewhere)
    assert r["match_status"] == "ambiguous" and "casey.okafor" not in r["candidate_users"]
    assert any(line.startswith("ruled out casey.okafor") for line in r["match_evidence"])


def test_edr_local_address_completes_a_nat_lead_only_behind_the_same_egress() -> None:
    rows = [gcp_row(T0, ip=EGRESS), nat(T0, "10.1.2.3", EGRESS), logon(T0 - 600, "avery.lin", "LAPTOP-A"),
            fdr(T0 + 10, "NetworkConnectIP4", "LAPTOP-A", aip=EGRESS, local="10.1.2.3")]
    assert verdict(rows)["identified_user"] == "avery.lin"
    elsewhere = [*rows[:3], fdr(T0 + 10, "NetworkConnectIP4", "LAPTOP-A", aip="198.51.100.3", local="10.1.2.3")]
    r = verdict(elsewhere)
    assert (r["match_status"], r["candidate_users"]) == ("unidentified", ["10.1.2.3 (no lease)"])  # a home LAN


def test_a_crowd_at_the_calls_second_names_nobody_and_lists_the_nearest() -> None:
    n = CROWD + 36
    rows = [gcp_row(T0, ip=EGRESS, insert_id="call")]
    for i in range(n):
        host, internal = f"LAPTOP-{i:03d}", f"10.1.{i // 200}.{i % 200 + 1}"
        rows += [nat(T0 + (i % 3) - 1, internal, EGRESS), dhcp(T0 - 3600, internal, host),
                 logon(T0 - 1800 - i, f"CORP\\user{i:03d}", host)]
    # a complete NAT log: colleagues' own calls each had their translation
    for k in range(4):
        internal = f"10.2.0.{k + 1}"
        at = T0 - 600 * (k + 1)
        rows += [gcp_row(at, ip=EGRESS, agent=BROWSER, principal=f"colleague{k}@example-corp.com", log="activity",
                         code=0, insert_id=f"check{k}"), nat(at, internal, EGRESS)]
    for order, path in WAYS:
        r = correlate(rows, order, path)["call"]
        assert r["match_status"] == "ambiguous" and r["identified_user"] == "", (order, path)
        assert len(r["candidate_users"]) == CROWD
        assert any("is a crowd around the call" in line for line in r["match_evidence"])


@pytest.mark.parametrize("how", ["tag", "Release", "DHCPRELEASE", "Expired", "lease deleted"])
def test_an_address_given_up_is_nobodys_until_its_next_lease(how: str) -> None:
    rows = [gcp_row(T0, ip="10.1.2.3"), dhcp(T0 - 10 * 3600, "10.1.2.3", "LAPTOP-A", duration=12 * 3600),
            logon(T0 - 10 * 3600 + 60, "CORP\\avery.lin", "LAPTOP-A"), dhcp_end(T0 - 7 * 3600, "10.1.2.3", how=how)]
    for order, path in WAYS:
        r = correlate(rows, order, path)["abc123"]
        assert (r["match_status"], r["identified_user"]) == ("unidentified", ""), (how, order, path)
        assert any("ended (released or expired)" in line for line in r["match_evidence"])
    # a lease after the release names its holder again
    again = [*rows, dhcp(T0 - 3600, "10.1.2.3", "LAPTOP-B"), logon(T0 - 3000, "CORP\\blake.ng", "LAPTOP-B")]
    assert correlate(again)["abc123"]["identified_user"] == "CORP\\blake.ng"


def test_a_remote_logon_does_not_end_the_session_before_it() -> None:
    def rows(second_src: str) -> list:  # type: ignore[type-arg]
        return [gcp_row(T0, ip="10.1.2.3"), dhcp(T0 - 3600, "10.1.2.3", "DEVBOX-1"),
                {**logon(T0 - 3000, "avery.lin", "DEVBOX-1", src="10.9.0.4"), "app": "sshd"},
                {**logon(T0 - 1200, "blake.ng", "DEVBOX-1", src=second_src), "app": "sshd"}]
    for order, path in WAYS:
        r = correlate(rows("10.9.0.5"), order, path)["abc123"]
        assert (r["match_status"], r["identified_user"]) == ("unidentified", ""), (order, path)
        assert any("remote logon does not show" in line for line in r["match_evidence"])
    # at the device's own console the later logon takes it over
    assert correlate(rows(""))["abc123"]["identified_user"] == "blake.ng"
