"""The evidence chains: plain functions from a denied call to the observations that bear on it.

Each rule reads one kind of record and says what that record *links* (a person, a device, an
internal address) to the call, how precisely in time (a network clock, an endpoint clock, an
interval) and how uniquely (a fingerprint only this call has, an address only one endpoint held,
or an attribute many people share). The rules decide nothing; :mod:`.decide` weighs what they
found. Resolution runs in two phases because the evidence arrives at two distances from the call:

* **point rules** (:data:`POINT_RULES`) read records stamped within seconds or minutes of the call
  (NAT, EDR, proxy, IdP sign-ins, other audit entries). They run once that window has streamed
  past and keep what they found in a :class:`Pending`, so the bulky point evidence can go early;
* **interval rules** (:func:`device_of`, :func:`user_on`, :func:`vpn_users`)
  read DHCP leases, VPN sessions and interactive logons, which may have begun hours before the
  call, once the ``lookback`` has streamed past.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from .evidence import host_key, is_person, user_key
from .index import EvidenceStore, may_reuse_connection
from .model import AuditEntry, Session, Sighting, fmt_time
from .netaddr import is_internal
from .options import Options

# What an observation links, and how uniquely (see docs/commands/correlatepolicydenied.md).
FP_INVOCATION = "same gcloud run"  # a visible entry of the same gcloud invocation: a fingerprint
FP_PROXY = "proxy fingerprint"  # a proxy record carrying the call's gcloud invocation-id
AGENT_ORIGIN = "originating call"  # a service agent's call: the visible call it acted for
INTERNAL = "internal address"  # the caller address itself is internal: its holder at t
NAT = "NAT translation"  # a device translated to the caller address at the call's second
EDR_HOST = "EDR, same API host"  # a device behind the caller address reached the call's API host
PROXY_SHARED = "proxy, shared agent"  # a proxy request to the API host with no or a common agent
SIGNIN = "IdP sign-in"  # a sign-in from the caller address shortly before
SAME_CLIENT = "same address and agent"  # a visible call from the caller address with the same agent
#: Observations only this call can have produced.
FINGERPRINTS = frozenset({FP_INVOCATION, FP_PROXY, AGENT_ORIGIN})


@dataclass(frozen=True)
class Obs:
    """One observation tying something (a person, a device, an internal address) to the call."""

    kind: str
    time: float
    lines: Tuple[str, ...]
    user: str = ""  # the person the record itself names
    host: str = ""  # the device the record itself names
    ip: str = ""  # the internal address the record itself names
    #: a device that reported holding ``ip`` behind the caller address at that moment (EDR), used
    #: when no DHCP lease or VPN tunnel says who held it
    hint: str = ""
    hint_line: str = ""


@dataclass(frozen=True)
class Pending:
    """What the point rules found for one call; kept while the interval evidence streams past."""

    observations: Tuple[Obs, ...]
    #: people (user keys) seen at the caller address around the call, or ``i:`` keys of devices
    #: translated there (an egress of ours)
    presence: FrozenSet[str]
    #: visible calls from the caller address around the call (they may explain traffic away)
    visible: Tuple[AuditEntry, ...]
    #: who (user key or source address) requested which API host through the proxy around the call
    #: (a visible call such a request carried left through the proxy, not the device's own translation)
    proxied: FrozenSet[Tuple[str, str]]
    #: translations to the caller address at the call's second, whoever's
    translations: int
    #: a service agent's masked originating calls, with what their own point rules found
    origins: Tuple[Tuple[AuditEntry, Pending], ...] = ()
    #: the visible calls (``id``) whose program had called from the address just before: they may have
    #: ridden the connection it opened, leaving no translation of their own
    reusing: FrozenSet[int] = frozenset()
    #: how many translations at the call's second, calls of the same program or visible calls there
    #: were, when more than :data:`CROWD` of one (only the nearest are kept: nobody can be singled out
    #: among so many); 0 otherwise. Other observations past :data:`CROWD` of a kind keep the nearest.
    crowd: int = 0
    #: whether the EDR records of devices behind the address around the call decide who was there
    #: (fewer than two people seen otherwise), and those records: devices and their users are told
    #: only when the call is decided, with every sensor name the stream gave (:func:`devices_seen`)
    edr_asked: bool = False
    devices: Tuple[Sighting, ...] = ()


#: Around one call, at most this many observations (translations, records, other calls) and visible
#: calls are weighed one by one. Past it the address is a crowd at that moment: the nearest are kept
#: as candidates and nobody is named (a burst of calls through one egress would otherwise cost the
#: square of its size in time and output).
CROWD = 64


def _nearest(items: List[Obs], t: float) -> List[Obs]:
    return sorted(items, key=lambda x: abs(x.time - t))[:CROWD]


def line(source: str, time: float, text: str) -> str:
    """One evidence line an analyst can check by hand: source, time, key."""
    return f"{source} {fmt_time(time)} {text}"


PointRule = Callable[[AuditEntry, EvidenceStore, Options], Iterable[Obs]]


def _public(e: AuditEntry) -> bool:
    return e.public and not e.cloud_shell


def _came_from_an_endpoint(e: AuditEntry) -> bool:
    """Whether the call can have left one of our endpoints (so endpoint fingerprints apply).

    Calls without an address (``private``, ``gce-internal-ip``), made by a service agent, or
    from Cloud Shell run inside Google: a proxy or EDR record at that second is someone else's.
    """
    return bool(e.service) and e.ip_key is not None and not e.service_agent and not e.cloud_shell


def _visible(entry: AuditEntry) -> bool:
    return not entry.masked and not entry.service_agent and bool(entry.principal)


def rule_gcloud_invocation(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Obs]:
    """Visible entries of the same gcloud run (``invocation-id``): a fingerprint naming the principal.

    gcloud draws a new random invocation-id for every run and a run uses one credential, so a
    visible entry carrying it names who ran the command, whatever address it came from.
    """
    if not e.invocation_id:
        return
    w = o.selfjoin_window
    for a in store.audit_invocation.between(e.invocation_id, e.time - w, e.time + w):
        if a is not e and _visible(a):
            yield Obs(FP_INVOCATION, a.time, (line("gcp:audit", a.time, f"{a.method} principalEmail={a.principal} "
                                                                      f"invocation-id={a.invocation_id}"),),
                      user=a.principal)


def _agent_matches(call: str, logged: str) -> bool:
    return logged == call or call.startswith(logged) or logged.startswith(call)


def rule_proxy(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Obs]:
    """Proxy requests to the call's Google API host.

    A logged agent carrying the call's gcloud ``invocation-id`` is unique to the call: a
    fingerprint, kept within ``fingerprint_window`` (proxies stamp the request's completion and
    their clocks differ from Google's by seconds). A request with the same agent but no
    invocation-id (a browser, an SDK) or with no agent at all (a ``CONNECT`` tunnel) is shared by
    everyone reaching that host: it only makes its sender a candidate, within ``network_tolerance``.
    A request with another agent is another program's.
    """
    if not _came_from_an_endpoint(e):
        return
    host = e.service.lower()
    tol = o.network_tolerance
    marker = "invocation-id/" + e.invocation_id if e.invocation_id else ""
    wide = max(o.fingerprint_window, tol) if marker else tol  # only a fingerprint keeps the wide window
    for p in store.proxies.between(host, e.time - wide, e.time + wide):
        who = " ".join(x for x in (f"user={p.user}" if p.user else "", f"src={p.src_ip}" if p.src_ip else "") if x)
        ip = p.src_ip if p.src_ip and is_internal(p.src_ip) else ""
        if marker and marker in p.user_agent.lower():
            yield Obs(FP_PROXY, p.time, (line(p.source, p.time, f"proxy {who} dest={p.host} "
                                                                f"(same gcloud invocation-id)"),), user=p.user, ip=ip)
            continue
        if abs(p.time - e.time) > tol:
            continue
        if p.user_agent and not (e.user_agent and _agent_matches(e.user_agent, p.user_agent)):
            continue
        how = "same user agent" if p.user_agent else "no user agent logged"
        yield Obs(PROXY_SHARED, p.time, (line(p.source, p.time, f"proxy {who} dest={p.host} ({how})"),),
                  user=p.user, ip=ip)


def rule_nat(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Obs]:
    """Translations of an internal address to the caller address at the call's second.

    Network gear is on time (``network_tolerance``). Each translated address is one device behind
    the egress at that second; whether that set is the whole truth depends on the NAT log's
    completeness, which :mod:`.decide` judges.
    """
    if not _public(e):
        return
    tol = o.network_tolerance
    for n in store.nats.between(e.ip_key or "", e.time - tol, e.time + tol):
        user = f" user={n.user}" if n.user else ""
        hint = hint_line = ""
        for s in store.edr_local.between(n.internal_ip, e.time - o.skew, e.time + o.skew):
            if s.aip == e.ip_key and _device(store, s):
                hint = _device(store, s)
                hint_line = line(s.source, s.time, f"{s.kind} LocalAddressIP4={s.local_ip} aip={s.aip} device={hint}")
                break
        yield Obs(NAT, n.time, (line(n.source, n.time, f"NAT src_ip={n.internal_ip} src_translated_ip={n.public_ip}"
                                                       f"{user}"),), user=n.user, ip=n.internal_ip, hint=hint,
                  hint_line=hint_line)


def rule_internal_caller(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Obs]:
    """The call came from an internal address (Private Google Access, Interconnect): its holder at t."""
    if e.ip_key and is_internal(e.ip_key) and not e.cloud_shell:
        yield Obs(INTERNAL, e.time, (), ip=e.ip_key)


def _device(store: EvidenceStore, s: Sighting) -> str:
    return store.host_of(s) or (f"aid:{s.aid}" if s.aid else "")


def rule_edr_host(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Obs]:
    """EDR records of a device behind the caller address that concern the call's API host.

    A device's look-up of the API host, or a connection record of a device that looked the host up
    around then, within ``skew`` (endpoint clocks drift). Every record of one device at that moment
    is one observation: its connection and its look-up are the same act, not two votes. A record
    that names no host (a connection, a process) says only that the device was online behind the
    address, and is no observation about this call.
    """
    if not _came_from_an_endpoint(e) or not e.public:
        return
    skew = o.skew
    host = e.service.lower()
    near = store.edr_aip.between(e.ip_key or "", e.time - skew, e.time + skew)
    looked_up: Dict[str, List[Sighting]] = {}
    for s in store.edr_domain.between(host, e.time - skew, e.time + skew):
        if s.aip == e.ip_key:
            looked_up.setdefault(_device(store, s), []).append(s)
    for s in near:
        device = _device(store, s)
        if device in looked_up and s.domain != host:
            looked_up[device].append(s)
    for device, records in looked_up.items():
        records.sort(key=lambda r: r.time)
        lines = tuple(line(r.source, r.time, f"{r.kind} aip={r.aip}"
                           + (f" DomainName={r.domain}" if r.domain else "")
                           + (f" LocalAddressIP4={r.local_ip}" if r.local_ip else "")
                           + f" device={device}" + (f" UserName={r.user}" if r.user else "")) for r in records)
        user = next((r.user for r in records if r.user), "")
        ip = next((r.local_ip for r in records if r.local_ip and is_internal(r.local_ip)), "")
        yield Obs(EDR_HOST, records[0].time, lines, user=user, host=device, ip=ip)


def rule_idp_signin(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Obs]:
    """IdP sign-ins from the caller address within ``window`` before the call.

    The agents may differ (a browser sign-in, a gcloud call). At an address only one person uses
    this points at them; at an office egress everyone signs in, and it makes a candidate only.
    """
    if not _public(e):
        return
    for s in store.signins.between(e.ip_key or "", e.time - o.window, e.time + o.network_tolerance):
        agent = f" http_user_agent={s.user_agent!r}" if s.user_agent else ""
        app = f" app={s.app}" if s.app else ""
        yield Obs(SIGNIN, s.time, (line(s.source, s.time, f"sign-in user={s.user} src={s.ip}{app}{agent}"),),
                  user=s.user)


def rule_gcp_same_client(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Obs]:
    """Visible calls from the same caller address with the same agent within ``selfjoin_window``.

    The same program from the same address minutes apart; at a shared egress many people run the
    same browser build or SDK, so it makes a candidate there. Its connection may also have carried
    the masked call (clients keep connections open), so the NAT log's silence does not rule it out.
    """
    if not e.ip_key or not e.user_agent or e.cloud_shell:
        return
    w = o.selfjoin_window
    for a in store.audit_ip.between(e.ip_key, e.time - w, e.time + w):
        if a is not e and a.user_agent == e.user_agent and _visible(a):
            if e.invocation_id and a.invocation_id == e.invocation_id:
                continue  # the invocation rule has it
            yield Obs(SAME_CLIENT, a.time, (line("gcp:audit", a.time, f"{a.method} principalEmail={a.principal} "
                                                                      f"callerIp={a.caller_ip} same user agent"),),
                      user=a.principal)


#: Method names (their last segment) that only read: a get, list or search never sets a service
#: agent to work, whoever made it (``v1.compute.instances.get``, ``NotebookService.GetInstance``,
#: ``aggregatedList``, ``testIamPermissions``).
_READ_VERBS = ("get", "list", "search", "lookup", "batchget", "aggregatedlist", "testiampermissions", "watch")


def reads_only(method: str) -> bool:
    """Whether an audit entry's method only reads (see :data:`_READ_VERBS`)."""
    last = method.strip().rsplit(".", 1)[-1]
    low = last.lower()
    for verb in _READ_VERBS:
        if low.startswith(verb):
            rest = last[len(verb):]
            return not rest or not rest[0].isalpha() or rest[0].isupper()
    return False


def origin_calls(e: AuditEntry, store: EvidenceStore, o: Options) -> List[AuditEntry]:
    """Calls that may have set a service agent to work: on the same project and resource shortly
    before its call, by someone else than a service agent, and not mere reads; newest first."""
    if not e.service_agent or not e.resource:
        return []
    found = store.audit_resource.between(e.project + "|" + e.resource_leaf, e.time - o.agent_window,
                                         e.time + o.network_tolerance)
    return [a for a in reversed(found) if a is not e and not a.service_agent and not reads_only(a.method)]


def rule_service_agent_origin(e: AuditEntry, store: EvidenceStore, o: Options) -> Iterable[Obs]:
    """A service agent (``callerIp=private``) acts for an earlier visible call on the same resource."""
    for a in origin_calls(e, store, o):
        if _visible(a):
            text = f"originating call {a.method} on {a.resource} principalEmail={a.principal} callerIp={a.caller_ip}"
            yield Obs(AGENT_ORIGIN, a.time, (line("gcp:audit", a.time, text),), user=a.principal)


#: Rules over point evidence, in the order their evidence lines are shown.
POINT_RULES: Tuple[PointRule, ...] = (
    rule_gcloud_invocation,
    rule_service_agent_origin,
    rule_internal_caller,
    rule_nat,
    rule_proxy,
    rule_edr_host,
    rule_idp_signin,
    rule_gcp_same_client,
)


def presence(e: AuditEntry, store: EvidenceStore, o: Options) -> Tuple[FrozenSet[str], bool, Tuple[Sighting, ...]]:
    """Who was seen at the caller address around the call: ``(user keys, whether the EDR records
    decide, those records)``.

    An address only one person was seen at (a home, a phone) is that person's; an address with
    several (an office, a hotel) or with NAT translations around the call (an egress of ours: ``i:``
    keys; its other devices' connections show people there even when the call's own translation was
    lost) is shared. The EDR records are asked only when sign-ins and calls show fewer than two people:
    that is all the decision needs.
    """
    if not _public(e):
        return frozenset(), False, ()
    ip = e.ip_key or ""
    lo, hi = e.time - o.point_back, e.time + o.forward
    if store.nats.count(ip, lo, hi):
        return frozenset({"i:" + n.internal_ip for n in store.nats.between(ip, lo, hi)[:2]}), False, ()
    seen: Set[str] = set()
    for s in store.signins.between(ip, lo, hi):
        seen.add(user_key(s.user))
    for a in store.audit_ip.between(ip, lo, hi):
        if _visible(a):
            seen.add(user_key(a.principal))
    if len(seen) < 2:
        return frozenset(seen), True, tuple(store.edr_aip.between(ip, lo, hi))
    return frozenset(seen), False, ()


def devices_seen(records: Iterable[Sighting], store: EvidenceStore) -> Set[str]:
    """The people (user keys) and devices nobody's records name (``h:`` keys) of EDR records.

    A device's records name the people using it: every one of them around the call was there (a
    hot desk changing hands), and a record that names nobody stands for them. Devices are told
    apart by name, or by sensor id where the stream gave no name for it.
    """
    users: Dict[str, Set[str]] = {}
    for r in records:
        named_by = users.setdefault(_device(store, r), set())
        if r.user:
            named_by.add(user_key(r.user))
    out: Set[str] = set()
    for device, named_by in users.items():
        out |= named_by or {"h:" + device}
    return out


def gather(e: AuditEntry, store: EvidenceStore, o: Options) -> Pending:
    """Phase one: run the point rules, note who was at the address and which visible calls may explain."""
    observations: List[Obs] = []
    for rule in POINT_RULES:
        observations.extend(rule(e, store, o))
    crowd = 0
    if len(observations) > CROWD:
        by_kind: Dict[str, List[Obs]] = {}
        for x in observations:
            by_kind.setdefault(x.kind, []).append(x)
        observations = []
        for kind, found in by_kind.items():
            if len(found) > CROWD and kind in (NAT, SAME_CLIENT):
                # the translations at the call's second, or the same program's calls: any one of them
                # may be the call's, so when some are left out nobody can be singled out
                crowd = max(crowd, len(found))
            observations += _nearest(found, e.time)
    visible: Tuple[AuditEntry, ...] = ()
    proxied: Set[Tuple[str, str]] = set()
    translations = 0
    reusing: FrozenSet[int] = frozenset()
    if _public(e):
        reach = max(o.skew, o.network_tolerance) + o.network_tolerance
        visible = tuple(a for a in store.audit_ip.between(e.ip_key or "", e.time - reach, e.time + reach)
                        if a is not e and _visible(a))
        if len(visible) > CROWD:
            crowd = max(crowd, len(visible))
            visible = tuple(sorted(visible, key=lambda a: abs(a.time - e.time))[:CROWD])
        wide = max(o.fingerprint_window, o.network_tolerance)
        for service in {a.service.lower() for a in visible}:
            lo = min(a.time for a in visible if a.service.lower() == service) - wide
            hi = max(a.time for a in visible if a.service.lower() == service) + wide
            for p in store.proxies.between(service, lo, hi):
                if p.user:
                    proxied.add((user_key(p.user), service))
                if p.src_ip:
                    proxied.add((p.src_ip, service))
        translations = len(store.nats.between(e.ip_key or "", e.time - o.network_tolerance,
                                              e.time + o.network_tolerance))
        # only a visible call at the call's second can account for a translation there
        near = 2 * o.network_tolerance
        reusing = frozenset(id(a) for a in visible
                            if abs(a.time - e.time) <= near and may_reuse_connection(a, store, o.selfjoin_window))
    origins: List[Tuple[AuditEntry, Pending]] = []
    for a in origin_calls(e, store, o):
        if not _visible(a):
            origins.append((a, gather(a, store, o)))
    seen, edr_asked, devices = presence(e, store, o)
    return Pending(tuple(observations), seen, visible, frozenset(proxied), translations, tuple(origins), reusing,
                   crowd, edr_asked, devices)


# ---------------------------------------------------------------------------------------------------
# interval rules: addresses -> devices -> people, as the leases, sessions and logons at t say


def vpn_users(ip: str, t: float, store: EvidenceStore, o: Options) -> List[Tuple[Session, str]]:
    """VPN sessions whose public client address is ``ip`` and which are up at ``t``, with their lines.

    Sessions are intervals: one that ended before the call, or began after it, does not count
    (a home address may have belonged to someone else yesterday).
    """
    out = []
    for s in store.sessions(ip, t, o.lookback, o.network_tolerance):
        host = f" dest_nt_host={s.host}" if s.host else ""
        until = fmt_time(s.end) if s.end != float("inf") else "open"
        out.append((s, line(s.source, max(s.start, t - o.lookback), f"VPN src_ip={s.public_ip} user={s.user}{host} "
                                                                    f"until {until}")))
    return out


def device_of(ip: str, t: float, store: EvidenceStore, o: Options) -> Tuple[str, str, Tuple[str, ...]]:
    """``(host, user, lines)`` holding internal ``ip`` at ``t``: a VPN tunnel or the latest DHCP lease.

    Only the most recent lease that began before ``t`` counts (the address may have been handed
    to another laptop minutes before), and only while it is still running at ``t``.
    """
    tol = o.network_tolerance
    tunnels = store.sessions(ip, t, o.lookback, tol, assigned=True)
    if tunnels:
        s = max(tunnels, key=lambda x: x.start)
        return s.host, s.user, (line(s.source, max(s.start, t - o.lookback),
                                     f"VPN dest_ip={ip} user={s.user} dest_nt_host={s.host}"),)
    leases = store.leases.between(ip, t - o.lookback, t + tol)
    if not leases:
        return "", "", (f"no DHCP lease or VPN session for {ip} before {fmt_time(t)}",)
    lease = leases[-1]
    if lease.end < t - tol:
        if lease.start == lease.end:  # a release, an expiry: the address was given up
            by = f" by {lease.host}" if lease.host else ""
            return "", "", (line(lease.source, lease.start, f"DHCP lease of {ip}{by} ended (released or expired), "
                                                            "before the call: nobody holds it since"),)
        return "", "", (line(lease.source, lease.start, f"DHCP lease of {ip} to {lease.host} ended "
                                                        f"{fmt_time(lease.end)}, before the call"),)
    mac = f" dest_mac={lease.mac}" if lease.mac else ""
    return lease.host, "", (line(lease.source, lease.start, f"DHCP dest_ip={ip} dest_nt_host={lease.host}{mac} "
                                                            f"lease_duration={lease.end - lease.start:g}"),)


def user_on(host: str, t: float, store: EvidenceStore, o: Options) -> Tuple[str, Tuple[str, ...]]:
    """The person of the most recent interactive logon on ``host`` before ``t`` (shared devices).

    A device's clock may be off by ``skew``: a logon stamped within ``skew`` after the call may have
    come before it, and when the latest one before the call is stamped within ``skew`` of it, the one
    before that may still have held the device. When those name someone else, nobody holds it for sure.
    """
    tol = o.network_tolerance
    logons = store.logons.between(host_key(host), t - o.lookback, t + max(o.skew, tol))
    held = [x for x in logons if x.time <= t + tol]
    if not held:
        return "", (f"no interactive logon on {host} before {fmt_time(t)}",)
    logon = held[-1]
    said = line(logon.source, logon.time, f"logon user={logon.user} dest={logon.host}")
    rivals = [x for x in logons if x.time > t + tol] + (held[-2:-1] if logon.time >= t - o.skew else [])
    other = next((x for x in rivals if user_key(x.user) != user_key(logon.user)), None)
    if other is not None:
        return "", (said, line(other.source, other.time, f"logon user={other.user} dest={other.host}"),
                    f"{logon.host}: logons of {logon.user} and {other.user} within the device clock's skew "
                    f"({o.skew:g}s) of the call: either may have held it")
    if logon.remote:
        # a remote session (Remote Desktop, SSH) does not close the device's earlier ones
        other = next((x for x in reversed(held[:-1]) if user_key(x.user) != user_key(logon.user)), None)
        if other is not None:
            return "", (said, line(other.source, other.time, f"logon user={other.user} dest={other.host}"),
                        f"{logon.host}: {logon.user}'s remote logon does not show that {other.user}'s session "
                        "there had ended: either may have made the call")
    return logon.user, (said,)


def named(user: str) -> Optional[str]:
    """The comparison key of a user name that names a person, else None."""
    return user_key(user) if user and is_person(user) else None


def distinct_people(users: Sequence[str]) -> List[str]:
    """The users of ``users`` that are people, one spelling per person, first spelling kept."""
    out: Dict[str, str] = {}
    for user in users:
        key = named(user)
        if key is not None and key not in out:
            out[key] = user.strip()
    return list(out.values())
