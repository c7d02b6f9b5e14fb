"""One business hour of a large organisation's logs, streamed newest first: the volume model of
``make bench-scale``.

The organisation (:class:`Org`): ``employees`` people with a laptop each, working in one of four
offices (each with a pool of eight NAT egress addresses and its own DHCP scope), over a full-tunnel
VPN (sixteen egress addresses on the concentrators) or from home with a split tunnel (their own
address). A fifth of them use Google Cloud. The rates of :class:`Mix` are per business hour at
10 000 employees and scale with the head count; the night runs at a twentieth of them. The mix
follows what such an organisation logs: firewall (NAT-translated outbound and internal
connections), web proxy (a few percent to Google API hosts), DNS, Windows logons (network logons
dominate; interactive ones are logons, unlocks and remote sessions), CrowdStrike FDR (process,
network and DNS events), IdP sign-ins, DHCP, VPN and Google Cloud audit entries.

The hour holds ``denials`` masked policy-denied calls (a tenth made by service agents acting for a
call of a developer), each with the evidence that explains it (its NAT translation, the VPN
session or the EDR record of the device, a sign-in from the caller's address) among everything
else. Before the hour the stream carries what a correlation reads over its lookback: leases,
sessions and logons since the night, and every other authentication of those hours.

:func:`stream` yields one minute at a time (rows as the command receives them, newest first);
the same seed gives the same stream.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

from guardrail.correlate.index import HEALTH_WINDOW
from guardrail.correlate.options import Options

from devtools.scenarios import Row, World
from devtools.scenarios.builder import Builder
from devtools.scenarios.world import FIRST, GOOGLE_API_IPS, LAST, OTHER_HOSTS, splunk_time

HOUR = 3600
DAY0 = 1763596800.0
START = DAY0 + 14 * HOUR  # the business hour: 14:00-15:00 UTC

GOOGLE_HOSTS = ("fonts.googleapis.com", "www.googleapis.com", "update.googleapis.com",
                "safebrowsing.googleapis.com", "storage.googleapis.com", "content-autofill.googleapis.com",
                "compute.googleapis.com", "bigquery.googleapis.com", "oauth2.googleapis.com",
                "aiplatform.googleapis.com", "maps.googleapis.com", "notebooks.googleapis.com")
FDR_EVENTS = ("ProcessRollup2", "ProcessRollup2", "ProcessRollup2", "NetworkConnectIP4", "NetworkConnectIP4",
              "NetworkConnectIP4", "DnsRequest", "DnsRequest", "ImageHash", "SensorHeartbeat")
# Windows authentications per thousand: network logons dominate; interactive ones (2 console, 7
# unlock, 10 remote, 11 cached, none given: a non-Windows device) are about one in fifty.
LOGON_TYPES = ("3",) * 800 + ("5",) * 60 + ("4",) * 20 + ("8",) * 10 + ("2",) * 3 + ("7",) * 10 + ("10",) * 2 + \
    ("11",) * 3 + ("",) * 2 + ("failure",) * 90
IDP_SOURCETYPES = ("OktaIM2:log", "ms:aad:signin", "gws:reports:login")
# destination ports of outbound translated connections: web mostly, some DNS and NTP straight out
WEB_OUT = ("443",) * 16 + ("80",) * 2 + ("53", "123")


@dataclass(frozen=True)
class Mix:
    """Rows per business hour at 10 000 employees (scaled to the head count)."""

    firewall: int = 2_000_000
    nat_share: float = 0.4  # of the firewall rows: outbound connections through a NAT egress
    proxy: int = 1_200_000
    google_share: float = 0.04  # of the proxy rows: requests to Google API hosts
    dns: int = 800_000
    auth: int = 450_000
    edr: int = 600_000
    edr_logons: int = 3_000  # FDR UserLogon events (logons and unlocks the sensor saw)
    idp: int = 40_000
    dhcp: int = 3_000
    vpn: int = 2_000
    audit: int = 50_000
    denials: int = 40  # masked policy-denied calls in the hour
    night: float = 0.05  # night rates, a share of the business hour's


@dataclass
class Person:
    user: str
    host: str
    mac: str
    place: str  # office / vpn / home
    site: int
    internal: str
    aip: str
    home: str
    developer: bool
    aid: str = ""


@dataclass
class Org:
    """People, devices and addresses (see the module docstring)."""

    employees: int
    seed: int
    people: List[Person] = field(default_factory=list)
    pools: List[List[str]] = field(default_factory=list)  # four offices, then the VPN concentrators

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        blocks = ["203.0.113.", "198.51.100.", "192.0.2.", "100.24.7.", "52.18.9."]
        self.pools = [[f"{blocks[s]}{10 + i}" for i in range(8 if s < 4 else 16)] for s in range(5)]
        for i in range(self.employees):
            user = f"{FIRST[i % len(FIRST)]}.{LAST[(i // len(FIRST)) % len(LAST)]}{i // (len(FIRST) * len(LAST)) or ''}"
            draw = rng.random()
            place = "office" if draw < 0.55 else "vpn" if draw < 0.9 else "home"
            site = i % 4
            internal = (f"10.{40 + site}.{(i // 250) % 240}.{i % 250 + 2}" if place == "office"
                        else f"10.250.{(i // 250) % 240}.{i % 250 + 2}")
            home = f"{rng.choice([31, 46, 62, 77, 81, 82, 86, 88, 90, 92])}.{rng.randrange(256)}." \
                   f"{rng.randrange(256)}.{rng.randrange(1, 255)}"
            pool = self.pools[site] if place == "office" else self.pools[4]
            aip = home if place == "home" else pool[i % len(pool)]
            self.people.append(Person(user, f"LAPTOP-{i:05d}", f"00:1b:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:"
                                      f"{i & 255:02x}:7e", place, site, internal, aip, home, rng.random() < 0.2,
                                      f"{uuid.UUID(int=rng.getrandbits(128)).hex}"))

    def egress(self, person: Person, rng: random.Random) -> str:
        """The address a connection of ``person`` leaves the organisation through (PAT over the pool)."""
        if person.place == "home":
            return person.home
        pool = self.pools[person.site] if person.place == "office" else self.pools[4]
        return rng.choice(pool)


def _rate(t: float) -> float:
    """Share of the business hour's rate at ``t`` (night, morning ramp, day)."""
    hour = int((t - DAY0) // HOUR) % 24
    return {7: 0.4, 8: 0.9}.get(hour, 1.0 if 9 <= hour < 19 else 0.0)


class Hour:
    """The stream of one business hour and its lookback (see the module docstring)."""

    def __init__(self, employees: int = 10_000, seed: int = 7, mix: Optional[Mix] = None,
                 options: Optional[Options] = None) -> None:
        self.mix = mix or Mix()
        self.options = options or Options()
        self.scale = employees / 10_000
        self.org = Org(employees, seed)
        self.rng = random.Random(seed + 1)
        self.world = World(seed + 2, DAY0)
        self.start, self.end = START, START + HOUR
        o = self.options
        first_run = self.start + 300 - 900  # the first scheduled run whose window touches the hour
        self.last = self.end + o.forward + o.network_tolerance + 60
        # point evidence and audit entries: as far back as the NAT log's checks of the first run reach
        self.point_from = first_run - o.agent_window - HEALTH_WINDOW - o.selfjoin_window - o.network_tolerance - 60
        # interval evidence: the lookback of the first run
        self.first = min(first_run - o.agent_window - o.lookback, self.point_from) - 60
        self.planned: Dict[int, List[Row]] = {}
        self.denied: Dict[str, float] = {}
        self.counts: Dict[str, int] = {}
        self._plan()

    # ---- what happened: the denials, their evidence, and Google Cloud activity ----------------

    def _add(self, row: Row) -> None:
        # as the command reads a multivalue field: its values joined by newlines
        flat: Row = {k: v if isinstance(v, str) else "\n".join(v) for k, v in row.items()}
        self.planned.setdefault(int(float(str(flat["_time"])) // 60), []).append(flat)

    def _plan(self) -> None:
        rng, org, mix = self.rng, self.org, self.mix
        b = Builder(self.world, "hour", "one business hour")
        developers = [p for p in org.people if p.developer] or org.people[:1]
        for _ in range(int(mix.audit * self.scale * (self.last - self.point_from) / HOUR)):
            person = rng.choice(developers)
            t = self.point_from + rng.random() * (self.last - self.point_from)
            b.gcp_activity(t, person.user + "@example-corp.com", org.egress(person, rng),
                           self.world.gcloud_ua("gcloud.compute.instances.list")[0])
        for k in range(mix.denials):
            t = self.start + (k + rng.random()) * HOUR / mix.denials
            person = rng.choice(developers)
            caller = org.egress(person, rng)
            agent = self.world.gcloud_ua("gcloud.compute.instances.create")
            service = "notebooks.googleapis.com" if k % 10 == 9 else None
            if person.place != "home":
                b.nat(t, person.internal, caller, rng.choice(GOOGLE_API_IPS))
                if person.place == "vpn":
                    b.vpn(self.start - 5 * HOUR, person.home, person.internal, person.user, person.host, 10 * HOUR)
                else:
                    b.dhcp(self.start - 6 * HOUR, person.internal, person.host, person.mac, 12 * HOUR)
                    b.logon(self.start - 6 * HOUR + 300, person.user, person.host)
            else:
                seen = t + rng.randrange(-20, 20)
                b.edr(seen - 1, "DnsRequest", caller, "192.168.1.20", person.host, user=person.user,
                      domain=service or "compute.googleapis.com", naming="aid_computer_name")
                b.edr(seen, "NetworkConnectIP4", caller, "192.168.1.20", person.host,
                      remote=rng.choice(GOOGLE_API_IPS), naming="aid_computer_name")
                b.idp(t - rng.randrange(30, 280), person.user, caller, self.world.browser_ua()[1])
            if k % 10 == 9:  # a service agent acting for the developer's call on a notebook
                project = self.world.project()
                resource = f"projects/{project}/zones/europe-west1-b/instances/nb-{k}"
                b.gcp_activity(t - rng.randrange(2, 50), "", caller, agent[0], project=project,
                               service="notebooks.googleapis.com", resource=resource, log="activity")
                principal = f"service-{self.world.project_numbers[project]}@gcp-sa-notebooks.iam.gserviceaccount.com"
                b.denied(t, person.user, "agent", "private", "google-api-go-client/0.5", project=project, denial=1,
                         auth={"principalEmail": principal}, resource=resource, via_activity=False)
            else:
                b.denied(t, person.user, "masked call", caller, agent[0], denial=1)
        for row in b.scenario.rows:
            self._add(row)
        self.denied = {k: t.time for k, t in b.scenario.truth.items()}

    # ---- everything else, minute by minute ---------------------------------------------------------

    def _count(self, hourly: float, t: float, point: bool) -> int:
        rate = _rate(t) or self.mix.night
        if point and not (self.point_from <= t < self.last):
            return 0
        expected = hourly * self.scale * rate / 60
        whole = int(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)

    def minute(self, m: int) -> List[Row]:
        """The rows of minute ``m`` (epoch // 60), in no order."""
        rng, org, mix = self.rng, self.org, self.mix
        t0 = m * 60.0
        rows: List[Row] = list(self.planned.get(m, []))
        people = org.people

        def when() -> str:
            return splunk_time(t0 + rng.random() * 60)

        # Rows no run reads at all (DNS, connections without translation) fill the business hour only.
        within = self.start <= t0 < self.end
        n = self._count(mix.firewall if within else mix.firewall * mix.nat_share, t0, True)
        for _ in range(n):
            p = people[int(rng.random() * len(people))]
            if p.place != "home" and (not within or rng.random() < mix.nat_share):
                rows.append({"_time": when(), "sourcetype": "pan:traffic", "tag": "network\ncommunicate",
                             "src_ip": p.internal, "src_translated_ip": org.egress(p, rng),
                             "dest_ip": f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.9",
                             "dest_port": rng.choice(WEB_OUT), "action": "allowed"})
            else:
                rows.append({"_time": when(), "sourcetype": "pan:traffic", "tag": "network\ncommunicate",
                             "src_ip": p.internal, "dest_ip": f"10.{rng.randrange(40, 60)}.{rng.randrange(256)}.5",
                             "dest_port": str(rng.choice([445, 389, 88, 53, 3389])), "action": "allowed"})
        for _ in range(self._count(mix.proxy, t0, True)):
            p = people[int(rng.random() * len(people))]
            if p.place == "home":
                continue
            host = rng.choice(GOOGLE_HOSTS) if rng.random() < mix.google_share else rng.choice(OTHER_HOSTS)
            rows.append({"_time": when(), "sourcetype": "zscalernss-web", "tag": "web\nproxy", "src": p.internal,
                         "user": p.user, "dest": host, "url": f"https://{host}/", "http_user_agent": "Mozilla/5.0",
                         "action": "allowed"})
        for _ in range(self._count(mix.dns, t0, True) if within else 0):
            p = people[int(rng.random() * len(people))]
            rows.append({"_time": when(), "sourcetype": "MSAD:NT6:DNS", "tag": "network\nresolution\ndns",
                         "src": p.internal, "query": rng.choice(OTHER_HOSTS)})
        for _ in range(self._count(mix.auth, t0, False)):
            p = people[int(rng.random() * len(people))]
            kind = rng.choice(LOGON_TYPES)
            failed = kind == "failure"
            logon_type = "3" if failed else kind
            rows.append({"_time": when(), "sourcetype": "XmlWinEventLog", "tag": "authentication",
                         "user": "CORP\\" + p.user, "dest": p.host if logon_type not in ("3", "5", "4", "8")
                         else f"SRV-{rng.randrange(200):03d}", "src": "127.0.0.1" if logon_type in ("2", "7", "11")
                         else p.internal, "Logon_Type": logon_type, "action": "failure" if failed else "success",
                         "app": "win:local"})
        for _ in range(self._count(mix.edr, t0, True)):
            p = people[int(rng.random() * len(people))]
            kind = rng.choice(FDR_EVENTS)
            row: Row = {"_time": when(), "sourcetype": "crowdstrike:events:sensor", "event_simpleName": kind,
                        "aip": p.aip, "LocalAddressIP4": p.internal if p.place != "home" else "192.168.1.20",
                        "aid": p.aid, "aid_computer_name": p.host}
            if kind == "ProcessRollup2":
                row["UserName"] = p.user
            elif kind == "DnsRequest":
                row["DomainName"] = rng.choice(GOOGLE_HOSTS) if rng.random() < 0.1 else rng.choice(OTHER_HOSTS)
            rows.append(row)
        for _ in range(self._count(mix.edr_logons, t0, False)):
            p = people[int(rng.random() * len(people))]
            rows.append({"_time": when(), "sourcetype": "crowdstrike:events:sensor", "event_simpleName": "UserLogon",
                         "aip": p.aip, "aid": p.aid, "aid_computer_name": p.host, "UserName": p.user})
        for _ in range(self._count(mix.idp, t0, True)):
            p = people[int(rng.random() * len(people))]
            source = p.home if p.place == "home" else org.egress(p, rng)
            rows.append({"_time": when(), "sourcetype": rng.choice(IDP_SOURCETYPES), "tag": "authentication",
                         "user": p.user + "@example-corp.com", "src": source, "dest": "okta", "app": "okta",
                         "action": "success", "http_user_agent": "Mozilla/5.0"})
        for _ in range(self._count(mix.dhcp, t0, False)):
            p = people[int(rng.random() * len(people))]
            if p.place == "office":
                rows.append({"_time": when(), "sourcetype": "MSAD:NT6:DHCP", "tag": "network\nsession\ndhcp",
                             "dest_ip": p.internal, "dest_nt_host": p.host, "dest_mac": p.mac,
                             "lease_duration": "28800"})
        for _ in range(self._count(mix.vpn, t0, False)):
            p = people[int(rng.random() * len(people))]
            if p.place == "vpn":
                rows.append({"_time": when(), "sourcetype": "pan:globalprotect", "tag": "network\nsession\nvpn",
                             "src_ip": p.home, "dest_ip": p.internal, "user": p.user, "dest_nt_host": p.host,
                             "duration": "36000"})
        for row in rows:
            kind = _kind_of(row)
            self.counts[kind] = self.counts.get(kind, 0) + 1
        return rows

    def stream(self) -> Iterator[List[Row]]:
        """Every minute from the end of the run's range back to its start, each newest first."""
        m = int(self.last // 60)
        while m * 60 + 60 > self.first:
            rows = [r for r in self.minute(m) if self.first <= float(str(r["_time"])) < self.last]
            rows.sort(key=lambda r: -float(str(r["_time"])))
            yield rows
            m -= 1

    def runs(self, window: float = 900, every: float = 300) -> List[Tuple[float, float]]:
        """The scheduled search's runs whose window touches the hour (each a 15-minute window)."""
        out: List[Tuple[float, float]] = []
        latest = self.start + every
        while latest - window < self.end:
            out.append((latest - window, latest))
            latest += every
        return out


def _kind_of(row: Row) -> str:
    if "_raw" in row and "protoPayload" in str(row["_raw"]):
        return "audit"
    if row.get("event_simpleName"):
        return "edr"
    tag = str(row.get("tag", ""))
    for word, kind in (("dhcp", "dhcp"), ("vpn", "vpn"), ("proxy", "proxy"), ("dns", "dns"),
                       ("communicate", "firewall")):
        if word in tag:
            return kind
    if "authentication" in tag:
        return "idp" if row.get("sourcetype") in IDP_SOURCETYPES else "logons"
    return "other"
