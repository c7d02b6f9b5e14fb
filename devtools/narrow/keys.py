"""Keys for point evidence: which addresses and API hosts, in which time windows, one run needs.

One correlation run explains the denied calls of ``[earliest, latest)``. For a masked call at
``t`` the engine reads point evidence only under keys the call names, each within a window of its
own (``Options``):

* ``ip``: its public caller address: sign-ins from it within ``[t - point_back, t + forward]``;
* ``nat``: the translations to it within ``network_tolerance`` of the call (whose they are);
* ``edr``: EDR records of devices behind it (``aip``) within the endpoint clock's ``skew``;
* ``audit``: the other audit entries from it within ``[t - point_back, t + forward]`` (the same
  program, who else was there);
* ``host``: its API host: proxy requests to it, within ``max(fingerprint_window, network_tolerance,
  skew)``; and the hosts of the calls from the same address within ``max(skew, network_tolerance)
  + network_tolerance`` of it (a visible call there may explain the traffic), as far as the engine
  reads their proxy requests;
* ``inv``: the calls of the same gcloud run (``invocation-id``) within ``selfjoin_window``;
* ``project``: a service agent's project over ``agent_window`` before its call.

Whether other devices were behind the address over the rest of the horizon comes from
:func:`plan_presence` (``egress``, ``devices``; :mod:`.presence`), and whether the NAT log of an
egress is complete from the check counts (:func:`plan_checks`, ``nat`` and ``host`` within
``network_tolerance`` and ``fingerprint_window`` of every call from a public address).

A service agent's call names nothing itself; the call it acted for (an audit entry on the same
project and resource within ``agent_window`` before it) names its own address and host, at its own
time. :func:`plan` turns the audit entries around a run into those keys, merges nearby windows of a
key (``nat`` and ``edr`` only where they overlap), and renders each key as one search clause with
its time spans; past ``max_keys`` windows, when the search ran too long, or when an address cannot
be reduced (:mod:`.addresses`), it widens to the whole range instead of narrowing silently.

:func:`render_evidence_keys` is the same plan as the SPL subsearch ``guardrail_evidence_keys(2)``
holds (and ``guardrail_presence_keys(2)``, ``guardrail_nat_log_check_keys(2)``); tests hold both to
each other on the SPL evaluator.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from guardrail.correlate.gcp import DENIED_CODES, SERVICE_AGENT
from guardrail.correlate.options import Options

from . import addresses

#: The fields each kind of key is looked for in: NAT translated address, sign-in source and EDR
#: cloud view for an address; the translated address alone for the NAT log's checks; the caller
#: address of other audit entries, a gcloud run's invocation-id, a service agent's project; a proxy
#: request's host, a DNS look-up's name.
KEY_FIELDS: Dict[str, Tuple[str, ...]] = {
    "ip": ("src",),
    "nat": ("src_translated_ip",),
    "edr": ("aip",),
    "egress": ("src_translated_ip",),
    "devices": ("aip",),
    "audit": ("caller_ip",),
    "inv": ("caller_user_agent",),
    "project": ("gcp_project",),
    "host": ("dest", "url"),
}
ADDRESS_FIELDS = ("src_translated_ip", "src", "aip")
#: A gcloud invocation-id in a user agent, as the engine reads it (``guardrail.correlate.gcp``).
INVOCATION = re.compile(r"invocation-id/([0-9A-Za-z-]+)")
#: A project id the key search can quote in a clause (Google's rules, and domain-scoped ids).
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9.:-]*$")
HOST_FIELDS = KEY_FIELDS["host"]
#: Keys whose windows merge only where they overlap: the seconds around calls, not the minutes
#: between them, which on a busy egress hold thousands of translations and EDR records.
TIGHT_KEYS = ("nat=", "edr=")
_HOST = re.compile(r"^[a-z0-9._-]+$")
#: A clause no event matches: the subsearch always returns at least this row.
SENTINEL_VALUE = "guardrail:no-key"

#: Tunables of the key search (macros of the same name in macros.conf), with their defaults.
MAX_KEYS_MACRO = "guardrail_evidence_max_keys"
MAX_SECS_MACRO = "guardrail_evidence_max_key_secs"
MERGE_MACRO = "guardrail_evidence_key_merge_secs"
MAX_KEYS = 5000
#: The check search's own cap: one 15-minute bucket of a busy egress has a window per second or so
#: (its calls' seconds), each some 40 characters of search text.
CHECK_MAX_KEYS_MACRO = "guardrail_nat_log_check_max_keys"
CHECK_MAX_KEYS = 20000
MAX_SECS = 45
MERGE_SECS = 60


@dataclass(frozen=True)
class AuditView:
    """What the key search reads of one audit entry (the fields the app's props.conf extracts)."""

    time: float
    denied: bool  # eventtype gcp_policy_denied, or status code 7 / 9
    principal: str
    project: Optional[str]
    resource: Optional[str]
    caller_ip: Optional[str]  # null for private / gce-internal-ip / no address
    service: Optional[str]
    user_agent: Optional[str] = None

    @property
    def invocation(self) -> Optional[str]:
        """The gcloud invocation-id in its user agent (the first, as the engine reads it)."""
        match = INVOCATION.search(self.user_agent or "")
        return match.group(1) if match else None

    @property
    def agent(self) -> bool:
        return bool(SERVICE_AGENT.match(self.principal.strip(" \t").lower()))

    @property
    def masked(self) -> bool:
        principal = self.principal.strip(" \t").lower()
        return principal == "" or "..." in principal or self.agent

    @property
    def leaf(self) -> Optional[str]:
        if not self.resource:
            return None
        leaf = re.sub(r"^.*/", "", re.sub(r"/+$", "", self.resource))
        return leaf or None


@dataclass(frozen=True)
class Window:
    key: str  # "<kind>=<address or API host>"
    lo: float
    hi: float

    @property
    def earliest(self) -> int:
        return math.floor(self.lo)

    @property
    def latest(self) -> int:
        return math.floor(self.hi) + 1  # latest is exclusive; the window's end is not

    def contains(self, t: float) -> bool:
        return self.earliest <= t < self.latest


@dataclass
class Plan:
    """The keys of one run and the search text they become."""

    earliest: float
    latest: float
    windows: List[Window] = field(default_factory=list)
    widened: bool = False
    why: str = ""
    searches: List[str] = field(default_factory=list)
    spelled: Dict[str, List[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ranges:
    """Time ranges of one run (epoch seconds, ``[lo, hi)``), each as the search writes it."""

    earliest: float
    latest: float
    options: Options

    def _span(self, lo: float, hi: float) -> Tuple[int, int]:
        return math.floor(lo), math.floor(hi) + 1

    @property
    def end(self) -> float:
        """The run reads nothing after this: what is stamped later is not there yet when it runs."""
        o = self.options
        return self.latest + o.forward + o.network_tolerance

    @property
    def key_source(self) -> Tuple[int, int]:
        """Audit entries the key search reads: the run's denials and the calls agents acted for
        (and the visible calls near them, within the same range); widened, the point evidence of all."""
        o = self.options
        return self._span(self.earliest - o.agent_window - o.point_back, self.end)

    @property
    def gcp(self) -> Tuple[int, int]:
        """Denied entries the run reads in full: its own (the other audit entries come under keys)."""
        return math.floor(self.earliest), math.ceil(self.latest)

    @property
    def intervals(self) -> Tuple[int, int]:
        """Leases, VPN sessions and logons: begun within the lookback of any call (or its origin),
        and the VPN session ends that follow."""
        o = self.options
        return self._span(self.earliest - o.agent_window - o.lookback, self.end)

    @property
    def everything(self) -> Tuple[int, int]:
        """The time range of the whole run: what an unnarrowed search over it would read."""
        return min(self.intervals[0], self.key_source[0]), math.floor(self.end) + 1


def view_from_fields(fields: Mapping[str, object]) -> AuditView:
    """An audit entry as the key search sees it, from its search-time fields (props.conf)."""

    def text(name: str) -> Optional[str]:
        value = fields.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        return None if value is None or value == "" else str(value)

    eventtypes = fields.get("eventtype") or []
    eventtypes = [eventtypes] if isinstance(eventtypes, str) else list(eventtypes)  # type: ignore[call-overload]
    code = text("status_code")
    try:
        numeric = float(code) if code is not None else None
    except ValueError:
        numeric = None
    return AuditView(
        time=float(str(fields["_time"])),
        denied="gcp_policy_denied" in eventtypes or (numeric is not None and numeric in DENIED_CODES),
        principal=text("gcp_principal") or "",
        project=text("gcp_project"),
        resource=text("gcp_resource"),
        caller_ip=text("caller_ip"),
        service=text("gcp_service"),
        user_agent=text("caller_user_agent"),
    )


def reach(o: Options) -> float:
    """How far from a call the engine looks for visible calls of the same address."""
    return max(o.skew, o.network_tolerance) + o.network_tolerance


def host_reach(o: Options) -> float:
    """How far from a call the engine reads requests to, and look-ups of, its API host (proxy
    records, a fingerprint's wider window; EDR look-ups within the endpoint clock's skew)."""
    return max(o.fingerprint_window, o.network_tolerance, o.skew)


def near_host_reach(o: Options) -> float:
    """How far from a visible call near a source the proxy requests to its host are read: the engine
    reads them from the earliest to the latest such call of one host, ``fingerprint_window`` beyond."""
    return max(o.fingerprint_window, o.network_tolerance) + reach(o)


def plan(entries: Iterable[AuditView], earliest: float, latest: float, options: Optional[Options] = None,
         max_keys: int = MAX_KEYS, merge_secs: float = MERGE_SECS, elapsed: float = 0.0,
         max_secs: float = MAX_SECS) -> Plan:
    """The keys of a run over ``[earliest, latest)`` (see the module docstring)."""
    o = options or Options()
    out = Plan(earliest, latest)
    views, keyed, sources = _sources(entries, earliest, latest, o)
    raw: Dict[str, List[Tuple[float, float]]] = {}
    end = Ranges(earliest, latest, o).end

    def add(key: str, lo: float, hi: float) -> None:
        # nothing after the run's end: what the search head has indexed by then must not change a verdict
        raw.setdefault(key, []).append((lo, min(hi, end)))

    why = ""
    times: Dict[str, List[float]] = {}
    reduced = {id(v): addresses.reduce(v.caller_ip or "") for v in views}
    for v in keyed:
        if not v.agent:
            continue
        if v.project and _PROJECT.match(v.project):  # the calls it may have acted for, on its project
            add("project=" + v.project, v.time - o.agent_window, v.time + o.network_tolerance)
        else:
            why = why or "a service agent's project the key search cannot quote"
    for v in sources:
        kind, address = reduced[id(v)]
        if kind == "bad":
            why = "an address the key search cannot reduce"
        elif addresses.is_public(kind, address):
            times.setdefault(address, []).append(v.time)
            add("ip=" + address, v.time - o.point_back, v.time + o.forward)
            # the translations at its second, the EDR records within the endpoint clock's skew (the
            # others of the horizon, of other devices behind the address: plan_presence)
            add("nat=" + address, v.time - o.network_tolerance, v.time + o.network_tolerance)
            add("edr=" + address, v.time - o.skew, v.time + o.skew)
            # the other calls from its address around it: the same program, who else was there
            add("audit=" + address, v.time - o.point_back, v.time + o.forward)
        invocation = v.invocation
        if invocation:  # the other calls of the same gcloud run, from any address
            add("inv=" + invocation, v.time - o.selfjoin_window, v.time + o.selfjoin_window)
        host = _host(v)
        if host:
            add("host=" + host, v.time - host_reach(o), v.time + host_reach(o))
    for v in views:
        kind, address = reduced[id(v)]
        if address not in times or not addresses.is_public(kind, address):
            continue
        host = _host(v)
        if host and any(abs(v.time - t) <= reach(o) for t in times[address]):
            add("host=" + host, v.time - near_host_reach(o), v.time + near_host_reach(o))
    return _finish(out, raw, why, Ranges(earliest, latest, o).key_source, max_keys, merge_secs, elapsed, max_secs,
                   tight=True)


def plan_presence(entries: Iterable[AuditView], earliest: float, latest: float, options: Optional[Options] = None,
                  max_keys: int = MAX_KEYS, merge_secs: float = MERGE_SECS, elapsed: float = 0.0,
                  max_secs: float = MAX_SECS) -> Plan:
    """The keys of ``guardrail_presence`` (:mod:`.presence`): the EDR records of devices behind each
    public caller address over the call's horizon (``devices``), and the translations to it
    (``egress``) over two horizons more either side: those tell whether a stretch's EDR records are
    needed at all (every call reaching into it had a translation around it)."""
    o = options or Options()
    out = Plan(earliest, latest)
    _views, _keyed, sources = _sources(entries, earliest, latest, o)
    raw: Dict[str, List[Tuple[float, float]]] = {}
    end = Ranges(earliest, latest, o).end
    why = ""
    for v in sources:
        kind, address = addresses.reduce(v.caller_ip or "")
        if kind == "bad":
            why = "an address the key search cannot reduce"
        elif addresses.is_public(kind, address):
            raw.setdefault("devices=" + address, []).append((v.time - o.point_back, min(v.time + o.forward, end)))
            wide = 2 * (o.point_back + o.forward)
            raw.setdefault("egress=" + address, []).append((v.time - o.point_back - wide,
                                                            min(v.time + o.forward + wide, end)))
    return _finish(out, raw, why, Ranges(earliest, latest, o).key_source, max_keys, merge_secs, elapsed, max_secs)


def _sources(entries: Iterable[AuditView], earliest: float, latest: float,
             o: Options) -> Tuple[List[AuditView], List[AuditView], List[AuditView]]:
    """``(views, keyed, sources)`` of a run: the audit entries of its key source range, its masked
    denials, and those with the calls its service agents may have acted for."""
    lo_src, hi_src = Ranges(earliest, latest, o).key_source
    views = [v for v in entries if lo_src <= v.time < hi_src]
    keyed = [v for v in views if v.denied and v.masked and earliest <= v.time < latest]
    # A service agent's denial: the calls it may have acted for are non-agent entries of the same
    # project within agent_window before it, on the same resource (any, when either has none).
    agents: Dict[str, List[Tuple[float, str]]] = {}
    for v in keyed:
        if v.agent:
            agents.setdefault(v.project or "-", []).append((v.time, v.leaf or "-"))
    sources: List[AuditView] = []
    for v in views:
        if v.denied and v.masked and earliest <= v.time < latest:
            sources.append(v)
        elif not v.agent and any(t - o.agent_window <= v.time <= t + o.network_tolerance
                                 and (leaf == "-" or v.leaf is None or leaf == v.leaf)
                                 for t, leaf in agents.get(v.project or "-", [])):
            sources.append(v)
    return views, keyed, sources


def plan_checks(entries: Iterable[AuditView], lo: float, hi: float, options: Optional[Options] = None,
                max_keys: int = CHECK_MAX_KEYS, merge_secs: float = MERGE_SECS, elapsed: float = 0.0,
                max_secs: float = MAX_SECS) -> Plan:
    """The keys of the NAT log's check search over the checks of ``[lo, hi)``: for every audit entry
    from a public address, the translations to it within ``network_tolerance`` (``nat``) and the
    proxy requests to its API host within ``fingerprint_window`` (a proxy record by its principal, or
    carrying its invocation-id, exempts it)."""
    o = options or Options()
    out = Plan(lo, hi)
    raw: Dict[str, List[Tuple[float, float]]] = {}
    bad = ""
    for v in entries:
        if not lo <= v.time < hi:
            continue
        kind, address = addresses.reduce(v.caller_ip or "")
        if kind == "bad":
            bad = "an address the key search cannot reduce"
        elif addresses.is_public(kind, address):
            raw.setdefault("nat=" + address, []).append((v.time - o.network_tolerance, v.time + o.network_tolerance))
            host = _host(v)
            if host:
                raw.setdefault("host=" + host, []).append((v.time - o.fingerprint_window,
                                                           v.time + o.fingerprint_window))
    return _finish(out, raw, bad, check_range(lo, hi, o), max_keys, merge_secs, elapsed, max_secs, tight=True)


def check_range(lo: float, hi: float, o: Options) -> Tuple[int, int]:
    """What the check search reads of the audit log, and of NAT and proxy records when it widens:
    the checks of ``[lo, hi)``, the calls of their programs before them, the records around them."""
    return math.floor(lo - max(o.selfjoin_window, o.fingerprint_window, o.network_tolerance)), \
        math.floor(hi + max(o.fingerprint_window, o.network_tolerance)) + 1


def check_audit_range(lo: float, hi: float, o: Options) -> Tuple[int, int]:
    """The audit entries the check search reads (``guardrail_nat_log_check_range``): the checks of
    ``[lo, hi)`` and the calls of their programs before them."""
    return math.floor(lo - max(o.selfjoin_window, o.fingerprint_window, o.network_tolerance)), math.floor(hi)


def _finish(out: Plan, raw: Dict[str, List[Tuple[float, float]]], bad: str, widest: Tuple[int, int],
            max_keys: int, merge_secs: float, elapsed: float, max_secs: float, tight: bool = False) -> Plan:
    """Merge each key's windows (``tight``: a translation key's only where they overlap: the seconds
    around the calls, not the minutes between them, which on a busy egress hold thousands of
    translations), then render them, or widen to ``widest`` (see :func:`plan`)."""
    for key in sorted(raw):
        reach_hi: Optional[float] = None
        current: Optional[List[float]] = None
        gap = 0.0 if tight and key.startswith(TIGHT_KEYS) else merge_secs
        for lo, hi in sorted(raw[key]):
            if reach_hi is None or lo > reach_hi + gap:
                if current is not None:
                    out.windows.append(Window(key, current[0], current[1]))
                current = [lo, hi]
            else:
                assert current is not None
                current[1] = max(current[1], hi)
            reach_hi = hi if reach_hi is None else max(reach_hi, hi)
        if current is not None:
            out.windows.append(Window(key, current[0], current[1]))
    if bad:
        out.widened, out.why = True, bad
    elif len(out.windows) > max_keys:
        out.widened, out.why = True, f"{len(out.windows)} key windows, more than {max_keys}"
    elif out.windows and elapsed > max_secs:
        out.widened, out.why = True, f"the key search took {elapsed:g} s, more than {max_secs:g}"
    if out.widened:
        lo, hi = widest
        out.searches = [f"earliest={lo} latest={hi}"]
    else:
        by_key: Dict[str, List[Window]] = {}
        for w in out.windows:
            by_key.setdefault(w.key, []).append(w)
        out.searches = [clause(key, spans, out.spelled) for key, spans in sorted(by_key.items())]
    out.searches.append(sentinel(out.earliest))
    return out


def _host(v: AuditView) -> str:
    host = (v.service or "").strip(" \t").lower()
    return host if host and _HOST.match(host) else ""


def clause(key: str, windows: Sequence[Window], spelled: Optional[Dict[str, List[str]]] = None) -> str:
    """The search text of one key: the fields its kind is looked for in, and its time spans."""
    kind, _, value = key.partition("=")
    fields = KEY_FIELDS[kind]
    if kind == "host":
        where = " OR ".join(f'{name}="*{value}*"' for name in fields)
    elif kind == "inv":
        where = " OR ".join(f'{name}="*invocation-id/{value}*"' for name in fields)
    elif kind == "project":
        where = " OR ".join(f'{name}="{value}"' for name in fields)
    else:
        family = "v4" if re.match(r"^\d+\.\d+\.\d+\.\d+$", value) else "v6"
        forms = addresses.spellings(family, value)
        if spelled is not None:
            spelled[key] = forms
        listed = ",".join(f'"{f}"' for f in forms)
        where = " OR ".join(f"{name} IN ({listed})" for name in fields)
    spans = sorted({f"(earliest={w.earliest} latest={w.latest})" for w in windows})
    return f"({where}) ({' OR '.join(spans)})"


def sentinel(earliest: float) -> str:
    start = math.floor(earliest)
    return f'{ADDRESS_FIELDS[0]}="{SENTINEL_VALUE}" earliest={start} latest={start + 1}'


def subsearch_text(searches: Sequence[str]) -> str:
    """What the subsearch's results become in the outer search."""
    return "( " + " OR ".join(f"( {s} )" for s in searches) + " )"


# ---- the same plan in SPL -----------------------------------------------------------------------

# Values of the command's options, as the macros that hold them (also passed to the command).
OPTION_MACROS: Dict[str, str] = {
    "window": "idp_lookback_secs",
    "skew": "clock_tolerance_secs",
    "network_tolerance": "network_tolerance_secs",
    "fingerprint_window": "guardrail_fingerprint_window_secs",
    "selfjoin_window": "guardrail_selfjoin_window_secs",
    "agent_window": "guardrail_agent_window_secs",
    "lookback": "guardrail_lookback",
}


def m(option: str) -> str:
    return f"`{OPTION_MACROS[option]}`"


def render_point_back() -> str:
    """``Options.point_back`` as an eval expression over the option macros."""
    return (f"(max({m('window')}, {m('agent_window')}, {m('selfjoin_window')}, {m('fingerprint_window')}) "
            f"+ {m('skew')})")


def render_forward() -> str:
    """``Options.forward`` as an eval expression over the option macros."""
    return f"max({m('skew')}, {m('selfjoin_window')}, {m('network_tolerance')}, {m('fingerprint_window')})"


def render_reach() -> str:
    return f"(max({m('skew')}, {m('network_tolerance')}) + {m('network_tolerance')})"


def render_host_reach() -> str:
    """:func:`host_reach` as an eval expression over the option macros."""
    return f"max({m('fingerprint_window')}, {m('network_tolerance')}, {m('skew')})"


def render_near_host_reach() -> str:
    """:func:`near_host_reach` as an eval expression over the option macros."""
    return f"(max({m('fingerprint_window')}, {m('network_tolerance')}) + {render_reach()})"


def render_epoch() -> str:
    return 'coalesce(tonumber("$time$"), relative_time(now(), "$time$"))'


def _range_eval(lo: str, hi: str) -> str:
    return f'"earliest=" . floor({lo}) . " latest=" . (floor({hi}) + 1)'


def _e() -> str:
    return "`guardrail_epoch($earliest$)`"


def _l() -> str:
    return "`guardrail_epoch($latest$)`"


def _end() -> str:
    return f"{_l()} + `guardrail_forward` + {m('network_tolerance')}"


def key_source_eval() -> str:
    return _range_eval(f"{_e()} - {m('agent_window')} - `guardrail_point_back`", _end())


def render_range(which: str) -> str:
    """The subsearch of a ``guardrail_*_range(2)`` macro: the time modifiers of one part of a run."""
    if which == "gcp":
        text = f'"earliest=" . floor({_e()}) . " latest=" . ceiling({_l()})'
    elif which == "intervals":
        text = _range_eval(f'relative_time({_e()} - {m("agent_window")}, "-" . "{m("lookback")}")', _end())
    elif which == "key_source":
        text = key_source_eval()
    else:
        raise ValueError(which)
    return f"[| makeresults | eval search={text} | fields search]"


def _any_within(times: str, distance: str) -> str:
    """Eval condition: ``_time`` lies within ``distance`` of one of the multivalue ``times``."""
    return f'isnotnull(mvfind(mvmap({times}, if(abs(_time - {times})<={distance}, "y", null())), "y"))'


def render_evidence_keys(presence: bool = False) -> str:
    """The key subsearch (``guardrail_evidence_keys(2)``): :func:`plan` in SPL; ``presence``: that of
    ``guardrail_nat_presence_keys(2)``, :func:`plan_presence`."""
    agent = addresses._spl(SERVICE_AGENT.pattern)
    codes = " OR ".join(f"tonumber(status_code)=={c}" for c in sorted(DENIED_CODES))
    time_of = 'tonumber(mvindex(split(_gr_ats, "|"), 0))'
    leaf_of = 'mvindex(split(_gr_ats, "|"), 1)'
    public = addresses.render_public("_gr_ip_kind", "_gr_ip")

    def key(kind: str, condition: str, value: str, lo: str, hi: str) -> str:
        return f'if({condition}, "{kind}=" . {value} . "|" . ({lo}) . "|" . ({hi}), null())'

    project_ok = f"match(_gr_project, {addresses._spl(_PROJECT.pattern)})"
    keys = ", ".join([
        'if(_gr_source==1 AND _gr_ip_kind=="bad", "widen=address||", null())',
        f'if(_gr_keyed==1 AND _gr_agent==1 AND NOT {project_ok}, "widen=project||", null())',
        key("project", f"_gr_keyed==1 AND _gr_agent==1 AND {project_ok}", "_gr_project",
            f"_time - {m('agent_window')}", f"_time + {m('network_tolerance')}"),
        key("ip", "_gr_source==1 AND _gr_public==1", "_gr_ip", "_time - `guardrail_point_back`",
            "_time + `guardrail_forward`"),
        key("nat", "_gr_source==1 AND _gr_public==1", "_gr_ip", f"_time - {m('network_tolerance')}",
            f"_time + {m('network_tolerance')}"),
        key("edr", "_gr_source==1 AND _gr_public==1", "_gr_ip", f"_time - {m('skew')}", f"_time + {m('skew')}"),
        key("audit", "_gr_source==1 AND _gr_public==1", "_gr_ip", "_time - `guardrail_point_back`",
            "_time + `guardrail_forward`"),
        key("inv", "_gr_source==1 AND isnotnull(_gr_inv)", "_gr_inv", f"_time - {m('selfjoin_window')}",
            f"_time + {m('selfjoin_window')}"),
        key("host", "_gr_source==1 AND isnotnull(_gr_host)", "_gr_host", f"_time - {render_host_reach()}",
            f"_time + {render_host_reach()}"),
        key("host", "_gr_near==1 AND isnotnull(_gr_host)", "_gr_host", f"_time - {render_near_host_reach()}",
            f"_time + {render_near_host_reach()}"),
    ])
    if presence:
        keys = ", ".join([
            'if(_gr_source==1 AND _gr_ip_kind=="bad", "widen=address||", null())',
            key("devices", "_gr_source==1 AND _gr_public==1", "_gr_ip", "_time - `guardrail_point_back`",
                "_time + `guardrail_forward`"),
            key("egress", "_gr_source==1 AND _gr_public==1", "_gr_ip",
                "_time - `guardrail_point_back` - 2 * (`guardrail_point_back` + `guardrail_forward`)",
                "_time + `guardrail_forward` + 2 * (`guardrail_point_back` + `guardrail_forward`)"),
        ])
    stages = [
        "search ((`gcp_policy_denied`) OR (`gcp_audit_activity`)) `guardrail_key_source_range($earliest$,$latest$)`",
        f"eval _gr_e={_e()}, _gr_l={_l()}, _gr_principal=lower(trim(coalesce(gcp_principal, \"\"))), "
        f"_gr_agent=if(match(_gr_principal, {agent}), 1, 0), "
        f"_gr_masked=if(_gr_principal==\"\" OR match(_gr_principal, \"\\.\\.\\.\") OR _gr_agent==1, 1, 0), "
        f"_gr_denied=if(isnotnull(mvfind(eventtype, \"^gcp_policy_denied$\")) OR {codes}, 1, 0), "
        f"_gr_keyed=if(_gr_denied==1 AND _gr_masked==1 AND _time>=_gr_e AND _time<_gr_l, 1, 0), "
        f"_gr_project=coalesce(gcp_project, \"-\"), "
        f"_gr_leaf=replace(replace(gcp_resource, \"/+$\", \"\"), \"^.*/\", \"\"), "
        f"_gr_leaf=if(len(_gr_leaf)>0, _gr_leaf, null()), "
        f"_gr_at=if(_gr_keyed==1 AND _gr_agent==1, _time . \"|\" . coalesce(_gr_leaf, \"-\"), null()), "
        f"_gr_h=lower(trim(coalesce(gcp_service, \"\"))), "
        f"_gr_host=if(match(_gr_h, {addresses._spl(_HOST.pattern)}), _gr_h, null()), "
        f"_gr_inv=if(match(caller_user_agent, {addresses._spl(INVOCATION.pattern)}), "
        f"replace(caller_user_agent, {addresses._spl('(?s)^.*?' + INVOCATION.pattern + '.*$')}, \"\\1\"), null())",
        "eval " + ", ".join(addresses.render_reduce("caller_ip", "_gr_ip")),
        f"eval _gr_public=if({public}, 1, 0)",
        "eventstats values(_gr_at) AS _gr_ats by _gr_project",
        f"eval _gr_origin=if(_gr_agent==0 AND isnotnull(mvfind(mvmap(_gr_ats, if(_time>={time_of} - "
        f"{m('agent_window')} AND _time<={time_of} + {m('network_tolerance')} AND ({leaf_of}==\"-\" OR "
        f"isnull(_gr_leaf) OR {leaf_of}==_gr_leaf), \"y\", null())), \"y\")), 1, 0), "
        f"_gr_source=if(_gr_keyed==1 OR _gr_origin==1, 1, 0), "
        f"_gr_at=if(_gr_source==1 AND _gr_public==1, _time, null())",
        "eventstats values(_gr_at) AS _gr_times by _gr_ip",
        f"eval _gr_near=if(_gr_public==1 AND {_any_within('_gr_times', render_reach())}, 1, 0)",
        "where _gr_source==1 OR _gr_near==1",
        f"eval _gr_key=mvappend({keys})",
        *_render_tail(f"min(_gr_hi, {_end()})", key_source_eval(), _e(), tight=not presence),
    ]
    return "[" + " | ".join(stages) + "]"


def _render_tail(hi: str, widest: str, start: str, tight: bool = False, cap: str = MAX_KEYS_MACRO) -> List[str]:
    """The stages after the keys (``_gr_key``: ``kind=value|lo|hi``): windows merged (``tight``: see
    :func:`_finish`), rendered, widened to ``widest`` (time modifiers) past the guards, and the
    sentinel at ``start``."""
    gap = f"if(match(_gr_key, \"^(?:nat|edr)=\"), 0, `{MERGE_MACRO}`)" if tight else f"`{MERGE_MACRO}`"
    def fields_of(kind: str) -> str:
        if kind == "host":
            return " OR ".join(f'{name}=\\"*" . _gr_value . "*\\"' for name in KEY_FIELDS[kind])
        if kind == "inv":
            return " OR ".join(f'{name}=\\"*invocation-id/" . _gr_value . "*\\"' for name in KEY_FIELDS[kind])
        if kind == "project":
            return " OR ".join(f'{name}=\\"" . _gr_value . "\\"' for name in KEY_FIELDS[kind])
        return " OR ".join(f'{name} IN (" . _gr_in . ")' for name in KEY_FIELDS[kind])

    return [
        "mvexpand _gr_key",
        "where isnotnull(_gr_key)",
        "eval _gr_lo=tonumber(mvindex(split(_gr_key, \"|\"), 1)), _gr_hi=tonumber(mvindex(split(_gr_key, \"|\"), 2)), "
        f"_gr_hi=if(isnull(_gr_hi), null(), {hi}), _gr_key=mvindex(split(_gr_key, \"|\"), 0)",
        "sort 0 _gr_key _gr_lo",
        "streamstats current=f max(_gr_hi) AS _gr_reach by _gr_key",
        f"eval _gr_new=if(isnull(_gr_reach) OR _gr_lo>_gr_reach + {gap}, 1, 0)",
        "streamstats sum(_gr_new) AS _gr_window by _gr_key",
        "stats min(_gr_lo) AS _gr_lo max(_gr_hi) AS _gr_hi by _gr_key _gr_window",
        "eval _gr_span=\"(earliest=\" . floor(_gr_lo) . \" latest=\" . (floor(_gr_hi) + 1) . \")\"",
        "eventstats count AS _gr_windows",
        "stats values(_gr_span) AS _gr_spans max(_gr_windows) AS _gr_windows by _gr_key",
        "eval _gr_kind=replace(_gr_key, \"=.*$\", \"\"), _gr_value=replace(_gr_key, \"^[^=]*=\", \"\"), "
        "_gr_family=if(match(_gr_value, \"^\\d+\\.\\d+\\.\\d+\\.\\d+$\"), \"v4\", \"v6\")",
        "eval " + ", ".join(addresses.render_spellings("_gr_family", "_gr_value", "_gr_sp")),
        "eval _gr_in=mvjoin(mvmap(_gr_sp, \"\\\"\" . _gr_sp . \"\\\"\"), \",\"), "
        + "search=case(" + ", ".join(f"_gr_kind==\"{kind}\", \"({fields_of(kind)})\"" for kind in KEY_FIELDS)
        + ") . \" (\" . mvjoin(_gr_spans, \" OR \") . \")\"",
        "addinfo",
        f"eval _gr_widen=if(_gr_kind==\"widen\" OR _gr_windows>`{cap}` OR time() - info_search_time>"
        f"`{MAX_SECS_MACRO}`, 1, 0)",
        "eventstats max(_gr_widen) AS _gr_widen",
        f"eval search=if(_gr_widen==1, {widest}, search)",
        "dedup search",
        f"append [| makeresults | eval search=\"{ADDRESS_FIELDS[0]}=\\\"{SENTINEL_VALUE}\\\" earliest=\" . "
        f"floor({start}) . \" latest=\" . (floor({start}) + 1)]",
        "fields search",
    ]


def render_check_keys() -> str:
    """The check search's key subsearch (``guardrail_nat_log_check_keys(2)``): :func:`plan_checks` in
    SPL, over the audit entries of ``[lo, hi)`` (epoch seconds)."""
    lo, hi = "`guardrail_nat_log_bucket($from$)`", "`guardrail_nat_log_bucket($to$)`"
    keys = ", ".join([
        'if(_gr_ip_kind=="bad", "widen=address||", null())',
        f'if(_gr_public==1, "nat=" . _gr_ip . "|" . (_time - {m("network_tolerance")}) . "|" . '
        f'(_time + {m("network_tolerance")}), null())',
        f'if(_gr_public==1 AND isnotnull(_gr_host), "host=" . _gr_host . "|" . (_time - {m("fingerprint_window")}) '
        f'. "|" . (_time + {m("fingerprint_window")}), null())',
    ])
    widest = _range_eval(f"{lo} - max({m('selfjoin_window')}, {m('fingerprint_window')}, {m('network_tolerance')})",
                         f"{hi} + max({m('fingerprint_window')}, {m('network_tolerance')})")
    stages = [
        "search ((`gcp_policy_denied`) OR (`gcp_audit_activity`)) `guardrail_nat_log_check_range($from$,$to$)`",
        f"where _time>={lo} AND _time<{hi}",
        f"eval _gr_h=lower(trim(coalesce(gcp_service, \"\"))), "
        f"_gr_host=if(match(_gr_h, {addresses._spl(_HOST.pattern)}), _gr_h, null())",
        "eval " + ", ".join(addresses.render_reduce("caller_ip", "_gr_ip")),
        f"eval _gr_public=if({addresses.render_public('_gr_ip_kind', '_gr_ip')}, 1, 0)",
        "where _gr_public==1 OR _gr_ip_kind==\"bad\"",
        f"eval _gr_key=mvappend({keys})",
        *_render_tail("_gr_hi", widest, lo, tight=True, cap=CHECK_MAX_KEYS_MACRO),
    ]
    return "[" + " | ".join(stages) + "]"
