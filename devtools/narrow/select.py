"""Which rows a narrowed correlation run reads: the Python mirror of ``guardrail_correlation_input_raw``.

A run over the denials of ``[earliest, latest)`` reads three groups of events, each under its own
time modifiers:

* audit entries (``gcp_policy_denied`` or ``gcp_audit_activity``) within :attr:`Ranges.gcp`;
* point evidence (``guardrail_keyed_evidence``: NAT, sign-ins, FDR, proxy requests) that one of the
  key clauses of :func:`devtools.narrow.keys.plan` matches;
* interval evidence (``guardrail_interval_evidence``: VPN, DHCP, device and FDR logons) within
  :attr:`Ranges.intervals`.

:class:`Narrowing` answers, for one row, what that search answers, with the evidence macros'
filters (:mod:`.filters`) and the key clauses in the search language's semantics. It reads rows
as Splunk hands them to the command (field values, ``tag`` as a list or newline-joined text), so
the same rows can feed the engine in full and narrowed.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Dict, Iterable, List, Mapping, Optional, Pattern, Sequence, Tuple, Union

from guardrail.correlate.gcp import DENIED_CODES, load_entry, parse_entry
from guardrail.correlate.options import Options
from guardrail.errors import RowError

from devtools.conf import ROOT, parse_conf

from . import filters
from .keys import ADDRESS_FIELDS, HOST_FIELDS, AuditView, Plan, Ranges, Window

Value = Union[str, Sequence[str]]
Row = Mapping[str, Value]


@functools.lru_cache(maxsize=1)
def idp_sourcetypes() -> Tuple[str, ...]:
    """The sourcetypes of ``evidence_idp_sourcetypes`` (lower case)."""
    stanza = parse_conf(ROOT / "default" / "macros.conf").stanza("evidence_idp_sourcetypes")
    text = (stanza.get("definition") if stanza else "") or ""
    return tuple(v.lower() for v in re.findall(r'sourcetype="([^"]+)"', text))


def tags(row: Row) -> frozenset[str]:
    value = row.get("tag")
    if value is None:
        return frozenset()
    items = value.split("\n") if isinstance(value, str) else list(value)
    return frozenset(t.strip().lower() for t in items if t.strip())


def _has(row: Row, *names: str) -> bool:
    return all(filters.values(row, n) for n in names)


# ---- the evidence macros ---------------------------------------------------------------------


def is_vpn(row: Row) -> bool:
    return {"network", "session", "vpn"} <= tags(row) and _has(row, "src_ip", "user")


def is_dhcp(row: Row) -> bool:
    return ({"network", "session", "dhcp"} <= tags(row) and _has(row, "dest_ip")
            and (_has(row, "dest_nt_host") or _has(row, "dest_host")))


def is_proxy(row: Row) -> bool:
    return {"web", "proxy"} <= tags(row) and filters.google_api_request(row)


def is_nat(row: Row) -> bool:
    return {"network", "communicate"} <= tags(row) and _has(row, "src_translated_ip", "src_ip")


def _idp(row: Row) -> bool:
    return any(v.lower() in idp_sourcetypes() for v in filters.values(row, "sourcetype"))


def is_logon(row: Row) -> bool:
    return ("authentication" in tags(row) and not _idp(row) and filters.auth_usable(row)
            and ((_has(row, "dest") and filters.interactive_logon(row)) or filters.public_src(row)))


def is_idp(row: Row) -> bool:
    return "authentication" in tags(row) and _idp(row) and filters.auth_usable(row)


def is_signin(row: Row) -> bool:
    return "authentication" in tags(row) and filters.auth_usable(row) and _has(row, "src")


def is_edr(row: Row) -> bool:
    return _has(row, "event_simpleName") and filters.edr_usable(row)


def is_edr_logon(row: Row) -> bool:
    return _has(row, "event_simpleName") and filters.edr_logon(row)


def is_keyed(row: Row) -> bool:
    return is_nat(row) or is_signin(row) or is_edr(row) or is_proxy(row)


def is_interval(row: Row) -> bool:
    return is_vpn(row) or is_dhcp(row) or is_logon(row) or is_edr_logon(row)


def identity_evidence(row: Row) -> bool:
    """Mirror of ``identity_evidence`` without its audit part."""
    return (is_vpn(row) or is_dhcp(row) or is_proxy(row) or is_nat(row) or is_logon(row) or is_idp(row)
            or is_edr(row))


# ---- audit entries ---------------------------------------------------------------------------

_RUN_LOGS = ("%2factivity", "%2fdata_access", "%2fpolicy", "/activity", "/data_access", "/policy")


def _text(value: Optional[Value]) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else "\n".join(value)


def is_audit(row: Row) -> bool:
    """An audit entry a run reads (gcp_policy_denied or gcp_audit_activity).

    Events with an ``eventtype`` field (indexed events) answer by it, as the search does; rows
    as the command receives them by their ``logName``.
    """
    if "eventtype" in row:
        found = filters.values(row, "eventtype")
        return "gcp_policy_denied" in found or (
            "gcp_audit" in found and any(v in ("activity", "data_access") for v in filters.values(row, "gcp_log_type")))
    raw = _text(row.get("_raw"))
    if "protoPayload" not in raw:
        return False
    log = _text(row.get("logName") or row.get("data.logName"))
    if not log:
        match = re.search(r'"logName"\s*:\s*"([^"]*)"', raw)
        log = match.group(1) if match else ""
    return log.lower().endswith(_RUN_LOGS)


def view_from_row(row: Row) -> Optional[AuditView]:
    """An audit entry as the key search would see it, read with the engine's own parser."""
    raw = _text(row.get("_raw"))
    if "protoPayload" not in raw:
        return None
    try:
        obj = load_entry(raw)
    except RowError:  # a cut _raw: what the extracted fields say
        obj = None
    extracted = {k[5:] if k.startswith("data.") else k: _text(v) for k, v in row.items()
                 if isinstance(k, str) and ("protoPayload" in k or k in ("logName", "data.logName")) and _text(v)}
    try:
        time = float(_text(row.get("_time")))
    except ValueError:
        return None
    try:
        entry = parse_entry(obj, extracted, time)
    except (RowError, ValueError, TypeError, KeyError, AttributeError):  # no usable entry: no key from it
        return None
    payload = (obj or {}).get("protoPayload") if isinstance(obj, dict) else None
    code_text = extracted.get("protoPayload.status.code") or (
        json.dumps(payload.get("status", {}).get("code")) if isinstance(payload, dict) and
        isinstance(payload.get("status"), dict) else "")
    try:
        code: Optional[float] = float(code_text)
    except ValueError:
        code = None
    resource = extracted.get("protoPayload.resourceName") or (
        payload.get("resourceName") if isinstance(payload, dict) else None)
    return AuditView(time=time, denied=entry.denied or (code is not None and code in DENIED_CODES),
                     principal=entry.principal, project=entry.project or None,
                     resource=resource if isinstance(resource, str) and resource else None,
                     caller_ip=_caller_ip(extracted, payload), service=entry.service or None)


def _caller_ip(extracted: Mapping[str, str], payload: object) -> Optional[str]:
    text = extracted.get("protoPayload.requestMetadata.callerIp")
    if not text and isinstance(payload, dict):
        meta = payload.get("requestMetadata")
        text = meta.get("callerIp") if isinstance(meta, dict) else None
    if not isinstance(text, str) or re.fullmatch(r"(private|gce-internal-ip)?", text):
        return None
    return text


# ---- keys --------------------------------------------------------------------------------------


def _regex(pattern: str) -> Pattern[str]:
    return re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in pattern), re.I | re.S)


class KeyMatcher:
    """The key clauses of a plan as a fast matcher: exact spellings by dict, wildcards by regex."""

    def __init__(self, plan: Plan, options: Options) -> None:
        self.widened = plan.widened
        gcp_lo, gcp_hi = Ranges(plan.earliest, plan.latest, options).gcp
        self.wide = Window("*", gcp_lo, gcp_hi - 1)
        self.exact: Dict[str, List[Window]] = {}
        self.wild: List[Tuple[Pattern[str], Window]] = []
        self.hosts: List[Tuple[str, Window]] = []
        for window in plan.windows:
            kind, _, value = window.key.partition("=")
            if kind == "host":
                self.hosts.append((value, window))
                continue
            for form in plan.spelled.get(window.key, []):
                if "*" in form:
                    self.wild.append((_regex(form), window))
                else:
                    self.exact.setdefault(form.lower(), []).append(window)

    def matches(self, row: Row, t: float) -> bool:
        if self.widened:
            return self.wide.contains(t)
        for name in ADDRESS_FIELDS:
            for value in filters.values(row, name):
                low = value.lower()
                if any(w.contains(t) for w in self.exact.get(low, ())):
                    return True
                if self.wild and any(w.contains(t) and p.fullmatch(value) for p, w in self.wild):
                    return True
        if self.hosts:
            for name in HOST_FIELDS:
                for value in filters.values(row, name):
                    low = value.lower()
                    if any(host in low and w.contains(t) for host, w in self.hosts):
                        return True
        return False


class Narrowing:
    """The rows one run reads (see the module docstring)."""

    def __init__(self, plan: Plan, options: Optional[Options] = None) -> None:
        options = options or Options()
        ranges = Ranges(plan.earliest, plan.latest, options)
        self.gcp = ranges.gcp
        self.intervals = ranges.intervals
        self.keys = KeyMatcher(plan, options)

    def keep(self, row: Row) -> bool:
        try:
            t = float(_text(row.get("_time")))
        except ValueError:
            return False
        if is_audit(row):
            return self.gcp[0] <= t < self.gcp[1]
        if self.intervals[0] <= t < self.intervals[1] and is_interval(row):
            return True
        return is_keyed(row) and self.keys.matches(row, t)

    def select(self, rows: Iterable[Row]) -> List[Row]:
        return [row for row in rows if self.keep(row)]
