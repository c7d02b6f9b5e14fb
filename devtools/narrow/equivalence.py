"""Verdicts from the narrowed stream against verdicts from the full stream, row for row.

:func:`compare` runs the engine (``Correlator``, the command's own code, fed value lists as the
command's fast path is) twice over one stream: once over every row, once over the rows a narrowed
run over ``[earliest, latest)`` reads (:mod:`.select`). Both outputs are rendered as the command
renders them; every denied event of the window must come out of both with the same output fields,
evidence lines included.

Both run as the scheduled correlation runs the command (:func:`production`: ``natlog=summary``), with
the same counts of the NAT log's checks appended after the stream (``guardrail_nat_log_counts``):
by default the counts :mod:`devtools.natlog` finds over the full stream given. The narrowed run also
gets what ``guardrail_nat_presence`` appends (:mod:`.presence`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from guardrail.correlate.engine import Correlator
from guardrail.correlate.model import OUTPUT_FIELDS
from guardrail.correlate.options import Options
from guardrail.correlate.render import to_record

from devtools import natlog

from . import presence
from .keys import MAX_KEYS, MERGE_SECS, AuditView, Plan, Ranges, plan, plan_presence
from .select import Narrowing, view_from_row

Value = Union[str, Sequence[str]]
Row = Mapping[str, Value]


def table(rows: Sequence[Row]) -> Tuple[List[str], List[List[str]]]:
    """A CSV header and value lists the way splunkd sends rows (``__mv_`` columns for lists)."""
    names: Dict[str, None] = {}
    for row in rows:
        for name in row:
            names.setdefault(name, None)
    header = list(names)
    columns = header + ["__mv_" + n for n in header]
    out: List[List[str]] = []
    for row in rows:
        plain: List[str] = []
        mv: List[str] = []
        for name in header:
            value = row.get(name, "")
            if isinstance(value, str):
                plain.append(value)
                mv.append("")
            else:
                plain.append("\n".join(value))
                mv.append("$" + "$;$".join(v.replace("$", "$$") for v in value) + "$")
        out.append(plain + mv)
    return columns, out


def production() -> Options:
    """The options the scheduled correlation passes (``guardrail_correlate``)."""
    return Options(natlog="summary")


def counts_of(rows: Sequence[Row], options: Optional[Options] = None) -> List[Row]:
    """The NAT log's check counts over ``rows`` (what the check search keeps for them)."""
    return list(natlog.counts(natlog.checks(newest_first(rows), options or production())))


def newest_first(rows: Sequence[Row]) -> List[Row]:
    return sorted(rows, key=lambda r: -float(str(r.get("_time") or 0)))


def verdicts(rows: Sequence[Row], options: Options, earliest: float, latest: float,
             chunk: int = 50000, counts: Sequence[Row] = ()) -> Dict[str, Dict[str, object]]:
    """Output fields per denied event of ``[earliest, latest)``, keyed by insertId (``counts``
    appended after the stream, as the correlation appends them)."""
    engine = Correlator(options)
    ordered = newest_first(rows) + list(counts)
    released = []
    for start in range(0, max(len(ordered), 1), chunk):
        header, values = table(ordered[start:start + chunk])
        released += engine.feed_rows(header, values)
    released += engine.finish()
    out: Dict[str, Dict[str, object]] = {}
    for item in released:
        if item.entry is None or not earliest <= item.entry.time < latest:
            continue
        record = to_record(item)
        key = item.entry.insert_id or f"{item.entry.time}|{item.entry.method}|{item.entry.caller_ip}"
        if key in out:
            raise AssertionError(f"denied event {key} came out twice")
        out[key] = {name: record.get(name) for name in OUTPUT_FIELDS}
    return out


@dataclass
class Comparison:
    earliest: float
    latest: float
    plan: Plan
    rows_full: int
    rows_narrowed: int
    full: Dict[str, Dict[str, object]]
    narrowed: Dict[str, Dict[str, object]]
    differences: List[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences


def audit_views(rows: Sequence[Row]) -> List[AuditView]:
    """The audit entries of a stream as the key search sees them."""
    return [v for v in (view_from_row(r) for r in rows) if v is not None]


def narrowed_rows(rows: Sequence[Row], earliest: float, latest: float, options: Optional[Options] = None,
                  max_keys: int = MAX_KEYS, merge_secs: float = MERGE_SECS, elapsed: float = 0.0,
                  views: Optional[Sequence[AuditView]] = None) -> Tuple[Plan, List[Row]]:
    """The key plan of a run and the rows it reads (``views``: :func:`audit_views` of ``rows``,
    when the caller already has them)."""
    options = options or production()
    if views is None:
        source_lo, source_hi = Ranges(earliest, latest, options).key_source
        views = audit_views([r for r in rows if source_lo <= float(str(r.get("_time") or 0)) < source_hi])
    keyplan = plan(views, earliest, latest, options, max_keys=max_keys, merge_secs=merge_secs, elapsed=elapsed)
    return keyplan, Narrowing(keyplan, options).select(rows)


def presence_rows(rows: Sequence[Row], earliest: float, latest: float, options: Optional[Options] = None,
                  max_keys: int = MAX_KEYS, elapsed: float = 0.0,
                  views: Optional[Sequence[AuditView]] = None) -> List[Dict[str, str]]:
    """What ``guardrail_nat_presence`` appends to a narrowed run over ``rows``."""
    options = options or production()
    if views is None:
        views = audit_views(rows)
    keyplan = plan_presence(views, earliest, latest, options, max_keys=max_keys, elapsed=elapsed)
    return presence.select(keyplan, rows, options)


def in_range(rows: Sequence[Row], earliest: float, latest: float, options: Optional[Options] = None) -> List[Row]:
    """The full stream of a run: every row within its time range (:attr:`Ranges.everything`), of
    every kind, as the app's searches read evidence before narrowing."""
    lo, hi = Ranges(earliest, latest, options or production()).everything
    return [r for r in rows if lo <= float(str(r.get("_time") or 0)) < hi]


def compare(rows: Sequence[Row], earliest: float, latest: float, options: Optional[Options] = None,
            max_keys: int = MAX_KEYS, elapsed: float = 0.0, narrowed: Optional[Sequence[Row]] = None,
            views: Optional[Sequence[AuditView]] = None, counts: Optional[Sequence[Row]] = None,
            seen: Optional[Sequence[Row]] = None) -> Comparison:
    """Both runs over ``rows`` (the full stream) for the denials of ``[earliest, latest)``.

    ``narrowed`` replaces the mirror's selection (rows picked from a wider stream than the run's range,
    or a test that breaks it on purpose); ``counts`` the NAT log's check counts found over ``rows``;
    ``seen`` what ``guardrail_nat_presence`` appends to the narrowed run (by default, its mirror over
    ``rows``).
    """
    options = options or production()
    if counts is None:
        counts = counts_of(rows, options) if options.natlog == "summary" else []
    if views is None:  # the audit entries both key searches read, parsed once
        source_lo, source_hi = Ranges(earliest, latest, options).key_source
        views = audit_views([r for r in rows if source_lo <= float(str(r.get("_time") or 0)) < source_hi])
    if seen is None:
        seen = presence_rows(rows, earliest, latest, options, max_keys=max_keys, elapsed=elapsed, views=views)
    if narrowed is None:
        keyplan, chosen = narrowed_rows(rows, earliest, latest, options, max_keys=max_keys, elapsed=elapsed,
                                        views=views)
    else:
        keyplan, _ = narrowed_rows([], earliest, latest, options, max_keys=max_keys, elapsed=elapsed, views=views)
        chosen = list(narrowed)
    full = verdicts(rows, options, earliest, latest, counts=counts)
    # guardrail_presence's rows are sorted into the stream by time (a device's name in one of them is
    # known before the calls around it are weighed), the counts appended after it
    narrow = verdicts(list(chosen) + list(seen), options, earliest, latest, counts=counts)
    out = Comparison(earliest, latest, keyplan, len(rows), len(chosen) + len(seen), full, narrow)
    for key in sorted(set(full) | set(narrow)):
        a, b = full.get(key), narrow.get(key)
        if a != b:
            out.differences.append(f"{key}: full {a!r} != narrowed {b!r}")
    return out
