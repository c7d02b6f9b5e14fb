"""Static evidence filters: the search terms the evidence macros carry, and their Python mirrors.

Each filter is written from the engine's own constants (``guardrail.correlate.evidence``,
``guardrail.correlate.netaddr``): the Google API domain, the failed authentication actions, the
non-interactive logon types, the internal address ranges, the FDR logon event. ``render_*`` gives
the SPL text :mod:`devtools.narrow.generate` writes into ``default/macros.conf``; the predicate of
the same name answers what that text answers for one row, with the search language's semantics
(values compared case-insensitively, a multivalue field matches when any value does, ``NOT``
when none does). Tests hold the two together on the project's SPL evaluator, and hold each
predicate to the engine: every row the engine can draw evidence from passes it.

The filters keep rather than drop when in doubt: a search term cannot parse a URL or an address,
so a row the engine would still discard may pass (``dest="*googleapis.com*"`` keeps
``googleapis.com.example.net``), never the other way round. They read ``action``, ``logon_type``
and ``Logon_Type`` as the single-valued CIM fields they are.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Callable, Dict, List, Mapping, Sequence, Tuple, Union

from guardrail.correlate.evidence import (
    FAILED_ACTIONS,
    FDR_LOGON_EVENT,
    GOOGLE_API_DOMAIN,
    NON_INTERACTIVE_LOGON,
    mentions_google_api,
)
from guardrail.correlate.netaddr import INTERNAL_NETWORKS

Value = Union[str, Sequence[str]]
Row = Mapping[str, Value]
Predicate = Callable[[Row], bool]


def values(row: Row, name: str) -> List[str]:
    """The values of a field as the search language sees them: empty values are no value."""
    value = row.get(name)
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if v != ""]


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f'"{item}"' for item in items)


# ---- Google API requests (proxy dest / url) --------------------------------------------------


def render_google_api_request() -> str:
    return f'(dest="*{GOOGLE_API_DOMAIN}*" OR url="*{GOOGLE_API_DOMAIN}*")'


def google_api_request(row: Row) -> bool:
    return any(mentions_google_api(v) for v in values(row, "dest") + values(row, "url"))


# ---- authentications that let someone in ------------------------------------------------------


def render_auth_usable() -> str:
    return f"user=* NOT action IN ({_quoted(sorted(FAILED_ACTIONS))})"


def auth_usable(row: Row) -> bool:
    return bool(values(row, "user")) and not any(v.lower() in FAILED_ACTIONS for v in values(row, "action"))


# ---- interactive logons, in the negative form that keeps a logon with no type -----------------


def render_interactive_logon() -> str:
    types = _quoted(sorted(NON_INTERACTIVE_LOGON))
    # logon_type wins over Logon_Type when both are there, as in the engine
    return f"((logon_type=* NOT logon_type IN ({types})) OR (NOT logon_type=* NOT Logon_Type IN ({types})))"


def interactive_logon(row: Row) -> bool:
    types = values(row, "logon_type") or values(row, "Logon_Type")
    return not any(v.lower() in NON_INTERACTIVE_LOGON for v in types)


# ---- a public source address (a sign-in, whatever its logon type) -----------------------------


def _v6_prefixes(network: ipaddress.IPv6Network) -> List[str]:
    """Spellings that start every address of a short IPv6 prefix (its first group has four digits)."""
    if network.prefixlen == 128:
        address = network.network_address
        return [address.compressed, ":".join(str(int(g, 16)) for g in address.exploded.split(":")),
                address.exploded]
    if network.prefixlen > 16:
        raise ValueError(f"{network}: only prefixes within the first group are rendered")
    first = int(network.network_address) >> 112
    last = int(network.broadcast_address) >> 112
    if first < 0x1000:
        raise ValueError(f"{network}: its first group is not written with four digits")
    digits = 4
    while digits > 1 and (first % 16 ** (5 - digits) == 0 and (last + 1) % 16 ** (5 - digits) == 0):
        digits -= 1
    step = 16 ** (4 - digits)
    return [f"{value // step:0{digits}x}*" for value in range(first, last + 1, step)]


@functools.lru_cache(maxsize=1)
def internal_terms() -> Tuple[str, ...]:
    """The values of ``src=`` that name an internal address: IPv4 ranges, IPv6 prefixes."""
    terms: List[str] = []
    for network in INTERNAL_NETWORKS:
        if isinstance(network, ipaddress.IPv4Network):
            terms.append(str(network))
        else:
            terms.extend(_v6_prefixes(network))
    return tuple(terms)


def render_public_src() -> str:
    # an address range is written bare (src=10.0.0.0/8): the search command matches it as a range
    return "(src=* NOT (" + " OR ".join(f"src={t}" if "/" in t else f'src="{t}"' for t in internal_terms()) + "))"


@functools.lru_cache(maxsize=1)
def _internal_parts() -> Tuple[Tuple[ipaddress.IPv4Network, ...], Tuple[str, ...], Tuple[str, ...]]:
    ranges = tuple(ipaddress.IPv4Network(t) for t in internal_terms() if "/" in t)
    prefixes = tuple(t[:-1] for t in internal_terms() if t.endswith("*"))
    exact = tuple(t for t in internal_terms() if "/" not in t and not t.endswith("*"))
    return ranges, prefixes, exact


@functools.lru_cache(maxsize=65536)
def _internal(value: str) -> bool:
    """What ``src=<term>`` answers for any internal term: a range (an address in it), a prefix, a value."""
    ranges, prefixes, exact = _internal_parts()
    text = value.strip().lower()
    if text.startswith(prefixes) or text in exact:
        return True
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return isinstance(address, ipaddress.IPv4Address) and any(address in net for net in ranges)


def public_src(row: Row) -> bool:
    found = values(row, "src")
    return bool(found) and not any(_internal(v) for v in found)


# ---- FDR events the engine can index ------------------------------------------------------------


def render_edr_usable() -> str:
    return f'(aip=* OR LocalAddressIP4=* OR DomainName="*{GOOGLE_API_DOMAIN}*" OR event_simpleName="{FDR_LOGON_EVENT}")'


def edr_usable(row: Row) -> bool:
    return (bool(values(row, "aip")) or bool(values(row, "LocalAddressIP4"))
            or any(mentions_google_api(v) for v in values(row, "DomainName"))
            or any(v.lower() == FDR_LOGON_EVENT for v in values(row, "event_simpleName")))


def render_edr_logon() -> str:
    # like a Windows logon: a network, batch or service LogonType binds nobody to the device
    return f'(event_simpleName="{FDR_LOGON_EVENT}" NOT LogonType IN ({_quoted(sorted(NON_INTERACTIVE_LOGON))}))'


def edr_logon(row: Row) -> bool:
    return (any(v.lower() == FDR_LOGON_EVENT for v in values(row, "event_simpleName"))
            and not any(v.lower() in NON_INTERACTIVE_LOGON for v in values(row, "LogonType")))


#: Generated filter macros: name -> (SPL renderer, mirror).
FILTERS: Dict[str, Tuple[Callable[[], str], Predicate]] = {
    "guardrail_google_api_request": (render_google_api_request, google_api_request),
    "guardrail_auth_usable": (render_auth_usable, auth_usable),
    "guardrail_interactive_logon": (render_interactive_logon, interactive_logon),
    "guardrail_public_src": (render_public_src, public_src),
    "guardrail_edr_usable": (render_edr_usable, edr_usable),
    "guardrail_edr_logon": (render_edr_logon, edr_logon),
}
