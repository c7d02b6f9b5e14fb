"""Evidence chains and scoring: from a denied call to a named person, or to an honest "cannot tell".

Resolution runs in two phases because the evidence arrives at two very different distances from
the call:

* **point rules** (:data:`POINT_RULES`) read evidence stamped within seconds or minutes of the
  call (NAT, EDR, proxy, IdP sign-ins, other GCP audit entries). They run once that short
  window has streamed past and turn what they find into :class:`Lead` values, so the bulky
  point evidence can be dropped early;
* **interval rules** (:data:`INTERVAL_RULES`) read DHCP leases, VPN sessions and interactive
  logons, which may have started hours before the call, and expand the leads (internal IP →
  device → person) once the ``lookback`` has streamed past.

Each rule is a plain function; its docstring says what it weighs and why. :func:`score` then
combines independent channels per person into a confidence and decides the status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from .evidence import host_key
from .index import EvidenceStore
from .model import (
    AuditEntry,
    fmt_time,
)
from .netaddr import is_internal
from .options import Options

#: Weight of one channel when it alone names exactly one person. Shared evidence (several
#: people on the same channel) divides the weight between them, see :func:`score`.
WEIGHTS: Dict[str, float] = {
    "gcp-invocation": 0.97,  # same gcloud run: invocation-id is unique per run
    "vpn": 0.9,  # the public IP is this user's VPN client address while the session is up
    "nat": 0.85,  # NAT log names the internal address behind the public IP at that second
    "internal-ip": 0.85,  # the call came straight from an internal address
    "gcp-origin": 0.85,  # a service agent acted for the originating call on the same resource
    "proxy": 0.8,  # the proxy saw a request to the same Google API host with the same agent
    "gcp-client": 0.75,  # another call from the same IP and agent within a short window
    "idp": 0.65,  # an IdP sign-in from the same public IP shortly before
    "edr-ip": 0.65,  # the EDR cloud saw the device egress from the same public IP
    "edr-dns": 0.5,  # the device resolved the API host around that time (many devices do)
}
UNIQUE_AGENT = 0.95  # the proxy logged the call's own gcloud invocation-id: as good as a name
PROXY_WITHOUT_AGENT = 0.7  # proxy hit on the API host at the call's second, no agent logged to compare
ORIGIN_FACTOR = 0.9  # evidence about an originating call counts a little less for the agent's call


@dataclass(frozen=True)
class Lead:
    """A partial chain: names a person, or a device / internal address still to be followed."""

    channel: str
    weight: float
    lines: Tuple[str, ...]
    user: str = ""
    host: str = ""
    internal_ip: str = ""
    time: float = 0.0
    #: A fingerprint that only picks between people other evidence already ties to the call
    #: (a request to the same API host in the same second can be anyone's, anywhere).
    selector: bool = False


@dataclass(frozen=True)
class Pending:
    """What the point rules found for one call; kept while the interval evidence streams past."""

    leads: Tuple[Lead, ...]
    #: (public ip, time, weight factor, lines) to look up in VPN sessions
    public_ips: Tuple[Tuple[str, float, float, Tuple[str, ...]], ...]


def line(source: str, time: float, text: str) -> str:
    """One evidence line an analyst can check by hand: source, time, key."""
    return f"{source} {fmt_time(time)} {text}"


PointRule = Callable[[AuditEntry, EvidenceStore, Options], Iterable[Lead]]


def _is_public(ip: Optional[str]) -> bool:
    return bool(ip) and not is_internal(ip or "")


def _came_from_an_endpoint(e: AuditEntry) -> bool:
    """Whether the call can have left one of our endpoints (so endpoint fingerprints apply).

    Calls without an address (``private``, ``gce-internal-ip``), made by a service agent, or
    from Cloud Shell run inside Google: a proxy or EDR record at that second is someone else's.
    """
    return bool(e.service) and e.ip_key is not None and not e.service_agent and not e.cloud_shell


def rule_idp_signin(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """IdP sign-ins from the caller's public IP within ``window`` before the call.

    A browser sign-in and a gcloud call from the same address minutes apart are usually the same
    person; the agents may differ. Office egress addresses carry many sign-ins, which split the
    weight between them.
    """
    if not _is_public(e.ip_key) or e.cloud_shell:
        return
    for s in store.signins.between(e.ip_key or "", e.time - o.window, e.time + o.network_tolerance):
        agent = f" http_user_agent={s.user_agent!r}" if s.user_agent else ""
        app = f" app={s.app}" if s.app else ""
        yield Lead("idp", WEIGHTS["idp"], (line(s.source, s.time, f"sign-in user={s.user} src={s.ip}{app}{agent}"),),
                   user=s.user, time=e.time)


def rule_nat(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """NAT records translating an internal address to the caller's public IP at the call's second.

    Network gear is on time (``network_tolerance``); the internal address is then followed to
    the device leased it and the person logged on there.
    """
    if not _is_public(e.ip_key) or e.cloud_shell:
        return
    tol = o.network_tolerance
    seen: Set[Tuple[str, str]] = set()
    for n in store.nats.between(e.ip_key or "", e.time - tol, e.time + tol):
        if (n.internal_ip, n.user) in seen:
            continue
        seen.add((n.internal_ip, n.user))
        user = f" user={n.user}" if n.user else ""
        yield Lead("nat", WEIGHTS["nat"],
                   (line(n.source, n.time, f"NAT src_ip={n.internal_ip} src_translated_ip={n.public_ip}{user}"),),
                   user=n.user, internal_ip=n.internal_ip, time=e.time)


def rule_internal_caller(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """The call came from an internal address (Private Google Access, interconnect): follow it."""
    if e.ip_key and is_internal(e.ip_key) and not e.cloud_shell:
        yield Lead("internal-ip", WEIGHTS["internal-ip"], (), internal_ip=e.ip_key, time=e.time)


def rule_edr_public_ip(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """EDR records whose ``aip`` (address seen by the EDR cloud) is the caller IP, within ``skew``.

    Endpoint clocks drift, hence the wider tolerance. The record names the device and sometimes
    the user; a device alone is followed to its interactive logon.
    """
    if not _is_public(e.ip_key) or e.cloud_shell:
        return
    for s in store.edr_aip.between(e.ip_key or "", e.time - o.skew, e.time + o.skew):
        user = f" UserName={s.user}" if s.user else ""
        yield Lead("edr-ip", WEIGHTS["edr-ip"],
                   (line(s.source, s.time, f"{s.kind} aip={s.aip} ComputerName={s.host}{user}"),),
                   user=s.user, host=s.host, time=e.time)


def rule_proxy_fingerprint(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """Proxy requests to the event's Google API host at the call's second, with the same agent.

    A matching gcloud agent carries the run's invocation-id and is as good as a name; a request
    with a different agent is another client and is ignored; one with no agent logged weighs less.
    """
    if not _came_from_an_endpoint(e):
        return
    host = e.service.lower()
    tol = o.network_tolerance
    agent = e.user_agent
    for p in store.proxies.between(host, e.time - tol, e.time + tol):
        if p.user_agent and agent:
            if not (p.user_agent == agent or agent.startswith(p.user_agent) or p.user_agent.startswith(agent)):
                continue
            unique = bool(e.invocation_id) and ("invocation-id/" + e.invocation_id) in p.user_agent.lower()
            weight = UNIQUE_AGENT if unique else WEIGHTS["proxy"]
            how = "same gcloud invocation-id" if unique else "same user agent"
        else:
            unique = False
            weight = PROXY_WITHOUT_AGENT
            how = "no user agent to compare"
        who = " ".join(x for x in (f"user={p.user}" if p.user else "", f"src={p.src_ip}" if p.src_ip else "") if x)
        yield Lead("proxy", weight, (line(p.source, p.time, f"proxy {who} dest={p.host} ({how})"),),
                   user=p.user, internal_ip=p.src_ip if p.src_ip and is_internal(p.src_ip) else "", time=e.time,
                   selector=not unique)


def rule_edr_dns(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """EDR records of a device resolving the event's API host within ``skew`` of the call.

    Weak alone (many devices talk to Google APIs), useful to single out one of several
    candidates behind a shared address.
    """
    if not _came_from_an_endpoint(e):
        return
    for s in store.edr_domain.between(e.service.lower(), e.time - o.skew, e.time + o.skew):
        user = f" UserName={s.user}" if s.user else ""
        yield Lead("edr-dns", WEIGHTS["edr-dns"],
                   (line(s.source, s.time, f"{s.kind} DomainName={s.domain} ComputerName={s.host}{user}"),),
                   user=s.user, host=s.host, time=e.time, selector=True)


def _unmasked_principal(entry: AuditEntry) -> bool:
    return not entry.masked and not entry.service_agent and bool(entry.principal)


def rule_gcloud_invocation(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """Other audit entries of the same gcloud run (same ``invocation-id``) with a visible principal."""
    if not e.invocation_id:
        return
    w = o.selfjoin_window
    for a in store.audit_invocation.between(e.invocation_id, e.time - w, e.time + w):
        if _unmasked_principal(a) and a is not e:
            yield Lead("gcp-invocation", WEIGHTS["gcp-invocation"],
                       (line("gcp:audit", a.time, f"{a.method} principalEmail={a.principal} "
                                                  f"invocation-id={a.invocation_id}"),),
                       user=a.principal, time=e.time)


def rule_gcp_same_client(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """Audit entries with a visible principal from the same caller IP and agent, ``selfjoin_window`` apart."""
    if not e.ip_key or not e.user_agent:
        return
    w = o.selfjoin_window
    for a in store.audit_ip.between(e.ip_key, e.time - w, e.time + w):
        if a is not e and a.user_agent == e.user_agent and _unmasked_principal(a):
            if e.invocation_id and a.invocation_id == e.invocation_id:
                continue  # already weighed by the invocation rule
            yield Lead("gcp-client", WEIGHTS["gcp-client"],
                       (line("gcp:audit", a.time, f"{a.method} principalEmail={a.principal} callerIp={a.caller_ip} "
                                                  "same user agent"),),
                       user=a.principal, time=e.time)


def origin_calls(e: AuditEntry, store: EvidenceStore, o: Options) -> List[AuditEntry]:
    """Calls on the same project and resource shortly before a service agent's call, newest first."""
    if not e.service_agent or not e.resource:
        return []
    found = store.audit_resource.between(e.project + "|" + e.resource_leaf, e.time - o.agent_window,
                                         e.time + o.network_tolerance)
    return [a for a in reversed(found) if a is not e and not a.service_agent]


def rule_service_agent_origin(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """Service agents (``callerIp=private``) act for an earlier call on the same project + resource.

    A visible principal on that call names the person; a masked one is followed through the
    other point rules from its own caller IP and agent, at a slightly lower weight.
    """
    for a in origin_calls(e, store, o):
        head = line("gcp:audit", a.time, f"originating call {a.method} on {a.resource} principalEmail="
                    f"{a.principal or '(none)'} callerIp={a.caller_ip}")
        if _unmasked_principal(a):
            yield Lead("gcp-origin", WEIGHTS["gcp-origin"], (head,), user=a.principal, time=e.time)
            continue
        for rule in POINT_RULES:
            if rule is rule_service_agent_origin:
                continue
            for lead in rule(a, store, o):
                yield replace(lead, weight=lead.weight * ORIGIN_FACTOR, lines=(head, *lead.lines))


#: Rules over point evidence, in the order their evidence lines are shown.
POINT_RULES: Tuple[PointRule, ...] = (
    rule_gcloud_invocation,
    rule_service_agent_origin,
    rule_nat,
    rule_internal_caller,
    rule_proxy_fingerprint,
    rule_edr_public_ip,
    rule_edr_dns,
    rule_idp_signin,
    rule_gcp_same_client,
)


def gather(e: AuditEntry, store: EvidenceStore, o: Options) -> Pending:
    """Phase one: run the point rules and note which public IPs still need VPN sessions."""
    leads: List[Lead] = []
    for rule in POINT_RULES:
        leads.extend(rule(e, store, o))
    # EDR records placing a device on an internal address at that time complete a lead early, but
    # only when the EDR cloud saw that device leave through the caller's address: the same private
    # address exists on countless home networks.
    extra: List[Lead] = []
    for lead in leads:
        if lead.internal_ip and not lead.host and _is_public(e.ip_key):
            for s in store.edr_local.between(lead.internal_ip, e.time - o.skew, e.time + o.skew):
                if s.aip != e.ip_key:
                    continue
                seen = line(s.source, s.time, f"{s.kind} LocalAddressIP4={s.local_ip} ComputerName={s.host}")
                extra.append(replace(lead, host=s.host, user=lead.user or s.user, lines=(*lead.lines, seen)))
    publics: List[Tuple[str, float, float, Tuple[str, ...]]] = []
    if _is_public(e.ip_key) and not e.cloud_shell:
        publics.append((e.ip_key or "", e.time, 1.0, ()))
    for a in origin_calls(e, store, o):
        if not _unmasked_principal(a) and _is_public(a.ip_key) and not a.cloud_shell:
            head = line("gcp:audit", a.time, f"originating call {a.method} callerIp={a.caller_ip}")
            publics.append((a.ip_key or "", a.time, ORIGIN_FACTOR, (head,)))
    return Pending(tuple(leads + extra), tuple(publics))


def rule_vpn_session(e: AuditEntry, pending: Pending, store: EvidenceStore, o: Options) -> Iterable[Lead]:
    """VPN sessions whose public client address is the caller IP and which are up at the call.

    Sessions are intervals: one that ended before the call, or began after it, does not count
    (a home address may have belonged to someone else yesterday).
    """
    tol = o.network_tolerance
    for ip, t, factor, head in pending.public_ips:
        for s in store.vpn_public.between(ip, t - o.lookback, t + tol):
            if s.end < t - tol:
                continue
            host = f" dest_nt_host={s.host}" if s.host else ""
            until = fmt_time(s.end) if s.end != float("inf") else "open"
            seen = line(s.source, s.start, f"VPN src_ip={s.public_ip} user={s.user}{host} until {until}")
            yield Lead("vpn", WEIGHTS["vpn"] * factor, (*head, seen), user=s.user, host=s.host, time=t)


IntervalRule = Callable[[AuditEntry, Pending, EvidenceStore, Options], Iterable[Lead]]
INTERVAL_RULES: Tuple[IntervalRule, ...] = (rule_vpn_session,)


def device_of(ip: str, t: float, store: EvidenceStore, o: Options) -> Tuple[str, str, Tuple[str, ...]]:
    """``(host, user, lines)`` holding internal ``ip`` at ``t``: a VPN tunnel or the latest DHCP lease.

    Only the most recent lease that began before ``t`` counts (the address may have been handed
    to another laptop minutes before), and only while it is still running at ``t``.
    """
    tol = o.network_tolerance
    for s in reversed(store.vpn_assigned.between(ip, t - o.lookback, t + tol)):
        if s.end >= t - tol:
            return s.host, s.user, (line(s.source, s.start, f"VPN dest_ip={ip} user={s.user} dest_nt_host={s.host}"),)
        break
    leases = store.leases.between(ip, t - o.lookback, t + tol)
    if not leases:
        return "", "", ("no DHCP lease or VPN session for " + ip + " before " + fmt_time(t),)
    lease = leases[-1]
    if lease.end < t - tol:
        return "", "", (line(lease.source, lease.start, f"DHCP lease of {ip} to {lease.host} ended "
                                                        f"{fmt_time(lease.end)}, before the call"),)
    mac = f" dest_mac={lease.mac}" if lease.mac else ""
    return lease.host, "", (line(lease.source, lease.start, f"DHCP dest_ip={ip} dest_nt_host={lease.host}{mac} "
                                                            f"lease_duration={lease.end - lease.start:g}"),)


def user_on(host: str, t: float, store: EvidenceStore, o: Options) -> Tuple[str, Tuple[str, ...]]:
    """The person of the most recent interactive logon on ``host`` before ``t`` (shared devices)."""
    logons = store.logons.between(host_key(host), t - o.lookback, t + o.network_tolerance)
    if not logons:
        return "", ("no interactive logon on " + host + " before " + fmt_time(t),)
    logon = logons[-1]
    return logon.user, (line(logon.source, logon.time, f"logon user={logon.user} dest={logon.host}"),)


def expand(lead: Lead, store: EvidenceStore, o: Options) -> Lead:
    """Phase two for one lead: internal IP → device → person, as far as the evidence goes."""
    if lead.internal_ip and not lead.host:
        host, user, lines = device_of(lead.internal_ip, lead.time, store, o)
        lead = replace(lead, host=host, user=lead.user or user, lines=lead.lines + lines)
    if lead.host and not lead.user:
        user, lines = user_on(lead.host, lead.time, store, o)
        lead = replace(lead, user=user, lines=lead.lines + lines)
    return lead
