"""Which addresses the action may connect to: public unicast ones, and any an admin listed by hand.

A webhook or proxy host that resolves to this machine, the link-local cloud metadata service
(169.254.169.254) or the internal network would turn the alert action into a way to reach them with
the webhook's secret attached. Every address the action would connect to (the webhook's, or the
proxy's) is classified here, by one fixed table so Python 3.9 and 3.13 agree (``ipaddress``'s own
``is_private``/``is_global`` changed between them). An address in ``param.allowed_addresses`` is
allowed whatever its class: that is the escape hatch for an internal SOAR endpoint or proxy.

IPv4 addresses embedded in IPv6 (mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``) are judged, and matched against the allowlist, as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, List, Optional, Tuple, Union

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def _nets(*texts: str) -> Tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t) for t in texts)


# Checked in order: the first class whose networks contain the address names it.
REFUSED_CLASSES: Tuple[Tuple[str, Tuple[Network, ...]], ...] = (
    ("unspecified", _nets("0.0.0.0/8", "::/128")),
    ("loopback", _nets("127.0.0.0/8", "::1/128")),
    ("link-local", _nets("169.254.0.0/16", "fe80::/10")),
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")),
    ("shared (carrier-grade NAT)", _nets("100.64.0.0/10")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    ("reserved", _nets(
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "240.0.0.0/4",
        "::/96", "100::/64", "2001::/23", "2001:db8::/32", "64:ff9b:1::/48",
    )),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def canonical(address: Address) -> Address:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def parse_address(text: str) -> Address:
    """An address as ``getaddrinfo`` returns it (an IPv6 scope such as ``%eth0`` is dropped)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def refused_class(address: Address) -> Optional[str]:
    """The class that makes ``address`` refused by default, or None for a public unicast address."""
    judged = canonical(address)
    for name, networks in REFUSED_CLASSES:
        if any(judged in net for net in networks if net.version == judged.version):
            return name
    return None


def parse_allowed_addresses(raw: str) -> Tuple[str, ...]:
    """Parse ``allowed_addresses``: comma-separated single IP addresses (no networks, no names).

    Raises ``ValueError`` naming the entry that is not an address.
    """
    found: List[str] = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            address = ipaddress.ip_address(entry)
        except ValueError:
            reason = "a network: list single addresses" if "/" in entry else "not an IP address"
            raise ValueError(f"{entry!r} is {reason}") from None
        found.append(str(canonical(address)))
    return tuple(dict.fromkeys(found))


def screen(candidates: Iterable[str], allowed: Tuple[str, ...]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Split resolved addresses into those the action may connect to and those it refuses.

    Returns ``(kept, refused)``; each refused entry reads ``"<address> <class>"`` for the log.
    """
    kept: List[str] = []
    refused: List[str] = []
    for text in candidates:
        try:
            address = parse_address(text)
        except ValueError:
            refused.append(f"{text} unreadable")
            continue
        judged = canonical(address)
        name = refused_class(address)
        if name is None or str(judged) in allowed:
            kept.append(text)
        else:
            refused.append(f"{address} {name}")
    return tuple(dict.fromkeys(kept)), tuple(dict.fromkeys(refused))
