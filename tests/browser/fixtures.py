"""Search results the browser ring feeds to the dashboards in place of splunkd.

Two sources:
- the sample scenario (``samples/motivating_case/events.csv``): ``bin/correlatepolicydenied.py`` itself
  runs over it at test time over SCP v2, and its output (the denied events with their normalised fields and
  verdicts) feeds the correlation panels and the investigation's denied-call panels, shaped by the same
  steps as each panel's SPL (eval, where, stats, lookups against the app's own lookups/*.csv); the user
  view's evidence panels come from the scenario's endpoint events. Nothing in those panels is typed by hand;
- ``tests/browser/fixtures/<view>.json``: hand-made results for the other panels
  (``{"dataSourceId": {"fields": [...], "rows": [[...], ...]}}``), consistent with the sample scenario.

``python -m tests.browser.fixtures OUT_DIR`` writes ``OUT_DIR/<view>.json`` in the column format of
``@splunk/datasources`` (``{"fields": [{"name": ...}], "columns": [[...], ...]}``).
"""

from __future__ import annotations

import csv
import fnmatch
import json
import re
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[2]
STATIC = Path(__file__).resolve().parent / "fixtures"
SAMPLE = ROOT / "samples" / "motivating_case" / "events.csv"
COMMAND = ROOT / "bin" / "correlatepolicydenied.py"

Row = Dict[str, Any]
Table = Dict[str, Any]


class FixtureUnavailable(RuntimeError):
    """The correlation command or its sample scenario is not there to produce fixture data."""


def first(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def as_list(value: Any) -> List[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value not in (None, "") else []


def user_key(name: str) -> str:
    """The dashboards' comparison key for a user name (the SPL: lower, no @domain, no DOMAIN\\)."""
    return name.split("@")[0].split("\\")[-1].lower()


def table(fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    return {"fields": [{"name": f} for f in fields],
            "columns": [[row[i] for row in rows] for i in range(len(fields))]}


def sample_events() -> List[Row]:
    """The motivating case as splunkd would hand it to the command (newest first)."""
    if not SAMPLE.is_file():
        raise FixtureUnavailable(f"missing {SAMPLE.relative_to(ROOT)}")
    from devtools.scenarios import read_csv

    return list(read_csv(SAMPLE))


def correlate(rows: List[Row], python: Optional[str] = None) -> List[Row]:
    """Run the real command over the events the way splunkd does; returns its output rows."""
    if not COMMAND.is_file():
        raise FixtureUnavailable(f"missing {COMMAND.relative_to(ROOT)}")
    from devtools.scp import run_command, runtime

    run = run_command(COMMAND, python or runtime("3.9") or sys.executable, [], rows, chunk_size=50000)
    if run.returncode != 0 or not run.rows:
        raise FixtureUnavailable(f"correlatepolicydenied failed (exit {run.returncode}): {run.stderr[-2000:]}")
    return list(run.rows)


def when(row: Row) -> float:
    return float(first(row.get("_time")) or 0)


def strftime(row: Row) -> str:
    """``strftime(_time, "%Y-%m-%d %H:%M:%S %Z")`` for a viewer whose Splunk time zone is UTC."""
    return stamp(when(row))


def stamp(epoch: float, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime(fmt)


def iso(epoch: float) -> str:
    """A ``_time`` the way splunkd hands it to a dashboard."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def spl_number(value: float) -> str:
    """A number as SPL's string concatenation writes it (no ``.0`` on whole numbers)."""
    return str(int(value)) if value == int(value) else repr(value)


def words(value: str) -> str:
    """``replace(value, "_", " ")``: machine values as the panels show them."""
    return value.replace("_", " ")


def matches_subject(name: str, subject: str) -> bool:
    """The User activity search terms for a user field: ``*<key>`` or ``<key>@*`` (any case)."""
    key = user_key(subject.strip())
    name = name.lower()
    return bool(key) and (name.endswith(key) or name.startswith(key + "@"))


CORRELATED_FIELDS = ("_time", "_call", "_subject", "match_status", "identified_user", "identified_host", "confidence",
                     "candidate_users", "caller_ip", "gcp_project", "gcp_service", "gcp_method", "gcp_violation",
                     "match_evidence")
ATTRIBUTED_FIELDS = ("_time", "match_status", "identified_user", "identified_host", "confidence", "gcp_project",
                     "gcp_service", "gcp_method", "caller_ip")


def correlated_row(row: Row) -> Dict[str, Any]:
    """The command's row after the investigation base search's ``eval``: confidence in percent, the person to
    open in User activity (``_subject``) and a key for the selected call (``_call``)."""
    out = {f: first(row.get(f)) for f in CORRELATED_FIELDS}
    out["_time"] = when(row)
    out["confidence"] = round(100 * float(first(row.get("match_confidence")) or 0))
    out["_subject"] = first(row.get("identified_user")) or first(row.get("caller_ip"))
    out["_call"] = f"{spl_number(when(row))}:{out['caller_ip']}:{out['gcp_method']}"
    out["candidate_users"] = as_list(row.get("candidate_users"))
    out["match_evidence"] = as_list(row.get("match_evidence"))
    return out


def investigation_tables(rows: List[Row]) -> Dict[str, Table]:
    """policy_denied_investigation: ds_correlated and its chains (outcome pie, attribution table, evidence)."""
    ordered = sorted(rows, key=when, reverse=True)
    shaped = [correlated_row(r) for r in ordered]
    counts = Counter(words(first(r.get("match_status"))) for r in rows)
    attribution = [[words(s["match_status"]), s["identified_user"], s["confidence"], stamp(s["_time"]), s["caller_ip"],
                    s["identified_host"], s["candidate_users"] if s["match_status"] == "ambiguous" else "",
                    s["gcp_project"], s["gcp_method"], s["_call"], s["_subject"]] for s in shaped]
    evidence = [[line, s["_subject"], s["_call"]] for s in shaped for line in s["match_evidence"]]
    evidence.append(["Click a call in the table above to see the evidence behind its attribution", "", ""])
    return {
        "ds_correlated": table(CORRELATED_FIELDS, [[iso(s[f]) if f == "_time" else s[f] for f in CORRELATED_FIELDS]
                                                   for s in shaped]),
        "ds_match_status": table(("match_status", "count"), sorted(counts.items())),
        "ds_attribution": table(("Status", "Identified user", "Confidence", "Time", "Caller IP", "Host", "Candidates",
                                 "Project", "Method", "_call", "_subject"), attribution),
        "ds_call_evidence": {**table(("Evidence used", "_subject", "_call"), evidence),
                             "match": {"field": "_call", "query": '_call=="([^"]*)"'}},
    }


def attributed_tables(rows: List[Row], subject: str) -> Dict[str, Table]:
    """user_activity ds_attributed (``search`` on the subject's terms) and its chains, newest first."""
    keep = [r for r in sorted(rows, key=when, reverse=True)
            if matches_subject(first(r.get("identified_user")), subject) or first(r.get("caller_ip")) == subject]
    shaped = [correlated_row(r) for r in keep]
    return {
        "ds_attributed": table(ATTRIBUTED_FIELDS, [[iso(s[f]) if f == "_time" else s[f] for f in ATTRIBUTED_FIELDS]
                                                   for s in shaped]),
        "ds_attributed_table": table(
            ("Status", "Identified user", "Confidence", "Time", "Method", "Project", "Service", "Caller IP", "Host"),
            [[words(s["match_status"]), s["identified_user"], s["confidence"], stamp(s["_time"]), s["gcp_method"],
              s["gcp_project"], s["gcp_service"], s["caller_ip"], s["identified_host"]] for s in shaped]),
        "ds_kpi_denied": table(("denied",), [[len(shaped)]]),
    }


def evidence_kind(row: Row) -> Optional[str]:
    """The ``evidence_kind`` case() of user_activity's ds_evidence search, in the same order."""
    tags = set(as_list(row.get("tag")))
    if row.get("event_simpleName"):
        return "EDR"
    for tag, kind in (("vpn", "VPN session"), ("dhcp", "DHCP lease"), ("proxy", "Web proxy")):
        if tag in tags:
            return kind
    if row.get("src_translated_ip"):
        return "NAT"
    if "authentication" in tags:
        return "Logon / sign-in"
    return None


ADDRESS_FIELDS = ("src_ip", "src", "dest_ip", "src_translated_ip", "aip", "LocalAddressIP4")


def evidence_tables(events: List[Row], subject: str) -> Dict[str, Table]:
    """user_activity ds_evidence (the subject's search terms, then the kind of each record) and its chains."""
    kept = []
    for row in sorted(events, key=when, reverse=True):
        kind = evidence_kind(row)
        ev_user = first(row.get("user")) or first(row.get("UserName"))
        named = any(matches_subject(first(row.get(f)), subject) for f in ("user", "UserName"))
        if kind and (named or subject in [first(row.get(f)) for f in ADDRESS_FIELDS]):
            # coalesce(dest_nt_host, ComputerName, aid_computer_name, dest of a logon); a proxy's dest is the site
            device = next((first(row.get(f)) for f in ("dest_nt_host", "ComputerName", "aid_computer_name")
                           if first(row.get(f))), first(row.get("dest")) if kind == "Logon / sign-in" else "")
            kept.append({"_time": when(row), "evidence_kind": kind, "ev_user": ev_user, "device": device,
                         "client": first(row.get("src_ip")) or first(row.get("src")),
                         "dest_ip": first(row.get("dest_ip")), "src_translated_ip": first(row.get("src_translated_ip")),
                         "url": first(row.get("url")), "http_user_agent": first(row.get("http_user_agent"))})
    if not kept:
        raise FixtureUnavailable(f"the motivating case has no evidence for {subject}")
    fields = ("evidence_kind", "ev_user", "device", "client", "dest_ip", "src_translated_ip", "url", "http_user_agent")
    buckets: Dict[str, Counter[str]] = {}
    for item in kept:  # timechart sum(count) BY evidence_kind (5-minute buckets)
        buckets.setdefault(iso(item["_time"] // 300 * 300), Counter())[item["evidence_kind"]] += 1
    kinds = sorted({item["evidence_kind"] for item in kept})
    return {
        "ds_evidence": table(("_time", *fields, "count"),
                             [[iso(i["_time"]), *[i[f] for f in fields], 1] for i in kept]),
        "ds_ev_table": table(("Evidence", "Time", "User", "Device", "Client IP", "Destination IP", "Translated IP",
                              "Site (proxy)"),
                             [[i["evidence_kind"], stamp(i["_time"]), *[i[f] for f in fields[1:6]],
                               re.sub(r"^[a-zA-Z]+://([^/:]+).*$", r"\1", i["url"])] for i in kept]),
        "ds_ev_timeline": table(("_time", *kinds),
                                [[stamp_, *[counts[k] for k in kinds]] for stamp_, counts in sorted(buckets.items())]),
    }


def read_lookup(name: str) -> List[Dict[str, str]]:
    with (ROOT / "lookups" / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def constraint_text(reason: str) -> str:
    """``lookup gcp_org_policy_constraints constraint AS reason`` (WILDCARD, first row wins, any case)."""
    for entry in read_lookup("gcp_org_policy_constraints.csv"):
        if fnmatch.fnmatchcase(reason.lower(), entry["constraint"].lower()):
            return entry["description"]
    return ""


def service_declared(project: str, service: str, at: float) -> bool:
    """`` `gcp_project_service_declared` ``: a row for the project and service, not expired at event time."""
    for entry in read_lookup("gcp_project_services.csv"):
        if entry["project"].lower() == project.lower() and fnmatch.fnmatchcase(service.lower(),
                                                                                entry["service"].lower()):
            expires = datetime.strptime(entry["expires"], "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
            if expires + 86400 > at:
                return True
    return False


def denied_fields(row: Row) -> Dict[str, Any]:
    """The investigation base search's evals over one denied event (the command's normalised fields)."""
    violation = first(row.get("gcp_violation"))
    principal = first(row.get("gcp_principal"))
    kind = "org_policy" if violation.startswith(("constraints/", "customConstraints/")) else (
        "vpc_sc" if re.fullmatch(r"[A-Z_]+", violation) else "iam")
    out = {f: first(row.get(f)) for f in ("gcp_project", "gcp_service", "gcp_method", "gcp_resource", "caller_ip")}
    out.update(_time=when(row), caller=principal or out["caller_ip"] or "(no address)",
               gcp_violation_type=kind, reason=re.sub(r"^constraints/", "", violation) or kind)
    out["service_declared"] = "yes" if service_declared(out["gcp_project"], out["gcp_service"], when(row)) else "no"
    return out


VIOLATION_LABELS = {"vpc_sc": "VPC Service Controls", "org_policy": "Organisation policy", "iam": "IAM"}
NO_DENIALS = ("No Policy Denied events in this range — check that gcp_audit_index points at your Cloud Audit Logs, "
              "or widen the filters")


def explanation(reason: str) -> str:
    """`` `dashboard_reason_explanation` ``: the constraint's lookup description (VPC-SC and IAM reasons are
    explained in the macro itself)."""
    return constraint_text(reason) or "No description of this reason in gcp_org_policy_constraints.csv"


def denied_tables(rows: List[Row]) -> Dict[str, Table]:
    """policy_denied_investigation: the denied-call base search (``stats count BY _time caller ...``) and its
    chains, over the sample's denials."""
    denied = sorted((denied_fields(r) for r in rows), key=lambda d: d["_time"])

    # sort 0 _time | streamstats time_window=15m sum(count) BY caller gcp_project gcp_service | where in_15m>=3
    def key(d: Dict[str, Any]) -> Tuple[str, str, str]:
        return d["caller"], d["gcp_project"], d["gcp_service"]

    retrying = {d["caller"] for d in denied
                if sum(1 for e in denied if key(e) == key(d) and 0 <= d["_time"] - e["_time"] < 900) >= 3}
    creations: Dict[Tuple[str, str, str], List[Dict[str, Any]]] = {}
    for d in denied:
        if re.search(r"(?i)(create|insert|deploy|enable)", d["gcp_method"]):
            creations.setdefault((d["caller"], d["gcp_project"], d["gcp_service"]), []).append(d)
    retries = []
    for (caller, project, service), items in sorted(creations.items(), key=lambda kv: -len(kv[1])):
        if len(items) >= 2:
            first_t, last_t = items[0]["_time"], items[-1]["_time"]
            retries.append([caller, len(items), round((last_t - first_t) / 60, 1), project, service,
                            len({i["gcp_resource"] for i in items}), stamp(first_t), stamp(last_t),
                            sorted({i["gcp_method"] for i in items})])
    reasons: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for d in denied:
        reasons.setdefault((d["gcp_violation_type"], d["reason"]), []).append(d)
    buckets: Dict[str, Counter[str]] = {}
    for d in denied:  # timechart sum(count) BY violation (30-minute spans over a day)
        buckets.setdefault(iso(d["_time"] // 1800 * 1800), Counter())[VIOLATION_LABELS[d["gcp_violation_type"]]] += 1
    kinds = sorted({VIOLATION_LABELS[d["gcp_violation_type"]] for d in denied})
    hours: Counter[float] = Counter(d["_time"] // 3600 * 3600 for d in denied)  # timechart span=1h
    base_fields = ("_time", "caller", "gcp_project", "gcp_service", "gcp_method", "gcp_resource", "caller_ip",
                   "gcp_violation_type", "reason", "service_declared")
    reason_rows = sorted(reasons.items(), key=lambda kv: -len(kv[1]))
    return {
        "ds_projects": table(("label", "value"), [[f"{p} ({n})", p] for p, n in
                                                  Counter(d["gcp_project"] for d in denied).most_common()]),
        "ds_services": table(("label", "value"), [[f"{s} ({n})", s] for s, n in
                                                  Counter(d["gcp_service"] for d in denied).most_common()]),
        "ds_denied": table((*base_fields, "count"), [[iso(d["_time"]) if f == "_time" else d[f] for f in base_fields]
                                                     + [1] for d in denied]),
        "ds_kpi_denials": table(("_time", "denials", "total"),
                                [[iso(h), n, len(denied)] for h, n in sorted(hours.items())]),
        "ds_kpi_callers": table(("callers",), [[len({d["caller"] for d in denied})]]),
        "ds_kpi_retry": table(("retrying_callers",), [[len(retrying)]]),
        "ds_kpi_undeclared": table(("undeclared_denials",), [[sum(d["service_declared"] != "yes" for d in denied)]]),
        "ds_timeline": table(("_time", *kinds), [[t, *[c[k] for k in kinds]] for t, c in sorted(buckets.items())]),
        "ds_retries": table(("Caller", "Attempts", "Within (min)", "Project", "Service", "Resources", "First attempt",
                             "Last attempt", "Methods"), retries),
        "ds_reasons": table(("Reason", "Violation type", "Denials", "Callers", "Projects"),
                            [[reason, VIOLATION_LABELS[kind], len(items), len({i["caller"] for i in items}),
                              len({i["gcp_project"] for i in items})] for (kind, reason), items in reason_rows]),
        "ds_reason_detail": {**table(("Reason", "What it means"),
                                     [[reason, explanation(reason)] for (_, reason), _ in reason_rows]
                                     + [["", "Click a reason on the left to read what it means"]]),
                             "match": {"field": "Reason", "query": 'reason="([^"]*)"'}},
    }


def default_subject(rows: List[Row]) -> str:
    """The person the investigation's drilldown opens User activity for: the newest identified caller."""
    for row in sorted(rows, key=when, reverse=True):
        if first(row.get("match_status")) == "identified":
            return user_key(first(row.get("identified_user")))
    raise FixtureUnavailable("the motivating case names nobody: nothing to open User activity for")


def static_tables(view: str) -> Dict[str, Table]:
    path = STATIC / f"{view}.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for name, spec in data.items():
        out[name] = table(spec["fields"], spec["rows"])
        if "match" in spec:  # keep only rows whose field equals what the resolved search asks for
            out[name]["match"] = spec["match"]
    return out


def build(out_dir: Path, views: Sequence[str], python: Optional[str] = None) -> Dict[str, Any]:
    """Write ``out_dir/<view>.json`` for each view; returns facts the tests check against."""
    out_dir.mkdir(parents=True, exist_ok=True)
    events = sample_events()
    rows = correlate(events, python)
    subject = default_subject(rows)
    generated: Dict[str, Dict[str, Table]] = {
        "policy_denied_investigation": {**denied_tables(rows), **investigation_tables(rows)},
        "user_activity": {**attributed_tables(rows, subject), **evidence_tables(events, subject)},
    }
    for view in views:
        data = {**static_tables(view), **generated.get(view, {})}
        (out_dir / f"{view}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    facts = {"subject": subject, "denied_rows": len(rows),
             "statuses": dict(Counter(first(r.get("match_status")) for r in rows))}
    (out_dir / "facts.json").write_text(json.dumps(facts), encoding="utf-8")
    return facts


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "browser" / "fixtures")
    names = sorted(p.stem for p in (ROOT / "default" / "data" / "ui" / "views").glob("*.xml"))
    print(json.dumps(build(target, names)))
