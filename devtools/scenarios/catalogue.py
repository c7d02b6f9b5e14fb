"""The scenarios: each evidence chain, each trap, and realistic days mixing them, with labelled truth."""

from __future__ import annotations

import json
from typing import Dict, List, Optional, Tuple

from .builder import Builder
from .world import CORP, DENIALS, GOOGLE_API_IPS, OTHER_HOSTS, ZONES, Scenario, World, ipv6_forms

# --------------------------------------------------------------------------------------------------
# scenarios: every chain and every trap of the issue


def _times(w: World, n: int, start_hour: float, spacing: int = 900) -> List[float]:
    base = w.day0 + start_hour * 3600
    return [base + i * spacing + w.rng.randrange(0, spacing // 3) for i in range(n)]


def _home_worker(b: Builder, user: str, t: float) -> Tuple[str, str, str]:
    """A laptop at home: (public IP, device, local IP)."""
    return b.w.public_ip(), b.w.device()[0], f"192.168.1.{b.rng.randrange(2, 250)}"


def sc_vpn_direct(w: World, n: int) -> Scenario:
    b = Builder(w, "vpn_direct", "VPN session active at t with the call's public IP names the user")
    for t in _times(w, n, 7):
        user, ip = w.user(), w.public_ip()
        host, _ = w.device()
        start = t - b.rng.randrange(600, 4 * 3600)
        b.vpn(start, ip, f"10.250.{b.rng.randrange(256)}.{b.rng.randrange(2, 250)}", user, host,
              int(t - start) + b.rng.randrange(600, 4 * 3600))
        ua = b.rng.choice([w.gcloud_ua("gcloud.compute.instances.create"), w.browser_ua()])[0]
        for k in range(b.rng.randrange(1, 4)):  # retried
            b.denied(t + 20 * k, user, f"VPN session from {ip}", ip, ua)
        # another person's session from another address at the same time
        other_ip = w.public_ip()
        b.vpn(t - 1800, other_ip, f"10.250.9.{b.rng.randrange(2, 250)}", w.user(), w.device()[0], 7200)
    return b.scenario


def sc_idp_signin(w: World, n: int) -> Scenario:
    b = Builder(w, "idp_signin", "IdP sign-in from the call's IP within 5 minutes before names the user")
    for t in _times(w, n, 7.5):
        user, ip = w.user(), w.public_ip()
        b.idp(t - b.rng.randrange(20, 280), user, ip, w.browser_ua()[1])
        b.denied(t, user, f"IdP sign-in from {ip}", ip, w.gcloud_ua("gcloud.notebooks.instances.create")[0])
        if b.rng.random() < 0.5:  # hotel wifi: someone else signed in from there half an hour ago
            b.idp(t - b.rng.randrange(1500, 2400), w.user(), ip, w.browser_ua()[1])
    return b.scenario


def _office_user(b: Builder, t: float, user: str, lease_start: float, logon_at: float,
                 ip: Optional[str] = None) -> Tuple[str, str]:
    host, mac = b.w.device()
    ip = ip or b.w.internal_ip()
    b.dhcp(lease_start, ip, host, mac, 8 * 3600)
    b.logon(logon_at, user, host)
    return ip, host


def sc_nat_dhcp_logon(w: World, n: int) -> Scenario:
    b = Builder(w, "nat_dhcp_logon", "NAT log -> internal IP -> DHCP lease at t -> device -> logged-on user")
    egress = w.office_egress()
    for t in _times(w, n, 8):
        user = w.user()
        ip, host = _office_user(b, t, user, t - b.rng.randrange(3600, 4 * 3600), t - b.rng.randrange(300, 3000))
        ua = b.rng.choice([w.gcloud_ua("gcloud.compute.instances.create"), w.sdk_ua()])[0]
        for k in range(b.rng.randrange(1, 3)):
            tk = t + 40 * k
            b.nat(tk + b.rng.choice([-1, 0, 0, 1]), ip, egress, b.rng.choice(GOOGLE_API_IPS))
            b.denied(tk, user, f"NAT {egress} -> {ip}, lease {host}, logon", egress, ua, host=host)
        # colleagues behind the same egress, well away from t
        for _ in range(3):
            other = w.user()
            oip, _h = _office_user(b, t, other, t - 3 * 3600, t - 2 * 3600)
            for _k in range(2):
                b.nat(t + b.rng.choice([-1, 1]) * b.rng.randrange(90, 280), oip, egress,
                      b.rng.choice([*GOOGLE_API_IPS, "52.96.1.1", "13.107.6.152"]))
    return b.scenario


def sc_edr_aip(w: World, n: int) -> Scenario:
    b = Builder(w, "edr_aip",
                "CrowdStrike aip = the call's home address near t, the device looking up the call's API host, "
                "names the user (or the device, then logon); a record about no API host says nothing")
    for i, t in enumerate(_times(w, n, 9)):
        user = w.user()
        ip, host, local = _home_worker(b, user, t)
        ua = w.gcloud_ua("gcloud.compute.instances.create")[0]
        denial = 1
        truth: Optional[str] = user
        if i % 3 == 0:
            b.edr(t + b.rng.randrange(-20, 20), "DnsRequest", ip, local, host, user=user, domain=DENIALS[denial][0])
        elif i % 3 == 1:
            b.logon(t - b.rng.randrange(1800, 3 * 3600), user, host)
            at = t + b.rng.randrange(-20, 20)
            b.edr(at, "DnsRequest", ip, local, host, domain=DENIALS[denial][0])
            b.edr(at + 1, "NetworkConnectIP4", ip, local, host, remote=b.rng.choice(GOOGLE_API_IPS))
        else:
            b.edr(t + b.rng.randrange(-20, 20), "ProcessRollup2", ip, local, host, user=user)
            truth = None
        note = f"EDR aip {ip} on {host}" + ("" if truth else ": no record about the API host")
        b.denied(t, truth, note, ip, ua, host=host, denial=denial)
    return b.scenario


def sc_proxy_fingerprint(w: World, n: int) -> Scenario:
    b = Builder(w, "proxy_fingerprint",
                "proxy record at t for the event's googleapis host carrying the call's gcloud invocation-id "
                "names the user; a shared agent (browser, SDK) picks nobody, not even among the people the NAT "
                "log puts behind the caller's address")
    egress = w.office_egress()
    for i, t in enumerate(_times(w, n, 9.5)):
        user = w.user()
        ip, _host = _office_user(b, t, user, t - 3 * 3600, t - 2 * 3600)
        unique = i % 3 != 2
        ua_log, ua_sent = (w.gcloud_ua("gcloud.notebooks.instances.create") if unique
                           else b.rng.choice([w.browser_ua(), w.sdk_ua()]))
        denial = b.rng.randrange(len(DENIALS))
        service = DENIALS[denial][0]
        project = w.project()
        for k in range(b.rng.randrange(1, 4)):
            tk = t + 30 * k
            b.proxy(tk + b.rng.choice([0, 0, 1]), ip, user, service, ua_sent, f"/v1/projects/{project}", 403)
            if not unique:
                # A shared agent says little alone: the NAT log ties the caller's address to this laptop
                # and a colleague's in the same second, and the fingerprint picks between them.
                c = w.user()
                cip, _h = _office_user(b, t, c, t - 3 * 3600, t - 2 * 3600)
                b.nat(tk, ip, egress, GOOGLE_API_IPS[3])
                b.nat(tk, cip, egress, GOOGLE_API_IPS[3])
                b.proxy(tk, cip, c, b.rng.choice(OTHER_HOSTS), w.browser_ua()[1])
            b.denied(tk, user if unique else None,
                     f"proxy {ip} {service} agent match ({'gcloud' if unique else 'shared agent + NAT: cannot tell'})",
                     egress, ua_log, project=project, denial=denial)
            # colleagues at the same second: other hosts, and the same host with another agent
            for _ in range(2):
                o = w.user()
                oip, _h = _office_user(b, t, o, t - 3 * 3600, t - 2 * 3600)
                b.proxy(tk, oip, o, b.rng.choice(OTHER_HOSTS), w.browser_ua()[1])
            o = w.user()
            oip, _h = _office_user(b, t, o, t - 3 * 3600, t - 2 * 3600)
            b.proxy(tk, oip, o, service, w.gcloud_ua("gcloud.config.list")[1], "/v1/projects/other", 200)
            # and their allowed GCP calls from the same egress with their own agents
            other_ua = ua_log
            while other_ua == ua_log:
                other_ua = w.browser_ua()[0]
            b.gcp_activity(tk - 5, o + "@" + CORP, egress, other_ua)
    return b.scenario


def sc_gcp_selfjoin_invocation(w: World, n: int) -> Scenario:
    b = Builder(w, "gcp_selfjoin_invocation", "unmasked entry with the same gcloud invocation-id names the user")
    for t in _times(w, n, 10):
        user, ip = w.user(), w.public_ip()
        ua = w.gcloud_ua("gcloud.compute.instances.create")[0]
        project = w.project()
        off = b.rng.choice([-4, -2, -1, 2])
        b.gcp_activity(t + off, user + "@" + CORP, ip, ua, project=project, service="compute.googleapis.com",
                       method="v1.compute.images.getFromFamily", resource="projects/debian-cloud/global/images",
                       log="data_access")
        b.denied(t, user, "same invocation-id", ip, ua, project=project, denial=1)
    return b.scenario


def sc_gcp_selfjoin_ipua(w: World, n: int) -> Scenario:
    b = Builder(w, "gcp_selfjoin_ipua",
                "an unmasked entry from the same address and agent shortly before names the user where only they "
                "use that address; at an office egress where colleagues call too it picks nobody")
    for i, t in enumerate(_times(w, n, 10.5)):
        user = w.user()
        ua = w.browser_ua()[0]
        project = w.project()
        other_ua = ua
        while other_ua == ua:
            other_ua = w.browser_ua()[0]
        if i % 2:
            address = w.public_ip()
            b.gcp_activity(t - b.rng.randrange(10, 120), user + "@" + CORP, address, ua, project=project)
            b.gcp_activity(t - b.rng.randrange(5, 60), w.user() + "@" + CORP, w.public_ip(), other_ua)
            b.denied(t, user, "same home address + agent", address, ua, project=project, denial=0)
        else:
            address = w.office_egress()
            b.gcp_activity(t - b.rng.randrange(10, 120), user + "@" + CORP, address, ua, project=project)
            b.gcp_activity(t - b.rng.randrange(5, 60), w.user() + "@" + CORP, address, other_ua)
            b.denied(t, None, "same office egress + agent, a colleague there too: cannot tell", address, ua,
                     project=project, denial=0)
    return b.scenario


def sc_service_agent(w: World, n: int) -> Scenario:
    b = Builder(w, "service_agent",
                "service agent with callerIp=private -> the originating call on the same project and resource")
    for i, t in enumerate(_times(w, n, 11)):
        user, project = w.user(), w.project()
        zone = b.rng.choice(ZONES)
        name = f"nb-{w.invocation_id()[:6]}"
        resource = f"projects/{project}/zones/{zone}/instances/{name}"
        ip = w.public_ip()
        ua = w.browser_ua()[0]
        if i % 3 == 2:
            # the originating call is masked too, but its address leads to the user through VPN
            b.vpn(t - 3600, ip, f"10.251.{b.rng.randrange(256)}.{b.rng.randrange(2, 250)}", user,
                  w.device()[0], 5 * 3600)
            auth_email = ""
        else:
            auth_email = user + "@" + CORP
        b.gcp_activity(t - b.rng.randrange(2, 8), auth_email, ip, ua, project=project,
                       service="notebooks.googleapis.com",
                       method="google.cloud.notebooks.v1.NotebookService.CreateInstance", resource=resource,
                       log="activity")
        # a colleague creating another instance in the same project at the same moment
        other = w.user()
        b.gcp_activity(t - b.rng.randrange(1, 6), other + "@" + CORP, w.public_ip(), w.browser_ua()[0],
                       project=project, service="notebooks.googleapis.com",
                       method="google.cloud.notebooks.v1.NotebookService.CreateInstance",
                       resource=f"projects/{project}/zones/{zone}/instances/nb-other{i}", log="activity")
        agent = f"service-{w.project_numbers[project]}@gcp-sa-notebooks.iam.gserviceaccount.com"
        b.denied(t, user, f"service agent on {resource}", "private", "google-api-go-client/0.5 notebooks",
                 project=project, denial=1, auth={"principalEmail": agent,
                                                 "serviceAccountDelegationInfo": [
                                                     {"firstPartyPrincipal": {"principalEmail": agent}}]},
                 resource=resource, via_activity=False)
    return b.scenario


# ---- traps -------------------------------------------------------------------------------------


def sc_dhcp_reassigned(w: World, n: int) -> Scenario:
    b = Builder(w, "dhcp_reassigned",
                "trap: the internal IP belonged to another laptop until minutes before t; only the lease "
                "active at t counts (and none when no lease covers t)")
    egress = w.office_egress()
    for i, t in enumerate(_times(w, n, 12)):
        ip = w.internal_ip()
        alice, bob = w.user(), w.user()
        host_a, mac_a = w.device()
        host_b, mac_b = w.device()
        a_start = t - 3 * 3600
        a_end = t - b.rng.randrange(180, 480)
        b.dhcp(a_start, ip, host_a, mac_a, int(a_end - a_start))
        b.logon(a_start + 60, alice, host_a)
        ua = w.gcloud_ua("gcloud.compute.instances.create")[0]
        b.nat(t, ip, egress, b.rng.choice(GOOGLE_API_IPS))
        if i % 4 == 3:
            b.dhcp(t + b.rng.randrange(120, 300), ip, host_b, mac_b, 8 * 3600)  # begins after t
            b.logon(t - 3600, bob, host_b)
            b.denied(t, None, f"no lease of {ip} active at t (ended before, next began after)", egress, ua)
        else:
            b.dhcp(a_end + b.rng.randrange(30, 100), ip, host_b, mac_b, 8 * 3600)
            b.logon(t - b.rng.randrange(1800, 7200), bob, host_b)
            b.denied(t, bob, f"lease of {ip} moved from {host_a} to {host_b} before t", egress, ua, host=host_b)
    return b.scenario


def sc_home_ip_yesterday(w: World, n: int) -> Scenario:
    b = Builder(w, "home_ip_yesterday",
                "trap: the public IP belonged to someone else yesterday; only today's session counts")
    for i, t in enumerate(_times(w, n, 12.5)):
        ip = w.public_ip()
        carol, dave = w.user(), w.user()
        y = t - 86400 - b.rng.randrange(3600, 4 * 3600)
        b.vpn(y, ip, f"10.252.1.{b.rng.randrange(2, 250)}", carol, w.device()[0], 8 * 3600)
        b.idp(y + 120, carol, ip, w.browser_ua()[1])
        b.edr(y + 400, "ProcessRollup2", ip, f"192.168.0.{b.rng.randrange(2, 250)}", w.device()[0], user=carol)
        ua = w.gcloud_ua("gcloud.compute.instances.create")[0]
        if i % 3 == 2:
            b.denied(t, None, f"only yesterday's owner of {ip} is known", ip, ua)
        else:
            start = t - b.rng.randrange(900, 3 * 3600)
            b.vpn(start, ip, f"10.252.2.{b.rng.randrange(2, 250)}", dave, w.device()[0], int(t - start) + 3600)
            b.denied(t, dave, f"today's VPN session from {ip}", ip, ua)
    return b.scenario


def sc_nat_same_second(w: World, n: int) -> Scenario:
    b = Builder(w, "nat_same_second",
                "trap: two users behind one NAT egress in the same second, no fingerprint: cannot tell")
    egress = w.office_egress()
    for t in _times(w, n, 13):
        u1, u2 = w.user(), w.user()
        ip1, _ = _office_user(b, t, u1, t - 2 * 3600, t - 3600)
        ip2, _ = _office_user(b, t, u2, t - 2 * 3600, t - 1800)
        dest = b.rng.choice(GOOGLE_API_IPS)
        b.nat(t, ip1, egress, dest)
        b.nat(t, ip2, egress, dest)
        b.denied(t, None, f"{u1} and {u2} both behind {egress} at t", egress,
                 w.sdk_ua()[0])
    return b.scenario


def sc_shared_device(w: World, n: int) -> Scenario:
    b = Builder(w, "shared_device",
                "trap: several people log on to one device during the day; the last logon before t counts")
    per_device = 4
    for d in range(max(1, n // per_device)):
        egress = w.office_egress()  # one site per kiosk: no two kiosks share an egress second
        host, mac = w.device("KIOSK")
        ip = w.internal_ip()
        day_start = w.day0 + 7 * 3600 + d * 60
        b.dhcp(day_start - 600, ip, host, mac, 14 * 3600)
        b.dhcp(day_start - 600 + 7 * 3600, ip, host, mac, 14 * 3600)  # renewal at T1, half the lease
        people = [w.user() for _ in range(4)]
        logons = [day_start + k * 2.5 * 3600 for k in range(4)]
        for person, at in zip(people, logons):
            b.logon(at, person, host)
        for k in range(per_device):
            slot = k % 4
            lo = logons[slot] + 300
            hi = (logons[slot + 1] if slot + 1 < 4 else logons[slot] + 3 * 3600) - 600
            t = lo + b.rng.randrange(int(hi - lo))
            ua = w.gcloud_ua("gcloud.compute.instances.create")[0]
            b.nat(t + b.rng.choice([-1, 0, 1]), ip, egress, b.rng.choice(GOOGLE_API_IPS))
            b.denied(t, people[slot], f"{people[slot]} on shared {host} (logon {slot + 1} of 4)",
                     egress, ua, host=host)
    return b.scenario


def sc_clock_skew(w: World, n: int) -> Scenario:
    b = Builder(w, "clock_skew", "endpoint clocks off by up to 60 s: EDR and logon records still match")
    skews = [-60, 60, -45, 45, -30, 30, -15, 15, -55, 55]
    for i, t in enumerate(_times(w, n, 14)):
        user = w.user()
        ip, host, local = _home_worker(b, user, t)
        skew = skews[i % len(skews)]
        if i % 2 == 0:
            b.edr(t + skew, "DnsRequest", ip, local, host, user=user, domain="compute.googleapis.com")
        else:
            b.logon(t - 3600 + skew, user, host)
            b.edr(t + skew, "DnsRequest", ip, local, host, domain="compute.googleapis.com")
        b.denied(t, user, f"EDR clock {skew:+d} s", ip, w.gcloud_ua("gcloud.compute.instances.create")[0],
                 denial=1)
    return b.scenario


def sc_ipv6_forms(w: World, n: int) -> Scenario:
    b = Builder(w, "ipv6_forms", "the same IPv6 address written compressed/expanded/upper/leading zeros")
    for i, t in enumerate(_times(w, n, 14.5)):
        user = w.user()
        ip = w.public_ipv6()
        forms = ipv6_forms(ip)
        ev_form, call_form = forms[(i + 1) % len(forms)], forms[i % 2 * 3]
        if ev_form == call_form:
            ev_form = forms[2]
        kind = i % 3
        if kind == 0:
            start = t - 1800
            b.vpn(start, ev_form, f"10.253.0.{b.rng.randrange(2, 250)}", user, w.device()[0], 4 * 3600)
        elif kind == 1:
            b.idp(t - 100, user, ev_form, w.browser_ua()[1])
        else:
            b.edr(t + 5, "DnsRequest", ev_form, f"192.168.7.{b.rng.randrange(2, 250)}", w.device()[0],
                  user=user, domain="notebooks.googleapis.com")
        b.denied(t, user, f"IPv6 {call_form} vs {ev_form}", call_form,
                 w.gcloud_ua("gcloud.notebooks.instances.create")[0], denial=0)
    return b.scenario


def sc_unknown_external_ip(w: World, n: int) -> Scenario:
    b = Builder(w, "unknown_external_ip", "trap: a public IP no evidence mentions: cannot tell")
    for t in _times(w, n, 15):
        b.denied(t, None, "no evidence for this address", w.public_ip(), w.sdk_ua()[0])
    return b.scenario


def sc_gce_internal_ip(w: World, n: int) -> Scenario:
    b = Builder(w, "gce_internal_ip",
                "trap: callerIp gce-internal-ip (no address); same 'IP' + agent from another principal "
                "means nothing: cannot tell")
    for t in _times(w, n, 15.5):
        ua = w.sdk_ua()[0]
        b.gcp_activity(t - b.rng.randrange(5, 60), w.user() + "@" + CORP, "gce-internal-ip", ua)
        b.denied(t, None, "gce-internal-ip", "gce-internal-ip", ua)
    return b.scenario


def sc_cloud_shell(w: World, n: int) -> Scenario:
    b = Builder(w, "cloud_shell",
                "Cloud Shell: Google IP and environment/devshell; only the same gcloud invocation names "
                "someone, another user's earlier call from that IP does not")
    for i, t in enumerate(_times(w, n, 16)):
        ip = w.google_ip()
        ua = w.gcloud_ua("gcloud.compute.instances.create", devshell=True)[0]
        b.gcp_activity(t - b.rng.randrange(3600, 7200), w.user() + "@" + CORP, ip,
                       w.gcloud_ua("gcloud.projects.list", devshell=True)[0])
        if i % 3 == 2:
            user = w.user()
            project = w.project()
            b.gcp_activity(t - 2, user + "@" + CORP, ip, ua, project=project, service="compute.googleapis.com",
                           method="v1.compute.zones.get", resource=f"projects/{project}/zones/us-central1-a",
                           log="data_access")
            b.denied(t, user, "Cloud Shell, same invocation-id", ip, ua, project=project, denial=1)
        else:
            b.denied(t, None, f"Cloud Shell {ip}, nothing else", ip, ua)
    return b.scenario


def sc_unmasked(w: World, n: int) -> Scenario:
    b = Builder(w, "unmasked", "the principal is visible: not_masked with that principal, whatever else")
    for i, t in enumerate(_times(w, n, 16.5)):
        user, ip = w.user(), w.public_ip()
        if i % 2:
            b.vpn(t - 600, ip, f"10.254.0.{b.rng.randrange(2, 250)}", w.user(), w.device()[0], 3600)
        b.denied(t, user, "visible principal", ip, w.browser_ua()[0], principal=user + "@" + CORP)
    return b.scenario


# ---- harder cases: realistic days, shared addresses seen by every source ------------------------


def sc_long_workday(w: World, n: int) -> Scenario:
    b = Builder(w, "long_workday",
                "NAT -> DHCP -> logon where the logon was in the morning (5-9 h before t), the lease renewed "
                "at T1 as servers log it; half the people unlocked their screen later (logon type 7)")
    # every call in an afternoon (13:00-18:00) of the same day, whatever n is
    for i, t in enumerate(_times(w, n, 13.0, spacing=max(30, 5 * 3600 // max(n, 1)))):
        egress = w.office_egress()
        user = w.user()
        host, mac = w.device()
        ip = w.internal_ip()
        morning = w.day0 + 8 * 3600 + b.rng.randrange(0, 1800)
        lease = 8 * 3600
        renew = morning - 300
        while renew < t:
            b.dhcp(renew, ip, host, mac, lease)
            renew += lease // 2
        b.logon(morning, user, host)
        if i % 2:
            b.logon(t - b.rng.randrange(1800, 3 * 3600), user, host, logon_type=7)
        ua = w.gcloud_ua("gcloud.compute.instances.create")[0]
        b.nat(t + b.rng.choice([-1, 0, 1]), ip, egress, b.rng.choice(GOOGLE_API_IPS))
        b.denied(t, user, f"{user} logged on to {host} at 08:xx, {(t - morning) / 3600:.1f} h before", egress, ua,
                 host=host)
        for _ in range(2):
            other = w.user()
            oip, _h = _office_user(b, t, other, t - 3 * 3600, t - 2 * 3600)
            b.nat(t + b.rng.choice([-1, 1]) * b.rng.randrange(90, 280), oip, egress, b.rng.choice(GOOGLE_API_IPS))
    return b.scenario


def sc_vpn_full_tunnel(w: World, n: int) -> Scenario:
    b = Builder(w, "vpn_full_tunnel",
                "full-tunnel VPN: the call leaves through the office NAT; NAT src_ip is the VPN-assigned "
                "address, and the VPN session active at t maps it to the user")
    egress = w.office_egress()
    for t in _times(w, n, 7.25):
        user, home = w.user(), w.public_ip()
        assigned = f"10.250.{b.rng.randrange(100, 200)}.{b.rng.randrange(2, 250)}"
        start = t - b.rng.randrange(600, 3 * 3600)
        b.vpn(start, home, assigned, user, w.device()[0], int(t - start) + b.rng.randrange(600, 3600))
        b.nat(t + b.rng.choice([-1, 0, 1]), assigned, egress, b.rng.choice(GOOGLE_API_IPS))
        b.denied(t, user, f"NAT {egress} <- {assigned} = VPN session of {user}", egress,
                 w.gcloud_ua("gcloud.compute.instances.create")[0])
        other, ohome = w.user(), w.public_ip()
        oassigned = f"10.250.{b.rng.randrange(200, 250)}.{b.rng.randrange(2, 250)}"
        b.vpn(t - 3600, ohome, oassigned, other, w.device()[0], 7200)
        b.nat(t + b.rng.choice([-1, 1]) * b.rng.randrange(90, 280), oassigned, egress, b.rng.choice(GOOGLE_API_IPS))
    return b.scenario


def sc_edr_shared_egress(w: World, n: int) -> Scenario:
    b = Builder(w, "edr_shared_egress",
                "trap: office laptops all report the office egress as CrowdStrike aip; several within "
                "seconds of t say nothing, and one that resolved the event's Google API host is a candidate, "
                "never the answer by itself")
    for i, t in enumerate(_times(w, n, 8.25)):
        egress = w.office_egress()
        people = [w.user() for _ in range(3)]
        hosts = [w.device()[0] for _ in people]
        for person, host in zip(people, hosts):
            b.edr(t + b.rng.randrange(-20, 20), b.rng.choice(["ProcessRollup2", "NetworkConnectIP4"]), egress,
                  f"10.30.{b.rng.randrange(256)}.{b.rng.randrange(2, 250)}", host, user=person)
        denial = 1
        if i % 3 == 2:
            b.edr(t - 1, "DnsRequest", egress, f"10.30.9.{b.rng.randrange(2, 250)}", hosts[1], user=people[1],
                  domain=DENIALS[denial][0])
            truth: Optional[str] = None
            note = f"{people[1]} resolved {DENIALS[denial][0]} at t behind the shared egress: a candidate only"
        else:
            truth, note = None, f"{', '.join(people)} all behind {egress}"
        b.denied(t, truth, note, egress, w.sdk_ua()[0], denial=denial)
    return b.scenario


def sc_idp_shared_egress(w: World, n: int) -> Scenario:
    b = Builder(w, "idp_shared_egress",
                "trap: several people sign in to the IdP from the office egress in the 5 minutes before t: "
                "cannot tell")
    for t in _times(w, n, 9.25):
        egress = w.office_egress()
        people = [w.user() for _ in range(3)]
        for person in people:
            b.idp(t - b.rng.randrange(15, 290), person, egress, w.browser_ua()[1])
        b.denied(t, None, f"{', '.join(people)} signed in from {egress}", egress,
                 w.gcloud_ua("gcloud.compute.instances.create")[0])
    return b.scenario


def sc_selfjoin_same_ua(w: World, n: int) -> Scenario:
    b = Builder(w, "selfjoin_same_ua",
                "trap: two people behind one egress use the same browser build; the same IP + agent "
                "self-join points at both: cannot tell")
    for t in _times(w, n, 10.25):
        egress = w.office_egress()
        ua = w.browser_ua()[0]
        u1, u2 = w.user(), w.user()
        b.gcp_activity(t - b.rng.randrange(10, 100), u1 + "@" + CORP, egress, ua)
        b.gcp_activity(t - b.rng.randrange(10, 100), u2 + "@" + CORP, egress, ua)
        b.denied(t, None, f"{u1} and {u2} share {egress} and agent", egress, ua, denial=0)
    return b.scenario


def sc_vpn_ended(w: World, n: int) -> Scenario:
    b = Builder(w, "vpn_ended",
                "trap: the only session from the call's IP ended minutes before t, or began after it")
    for i, t in enumerate(_times(w, n, 11.25)):
        user, ip = w.user(), w.public_ip()
        if i % 2:
            start = t - b.rng.randrange(3600, 3 * 3600)
            end = t - b.rng.randrange(120, 600)
            b.vpn(start, ip, f"10.248.0.{b.rng.randrange(2, 250)}", user, w.device()[0], int(end - start))
            note = f"{user}'s session from {ip} ended {int(t - end)} s before t"
        else:
            b.vpn(t + b.rng.randrange(60, 600), ip, f"10.248.1.{b.rng.randrange(2, 250)}", user, w.device()[0], 3600)
            note = f"{user}'s session from {ip} began after t"
        b.denied(t, None, note, ip, w.gcloud_ua("gcloud.compute.instances.create")[0])
    return b.scenario


def sc_proxy_no_agent(w: World, n: int) -> Scenario:
    b = Builder(w, "proxy_no_agent",
                "trap: a proxy that logs no user agent: the NAT log puts two laptops behind the caller's address "
                "at t and only one of them requested the event's Google API host through the proxy (another "
                "connection, anyone's): cannot tell; a third person outside that set is ruled out")
    for i, t in enumerate(_times(w, n, 12.25)):
        egress = w.office_egress()
        user, colleague = w.user(), w.user()
        ip, _host = _office_user(b, t, user, t - 3 * 3600, t - 2 * 3600)
        cip, _h = _office_user(b, t, colleague, t - 3 * 3600, t - 2 * 3600)
        b.nat(t, ip, egress, GOOGLE_API_IPS[5])
        b.nat(t, cip, egress, GOOGLE_API_IPS[5])
        denial = b.rng.randrange(len(DENIALS))
        service = DENIALS[denial][0]
        b.proxy(t + b.rng.choice([-1, 0, 1]), cip, colleague, b.rng.choice(OTHER_HOSTS), None)
        if i % 4 == 3:
            o = w.user()
            oip, _h = _office_user(b, t, o, t - 3 * 3600, t - 2 * 3600)
            b.proxy(t, oip, o, service, None, "/v1/projects/y", 200)
            truth: Optional[str] = None
            note = f"{user}/{colleague} behind {egress}; only {o} (not behind it) requested {service}"
        else:
            b.proxy(t, ip, user, service, None, "/v1/projects/x", 403)
            truth, note = None, f"{user}/{colleague} behind {egress}; only {user} requested {service} (no agent)"
        b.denied(t, truth, note, egress, w.gcloud_ua("gcloud.compute.instances.create")[0], denial=denial)
    return b.scenario


def sc_busy_office(w: World, n: int) -> Scenario:
    b = Builder(w, "busy_office",
                "a busy office: 25 laptops talk to Google through the egress within 2 s of t; the proxy "
                "fingerprint singles out the caller, and without it nobody can be named")
    for i, t in enumerate(_times(w, n, 8.75)):
        egress = w.office_egress()
        user = w.user()
        ip, _host = _office_user(b, t, user, t - 3 * 3600, t - 2 * 3600)
        b.nat(t, ip, egress, b.rng.choice(GOOGLE_API_IPS))
        for _ in range(24):
            o = w.user()
            oip, _h = _office_user(b, t, o, t - 3 * 3600, t - 2 * 3600)
            b.nat(t + b.rng.randrange(-2, 3), oip, egress, b.rng.choice(GOOGLE_API_IPS))
            b.proxy(t + b.rng.randrange(-2, 3), oip, o, b.rng.choice([*OTHER_HOSTS, "www.googleapis.com"]),
                    w.browser_ua()[1])
        ua_log, ua_sent = w.gcloud_ua("gcloud.compute.instances.create")
        if i % 4 == 3:
            truth: Optional[str] = None
            note = f"25 laptops behind {egress} at t, no fingerprint"
        else:
            b.proxy(t, ip, user, "compute.googleapis.com", ua_sent, "/compute/v1/projects/x/zones/z/instances", 403)
            truth, note = user, f"proxy fingerprint of {user} among 25 NAT flows"
        b.denied(t, truth, note, egress, ua_log, denial=1)
    return b.scenario


def sc_noninteractive_logons(w: World, n: int) -> Scenario:
    b = Builder(w, "noninteractive_logons",
                "after the user's console logon the device sees network, service, batch and machine-account "
                "logons and another person's failed logon: none of them replaces the user")
    egress = w.office_egress()
    for t in _times(w, n, 14.25):
        user, admin, intruder = w.user(), w.user(), w.user()
        host, mac = w.device()
        ip = w.internal_ip()
        b.dhcp(t - 3 * 3600, ip, host, mac, 8 * 3600)
        b.logon(t - b.rng.randrange(2 * 3600, 3 * 3600), user, host)
        b.logon(t - b.rng.randrange(600, 1800), admin, host, src="10.0.0.15", logon_type=3)
        b.logon(t - b.rng.randrange(300, 900), "SYSTEM", host, src="-", logon_type=5, domain="NT AUTHORITY")
        b.logon(t - b.rng.randrange(300, 900), "svc_backup", host, src="10.0.0.20", logon_type=4)
        b.logon(t - b.rng.randrange(120, 600), host + "$", host, src="10.0.0.1", logon_type=3)
        b.logon(t - b.rng.randrange(90, 300), intruder, host, logon_type=2, action="failure")
        b.nat(t + b.rng.choice([-1, 0, 1]), ip, egress, b.rng.choice(GOOGLE_API_IPS))
        b.denied(t, user, f"{user} at the console of {host}; later logons are not interactive or failed",
                 egress, w.gcloud_ua("gcloud.compute.instances.create")[0], host=host)
    return b.scenario


def sc_internal_caller_ip(w: World, n: int) -> Scenario:
    b = Builder(w, "internal_caller_ip",
                "calls over Interconnect / Private Google Access carry the laptop's internal address as "
                "callerIp: DHCP lease at t -> device -> logon, or the VPN-assigned address -> session")
    for i, t in enumerate(_times(w, n, 15.25)):
        user = w.user()
        if i % 2:
            ip, _host = _office_user(b, t, user, t - b.rng.randrange(3600, 3 * 3600), t - b.rng.randrange(600, 3000))
            # the address's previous holder, gone before t
            prev, (ph, pm) = w.user(), w.device()
            b.dhcp(t - 6 * 3600, ip, ph, pm, 6 * 3600 - 4000)
            b.logon(t - 6 * 3600 + 60, prev, ph)
            note = f"callerIp {ip} leased to {user}'s laptop"
        else:
            ip = f"10.247.{b.rng.randrange(256)}.{b.rng.randrange(2, 250)}"
            b.vpn(t - b.rng.randrange(600, 3 * 3600), w.public_ip(), ip, user, w.device()[0], 4 * 3600)
            note = f"callerIp {ip} assigned to {user}'s VPN session"
        b.denied(t, user, note, ip, w.gcloud_ua("gcloud.compute.instances.create")[0])
    return b.scenario


def sc_proxy_coincidence(w: World, n: int) -> Scenario:
    b = Builder(w, "proxy_coincidence",
                "trap: someone at another site requests the same Google API host in the same second (no agent "
                "logged, or the same browser build); nothing ties that request to the call's address")
    site_egress = w.office_egress()
    for i, t in enumerate(_times(w, n, 16.25)):
        # the unrelated requester, behind a proxy at another site
        o = w.user()
        oip, _h = _office_user(b, t, o, t - 3 * 3600, t - 2 * 3600)
        denial = 1
        kind = i % 3
        if kind == 1:  # the call comes from a NAT egress where two other people were seen
            egress = site_egress
            u1, u2 = w.user(), w.user()
            ip1, _ = _office_user(b, t, u1, t - 2 * 3600, t - 3600)
            ip2, _ = _office_user(b, t, u2, t - 2 * 3600, t - 1800)
            b.nat(t, ip1, egress, GOOGLE_API_IPS[0])
            b.nat(t, ip2, egress, GOOGLE_API_IPS[0])
            caller, ua_log = egress, w.sdk_ua()[0]
            note = f"{u1}/{u2} behind {egress}; {o}'s unrelated proxy request (no agent)"
            b.proxy(t + b.rng.choice([-1, 0, 1]), oip, o, DENIALS[denial][0], None, "/compute/v1/x", 200)
        elif kind == 0:  # a home address nobody's evidence mentions
            caller, ua_log = w.public_ip(), w.sdk_ua()[0]
            note = f"unknown address; {o}'s unrelated proxy request (no agent)"
            b.proxy(t + b.rng.choice([-1, 0, 1]), oip, o, DENIALS[denial][0], None, "/compute/v1/x", 200)
        else:  # the same browser build at another site
            caller = w.public_ip()
            ua_log, ua_sent = w.browser_ua()
            note = f"unknown address; {o}'s unrelated proxy request with the same browser build"
            b.proxy(t + b.rng.choice([-1, 0, 1]), oip, o, DENIALS[denial][0], ua_sent, "/compute/v1/x", 200)
        b.denied(t, None, note, caller, ua_log, denial=denial)
    return b.scenario


def sc_parallel_callers(w: World, n: int) -> Scenario:
    b = Builder(w, "parallel_callers",
                "a workshop: two people behind one egress are denied in the same second; each gcloud run's "
                "proxy record (its own invocation-id) names its own caller, while two identical browser "
                "builds name nobody")
    for i, t in enumerate(_times(w, n, 17.0)):
        egress = w.office_egress()
        u1, u2 = w.user(), w.user()
        ip1, _ = _office_user(b, t, u1, t - 2 * 3600, t - 3600)
        ip2, _ = _office_user(b, t, u2, t - 2 * 3600, t - 1800)
        b.nat(t, ip1, egress, GOOGLE_API_IPS[7])
        b.nat(t, ip2, egress, GOOGLE_API_IPS[7])
        project = w.project()
        if i % 4 == 3:
            ua_log, ua_sent = w.browser_ua()
            for who, ip in ((u1, ip1), (u2, ip2)):
                b.proxy(t, ip, who, DENIALS[0][0], ua_sent, f"/v1/projects/{project}", 403)
            for _who in (u1, u2):
                b.denied(t, None, f"{u1} and {u2}, same second, same browser build", egress, ua_log,
                         project=project, denial=0)
        else:
            for who, ip in ((u1, ip1), (u2, ip2)):
                ua_log, ua_sent = w.gcloud_ua("gcloud.notebooks.instances.create")
                b.proxy(t, ip, who, DENIALS[0][0], ua_sent, f"/v1/projects/{project}", 403)
                b.denied(t, who, f"{who}'s own gcloud run (colleague denied in the same second)", egress, ua_log,
                         project=project, denial=0)
    return b.scenario


def sc_truncated_raw(w: World, n: int) -> Scenario:
    b = Builder(w, "truncated_raw",
                "a large request body pushes the entry past Splunk's TRUNCATE (10,000 bytes): _raw is cut "
                "mid-JSON, the extracted fields (with or without data.) still carry what the command needs")
    script = "#!/bin/bash\n" + "".join(f"echo 'provisioning step {k}' >> /var/log/setup.log\n" for k in range(400))
    for i, t in enumerate(_times(w, n, 17.5)):
        user, ip = w.user(), w.public_ip()
        start = t - b.rng.randrange(600, 3 * 3600)
        b.vpn(start, ip, f"10.246.{b.rng.randrange(256)}.{b.rng.randrange(2, 250)}", user, w.device()[0],
              int(t - start) + 3600)
        shape = ["wrapped+fields", "bare+fields", "wrapped+barefields"][i % 3]
        b.denied(t, user, f"VPN session from {ip}; _raw truncated at 10,000 bytes", ip,
                 w.gcloud_ua("gcloud.compute.instances.create")[0], denial=1, shape=shape, via_activity=False)
        row = b.scenario.rows[-1]
        doc = json.loads(str(row["_raw"]))
        entry = doc["data"] if "data" in doc else doc
        proto = entry["protoPayload"]
        rebuilt: Dict[str, object] = {}
        for key, value in proto.items():
            if key == "resourceName":
                rebuilt["request"] = {"@type": "type.googleapis.com/compute.instances.insert",
                                      "name": f"train-{i}", "machineType": "zones/us-central1-a/machineTypes/a2",
                                      "metadata": {"items": [{"key": "startup-script", "value": script}]}}
            rebuilt[key] = value
        entry["protoPayload"] = rebuilt
        row["_raw"] = json.dumps(doc)[:10000]
    return b.scenario


UNICODE_PEOPLE = ["josé.núñez", "zoë.müller", "łukasz.wróbel", "søren.kjær", "çağla.öztürk", "renée.lefèvre",
                  "ástríður.jónsdóttir", "miloš.đorđević", "françois.gagné", "anaïs.dupré"]


def sc_unicode_names(w: World, n: int) -> Scenario:
    b = Builder(w, "unicode_names",
                "people whose names are not ASCII, spelled in upper and lower case by different sources")
    egress = w.office_egress()
    for i, t in enumerate(_times(w, n, 18.0)):
        user = UNICODE_PEOPLE[i % len(UNICODE_PEOPLE)] + (str(i // len(UNICODE_PEOPLE) + 1) if i >= 10 else "")
        if i % 2:
            ip = w.public_ip()
            b.vpn(t - 1800, ip, f"10.245.0.{b.rng.randrange(2, 250)}", user, w.device()[0], 7200)
            caller = ip
        else:
            lip, _h = _office_user(b, t, user, t - 3 * 3600, t - 1800)
            b.nat(t, lip, egress, GOOGLE_API_IPS[9])
            caller = egress
        b.denied(t, user, f"{user}", caller, w.gcloud_ua("gcloud.compute.instances.create")[0])
    return b.scenario


CHAINS = [sc_vpn_direct, sc_idp_signin, sc_nat_dhcp_logon, sc_edr_aip, sc_proxy_fingerprint,
             sc_gcp_selfjoin_invocation, sc_gcp_selfjoin_ipua, sc_service_agent, sc_dhcp_reassigned,
             sc_home_ip_yesterday, sc_nat_same_second, sc_shared_device, sc_clock_skew, sc_ipv6_forms,
             sc_unknown_external_ip, sc_gce_internal_ip, sc_cloud_shell, sc_unmasked,
             sc_long_workday, sc_vpn_full_tunnel, sc_edr_shared_egress, sc_idp_shared_egress, sc_selfjoin_same_ua,
             sc_vpn_ended, sc_proxy_no_agent, sc_busy_office, sc_noninteractive_logons,
             sc_internal_caller_ip, sc_proxy_coincidence,
             sc_parallel_callers, sc_truncated_raw, sc_unicode_names]
