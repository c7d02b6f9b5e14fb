"""`make bench-scale`: one business hour at 10 000 employees, correlated unnarrowed and narrowed.

The stream is :class:`devtools.narrow.volume.Hour`: every log row of the hour and of the lookback
before it, minute by minute, newest first. The engine (``Correlator``, the command's own code fed
value lists as its fast path is) runs over it several times, in two processes that each stream the
same seeded rows (one the unnarrowed runs, one the narrowed; ``--serial`` for one process):

* ``full``: one correlation of the hour's denials over the evidence as the evidence macros read it
  before they carried filters (every proxy, NAT, EDR and IdP row around the calls, every VPN,
  DHCP and logon row of the lookback, every audit entry around the calls);
* ``narrowed``: the same correlation over what the narrowed search reads (:mod:`devtools.narrow.select`,
  the mirror of ``guardrail_correlation_input``), keys from the hour's own audit entries;
* one narrowed correlation per run of the scheduled search (every 5 minutes, 15-minute windows)
  that touches the hour: the search head's cost of an alert cycle; and the busiest of them once
  more unnarrowed, over its own range.

Every correlation runs as the scheduled one does (``natlog=summary``), with the NAT log's check counts
appended after its stream; a narrowed one also gets what ``guardrail_presence`` appends, sorted into
its stream by time (the mirror, :mod:`devtools.narrow.presence`, over the translations and EDR
records its keys read, in a first pass over the same seeded stream; counted as rows, its reduction on
the indexers is not in the CPU). The counts come from the check search's own runs in the same pass: the
command in checks mode over what ``guardrail_nat_log_check_input`` reads, once over every bucket
the model has audit entries for, unnarrowed, in one process; and once per run of the search (every
15 minutes, one bucket each) over every bucket in the other: the search head's cost of the checks,
and each run's counts must equal the unnarrowed pass's.

CPU is process time spent inside the engine (what the search head spends on correlation; the
indexers' share of the narrowing is not in it). The largest cycle also goes through the real
command over SCP v2 under Splunk's Python, for the command's own CPU including its CSV reading and
writing. The verdicts of a narrowed run must equal those of the unnarrowed run over the same range,
row for row (the hour's, and the busiest cycle's: a cycle is held to its own unnarrowed twin, since
what a run reads ends with it).

Also reported: rows per hour reaching the command under the app's former design (five alerts each
correlating their own window over ten hours of session evidence, about 35 runs an hour) and under
the summary (12 runs). Numbers only; ``build/bench-scale.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "devtools"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from guardrail.correlate.engine import Correlator  # noqa: E402
from guardrail.correlate.evidence import FDR_FIELDS, FIELDS_BY_KIND  # noqa: E402
from guardrail.correlate.index import CHECK_BUCKET, bucket_of  # noqa: E402
from guardrail.correlate.model import OUTPUT_FIELDS  # noqa: E402
from guardrail.correlate.options import Options  # noqa: E402
from guardrail.correlate.render import to_record  # noqa: E402

from devtools import natlog  # noqa: E402
from devtools.narrow import keys, presence, select  # noqa: E402
from devtools.narrow.volume import Hour  # noqa: E402
from devtools.scenarios import Row  # noqa: E402
from devtools.scenarios.evaluate import insert_id  # noqa: E402

COMMAND = ROOT / "bin" / "correlatepolicydenied.py"
ADDRESS_KEY_FIELDS = tuple(dict.fromkeys(n for kind in ("ip", "nat", "edr", "egress", "devices", "audit")
                                         for n in keys.KEY_FIELDS[kind]))
HOST_FIELDS = keys.KEY_FIELDS["host"]
NO_VALUES: Dict[str, List[str]] = {}
# The correlating alerts before the summary: (cron period in minutes, window start, window end,
# point evidence start), minutes before the run; session evidence was read from 10 hours back.
FORMER_ALERTS = ((5, 20, 5, 30), (15, 40, 10, 50), (15, 40, 10, 50), (20, 70, 10, 80), (5, 25, 5, 35))
FORMER_SESSION_MINUTES = 600


def kind_of(row: Row) -> str:
    """What a row is, for the sizing: audit entry, or the evidence kind the engine reads it as."""
    if row.get("nat_log_seen"):
        return "translations and devices seen"
    audit, _interval, _keyed = select.classify(row)
    if audit or "protoPayload" in str(row.get("_raw", "")):
        return "audit"
    if row.get("event_simpleName"):
        return "fdr logon" if select.is_edr_logon(row) else "edr"
    for name, test in (("vpn", select.is_vpn), ("dhcp", select.is_dhcp), ("proxy", select.is_proxy),
                       ("nat", select.is_nat), ("sign-in", select.is_idp), ("logon", select.is_logon),
                       ("sign-in", select.is_signin)):
        if test(row):
            return name
    return "other"


class Run:
    """One correlation: its rows, its engine, the CPU spent in it."""

    def __init__(self, name: str, earliest: float, latest: float, options: Options,
                 narrowing: Optional[select.Narrowing | select.CheckNarrowing]) -> None:
        self.name, self.earliest, self.latest = name, earliest, latest
        self.narrowing = narrowing
        self.engine = Correlator(options)
        self.rows = 0
        self.cpu = 0.0
        self.released: List[object] = []
        self.keep: Optional[List[Row]] = None
        #: narrowed: the keys of guardrail_presence, the translations and EDR records they read, its rows
        #: (newest first) and how many of them the engine has had
        self.presence: Optional[select.KeyMatcher] = None
        self.translations: List[Tuple[Row, float]] = []
        self.seen: List[Dict[str, str]] = []
        self._seen_fed = 0
        #: rows by kind (the hour's narrowed run), for the sizing
        self.by_kind: Optional[Counter[str]] = None
        ranges = keys.Ranges(earliest, latest, options)
        self.intervals = ranges.intervals
        # unnarrowed: every point row and audit entry of the run's range
        self.points = ranges.key_source

    def takes(self, row: Row, t: float, kinds: Tuple[bool, bool, bool], former: Optional[str],
              values: Optional[Mapping[str, Sequence[str]]]) -> bool:
        if self.narrowing is not None:
            return bool(self.narrowing.keep_classified(row, t, kinds, values))
        if former == "interval":
            return self.intervals[0] <= t < self.intervals[1]
        if former in ("point", "audit"):
            return self.points[0] <= t < self.points[1]
        return False

    def feed(self, header: List[str], rows: Sequence[Row], values: List[List[str]]) -> None:
        """Hand the engine ``rows``, given as their ``values`` in ``header`` order."""
        if not rows:
            return
        started = time.process_time()
        self.released += self.engine.feed_rows(header, values)
        self.cpu += time.process_time() - started
        self.rows += len(rows)
        if self.keep is not None:
            self.keep.extend(rows)
        if self.by_kind is not None:
            self.by_kind.update(kind_of(row) for row in rows)

    def feed_seen(self, down_to: float) -> None:
        """Hand the engine what guardrail_presence appends, as far back as ``down_to``: the search
        sorts those rows into the stream by time (newest first)."""
        start = self._seen_fed
        while self._seen_fed < len(self.seen) and float(self.seen[self._seen_fed]["_time"]) >= down_to:
            self._seen_fed += 1
        rows = self.seen[start:self._seen_fed]
        if rows:
            header = ["_time", "nat_log_ip", "nat_log_seen", *presence.DEVICE_FIELDS]
            self.feed(header, cast(List[Row], rows), [[r.get(h, "") for h in header] for r in rows])

    def finish(self, counts: Sequence[Mapping[str, str]] = ()) -> Dict[str, Dict[str, object]]:
        """The verdicts, the NAT log's check ``counts`` appended after the stream first."""
        self.feed_seen(float("-inf"))
        started = time.process_time()
        if counts:
            header = list(counts[0])
            self.released += self.engine.feed_rows(header, [[str(c[h]) for h in header] for c in counts])
            self.rows += len(counts)
            if self.by_kind is not None:
                self.by_kind["check counts"] += len(counts)
        self.released += self.engine.finish()
        self.cpu += time.process_time() - started
        out: Dict[str, Dict[str, object]] = {}
        for item in self.released:
            entry = getattr(item, "entry", None)
            if entry is None or not self.earliest <= entry.time < self.latest:
                continue
            record = to_record(item)  # type: ignore[arg-type]
            out[entry.insert_id] = {name: record.get(name) for name in OUTPUT_FIELDS}
        self.released = []
        return out


class CheckRun(Run):
    """The NAT log's check search over the buckets of ``[earliest, latest)``: the command in checks
    mode over what the search reads (``narrowing``: :class:`select.CheckNarrowing`), or unnarrowed
    over every audit entry, translation and proxy request of its range."""

    def __init__(self, name: str, earliest: float, latest: float, options: Options,
                 narrowing: Optional[select.CheckNarrowing]) -> None:
        super().__init__(name, earliest, latest, dataclasses.replace(options, natlog="checks"), narrowing)
        self.audit = keys.check_audit_range(earliest, latest, options)
        self.points = keys.check_range(earliest, latest, options)
        self.kinds: Counter[str] = Counter()
        self.widened = narrowing is not None and narrowing.keys.widened

    def feed(self, header: List[str], rows: Sequence[Row], values: List[List[str]]) -> None:
        for row in rows:
            self.kinds["nat" if select.is_nat(row) else "proxy" if select.is_proxy(row) else "audit"] += 1
        super().feed(header, rows, values)

    def takes(self, row: Row, t: float, kinds: Tuple[bool, bool, bool], former: Optional[str],
              values: Optional[Mapping[str, Sequence[str]]]) -> bool:
        if isinstance(self.narrowing, select.CheckNarrowing):
            return self.narrowing.keep_classified(row, t, kinds, values)
        if former == "audit":
            return self.audit[0] <= t < self.audit[1]
        return former == "point" and (select.is_nat(row) or select.is_proxy(row)) and \
            self.points[0] <= t < self.points[1]

    def counts(self) -> List[Dict[str, str]]:
        """The counts the search writes for its buckets."""
        started = time.process_time()
        self.released += self.engine.finish()
        self.cpu += time.process_time() - started
        found = [to_record(item) for item in self.released]  # type: ignore[arg-type]
        self.released = []
        return natlog.counts(found, self.earliest, self.latest)


def header_of(hour: Hour) -> List[str]:
    """The columns the command is handed: every field of the audit entries, and the evidence fields
    it reads (the others cost it nothing; leaving them out keeps the bench's own copying short)."""
    names: Dict[str, None] = {"_time": None, "_raw": None, "tag": None, "event_simpleName": None}
    for rows in hour.planned.values():
        for row in rows:
            for name in row:
                names.setdefault(name, None)
    for fields in (*FIELDS_BY_KIND.values(), FDR_FIELDS):
        for name in fields:
            names.setdefault(name, None)
    return list(names)


def command_cpu(rows: List[Row], python: str) -> Dict[str, object]:
    """The real command over SCP v2 on ``rows``: its own CPU (user + system of the child)."""
    from devtools.scp import run_command

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = run_command(COMMAND, python, ["natlog=summary"], rows)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"python": python, "rows": len(rows), "returncode": out.returncode, "verdicts": len(out.rows),
            "cpu_seconds": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
            "wall_seconds": round(time.perf_counter() - started, 2)}


def former_rows_per_hour(per_minute: Dict[int, Dict[str, int]], hour: Hour) -> int:
    """Rows the former alerts moved to the command over the hour (each run counted over its ranges)."""
    total = 0
    for period, _start, end, point in FORMER_ALERTS:
        now = hour.start + period * 60
        while now <= hour.end:
            minute = int(now // 60)
            for m in range(minute - FORMER_SESSION_MINUTES, minute - end):
                counts = per_minute.get(m, {})
                total += counts.get("interval", 0)
                if m >= minute - point:
                    total += counts.get("point", 0) + counts.get("audit", 0)
            now += period * 60
    return total


#: The two halves of the bench, each streamed by a process of its own (one per core): the
#: unnarrowed runs, and the narrowed ones (the hour's and every scheduled run's).
GROUPS = ("unnarrowed", "narrowed")


def correlate(args: argparse.Namespace, group: str) -> Dict[str, object]:
    """Stream the hour once through the runs of ``group``; their rows, CPU and verdicts."""
    options = Options(natlog="summary")  # as guardrail_correlate runs the command
    hour = Hour(args.employees, args.seed, options=options)
    views = [v for rows in hour.planned.values() for v in (select.view_from_row(r) for r in rows) if v is not None]

    def narrowing(earliest: float, latest: float) -> Tuple[select.Narrowing, keys.Plan]:
        plan = keys.plan(views, earliest, latest, options)
        return select.Narrowing(plan, options), plan

    def presence_keys(run: Run) -> Run:
        run.presence = select.KeyMatcher(keys.plan_presence(views, run.earliest, run.latest, options), options)
        return run

    windows = hour.runs()
    # the NAT log's checks: every complete bucket the model has audit entries for, counted by the
    # check search's runs (every 15 minutes, one bucket each), and once unnarrowed over all of them
    # (the other process)
    check_lo = bucket_of(hour.point_from) + CHECK_BUCKET
    check_hi = bucket_of(hour.last)
    step = int(CHECK_BUCKET)
    check_windows = [(float(b), float(b + step)) for b in range(int(check_lo), int(check_hi), step)]

    def check_narrowing(lo: float, hi: float) -> select.CheckNarrowing:
        return select.CheckNarrowing(keys.plan_checks(views, lo, hi, options), options)

    # the busiest scheduled run: the most denials in its window
    busiest_i = max(range(len(windows)),
                    key=lambda i: sum(1 for t in hour.denied.values() if windows[i][0] <= t < windows[i][1]))
    out: Dict[str, object] = {"busiest": busiest_i}
    if group == "unnarrowed":
        # a verdict depends on the end of its run (the NAT log's checks look up to two hours past the
        # call): the busiest cycle is held to an unnarrowed run over its own range
        e, latest = windows[busiest_i]
        checks: List[CheckRun] = [CheckRun("checks unnarrowed", check_lo, check_hi, options, None)]
        runs = [Run("full", hour.start, hour.end, options, None),
                Run("busiest unnarrowed", e, latest, options, None)]
    else:
        hour_narrowing, hour_plan = narrowing(hour.start, hour.end)
        out.update(key_windows=len(hour_plan.windows), widened=hour_plan.widened)
        runs = [presence_keys(Run("narrowed", hour.start, hour.end, options, hour_narrowing)),
                *(presence_keys(Run(f"cycle {i}", e, latest, options, narrowing(e, latest)[0]))
                  for i, (e, latest) in enumerate(windows))]
        checks = [CheckRun(f"check cycle {i}", lo, hi, options, check_narrowing(lo, hi))
                  for i, (lo, hi) in enumerate(check_windows)]
        runs[0].by_kind = Counter()
        if not args.no_command:
            runs[1 + busiest_i].keep = []
    counted = len(runs)
    runs = [*runs, *checks]
    # what any run's keys could match: a row none of them can match is decided without them
    spelled = {form for run in runs if run.narrowing is not None for form in run.narrowing.keys.spelled}
    wildcards = any(run.narrowing.keys.wild for run in runs if run.narrowing is not None)
    hosts = {host for run in runs if run.narrowing is not None for host, _ in run.narrowing.keys.hosts}
    widened = any(run.narrowing.keys.widened for run in runs if run.narrowing is not None)
    unnarrowed = [run for run in runs if run.narrowing is None]
    header = header_of(hour)
    generated = 0
    per_minute: Dict[int, Dict[str, int]] = {}
    if any(run.presence is not None for run in runs):
        # what guardrail_presence appends needs every translation and EDR record under its keys first:
        # a pass of its own over the same seeded stream (the search reduces them on the indexers)
        for rows in Hour(args.employees, args.seed, options=options).stream():
            for row in rows:
                kinds = select.classify(row)
                if not (kinds[2] and (select.is_nat(row) or select.is_edr(row))):
                    continue
                t, keyed = float(str(row["_time"])), select.key_values(row)
                for run in runs:
                    if run.presence is not None and run.presence.matches_values(keyed, t):
                        run.translations.append((row, t))
        for run in runs:
            if run.presence is not None:
                run.seen = sorted(presence.rows(run.translations, options), key=lambda r: -float(r["_time"]))
                run.translations = []
    for rows in hour.stream():
        generated += len(rows)
        chosen: Dict[str, List[Row]] = {run.name: [] for run in runs}
        # each row's value list is built once, however many runs take it (every value is text here:
        # Hour joins multivalue fields as the command reads them)
        as_values: Dict[int, List[str]] = {}
        for row in rows:
            t = float(str(row["_time"]))
            kinds = select.classify(row)
            former = select.unnarrowed(row)
            if former is not None:
                bucket = per_minute.setdefault(int(t // 60), {})
                bucket[former] = bucket.get(former, 0) + 1
            if not any(kinds):
                for run in unnarrowed:
                    if former is not None and run.takes(row, t, kinds, former, None):
                        chosen[run.name].append(row)
                continue
            values = select.key_values(row) if (kinds[0] or kinds[2]) and not unnarrowed else None
            if values is not None and not kinds[0] and not widened and not (
                    any(v.lower() in spelled or (wildcards and ":" in v)
                        for name in ADDRESS_KEY_FIELDS for v in values.get(name, ()))
                    or any(h in v.lower() for name in HOST_FIELDS for v in values.get(name, ()) for h in hosts)):
                values = NO_VALUES  # no run's key can match it: only its kind and time decide (audit
                # entries keep theirs: their keys are invocation-ids and projects too)
            for run in runs:
                if run.takes(row, t, kinds, former, values):
                    chosen[run.name].append(row)
        oldest = min(float(str(row["_time"])) for row in rows) if rows else float("inf")
        for run in runs:
            run.feed_seen(oldest)  # before the rows they are sorted among: the engine weighs calls as it goes
            taken = chosen[run.name]
            values_of = []
            for row in taken:
                listed = as_values.get(id(row))
                if listed is None:
                    listed = as_values[id(row)] = cast(List[str], [row.get(h, "") for h in header])
                values_of.append(listed)
            run.feed(header, taken, values_of)
    check_runs = cast(List[CheckRun], runs[counted:])
    runs = runs[:counted]
    kept_counts: Dict[Tuple[str, str], Dict[str, str]] = {}
    out["checks"] = []
    for run in check_runs:  # in time order: a later run's counts of a bucket replace the earlier's
        found = run.counts()
        for c in found:
            if check_lo <= float(c["_time"]) < check_hi:
                kept_counts[(c["nat_log_ip"], c["_time"])] = c
        cast(List[object], out["checks"]).append(
            {"name": run.name, "earliest": run.earliest, "latest": run.latest, "rows": run.rows,
             "rows_by_kind": dict(run.kinds), "widened": run.widened, "counts": found, "cpu": run.cpu})
    counts = [kept_counts[k] for k in sorted(kept_counts)]
    done: List[Dict[str, object]] = []
    for run in runs:
        verdicts = run.finish(counts)  # first: the counts it reads are rows too
        done.append({"name": run.name, "earliest": run.earliest, "latest": run.latest, "rows": run.rows,
                     "verdicts": verdicts, "cpu": run.cpu,
                     "rows_by_kind": dict(sorted(run.by_kind.items())) if run.by_kind is not None else None})
    out["runs"] = done
    out.update(start=hour.start, end=hour.end)
    if group == "unnarrowed":
        out.update(generated=generated, rows_by_kind=dict(sorted(hour.counts.items())), denials=dict(hour.denied),
                   former=former_rows_per_hour(per_minute, hour))
    kept = next((run for run in runs if run.keep is not None), None)
    if kept is not None and kept.keep is not None:
        from devtools.scp import runtime

        python = args.python or runtime("3.9") or sys.executable
        kept.keep.sort(key=lambda r: -float(str(r["_time"])))
        kept.keep.extend(cast(List[Row], counts))
        out["cycle_command"] = {"earliest": kept.earliest, "latest": kept.latest, **command_cpu(kept.keep, python)}
    return out


def check_lo_hi(whole: Mapping[str, Any], count: Mapping[str, str]) -> bool:
    """Whether a count's bucket is one of those the unnarrowed pass counted."""
    return float(whole["earliest"]) <= float(count["_time"]) < float(whole["latest"])


def whole_hour(cycle: Mapping[str, Any], start: float, end: float) -> bool:
    """One of the check search's four runs of the hour (one bucket each)."""
    return start <= float(cycle["earliest"]) < end


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--employees", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, default=ROOT / "build" / "bench-scale.json")
    ap.add_argument("--python", default=None, help="interpreter for the command over SCP (Splunk 9's by default)")
    ap.add_argument("--no-command", action="store_true", help="skip the run of the real command over SCP")
    ap.add_argument("--serial", action="store_true", help="both halves in this process, one after the other")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if args.serial:
        halves = {group: correlate(args, group) for group in GROUPS}
    else:
        # the generator is seeded: both processes stream the same rows
        with ProcessPoolExecutor(max_workers=len(GROUPS), mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {group: pool.submit(correlate, args, group) for group in GROUPS}
            halves = {group: future.result() for group, future in futures.items()}
    whole, part = halves["unnarrowed"], halves["narrowed"]
    full, busiest_full = cast(List[Dict[str, Any]], whole["runs"])
    narrowed, *cycles = cast(List[Dict[str, Any]], part["runs"])
    busiest = cycles[cast(int, part["busiest"])]
    denied = cast(Dict[str, float], whole["denials"])
    verdicts_full, verdicts_narrowed = full["verdicts"], narrowed["verdicts"]
    equal = verdicts_full == verdicts_narrowed and len(verdicts_full) == len(denied)
    differences = [f"narrowed {k}: {verdicts_full.get(k)} != {verdicts_narrowed.get(k)}"
                   for k in sorted(set(verdicts_full) | set(verdicts_narrowed))
                   if verdicts_full.get(k) != verdicts_narrowed.get(k)]
    [checks_full] = cast(List[Dict[str, Any]], whole["checks"])
    check_cycles = cast(List[Dict[str, Any]], part["checks"])
    counts = checks_full["counts"]
    by_bucket = {(c["nat_log_ip"], c["_time"]): c for c in counts}
    counts_equal = len(counts) > 0
    for cycle in check_cycles:  # each run of the check search writes what one count over every bucket says
        for c in cycle["counts"]:
            if check_lo_hi(checks_full, c) and by_bucket.get((c["nat_log_ip"], c["_time"])) != c:
                counts_equal = False
                differences.append(f"{cycle['name']}: {c} != {by_bucket.get((c['nat_log_ip'], c['_time']))}")
    hourly = [c for c in check_cycles if whole_hour(c, cast(float, whole["start"]), cast(float, whole["end"]))]
    cycle_report = []
    for cycle in cycles:
        got = cycle["verdicts"]
        report: Dict[str, object] = {"earliest": cycle["earliest"], "latest": cycle["latest"], "rows": cycle["rows"],
                                     "cpu_seconds": round(cycle["cpu"], 3), "verdicts": len(got)}
        if cycle is busiest:
            want = busiest_full["verdicts"]
            same = got == want and len(want) == sum(1 for t in denied.values()
                                                    if cycle["earliest"] <= t < cycle["latest"])
            differences += [f"{cycle['name']} {k}: {want.get(k)} != {got.get(k)}"
                            for k in sorted(set(want) | set(got)) if got.get(k) != want.get(k)]
            equal = equal and same
            report.update({"rows_unnarrowed": busiest_full["rows"],
                           "cpu_seconds_unnarrowed": round(busiest_full["cpu"], 3), "equal": same})
        cycle_report.append(report)
    result: Dict[str, object] = {
        "employees": args.employees,
        "rows_generated": whole["generated"],
        "rows_by_kind": whole["rows_by_kind"],
        "denials": len(denied),
        "rows_full": full["rows"],
        "rows_narrowed": narrowed["rows"],
        "rows_narrowed_by_kind": narrowed["rows_by_kind"],
        "reduction": round(full["rows"] / max(narrowed["rows"], 1), 1),
        "verdicts_equal": equal,
        "cpu_seconds_full": round(full["cpu"], 2),
        "cpu_seconds_narrowed": round(narrowed["cpu"], 2),
        "key_windows": part["key_windows"],
        "widened": part["widened"],
        "cycles": cycle_report,
        "differences": differences[:20],
        "cycle_cpu_seconds_max": max(float(str(c["cpu_seconds"])) for c in cycle_report),
        "cycle_rows_max": max(int(str(c["rows"])) for c in cycle_report),
        "statuses": dict(sorted(Counter(str(v["match_status"]) for v in verdicts_full.values()).items())),
        "rows_per_hour_former_alerts": whole["former"],
        "rows_per_hour_summary": sum(c["rows"] for c in cycles),
        "check_buckets": [checks_full["earliest"], checks_full["latest"]],
        "check_counts": len(counts),
        "check_counts_equal": counts_equal,
        "rows_checks_full": checks_full["rows"],
        "cpu_seconds_checks_full": round(checks_full["cpu"], 2),
        "check_cycles": [{"earliest": c["earliest"], "latest": c["latest"], "rows": c["rows"],
                          "rows_by_kind": c["rows_by_kind"], "widened": c["widened"],
                          "cpu_seconds": round(c["cpu"], 3), "counts": len(c["counts"])} for c in check_cycles],
        "check_cycle_rows_max": max(int(c["rows"]) for c in check_cycles),
        "check_cycle_cpu_seconds_max": round(max(float(c["cpu"]) for c in check_cycles), 3),
        "rows_per_hour_checks": sum(c["rows"] for c in hourly),
        "python": platform.python_version(),
    }
    result["rows_per_hour_correlation"] = int(str(result["rows_per_hour_summary"])) + \
        int(str(result["rows_per_hour_checks"]))
    result["hourly_reduction"] = round(int(str(result["rows_per_hour_former_alerts"])) /
                                       max(int(str(result["rows_per_hour_correlation"])), 1), 1)
    if "cycle_command" in part:
        result["cycle_command"] = part["cycle_command"]
    result["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for key in ("rows_generated", "rows_full", "rows_narrowed", "reduction", "verdicts_equal", "cpu_seconds_full",
                "cpu_seconds_narrowed", "cycle_cpu_seconds_max", "cycle_rows_max", "check_counts", "check_counts_equal",
                "check_cycle_rows_max", "check_cycle_cpu_seconds_max", "rows_per_hour_former_alerts",
                "rows_per_hour_summary", "rows_per_hour_checks", "rows_per_hour_correlation", "hourly_reduction",
                "cycle_command", "elapsed_seconds"):
        print(f"{key}: {result.get(key)}")
    print(f"wrote {os.path.relpath(args.json)}")
    return 0


__all__ = ["insert_id", "main"]

if __name__ == "__main__":
    sys.exit(main())
