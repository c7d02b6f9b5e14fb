"""The attribution model: from what the rules observed to a verdict an analyst can act on.

A masked call was made by exactly one person. Every observation of :mod:`.rules` ties a
*candidate* (a person, a device, an internal address) to the call in one of three ways:

* a **fingerprint** only this call has (a visible entry of the same gcloud run, a proxy record
  carrying the run's invocation-id, the visible call a service agent acted for) names the person;
* an **address** only one endpoint held at that second names its holder: the internal caller
  address and its DHCP lease or VPN tunnel, a VPN session from the caller's public address, or an
  address only one person was seen at (a home);
* a **shared attribute** (a proxy request to the same API host with no agent or a common one, an
  EDR look-up of that host behind an office egress, a sign-in from it, the same program from it)
  makes a candidate, and never names anyone by itself.

At a NAT egress the translations at the call's second are candidates too, and the egress's NAT log
decides what they mean (:class:`guardrail.correlate.index.NatHealth`): where it is evidently
complete the call left through one of them, so every other candidate is ruled out and a lone
translation names its device's person; where it misses connections nothing can be ruled out.
Before that, traffic a candidate's own visible call at that moment accounts for is explained away:
it is not evidence that they also made the masked call.

The command names a person only when this leaves exactly one; otherwise it answers ``ambiguous``
with the candidates, or ``unidentified``. ``match_confidence`` is the product of the documented
reliabilities of the links in the winning chain (:data:`RELIABILITY`, :data:`LINK`); for
``ambiguous`` it is the best chain's reliability divided by the number of candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .evidence import host_key, user_key
from .index import EvidenceStore
from .model import STATUS_AMBIGUOUS, STATUS_IDENTIFIED, STATUS_NOT_MASKED, STATUS_UNIDENTIFIED, AuditEntry, Verdict
from .options import Options
from .rules import (
    AGENT_ORIGIN,
    CROWD,
    EDR_HOST,
    FINGERPRINTS,
    FP_INVOCATION,
    FP_PROXY,
    INTERNAL,
    NAT,
    PROXY_SHARED,
    SAME_CLIENT,
    SIGNIN,
    Obs,
    Pending,
    device_of,
    devices_seen,
    line,
    named,
    user_on,
    vpn_users,
)

MAX_EVIDENCE_LINES = 25
VPN = "VPN session"
PERSONAL = "personal address"

#: How often a link of each kind, when it alone decides, points at the right person.
RELIABILITY: Dict[str, float] = {
    FP_INVOCATION: 0.97,  # gcloud draws a new invocation-id per run; a run has one credential
    FP_PROXY: 0.97,  # the proxy saw the run's own invocation-id
    AGENT_ORIGIN: 0.90,  # the agent's call names the resource an earlier call created
    VPN: 0.95,  # the VPN gateway names who held the caller's public address
    INTERNAL: 0.98,  # the caller address itself, leased to one device at the second
    NAT: 0.95,  # the only translation at the second, in a NAT log evidently complete
    PERSONAL: 0.85,  # an address only one person was seen at around the call
}
#: How far each step from an address to a person is trusted.
LINK: Dict[str, float] = {
    "record": 1.0,  # the record names the person itself (proxy user, NAT user-id, EDR UserName)
    "tunnel": 1.0,  # the VPN session that holds the address names its user
    "lease": 0.98,  # the DHCP lease running at the second names the device
    "logon": 0.95,  # the device's last interactive logon before the call (devices are shared)
}
ORIGIN_FACTOR = 0.9  # a service agent's call: the originating call's verdict, a little less sure


@dataclass
class Candidate:
    """Someone or something the observations tie to the call, with everything said about them."""

    key: str  # "u:<user key>", else "h:<device>", else "i:<address>"
    user: str = ""
    host: str = ""
    ips: Set[str] = field(default_factory=set)
    kinds: Set[str] = field(default_factory=set)
    obs: List[Obs] = field(default_factory=list)
    lines: List[str] = field(default_factory=list)
    chain: float = 1.0  # the reliability of the steps from the observation to the person
    member: bool = False  # one of the translations at the call's second

    @property
    def person(self) -> bool:
        return self.key.startswith("u:")

    def label(self) -> str:
        """How the candidate appears in ``candidate_users``."""
        if self.person:
            return self.user
        if self.host:
            return f"{self.host} (no logon)"
        return f"{next(iter(self.ips), '?')} (no lease)"

    def add_lines(self, lines: Iterable[str]) -> None:
        for text in lines:
            if text and text not in self.lines:
                self.lines.append(text)


class _Pool:
    """Candidates by key; observations resolving to the same person or device merge."""

    def __init__(self, e: AuditEntry, store: EvidenceStore, o: Options) -> None:
        self.e, self.store, self.o = e, store, o
        self.by_key: Dict[str, Candidate] = {}

    def add(self, obs: Obs, member: bool = False) -> Candidate:
        user, host, ips, lines, chain = resolve_obs(obs, self.e.time, self.store, self.o)
        key = ("u:" + user_key(user)) if named(user) else ("h:" + host_key(host)) if host else \
            ("i:" + (next(iter(sorted(ips))) if ips else obs.kind))
        cand = self.by_key.get(key)
        if cand is None:
            cand = self.by_key[key] = Candidate(key, user.strip() if named(user) else "", host, set(ips), chain=chain)
        else:
            cand.chain = max(cand.chain, chain)  # spelled as the first (closest) observation spells them
            cand.host = cand.host or host
            cand.ips |= ips
        cand.kinds.add(obs.kind)
        cand.obs.append(obs)
        cand.member = cand.member or member
        cand.add_lines(lines)
        return cand

    def values(self) -> List[Candidate]:
        return list(self.by_key.values())


def resolve_obs(obs: Obs, t: float, store: EvidenceStore, o: Options) -> Tuple[str, str, Set[str], List[str], float]:
    """``(person, device, addresses, lines, chain reliability)`` an observation leads to at ``t``."""
    lines = list(obs.lines)
    ips = {obs.ip} if obs.ip else set()
    host, user, chain = obs.host, obs.user if named(obs.user) else "", LINK["record"]
    if obs.ip and not host:
        found_host, tunnel_user, found = device_of(obs.ip, t, store, o)
        if not found_host and obs.hint:
            found_host, found = obs.hint, (obs.hint_line,)
        lines += found
        host = found_host
        if not user and tunnel_user:
            user, chain = tunnel_user, LINK["tunnel"]
        elif found_host:
            chain = LINK["lease"]
    if host and not user:
        logged_on, found = user_on(host, t, store, o)
        lines += found
        user = logged_on if named(logged_on) else ""
        chain *= LINK["logon"]
    return user, host, ips, lines, chain


def _agent(text: str) -> str:
    return text.strip()


def explain_away(cands: Sequence[Candidate], e: AuditEntry, p: Pending, o: Options) -> List[str]:
    """Drop the observations a candidate's own visible call at that moment accounts for.

    A visible call by the candidate's person from the caller address, with another program (agent)
    than the masked call and not of the same gcloud run, is a connection of its own: it accounts for
    one translation of their device within the network tolerance of it (unless a proxy carried it, then it made none of
    the device's own; or unless its program had called from there just before, then it may have
    ridden that connection, as the NAT log's checks assume), for their look-up of that API host, and
    for their proxy request to it. Returns the evidence lines saying what was explained.
    """
    said: List[str] = []
    tol = o.network_tolerance
    for cand in cands:
        if not cand.person:
            continue
        key = cand.key[2:]
        own = [v for v in p.visible if user_key(v.principal) == key and _agent(v.user_agent) != _agent(e.user_agent)
               and not (e.invocation_id and v.invocation_id == e.invocation_id)]
        if not own:
            continue
        direct = [v for v in own if abs(v.time - e.time) <= 2 * tol and not _proxied(v, key, cand.ips, p)
                  and id(v) not in p.reusing]
        nat_obs = [x for x in cand.obs if x.kind == NAT]
        keep: List[Obs] = []
        explained: List[Obs] = []
        if nat_obs and _each_has_its_call(nat_obs, direct, tol):
            explained += nat_obs
        else:
            keep += nat_obs
        for x in cand.obs:
            same_host = [v for v in own if v.service.lower() == e.service.lower()]
            if x.kind == EDR_HOST and any(abs(v.time - x.time) <= o.skew + tol for v in same_host):
                explained.append(x)
            elif x.kind == PROXY_SHARED and any(abs(v.time - x.time) <= 2 * tol for v in same_host):
                explained.append(x)
            elif x.kind != NAT:
                keep.append(x)
        if not explained:
            continue
        witness = min(own, key=lambda v: abs(v.time - e.time))
        said.append(line("gcp:audit", witness.time, f"explained: {cand.user}'s own call {witness.method} from "
                                                    f"{witness.caller_ip} accounts for their "
                                                    + ", ".join(sorted({x.kind for x in explained}))))
        cand.obs = keep
        cand.kinds = {x.kind for x in keep}
        cand.member = any(x.kind == NAT for x in keep)
    return said


def _each_has_its_call(translations: Sequence[Obs], calls: Sequence[AuditEntry], tol: float) -> bool:
    """Whether every translation can be a different one of ``calls``' own: each within the network
    tolerance of its call (network gear and Google's clock agree that closely)."""
    free = sorted(v.time for v in calls)
    for x in sorted(translations, key=lambda x: x.time):
        match = next((i for i, at in enumerate(free) if abs(at - x.time) <= tol), None)
        if match is None:
            return False
        del free[match]
    return True


def _proxied(v: AuditEntry, key: str, ips: Set[str], p: Pending) -> bool:
    """Whether a proxy request by that person (or from their device) to ``v``'s host may have carried it."""
    service = v.service.lower()
    return (key, service) in p.proxied or any((ip, service) in p.proxied for ip in ips)


def _identities(p: Pending, cands: Sequence[Candidate], vpn: Sequence[str], ip: str, t: float, store: EvidenceStore,
                o: Options) -> Set[str]:
    """The people (and devices nobody is logged on to) seen at the caller address around the call."""
    found: Set[str] = set(p.presence)
    if p.edr_asked:
        # the EDR records of the stream, and those the correlation's search appended as seen
        # (natlog=summary, guardrail_presence)
        records = list(p.devices) + store.health.devices_seen(ip, t - o.point_back, t + o.forward)
        found |= devices_seen(records, store)
    seen: Set[str] = set()
    for k in found:
        if k.startswith("h:"):
            person, _lines = user_on(k[2:], t, store, o)
            seen.add(user_key(person) if named(person) else "h:" + host_key(k[2:]))
        else:
            seen.add(k)
    # a proxy request says nothing about where its sender was
    seen |= {c.key[2:] for c in cands if c.person and c.kinds - {PROXY_SHARED}}
    return seen | {user_key(u) for u in vpn}


def _verdict(status: str, winner: Optional[Candidate], confidence: float, cands: Sequence[Candidate],
             lines: Sequence[str]) -> Verdict:
    ordered = sorted(cands, key=lambda c: (c is not winner, -c.chain, c.label().lower()))
    labels = tuple(dict.fromkeys(c.label() for c in ordered))
    out: List[str] = []
    for text in lines:
        if text and text not in out:
            out.append(text)
    if winner is None:
        return Verdict(status, "", "", round(confidence, 3), labels, tuple(out[:MAX_EVIDENCE_LINES]))
    return Verdict(status, winner.user, winner.host, round(confidence, 3), labels, tuple(out[:MAX_EVIDENCE_LINES]))


def _several(cands: Sequence[Candidate], why: str, reliability: float, more: Sequence[str] = ()) -> Verdict:
    """``ambiguous`` among several candidates, ``unidentified`` with one or none."""
    lines = [why, *more] + [text for c in cands for text in c.lines]
    if len(cands) >= 2:
        best = max(c.chain for c in cands) * reliability
        return _verdict(STATUS_AMBIGUOUS, None, best / len(cands), cands, lines)
    return _verdict(STATUS_UNIDENTIFIED, None, 0.0, cands, lines)


def _named(winner: Candidate, reliability: float, why: Sequence[str], others: Sequence[Candidate],
           o: Options) -> Verdict:
    confidence = reliability * winner.chain
    lines = list(winner.lines) + list(why)
    if confidence < o.min_confidence:
        lines.append(f"confidence {confidence:.3f} below min_confidence={o.min_confidence:g}: nobody named")
        return _verdict(STATUS_UNIDENTIFIED, None, confidence, [winner, *others], lines)
    return _verdict(STATUS_IDENTIFIED, winner, confidence, [winner, *others], lines)


def resolve(e: AuditEntry, pending: Pending, store: EvidenceStore, o: Options) -> Verdict:
    """Phase two: resolve every observation to a person and decide."""
    if e.service_agent:
        return _resolve_agent(e, pending, store, o)
    return _resolve_call(e, pending, store, o)


def _resolve_agent(e: AuditEntry, p: Pending, store: EvidenceStore, o: Options) -> Verdict:
    """A service agent's call: the person behind the call it acted for."""
    pool = _Pool(e, store, o)
    for obs in p.observations:
        if obs.kind == AGENT_ORIGIN:
            pool.add(obs)
    confidence = {c.key: RELIABILITY[AGENT_ORIGIN] * c.chain for c in pool.values()}
    unknown: List[str] = []
    for origin, origin_pending in p.origins:
        head = line("gcp:audit", origin.time, f"originating call {origin.method} on {origin.resource} "
                                              f"callerIp={origin.caller_ip} (caller masked)")
        verdict = _resolve_call(origin, origin_pending, store, o)
        if verdict.status == STATUS_IDENTIFIED:
            obs = Obs(AGENT_ORIGIN, origin.time, (head, *verdict.evidence), user=verdict.user, host=verdict.host)
            cand = pool.add(obs)
            confidence[cand.key] = max(confidence.get(cand.key, 0.0), verdict.confidence * ORIGIN_FACTOR)
        else:
            unknown.append(head)
    people = [c for c in pool.values() if c.person]
    if len(people) == 1 and not unknown:
        winner = people[0]
        winner.chain = 1.0
        return _named(winner, confidence[winner.key], (), [], o)
    if people and unknown:
        # a masked call on the resource that names nobody may be the one the agent acted for
        return _several(pool.values(), "service agent: an originating call on the resource names nobody, so no "
                                       "other originating call is the only one it may have acted for", 1.0, unknown)
    return _several(pool.values(), "service agent: no single originating call on the resource names a person", 1.0)


def _resolve_call(e: AuditEntry, p: Pending, store: EvidenceStore, o: Options) -> Verdict:
    t = e.time
    fingerprints = sorted((obs for obs in p.observations if obs.kind in FINGERPRINTS and obs.kind != AGENT_ORIGIN),
                          key=lambda obs: abs(obs.time - t))
    if fingerprints:
        pool = _Pool(e, store, o)
        for obs in fingerprints:
            pool.add(obs)
        people = [c for c in pool.values() if c.person]
        if len(people) == 1:
            winner = people[0]
            return _named(winner, RELIABILITY[sorted(winner.kinds)[0]], ("fingerprint: only this call carries it",),
                          [], o)
        if people:
            return _several(people, "fingerprints of this call name several people", RELIABILITY[FP_INVOCATION])
    internal = [obs for obs in p.observations if obs.kind == INTERNAL]
    if internal:
        pool = _Pool(e, store, o)
        cand = pool.add(internal[0])
        if cand.person:
            return _named(cand, RELIABILITY[INTERNAL], (f"the caller address {e.caller_ip} is internal: its holder "
                                                        f"at {line('', t, '').strip()} made the call",), [], o)
        return _verdict(STATUS_UNIDENTIFIED, None, 0.0, [cand] if cand.host else [],
                        [*cand.lines, f"no person for the internal caller address {e.caller_ip}"])
    if not e.public or e.cloud_shell:
        why = "no address to follow (" + ("Cloud Shell" if e.cloud_shell else f"callerIp={e.caller_ip}") + \
              ") and no fingerprint of this call"
        return _verdict(STATUS_UNIDENTIFIED, None, 0.0, [], [why])
    return _resolve_public(e, p, store, o)


def _resolve_public(e: AuditEntry, p: Pending, store: EvidenceStore, o: Options) -> Verdict:
    """A call from a public address: a home, a hotel, or one of our NAT egresses."""
    t, ip = e.time, e.ip_key or ""
    pool = _Pool(e, store, o)
    for obs in p.observations:
        if obs.kind == NAT:
            pool.add(obs, member=True)
    for obs in p.observations:
        if obs.kind in (EDR_HOST, PROXY_SHARED, SIGNIN, SAME_CLIENT):
            pool.add(obs)
    sessions = vpn_users(ip, t, store, o)
    for session, text in sessions:
        pool.add(Obs(VPN, session.start, (text,), user=session.user, host=session.host))
    cands = pool.values()
    if p.crowd:
        return _several(cands, f"{ip} is a crowd around the call: {p.crowd} translations at its second, calls of the "
                               f"same program or other calls; the nearest {CROWD} are weighed and nobody can be "
                               "singled out among so many", RELIABILITY[NAT])
    said = explain_away(cands, e, p, o)
    cands = [c for c in cands if c.kinds]
    state, ok, missing = store.health.state(ip, t)
    within = _span_words(store.health.window)
    # an egress of ours: translations there around the call, streamed (presence) or appended as the
    # times some were seen (natlog=summary, guardrail_presence)
    nat_near = (any(k.startswith("i:") for k in p.presence)
                or store.health.seen(ip, t - o.point_back, t + o.forward))
    vpn_people = {user_key(s.user) for s, _ in sessions}

    if state == "absent" and not nat_near:
        identities = _identities(p, cands, [s.user for s, _ in sessions], ip, t, store, o)
        if len(identities) <= 1:
            # an address one person uses: a proxy cannot be its route, anyone else's record is not there
            supported = [c for c in cands if c.person and c.kinds - {PROXY_SHARED}]
            if len(supported) == 1:
                winner = supported[0]
                kind = VPN if winner.key[2:] in vpn_people else PERSONAL
                why = (f"{ip} is a VPN client address up at the call" if kind == VPN else
                       f"{ip}: only {winner.user} was seen at this address around the call")
                return _named(winner, RELIABILITY[kind], [*said, why], [], o)
            return _several(cands, f"nothing ties anyone to {ip} at the call", 1.0)
        return _several(cands, f"{ip} is shared: {len(identities)} people or devices seen there around the call; "
                               "a shared observation names nobody", RELIABILITY[PERSONAL])

    members = [c for c in cands if c.member]
    if state == "complete" and members:
        unresolved = [c for c in members if not c.person]
        kept = list(members)
        ruled_out: List[str] = []
        for c in cands:
            if c.member:
                continue
            if c.kinds <= {PROXY_SHARED} and unresolved:
                kept.append(c)  # a translation nobody holds may be the proxy's: its clients stay
            elif SAME_CLIENT in c.kinds:
                kept.append(c)  # the same program's open connection may have carried the call
            else:
                ruled_out.append(f"ruled out {c.label()}: no translation of {_device_words(c)} to {ip} at "
                                 f"{line('', t, '').strip()} while the NAT log of {ip} there is complete")
        health = (f"NAT log of {ip} complete around the call: {ok} calls within {within} each had a translation; "
                  f"{p.translations} translation(s) at the call's second")
        if len(kept) == 1 and kept[0].person and kept[0].member:
            return _named(kept[0], RELIABILITY[NAT], [*said, health, *ruled_out[:8]], [], o)
        return _several(kept, health + "; more than one could have carried the call", RELIABILITY[NAT],
                        [*said, *ruled_out[:8]])

    if state == "incomplete":
        why = (f"NAT log of {ip} misses connections around the call ({missing} of {ok + missing} calls within {within} "
               "had no translation): absence proves nothing, nobody can be ruled out")
    elif state == "complete":
        why = f"no translation to {ip} at the call's second that the call can have used"
    else:
        why = f"{ip} is an egress whose NAT log shows nothing around the call"
    return _several(cands, why + ("; " + "; ".join(said) if said else ""), RELIABILITY[NAT])


def _device_words(c: Candidate) -> str:
    if c.host:
        return c.host
    return next(iter(sorted(c.ips)), c.label())


def not_masked(e: AuditEntry) -> Verdict:
    """The principal is visible: it is the answer, and the audit entry is the evidence."""
    text = line("gcp:audit", e.time, f"{e.method} principalEmail={e.principal}"
                + (f" insertId={e.insert_id}" if e.insert_id else ""))
    return Verdict(STATUS_NOT_MASKED, e.principal, "", 1.0, (e.principal,), (text,))


def _span_words(seconds: float) -> str:
    """``2 h``, ``90 min``: how far the NAT log's checks were counted."""
    return f"{seconds / 3600:g} h" if seconds % 3600 == 0 else f"{seconds / 60:g} min"
