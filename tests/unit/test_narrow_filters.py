"""The evidence macros' filters: SPL and Python mirror agree, and neither drops what the engine reads.

A corpus of evidence rows spells every field the filters look at in the ways sources write it
(case, ports, schemes, multivalue fields, missing values, numeric and named logon types, internal
and public addresses in several forms). For every row, the macro evaluated on the project's SPL
evaluator answers what the mirror answers; every row the engine draws evidence from is kept by the
macro the scheduled correlation reads that evidence through, and by identity_evidence.
"""

from __future__ import annotations

import itertools
import random
from functools import lru_cache
from typing import Callable, Dict, List, Tuple

import pytest
from guardrail.correlate.evidence import cim_kind, parse_cim, parse_fdr, parse_tags
from guardrail.correlate.model import Lease, Logon, Nat, ProxyHit, Session, Sighting, SignIn
from guardrail.errors import RowError

from devtools.evalspl import search_matches
from devtools.narrow import filters, generate, select
from devtools.splcheck import AppContent, expand

CONTENT = AppContent.load()
T = 1790000000.0
Row = Dict[str, object]


def macro(name: str) -> str:
    problems: List[str] = []
    text = expand(f"`{name}`", CONTENT, problems)
    assert problems == []
    return text


def _pick(rng: random.Random, options: Tuple[object, ...]) -> object:
    return rng.choice(options)


@lru_cache(maxsize=1)
def corpus() -> List[Row]:
    rng = random.Random(11)
    rows: List[Row] = []
    users = ("avery.lin", "CORP\\avery.lin", "", "SYSTEM", "LAPTOP-7$", ["avery.lin", "SYSTEM"])
    actions = (None, "success", "failure", "Failed", "blocked", "allowed", ["success", "failure"])
    types = (None, "", "2", "3", " 3", "Network", "10", "7", "service")
    srcs = (None, "10.1.2.3", "203.0.113.5", "::ffff:10.1.2.3", "fe80::1", "FD00::2", "2001:db8::1", "::1",
            "172.20.0.1", "100.70.1.1", "host.example.org", "0:0:0:0:0:0:0:1")
    for user, action, lt, big_lt, src, dest, st in itertools.product(
            users, actions, types, (None, "2", "3"), srcs, (None, "LAPTOP-7"), ("XmlWinEventLog", "OktaIM2:log")):
        if rng.random() > 0.18:
            continue
        row: Row = {"_time": str(T), "tag": ["authentication"], "sourcetype": st, "index": "auth"}
        for name, value in (("user", user), ("action", action), ("logon_type", lt), ("Logon_Type", big_lt),
                            ("src", src), ("dest", dest)):
            if value is not None:
                row[name] = value
        rows.append(row)
    hosts = ("compute.googleapis.com", "COMPUTE.GOOGLEAPIS.COM", "compute.googleapis.com:443",
             "https://compute.googleapis.com/v1/x", "us-central1-aiplatform.googleapis.com",
             "googleapis.com.example.net", "www.example.org", "", "fonts.googleapis.com.")
    for dest, url in itertools.product(hosts, ("", "https://storage.googleapis.com/b/o", "https://example.org/")):
        row = {"_time": str(T), "tag": ["web", "proxy"], "src": "10.1.2.3", "user": "avery.lin", "index": "proxy"}
        if dest:
            row["dest"] = dest
        if url:
            row["url"] = url
        rows.append(row)
    rows.append({"_time": str(T), "tag": ["web", "proxy"], "src": "10.1.2.3", "index": "proxy",
                 "dest": ["www.example.org", "bigquery.googleapis.com"]})
    for tagset in (["network", "communicate"], ["network", "session", "vpn"], ["network", "session", "dhcp"],
                   ["network", "session", "dhcp", "end"]):
        for src_ip, translated, user, dest_ip, host in itertools.product(
                (None, "10.1.2.3"), (None, "203.0.113.5", "-"), (None, "avery.lin"), (None, "10.250.0.9"),
                (None, "LAPTOP-7")):
            row = {"_time": str(T), "tag": tagset, "index": "net"}
            for name, value in (("src_ip", src_ip), ("src_translated_ip", translated), ("user", user),
                                ("dest_ip", dest_ip), ("dest_nt_host", host)):
                if value is not None:
                    row[name] = value
            rows.append(row)
    rows.append({"_time": str(T), "tag": ["network", "session", "dhcp"], "index": "net", "dest_ip": "10.1.2.3",
                 "dest_host": "laptop-7.corp.example"})
    for kind, aip, local, domain, host, user, logon_type in itertools.product(
            ("ProcessRollup2", "DnsRequest", "UserLogon", "userlogon", "ImageHash"), (None, "203.0.113.5"),
            (None, "192.168.1.9"), (None, "compute.googleapis.com", "www.example.org"), (None, "LAPTOP-7"),
            (None, "avery.lin"), (None, "2", "3", "5", "10", "Network")):
        if logon_type is not None and kind.lower() != "userlogon":
            continue
        row = {"_time": str(T), "event_simpleName": kind, "index": "edr", "sourcetype": "crowdstrike:events:sensor"}
        for name, value in (("aip", aip), ("LocalAddressIP4", local), ("DomainName", domain),
                            ("ComputerName", host), ("UserName", user), ("LogonType", logon_type)):
            if value is not None:
                row[name] = value
        rows.append(row)
    rows.append({"_time": str(T), "tag": ["process", "report"], "index": "edr", "process": "cmd.exe",
                 "user": "avery.lin", "dest": "LAPTOP-7"})
    return rows


def indexed(row: Row) -> Row:
    """The row as a search sees it: a field with an empty value is no field."""
    return {k: v for k, v in row.items() if v != ""}


def _flat(row: Row) -> Dict[str, str]:
    return {k: v if isinstance(v, str) else "\n".join(v) for k, v in row.items()}  # type: ignore[arg-type]


def engine_reads(row: Row) -> List[object]:
    """Evidence records the engine draws from a row (as the command's record path would)."""
    flat = _flat(row)
    try:
        if flat.get("event_simpleName"):
            return list(parse_fdr(flat, T))
        kind = cim_kind(parse_tags(row.get("tag") or []))  # type: ignore[arg-type]
        return list(parse_cim(kind, flat, T)) if kind else []
    except RowError:
        return []


#: The macro through which the scheduled correlation reads each kind of record.
READ_THROUGH: Dict[type, Callable[[Row], bool]] = {
    Lease: select.is_dhcp, Session: select.is_vpn, Nat: select.is_nat, ProxyHit: select.is_proxy,
    SignIn: select.is_signin,
}


def test_generated_definitions_are_in_step_with_the_engine() -> None:
    assert generate.differences() == []


@pytest.mark.parametrize("name", sorted(filters.FILTERS))
def test_each_filter_macro_answers_what_its_mirror_answers(name: str) -> None:
    text = macro(name)
    _, mirror = filters.FILTERS[name]
    wrong = [row for row in corpus() if search_matches(text, indexed(row)) != mirror(row)]  # type: ignore[arg-type]
    assert wrong == []


MACRO_MIRRORS = {
    "evidence_vpn": select.is_vpn, "evidence_dhcp": select.is_dhcp, "evidence_proxy": select.is_proxy,
    "evidence_nat": select.is_nat, "evidence_logon": select.is_logon, "evidence_idp": select.is_idp,
    "evidence_signin": select.is_signin, "evidence_edr": select.is_edr, "evidence_edr_logon": select.is_edr_logon,
    "guardrail_keyed_evidence": select.is_keyed, "guardrail_interval_evidence": select.is_interval,
    "identity_evidence": select.identity_evidence,
}


@pytest.mark.parametrize("name", sorted(MACRO_MIRRORS))
def test_each_evidence_macro_answers_what_its_mirror_answers(name: str) -> None:
    text = macro(name)
    mirror = MACRO_MIRRORS[name]
    wrong = [row for row in corpus() if search_matches(text, indexed(row)) != mirror(row)]  # type: ignore[arg-type]
    assert wrong == []


SINGLE_VALUED = ("action", "logon_type", "Logon_Type")


def test_nothing_the_engine_reads_is_left_on_the_indexers() -> None:
    used = 0
    for row in corpus():
        if any(isinstance(row.get(name), list) for name in SINGLE_VALUED):
            # CIM defines these single-valued; the engine reads several as one joined text, which no
            # search term can say (docs/scale.md, "What the narrowing assumes")
            continue
        for record in engine_reads(row):
            if isinstance(record, Sighting):
                if not (record.aip or record.local_ip or record.domain):
                    continue  # indexed under nothing: no rule can read it
                assert select.is_edr(row), row  # type: ignore[arg-type]
            elif isinstance(record, Logon):
                if row.get("event_simpleName"):
                    assert select.is_edr_logon(row), row  # type: ignore[arg-type]
                elif select.is_idp(row):  # type: ignore[arg-type]
                    # An IdP event from a private or no address whose dest is a device would be read as a
                    # logon there; IdP dest values name applications, and the correlation reads IdP events
                    # as sign-ins only (docs/scale.md, "What the narrowing assumes").
                    pass
                else:
                    assert select.is_logon(row), row  # type: ignore[arg-type]
            else:
                assert READ_THROUGH[type(record)](row), row  # type: ignore[arg-type]
            assert select.identity_evidence(row) or (isinstance(record, Logon) and select.is_idp(row)), row
            used += 1
    assert used > 100


def test_the_filters_do_leave_things_on_the_indexers() -> None:
    """Every filter drops rows of its kind that the engine draws nothing from."""
    dropped = {name: 0 for name in MACRO_MIRRORS}
    for row in corpus():
        if engine_reads(row):
            continue
        for name, mirror in MACRO_MIRRORS.items():
            if not mirror(row):  # type: ignore[arg-type]
                dropped[name] += 1
    assert all(count > 0 for count in dropped.values()), dropped
    process = corpus()[-1]
    assert not select.identity_evidence(process)  # CIM Endpoint process events are not read at all


def test_classify_answers_what_the_macro_mirrors_answer() -> None:
    for row in corpus():
        assert select.classify(row) == (select.is_audit(row), select.is_interval(row),  # type: ignore[arg-type]
                                        select.is_keyed(row)), row  # type: ignore[arg-type]
