"""Generated days built to break a narrowing: what the keyed search must still find.

Each scenario uses the scenario world and row builders (:mod:`devtools.scenarios`), so its rows are
what Splunk hands the command; the truth labels come along but the narrowing tests compare verdicts
from the narrowed stream with verdicts from the full stream, whatever they are.

* ``burst``: dozens of masked denials within minutes through one office egress, with the NAT,
  EDR and sign-in traffic of hundreds of colleagues through the same address around them;
* ``edges``: evidence at exactly each tolerance of a call (and a millisecond beyond): sign-ins at
  ``t - window``, NAT at ``t ± network_tolerance``, EDR at ``t ± skew``, proxy and DNS records of the
  API host, leases, sessions and logons that began exactly ``lookback`` before, the key window's
  own bounds ``t - point_back`` and ``t + forward``;
* ``spellings``: callers and evidence writing the same address every way (IPv6 compressed,
  expanded, upper case, zero-padded groups, bracketed with a port, with a zone; IPv4 zero-padded,
  with a port, IPv4-mapped in dotted and hex form);
* ``agents``: service agents' denials whose originating calls come from public addresses, at the
  edge of ``agent_window``, with the evidence of those addresses around the originating call;
* ``nat_checks``: the calls that judge an egress's NAT log around a masked denial: at exactly
  ``HEALTH_WINDOW`` either side (and a millisecond beyond), with and without a translation, ones
  that went through the explicit proxy (a request by their principal, or carrying their
  invocation-id, at exactly ``fingerprint_window``, and a millisecond beyond), ones that rode an
  earlier call's connection, and ones after the end of a short run (a run must not read them);
* ``many_callers``: more callers than a small key cap (the search must widen, not narrow);
* ``lost_translation``: egresses that lost the call's own translation, where only other devices'
  translations minutes off (up to the horizon's bounds) show the address is an office's;
* ``devices_around``: homes where EDR records of other devices (or of a shared device changing hands)
  minutes from the call decide whether one person was there;
* ``older_bindings``: twelve hours of the same leases and logons over and over before calls through
  the devices (hot desks changing hands, a remote logon over a console session, a lease released,
  FDR logons naming the device by sensor id, the newest logon within the clock's skew of the call),
  so that keeping only the newest row of each binding before a run must change nothing.
"""

from __future__ import annotations

import ipaddress
from typing import Callable, List, Optional

from guardrail.correlate.index import HEALTH_WINDOW
from guardrail.correlate.options import Options

from devtools.scenarios import Scenario, World, ipv6_forms
from devtools.scenarios.builder import Builder
from devtools.scenarios.world import CORP, DENIALS, ZONES, splunk_time

_O = Options()
MS = 0.001


def _office(b: Builder, t: float, user: str, ip: Optional[str] = None) -> str:
    host, mac = b.w.device()
    ip = ip or b.w.internal_ip()
    b.dhcp(t - 5 * 3600, ip, host, mac, 10 * 3600)
    b.logon(t - 4 * 3600, user, host)
    return ip


def burst(w: World, n: int = 30) -> Scenario:
    b = Builder(w, "burst", "many masked denials within minutes through one office egress")
    egress = w.office_egress()
    t0 = w.day0 + 9 * 3600
    colleagues = [(w.user(), w.internal_ip()) for _ in range(120)]
    for user, ip in colleagues:
        _office(b, t0, user, ip)
    for i in range(n):
        t = t0 + i * 17 + b.rng.random()
        user, ip = colleagues[i]
        b.nat(t, ip, egress, "142.250.74.20")
        if i % 3 == 0:  # a colleague in the same second: the NAT log cannot tell them apart
            b.nat(t, colleagues[i + 40][1], egress, "142.250.74.21")
        if i % 4 == 1:
            b.edr(t + b.rng.randrange(-30, 30), "NetworkConnectIP4", egress, ip, w.device()[0], user=user)
        if i % 5 == 2:
            b.idp(t - b.rng.randrange(10, 250), user, egress, w.browser_ua()[1])
        b.denied(t, None, f"burst {i} through {egress}", egress, w.gcloud_ua("gcloud.compute.instances.create")[0])
    for _ in range(40 * n):  # the egress's other traffic around the burst
        user, ip = b.rng.choice(colleagues)
        t = t0 - 1800 + b.rng.random() * (n * 17 + 3600)
        kind = b.rng.randrange(3)
        if kind == 0:
            b.nat(t, ip, egress, f"52.{b.rng.randrange(256)}.{b.rng.randrange(256)}.{b.rng.randrange(1, 255)}")
        elif kind == 1:
            b.edr(t, "ProcessRollup2", egress, ip, w.device()[0], user=user)
        else:
            b.idp(t, user, egress, w.browser_ua()[1])
    return b.scenario


def edges(w: World, n: int = 8) -> Scenario:
    b = Builder(w, "edges", "evidence at exactly each tolerance of a call, and a millisecond beyond")
    o = _O
    for i in range(n):
        t = w.day0 + 10 * 3600 + i * 1800 + 0.5
        ip = w.public_ip()
        service, _method, *_ = DENIALS[i % len(DENIALS)]
        agent = w.gcloud_ua("gcloud.compute.instances.create")
        people = [w.user() for _ in range(12)]
        for k, offset in enumerate((-o.window, -o.window - MS, -o.point_back, -o.point_back - MS)):
            b.idp(t + offset, people[k], ip, w.browser_ua()[1])
        for k, offset in enumerate((-o.network_tolerance, o.network_tolerance, -o.network_tolerance - MS,
                                    o.network_tolerance + MS, o.forward, o.forward + MS)):
            internal = _office(b, t, people[(k + 4) % 12])
            b.nat(t + offset, internal, ip, "142.250.74.30")
            if k < 2:
                b.proxy(t + offset, internal, people[(k + 4) % 12], service, agent[1])
        for k, offset in enumerate((-o.skew, o.skew, -o.skew - MS, o.skew + MS)):
            host = w.device()[0]
            b.edr(t + offset, "NetworkConnectIP4", ip, f"192.168.{i}.{k + 2}", host, user=people[(k + 10) % 12])
            b.edr(t + offset, "DnsRequest", w.public_ip(), f"192.168.{i}.{k + 20}", host, domain=service)
        assigned = f"10.252.{i}.{b.rng.randrange(2, 250)}"
        b.vpn(t - o.lookback, ip, assigned, people[0], w.device()[0], int(o.lookback + 60))
        b.vpn(t - o.lookback - MS, ip, assigned, people[1], w.device()[0], int(o.lookback + 60))
        b.denied(t, None, f"edges at {ip}", ip, agent[0], denial=i % len(DENIALS))
    return b.scenario


def _v4_forms(ip: str) -> List[str]:
    octets = [int(p) for p in ip.split(".")]
    mapped = ipaddress.IPv6Address("::ffff:" + ip)
    return [ip, ".".join(f"{o:03d}" for o in octets), ip + ":51234", "::ffff:" + ip, "::FFFF:" + ip,
            "0:0:0:0:0:ffff:" + ip, mapped.exploded, mapped.exploded.upper(), f"[::ffff:{ip}]:443"]


def _v6_forms(ip: str) -> List[str]:
    short = ipaddress.IPv6Address(ip).compressed
    return [*ipv6_forms(ip), f"[{short}]:443", short.upper() + "%eth0"]


def spellings(w: World, n: int = 8) -> Scenario:
    b = Builder(w, "spellings", "callers and evidence writing one address every way")
    for i in range(n):
        t = w.day0 + 12 * 3600 + i * 1200
        v6 = i % 2 == 0
        ip = w.public_ipv6() if v6 else w.public_ip()
        forms = _v6_forms(ip) if v6 else _v4_forms(ip)
        call = forms[3] if v6 and i % 4 == 0 else (forms[0] if v6 else ("::ffff:" + ip if i % 4 == 1 else ip))
        user = w.user()
        for k, form in enumerate(forms):
            someone = user if k == 0 else w.user()
            kind = k % 4
            if kind == 0:
                b.idp(t - 30 - k, someone, form, w.browser_ua()[1])
            elif kind == 1:
                b.nat(t + (k % 2), _office(b, t, someone), form, "142.250.74.40")
            elif kind == 2:
                b.edr(t + 5 + k, "ProcessRollup2", form, f"192.168.77.{k + 2}", w.device()[0], user=someone)
            else:
                b.vpn(t - 3600 - k, form, f"10.253.{i}.{k + 2}", someone, w.device()[0], 4 * 3600)
        b.denied(t, user, f"{call} (evidence in {len(forms)} spellings)", call,
                 w.gcloud_ua("gcloud.notebooks.instances.create")[0])
    return b.scenario


def agents(w: World, n: int = 6) -> Scenario:
    b = Builder(w, "agents", "service agents acting for masked calls from public addresses")
    o = _O
    for i in range(n):
        t = w.day0 + 14 * 3600 + i * 900 + 0.25
        user, project = w.user(), w.project()
        name = f"nb-{w.invocation_id()[:6]}"
        resource = f"projects/{project}/zones/{ZONES[i % len(ZONES)]}/instances/{name}"
        ip = w.public_ip()
        origin = t - (o.agent_window if i % 2 == 0 else b.rng.randrange(2, 50))
        b.gcp_activity(origin, "", ip, w.browser_ua()[0], project=project, service="notebooks.googleapis.com",
                       method="google.cloud.notebooks.v1.NotebookService.CreateInstance", resource=resource,
                       log="activity")
        b.idp(origin - o.window, user, ip, w.browser_ua()[1])
        b.nat(origin, _office(b, origin, user), ip, "142.250.74.50")
        if i % 3 == 0:
            b.vpn(origin - o.lookback, ip, f"10.254.{i}.9", user, w.device()[0], int(o.lookback + 3600))
        # a call on another resource, and one too early, are not what the agent acted for
        b.gcp_activity(t - 5, "", w.public_ip(), w.browser_ua()[0], project=project,
                       service="notebooks.googleapis.com", resource=f"projects/{project}/zones/z/instances/other{i}",
                       log="activity")
        b.gcp_activity(t - o.agent_window - 1, "", w.public_ip(), w.browser_ua()[0], project=project,
                       service="notebooks.googleapis.com", resource=resource, log="activity")
        principal = f"service-{w.project_numbers[project]}@gcp-sa-notebooks.iam.gserviceaccount.com"
        b.denied(t, user, f"agent for {resource}", "private", "google-api-go-client/0.5 notebooks", project=project,
                 denial=1, auth={"principalEmail": principal}, resource=resource, via_activity=False)
    return b.scenario


def nat_checks(w: World, n: int = 4) -> Scenario:
    b = Builder(w, "nat_checks", "the calls that judge an egress's NAT log around masked denials")
    o = _O
    fw, tol = o.fingerprint_window, o.network_tolerance
    for i in range(n):
        t = w.day0 + 19 * 3600 + i * 1800 + 0.5  # one egress each: their logs are judged apart
        egress = w.office_egress()
        user = w.user()
        b.nat(t, _office(b, t, user), egress, "142.250.74.70")

        def call(at: float, translated: bool, who: str = "", ua: Optional[str] = None, egress: str = egress) -> str:
            agent = ua or w.gcloud_ua("gcloud.compute.instances.list")[0]
            b.gcp_activity(at, who or w.user() + "@" + CORP, egress, agent, service="compute.googleapis.com",
                           method="v1.compute.instances.list", log="data_access")
            if translated:
                b.nat(at + b.rng.choice((-tol, 0.0, tol)), w.internal_ip(), egress, "142.250.74.71")
            return agent

        for offset in (-HEALTH_WINDOW - MS, HEALTH_WINDOW + MS):
            call(t + offset, False)  # beyond the window: no check of this call's log
        for offset in (-HEALTH_WINDOW, -1800.0, 600.0, HEALTH_WINDOW):
            call(t + offset, True)
        # through the proxy: a request carrying the invocation-id, or by the principal, fw from the call
        for k, gap in enumerate((fw, -fw, fw + MS)):
            at = t - 2400 - k * 600
            log_agent, sent = w.gcloud_ua("gcloud.compute.instances.list")
            who = w.user() + "@" + CORP
            call(at, False, who, log_agent)
            if i % 2 == 0:
                b.proxy(at + gap, w.internal_ip(), None, "compute.googleapis.com", sent)
            else:
                b.proxy(at + gap, w.internal_ip(), who, "compute.googleapis.com", None)
        # rode the connection of the same program's call a moment before
        agent = call(t - 900, True, "avery.lin@" + CORP)
        call(t - 900 + o.selfjoin_window * 0.5, False, "avery.lin@" + CORP, agent)
        # after the end of a short run around the denial: only the longer runs may see them
        for offset in (o.forward + tol + 61, 1500.0, 3000.0):
            call(t + offset, i % 2 == 1)
        b.denied(t, None, f"NAT log checks at {egress}", egress, w.gcloud_ua("gcloud.compute.instances.create")[0],
                 denial=1)
    return b.scenario


def many_callers(w: World, n: int = 60) -> Scenario:
    b = Builder(w, "many_callers", "more callers than a small key cap")
    for i in range(n):
        t = w.day0 + 16 * 3600 + i * 7
        user, ip = w.user(), w.public_ip()
        b.idp(t - 60, user, ip, w.browser_ua()[1])
        b.nat(t, _office(b, t, user), ip, "142.250.74.60")
        b.denied(t, user, f"caller {i}", ip, w.sdk_ua()[0])
    return b.scenario


def older_bindings(w: World, n: int = 6) -> Scenario:
    b = Builder(w, "older_bindings", "the same leases and logons over and over for twelve hours before calls")
    o = _O
    for k in range(n):
        t = w.day0 + 20 * 3600 + k * 900 + 0.25
        egress, ip = w.public_ip(), w.internal_ip()
        host, mac = w.device()
        first, second = w.user(), w.user()
        for hour in range(12, 0, -1):  # renewals, identical but for the time
            b.add({"_time": splunk_time(t - hour * 3600), "sourcetype": "MSAD:NT6:DHCP", "host": "dc01",
                   "tag": ["network", "session", "dhcp"], "dest_ip": ip, "dest_nt_host": host, "dest_mac": mac,
                   "lease_duration": "7200", "signature": "Renew", "_raw": f"11,{hour},Renew,{ip},{host}"})
        for step in range(22, 6 if k == 1 else 0, -1):  # a hot desk: the two alternate every half hour
            who = first if step % 2 else second
            b.logon(t - step * 1800 - 60, who, host, logon_type=2 if step % 3 else 7)
            if k != 1:
                b.edr(t - step * 1800 - 59, "UserLogon", egress, ip, host, user=who, naming="ComputerName",
                      logon_type=2)
        if k == 1:  # the newest logons remote, long before the call: the console session may still be open
            b.logon(t - 900 - 2 * 3600, second, host, src="10.9.9.9", logon_type=10)
            b.ssh_logon(t - 900 - 3600, second, host, src="10.9.9.9")
        if k == 2:  # the lease given back an hour before the call: nobody holds the address
            b.dhcp_release(t - 3600, ip, host, mac)
        if k == 3:  # the newest logon within the skew of the call: the one before may still hold it
            b.logon(t - o.skew / 2, first if k % 2 else second, host)
        if k == 4:  # the sensor id alone on the device's network records: its name comes from the logons
            b.edr(t - 1, "NetworkConnectIP4", egress, ip, host, naming="aid")
        b.nat(t, ip, egress, "142.250.74.70")
        b.denied(t, None, f"through {host}, {12} hours of the same bindings", egress, w.sdk_ua()[0])
    return b.scenario


def lost_translation(w: World) -> Scenario:
    """Egresses whose NAT log lost the call's own translation, with one colleague's sign-in from the
    address: other devices' translations within the call's horizon (exactly at its bounds, minutes
    off, or just beyond them, or to a port no API call uses) decide whether it is an office's."""
    b = Builder(w, "lost_translation", "the call's translation lost, other devices' around it")
    o = _O
    cases = [(-o.point_back, 443), (o.forward, 443), (-o.point_back - MS, 443), (o.forward + MS, 443),
             (-200.0, 443), (100.0, 443), (-o.point_back, 53), (-o.network_tolerance - 30, 8080)]
    for k, (offset, port) in enumerate(cases):
        t = w.day0 + 18 * 3600 + k * 1200 + 0.5
        egress, colleague = w.public_ip(), w.user()
        b.idp(t - 120, colleague, egress, w.browser_ua()[1])
        b.scenario.rows[-1]["sourcetype"] = "OktaIM2:log"
        b.nat(t + offset, _office(b, t, w.user()), egress, "142.250.74.80", port=port)
        b.denied(t, None, f"lost translation at {egress}", egress, w.sdk_ua()[0])
    return b.scenario


def devices_around(w: World) -> Scenario:
    """Homes where one person signed in, and EDR records of devices behind the address minutes from
    the call (outside the clock's skew, up to the horizon's bounds and beyond): another person's
    device, a shared device changing hands, a device known by its sensor id only (its name in a record
    of another stretch), a device nobody's record names (its logon does)."""
    b = Builder(w, "devices_around", "EDR records of devices behind a home address around the call")
    o = _O
    cases = [-o.point_back, o.forward, -o.point_back - MS, o.forward + MS, -200.0, -250.0, -o.skew - 30, -300.0]
    for k, offset in enumerate(cases):
        t = w.day0 + 19 * 3600 + k * 1200 + 0.5
        home, caller, other = w.public_ip(), w.user(), w.user()
        b.idp(t - 120, caller, home, w.browser_ua()[1])
        b.scenario.rows[-1]["sourcetype"] = "OktaIM2:log"
        host, _mac = w.device()
        local = f"192.168.{k}.20"
        if k == 5:  # one device, both people: the other's record minutes before, the caller's at the call
            b.edr(t - 5, "ProcessRollup2", home, local, host, user=caller, naming="ComputerName")
        if k == 6:  # a device named by its sensor id only, its name in a record of another stretch
            b.edr(t + offset, "NetworkConnectIP4", home, local, host, naming="aid")
            b.edr(t - o.point_back + 1, "ProcessRollup2", home, local, host, naming="ComputerName")
            b.logon(t - 3600, other, host)
        elif k == 7:  # a record naming nobody: the device's logon says whose it is
            b.edr(t + offset, "NetworkConnectIP4", home, local, host, naming="ComputerName")
            b.logon(t - 3600, other, host)
        else:
            b.edr(t + offset, "NetworkConnectIP4", home, local, host, user=other, naming="ComputerName")
        b.denied(t, None, f"devices around {home}", home, w.sdk_ua()[0])
    return b.scenario


SCENARIOS: List[Callable[[World], Scenario]] = [burst, edges, spellings, agents, nat_checks, many_callers,
                                                older_bindings, lost_translation, devices_around]


def build_day(seed: int, day0: float) -> Scenario:
    """Every adversarial scenario in one day (``CORP`` people, unique addresses)."""
    w = World(seed, day0)
    day = Scenario("adversarial", "every adversarial scenario in one day")
    for make in SCENARIOS:
        part = make(w)
        day.rows.extend(part.rows)
        day.truth.update(part.truth)
    return day


__all__ = ["CORP", "SCENARIOS", "build_day"]
