"""Address normalisation: compare addresses as addresses, not as text.

Sources write the same IPv6 address compressed, fully expanded, in upper case or with leading
zeros, and some write IPv4 with leading zeros or as an IPv4-mapped IPv6 address. Everything is
reduced to one canonical text form (``ipaddress``'s compressed form, IPv4-mapped unwrapped, zone
and port removed) so that evidence can be indexed by plain dictionary keys.

"Internal" follows the correlation contract's list exactly. ``ipaddress``'s ``is_private`` /
``is_global`` are deliberately not used: they treat documentation and other reserved ranges as
non-global, while the contract counts every address outside the list as public.

Only ASCII text is an address. ``str.isdigit`` and ``int`` read other scripts' digits (``١٠``,
fullwidth ``１０``) as numbers, so without that rule ``١٠.0.0.1`` would become ``10.0.0.1`` and match
evidence it has nothing to do with.
"""

from __future__ import annotations

import ipaddress
from typing import Dict, Optional, Tuple, Union

_Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

INTERNAL_NETWORKS: Tuple[_Network, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)

_INTERNAL_V4: Tuple[Tuple[int, int], ...] = tuple(
    (int(net.network_address), int(net.netmask)) for net in INTERNAL_NETWORKS if net.version == 4
)

# Words GCP writes in requestMetadata.callerIp when there is no address at all.
NO_ADDRESS_WORDS = frozenset({"private", "gce-internal-ip"})

# Bounded memo: the same few thousand addresses recur on every row of a stream.
_CACHE: Dict[str, Optional[str]] = {}
_CACHE_LIMIT = 200_000


def _parse(text: str) -> Optional[_Address]:
    if not text.isascii():
        return None
    value = text.strip()
    if not value:
        return None
    if value.startswith("["):  # [v6]:port
        end = value.find("]")
        if end < 0:
            return None
        value = value[1:end]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    zone = value.find("%")
    if zone >= 0:
        value = value[:zone]
    if "." in value and ":" not in value:
        parts = value.split(".")
        if len(parts) != 4 or not all(p.isdigit() and len(p) <= 4 for p in parts):
            return None
        value = ".".join(str(int(p)) for p in parts)  # leading zeros are decimal, not octal
        return ipaddress.IPv4Address(value) if all(int(p) < 256 for p in parts) else None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalize_ip(text: str) -> Optional[str]:
    """Return the canonical text form of an IPv4/IPv6 address, or None if ``text`` is not one."""
    try:
        return _CACHE[text]
    except KeyError:
        pass
    address = _parse(text)
    result = None if address is None else str(address)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[text] = result
    return result


_INTERNAL_CACHE: Dict[str, bool] = {}


def is_internal(canonical: str) -> bool:
    """True when a canonical address (from :func:`normalize_ip`) lies in the contract's internal ranges."""
    try:
        return _INTERNAL_CACHE[canonical]
    except KeyError:
        pass
    if ":" in canonical:
        address = ipaddress.ip_address(canonical)
        result = any(address in net for net in INTERNAL_NETWORKS if net.version == 6)
    else:
        a, b, c, d = (int(p) for p in canonical.split("."))
        value = (a << 24) | (b << 16) | (c << 8) | d
        result = any(value & mask == base for base, mask in _INTERNAL_V4)
    if len(_INTERNAL_CACHE) >= _CACHE_LIMIT:
        _INTERNAL_CACHE.clear()
    _INTERNAL_CACHE[canonical] = result
    return result


def is_public(canonical: str) -> bool:
    """True for every address outside the internal ranges (documentation ranges included)."""
    return not is_internal(canonical)
