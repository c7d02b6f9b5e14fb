"""evidence: CIM rows told apart by tag, CrowdStrike FDR rows, user/host/host-name keys."""

from __future__ import annotations

import pytest
from guardrail.correlate.evidence import (
    api_host,
    cim_kind,
    host_key,
    is_person,
    parse_cim,
    parse_fdr,
    parse_tags,
    principal_key,
    user_key,
)
from guardrail.correlate.model import Lease, Logon, Nat, ProxyHit, Session, Sighting, SignIn
from guardrail.errors import RowError

from tests.unit.correlate_builders import T0, dhcp, fdr, logon, nat, proxy, signin, vpn


def cim(row: dict) -> list:
    return parse_cim(cim_kind(parse_tags(row["tag"])), row, float(row["_time"]))


@pytest.mark.parametrize("name", ["CORP\\avery.lin", "avery.lin@example-corp.com", "Avery.Lin", " avery.lin "])
def test_user_key(name: str) -> None:
    assert user_key(name) == "avery.lin"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("CORP\\avery.lin", "avery.lin"),
        ("Avery.Lin@Example-Corp.com", "avery.lin"),
        ("avery.lin", "avery.lin"),
        # service accounts and service agents: the local part is unique only within a project
        ("Terraform-CI@platform-shared-ops.iam.gserviceaccount.com",
         "terraform-ci@platform-shared-ops.iam.gserviceaccount.com"),
        ("service-602214076417@gcp-sa-notebooks.iam.gserviceaccount.com",
         "service-602214076417@gcp-sa-notebooks.iam.gserviceaccount.com"),
        ("602214076417@cloudservices.gserviceaccount.com", "602214076417@cloudservices.gserviceaccount.com"),
        # a look-alike domain is not a Google service account
        ("deploy@gserviceaccount.com.evil.example", "deploy"),
        ("", ""),
    ],
)
def test_principal_key(name: str, key: str) -> None:
    assert principal_key(name) == key


def test_principal_key_keeps_service_accounts_of_different_projects_apart() -> None:
    a, b = "deploy@proj-a.iam.gserviceaccount.com", "deploy@proj-b.iam.gserviceaccount.com"
    assert principal_key(a) != principal_key(b)
    assert user_key(a) == user_key(b)  # what the plain user-name key would have merged


@pytest.mark.parametrize("name", ["", "-", "SYSTEM", "LAPTOP-7$", "NT AUTHORITY\\SYSTEM", "unknown"])
def test_not_people(name: str) -> None:
    assert not is_person(name)


def test_host_and_api_host_keys() -> None:
    assert host_key("LAPTOP-7.corp.example.com") == "laptop-7"
    assert host_key("10.1.2.3") == "10.1.2.3"
    assert api_host("https://Compute.GoogleAPIs.com:443/compute/v1/x") == "compute.googleapis.com"
    assert api_host("compute.googleapis.com:443") == "compute.googleapis.com"
    assert api_host("compute.googleapis.com.") == "compute.googleapis.com"


@pytest.mark.parametrize("tags,kind", [
    ("network\nsession\ndhcp", "dhcp"), ("network\nsession\nvpn", "vpn"), ("web\nproxy", "proxy"),
    ("network\ncommunicate", "nat"), ("authentication\ndefault", "authentication"), ("change\naudit", ""),
    (["network", "session", "dhcp"], "dhcp"),
])
def test_tags(tags: object, kind: str) -> None:
    assert cim_kind(parse_tags(tags)) == kind  # type: ignore[arg-type]


def test_dhcp_is_an_interval() -> None:
    [lease] = cim(dhcp(T0, "010.1.2.3", "LAPTOP-A", 3600))
    assert lease == Lease(T0, T0 + 3600, "10.1.2.3", "LAPTOP-A", "00:11:22:33:44:55", "isc:dhcpd")


def test_dhcp_without_duration_is_open_ended_and_bad_duration_is_an_error() -> None:
    row = dhcp(T0, "10.1.2.3", "LAPTOP-A")
    row["lease_duration"] = ""
    assert cim(row)[0].end == float("inf")
    row["lease_duration"] = "soon"
    with pytest.raises(RowError):
        cim(row)


def test_vpn_session() -> None:
    [s] = cim(vpn(T0, "2001:DB8::5", "10.250.0.9", "CORP\\a.b", "LAPTOP-A", 600))
    assert isinstance(s, Session) and s.public_ip == "2001:db8::5" and s.end == T0 + 600


def test_proxy_nat_and_authentication() -> None:
    [p] = cim(proxy(T0, "CORP\\a.b", "10.1.2.3", "compute.googleapis.com", "gcloud/1"))
    assert isinstance(p, ProxyHit) and p.host == "compute.googleapis.com" and p.src_ip == "10.1.2.3"
    [n] = cim(nat(T0, "10.1.2.3", "203.0.113.10"))
    assert isinstance(n, Nat) and n.public_ip == "203.0.113.10"
    assert cim({**nat(T0, "10.1.2.3", "203.0.113.10"), "src_translated_ip": ""}) == []
    [lg] = cim(logon(T0, "CORP\\a.b", "LAPTOP-A", "127.0.0.1"))
    assert isinstance(lg, Logon) and lg.host == "LAPTOP-A"
    [si] = cim(signin(T0, "a.b@example-corp.com", "203.0.113.10"))
    assert isinstance(si, SignIn) and si.ip == "203.0.113.10"


def test_non_interactive_and_failed_logons_are_ignored() -> None:
    row = logon(T0, "CORP\\a.b", "LAPTOP-A")
    assert cim({**row, "Logon_Type": "3"}) == []
    assert cim({**row, "action": "failure"}) == []
    assert cim({**row, "user": "LAPTOP-A$"}) == []


@pytest.mark.parametrize("logon_type, binds", [("", True), ("2", True), ("10", True), ("11", True), ("7", True),
                                                ("3", False), ("5", False), ("4", False), ("9", False),
                                                ("Network", False)])
def test_fdr_user_logon_binds_the_device_only_when_interactive(logon_type: str, binds: bool) -> None:
    row = fdr(T0, "UserLogon", "LAPTOP-A", user="CORP\\svc_sccm", aip="203.0.113.10")
    if logon_type:
        row["LogonType"] = logon_type
    recs = parse_fdr(row, T0)
    assert any(isinstance(r, Logon) for r in recs) is binds
    sighting = next(r for r in recs if isinstance(r, Sighting))
    # a network or service logon still places the device at its address, without naming its user
    assert sighting.aip == "203.0.113.10" and (sighting.user == "CORP\\svc_sccm") is binds


@pytest.mark.parametrize("fields, remote", [
    ({"Logon_Type": "2", "src": "127.0.0.1"}, False), ({"Logon_Type": "10", "src": "10.9.8.7"}, True),
    ({"logon_type": "RemoteInteractive", "src": "10.9.8.7"}, True), ({"src": "10.9.8.7", "app": "sshd"}, True),
    ({"src": ""}, False), ({"src": "::1"}, False), ({"Logon_Type": "7", "src": "10.9.8.7"}, False)])
def test_a_logon_from_another_machine_is_remote(fields: dict, remote: bool) -> None:  # type: ignore[type-arg]
    [rec] = cim({**logon(T0, "CORP\\a.b", "HOST-1"), **fields})
    assert isinstance(rec, Logon) and rec.remote is remote


def test_fdr() -> None:
    recs = parse_fdr(fdr(T0, "UserLogon", "LAPTOP-A", user="CORP\\a.b", aip="203.0.113.10"), T0)
    assert isinstance(recs[0], Sighting) and recs[0].aip == "203.0.113.10"
    assert isinstance(recs[1], Logon)
    [s] = parse_fdr(fdr(T0, "DnsRequest", "LAPTOP-A", domain="Compute.googleapis.com"), T0)
    assert s.domain == "compute.googleapis.com" and s.user == ""
    with pytest.raises(RowError):
        parse_fdr({"event_simpleName": "DnsRequest"}, T0)


@pytest.mark.parametrize("value", ["1e20", "-5", "nan", "inf", "٣٠٠"])
def test_absurd_durations_are_bad_rows(value: str) -> None:
    row = vpn(T0, "198.51.100.7", "10.250.0.9", "avery.lin", "LAPTOP-A")
    row["duration"] = value
    with pytest.raises(RowError):
        parse_cim("vpn", row, T0)
