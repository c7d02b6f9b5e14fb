"""Run the real ``correlatepolicydenied`` over generated scenarios and score it against ground truth.

Precision = right names / names given; coverage = right names / attributable events (truth is a
person). A "name" is an ``identified_user`` on a row whose ``match_status`` is ``identified`` or
``not_masked``. Events whose truth is "cannot tell" must get no name at all.

``python -m devtools.scenarios.evaluate`` prints the per-scenario table and writes
``build/scenarios.md`` and ``build/scenarios.json``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple

from devtools.scenarios import Row, Scenario, build_all, norm_user
from devtools.scp import ROOT, run_command, runtime

if TYPE_CHECKING:
    from guardrail.correlate.options import Options

SCRIPT = ROOT / "bin" / "correlatepolicydenied.py"
NAMED = ("identified", "not_masked")
STATUSES = ("identified", "ambiguous", "unidentified", "not_masked")

# (order, chunk size, Splunk's Python): newest first as Splunk sends it and the other way round under
# both Pythons Splunk ships (3.9 in 9.x, 3.13 in 10.2+), and awkward chunkings; "jitter" is newest
# first by 30-second bucket but shuffled inside each bucket (rows from several indexes whose
# timestamps are close), within the one-minute slack the contract allows for clocks; "shuffled" is
# no order at all (the command must buffer, under its max_buffer cap).
#: Orders: ``desc``, ``asc``, ``jitter``, ``shuffled``; ``summary`` is newest first with the NAT log's
#: check counts appended and ``natlog=summary``, as the scheduled correlation runs the command.
RUNS: Tuple[Tuple[str, int, str], ...] = (("desc", 50000, "3.9"), ("asc", 50000, "3.9"), ("desc", 50000, "3.13"),
                                          ("asc", 50000, "3.13"), ("desc", 97, "3.9"), ("summary", 50000, "3.9"))
COMBINED_RUNS: Tuple[Tuple[str, int, str], ...] = (
    ("desc", 50000, "3.9"), ("asc", 50000, "3.9"), ("desc", 50000, "3.13"), ("asc", 50000, "3.13"),
    ("desc", 1000, "3.9"), ("desc", 97, "3.13"), ("asc", 333, "3.9"), ("jitter", 50000, "3.9"),
    ("shuffled", 1000, "3.13"), ("summary", 97, "3.13"))


def python() -> str:
    """Interpreter for the command: $SCENARIO_PYTHON, else Splunk 9's 3.9, else this one."""
    return os.environ.get("SCENARIO_PYTHON") or runtime("3.9") or sys.executable


def insert_id(row: Mapping[str, object]) -> Optional[str]:
    """The LogEntry insertId of a row: from _raw, else (a truncated _raw) from an extracted field."""
    for key in ("data.insertId", "insertId"):
        if isinstance(row.get(key), str) and row[key]:
            return str(row[key])
    raw = row.get("_raw")
    if not isinstance(raw, str):
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        doc = doc["data"]
    value = doc.get("insertId") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def _text(value: object) -> str:
    if isinstance(value, list):
        return value[0] if value else ""
    return value if isinstance(value, str) else ""


def _list(value: object) -> List[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [value] if isinstance(value, str) and value else []


@dataclass
class Miss:
    insert_id: str
    note: str
    expected: Optional[str]
    got: Optional[str]
    status: str
    candidates: List[str]
    evidence: List[str]

    def line(self) -> str:
        return (f"{self.insert_id} [{self.note}] expected={self.expected or 'cannot tell'} "
                f"got={self.got or '-'} status={self.status} candidates={self.candidates} "
                f"evidence={self.evidence[:3]}")


@dataclass
class Result:
    scenario: str
    order: str
    chunk: int
    denied: int = 0
    attributable: int = 0
    names_given: int = 0
    right: int = 0
    named_when_cannot_tell: int = 0
    #: names that are not the person who really made the call (where the scenario knows who did)
    not_the_caller: int = 0
    statuses: Dict[str, int] = field(default_factory=dict)
    missing: List[str] = field(default_factory=list)
    duplicated: List[str] = field(default_factory=list)
    extra_rows: int = 0
    bad_status: int = 0
    wrong: List[Miss] = field(default_factory=list)      # a name that is not the truth
    missed: List[Miss] = field(default_factory=list)     # attributable, no name given
    not_masked_wrong: List[Miss] = field(default_factory=list)
    field_errors: List[str] = field(default_factory=list)  # output fields vs input and contract
    error: str = ""

    @property
    def precision(self) -> float:
        return self.right / self.names_given if self.names_given else 1.0

    @property
    def coverage(self) -> Optional[float]:
        return self.right / self.attributable if self.attributable else None

    def as_dict(self) -> Dict[str, object]:
        return {
            "scenario": self.scenario, "order": self.order, "chunk": self.chunk, "denied": self.denied,
            "attributable": self.attributable, "names_given": self.names_given, "right": self.right,
            "precision": self.precision, "coverage": self.coverage,
            "named_when_cannot_tell": self.named_when_cannot_tell, "not_the_caller": self.not_the_caller,
            "statuses": self.statuses,
            "missing": self.missing, "duplicated": self.duplicated, "extra_rows": self.extra_rows,
            "bad_status": self.bad_status, "error": self.error, "field_errors": self.field_errors[:50],
            "wrong": [m.line() for m in self.wrong], "missed": [m.line() for m in self.missed],
            "not_masked_wrong": [m.line() for m in self.not_masked_wrong],
        }


def _host_key(name: str) -> str:
    return name.strip().lower().split(".", 1)[0]


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.strip()) == ipaddress.ip_address(b.strip())
    except ValueError:
        return a.strip() == b.strip()


def _check_extracted(source: Row, out: Mapping[str, object]) -> List[str]:
    """For a truncated _raw: the normalised fields must come from the extracted fields."""
    prefix = "data." if "data.protoPayload.serviceName" in source else ""
    pairs = {"gcp_project": "resource.labels.project_id", "gcp_service": "protoPayload.serviceName",
             "gcp_method": "protoPayload.methodName", "gcp_resource": "protoPayload.resourceName"}
    problems = [f"{k}={_text(out.get(k))!r}, expected {source[prefix + f]!r}"
                for k, f in pairs.items() if _text(out.get(k)) != source[prefix + f]]
    caller = str(source[prefix + "protoPayload.requestMetadata.callerIp"])
    if not _same_address(_text(out.get("caller_ip")), caller):
        problems.append(f"caller_ip={_text(out.get('caller_ip'))!r}, expected {caller!r}")
    return problems


def check_verdict(out: Mapping[str, object]) -> List[str]:
    """The verdict fields themselves: confidence in [0, 1], names among the candidates, evidence lines, user key."""
    problems: List[str] = []
    status = _text(out.get("match_status"))
    try:
        confidence = float(_text(out.get("match_confidence")))
        if not 0.0 <= confidence <= 1.0:
            problems.append(f"match_confidence={confidence} outside [0, 1]")
    except ValueError:
        problems.append(f"match_confidence={out.get('match_confidence')!r} is not a number")
    user = _text(out.get("identified_user"))
    candidates = {norm_user(c) for c in _list(out.get("candidate_users"))}
    if status in NAMED and not user:
        problems.append(f"{status} without identified_user")
    if status not in NAMED and user:
        problems.append(f"identified_user={user!r} on a {status} row")
    if status == "identified" and norm_user(user) not in candidates:
        problems.append(f"identified_user={user!r} not among candidate_users")
    if status == "identified" and not _list(out.get("match_evidence")):
        problems.append("identified without match_evidence")
    if status == "ambiguous" and len(candidates) < 2:
        problems.append(f"ambiguous with {len(candidates)} candidate(s)")
    # one key per person whatever the spelling; a Google service account keeps its whole address
    if status not in NAMED:
        want = ""
    elif user.strip().lower().endswith(".gserviceaccount.com"):
        want = user.strip().lower()
    else:
        want = norm_user(user)
    if _text(out.get("identified_user_key")) != want:
        problems.append(f"identified_user_key={_text(out.get('identified_user_key'))!r}, expected {want!r}")
    return problems


def check_fields(source: Row, out: Mapping[str, object]) -> List[str]:
    """Where an output row differs from its input row or from the contract's normalised fields."""
    problems = [f"input field {k} changed" for k, v in source.items()
                if (out.get(k) if not isinstance(v, list) else _list(out.get(k))) != v]
    problems += check_verdict(out)
    try:
        doc = json.loads(str(source["_raw"]))
    except ValueError:
        return problems + _check_extracted(source, out)
    entry = doc["data"] if "data" in doc else doc
    proto = entry["protoPayload"]
    meta = proto["requestMetadata"]
    expect = {
        "gcp_project": entry["resource"]["labels"]["project_id"],
        "gcp_service": proto["serviceName"],
        "gcp_method": proto["methodName"],
        "gcp_resource": proto["resourceName"],
    }
    for key, value in expect.items():
        if _text(out.get(key)) != value:
            problems.append(f"{key}={_text(out.get(key))!r}, expected {value!r}")
    if not _same_address(_text(out.get("caller_ip")), meta["callerIp"]):
        problems.append(f"caller_ip={_text(out.get('caller_ip'))!r}, expected {meta['callerIp']!r}")
    agent = _text(out.get("caller_user_agent"))
    if not agent or not meta["callerSuppliedUserAgent"].startswith(agent):
        problems.append(f"caller_user_agent={agent!r} is not the call's agent")
    found = re.search(r"constraints/[A-Za-z0-9_.]+", json.dumps(proto))
    constraint = found.group(0) if found else ""
    violation = _text(out.get("gcp_violation"))
    if not violation or (constraint and constraint not in violation):
        problems.append(f"gcp_violation={violation!r}, expected {constraint or 'a violation'}")
    return problems


def score(sc: Scenario, out_rows: Sequence[Mapping[str, object]], order: str, chunk: int) -> Result:
    res = Result(sc.name, order, chunk, denied=sc.denied_count,
                 attributable=sum(1 for t in sc.truth.values() if t.user))
    inputs = {insert_id(r): r for r in sc.rows if r.get("_raw")}
    seen: Dict[str, int] = {}
    for row in out_rows:
        iid = insert_id(row)
        if iid is None or iid not in sc.truth:
            res.extra_rows += 1  # evidence or other GCP activity that should have been dropped
            continue
        seen[iid] = seen.get(iid, 0) + 1
        if seen[iid] > 1:
            continue
        res.field_errors.extend(f"{iid}: {p}" for p in check_fields(inputs[iid], row))
        truth = sc.truth[iid]
        got_host = _text(row.get("identified_host"))
        if truth.host and got_host and _host_key(got_host) != _host_key(truth.host):
            res.field_errors.append(f"{iid}: identified_host={got_host!r}, the device is {truth.host!r}")
        if truth.host and not got_host and _text(row.get("match_status")) == "identified":
            res.field_errors.append(f"{iid}: identified through {truth.host} but identified_host is empty")
        status = _text(row.get("match_status"))
        res.statuses[status] = res.statuses.get(status, 0) + 1
        if status not in STATUSES:
            res.bad_status += 1
        name = _text(row.get("identified_user")) if status in NAMED else ""
        miss = Miss(iid, truth.note, truth.user, name or None, status, _list(row.get("candidate_users")),
                    _list(row.get("match_evidence")))
        if truth.not_masked and status != "not_masked":
            res.not_masked_wrong.append(miss)
        if name:
            res.names_given += 1
            if truth.actual is not None and norm_user(name) != truth.actual and not truth.not_masked:
                res.not_the_caller += 1
            if truth.user is None:
                res.named_when_cannot_tell += 1
                res.wrong.append(miss)
            elif norm_user(name) == truth.user:
                res.right += 1
            else:
                res.wrong.append(miss)
        elif truth.user:
            res.missed.append(miss)
    res.missing = sorted(set(sc.truth) - set(seen))
    res.duplicated = sorted(k for k, v in seen.items() if v > 1)
    return res


def ordered(sc: Scenario, order: str) -> List[Row]:
    """The scenario's rows in one of the evaluation orders."""
    if order == "jitter":
        rng = random.Random(7)
        keyed = [(-(float(str(r["_time"])) // 30), rng.random(), i) for i, r in enumerate(sc.rows)]
        rows: List[Row] = [sc.rows[i] for _b, _r, i in sorted(keyed)]
    elif order == "shuffled":
        rows = list(sc.rows)
        random.Random(3).shuffle(rows)
    else:
        rows = sc.newest_first() if order == "desc" else sc.oldest_first()
    return rows


def run_in_process(sc: Scenario, order: str, chunk: int = 50000, options: Optional[Options] = None) -> Result:
    """The engine itself on the scenario (no protocol, no second interpreter): for quick iteration.

    With ``natlog=summary`` in ``options`` the NAT log's check counts the engine finds over the
    scenario in checks mode (what the scheduled check search keeps) come after the rows.
    """
    from guardrail.correlate.engine import Correlator
    from guardrail.correlate.options import Options
    from guardrail.correlate.render import to_record

    o = options or Options()
    engine = Correlator(o)
    rows = ordered(sc, order)
    if o.natlog == "summary":
        rows = rows + counts_of(sc, o)
    released = []
    for i in range(0, len(rows), chunk):
        released += engine.feed_records(rows[i:i + chunk])
    released += engine.finish()
    return score(sc, [to_record(item) for item in released], order, chunk)


def interpreter(version: str) -> str:
    """Splunk's Python ``version`` (3.9, 3.13) where installed; $SCENARIO_PYTHON wins for 3.9."""
    if version == "3.9":
        return python()
    return runtime(version) or python()


def counts_of(sc: Scenario, options: Optional[Options] = None) -> List[Row]:
    """The NAT log's check counts over the scenario (what the check search keeps for it)."""
    from devtools import natlog

    return [dict(c) for c in natlog.counts(natlog.checks(sc.newest_first(), options))]


def with_counts(sc: Scenario) -> List[Row]:
    """The scenario newest first, then its check counts (as ``guardrail_nat_log_counts`` appends them)."""
    return sc.newest_first() + counts_of(sc)


def run(sc: Scenario, order: str, chunk: int, exe: Optional[str] = None) -> Result:
    """The real command over SCP v2 on the scenario, in one order and chunk size."""
    if order == "summary":
        rows, args = with_counts(sc), ["natlog=summary"]
    else:
        rows, args = ordered(sc, order), []
    out = run_command(SCRIPT, exe or python(), args, rows, chunk_size=chunk)
    if out.returncode != 0 or out.getinfo.metadata.get("error"):
        res = Result(sc.name, order, chunk, denied=sc.denied_count)
        res.error = f"exit {out.returncode}: {out.getinfo.metadata.get('error', '')} {out.stderr[-2000:]}"
        res.missing = sorted(sc.truth)
        return res
    return score(sc, out.rows, order, chunk)


def run_all(scenarios: Sequence[Scenario], workers: int = 2) -> List[Result]:
    jobs = [(sc, order, chunk, version) for sc in scenarios
            for order, chunk, version in (COMBINED_RUNS if sc.name == "combined" else RUNS)]

    def one(job: Tuple[Scenario, str, int, str]) -> Result:
        sc, order, chunk, version = job
        result = run(sc, order, chunk, interpreter(version))
        result.order = f"{order}/py{version}"
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, jobs))


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(results: Sequence[Result]) -> str:
    """Per scenario: the worst run over orders and chunk sizes, plus what it got wrong."""
    by: Dict[str, List[Result]] = {}
    for r in results:
        by.setdefault(r.scenario, []).append(r)
    lines = ["| scenario | denied | attributable | names (desc/50k) | precision (min) | coverage (min) | "
             "named when cannot tell (max) | not the caller (max) | statuses (desc/50k) | runs | problems |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, runs in by.items():
        first = runs[0]
        cov = [r.coverage for r in runs if r.coverage is not None]
        problems = sum(len(r.missing) + len(r.duplicated) + r.extra_rows + r.bad_status + len(r.field_errors)
                       + (1 if r.error else 0) for r in runs)
        statuses = ", ".join(f"{k}={v}" for k, v in sorted(first.statuses.items()))
        cells = [name, first.denied, first.attributable, first.names_given,
                 _pct(min(r.precision for r in runs)), _pct(min(cov) if cov else None),
                 max(r.named_when_cannot_tell for r in runs), max(r.not_the_caller for r in runs), statuses,
                 len(runs), problems]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def details(results: Sequence[Result]) -> str:
    out: List[str] = []
    for r in results:
        items = [*r.wrong, *r.missed, *r.not_masked_wrong]
        if not (items or r.error or r.missing or r.duplicated or r.extra_rows or r.bad_status or r.field_errors):
            continue
        out.append(f"### {r.scenario} {r.order}/{r.chunk}")
        if r.error:
            out.append("- error: " + r.error)
        if r.missing:
            out.append(f"- missing from output: {len(r.missing)} {r.missing[:5]}")
        if r.duplicated:
            out.append(f"- output more than once: {r.duplicated[:5]}")
        if r.extra_rows:
            out.append(f"- rows that are not denied events in the output: {r.extra_rows}")
        if r.bad_status:
            out.append(f"- rows with a match_status outside the contract: {r.bad_status}")
        if r.field_errors:
            out.append(f"- output fields wrong on {len(r.field_errors)} rows, e.g. {r.field_errors[:3]}")
        out.extend("- wrong name: " + m.line() for m in r.wrong)
        out.extend("- missed: " + m.line() for m in r.missed)
        out.extend("- not reported as not_masked: " + m.line() for m in r.not_masked_wrong)
    return "\n".join(out)


def write_report(results: Sequence[Result], build: Path = ROOT / "build") -> str:
    build.mkdir(exist_ok=True)
    text = "# Scenario evaluation of correlatepolicydenied\n\nPython: {}\n\n{}\n\n{}\n".format(
        python(), table(results), details(results) or "No misses.")
    (build / "scenarios.md").write_text(text, encoding="utf-8")
    (build / "scenarios.json").write_text(json.dumps([r.as_dict() for r in results], indent=1), encoding="utf-8")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description="score correlatepolicydenied on the generated scenarios")
    ap.add_argument("--per-scenario", type=int, default=20)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--python", help="interpreter for the command (default: $SCENARIO_PYTHON, 3.9, this one)")
    ap.add_argument("--in-process", action="store_true", help="run the engine in this process, newest first only")
    args = ap.parse_args()
    if args.python:
        os.environ["SCENARIO_PYTHON"] = args.python
    scenarios = [sc for sc in build_all(per_scenario=args.per_scenario) if not args.only or sc.name in args.only]
    if args.in_process:
        print(write_report([run_in_process(sc, "desc") for sc in scenarios]))
    else:
        print(write_report(run_all(scenarios)))


if __name__ == "__main__":
    main()
