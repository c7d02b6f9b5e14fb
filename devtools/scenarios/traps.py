"""One scenario per way the attribution went wrong on data it was not written against.

Each trap is built as an adversary would: the decisive evidence for the caller where there is
some, and beside it the coincidence that fooled the command (a shared observation within the
tolerance, an extra record of the same connection, a colleague's own call at that second, a NAT log
that misses connections, a proxy clock a few seconds off). Where the evidence does not determine the
caller the truth is "cannot tell", and no name may be given.
"""

from __future__ import annotations

from typing import Optional, Tuple

from .builder import Builder
from .catalogue import _office_user, _times
from .world import CORP, DENIALS, GOOGLE_API_IPS, Scenario, World


def _checks(b: Builder, egress: str, t: float, count: int = 4, logged: bool = True) -> None:
    """Colleagues' own visible calls through ``egress`` within 25 minutes of ``t``, well away from it.

    With ``logged`` each left a translation, as a complete NAT log shows; without, the log lost it.
    """
    for _ in range(count):
        who = b.w.user()
        ip, _host = _office_user(b, t, who, t - 3 * 3600, t - 2 * 3600)
        at = t + b.rng.choice([-1, 1]) * b.rng.randrange(60, 1500)
        if logged:
            b.nat(at, ip, egress, b.rng.choice(GOOGLE_API_IPS))
        b.gcp_activity(at, who + "@" + CORP, egress, b.w.browser_ua()[0])


def _leased(b: Builder, t: float, kind: str = "LAPTOP", start: float = 5 * 3600) -> Tuple[str, str, str]:
    """A device that leased an office address ``start`` before ``t`` for 12 hours: ``(ip, host, mac)``."""
    host, mac = b.w.device(kind)
    ip = b.w.internal_ip()
    b.dhcp(t - start, ip, host, mac, 12 * 3600)
    return ip, host, mac


def _call_through(b: Builder, t: float, ip: str, egress: str, truth: Optional[str], note: str, host: Optional[str],
                  dest: int, command: str = "gcloud.compute.instances.create", denial: int = 1) -> None:
    """The masked call, leaving through the device's translation at its second, at an egress whose
    NAT log is complete (colleagues' calls around it each had theirs)."""
    b.nat(t, ip, egress, GOOGLE_API_IPS[dest])
    _checks(b, egress, t)
    b.denied(t, truth, note, egress, b.w.gcloud_ua(command)[0], denial=denial, host=host)


def sc_weak_observation_alone(w: World, n: int) -> Scenario:
    b = Builder(w, "weak_observation_alone",
                "trap: a colleague's proxy CONNECT to the call's API host in the same second (no agent), or "
                "their EDR records behind the egress, are shared observations and name nobody; the caller's own "
                "lone translation in a complete NAT log still names the caller")
    for i, t in enumerate(_times(w, n, 7.1)):
        egress = w.office_egress()
        denial = 1
        service = DENIALS[denial][0]
        colleague = w.user()
        cip, chost = _office_user(b, t, colleague, t - 3 * 3600, t - 3000)
        kind = i % 4
        if kind == 0:
            b.proxy(t + b.rng.choice([-1, 0, 1]), cip, colleague, service, None, "/compute/v1/projects/x", 200)
            note = f"{colleague}'s CONNECT to {service} at t, nothing else"
        elif kind == 1:
            b.edr(t + b.rng.randrange(-50, 50), "NetworkConnectIP4", egress, cip, chost, user=colleague,
                  remote=b.rng.choice(GOOGLE_API_IPS))
            note = f"{colleague}'s EDR connection from {egress} within a minute, no host"
        else:
            b.edr(t + b.rng.randrange(-50, 50), "DnsRequest", egress, cip, chost, user=colleague, domain=service)
            b.idp(t - b.rng.randrange(30, 250), w.user(), egress, w.browser_ua()[1])  # others are there too
            note = f"{colleague} looked up {service} behind {egress} within a minute"
        truth: Optional[str] = None
        if kind == 3:
            user = w.user()
            ip, host = _office_user(b, t, user, t - 3 * 3600, t - 1800)
            b.nat(t + b.rng.choice([-1, 0, 1]), ip, egress, b.rng.choice(GOOGLE_API_IPS))
            _checks(b, egress, t)
            truth, note = user, note + f"; {user}'s lone translation in a complete NAT log"
        b.denied(t, truth, note, egress, w.gcloud_ua("gcloud.compute.instances.create")[0], denial=denial,
                 host=None if truth is None else host)
    return b.scenario


def sc_edr_competitor(w: World, n: int) -> Scenario:
    b = Builder(w, "edr_competitor",
                "trap: a complete NAT -> DHCP -> logon chain, and another laptop's EDR records behind the same "
                "egress within the clock tolerance: a connection with no host is no competitor, a look-up of the "
                "call's API host is one that only a complete NAT log rules out; with a NAT log that misses "
                "connections nobody can be named")
    for i, t in enumerate(_times(w, n, 7.6)):
        egress = w.office_egress()
        denial = 0
        service = DENIALS[denial][0]
        user, other = w.user(), w.user()
        ip, host = _office_user(b, t, user, t - 3 * 3600, t - 1800)
        oip, ohost = _office_user(b, t, other, t - 3 * 3600, t - 2400)
        b.nat(t + b.rng.choice([-1, 0, 1]), ip, egress, b.rng.choice(GOOGLE_API_IPS))
        kind = i % 3
        offset = b.rng.choice([-58, -40, -20, 20, 40, 58])  # the other laptop's clock, or a real second apart
        if kind == 0:
            b.edr(t + offset, "NetworkConnectIP4", egress, oip, ohost, remote=b.rng.choice(GOOGLE_API_IPS))
            _checks(b, egress, t)
            truth: Optional[str] = user
            note = f"{other}'s EDR connection (no host) is no competitor"
        elif kind == 1:
            b.edr(t + offset, "DnsRequest", egress, oip, ohost, domain=service)
            b.edr(t + offset + 1, "NetworkConnectIP4", egress, oip, ohost, remote=b.rng.choice(GOOGLE_API_IPS))
            _checks(b, egress, t)
            truth, note = user, f"{other} looked up {service}, but had no translation at t in a complete NAT log"
        else:
            b.edr(t + offset, "DnsRequest", egress, oip, ohost, domain=service)
            _checks(b, egress, t, count=3, logged=True)
            _checks(b, egress, t, count=2, logged=False)
            truth, note = None, f"{other} looked up {service}; the NAT log misses connections: cannot tell"
        b.denied(t, truth, note, egress, w.sdk_ua()[0], denial=denial, host=host if truth else None)
    return b.scenario


def sc_one_connection_many_records(w: World, n: int) -> Scenario:
    b = Builder(w, "one_connection_many_records",
                "trap: two laptops translated at the call's second; one of them also has an EDR connection and "
                "a look-up of the API host for that same connection. One connection is one observation: more "
                "telemetry does not make its owner the caller")
    for i, t in enumerate(_times(w, n, 8.1)):
        egress = w.office_egress()
        denial = 1
        service = DENIALS[denial][0]
        a, c = w.user(), w.user()
        aip, ahost = _office_user(b, t, a, t - 3 * 3600, t - 1800)
        cip, _chost = _office_user(b, t, c, t - 3 * 3600, t - 2000)
        b.nat(t, aip, egress, GOOGLE_API_IPS[11])
        b.edr(t + 12, "DnsRequest", egress, aip, ahost, user=a, domain=service)
        b.edr(t + 12, "NetworkConnectIP4", egress, aip, ahost, user=a, remote=GOOGLE_API_IPS[11])
        _checks(b, egress, t)
        if i % 2:
            b.nat(t + b.rng.choice([-1, 0, 1]), cip, egress, GOOGLE_API_IPS[11])
            truth: Optional[str] = None
            note = f"{a} (NAT + EDR + DNS of one connection) and {c} (NAT) both at t: cannot tell"
        else:
            truth, note = a, f"{a}'s lone translation at t (with its EDR records)"
        b.denied(t, truth, note, egress, w.gcloud_ua("gcloud.compute.instances.create")[0], denial=denial,
                 host=ahost if truth else None)
    return b.scenario


def sc_explained_by_own_call(w: World, n: int) -> Scenario:
    b = Builder(w, "explained_by_own_call",
                "trap: a colleague behind the egress made their own visible call in the same second (another "
                "program): their translation and look-up are explained by it, so the other translation names the "
                "caller; not when the colleague's call went through the proxy (their own translation is then "
                "unexplained) or used the masked call's own program")
    for i, t in enumerate(_times(w, n, 8.6)):
        egress = w.office_egress()
        denial = 1
        service = DENIALS[denial][0]
        user, colleague = w.user(), w.user()
        ip, host = _office_user(b, t, user, t - 3 * 3600, t - 1800)
        cip, chost = _office_user(b, t, colleague, t - 3 * 3600, t - 2400)
        masked_ua = w.sdk_ua()[0]
        b.nat(t + b.rng.choice([-1, 0]), ip, egress, GOOGLE_API_IPS[2])
        b.nat(t + b.rng.choice([0, 1]), cip, egress, GOOGLE_API_IPS[2])
        b.edr(t + 8, "DnsRequest", egress, cip, chost, user=colleague, domain=service)
        _checks(b, egress, t)
        kind = i % 3
        visible_at = t + b.rng.choice([-1, 0, 1])
        if kind == 0:
            b.gcp_activity(visible_at, colleague + "@" + CORP, egress, w.gcloud_ua("gcloud.compute.instances.list")[0],
                           service=service, method="v1.compute.instances.list", log="data_access")
            truth: Optional[str] = user
            note = f"{colleague}'s own gcloud call at t explains their translation"
        elif kind == 1:
            ua_log, ua_sent = w.browser_ua()
            b.gcp_activity(visible_at, colleague + "@" + CORP, egress, ua_log, service=service,
                           method="v1.compute.instances.list", log="data_access")
            b.proxy(visible_at + 3, cip, colleague, service, ua_sent, "/compute/v1/projects/x/instances", 200)
            truth, note = None, f"{colleague}'s own call went through the proxy: their translation is unexplained"
        else:
            b.gcp_activity(visible_at, colleague + "@" + CORP, egress, masked_ua, service=service,
                           method="v1.compute.instances.get", log="data_access")
            truth, note = None, f"{colleague}'s own call used the same program (its connection may carry both)"
        b.denied(t, truth, note, egress, masked_ua, denial=denial, host=host if truth else None)
    return b.scenario


def sc_nat_log_incomplete(w: World, n: int) -> Scenario:
    b = Builder(w, "nat_log_incomplete",
                "trap: an egress whose NAT log misses connections (colleagues' visible calls without a "
                "translation): a lone translation at the call's second proves nothing, and the caller's own may "
                "be the one missing")
    egress = w.office_egress()
    for i, t in enumerate(_times(w, n, 9.1)):
        user, bystander = w.user(), w.user()
        ip, _host = _office_user(b, t, user, t - 3 * 3600, t - 1800)
        bip, _bh = _office_user(b, t, bystander, t - 3 * 3600, t - 2400)
        if i % 2:
            b.nat(t + b.rng.choice([-1, 0, 1]), ip, egress, b.rng.choice(GOOGLE_API_IPS))
            note = f"{user}'s translation was logged, others' were not"
        else:
            b.nat(t + b.rng.choice([-1, 1]), bip, egress, b.rng.choice(GOOGLE_API_IPS))  # the caller's was lost
            note = f"{user}'s translation was lost; {bystander}'s coincidental one was logged"
        _checks(b, egress, t, count=3, logged=True)
        _checks(b, egress, t, count=2, logged=False)
        b.denied(t, None, note + ": cannot tell", egress, w.gcloud_ua("gcloud.compute.instances.create")[0])
    return b.scenario


def sc_fingerprint_clock(w: World, n: int) -> Scenario:
    b = Builder(w, "fingerprint_clock",
                "a proxy that stamps completion on a clock up to 15 s off: the record carrying the call's gcloud "
                "invocation-id still names the caller within a minute; a browser record as far off counts "
                "for nothing")
    offsets = [-55, -30, -15, -8, 8, 15, 30, 55]
    for i, t in enumerate(_times(w, n, 9.6)):
        egress = w.office_egress()
        denial = 1
        service = DENIALS[denial][0]
        user = w.user()
        ip, host = _office_user(b, t, user, t - 3 * 3600, t - 1800)
        offset = offsets[i % len(offsets)]
        if i % 3 == 2:
            ua_log, ua_sent = w.browser_ua()
            b.proxy(t + offset, ip, user, service, ua_sent, "/compute/v1/projects/x/instances", 403)
            truth: Optional[str] = None
            note = f"a browser request {offset:+d} s off: cannot tell"
        else:
            ua_log, ua_sent = w.gcloud_ua("gcloud.compute.instances.create")
            b.proxy(t + offset, ip, None, service, ua_sent, "/compute/v1/projects/x/instances", 403)
            truth, note = user, f"invocation-id in a proxy record {offset:+d} s off"
        b.denied(t, truth, note, egress, ua_log, denial=denial, host=host if truth else None)
    return b.scenario


def sc_vpn_start_end(w: World, n: int) -> Scenario:
    b = Builder(w, "vpn_start_end",
                "VPN sessions as CIM Network_Sessions start and end rows: a start closed by its end after t, an "
                "end whose duration covers t, an end without a start in the window, a start with no end yet; "
                "but not a session closed before t, nor one that started after it")
    for i, t in enumerate(_times(w, n, 10.1)):
        user, ip = w.user(), w.public_ip()
        host = w.device()[0]
        assigned = f"10.244.{b.rng.randrange(256)}.{b.rng.randrange(2, 250)}"
        kind = i % 6
        truth: Optional[str] = user
        if kind == 0:
            b.vpn_mark(t - 3600, "start", ip, assigned, user, host)
            b.vpn_mark(t + 1800, "end", ip, assigned, user, host)
            note = "start before t, end after t"
        elif kind == 1:
            b.vpn_mark(t + 900, "end", ip, assigned, user, host, duration=7200)
            note = "end after t whose duration covers t"
        elif kind == 2:
            b.vpn_mark(t + 1200, "end", ip, assigned, user, host)
            note = "end after t with no start in the window"
        elif kind == 3:
            b.vpn_mark(t - 1800, "start", ip, assigned, user, host)
            note = "start before t, no end yet"
        elif kind == 4:
            b.vpn_mark(t - 7200, "start", ip, assigned, user, host)
            b.vpn_mark(t - 600, "end", ip, assigned, user, host)
            truth, note = None, "session closed 10 minutes before t"
        else:
            b.vpn_mark(t + 300, "start", ip, assigned, user, host)
            b.vpn_mark(t + 3600, "end", ip, assigned, user, host, duration=3300)
            truth, note = None, "session started after t"
        b.denied(t, truth, note, ip, w.gcloud_ua("gcloud.compute.instances.create")[0])
    return b.scenario


def sc_fdr_aid(w: World, n: int) -> Scenario:
    b = Builder(w, "fdr_aid",
                "CrowdStrike DnsRequest events carry the sensor id (aid), not the device name: the aid_master "
                "lookup (aid_computer_name) or another record of the same sensor names the device; with neither, "
                "nobody can be named")
    for i, t in enumerate(_times(w, n, 10.6)):
        user = w.user()
        ip, host, local = w.public_ip(), w.device()[0], f"192.168.3.{b.rng.randrange(2, 250)}"
        b.logon(t - b.rng.randrange(1800, 7200), user, host)
        denial = 0
        kind = i % 3
        truth: Optional[str] = user
        if kind == 0:
            b.edr(t + 12, "DnsRequest", ip, local, host, domain=DENIALS[denial][0], naming="aid_computer_name")
            note = "aid_master names the device"
        elif kind == 1:
            b.edr(t + 12, "DnsRequest", ip, local, host, domain=DENIALS[denial][0], naming="aid")
            b.edr(t - 200, "AgentOnline", ip, local, host, naming="ComputerName")
            note = "another record of the sensor names the device"
        else:
            b.edr(t + 12, "DnsRequest", ip, local, host, domain=DENIALS[denial][0], naming="aid")
            truth, note = None, "only the sensor id: no device, no logon"
        b.denied(t, truth, note, ip, w.gcloud_ua("gcloud.notebooks.instances.create")[0], denial=denial,
                 host=host if truth else None)
    return b.scenario


def sc_fdr_logon_type(w: World, n: int) -> Scenario:
    b = Builder(w, "fdr_logon_type",
                "trap: CrowdStrike UserLogon events bind a device to its user like Windows logons, and like them "
                "carry a LogonType: after the person's console logon, a service account's service logon (5) or "
                "an admin's network logon (3) to the device names nobody at it; a colleague's console logon "
                "at a hot desk (2) does")
    for i, t in enumerate(_times(w, n, 11.1)):
        egress = w.office_egress()
        user, other = w.user(), w.user()
        ip, host, _mac = _leased(b, t)
        b.edr(t - 4 * 3600, "UserLogon", egress, ip, host, user=user, naming="ComputerName", logon_type=2)
        since, logon_type, truth, note = [
            ("svc_sccm", 5, user, "a service logon (LogonType 5) after the person's console logon"),
            ("adm-" + other, 3, user, "an admin's network logon (LogonType 3) after the person's console logon"),
            (other, 2, other, "a colleague logged on at the console since (hot desk)"),
        ][i % 3]
        b.edr(t - b.rng.randrange(120, 1800), "UserLogon", egress, ip, host, user=since, naming="ComputerName",
              logon_type=logon_type)
        _call_through(b, t, ip, egress, truth, note, host, 4, "gcloud.notebooks.instances.create", denial=0)
    return b.scenario


def sc_explained_by_polling(w: World, n: int) -> Scenario:
    b = Builder(w, "explained_by_polling",
                "trap: the caller's own console tab polls over the connection it opened a minute before, a "
                "visible call in the call's second that made no translation; it cannot account for the caller's "
                "translation at that second, which stays a candidate beside a colleague's")
    for t in _times(w, n, 12.9):
        egress = w.office_egress()
        user, colleague = w.user(), w.user()
        ip, _host = _office_user(b, t, user, t - 3 * 3600, t - 3000)
        cip, _chost = _office_user(b, t, colleague, t - 3 * 3600, t - 2400)
        b.nat(t, ip, egress, GOOGLE_API_IPS[2])  # the masked call's own connection
        b.nat(t + b.rng.choice([-1, 0, 1]), cip, egress, GOOGLE_API_IPS[9])
        console = w.browser_ua()[0]
        opened = t - b.rng.randrange(70, 110)
        b.nat(opened, ip, egress, GOOGLE_API_IPS[5])  # the console tab's connection
        for at in (opened, t - b.rng.randrange(20, 40), t + b.rng.choice([-1, 0, 1])):
            b.gcp_activity(at, user + "@" + CORP, egress, console, service="compute.googleapis.com",
                           method="v1.compute.instances.list", log="data_access")
        _checks(b, egress, t)
        b.denied(t, None, f"{user}'s console polled at the call's second over an open connection; {colleague}'s "
                 "translation at that second too", egress, w.gcloud_ua("gcloud.compute.instances.create")[0],
                 denial=1)
    return b.scenario


def sc_logon_clock_skew(w: World, n: int) -> Scenario:
    b = Builder(w, "logon_clock_skew",
                "trap: a hot desk changes hands within a minute of the call and the desk's clock is off by tens of "
                "seconds: a logon stamped just after the call may have come before it, one stamped just before may "
                "have come after; ten minutes before, the logon decides")
    for i, t in enumerate(_times(w, n, 13.3)):
        egress = w.office_egress()
        before, after = w.user(), w.user()
        ip, host, _mac = _leased(b, t, "PC")
        b.logon(t - b.rng.randrange(3600, 7200), before, host)
        kind = i % 3
        truth: Optional[str] = None
        if kind == 0:
            b.logon(t + b.rng.randrange(10, 50), after, host)  # a clock running fast: the logon came first
            note = f"{after} logged on just before the call by a clock running fast; {before} held the desk before"
        elif kind == 1:
            b.logon(t - b.rng.randrange(10, 50), after, host)  # a clock running slow: it came after the call
            note = f"{after}'s logon is stamped just before the call by a clock that may run slow; {before} held it"
        else:
            b.logon(t - b.rng.randrange(300, 900), after, host)
            truth, note = after, f"{after} took the desk minutes before the call"
        _call_through(b, t, ip, egress, truth, note, host if truth else None, 6, "gcloud.notebooks.instances.create",
                      denial=0)
    return b.scenario


def sc_dhcp_released(w: World, n: int) -> Scenario:
    b = Builder(w, "dhcp_released",
                "trap: a laptop gave its address back hours before the call, its lease still running on paper; the "
                "address's later holder left no lease in the logs (a static address, a lease by the other DHCP "
                "server of the pair): nobody can be named through it, until a lease is logged again")
    for i, t in enumerate(_times(w, n, 13.7)):
        egress = w.office_egress()
        user, later = w.user(), w.user()
        ip, host, mac = _leased(b, t, start=10 * 3600)
        b.logon(t - 10 * 3600 + 120, user, host)
        b.dhcp_release(t - b.rng.randrange(3, 8) * 3600, ip, host, mac)
        truth: Optional[str] = None
        note = f"{user}'s laptop released {ip}; an unlogged device used it"
        if i % 2:
            other, other_mac = w.device()
            b.dhcp(t - b.rng.randrange(1800, 7200), ip, other, other_mac, 8 * 3600)
            b.logon(t - b.rng.randrange(600, 1500), later, other)
            truth, note = later, f"{user}'s laptop released {ip}; {later}'s laptop leased it since"
        _call_through(b, t, ip, egress, truth, note, None, 7)
    return b.scenario


def sc_remote_sessions(w: World, n: int) -> Scenario:
    b = Builder(w, "remote_sessions",
                "trap: on a Linux build host (SSH) or a Windows terminal server (Remote Desktop) a second person's "
                "remote logon does not end the first one's session: either may have made the call; at a desk, a "
                "console logon does take the device over")
    for i, t in enumerate(_times(w, n, 14.1)):
        egress = w.office_egress()
        first, second = w.user(), w.user()
        kind = i % 3
        ip, host, _mac = _leased(b, t, ("DEVBOX", "RDS", "PC")[kind])
        t1, t2 = t - b.rng.randrange(3000, 7200), t - b.rng.randrange(600, 2400)
        truth: Optional[str] = None
        if kind == 0:
            b.ssh_logon(t1, first, host, f"10.9.{b.rng.randrange(256)}.{b.rng.randrange(2, 250)}")
            b.ssh_logon(t2, second, host, f"10.9.{b.rng.randrange(256)}.{b.rng.randrange(2, 250)}")
            note = f"{first} and {second} both logged in to {host} over SSH"
        elif kind == 1:
            b.logon(t1, first, host, src=f"10.9.8.{b.rng.randrange(2, 250)}", logon_type=10)
            b.logon(t2, second, host, src=f"10.9.8.{b.rng.randrange(2, 250)}", logon_type=10)
            note = f"{first} and {second} both on the terminal server {host} (Remote Desktop)"
        else:
            b.logon(t1, first, host)
            b.logon(t2, second, host)
            truth, note = second, f"{second} took over the desk {host} at its console after {first}"
        _call_through(b, t, ip, egress, truth, note, host if truth else None, 8)
    return b.scenario


def sc_agent_origin_reads(w: World, n: int) -> Scenario:
    b = Builder(w, "agent_origin_reads",
                "trap: a service agent acts for a call that changed the resource; a colleague who only opened it "
                "(a get) did not set the agent to work, and a masked change that names nobody may be the one it "
                "acted for")
    for i, t in enumerate(_times(w, n, 12.4)):
        user, viewer, stranger, project = w.user(), w.user(), w.user(), w.project()
        resource = f"projects/{project}/zones/europe-west1-b/instances/nb-{w.invocation_id()[:6]}"
        create = "google.cloud.notebooks.v1.NotebookService.CreateInstance"
        kind = i % 3
        truth: Optional[str] = None
        if kind == 0:
            # the change is masked and comes from an address nothing else was seen at
            b.gcp_activity(t - b.rng.randrange(20, 50), "", w.public_ip(), w.browser_ua()[0], project=project,
                           service="notebooks.googleapis.com", method=create, resource=resource, log="activity")
            note = f"{stranger}'s masked create names nobody; {viewer} only opened the notebook"
        elif kind == 1:
            b.gcp_activity(t - b.rng.randrange(20, 50), user + "@" + CORP, w.public_ip(), w.browser_ua()[0],
                           project=project, service="notebooks.googleapis.com", method=create, resource=resource,
                           log="activity")
            truth, note = user, f"{user} created the notebook; {viewer} only opened it"
        else:
            b.gcp_activity(t - b.rng.randrange(30, 50), user + "@" + CORP, w.public_ip(), w.browser_ua()[0],
                           project=project, service="notebooks.googleapis.com",
                           method="google.cloud.notebooks.v1.NotebookService.StartInstance", resource=resource,
                           log="activity")
            b.gcp_activity(t - b.rng.randrange(5, 25), "", w.public_ip(), w.browser_ua()[0], project=project,
                           service="notebooks.googleapis.com", method=create, resource=resource, log="activity")
            note = f"{user} started the notebook, and a masked change that names nobody came after"
        b.gcp_activity(t - b.rng.randrange(2, 15), viewer + "@" + CORP, w.office_egress(), w.browser_ua()[0],
                       project=project, service="notebooks.googleapis.com",
                       method="google.cloud.notebooks.v1.NotebookService.GetInstance", resource=resource,
                       log="data_access")
        agent = f"service-{w.project_numbers[project]}@gcp-sa-notebooks.iam.gserviceaccount.com"
        b.denied(t, truth, note, "private", "google-api-go-client/0.5 notebooks", project=project, denial=1,
                 auth={"principalEmail": agent}, resource=resource, via_activity=False)
    return b.scenario


TRAPS = [sc_weak_observation_alone, sc_edr_competitor, sc_one_connection_many_records, sc_explained_by_own_call,
         sc_nat_log_incomplete, sc_fingerprint_clock, sc_vpn_start_end, sc_fdr_aid, sc_fdr_logon_type,
         sc_explained_by_polling, sc_agent_origin_reads,
         sc_logon_clock_skew, sc_dhcp_released, sc_remote_sessions]
