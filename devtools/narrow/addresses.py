"""Caller addresses as the key search reads them, and every spelling of a key it searches for.

The key search (``guardrail_evidence_keys``) cannot call the engine's ``normalize_ip``: it reduces a
``callerIp`` with regular expressions in ``eval`` instead. This module is that reduction in Python,
step for step (:func:`reduce`), and the spellings the search emits for a key (:func:`spellings`).
:data:`STEPS` and :func:`render_spellings` are the same steps as SPL text. Tests hold the two
renderings to each other on the project's SPL evaluator and both to the engine: every address
``normalize_ip`` reads reduces to the same key, or to ``bad`` (the search then widens instead of
narrowing), and every common way a log writes that address matches one of its spellings.

Kinds: ``v4`` (dotted, no leading zeros), ``v6`` (eight groups, no leading zeros, nothing
compressed), ``none`` (not an address: no key, the engine reads nothing for it either), ``bad``
(looks like an IPv6 address the reduction cannot expand: the search widens).
"""

from __future__ import annotations

import ipaddress
import re
from typing import List, Tuple

from guardrail.correlate.netaddr import INTERNAL_NETWORKS

_MAPPED = r"(?:(?:0{1,4}:){5}|(?:0{1,4}(?::0{1,4}){0,4})?::(?:0{1,4}:){0,4})ffff:"
_BRACKET = r"^\[([^\]]*)\](?::\d+)?$"
_ZONE = r"%[^:]*$"
_PORT = r"^([^:]*):\d+$"
_MAPPED_HEX = "^" + _MAPPED + r"([0-9a-f]{1,4}):([0-9a-f]{1,4})$"
_MAPPED_DOTTED = "^" + _MAPPED + r"(\d+\.\d+\.\d+\.\d+)$"
_V4 = r"^\d+\.\d+\.\d+\.\d+$"
_V4_ZEROS = r"(^|\.)0+(\d)"
_V6_ZEROS = r"(^|:)0+([0-9a-f])"
_V6_FULL = r"^[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}$"
_HEX_RUN = r"[0-9a-f]+"
_ZERO_GROUPS = "0:0:0:0:0:0:0:0:"
_MAPPED_FORMS = ("::ffff:", "0:0:0:0:0:ffff:", "0000:0000:0000:0000:0000:ffff:")


def _compress_pattern(run: int) -> str:
    """A run of ``run`` zero groups, the leftmost such run, with what comes before and after."""
    return r"^(.*?)(?:^|:)0" + "(?::0)" * (run - 1) + r"(?::|$)(.*)$"


def reduce(text: str) -> Tuple[str, str]:
    """``(kind, address)`` the key search makes of a ``callerIp`` (see the module docstring)."""
    a = text.strip(" \t").lower()
    if not a:
        return "none", ""
    a = re.sub(_BRACKET, r"\1", a)
    a = re.sub(_ZONE, "", a)
    a = re.sub(_PORT, r"\1", a)
    hexed = re.match(_MAPPED_HEX, a)
    if hexed:
        h1, h2 = int(hexed.group(1), 16), int(hexed.group(2), 16)
        a = f"{h1 // 256}.{h1 % 256}.{h2 // 256}.{h2 % 256}"
    a = re.sub(_MAPPED_DOTTED, r"\1", a)
    if re.match(_V4, a):
        return "v4", re.sub(_V4_ZEROS, r"\1\2", a)
    if ":" not in a:
        return "none", a
    groups = len(re.sub(_HEX_RUN, "g", a)) - len(re.sub(_HEX_RUN, "", a))
    if "::" in a:
        a = a.replace("::", ":" + _ZERO_GROUPS[: 2 * (8 - groups)]) if 0 <= 8 - groups <= 8 else a
    a = re.sub(r":$", "", re.sub(r"^:", "", a))
    a = re.sub(_V6_ZEROS, r"\1\2", a)
    return ("v6", a) if re.match(_V6_FULL, a) else ("bad", a)


def is_public(kind: str, address: str) -> bool:
    """Outside every internal range, the way ``cidrmatch`` reads it (what does not parse is public)."""
    if kind not in ("v4", "v6"):
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return True
    return not any(parsed.version == net.version and parsed in net for net in INTERNAL_NETWORKS)


def compressed(full: str) -> str:
    """RFC 5952 form of an eight-group address: the leftmost longest run of two or more zero groups
    becomes ``::``."""
    for run in range(8, 1, -1):
        if re.match(_compress_pattern(run), full):
            return re.sub(_compress_pattern(run), r"\1::\2", full)
    return full


def pattern(full: str) -> str:
    """One wildcard spelling for every way of writing the address: its non-zero groups in order,
    any zeros, colons or a ``::`` between them."""
    groups = full.split(":")
    nonzero = [g for g in groups if g != "0"]
    lead = "*" if groups[0] == "0" or len(groups[0]) < 4 else ""
    trail = "*" if groups[-1] == "0" else ""
    return lead + ":*".join(nonzero) + trail


def spellings(kind: str, address: str) -> List[str]:
    """The values the key search looks for in an address field, in the order it emits them."""
    if kind == "v4":
        octets = [int(p) for p in address.split(".")]
        h1, h2 = octets[0] * 256 + octets[1], octets[2] * 256 + octets[3]
        forms = [address, address + ":*"]
        forms += [prefix + address for prefix in _MAPPED_FORMS]
        forms += ["[::ffff:" + address + "]:*", f"::ffff:{h1:x}:{h2:x}", f"0:0:0:0:0:ffff:{h1:x}:{h2:x}",
                  f"0000:0000:0000:0000:0000:ffff:{h1:04x}:{h2:04x}", ".".join(f"{o:03d}" for o in octets)]
    else:
        exploded = ":".join(g.zfill(4) for g in address.split(":"))
        short = compressed(address)
        forms = [short, address, exploded, pattern(address), "[" + short + "]:*", short + "%*"]
    return list(dict.fromkeys(forms + [f.upper() for f in forms]))


# ---- the same steps in SPL ----------------------------------------------------------------------


def _spl(text: str) -> str:
    """A Python string as an SPL string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_reduce(source: str, out: str) -> List[str]:
    """``eval`` assignments that leave :func:`reduce`'s kind in ``<out>_kind`` and address in ``out``."""
    a = out
    ipv6_expand = (f'if(match({a}, "::") AND {a}_groups>=0 AND {a}_groups<=8, replace({a}, "::", ":" . '
                   f'substr({_spl(_ZERO_GROUPS)}, 1, 2 * (8 - {a}_groups))), {a})')
    return [
        f'{a}=lower(trim(coalesce({source}, "")))',
        f"{a}=replace({a}, {_spl(_BRACKET)}, \"\\1\")",
        f"{a}=replace({a}, {_spl(_ZONE)}, \"\")",
        f"{a}=replace({a}, {_spl(_PORT)}, \"\\1\")",
        f"{a}=if(match({a}, {_spl(_MAPPED_HEX)}), floor(tonumber(replace({a}, {_spl(_MAPPED_HEX)}, \"\\1\"), 16) / 256)"
        f" . \".\" . (tonumber(replace({a}, {_spl(_MAPPED_HEX)}, \"\\1\"), 16) % 256) . \".\" . "
        f"floor(tonumber(replace({a}, {_spl(_MAPPED_HEX)}, \"\\2\"), 16) / 256) . \".\" . "
        f"(tonumber(replace({a}, {_spl(_MAPPED_HEX)}, \"\\2\"), 16) % 256), {a})",
        f"{a}=replace({a}, {_spl(_MAPPED_DOTTED)}, \"\\1\")",
        f"{a}_kind=case({a}==\"\", \"none\", match({a}, {_spl(_V4)}), \"v4\", NOT match({a}, \":\"), \"none\", "
        f"true(), \"v6\")",
        f"{a}=if({a}_kind==\"v4\", replace({a}, {_spl(_V4_ZEROS)}, \"\\1\\2\"), {a})",
        f"{a}_groups=len(replace({a}, {_spl(_HEX_RUN)}, \"g\")) - len(replace({a}, {_spl(_HEX_RUN)}, \"\"))",
        f"{a}=if({a}_kind==\"v6\", replace(replace({ipv6_expand}, \"^:\", \"\"), \":$\", \"\"), {a})",
        f"{a}=if({a}_kind==\"v6\", replace({a}, {_spl(_V6_ZEROS)}, \"\\1\\2\"), {a})",
        f"{a}_kind=if({a}_kind==\"v6\" AND NOT match({a}, {_spl(_V6_FULL)}), \"bad\", {a}_kind)",
    ]


def render_public(kind: str, address: str) -> str:
    """An eval condition: the address is of kind v4/v6 and outside every internal range."""
    internal = " OR ".join(f'cidrmatch("{net}", {address})' for net in INTERNAL_NETWORKS)
    return f'(({kind}=="v4" OR {kind}=="v6") AND NOT ({internal}))'


def render_spellings(kind: str, address: str, out: str) -> List[str]:
    """``eval`` assignments that leave :func:`spellings` of (kind, address) in the multivalue ``out``."""
    a = address
    o = [f"mvindex(split({a}, \".\"), {i})" for i in range(4)]
    h1, h2 = f"({o[0]} * 256 + {o[1]})", f"({o[2]} * 256 + {o[3]})"
    v4 = ", ".join([
        a, f'{a} . ":*"', *(f"{_spl(p)} . {a}" for p in _MAPPED_FORMS),
        f'"[::ffff:" . {a} . "]:*"', f'printf("::ffff:%x:%x", {h1}, {h2})',
        f'printf("0:0:0:0:0:ffff:%x:%x", {h1}, {h2})', f'printf("0000:0000:0000:0000:0000:ffff:%04x:%04x", {h1}, {h2})',
        f'printf("%03d.%03d.%03d.%03d", {o[0]}, {o[1]}, {o[2]}, {o[3]})',
    ])
    short = "case(" + ", ".join(
        f"match({a}, {_spl(_compress_pattern(run))}), replace({a}, {_spl(_compress_pattern(run))}, \"\\1::\\2\")"
        for run in range(8, 1, -1)) + f", true(), {a})"
    return [
        f"{out}_g=if({kind}==\"v6\", split({a}, \":\"), null())",
        f"{out}_short={short}",
        f"{out}_nonzero=mvmap({out}_g, if({out}_g==\"0\", null(), {out}_g))",
        f"{out}_pattern=if(mvindex({out}_g, 0)==\"0\" OR len(mvindex({out}_g, 0))<4, \"*\", \"\") . "
        f"mvjoin({out}_nonzero, \":*\") . if(mvindex({out}_g, 7)==\"0\", \"*\", \"\")",
        f"{out}=if({kind}==\"v4\", mvappend({v4}), mvappend({out}_short, {a}, "
        f"mvjoin(mvmap({out}_g, substr(\"000\" . {out}_g, len({out}_g))), \":\"), {out}_pattern, "
        f"\"[\" . {out}_short . \"]:*\", {out}_short . \"%*\"))",
        f"{out}=mvdedup(mvappend({out}, mvmap({out}, upper({out}))))",
    ]
