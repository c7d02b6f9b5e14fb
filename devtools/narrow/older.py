"""The lookback's older leases and logons, one row per binding: ``guardrail_interval_dedup(2)``.

A run reads interval evidence over the whole lookback (12 hours), but of the rows stamped well
before its first call the engine uses only the latest of each binding:

* a DHCP lease: the latest lease (or release) of an address before the call (``device_of``);
* an interactive logon, Windows or FDR: the latest logon on a device before the call, the one before
  it when that is within the clock's skew of the call, and the latest of anyone else before a remote
  logon (``user_on``): each is the latest row of its device and person.

So of the rows older than :func:`older_than` (before every call's reach, and before every point
evidence window of the run), two that differ only in ``_time`` say the same thing, and the newer
one says it later: the search keeps the first of each (Splunk returns events newest first,
``dedup`` keeps the first it sees). Two rows are the same binding when every field the engine
reads of a lease, a logon or an FDR event is the same (:data:`FIELDS`, from the engine's own
field lists, and ``tag``), so nothing the engine could tell apart is dropped. VPN rows are kept
whole: a session is the pairing of its start and end rows, which the newest row alone cannot say.
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from guardrail.correlate.evidence import FDR_FIELDS, FIELDS_BY_KIND, KIND_AUTH, KIND_DHCP
from guardrail.correlate.options import Options

from . import filters
from .keys import _e, m, near_host_reach, render_near_host_reach

Value = Union[str, Sequence[str]]
Row = Mapping[str, Value]

#: Every field the engine reads of a lease, a device logon or an FDR event, and the tags that say
#: which it is.
FIELDS: Tuple[str, ...] = tuple(dict.fromkeys(("tag",) + FIELDS_BY_KIND[KIND_DHCP] + FIELDS_BY_KIND[KIND_AUTH]
                                              + FDR_FIELDS))


def older_than(earliest: float, options: Options) -> float:
    """Rows before this are older than any call of the run can reach: before its key source range
    (the run's denials, the calls agents acted for, ``point_back`` earlier), the proxy windows of
    the visible calls there, and the clock's skew."""
    o = options
    return (math.floor(earliest - o.agent_window - o.point_back) - near_host_reach(o)
            - max(o.skew, o.network_tolerance))


def _vpn_only(tags: Sequence[str]) -> bool:
    words = {t.lower() for t in tags}
    return "vpn" in words and "dhcp" not in words


def key(row: Row, t: float, before: float) -> Optional[str]:
    """The binding a row older than ``before`` states (None: the row is kept whatever it says)."""
    if t >= before:
        return None
    tags = filters.values(row, "tag")
    if not tags and not filters.values(row, "event_simpleName"):
        return None
    if _vpn_only(tags):
        return None
    parts = []
    for name in FIELDS:
        text = "|".join(filters.values(row, name))
        parts.append(f"{len(text)}:{text}")  # the length first: no value can run into the next
    return "|".join(parts)


class OlderBindings:
    """:func:`key` over a stream newest first: whether a row is the first of its binding."""

    def __init__(self, earliest: float, options: Options) -> None:
        self.before = older_than(earliest, options)
        self._seen: Dict[str, None] = {}

    def first(self, row: Row, t: float) -> bool:
        found = key(row, t, self.before)
        if found is None:
            return True
        if found in self._seen:
            return False
        self._seen[found] = None
        return True


def render_older_than() -> str:
    """:func:`older_than` as an eval expression."""
    return (f"(floor({_e()} - {m('agent_window')} - `guardrail_point_back`) - {render_near_host_reach()} "
            f"- max({m('skew')}, {m('network_tolerance')}))")


def render() -> str:
    """The pipeline of ``guardrail_interval_dedup(2)``: :class:`OlderBindings` in SPL."""
    def part(name: str) -> str:
        text = f"coalesce(mvjoin('{name}', \"|\"), \"\")"
        return f"len({text}) . \":\" . {text}"

    joined = " . \"|\" . ".join(part(name) for name in FIELDS)
    return ("eval _gr_older=if(_time<" + render_older_than() + " AND (isnotnull(tag) OR isnotnull(event_simpleName)) "
            "AND NOT (isnotnull(mvfind(tag, \"(?i)^vpn$\")) AND isnull(mvfind(tag, \"(?i)^dhcp$\"))), md5("
            + joined + "), null()) | dedup _gr_older keepempty=true | fields - _gr_older")
