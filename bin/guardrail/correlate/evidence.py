"""Endpoint-side evidence: CIM events told apart by ``tag``, and CrowdStrike FDR events.

CIM field names such as ``src`` and ``dest`` mean different things in different data models;
the ``tag`` multivalue field says which model a row belongs to. FDR rows are recognised by
``event_simpleName`` and read in their own names. Each row becomes zero or more typed evidence
records (:mod:`guardrail.correlate.model`) keyed by normalised addresses, device and user names.
"""

from __future__ import annotations

import re
from sys import intern
from typing import Dict, FrozenSet, List, Mapping, Tuple, Union
from urllib.parse import urlsplit

from ..errors import RowError
from .model import Lease, Logon, Nat, ProxyHit, Session, Sighting, SignIn
from .netaddr import is_internal, normalize_ip

Evidence = Union[Lease, Session, Logon, SignIn, Nat, Sighting, ProxyHit]

KIND_DHCP = "dhcp"
KIND_DHCP_END = "dhcp end"  # tag=end (CIM Network_Sessions Session_End): the address given up
KIND_VPN = "vpn"
KIND_VPN_START = "vpn start"  # CIM Network_Sessions: tag=start, the session's first event
KIND_VPN_END = "vpn end"  # tag=end, its last (with the session's duration where the vendor logs it)
KIND_PROXY = "proxy"
KIND_NAT = "nat"
KIND_AUTH = "authentication"

_DHCP_FIELDS = ("sourcetype", "dest_ip", "dest_nt_host", "dest_host", "dest_mac", "lease_duration", "signature")
#: The fields each CIM kind reads (the fast row path copies only these out of a row).
FIELDS_BY_KIND: Dict[str, Tuple[str, ...]] = {
    KIND_DHCP: _DHCP_FIELDS,
    KIND_DHCP_END: _DHCP_FIELDS,
    KIND_VPN: ("sourcetype", "src_ip", "dest_ip", "user", "dest_nt_host", "duration"),
    KIND_VPN_START: ("sourcetype", "src_ip", "dest_ip", "user", "dest_nt_host", "duration"),
    KIND_VPN_END: ("sourcetype", "src_ip", "dest_ip", "user", "dest_nt_host", "duration"),
    KIND_PROXY: ("sourcetype", "src", "src_ip", "user", "dest", "url", "http_user_agent"),
    KIND_NAT: ("sourcetype", "src_ip", "src_translated_ip", "user", "dest_port"),
    KIND_AUTH: ("sourcetype", "user", "dest", "src", "app", "action", "http_user_agent", "logon_type", "Logon_Type"),
}
FDR_FIELDS: Tuple[str, ...] = (
    "event_simpleName",
    "sourcetype",
    "aid",
    "aip",
    "LocalAddressIP4",
    "ComputerName",
    "aid_computer_name",
    "UserName",
    "RemoteAddressIP4",
    "DomainName",
    "LogonType",
)

#: Names that are never a person (compared as :func:`user_key`).
NOT_PEOPLE = frozenset(
    {"", "-", "n/a", "na", "null", "none", "unknown", "system", "local service", "network service",
     "anonymous logon", "anonymous", "root", "guest"}
)
#: Destination ports a Google API call can use (HTTPS, gRPC over 443, plain HTTP): a translation to
#: any other port (DNS, NTP, SMB ...) is another connection, never the call's.
WEB_PORTS = frozenset({"", "443", "80", "8080"})
#: Windows logon types that are not a person sitting at (or remoting into) the device; a logon
#: with no type at all counts as interactive.
NON_INTERACTIVE_LOGON = frozenset({"3", "4", "5", "8", "9", "network", "batch", "service", "networkcleartext"})
#: DHCP ``signature`` words of a lease's end (the client released the address, or the server let it
#: expire, deleted it or refused it): from then the address is nobody's until the next lease.
DHCP_END_SIGNATURES = frozenset({"release", "released", "dhcprelease", "expire", "expired", "delete", "deleted",
                                 "decline", "declined", "dhcpdecline", "nack", "nak", "dhcpnak"})
#: Logon types of a session opened from another machine (Remote Desktop).
REMOTE_LOGON = frozenset({"10", "remoteinteractive"})
#: ``action`` values of an authentication that did not let anyone in.
FAILED_ACTIONS = frozenset({"failure", "failed", "fail", "denied", "blocked", "error"})
#: The domain of Google's API hosts: only requests and look-ups of these can fingerprint a GCP call.
GOOGLE_API_DOMAIN = "googleapis.com"
GOOGLE_API_SUFFIX = "." + GOOGLE_API_DOMAIN
#: The FDR event (``event_simpleName``, any case) that binds a user to a device like a logon.
FDR_LOGON_EVENT = "userlogon"
_OPEN_ENDED = float("inf")
_LONGEST = 366 * 86400.0  # a lease or session longer than a year is a broken field, not a duration


def user_key(name: str) -> str:
    """Comparison key of a user name: lower case, no ``DOMAIN\\`` prefix, no ``@domain`` suffix."""
    key = name.strip().lower()
    slash = key.rfind("\\")
    if slash >= 0:
        key = key[slash + 1 :]
    at = key.find("@")
    if at >= 0:
        key = key[:at]
    return key


def principal_key(name: str) -> str:
    """Comparison key of a named person or principal, as the output's ``identified_user_key``.

    :func:`user_key`, except that a Google service account or service agent (an address ending in
    ``.gserviceaccount.com``) keeps its full lower-cased address: its local part (``terraform-ci``,
    ``service-123``) is unique only within its project.
    """
    text = name.strip().lower()
    if text.endswith(".gserviceaccount.com"):
        return text
    return user_key(text)


def is_person(name: str) -> bool:
    """False for empty, placeholder, built-in and machine (``HOST$``) accounts."""
    if not name:
        return False
    key = user_key(name)
    return key not in NOT_PEOPLE and not key.endswith("$")


def host_key(name: str) -> str:
    """Comparison key of a device name: lower case, short name (``laptop-7.corp.example`` → ``laptop-7``)."""
    key = name.strip().lower()
    if not key or normalize_ip(key) is not None:
        return key
    return key.split(".", 1)[0]


def api_host(text: str) -> str:
    """Host part of a proxy ``dest`` / ``url`` / DNS name, lower case, without port or trailing dot."""
    value = text.strip().lower()
    if "://" in value:
        value = urlsplit(value).hostname or ""
    else:
        value = value.split("/", 1)[0]
        if value.count(":") == 1:
            value = value.split(":", 1)[0]
    return value.rstrip(".")


_REGIONAL = re.compile(r"^[a-z]+-[a-z]+\d+-(?=[a-z0-9-]+\.googleapis\.com$)")


def mentions_google_api(text: str) -> bool:
    """Whether a proxy ``dest`` / ``url`` can name a Google API host at all (any case).

    A cheap test before any parsing: every row :func:`parse_cim` keeps as a proxy hit passes it.
    """
    return GOOGLE_API_DOMAIN in text.lower()


def api_service(host: str) -> str:
    """The audit log ``serviceName`` a Google API host serves (regional endpoints lose the region)."""
    return _REGIONAL.sub("", host)


def parse_tags(value: Union[str, List[str]]) -> FrozenSet[str]:
    """Tag words of a ``tag`` field (a list, or Splunk's newline-joined multivalue text)."""
    if isinstance(value, list):
        return frozenset(w.lower() for item in value for w in item.split())
    return frozenset(value.lower().split())


def cim_kind(tags: FrozenSet[str]) -> str:
    """Which contract evidence type a tag set names, or ``""`` for tags the command does not use."""
    if "dhcp" in tags:
        return KIND_DHCP_END if "end" in tags and "start" not in tags else KIND_DHCP
    if "vpn" in tags:
        if "start" in tags and "end" not in tags:
            return KIND_VPN_START
        if "end" in tags and "start" not in tags:
            return KIND_VPN_END
        return KIND_VPN
    if "proxy" in tags and "web" in tags:
        return KIND_PROXY
    if "authentication" in tags:
        return KIND_AUTH
    if "communicate" in tags and "network" in tags:
        return KIND_NAT
    return ""


def _loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1"


def dhcp_end_signature(text: str) -> bool:
    """Whether a DHCP ``signature`` says a lease ended (``Release``, ``DHCPRELEASE``, ``Expired`` ...)."""
    words = re.findall(r"[a-z]+", text.lower())
    return any(word in DHCP_END_SIGNATURES for word in words)


def _duration(rec: Mapping[str, str], name: str) -> float:
    text = rec.get(name, "")
    if not text:
        return _OPEN_ENDED
    if not text.strip().replace(".", "", 1).isascii():
        raise RowError(f"{name} is not a number", rec.get("sourcetype", ""), name)
    try:
        seconds = float(text)
    except ValueError:
        raise RowError(f"{name} is not a number", rec.get("sourcetype", ""), name) from None
    if not 0 <= seconds <= _LONGEST:
        raise RowError(f"{name} is negative or longer than a year", rec.get("sourcetype", ""), name)
    return seconds


def _ip(rec: Mapping[str, str], *names: str) -> str:
    for name in names:
        text = rec.get(name, "")
        if text:
            return normalize_ip(text) or ""
    return ""


def parse_cim(kind: str, rec: Mapping[str, str], time: float) -> List[Evidence]:
    """Evidence records of one CIM row of the given kind (see :func:`cim_kind`).

    Names that recur across rows (source types, devices, people, MAC addresses) are interned:
    leases, sessions and logons wait for the lookback, and one copy of ``LAPTOP-0042`` serves
    them all.
    """
    source = intern(rec.get("sourcetype", "") or kind)
    get = rec.get
    if kind in (KIND_DHCP, KIND_DHCP_END):
        ip = _ip(rec, "dest_ip")
        host = get("dest_nt_host", "") or get("dest_host", "")
        if kind == KIND_DHCP_END or dhcp_end_signature(get("signature", "")):
            if not ip:
                raise RowError("DHCP lease end without dest_ip", source, "dest_ip")
            # the lease ends here: a lease of no length, the latest of its address until the next one
            return [Lease(time, time, ip, intern(host), intern(get("dest_mac", "")), source)]
        if not ip or not host:
            raise RowError("DHCP lease without dest_ip or dest_nt_host", source, "dest_ip")
        return [Lease(time, time + _duration(rec, "lease_duration"), ip, intern(host), intern(get("dest_mac", "")),
                      source)]
    if kind in (KIND_VPN, KIND_VPN_START, KIND_VPN_END):
        public = _ip(rec, "src_ip")
        user = get("user", "")
        if not public or not is_person(user):
            raise RowError("VPN session without src_ip or user", source, "src_ip")
        assigned = _ip(rec, "dest_ip")
        host = intern(get("dest_nt_host", ""))
        if kind == KIND_VPN_START:
            return [Session(time, _OPEN_ENDED, public, assigned, intern(user), host, source, "start")]
        if kind == KIND_VPN_END:
            # The end row's duration (CIM Network_Sessions) gives the start; without one the session
            # began at some time before, which the start row (when it is in the window) tells.
            length = _duration(rec, "duration")
            if length == _OPEN_ENDED:
                return [Session(-_OPEN_ENDED, time, public, assigned, intern(user), host, source, "end-open")]
            return [Session(time - length, time, public, assigned, intern(user), host, source, "end")]
        return [Session(time, time + _duration(rec, "duration"), public, assigned, intern(user), host, source)]
    if kind == KIND_PROXY:
        url = get("url", "")
        host = api_service(api_host(get("dest", "") or url))
        if not host.endswith(GOOGLE_API_SUFFIX):
            return []  # only requests to Google APIs can fingerprint a GCP call
        user = get("user", "")
        return [ProxyHit(time, user if is_person(user) else "", _ip(rec, "src", "src_ip"), host,
                         get("http_user_agent", "").strip(), url, source)]
    if kind == KIND_NAT:
        public = _ip(rec, "src_translated_ip")
        internal = _ip(rec, "src_ip")
        if not public or not internal:
            return []  # a connection without translation says nothing about a public caller
        if get("dest_port", "").strip() not in WEB_PORTS:
            return []  # DNS, NTP, SMB ...: not a connection a Google API call can have used
        user = get("user", "")
        return [Nat(time, public, internal, intern(user) if is_person(user) else "", source)]
    if kind == KIND_AUTH:
        action = get("action", "").lower()
        user = get("user", "")
        if action in FAILED_ACTIONS or not is_person(user):
            return []
        out: List[Evidence] = []
        src = _ip(rec, "src")
        if src and not is_internal(src):
            out.append(SignIn(time, user, src, get("http_user_agent", "").strip(), get("app", ""), source))
        dest = get("dest", "")
        logon_type = (get("logon_type", "") or get("Logon_Type", "")).strip().lower()
        if dest and logon_type not in NON_INTERACTIVE_LOGON and not (src and not is_internal(src)):
            # Remote Desktop, or a logon without a Windows type from another machine (an SSH login)
            remote = logon_type in REMOTE_LOGON or (not logon_type and bool(src) and not _loopback(src))
            out.append(Logon(time, intern(user), intern(dest), source, remote))
        return out
    return []


def parse_fdr(rec: Mapping[str, str], time: float) -> List[Evidence]:
    """Evidence records of one CrowdStrike FDR row (recognised by ``event_simpleName``)."""
    get = rec.get
    kind = get("event_simpleName", "")
    source = intern(get("sourcetype", "") or "crowdstrike:fdr")
    # DnsRequest and NetworkConnectIP4 carry only the sensor id (aid); the device name comes from the
    # aid_master lookup (aid_computer_name) or from another record of the same sensor.
    host = intern(get("ComputerName", "") or get("aid_computer_name", ""))
    aid = intern(get("aid", "").strip().lower())
    user = get("UserName", "")
    user = intern(user) if is_person(user) else ""
    logon = kind.lower() == FDR_LOGON_EVENT
    logon_type = get("LogonType", "").strip().lower()
    if logon and logon_type in NON_INTERACTIVE_LOGON:
        # a network, batch or service logon (an admin's share access, a scheduled task, a service
        # account) names an account that reached the device, not the person at it
        user, logon = "", False
    if not host and not user and not aid:
        raise RowError("FDR event without aid, ComputerName or UserName", source, "aid")
    aip = _ip(rec, "aip")
    local = _ip(rec, "LocalAddressIP4")
    domain = api_service(api_host(get("DomainName", "")))
    if not domain.endswith(GOOGLE_API_SUFFIX):
        domain = ""  # only look-ups of Google API hosts can fingerprint a GCP call
    remote = _ip(rec, "RemoteAddressIP4")
    out: List[Evidence] = [Sighting(time, host, user, aip, local, domain, intern(kind), source, aid, remote)]
    if user and host and logon:
        out.append(Logon(time, user, host, source, logon_type in REMOTE_LOGON))
    return out
