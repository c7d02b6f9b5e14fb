"""Search results the browser ring feeds to the dashboards in place of splunkd.

Two sources:
- the sample scenario (``samples/motivating_case/events.csv``): ``bin/correlatepolicydenied.py`` itself
  runs over it at test time over SCP v2, and its output (the denied events with their normalised fields and
  verdicts) feeds the correlation panels and the investigation's denied-call panels, shaped by the same
  steps as each panel's SPL (eval, where, stats, lookups against the app's own lookups/*.csv); the user
  view's evidence panels come from the scenario's endpoint events. Nothing in those panels is typed by hand;
- the morning triage view (``morning_triage``): its own searches run through ``devtools/evalspl`` over
  the triage queue that the app's intake builds from ``tests/fixtures/triage`` in a night of scheduled
  runs (plus a Google Cloud alert entry and an analyst's decision); only the raw-event and source
  health searches get stand-ins (fixture events holding the finding id; ``tstats`` counts);
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
    return datetime.fromtimestamp(when(row), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


CORRELATED_FIELDS = ("time", "match_status", "identified_user", "identified_host", "confidence", "candidate_users",
                     "subject", "caller_ip", "gcp_project", "gcp_service", "gcp_method", "gcp_violation",
                     "match_evidence")
ATTRIBUTED_FIELDS = ("time", "match_status", "identified_user", "identified_host", "confidence", "gcp_project",
                     "gcp_service", "gcp_method", "caller_ip", "match_evidence")


def correlated_row(row: Row) -> Dict[str, Any]:
    """``eval confidence=round(match_confidence, 2), subject=coalesce(nullif(identified_user, ""), caller_ip)``."""
    out = {f: first(row.get(f)) for f in CORRELATED_FIELDS}
    out["time"] = strftime(row)
    out["confidence"] = round(float(first(row.get("match_confidence")) or 0), 2)
    out["subject"] = first(row.get("identified_user")) or first(row.get("caller_ip"))
    out["candidate_users"] = as_list(row.get("candidate_users"))
    out["match_evidence"] = as_list(row.get("match_evidence"))
    return out


def investigation_tables(rows: List[Row]) -> Dict[str, Table]:
    """policy_denied_investigation: ds_correlated (``sort - _time | table ...``) and its chain ds_match_status."""
    ordered = sorted(rows, key=when, reverse=True)
    shaped = [correlated_row(r) for r in ordered]
    counts = Counter(first(r.get("match_status")) for r in rows)
    return {
        "ds_correlated": table(CORRELATED_FIELDS, [[s[f] for f in CORRELATED_FIELDS] for s in shaped]),
        "ds_match_status": table(("match_status", "count"), sorted(counts.items())),
    }


def attributed_table(rows: List[Row], subject: str) -> Table:
    """user_activity ds_attributed: ``where id_key==subject_key OR caller_ip==subject | sort - _time``."""
    key = user_key(subject)
    keep = [r for r in sorted(rows, key=when, reverse=True)
            if (key and user_key(first(r.get("identified_user"))) == key) or first(r.get("caller_ip")) == subject]
    shaped = [correlated_row(r) for r in keep]
    return table(ATTRIBUTED_FIELDS, [[s[f] for f in ATTRIBUTED_FIELDS] for s in shaped])


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


def evidence_tables(events: List[Row], subject: str) -> Dict[str, Table]:
    """user_activity ds_evidence and its chains over the sample's endpoint-side events for one subject."""
    key = user_key(subject)
    kept = []
    for row in sorted(events, key=when, reverse=True):
        kind = evidence_kind(row)
        ev_user = first(row.get("user")) or first(row.get("UserName"))
        ips = [first(row.get(f)) for f in ("src_ip", "src", "dest_ip", "src_translated_ip", "aip", "LocalAddressIP4")]
        if kind and ((key and user_key(ev_user) == key) or subject in ips):
            # coalesce(dest_nt_host, ComputerName, aid_computer_name, dest of a logon); a proxy's dest is the site
            device = next((first(row.get(f)) for f in ("dest_nt_host", "ComputerName", "aid_computer_name")
                           if first(row.get(f))), first(row.get("dest")) if kind == "Logon / sign-in" else "")
            kept.append({"_time": when(row), "time": strftime(row), "evidence_kind": kind, "ev_user": ev_user,
                         "device": device, "client": first(row.get("src_ip")) or first(row.get("src")),
                         "dest_ip": first(row.get("dest_ip")), "src_translated_ip": first(row.get("src_translated_ip")),
                         "url": first(row.get("url")), "http_user_agent": first(row.get("http_user_agent"))})
    if not kept:
        raise FixtureUnavailable(f"the motivating case has no evidence for {subject}")
    fields = ("time", "evidence_kind", "ev_user", "device", "client", "dest_ip", "src_translated_ip", "url",
              "http_user_agent")
    buckets: Dict[str, Counter[str]] = {}
    for item in kept:  # timechart count BY evidence_kind (5-minute buckets)
        start = int(item["_time"] // 300 * 300)
        stamp = datetime.fromtimestamp(start, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
        buckets.setdefault(stamp, Counter())[item["evidence_kind"]] += 1
    kinds = sorted({item["evidence_kind"] for item in kept})
    return {
        "ds_evidence": table(("_time", "evidence_kind", "ev_user", "device"),
                             [[i["_time"], i["evidence_kind"], i["ev_user"], i["device"]] for i in kept]),
        "ds_ev_table": table(fields, [[i[f] for f in fields] for i in kept]),
        "ds_ev_timeline": table(("_time", *kinds),
                                [[stamp, *[counts[k] for k in kinds]] for stamp, counts in sorted(buckets.items())]),
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
    """`` `gcp_project_service_declared` ``: a row for the project and service, not expired at event time
    (the site data of the fixtures: the shipped examples, as a site that loaded them has it)."""
    for entry in read_lookup("gcp_project_services.example.csv"):
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


def denied_tables(rows: List[Row]) -> Dict[str, Table]:
    """policy_denied_investigation: the denied-call base search and its chains, over the sample's denials."""
    denied = sorted((denied_fields(r) for r in rows), key=lambda d: d["_time"])
    iso = {d["_time"]: datetime.fromtimestamp(d["_time"], tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
           for d in denied}
    hhmm = {d["_time"]: datetime.fromtimestamp(d["_time"], tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            for d in denied}
    # streamstats time_window=15m count BY caller gcp_project gcp_service | where in_15m>=3
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
            retries.append([caller, project, service, len(items), len({i["gcp_resource"] for i in items}),
                            round((last_t - first_t) / 60, 1), hhmm[first_t], hhmm[last_t],
                            sorted({i["gcp_method"] for i in items}), sorted({i["reason"] for i in items})])
    reasons: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for d in denied:
        reasons.setdefault((d["gcp_violation_type"], d["reason"]), []).append(d)
    buckets: Dict[str, Counter[str]] = {}
    for d in denied:  # timechart count BY gcp_violation_type (30-minute spans over a day)
        start = datetime.fromtimestamp(d["_time"] // 1800 * 1800, tz=timezone.utc)
        buckets.setdefault(start.strftime("%Y-%m-%dT%H:%M:%S.000+00:00"), Counter())[d["gcp_violation_type"]] += 1
    kinds = sorted({d["gcp_violation_type"] for d in denied})
    base_fields = ("_time", "caller", "gcp_project", "gcp_service", "gcp_method", "gcp_resource", "caller_ip",
                   "gcp_violation_type", "reason", "service_declared")
    return {
        "ds_projects": table(("label", "value"), [[f"{p} ({n})", p] for p, n in
                                                  Counter(d["gcp_project"] for d in denied).most_common()]),
        "ds_services": table(("label", "value"), [[f"{s} ({n})", s] for s, n in
                                                  Counter(d["gcp_service"] for d in denied).most_common()]),
        "ds_denied": table(base_fields, [[iso[d["_time"]] if f == "_time" else d[f] for f in base_fields]
                                         for d in reversed(denied)]),
        "ds_kpi_denials": table(("denials",), [[len(denied)]]),
        "ds_kpi_callers": table(("callers",), [[len({d["caller"] for d in denied})]]),
        "ds_kpi_retry": table(("retrying_callers",), [[len(retrying)]]),
        "ds_kpi_undeclared": table(("undeclared_denials",), [[sum(d["service_declared"] != "yes" for d in denied)]]),
        "ds_timeline": table(("_time", *kinds), [[t, *[c[k] for k in kinds]] for t, c in sorted(buckets.items())]),
        "ds_retries": table(("caller", "gcp_project", "gcp_service", "attempts", "resources", "minutes", "first",
                             "last", "methods", "reasons"), retries),
        "ds_reasons": table(("gcp_violation_type", "reason", "explanation", "denials", "callers", "projects"),
                            [[kind, reason, constraint_text(reason), len(items), len({i["caller"] for i in items}),
                              len({i["gcp_project"] for i in items})]
                             for (kind, reason), items in sorted(reasons.items(), key=lambda kv: -len(kv[1]))]),
    }


TRIAGE_NIGHT = (
    ("2026-12-01T02:15Z", ("sh_control_failed_eventbridge", "gd_exfiltration_eventbridge",
                           "gd_exfiltration_via_securityhub", "sysdig_legacy_policy", "defender_rest_alert",
                           "defender_export_alert", "sysdig_runtime_eks", "sysdig_activity_audit", "truncated_event")),
    ("2026-12-01T04:45Z", ("gd_exfiltration_update", "gd_portscan_in_maintenance_window", "sysdig_runtime_gke")),
    ("2026-12-01T06:20Z", ("sh_control_passed_bare", "gd_portscan_after_window")),
)


def _resolve(query: str, tokens: Dict[str, str]) -> str:
    """A Studio query with its tokens replaced (``$t|s$`` quoted), as the dashboard sends it."""
    def value(match: re.Match[str]) -> str:
        text = tokens[match.group(1)]
        return json.dumps(text) if match.group(2) == "|s" else text
    return re.sub(r"\$([\w.]+)(\|s)?\$", value, query)


def _table_of(query: str, rows: List[Row]) -> Table:
    """Rows in the column order of the query's last ``table`` stage (else in order of appearance)."""
    from devtools.splcheck import split_top_level

    stages = [s.strip() for s in split_top_level(query, "|") if s.strip().startswith("table ")]
    fields: List[str] = stages[-1].split()[1:] if stages else []
    if not stages:
        for row in rows:
            fields += [k for k in row if k not in fields]
    return table(fields, [[row.get(f, "") for f in fields] for row in rows])


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def triage_tables() -> Dict[str, Table]:
    """morning_triage: every search of the view run through devtools/evalspl over the queue the intake
    builds from the triage fixtures, with the view's default tokens (see the module docstring)."""
    from devtools import evalspl
    from tests.browser import dashboard_checks as dc
    from tests.unit.triage_builders import FIXTURES, NOW, event, intake, macro, normalise, site_kvstore, utc

    store = site_kvstore()
    store.upsert("guardrail_allowlist", [{  # a row the view must mark as never matching (no ticket)
        "rule_id": "AL-900", "kind": "business_operation", "source": "sysdig", "principal": "*",
        "caller_cidr": "0.0.0.0/0", "project": "*", "service": "*", "method": "*", "account": "*",
        "rule": "terminal shell in container", "resource": "*", "days": "*", "window_start": "00:00",
        "window_end": "00:00", "expires": "2027-01-31", "ticket": "", "owner": "platform@example-corp.com",
        "reason": "debug shells during the EKS migration"}])
    for when, names in TRIAGE_NIGHT:
        intake(list(names), store, now=utc(when))
    alert = {"triage_key": "caller=ip:203.0.113.24;project=data-platform-prod;service=compute.googleapis.com",
             "gcp_project": "data-platform-prod", "gcp_service": "compute.googleapis.com", "caller_ip": "203.0.113.24",
             "finding": "6 denials of ip:203.0.113.24 on compute.googleapis.com in project data-platform-prod",
             "first_seen": str(utc("2026-12-01T05:02Z")), "last_seen": str(utc("2026-12-01T05:14Z"))}
    evalspl.run_pipeline(macro("`guardrail_triage_record(guardrail_repeated_denials,medium)`"), [alert],
                         now=utc("2026-12-01T05:25Z"), kvstore=store, info={"info_sid": "scheduler__repeated"})
    exfil = str(evalspl.evaluate("md5(k)", {"k": FIXTURES["gd_exfiltration_eventbridge"]["expect"]["finding_key"]}))
    decide = ('| inputlookup guardrail_triage_lookup | where _key=="' + exfil + '"'
              ' | eval new_status="investigating", new_owner="sam.ortiz", new_note="role used from a VPN exit?"'
              " | `guardrail_triage_decide` | outputlookup guardrail_triage_lookup append=true key_field=_key")
    evalspl.run_pipeline(macro(decide), [], now=utc("2026-12-01T07:50Z"), kvstore=store)

    sources = dc.load_view(dc.VIEWS / "morning_triage.xml").definition["dataSources"]
    info = {"info_min_time": str(NOW - 86400), "info_max_time": str(NOW), "info_sid": "dashboard"}

    def query(name: str) -> str:
        return str(sources[name]["options"]["query"])

    def run(name: str, rows: List[Row], tokens: Optional[Dict[str, str]] = None, skip: int = 0) -> List[Row]:
        """The search (after its first ``skip`` stages) over ``rows``, tokens resolved."""
        from devtools.splcheck import split_top_level

        text = query(name) if not skip else "|".join(split_top_level(query(name), "|")[skip:])
        resolved = _resolve(text, {"f_source": "*", "f_priority": "*", **(tokens or {})})
        return evalspl.run_pipeline(macro(resolved), [dict(r) for r in rows], now=NOW, kvstore=store, info=info)

    base = run("ds_queue", [])
    out: Dict[str, Table] = {"ds_queue": _table_of(query("ds_queue"), base)}
    for name, spec in sources.items():
        if spec["type"] == "ds.chain" and name != "ds_history":
            out[name] = _table_of(query(name), run(name, base))
    # panels that wait for a row click: every finding's rows, the harness keeps the clicked one's
    history = [h for row in base for h in run("ds_history", base, {"sel_key": str(row["triage_key"])})]
    out["ds_history"] = {**_table_of(query("ds_history"), history),
                         "match": {"field": "triage_key", "query": 'triage_key=="([^"]*)"'}}
    raw: List[Row] = []
    for finding_id in sorted({str(r["finding_id"]) for r in base if r.get("finding_id")}):
        for name in FIXTURES:  # `cloud_findings` "<id>": the fixture events holding the id
            ev = event(name)
            if finding_id in str(ev["_raw"]):
                (norm,) = normalise([name])
                ev["_time"] = _iso(float(norm.get("finding_updated") or NOW))
                raw += run("ds_raw", [ev], {"sel_finding_id": finding_id}, skip=1)
    out["ds_raw"] = {**_table_of(query("ds_raw"), raw), "match": {"field": "finding", "query": 'finding="([^"]*)"'}}
    counts = [{"finding_source": "securityhub", "count": "5120", "last_indexed": str(NOW - 600)},
              {"finding_source": "guardduty", "count": "240", "last_indexed": str(NOW - 1300)},
              {"finding_source": "sysdig", "count": "800", "last_indexed": str(utc("2026-11-30T06:00Z"))},
              {"finding_source": "defender", "count": "35", "last_indexed": str(NOW - 3000)}]
    after_tstats = query("ds_health")[query("ds_health").index("| `cloud_source_health`"):]
    out["ds_health"] = _table_of(query("ds_health"), evalspl.run_pipeline(macro(after_tstats), counts, now=NOW))
    out["ds_allowlist"] = _table_of(query("ds_allowlist"), run("ds_allowlist", []))
    statuses = ("new", "investigating", "business_operation", "false_positive", "true_positive")
    out["ds_status_choices"] = table(("label", "value"), [[s.replace("_", " "), '{{query:value="([^"]*)"}}|' + s]
                                                          for s in statuses])
    written = run("ds_triage_write", [], {"triage_action": f"{exfil}|investigating", "triage_owner": "sam.ortiz",
                                          "triage_note": "role used from a VPN exit?"})
    assert len(written) == 1, "the write search updates exactly the selected finding"
    # what the analyst picks in the browser is echoed from the resolved query
    out["ds_triage_write"] = table(("title", "status", "owner", "note", "saved_at"), [[
        written[0]["title"], '{{query:split\\("[^|"]*\\|([^"]*)", "\\|"\\)}}', '{{query:new_owner="([^"]*)"}}',
        '{{query:new_note="([^"]*)"}}', written[0]["saved_at"]]])
    return out


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
    attributed = attributed_table(rows, subject)
    generated: Dict[str, Dict[str, Table]] = {
        "policy_denied_investigation": {**denied_tables(rows), **investigation_tables(rows)},
        "morning_triage": triage_tables(),
        "user_activity": {"ds_attributed": attributed,
                          "ds_kpi_denied": table(("denied",), [[len(attributed["columns"][0])]]),
                          **evidence_tables(events, subject)},
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
