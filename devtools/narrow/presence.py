"""Who else was behind a caller's address around the call: ``guardrail_presence(2)``.

An office egress shows itself by the translations of its other devices minutes from a call, even
when the call's own translation was lost; a home shows itself by the one person whose devices' EDR
records come from it. The engine asks only whether there is a translation within the call's horizon
``[t - point_back, t + forward]``, and which devices and people the EDR records there name
(``rules.presence``, ``rules.devices_seen``), never how many records or when. Reading every
translation and EDR record of a busy egress over each call's eight minutes was the largest part of
a run's rows.

So a run reads them only at the calls' seconds (the ``nat`` and ``edr`` keys of
:func:`devtools.narrow.keys.plan`: within ``network_tolerance`` and the clock's ``skew``), and an
appended search (``egress`` and ``devices`` keys, :func:`devtools.narrow.keys.plan_presence`)
reduces those of the horizons, on the indexers, to the first and the last per address (and, of EDR records, per device
and user) and stretch of ``point_back + forward`` seconds. That answers the questions exactly: an
interval at least one stretch long holds a boundary between stretches, so it covers the end of the
stretch before it (where any record means the last one is in it), the beginning of the next (where
any record means the first one is in it), and whole stretches between. The rows come to the command
after the evidence, like the NAT log's check counts: ``nat_log_ip``, ``_time`` and ``nat_log_seen``,
``1`` for a translation, ``device`` for an EDR record with its ``aid``, ``ComputerName``,
``aid_computer_name`` and ``UserName``.

A translation counts as the engine counts one: to a web port (or none), from an internal address.
"""

from __future__ import annotations

import itertools
import math
from typing import Dict, Iterable, List, Mapping, Sequence, Set, Tuple, Union

from guardrail.correlate.evidence import WEB_PORTS
from guardrail.correlate.options import Options

from . import filters
from .keys import KEY_FIELDS, MAX_SECS, MAX_SECS_MACRO, Plan
from .select import KeyMatcher, is_edr, is_nat, key_values

Value = Union[str, Sequence[str]]
Row = Mapping[str, Value]

_WEB_PORTS = tuple(sorted(p for p in WEB_PORTS if p))
#: The fields that name a device and its user in an EDR record (as ``parse_fdr`` reads them).
DEVICE_FIELDS = ("aid", "ComputerName", "aid_computer_name", "UserName")
#: What a device field without a value is grouped as (stats drops rows without a by-field).
NONE = "guardrail:none"


def stretch(options: Options) -> float:
    """Seconds of one stretch: a call's horizon, ``point_back + forward``."""
    return options.point_back + options.forward


def is_device(row: Row) -> bool:
    """An EDR record (the search's ``isnotnull(event_simpleName)``)."""
    return bool(filters.values(row, "event_simpleName"))


def counted(row: Row) -> bool:
    """A record the engine would index: any EDR record the search reads, a translation to a web port
    (or none) from an internal address (the ``where`` of the search)."""
    if is_device(row):
        return True
    if not filters.values(row, "src_ip"):
        return False
    ports = filters.values(row, "dest_port")
    return not ports or (len(ports) == 1 and ports[0].strip(" \t") in WEB_PORTS)


#: Most rows the search appends (``guardrail_presence_max_rows``), under ``append``'s 50,000.
MAX_ROWS = 40_000
MAX_ROWS_MACRO = "guardrail_presence_max_rows"
#: What the search appends instead when it would pass :data:`MAX_ROWS` or ran too long: every
#: address counts as one where others were seen (nobody is taken for the only person at an address).
ALL = {"nat_log_ip": "*", "nat_log_seen": "all"}


def rows(records: Iterable[Tuple[Row, float]], options: Options, max_rows: int = MAX_ROWS,
         elapsed: float = 0.0, max_secs: float = MAX_SECS) -> List[Dict[str, str]]:
    """What the appended search outputs for the records it read (``(row, _time)``): the first and
    the last time per address (each value; ``aip`` of an EDR record, ``src_translated_ip`` of a
    translation) of its translations per half stretch, and of its EDR records per device and user
    (each combination of values) and stretch.

    The engine asks the EDR records only around a call with no translation there, so a stretch's
    records of an address go where every half stretch from the one before to the one after holds
    a translation: a call's horizon reaching into the stretch lies within those three stretches and
    holds a whole half stretch of them."""
    span = stretch(options)
    found: Dict[Tuple[str, Tuple[str, ...], int], Tuple[float, float]] = {}
    for row, t in records:
        if not counted(row):
            continue
        device = is_device(row)
        at = filters.values(row, KEY_FIELDS["devices" if device else "egress"][0])
        named = [filters.values(row, name) or [NONE] if device else [NONE] for name in DEVICE_FIELDS]
        part = math.floor(t / span) if device else math.floor(t / (span / 2))
        for ip in at:
            for who in itertools.product(*named):
                key = (ip, ("device", *who) if device else ("1", *who), part)
                lo, hi = found.get(key, (t, t))
                found[key] = (min(lo, t), max(hi, t))
    halves: Dict[str, Set[int]] = {}
    for ip, kind, part in found:
        if kind[0] == "1":
            halves.setdefault(ip, set()).add(part)
    out: List[Dict[str, str]] = []
    for (ip, kind, part), (lo, hi) in sorted(found.items()):
        seen, who = kind[0], kind[1:]
        if seen == "device" and all(h in halves.get(ip, ()) for h in range(2 * part - 2, 2 * part + 4)):
            continue  # every call reaching into the stretch had a translation around it
        for t in sorted({lo, hi}):
            row_out = {"_time": f"{t:.3f}", "nat_log_ip": ip, "nat_log_seen": seen}
            row_out.update({name: value for name, value in zip(DEVICE_FIELDS, who) if value != NONE})
            out.append(row_out)
    if out and (len(out) > max_rows or elapsed > max_secs):
        return [{"_time": out[0]["_time"], **ALL}]
    return out


def select(plan: Plan, stream: Iterable[Row], options: Options, max_rows: int = MAX_ROWS,
           elapsed: float = 0.0) -> List[Dict[str, str]]:
    """:func:`rows` of the translations and EDR records of ``stream`` under ``plan``
    (:func:`~.keys.plan_presence`)."""
    matcher = KeyMatcher(plan, options)
    chosen: List[Tuple[Row, float]] = []
    for row in stream:
        if not (is_nat(row) or is_edr(row)):
            continue
        try:
            t = float(str(row.get("_time")))
        except ValueError:
            continue
        if matcher.matches_values(key_values(row), t):
            chosen.append((row, t))
    return rows(chosen, options, max_rows, elapsed)


def render() -> str:
    """The pipeline step of ``guardrail_presence(2)``."""
    ports = ", ".join(f'"{p}"' for p in _WEB_PORTS)
    none = f'"{NONE}"'
    keep = ", ".join(f"{name}=if(_gr_device==1, coalesce({name}, {none}), {none})" for name in DEVICE_FIELDS)
    back = ", ".join(f"{name}=if({name}=={none}, null(), {name})" for name in DEVICE_FIELDS)
    return ("append [search ((`evidence_nat`) OR (`evidence_edr`)) `guardrail_presence_keys($earliest$,$latest$)` "
            "| eval _gr_device=if(isnotnull(event_simpleName), 1, 0) "
            "| where _gr_device==1 OR (isnotnull(src_ip) AND (isnull(dest_port) OR (mvcount(dest_port)==1 AND "
            f"in(trim(dest_port), \"\", {ports})))) "
            "| eval _gr_at=if(_gr_device==1, aip, src_translated_ip), "
            "_gr_stretch=floor(_time / ((`guardrail_point_back` + `guardrail_forward`) / if(_gr_device==1, 1, 2))), "
            + keep + " "
            "| stats min(_time) AS _gr_first max(_time) AS _gr_last by _gr_device _gr_at "
            + " ".join(DEVICE_FIELDS) + " _gr_stretch "
            "| eval _gr_half=if(_gr_device==0, _gr_stretch, null()) "
            "| eventstats values(_gr_half) AS _gr_halves by _gr_at "
            "| where _gr_device==0 OR coalesce(mvcount(mvmap(_gr_halves, if(tonumber(_gr_halves)>=2 * _gr_stretch - 2 "
            "AND tonumber(_gr_halves)<=2 * _gr_stretch + 3, 1, null()))), 0)<6 "
            "| eval _time=mvdedup(mvappend(_gr_first, _gr_last)) | mvexpand _time "
            "| eval nat_log_ip=_gr_at, nat_log_seen=if(_gr_device==1, \"device\", \"1\"), " + back + " "
            "| eventstats count AS _gr_rows | addinfo "
            f"| eval _gr_cut=if(_gr_rows>`{MAX_ROWS_MACRO}` OR time() - info_search_time>`{MAX_SECS_MACRO}`, 1, 0) "
            "| eventstats max(_gr_cut) AS _gr_cut "
            "| appendpipe [head 1 | where _gr_cut==1 | eval nat_log_ip=\"*\", nat_log_seen=\"all\", "
            + ", ".join(f"{name}=null()" for name in DEVICE_FIELDS) + ", _gr_cut=2] "
            "| where _gr_cut!=1 "
            "| fields _time nat_log_ip nat_log_seen " + " ".join(DEVICE_FIELDS) + " "
            "| fields - _gr_device _gr_at _gr_first _gr_last _gr_stretch _gr_half _gr_halves _gr_rows _gr_cut info_*]")


__all__ = ["ALL", "DEVICE_FIELDS", "MAX_ROWS", "counted", "is_device", "render", "rows", "select", "stretch"]
