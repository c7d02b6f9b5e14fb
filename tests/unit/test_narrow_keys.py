"""The key search: addresses reduced as the engine reads them, every spelling found, windows from the
command's options, merged, widened rather than narrowed, and the SPL equal to its Python mirror."""

from __future__ import annotations

import ipaddress
import random
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

import pytest
from guardrail.correlate.netaddr import normalize_ip
from guardrail.correlate.options import Options

from devtools.evalspl import Env, Fields, run_search, search_matches
from devtools.evalspl.spl import run_pipeline
from devtools.narrow import addresses, adversarial, keys
from devtools.narrow.events import index_events
from devtools.narrow.keys import AuditView, plan
from devtools.scenarios import DAY0, build_all, ipv6_forms
from devtools.splcheck import AppContent, Macro, expand

CONTENT = AppContent.load()
OPTS = Options()


def random_addresses(count: int = 60) -> List[str]:
    rng = random.Random(5)
    out = ["203.0.113.5", "10.1.2.3", "1.2.3.4", "2001:db8::1", "2001:db8:0:0:1:0:0:1", "2a02:8108::",
           "2600:1700:0:0:5::", "fd00::2", "fe80::1"]
    for _ in range(count):
        if rng.random() < 0.5:
            out.append(f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}")
        else:
            groups = [rng.choice([0, 0, rng.randrange(1, 65536)]) for _ in range(8)]
            groups[0] = rng.randrange(0x2000, 0x3fff)
            out.append(str(ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))))
    return out


def forms_of(address: str) -> List[str]:
    """Ways logs write one address (the family the key search must cover)."""
    if ":" in address:
        short = ipaddress.IPv6Address(address).compressed
        return [*ipv6_forms(address), f"[{short}]:443", short + "%eth0"]
    octets = [int(p) for p in address.split(".")]
    mapped = ipaddress.IPv6Address("::ffff:" + address)
    h1, h2 = octets[0] * 256 + octets[1], octets[2] * 256 + octets[3]
    return [address, ".".join(f"{o:03d}" for o in octets), address + ":443", "::ffff:" + address,
            "::FFFF:" + address, "0:0:0:0:0:ffff:" + address, mapped.exploded, mapped.exploded.upper(),
            f"::ffff:{h1:x}:{h2:x}", f"[::ffff:{address}]:8443"]


def engine_full(address: str) -> Tuple[str, str]:
    """The engine's reading of an address, in the key search's own form."""
    canonical = normalize_ip(address)
    assert canonical is not None, address
    if ":" in canonical:
        return "v6", ":".join(g.lstrip("0") or "0" for g in ipaddress.IPv6Address(canonical).exploded.split(":"))
    return "v4", canonical


@pytest.mark.parametrize("address", random_addresses())
def test_every_form_reduces_to_what_the_engine_reads(address: str) -> None:
    for form in forms_of(address):
        assert normalize_ip(form) == normalize_ip(address), form  # the family is one address to the engine
        assert addresses.reduce(form) == engine_full(address), form


def test_forms_the_reduction_cannot_read_widen() -> None:
    # an IPv4-embedded form other than IPv4-mapped: the engine reads it, the search widens
    assert normalize_ip("64:ff9b::1.2.3.4") is not None
    assert addresses.reduce("64:ff9b::1.2.3.4")[0] == "bad"
    assert addresses.reduce("2001:db8::1::2")[0] == "bad"
    for text in ("", "private", "unknown", "host.example.org"):
        assert addresses.reduce(text)[0] == "none"


def evaluate_reduce(texts: List[str]) -> List[Tuple[str, str]]:
    rows: List[Fields] = [{"caller_ip": t} if t else {} for t in texts]
    pipeline = "eval " + ", ".join(addresses.render_reduce("caller_ip", "_a"))
    out = run_pipeline(pipeline, rows, Env())
    return [(str(r.get("_a_kind")), str(r.get("_a") or "")) for r in out]


def test_the_spl_reduction_is_the_python_one() -> None:
    texts = [f for a in random_addresses(30) for f in forms_of(a)]
    texts += ["64:ff9b::1.2.3.4", "", "PRIVATE", "2001:db8::1::2", "::", "::1", "1.2.3.4:80", "[::1]"]
    assert evaluate_reduce(texts) == [addresses.reduce(t) for t in texts]


def test_compressed_is_rfc_5952() -> None:
    for address in random_addresses(200):
        if ":" in address:
            _, full = addresses.reduce(address)
            assert addresses.compressed(full) == ipaddress.IPv6Address(address).compressed


@pytest.mark.parametrize("address", [a for a in random_addresses() if addresses.is_public(*addresses.reduce(a))])
def test_every_form_matches_a_spelling_of_its_key(address: str) -> None:
    _, full = addresses.reduce(address)
    for kind in ("ip", "nat", "edr", "egress", "devices", "audit"):
        window = keys.Window(f"{kind}={full}", 100.0, 200.0)
        text = keys.clause(window.key, [window])
        for form in forms_of(address):
            for name in keys.KEY_FIELDS[kind]:
                assert search_matches(text, {"_time": "150", name: form}), (name, form)
        name = keys.KEY_FIELDS[kind][0]
        assert not search_matches(text, {"_time": "150", name: "198.18.0.1"})
        assert not search_matches(text, {"_time": "201", name: address})  # outside the window
    assert set(keys.ADDRESS_FIELDS) == {n for kind in ("ip", "nat", "edr", "egress", "devices")
                                        for n in keys.KEY_FIELDS[kind]}


def test_the_spl_spellings_are_the_python_ones() -> None:
    rows: List[Fields] = []
    expected = []
    for address in random_addresses(40):
        kind, full = addresses.reduce(address)
        rows.append({"_kind": kind, "_value": full})
        expected.append(addresses.spellings(kind, full))
    out = run_pipeline("eval " + ", ".join(addresses.render_spellings("_kind", "_value", "_sp")), rows, Env())
    assert [r["_sp"] if isinstance(r["_sp"], list) else [r["_sp"]] for r in out] == expected


# ---- the plan -----------------------------------------------------------------------------------

T = DAY0 + 36000.25


def denial(t: float = T, ip: Optional[str] = "203.0.113.5", principal: str = "",
           service: str = "compute.googleapis.com", project: str = "p1",
           resource: str = "projects/p1/zones/z/instances/nb-1") -> AuditView:
    return AuditView(t, True, principal, project, resource, ip, service)


def activity(t: float, ip: str, principal: str = "", resource: str = "projects/p1/zones/z/instances/nb-1",
             project: str = "p1") -> AuditView:
    return AuditView(t, False, principal, project, resource, ip, "notebooks.googleapis.com")


def test_a_masked_call_names_its_address_and_host() -> None:
    p = plan([denial()], T - 60, T + 60)
    found = {w.key: w for w in p.windows}
    # the NAT log's checks come as counts from the check search: no audit entries or translations
    # around other calls are read any more
    assert set(found) == {"ip=203.0.113.5", "nat=203.0.113.5", "edr=203.0.113.5", "audit=203.0.113.5",
                          "host=compute.googleapis.com"}
    # sign-ins, EDR; who else called from there
    for key in ("ip=203.0.113.5", "audit=203.0.113.5"):
        w = found[key]
        assert (w.lo, w.hi) == (T - OPTS.point_back, T + OPTS.forward)
        assert w.contains(T - OPTS.point_back) and w.contains(T + OPTS.forward) and not w.contains(T + OPTS.forward + 1)
    # the translations at its second, EDR records within the clock's skew: the others of the horizon
    # come reduced (plan_presence)
    nat, edr = found["nat=203.0.113.5"], found["edr=203.0.113.5"]
    assert (nat.lo, nat.hi) == (T - OPTS.network_tolerance, T + OPTS.network_tolerance)
    assert (edr.lo, edr.hi) == (T - OPTS.skew, T + OPTS.skew)
    devices, egress = keys.plan_presence([denial()], T - 60, T + 3600).windows
    assert (devices.key, devices.lo, devices.hi) == ("devices=203.0.113.5", T - OPTS.point_back, T + OPTS.forward)
    wide = 2 * (OPTS.point_back + OPTS.forward)  # the translations of the stretches either side too
    assert (egress.key, egress.lo, egress.hi) == ("egress=203.0.113.5", T - OPTS.point_back - wide,
                                                  T + OPTS.forward + wide)
    # proxy requests and EDR look-ups as far as the engine reads them, for the call and for the visible
    # calls near it (the call is one of the calls from its address near itself)
    host = found["host=compute.googleapis.com"]
    assert (host.lo, host.hi) == (T - keys.near_host_reach(OPTS), T + keys.near_host_reach(OPTS))
    assert keys.host_reach(OPTS) == max(OPTS.fingerprint_window, OPTS.network_tolerance, OPTS.skew)
    assert keys.host_reach(OPTS) < keys.near_host_reach(OPTS) < OPTS.point_back
    end = keys.Ranges(T - 60, T + 60, OPTS).end
    assert all(w.hi <= end for w in p.windows)
    assert p.searches[-1] == keys.sentinel(T - 60)
    assert len(p.searches) == 6  # one clause per key


def test_only_visible_calls_near_a_call_name_their_host() -> None:
    near = activity(T + keys.reach(OPTS), "203.0.113.5", "avery.lin@example-corp.com")
    far = activity(T + keys.reach(OPTS) + 1, "203.0.113.5", "avery.lin@example-corp.com", project="p2")
    elsewhere = activity(T + 1, "198.51.100.99", "blake.ng@example-corp.com")
    p = plan([denial(), near, far, elsewhere], T - 60, T + 60)
    notebooks = [(w.lo, w.hi) for w in p.windows if w.key == "host=notebooks.googleapis.com"]
    end = keys.Ranges(T - 60, T + 60, OPTS).end
    reach = keys.near_host_reach(OPTS)
    assert notebooks == [(near.time - reach, min(near.time + reach, end))]
    assert not any("198.51.100.99" in w.key for w in p.windows)


def test_the_check_search_keys_every_call_from_a_public_address() -> None:
    tol, fw = OPTS.network_tolerance, OPTS.fingerprint_window
    lo, hi = T - T % 900, T - T % 900 + 1800
    entries = [activity(lo, "203.0.113.5", "avery.lin@example-corp.com"), denial(t=lo + 100),
               activity(lo + 200, "10.1.2.3", "blake.ng@example-corp.com"),  # private: no check
               activity(hi, "203.0.113.5"), activity(lo - 1, "203.0.113.6")]  # outside [lo, hi)
    p = keys.plan_checks(entries, lo, hi)
    nat = sorted((w.lo, w.hi) for w in p.windows if w.key == "nat=203.0.113.5")
    assert nat == [(lo - tol, lo + tol), (lo + 100 - tol, lo + 100 + tol)]
    assert {w.key for w in p.windows} == {"nat=203.0.113.5", "host=notebooks.googleapis.com",
                                          "host=compute.googleapis.com"}
    compute = [(w.lo, w.hi) for w in p.windows if w.key == "host=compute.googleapis.com"]
    assert compute == [(lo + 100 - fw, lo + 100 + fw)]
    [clause] = [s for s in p.searches if s.startswith("(src_translated_ip IN")]
    assert " OR src IN" not in clause  # translations only: the translated address
    # translations only at the calls' seconds: a busy egress's minutes between them stay unread
    close = keys.plan_checks([*entries, activity(lo + 10, "203.0.113.5")], lo, hi)
    assert sorted((w.lo, w.hi) for w in close.windows if w.key == "nat=203.0.113.5") == [
        (lo - tol, lo + tol), (lo + 10 - tol, lo + 10 + tol), (lo + 100 - tol, lo + 100 + tol)]
    wide = keys.plan_checks([*entries, activity(lo + 5, "2001:db8::1::2")], lo, hi)
    assert wide.widened and wide.searches[0] == "earliest={} latest={}".format(*keys.check_range(lo, hi, OPTS))


def test_only_masked_denials_of_the_run_are_keyed() -> None:
    assert plan([denial(principal="avery.lin@example-corp.com")], T - 60, T + 60).windows == []
    assert plan([denial(t=T - 61)], T - 60, T + 60).windows == []  # before the run
    assert plan([denial(principal="a...@example-corp.com")], T - 60, T + 60).windows
    assert {w.key for w in plan([denial(ip=None)], T - 60, T + 60).windows} == {"host=compute.googleapis.com"}
    assert {w.key for w in plan([denial(ip="10.1.2.3")], T - 60, T + 60).windows} == {"host=compute.googleapis.com"}


def test_nearby_windows_of_a_key_merge() -> None:
    close = plan([denial(), denial(T + 200)], T - 60, T + 600)
    apart = plan([denial(), denial(T + OPTS.point_back + OPTS.forward + keys.MERGE_SECS + 1)], T - 60, T + 3600)
    ip = [w for w in close.windows if w.key.startswith("ip=")]
    assert [(w.lo, w.hi) for w in ip] == [(T - OPTS.point_back, T + 200 + OPTS.forward)]
    assert len([w for w in apart.windows if w.key.startswith("ip=")]) == 2
    [both] = [s for s in apart.searches if s.startswith("(src IN")]
    assert both.count("(earliest=") == 2  # one clause, both windows
    # translations: only where their windows overlap (the seconds of the calls, not the minutes between)
    nat = [(w.lo, w.hi) for w in close.windows if w.key.startswith("nat=")]
    assert nat == [(T - OPTS.network_tolerance, T + OPTS.network_tolerance),
                   (T + 200 - OPTS.network_tolerance, T + 200 + OPTS.network_tolerance)]


def test_a_service_agent_call_names_the_call_it_acted_for() -> None:
    agent = denial(ip=None, principal="service-123@gcp-sa-notebooks.iam.gserviceaccount.com",
                   service="compute.googleapis.com")
    entries = [agent, activity(T - OPTS.agent_window, "198.51.100.7"),
               activity(T - 5, "198.51.100.8", resource="projects/p1/zones/z/instances/other"),
               activity(T - OPTS.agent_window - 0.5, "198.51.100.9"),
               activity(T - 5, "198.51.100.10", project="p2"),
               activity(T - 5, "198.51.100.11", principal="service-9@gcp-sa-x.iam.gserviceaccount.com")]
    p = plan(entries, T - 60, T + 60)
    found = {w.key: w for w in p.windows}
    assert {k.split("=", 1)[1] for k in found if not k.startswith(("host=", "project="))} == {"198.51.100.7"}
    project = found["project=p1"]  # the calls on its project it may have acted for, whatever their address
    assert (project.lo, project.hi) == (T - OPTS.agent_window, T + OPTS.network_tolerance)
    assert {k for k in found if k.startswith("host=")} == {"host=notebooks.googleapis.com",
                                                            "host=compute.googleapis.com"}
    origin = found["ip=198.51.100.7"]
    assert origin.lo == T - OPTS.agent_window - OPTS.point_back  # the origin's own horizon


def test_a_call_names_the_other_calls_of_its_gcloud_run() -> None:
    agent = "google-cloud-sdk gcloud/455.0.0 command/gcloud.compute.instances.create invocation-id/7f3a-b9 x/1"
    p = plan([AuditView(T, True, "", "p1", None, None, "compute.googleapis.com", agent)], T - 60, T + 60)
    [run] = [w for w in p.windows if w.key.startswith("inv=")]
    assert run.key == "inv=7f3a-b9"
    assert (run.lo, run.hi) == (T - OPTS.selfjoin_window, T + OPTS.selfjoin_window)
    [text] = [s for s in p.searches if "invocation-id" in s]
    assert search_matches(text, {"_time": str(T + 100), "caller_user_agent": agent.upper()})
    assert not search_matches(text, {"_time": str(T + 100), "caller_user_agent": agent.replace("7f3a", "8f3a")})


@pytest.mark.parametrize(("case", "why"), [
    ("cap", "key windows, more than"), ("slow", "took"), ("address", "cannot reduce"), ("project", "cannot quote")])
def test_it_widens_instead_of_narrowing_silently(case: str, why: str) -> None:
    entries = [denial(T + i, ip=f"198.51.100.{i + 1}") for i in range(12)]
    if case == "address":
        entries.append(denial(ip="64:ff9b::1.2.3.4"))
    if case == "project":  # a service agent's denial on a project no clause can quote
        entries.append(denial(ip=None, principal="service-1@gcp-sa-notebooks.iam.gserviceaccount.com",
                              project='p1" OR index=*'))
    p = plan(entries, T - 60, T + 60, max_keys=5 if case == "cap" else 100, elapsed=50 if case == "slow" else 0)
    assert p.widened and why in p.why
    lo, hi = keys.Ranges(T - 60, T + 60, OPTS).key_source
    assert p.searches == [f"earliest={lo} latest={hi}", keys.sentinel(T - 60)]


def test_a_run_without_keys_returns_only_the_sentinel() -> None:
    p = plan([], T - 60, T + 60, elapsed=100)
    assert p.searches == [keys.sentinel(T - 60)] and not p.widened
    assert not search_matches(p.searches[0], {"_time": str(T - 60), keys.ADDRESS_FIELDS[0]: "203.0.113.5"})


# ---- the SPL is the plan -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def days() -> Dict[str, List[Fields]]:
    chains = [r for part in build_all(per_scenario=2)[:-1] if part.name != "office_day" for r in part.rows]
    return {"scenarios": index_events(chains),
            "adversarial": index_events(adversarial.build_day(9, DAY0).rows)}


def key_search(events: List[Fields], earliest: int, latest: int, content: AppContent = CONTENT,
               clock: Optional[float] = None, macro: str = "guardrail_evidence_keys") -> List[str]:
    """What the key subsearch ``macro`` (the correlation's, or the check search's) returns."""
    problems: List[str] = []
    text = expand(f"`{macro}({earliest},{latest})`", content, problems)
    assert problems == [] and text.startswith("[") and text.endswith("]")
    rows = run_search(text[1:-1], Env(events=events, now=latest + 900.0, clock=clock))
    return [str(r["search"]) for r in rows]


def windows_of(events: List[Fields]) -> List[Tuple[int, int]]:
    times = sorted(float(str(e["_time"])) for e in events if "gcp_policy_denied" in (e.get("eventtype") or []))
    out = [(int(times[0]) - 1, int(times[-1]) + 1)]
    out += [(int(t) - 450, int(t) + 450) for t in times[:: max(1, len(times) // 4)]]
    return out


#: Each key subsearch of a correlation, its mirror, and the kinds of key it gives.
KEY_SEARCHES = {
    "guardrail_evidence_keys": (plan, ("ip=", "nat=", "edr=", "audit=", "host=", "inv=", "project=")),
    "guardrail_presence_keys": (keys.plan_presence, ("egress=", "devices=")),
}


@pytest.mark.parametrize("macro", sorted(KEY_SEARCHES))
@pytest.mark.parametrize("day", ["scenarios", "adversarial"])
def test_the_key_subsearch_returns_what_the_plan_says(day: str, macro: str) -> None:
    events = days()[day]
    views = [keys.view_from_fields(e) for e in events if "eventtype" in e]
    mirror, kinds = KEY_SEARCHES[macro]
    for earliest, latest in windows_of(events):
        expected = mirror(views, float(earliest), float(latest))
        assert len(expected.searches) > 1 and all(w.key.startswith(kinds) for w in expected.windows)
        assert key_search(events, earliest, latest, macro=macro) == expected.searches


def test_the_key_subsearch_widens_at_its_cap_and_after_its_time() -> None:
    events = days()["adversarial"]
    views = [keys.view_from_fields(e) for e in events if "eventtype" in e]
    earliest, latest = windows_of(events)[0]
    capped = AppContent(dict(CONTENT.macros), CONTENT.commands, CONTENT.lookups)
    capped.macros[(keys.MAX_KEYS_MACRO, 0)] = Macro(keys.MAX_KEYS_MACRO, [], "20")
    expected = plan(views, float(earliest), float(latest), max_keys=20)
    assert expected.widened and key_search(events, earliest, latest, capped) == expected.searches
    slow = plan(views, float(earliest), float(latest), elapsed=keys.MAX_SECS + 1)
    assert slow.widened
    assert key_search(events, earliest, latest, clock=latest + 900.0 + keys.MAX_SECS + 1) == slow.searches


def check_key_search(events: List[Fields], lo: int, hi: int, content: AppContent = CONTENT,
                     clock: Optional[float] = None) -> List[str]:
    return key_search(events, lo, hi, content, clock, macro="guardrail_nat_log_check_keys")


def check_windows(events: List[Fields]) -> List[Tuple[int, int]]:
    times = sorted(float(str(e["_time"])) for e in events if "gcp_policy_denied" in (e.get("eventtype") or []))
    starts = {int(t - t % 900) for t in times[:: max(1, len(times) // 3)]}
    return [(start, start + 1800) for start in sorted(starts)]


@pytest.mark.parametrize("day", ["scenarios", "adversarial"])
def test_the_check_key_subsearch_returns_what_the_plan_says(day: str) -> None:
    events = days()[day]
    views = [keys.view_from_fields(e) for e in events if "eventtype" in e]
    for lo, hi in check_windows(events):
        expected = keys.plan_checks(views, float(lo), float(hi))
        assert len(expected.searches) > 1
        assert check_key_search(events, lo, hi) == expected.searches
        # a time inside a bucket reads the whole bucket: the search's buckets are the plan's
        assert check_key_search(events, lo + 899, hi + 1) == expected.searches


def test_the_check_key_subsearch_widens_at_its_cap_and_after_its_time() -> None:
    events = days()["adversarial"]
    views = [keys.view_from_fields(e) for e in events if "eventtype" in e]
    lo, hi = check_windows(events)[0]
    capped = AppContent(dict(CONTENT.macros), CONTENT.commands, CONTENT.lookups)
    capped.macros[(keys.CHECK_MAX_KEYS_MACRO, 0)] = Macro(keys.CHECK_MAX_KEYS_MACRO, [], "3")
    expected = keys.plan_checks(views, float(lo), float(hi), max_keys=3)
    assert expected.widened and check_key_search(events, lo, hi, capped) == expected.searches
    slow = keys.plan_checks(views, float(lo), float(hi), elapsed=keys.MAX_SECS + 1)
    assert slow.widened
    assert check_key_search(events, lo, hi, clock=hi + 900.0 + keys.MAX_SECS + 1) == slow.searches


def test_the_caps_are_the_mirrors() -> None:
    for macro, value in ((keys.MAX_KEYS_MACRO, keys.MAX_KEYS), (keys.CHECK_MAX_KEYS_MACRO, keys.CHECK_MAX_KEYS),
                         (keys.MAX_SECS_MACRO, keys.MAX_SECS), (keys.MERGE_MACRO, keys.MERGE_SECS)):
        assert CONTENT.macros[(macro, 0)].definition.strip() == str(value), macro
