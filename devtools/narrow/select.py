"""Which rows a narrowed correlation run reads: the Python mirror of ``guardrail_correlation_input_raw``.

A run over the denials of ``[earliest, latest)`` reads three groups of events, each under its own
time modifiers:

* the run's denied entries (``gcp_policy_denied``) within :attr:`Ranges.gcp`, and the other audit
  entries (``gcp_audit_activity``) that one of the key clauses matches;
* point evidence (``guardrail_keyed_evidence``: NAT, sign-ins, FDR, proxy requests) that one of the
  key clauses of :func:`devtools.narrow.keys.plan` matches;
* interval evidence (``guardrail_interval_evidence``: VPN, DHCP, device and FDR logons) within
  :attr:`Ranges.intervals`, of the rows older than any call can reach only the newest of each lease
  and logon (``guardrail_interval_dedup``, :mod:`.older`).

What ``guardrail_presence`` appends is :mod:`.presence`.

:class:`Narrowing` answers, for one row, what that search answers, with the evidence macros'
filters (:mod:`.filters`) and the key clauses in the search language's semantics. It reads rows
as Splunk hands them to the command (field values, ``tag`` as a list or newline-joined text), so
the same rows can feed the engine in full and narrowed.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from typing import Dict, Iterable, List, Mapping, Optional, Pattern, Sequence, Tuple, Union

from guardrail.correlate.gcp import DENIED_CODES, load_entry, parse_entry
from guardrail.correlate.options import Options
from guardrail.errors import RowError

from devtools.conf import ROOT, parse_conf

from . import filters
from .keys import KEY_FIELDS, AuditView, Plan, Ranges, check_audit_range, check_range
from .older import OlderBindings

Value = Union[str, Sequence[str]]
Row = Mapping[str, Value]


@functools.lru_cache(maxsize=1)
def idp_sourcetypes() -> Tuple[str, ...]:
    """The sourcetypes of ``evidence_idp_sourcetypes`` (lower case)."""
    stanza = parse_conf(ROOT / "default" / "macros.conf").stanza("evidence_idp_sourcetypes")
    text = (stanza.get("definition") if stanza else "") or ""
    return tuple(v.lower() for v in re.findall(r'sourcetype="([^"]+)"', text))


_TAGS: Dict[str, frozenset[str]] = {}


def tags(row: Row) -> frozenset[str]:
    value = row.get("tag")
    if not value:
        return frozenset()
    if isinstance(value, str):
        found = _TAGS.get(value)
        if found is None:
            found = frozenset(t.strip().lower() for t in value.split("\n") if t.strip())
            if len(_TAGS) < 4096:
                _TAGS[value] = found
        return found
    return frozenset(t.strip().lower() for t in value if t.strip())


def _has(row: Row, *names: str) -> bool:
    for name in names:
        value = row.get(name)
        if not value or (not isinstance(value, str) and not any(v != "" for v in value)):
            return False
    return True


# ---- the evidence macros ---------------------------------------------------------------------


def is_vpn(row: Row) -> bool:
    return {"network", "session", "vpn"} <= tags(row) and _has(row, "src_ip", "user")


def is_dhcp(row: Row) -> bool:
    found = tags(row)
    return ({"network", "session", "dhcp"} <= found and _has(row, "dest_ip")
            and (_has(row, "dest_nt_host") or _has(row, "dest_host") or "end" in found))


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


def classify(row: Row) -> Tuple[bool, bool, bool]:
    """``(audit entry, interval evidence, point evidence)`` of a row, its tags read once (the same
    answers as :func:`is_audit`, :func:`is_interval` and :func:`is_keyed`, for large streams)."""
    if "_raw" in row and "protoPayload" in _text(row.get("_raw")):
        return is_audit(row), False, False
    found = tags(row)
    if not found:
        if not _has(row, "event_simpleName"):
            return is_audit(row), False, False
        return False, filters.edr_logon(row), filters.edr_usable(row)
    auth = "authentication" in found and filters.auth_usable(row)
    network = "network" in found
    interval = (
        (network and "session" in found and (
            ("vpn" in found and _has(row, "src_ip", "user"))
            or ("dhcp" in found and _has(row, "dest_ip")
                and (_has(row, "dest_nt_host") or _has(row, "dest_host") or "end" in found))))
        or (auth and not _idp(row) and ((_has(row, "dest") and filters.interactive_logon(row))
                                        or filters.public_src(row))))
    keyed = ((network and "communicate" in found and _has(row, "src_translated_ip", "src_ip"))
             or (auth and _has(row, "src"))
             or ("web" in found and "proxy" in found and filters.google_api_request(row)))
    return False, interval, keyed


def unnarrowed(row: Row) -> Optional[str]:
    """How a run reads a row without the filters and keys: ``audit``, ``point`` (proxy, NAT, EDR,
    IdP: read around the calls), ``interval`` (VPN, DHCP, device logons, EDR user logons: read over
    the lookback, since the engine binds a device to its last logon however long ago), or None (not
    evidence: DNS, connections without translation)."""
    if "_raw" in row and "protoPayload" in _text(row.get("_raw")):
        return "audit" if is_audit(row) else None
    if _has(row, "event_simpleName"):
        return "interval" if is_edr_logon(row) else "point"
    found = tags(row)
    if {"network", "session"} <= found and ("vpn" in found or "dhcp" in found):
        return "interval"
    if {"web", "proxy"} <= found or ({"process", "report"} <= found):
        return "point"
    if {"network", "communicate"} <= found:
        return "point" if _has(row, "src_translated_ip") else None
    if "authentication" in found:
        return "point" if _idp(row) else "interval"
    return None


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
                     caller_ip=_caller_ip(extracted, payload), service=entry.service or None,
                     user_agent=entry.user_agent or None)


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


Span = Tuple[int, int]


class Spans:
    """Time spans ``[earliest, latest)`` joined where they touch, for a bisect per lookup."""

    __slots__ = ("his", "los")

    def __init__(self, spans: Iterable[Span]) -> None:
        self.los: List[int] = []
        self.his: List[int] = []
        for lo, hi in sorted(spans):
            if self.his and lo <= self.his[-1]:
                self.his[-1] = max(self.his[-1], hi)
            else:
                self.los.append(lo)
                self.his.append(hi)

    def __contains__(self, t: float) -> bool:
        i = bisect.bisect_right(self.los, t) - 1
        return i >= 0 and t < self.his[i]


class KeyMatcher:
    """The key clauses of a plan as a fast matcher, per kind of key: exact spellings by dict,
    wildcards by regex, hosts by substring, each with its key's time spans."""

    def __init__(self, plan: Plan, options: Options, wide: Optional[Span] = None) -> None:
        self.widened = plan.widened
        self.wide: Span = wide or Ranges(plan.earliest, plan.latest, options).key_source
        exact: Dict[str, Dict[str, List[Span]]] = {}
        wild: Dict[str, Dict[str, List[Span]]] = {}
        hosts: Dict[str, List[Span]] = {}
        invocations: Dict[str, List[Span]] = {}
        projects: Dict[str, List[Span]] = {}
        for window in plan.windows:
            kind, _, value = window.key.partition("=")
            span = (window.earliest, window.latest)
            if kind == "host":
                hosts.setdefault(value, []).append(span)
                continue
            if kind == "inv":
                invocations.setdefault(("invocation-id/" + value).lower(), []).append(span)
                continue
            if kind == "project":
                projects.setdefault(value.lower(), []).append(span)
                continue
            for form in plan.spelled.get(window.key, []):
                if "*" in form:
                    wild.setdefault(kind, {}).setdefault(form, []).append(span)
                else:
                    exact.setdefault(kind, {}).setdefault(form.lower(), []).append(span)
        self.exact = {kind: {k: Spans(v) for k, v in forms.items()} for kind, forms in exact.items()}
        self.wild = {kind: [(_regex(k), Spans(v)) for k, v in forms.items()] for kind, forms in wild.items()}
        self.hosts = [(k, Spans(v)) for k, v in hosts.items()]
        self.invocations = [(k, Spans(v)) for k, v in invocations.items()]
        self.projects = {k: Spans(v) for k, v in projects.items()}
        #: every exact spelling of every kind, lower case: a value none of them is can only match a wildcard
        self.spelled = {form for forms in self.exact.values() for form in forms}
        #: the earliest and latest time any key covers: a row outside it matches none
        self.span = (min((w.earliest for w in plan.windows), default=0),
                     max((w.latest for w in plan.windows), default=0))

    def matches(self, row: Row, t: float) -> bool:
        return self.matches_values(key_values(row), t)

    def matches_values(self, values: Mapping[str, Sequence[str]], t: float) -> bool:
        """:meth:`matches` given a row's :func:`key_values`."""
        if self.widened:
            return self.wide[0] <= t < self.wide[1]
        if not self.span[0] <= t < self.span[1]:
            return False
        for name in KEY_FIELDS["inv"]:
            for value in values.get(name, ()):
                low = value.lower()
                for marker, marker_spans in self.invocations:
                    if marker in low and t in marker_spans:
                        return True
        for name in KEY_FIELDS["project"]:
            for value in values.get(name, ()):
                spans = self.projects.get(value.lower())
                if spans is not None and t in spans:
                    return True
        for kind in ("ip", "nat", "edr", "egress", "devices", "audit"):
            exact = self.exact.get(kind, {})
            wild = self.wild.get(kind, [])
            for name in KEY_FIELDS[kind]:
                for value in values.get(name, ()):
                    spans = exact.get(value.lower())
                    if spans is not None and t in spans:
                        return True
                    if ":" in value:  # every wildcard spelling has a colon in it
                        for pattern, wild_spans in wild:
                            if t in wild_spans and pattern.fullmatch(value):
                                return True
        for name in KEY_FIELDS["host"]:
            for value in values.get(name, ()):
                low = value.lower()
                for host, host_spans in self.hosts:
                    if host in low and t in host_spans:
                        return True
        return False


_KEYED_FIELDS = tuple(dict.fromkeys(name for names in KEY_FIELDS.values() for name in names))


#: In :func:`key_values`, whether the row is a denied entry (``gcp_policy_denied``): "1" or absent.
DENIED = "_gr_denied"


def key_values(row: Row) -> Dict[str, List[str]]:
    """The values of a row's key fields. A raw audit entry (no extracted fields) gives its caller
    address, user agent and project as the search's ``caller_ip``, ``caller_user_agent`` and
    ``gcp_project`` would read them. An audit entry says whether it is denied (:data:`DENIED`)."""
    out = {name: filters.values(row, name) for name in _KEYED_FIELDS}
    if "_raw" in row and "protoPayload" in _text(row.get("_raw")):
        indexed = "eventtype" in row  # an indexed event: its fields are what the search extracted
        view = view_from_row(row) if not (out["caller_ip"] and indexed) else None
        if view is not None:
            if not out["caller_ip"] and view.caller_ip:
                out["caller_ip"] = [view.caller_ip]
            for name, value in (("caller_user_agent", view.user_agent), ("gcp_project", view.project)):
                if not indexed and not out[name] and value:
                    out[name] = [value]
        if is_denied(row, view):
            out[DENIED] = ["1"]
    return out


def is_denied(row: Row, view: Optional[AuditView] = None) -> bool:
    """A ``gcp_policy_denied`` entry: by its ``eventtype`` where the row has one (indexed events), else
    as the engine reads it (a policy-log entry, or code 7 / 9)."""
    if "eventtype" in row:
        return "gcp_policy_denied" in filters.values(row, "eventtype")
    view = view or view_from_row(row)
    return view is not None and view.denied


def _time_of(row: Row) -> float:
    try:
        return float(_text(row.get("_time")))
    except ValueError:
        return float("-inf")


class _Selection:
    """What a search reads, row by row: :meth:`keep_classified` says it for a classified row."""

    def keep(self, row: Row) -> bool:
        try:
            t = float(_text(row.get("_time")))
        except ValueError:
            return False
        return self.keep_classified(row, t, classify(row))

    def keep_classified(self, row: Row, t: float, kinds: Tuple[bool, bool, bool],
                        values: Optional[Mapping[str, Sequence[str]]] = None) -> bool:
        raise NotImplementedError

    def select(self, rows: Iterable[Row]) -> List[Row]:
        return [row for row in rows if self.keep(row)]


class Narrowing(_Selection):
    """The rows one run reads (see the module docstring)."""

    def __init__(self, plan: Plan, options: Optional[Options] = None) -> None:
        options = options or Options()
        ranges = Ranges(plan.earliest, plan.latest, options)
        self.gcp = ranges.gcp
        self.intervals = ranges.intervals
        self.keys = KeyMatcher(plan, options)
        self.older = OlderBindings(plan.earliest, options)

    def select(self, rows: Iterable[Row]) -> List[Row]:
        """The rows kept, newest first as Splunk returns them (``dedup`` keeps the first it sees)."""
        return [row for row in sorted(rows, key=lambda r: -_time_of(r)) if self.keep(row)]

    def keep_classified(self, row: Row, t: float, kinds: Tuple[bool, bool, bool],
                        values: Optional[Mapping[str, Sequence[str]]] = None) -> bool:
        """:meth:`keep` for a row already classified (:func:`classify`) and timed (and, for a
        stream read by several runs, its :func:`key_values`)."""
        audit, interval, keyed = kinds
        if interval and self.intervals[0] <= t < self.intervals[1]:
            return self.older.first(row, t)  # guardrail_interval_dedup
        if not (keyed or audit):
            return False
        if values is None or (audit and not values):
            values = key_values(row)
        if audit and self.gcp[0] <= t < self.gcp[1] and values.get(DENIED):
            return True
        return self.keys.matches_values(values, t)


class CheckNarrowing(_Selection):
    """The rows the NAT log's check search reads for the buckets of ``[plan.earliest, plan.latest)``
    (``guardrail_nat_log_check_input``; ``plan`` from :func:`devtools.narrow.keys.plan_checks`): the
    audit entries of its range, and the NAT translations and proxy requests under its keys."""

    def __init__(self, plan: Plan, options: Optional[Options] = None) -> None:
        options = options or Options()
        self.audit = check_audit_range(plan.earliest, plan.latest, options)
        self.keys = KeyMatcher(plan, options, check_range(plan.earliest, plan.latest, options))

    def keep_classified(self, row: Row, t: float, kinds: Tuple[bool, bool, bool],
                        values: Optional[Mapping[str, Sequence[str]]] = None) -> bool:
        if kinds[0]:
            return self.audit[0] <= t < self.audit[1]
        if not kinds[2] or not (is_nat(row) or is_proxy(row)):
            return False
        return self.keys.matches_values(values if values is not None else key_values(row), t)
