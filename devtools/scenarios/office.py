"""A labelled office day at realistic density, simulated connection by connection.

Sixty people: most in two offices behind shared NAT egresses (one of whose firewalls loses a share of
its translations), a few in a small branch, some at home on VPN (split or full tunnel, some homes
shared by two colleagues), hot desks shared by two people, an explicit proxy at the main office (it
leaves through that office's egress; it logs the agent of inspected requests and only the host of
the others, on a clock a few seconds off, stamping completion), EDR on every laptop (clocks up to a
minute off; DNS look-ups when the cache expires; some events naming the sensor only), IdP sign-ins,
DHCP leases, interactive logons, and everyone making ordinary visible Google Cloud calls all day
(gcloud runs, the console, Terraform bursts whose connection carries several calls) besides their
browsing. About 400 masked denied calls come from the same people the same ways, plus callers from
outside.

Nothing here is written against the command. The truth of each masked call is labelled from what
the simulation *emitted*, by what an investigator holding every log line could prove
(:meth:`OfficeDay.label`): a fingerprint only that call has; a home address only its owner was seen
at around the call, with a VPN session, sign-in, look-up of the API host or same-program call there;
the internal address's holder; or, through an egress whose firewall logs every translation, the only
translation at that second once colleagues' own visible calls with other programs account for theirs
and nobody's open connection of the same program could carry it. Everything else is "cannot tell".
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from guardrail.correlate.index import HEALTH_WINDOW

from .builder import Builder
from .world import CORP, GOOGLE_API_IPS, OTHER_HOSTS, Scenario, World

TOL = 2.0  # the command's network_tolerance default
SKEW = 60.0
WINDOW = 300.0
SELFJOIN = 120.0
FINGERPRINT = 60.0
POINT_BACK, FORWARD = 360.0, 120.0

API_HOSTS = ["compute.googleapis.com", "storage.googleapis.com", "iam.googleapis.com", "bigquery.googleapis.com",
             "notebooks.googleapis.com", "aiplatform.googleapis.com", "cloudresourcemanager.googleapis.com"]
BROWSING = [*OTHER_HOSTS, "www.googleapis.com", "fonts.googleapis.com", "oauth2.googleapis.com",
            "compute.googleapis.com", "storage.googleapis.com", "mail.google.com", "docs.google.com"]
DENIED = [(0, "notebooks.googleapis.com", "gcloud.notebooks.instances.create"),
          (1, "compute.googleapis.com", "gcloud.compute.instances.create"),
          (2, "aiplatform.googleapis.com", "gcloud.ai.notebook-runtimes.assign")]
VISIBLE = [("compute.googleapis.com", "v1.compute.instances.list", "gcloud.compute.instances.list"),
           ("compute.googleapis.com", "v1.compute.instances.get", "gcloud.compute.instances.describe"),
           ("storage.googleapis.com", "storage.objects.list", "gcloud.storage.ls"),
           ("iam.googleapis.com", "google.iam.admin.v1.ListServiceAccounts", "gcloud.iam.service-accounts.list"),
           ("bigquery.googleapis.com", "google.cloud.bigquery.v2.JobService.InsertJob", "gcloud.bq.query"),
           ("notebooks.googleapis.com", "google.cloud.notebooks.v1.NotebookService.ListInstances",
            "gcloud.notebooks.instances.list")]


@dataclass
class Device:
    name: str
    mac: str
    clock: float  # endpoint clock offset, seconds
    ip: str = ""  # current internal address ("" at home)
    dns: Dict[str, float] = field(default_factory=dict)  # host -> cache expiry
    naming: str = "ComputerName"  # how its FDR events name it


@dataclass
class Person:
    key: str
    site: str  # "A", "B", "C", "home"
    device: Device
    arrive: float
    leave: float
    home_ip: str = ""
    tunnel: str = ""  # "split", "full", "" (no VPN)
    assigned: str = ""
    proxy_gcloud: bool = False  # https_proxy set for gcloud
    inspected: bool = False  # the proxy inspects this person's TLS (logs the agent)
    gcloud: str = ""  # gcloud version string
    browser: Tuple[str, str] = ("", "")
    sdk: Tuple[str, str] = ("", "")


@dataclass
class Call:
    """A masked call as the simulation made it: enough for the labeller."""

    iid: str
    time: float
    person: Person
    caller_ip: str
    route: str  # "direct", "proxy", "home", "internal", "external"
    ua: str
    service: str
    invocation: str
    sibling_logged: bool = False
    fingerprint_logged: bool = False
    egress: str = ""


class OfficeDay:
    """Simulates the day into a :class:`Scenario`, keeping a ledger of what was emitted."""

    def __init__(self, w: World, name: str = "office_day", denials: int = 400, people: int = 60,
                 lossy_share: float = 0.3) -> None:
        self.w = w
        self.b = Builder(w, name, __doc__.splitlines()[0] if __doc__ else name)
        self.rng = w.rng
        self.lossy_share = lossy_share
        self.egress = {"A": w.office_egress(), "B": w.office_egress(), "C": w.office_egress()}
        self.proxy_ip = w.internal_ip()  # the proxy server: no DHCP lease
        self.proxy_clock = self.rng.choice([-12.0, -7.0, 6.0, 11.0])
        # ledger of emitted evidence (logged times)
        self.nat: Dict[str, List[Tuple[float, str]]] = {}  # egress -> (time, internal ip), sorted at the end
        self.visible: Dict[str, List[Tuple[float, str, str, str, str]]] = {}  # ip -> (t, person, ua, service, inv)
        self.audit: Dict[str, List[Tuple[float, str, str]]] = {}  # ip -> (t, principal or "" if masked, ua)
        self.proxied: List[Tuple[float, str, str, str]] = []  # (time, person, src ip, host)
        self.presence: Dict[str, List[Tuple[float, str]]] = {}  # public ip -> (time, person) seen there
        self.sightings: Dict[str, List[Tuple[float, str, str, bool]]] = {}  # ip -> (time, person, device, named)
        self.signins: Dict[str, List[Tuple[float, str]]] = {}  # public ip -> (time, person)
        self.dns: Dict[str, List[Tuple[float, str, str]]] = {}  # person -> (logged time, host, aip)
        self.leases: Dict[str, List[Tuple[float, float, str]]] = {}  # ip -> (start, end, device)
        self.logons: Dict[str, List[Tuple[float, str]]] = {}  # device -> (time, person)
        self.sessions: Dict[str, List[Tuple[float, float, str]]] = {}  # public ip -> (start, end, person)
        self.calls: List[Call] = []
        self.people = self._staff(people)
        self.denials = denials

    # ---- the cast ------------------------------------------------------------------------------
    def _staff(self, count: int) -> List[Person]:
        w, rng = self.w, self.rng
        day = w.day0
        sites = ["A"] * int(count * 0.47) + ["B"] * int(count * 0.27) + ["C"] * 4
        sites += ["home"] * (count - len(sites))
        people: List[Person] = []
        hot: List[Device] = []
        for i, site in enumerate(sites):
            name, mac = w.device()
            device = Device(name, mac, rng.choice([0.0, 0.0, rng.uniform(-60, 60), rng.uniform(-20, 20)]),
                            naming=rng.choice(["ComputerName", "ComputerName", "aid_computer_name", "aid"]))
            arrive = day + rng.uniform(7.3, 9.5) * 3600
            leave = day + rng.uniform(16.0, 18.5) * 3600
            if site == "A" and i % 9 == 0 and len(hot) < 3:  # a hot desk: two people, morning and afternoon
                hot.append(device)
                arrive, leave = day + 7.5 * 3600 + rng.uniform(0, 1800), day + 12.5 * 3600
            person = Person(w.user(), site, device, arrive, leave)
            person.gcloud = rng.choice(["455.0.0", "470.0.0", "497.0.0"])
            person.browser = w.browser_ua()
            person.sdk = w.sdk_ua()
            person.inspected = site == "A" and rng.random() < 0.5
            person.proxy_gcloud = site == "A" and rng.random() < 0.4
            if site == "home":
                person.tunnel = rng.choice(["split", "split", "split", "full", ""])
                person.assigned = f"10.250.{rng.randrange(256)}.{rng.randrange(2, 250)}"
                shared = [p for p in people if p.site == "home" and p.home_ip and rng.random() < 0.15]
                person.home_ip = shared[0].home_ip if shared else w.public_ip()
            people.append(person)
        for device in hot:  # the afternoon person at each hot desk
            person = Person(w.user(), "A", device, day + 13 * 3600 + rng.uniform(0, 1800), day + 18 * 3600)
            person.gcloud, person.browser, person.sdk = "470.0.0", w.browser_ua(), w.sdk_ua()
            person.inspected = rng.random() < 0.5
            people.append(person)
        return people

    # ---- emitting evidence -----------------------------------------------------------------------
    def _site_ip(self, p: Person) -> str:
        return self.egress[p.site] if p.site in self.egress else p.home_ip

    def _translate(self, t: float, p: Person, src: str, egress: str, port: int = 443) -> Optional[float]:
        """A NAT translation at ``egress``; the lossy firewall (site B) drops some. Returns the logged time."""
        if egress == self.egress["B"] and self.rng.random() < self.lossy_share:
            return None
        at = t + self.rng.uniform(-0.4, 0.4)
        self.b.nat(at, src, egress, self.rng.choice(GOOGLE_API_IPS), port)
        if port in (443, 80):
            self.nat.setdefault(egress, []).append((at, src))
        return at

    def _look_up(self, t: float, p: Person, host: str, aip: str) -> None:
        d = p.device
        if d.dns.get(host, 0.0) > t:
            return
        d.dns[host] = t + 300
        at = t - self.rng.uniform(0.02, 0.3) + d.clock
        named = self.rng.random() < 0.3
        self.b.edr(at, "DnsRequest", aip, d.ip or "192.168.1.20", d.name, domain=host, naming=d.naming,
                   user=p.key if named else None)
        if host.endswith(".googleapis.com"):
            self.dns.setdefault(p.key, []).append((at, host, aip))
        if aip:
            self.sightings.setdefault(aip, []).append((at, p.key, d.name, named or d.naming != "aid"))

    def connect(self, t: float, p: Person, host: str, via_proxy: bool, ua_sent: str = "") -> Tuple[str, str]:
        """One connection of ``p`` at ``t`` to ``host``: NAT or proxy records, EDR. Returns (caller ip, route)."""
        rng, b, d = self.rng, self.b, p.device
        if p.site == "home" and p.tunnel != "full":
            self._look_up(t, p, host, p.home_ip)
            if rng.random() < 0.15:
                b.edr(t + d.clock, "NetworkConnectIP4", p.home_ip, "192.168.1.20", d.name,
                      remote=rng.choice(GOOGLE_API_IPS), naming=d.naming)
                self.sightings.setdefault(p.home_ip, []).append((t + d.clock, p.key, d.name, d.naming != "aid"))
            return p.home_ip, "home"
        src = p.assigned if p.site == "home" else d.ip
        egress = self.egress["A"] if p.site == "home" else self.egress[p.site]
        self._look_up(t, p, host, egress)
        if via_proxy:
            done = t + rng.uniform(0.1, 2.5)
            logged_ua = ua_sent if p.inspected else None
            b.proxy(done + self.proxy_clock, src, p.key if rng.random() < 0.7 else None, host, logged_ua,
                    "/v1/projects/x" if host.endswith("googleapis.com") else "/", 200)
            self.proxied.append((done + self.proxy_clock, p.key, src, host))
            self._translate(t + 0.05, p, self.proxy_ip, egress)
            return egress, "proxy"
        # browsing also resolves names and keeps time (DNS, NTP); API calls always use HTTPS
        port = 443 if host.endswith("googleapis.com") or rng.random() > 0.04 else rng.choice([53, 123])
        self._translate(t, p, src, egress, port)
        if rng.random() < 0.15:
            b.edr(t + d.clock, "NetworkConnectIP4", egress, src, d.name, remote=rng.choice(GOOGLE_API_IPS),
                  naming=d.naming)
        return egress, "direct"

    def visible_call(self, t: float, p: Person, service: str, method: str, ua_log: str, ua_sent: str,
                     via_proxy: bool, log: str = "data_access", connect: bool = True, logged: bool = True) -> None:
        """A visible call; ``connect`` opens its connection (else it rides its run's), ``logged`` says
        whether Data Access logging is on for it (Admin Activity always is)."""
        caller = self._site_ip(p) if not connect else self.connect(t, p, service, via_proxy, ua_sent)[0]
        if p.site == "home" and p.tunnel == "full":
            caller = self.egress["A"]
        if log == "data_access" and not logged:
            return  # Data Access logging is off here: the call leaves no audit entry
        self.b.gcp_activity(t, p.key + "@" + CORP, caller, ua_log, service=service, method=method, log=log)
        inv = ua_log.split("invocation-id/")[1].split()[0] if "invocation-id/" in ua_log else ""
        self.visible.setdefault(caller, []).append((t, p.key, ua_log, service, inv))
        self.audit.setdefault(caller, []).append((t, p.key, ua_log))
        if caller not in self.egress.values():
            self.presence.setdefault(caller, []).append((t, p.key))

    # ---- the day -------------------------------------------------------------------------------
    def simulate(self) -> Scenario:
        rng, b = self.rng, self.b
        for p in self.people:
            self._arrive(p)
            t = p.arrive + rng.expovariate(1 / 25)
            while t < p.leave:  # browsing and everything else a laptop does
                host = rng.choice(BROWSING)
                self.connect(t, p, host, via_proxy=p.site == "A" and rng.random() < 0.6, ua_sent=p.browser[1])
                t += rng.expovariate(1 / (25 if p.site != "home" else 60))
            t = p.arrive + rng.expovariate(1 / 700)
            while t < p.leave:  # ordinary visible Google Cloud work
                self._work(t, p)
                t += rng.expovariate(1 / 700)
        present = [p for p in self.people]
        for _ in range(self.denials):
            p = rng.choice(present)
            t = rng.uniform(p.arrive + 600, p.leave - 600)
            if rng.random() < 0.06:
                self._external(t)
                continue
            self._deny(t, p)
        self._sort()
        for call in self.calls:
            truth, through = self.label(call)
            b.scenario.truth[call.iid].user = truth
            b.scenario.truth[call.iid].host = through
            b.scenario.truth[call.iid].actual = call.person.key
        return b.scenario

    def _arrive(self, p: Person) -> None:
        rng, b, d = self.rng, self.b, p.device
        if p.site in ("A", "B", "C"):
            if not d.ip:
                d.ip = self.w.internal_ip()
            start = p.arrive - rng.uniform(30, 300)
            for k in range(3):
                b.dhcp(start + k * 4 * 3600, d.ip, d.name, d.mac, 8 * 3600)
                self.leases.setdefault(d.ip, []).append((start + k * 4 * 3600, start + k * 4 * 3600 + 8 * 3600,
                                                        d.name))
        at = p.arrive + d.clock
        b.logon(at, p.key, d.name)
        self.logons.setdefault(d.name, []).append((at, p.key))
        u = at + rng.uniform(3600, 7200)
        while u < p.leave:  # unlocks
            b.logon(u, p.key, d.name, logon_type=7)
            self.logons[d.name].append((u, p.key))
            u += rng.uniform(3600, 9000)
        b.logon(p.arrive + rng.uniform(600, 3600), "svc_backup", d.name, src="10.0.0.20", logon_type=4)
        where = self._site_ip(p) if p.site != "home" or p.tunnel != "full" else p.home_ip
        s = p.arrive + rng.uniform(60, 600)
        while s < p.leave:
            b.idp(s, p.key, where, p.browser[1])
            self.presence.setdefault(where, []).append((s, p.key))
            self.signins.setdefault(where, []).append((s, p.key))
            s += rng.uniform(5400, 10800)
        if p.site == "home" and p.tunnel:
            fmt = rng.randrange(3)
            start, end = p.arrive - 120, p.leave + 60
            if fmt == 0:
                b.vpn(start, p.home_ip, p.assigned, p.key, d.name, int(end - start))
            elif fmt == 1:
                b.vpn_mark(start, "start", p.home_ip, p.assigned, p.key, d.name)
                b.vpn_mark(end, "end", p.home_ip, p.assigned, p.key, d.name)
            else:
                b.vpn_mark(end, "end", p.home_ip, p.assigned, p.key, d.name, duration=int(end - start))
            self.sessions.setdefault(p.home_ip, []).append((start, end, p.key))

    def _work(self, t: float, p: Person) -> None:
        rng = self.rng
        kind = rng.random()
        service, method, command = rng.choice(VISIBLE)
        logged = rng.random() < 0.75  # Data Access logging on for this run's service
        if kind < 0.55:  # a gcloud run: its calls share one connection
            ua_log, ua_sent = self.w.gcloud_ua(command)
            for k in range(rng.randrange(1, 4)):
                self.visible_call(t + 0.8 * k, p, service, method, ua_log, ua_sent, p.proxy_gcloud,
                                  connect=k == 0, logged=logged)
        elif kind < 0.85:
            self.visible_call(t, p, service, method, p.browser[0], p.browser[1], p.site == "A",
                              log=rng.choice(["data_access", "activity"]), logged=logged)
        else:  # a Terraform run: one connection, opened by a logged change, then reads and changes
            for k in range(rng.randrange(3, 9)):
                self.visible_call(t + 4 * k, p, service, method, p.sdk[0], p.sdk[1], False, connect=k == 0,
                                  log="activity" if k == 0 else "data_access", logged=logged)

    def _deny(self, t: float, p: Person) -> None:
        rng = self.rng
        denial, service, command = rng.choice(DENIED)
        kind = rng.random()
        if kind < 0.6:  # gcloud
            ua_log, ua_sent = self.w.gcloud_ua(command)
            inv = ua_log.split("invocation-id/")[1].split()[0]
            sibling = rng.random() < 0.25
            if sibling:  # the run's preceding read, logged (its own connection: gcloud's client opens one per call)
                self.visible_call(t - rng.uniform(2.5, 6), p, service, "v1.compute.images.getFromFamily", ua_log,
                                  ua_sent, p.proxy_gcloud)
            call = self._emit(t, p, service, denial, ua_log, ua_sent, inv, via_proxy=p.proxy_gcloud)
            call.sibling_logged = sibling and bool(self.visible.get(call.caller_ip)) and any(
                v[4] == inv for v in self.visible.get(call.caller_ip, []))
            if rng.random() < 0.25:  # retried a little later: a new run
                ua2_log, ua2_sent = self.w.gcloud_ua(command)
                self._emit(t + rng.uniform(5, 40), p, service, denial, ua2_log, ua2_sent,
                           ua2_log.split("invocation-id/")[1].split()[0], via_proxy=p.proxy_gcloud)
        elif kind < 0.85:  # the console
            self._emit(t, p, service, denial, p.browser[0], p.browser[1], "", via_proxy=p.site == "A")
        else:  # inside a Terraform run: its open connection carries the denied call too
            start = t - rng.uniform(5, 60)
            self.visible_call(start, p, service, "v1.compute.instances.list", p.sdk[0], p.sdk[1], False,
                              log="activity")
            self._emit(t, p, service, denial, p.sdk[0], p.sdk[1], "", via_proxy=False, connect=False)

    def _emit(self, t: float, p: Person, service: str, denial: int, ua_log: str, ua_sent: str, inv: str,
              via_proxy: bool, connect: bool = True) -> Call:
        caller, route = (self.connect(t, p, service, via_proxy and p.site == "A", ua_sent) if connect
                         else (self._site_ip(p), "home" if p.site == "home" else "direct"))
        if p.site == "home" and p.tunnel == "full":
            caller = self.egress["A"]
        iid = self.b.denied(t, None, f"{p.key} ({p.site}, {route})", caller, ua_log, denial=denial)
        call = Call(iid, t, p, caller, route, ua_log, service, inv)
        self.audit.setdefault(caller, []).append((t, "", ua_log))
        if route == "proxy":
            call.fingerprint_logged = bool(inv) and p.inspected
        if route == "direct":
            call.egress = caller
        self.calls.append(call)
        return call

    def _external(self, t: float) -> None:
        iid = self.b.denied(t, None, "a caller from outside", self.w.public_ip(), self.w.sdk_ua()[0])
        self.b.scenario.truth[iid].user = None

    def _sort(self) -> None:
        for table in (self.nat, self.presence, self.sightings, self.signins, self.visible, self.audit, self.dns,
                      self.logons, self.sessions, self.leases):
            for rows in table.values():
                rows.sort()
        self.proxied.sort()

    # ---- the labeller ----------------------------------------------------------------------------
    def _holder(self, ip: str, t: float) -> Optional[str]:
        """The device leased ``ip`` at ``t`` (latest lease begun before it, still running), or None."""
        leases = [x for x in self.leases.get(ip, []) if x[0] <= t + TOL]
        if not leases or leases[-1][1] < t - TOL:
            return None
        return leases[-1][2]

    def _person_on(self, device: str, t: float) -> Optional[str]:
        logons = [x for x in self.logons.get(device, []) if x[0] <= t + TOL]
        return logons[-1][1] if logons else None

    def _who(self, ip: str, t: float) -> Optional[str]:
        """The person behind an internal address at ``t``: a VPN tunnel or a leased laptop's logon."""
        for p in self.people:
            if p.site == "home" and p.tunnel == "full" and p.assigned == ip and p.arrive - 120 <= t <= p.leave + 60:
                return p.key
        device = self._holder(ip, t)
        return self._person_on(device, t) if device else None

    def label(self, call: Call) -> Tuple[Optional[str], Optional[str]]:
        """Who the emitted evidence proves made the call (None: cannot tell), and the device it went through."""
        p = call.person
        if call.sibling_logged or call.fingerprint_logged:
            return p.key, None
        if call.route == "home":
            return self._label_home(call), None
        if call.route == "direct" and call.egress and call.egress != self.egress["B"]:
            who = self._label_nat(call)
            return who, (p.device.name if who else None)
        return None, None

    def _seen_devices(self, ip: str, lo: float, hi: float) -> Dict[str, Tuple[str, bool]]:
        """Devices EDR saw at ``ip``: device -> (its person, whether any record there names them)."""
        out: Dict[str, Tuple[str, bool]] = {}
        for at, k, device, named in self.sightings.get(ip, []):
            if lo <= at <= hi:
                out[device] = (k, named or out.get(device, (k, False))[1])
        return out

    def _label_home(self, call: Call) -> Optional[str]:
        p, t, ip = call.person, call.time, call.caller_ip
        seen = {k for at, k in _between(self.presence.get(ip, []), t - POINT_BACK, t + FORWARD)}
        seen |= {k if named else "h:" + device
                 for device, (k, named) in self._seen_devices(ip, t - POINT_BACK, t + FORWARD).items()}
        up = {k for s, e, k in self.sessions.get(ip, []) if s <= t + TOL and e >= t - TOL}
        if seen | up != {p.key}:
            return None  # nobody, or several people, seen at the address around the call
        if p.key in up:
            return p.key
        if any(k == p.key and t - WINDOW <= at <= t + TOL for at, k in self.signins.get(ip, [])):
            return p.key
        mine = self._seen_devices(ip, t - SKEW, t + SKEW).get(p.device.name)
        own = [v for v in self.visible.get(ip, []) if v[1] == p.key and v[3] == call.service and v[2] != call.ua
               and abs(v[0] - t) <= SKEW + TOL]
        if mine and mine[1] and any(h == call.service and aip == ip and abs(at - t) <= SKEW
                                    and not any(abs(v[0] - at) <= SKEW + TOL for v in own)
                                    for at, h, aip in self.dns.get(p.key, [])):
            return p.key  # a look-up of the API host by a device the records name, not their own call's
        if any(k == p.key and ua == call.ua and abs(at - t) <= SELFJOIN
               and not (call.invocation and inv == call.invocation) for at, k, ua, _s, inv in self.visible.get(ip, [])):
            return p.key
        return None

    def _nat_log_evidently_complete(self, egress: str, t: float) -> bool:
        """What the logs show of the egress's NAT log within two hours of ``t``: every call that did not
        follow another of its program within two minutes had a translation at its second."""
        calls = self.audit.get(egress, [])
        i = bisect.bisect_left(calls, (t - HEALTH_WINDOW, "", ""))
        ok = 0
        while i < len(calls) and calls[i][0] <= t + HEALTH_WINDOW:
            at, who, ua = calls[i]
            i += 1
            j = bisect.bisect_left(calls, (at - SELFJOIN, "", ""))
            if any(c[2] == ua and c[0] < at and (c[1] == who or not who or not c[1]) for c in calls[j:i - 1]):
                continue  # it may have ridden its program's open connection
            if _between(self.nat.get(egress, []), at - TOL, at + TOL):
                ok += 1
            else:
                return False
        return ok > 0

    def _label_nat(self, call: Call) -> Optional[str]:
        """Through a NAT egress: the translations the log shows at the call's second must, once colleagues'
        own calls with other programs account for theirs, leave exactly the caller's device, in a log
        evidently complete, with no proxy translation among them (a proxied call can be anyone's) and no
        colleague's same program open on that address (its connection could carry the call)."""
        p, t, egress = call.person, call.time, call.egress
        if not self._nat_log_evidently_complete(egress, t):
            return None
        by_ip: Dict[str, int] = {}
        for _at, ip in _between(self.nat.get(egress, []), t - TOL, t + TOL):
            by_ip[ip] = by_ip.get(ip, 0) + 1
        members: Set[str] = set()
        for ip, count in by_ip.items():
            if ip == self.proxy_ip:
                return None
            who = self._who(ip, t)
            if who is None:
                return None
            own = [v for v in self.visible.get(egress, []) if v[1] == who and v[2] != call.ua
                   and abs(v[0] - t) <= 2 * TOL and not self._proxied(v, who, ip)]
            if len(own) < count:
                members.add(who)
        for at, k, ua, _s, _inv in self.visible.get(egress, []):
            if k != p.key and ua == call.ua and abs(at - t) <= SELFJOIN:
                return None  # the same program's open connection may be someone else's
        return p.key if members == {p.key} else None

    def _proxied(self, v: Tuple[float, str, str, str, str], who: str, ip: str) -> bool:
        at, _k, _ua, service, _inv = v
        return any(host == service and (k == who or src == ip) and abs(pt - at) <= FINGERPRINT
                   for pt, k, src, host in self.proxied)


def _between(rows: Sequence[Tuple[float, str]], lo: float, hi: float) -> List[Tuple[float, str]]:
    i = bisect.bisect_left(rows, (lo, ""))
    out = []
    while i < len(rows) and rows[i][0] <= hi:
        out.append(rows[i])
        i += 1
    return out


def sc_office_day(w: World, n: int) -> Scenario:
    """One simulated office day (``n`` scales the number of masked denied calls: 20 per scenario → ~400)."""
    return OfficeDay(w, denials=max(20, 20 * n)).simulate()

