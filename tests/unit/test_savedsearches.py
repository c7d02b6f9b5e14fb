"""The guardrail alerts in default/savedsearches.conf hold to the alerting rules.

Each scheduled search: scheduled by cron with a schedule window, never real-time, a dispatch range
that ends in the past (ingestion lag), a description, its own empty ``<name>_filter`` macro last,
and, when it is an alert, a severity, per-result throttling on fields the search outputs, the
allowlist applied before any aggregation, a triage record and the notify action wired but off.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List

import pytest

from devtools.conf import Stanza, parse_conf

ROOT = Path(__file__).resolve().parents[2]
SAVED = parse_conf(ROOT / "default" / "savedsearches.conf")
MACROS = {s.name: s for s in parse_conf(ROOT / "default" / "macros.conf")}

ALERTS = (
    "guardrail_repeated_denials",
    "guardrail_undeclared_service",
    "guardrail_vpcsc_ingress_external",
    "guardrail_vpcsc_egress_violation",
    "guardrail_service_agent_org_policy",
    "guardrail_unidentified_caller",
    "guardrail_denials_across_projects",
    "guardrail_sensitive_method_denied",
)
REPORTS = ("guardrail_dry_run_daily_report",)
# The correlation summary and its upkeep (docs/scale.md; tests/unit/test_correlation_summary.py).
SUMMARY = ("guardrail_correlation_summary", "guardrail_verdicts_retention", "guardrail_nat_log_checks",
           "guardrail_nat_log_checks_retention")
ALLOWLIST_DROP = "`guardrail_not_allowlisted`"
ALLOWLIST_MARK = "`guardrail_allowlist_match`"


def stanza(name: str) -> Stanza:
    found = SAVED.stanza(name)
    assert found is not None, f"[{name}] missing from savedsearches.conf"
    return found


def stages(search: str) -> List[str]:
    """Top-level pipeline stages (pipes inside quotes, brackets or backticks do not split)."""
    from devtools.splcheck import split_top_level

    return [s.strip() for s in split_top_level(search, "|")]


def relative_minutes(value: str) -> int:
    """Minutes before now of a simple relative time such as -5m@m, -1d@d, @d or -2h."""
    if value.startswith("@"):
        return 0
    match = re.fullmatch(r"-(\d+)([mhd])(@[mhd])?", value)
    assert match, f"unexpected time modifier {value!r}"
    return int(match.group(1)) * {"m": 1, "h": 60, "d": 1440}[match.group(2)]


def test_every_scheduled_search_of_the_area_is_listed() -> None:
    ours = {s.name for s in SAVED if s.name.startswith("guardrail_") and s.get("enableSched") == "1"}
    assert ours == set(ALERTS) | set(REPORTS) | set(SUMMARY)


@pytest.mark.parametrize("name", ALERTS + REPORTS)
def test_scheduled_not_realtime_with_window(name: str) -> None:
    s = stanza(name)
    assert s.get("enableSched") == "1"
    cron = s.get("cron_schedule") or ""
    assert len(cron.split()) == 5, f"cron_schedule {cron!r}"
    assert s.get("schedule_window") and (s.get("schedule_window") == "auto" or int(s.get("schedule_window") or 0) > 0)
    # Continuous scheduling: realtime_schedule defaults to true in Splunk (savedsearches.conf.spec),
    # and then "the scheduler might skip some execution periods" - a skipped run leaves a window
    # nobody searched (the hourly alert's windows do not overlap at all). Set it explicitly.
    assert s.get("realtime_schedule") in ("0", "false"), "realtime_schedule = 0 (the default is 1)"
    earliest = s.get("dispatch.earliest_time") or ""
    latest = s.get("dispatch.latest_time") or ""
    assert not earliest.startswith("rt") and not latest.startswith("rt"), "real-time search"
    assert latest and latest != "now", "dispatch.latest_time must leave room for ingestion lag"
    assert relative_minutes(earliest) > relative_minutes(latest)


@pytest.mark.parametrize("name", ALERTS + REPORTS)
def test_description_says_what_and_attack(name: str) -> None:
    description = stanza(name).get("description") or ""
    assert len(description) >= 120, "a description an analyst understands"
    assert "ATT&CK:" in description


@pytest.mark.parametrize("name", ALERTS + REPORTS + ("guardrail_allowlist_proposal",))
def test_own_filter_macro_last_and_empty(name: str) -> None:
    last = stages(stanza(name).get("search") or "")[-1]
    assert last == f"`{name}_filter`"
    macro = MACROS.get(f"{name}_filter")
    assert macro is not None and macro.get("definition") == "search *"
    assert macro.get("description")


@pytest.mark.parametrize("name", ALERTS)
def test_alert_severity_and_tracking(name: str) -> None:
    s = stanza(name)
    assert s.get("alert.severity") in {"3", "4", "5", "6"}
    assert s.get("counttype") == "number of events"
    assert s.get("relation") == "greater than" and s.get("quantity") == "0"
    assert s.get("alert.track") == "1"


def output_fields(search: str) -> List[str]:
    """Fields of the last `table` stage (every alert ends its shaping with one)."""
    tables = [st for st in stages(search) if st.startswith("table ")]
    assert tables, "alert without a final table"
    return tables[-1].split()[1:]


@pytest.mark.parametrize("name", ALERTS)
def test_throttled_per_result_on_output_fields(name: str) -> None:
    s = stanza(name)
    assert s.get("alert.suppress") == "1"
    assert re.fullmatch(r"\d+[mhd]", s.get("alert.suppress.period") or ""), "suppress period"
    fields = [f.strip() for f in (s.get("alert.suppress.fields") or "").split(",") if f.strip()]
    assert fields, "alert.suppress.fields"
    assert s.get("alert.digest_mode") == "0", "per-result throttling needs digest mode off"
    outputs = output_fields(s.get("search") or "")
    missing = [f for f in fields if f not in outputs]
    assert not missing, f"suppress fields not in the results: {missing}"
    # The throttle must outlast the overlap of consecutive windows, or one burst fires twice.
    period = s.get("alert.suppress.period") or "0m"
    minutes = int(period[:-1]) * {"m": 1, "h": 60, "d": 1440}[period[-1]]
    assert minutes >= 60


@pytest.mark.parametrize("name", ALERTS + REPORTS)
def test_sort_keeps_every_row(name: str) -> None:
    # sort without a count returns at most 10000 results (SPL reference, sort: "If no count is
    # specified, the default limit of 10000 is used"); a report must not drop rows silently.
    for part in stages(stanza(name).get("search") or ""):
        if part == "sort" or part.startswith("sort "):
            assert re.match(r"sort\s+(0|limit=0)\s", part), f"{part!r}: use sort 0"


@pytest.mark.parametrize("name", ALERTS)
def test_allowlist_applied_before_aggregation(name: str) -> None:
    parts = stages(stanza(name).get("search") or "")
    assert ALLOWLIST_DROP in parts, "known business operations must never alert"
    first_stats = next(i for i, p in enumerate(parts) if p.startswith("stats "))
    assert parts.index(ALLOWLIST_DROP) < first_stats, "allowlist must see raw events (time windows, expiry)"


def test_allowlist_macro_honours_expiry() -> None:
    """Expired rows must alert again: the rule engine compares each row's expiry with the event and now."""
    match = MACROS["guardrail_allowlist_match"].get("definition") or ""
    assert "_gr_time=_time" in match and match.endswith("`guardrail_allowlist_rules`")
    rules = MACROS["guardrail_allowlist_rules"].get("definition") or ""
    assert "expires" in rules and "now()" in rules and "_gr_time" in rules
    assert "guardrail_allowlisted=\"false\"" in (MACROS["guardrail_not_allowlisted"].get("definition") or "")


def test_report_marks_allowlisted_rows_instead_of_dropping() -> None:
    parts = stages(stanza("guardrail_dry_run_daily_report").get("search") or "")
    assert ALLOWLIST_MARK in parts and ALLOWLIST_DROP not in parts
    s = stanza("guardrail_dry_run_daily_report")
    assert (s.get("alert.track") or "0") == "0"
    assert s.get("dispatch.earliest_time") == "-1d@d" and s.get("dispatch.latest_time") == "@d"


@pytest.mark.parametrize("name", ALERTS)
def test_triage_record_and_drilldown(name: str) -> None:
    s = stanza(name)
    parts = stages(s.get("search") or "")
    record = [p for p in parts if p.startswith("`guardrail_triage_record(")]
    assert record == [f"`guardrail_triage_record({name},{label(s)})`"]
    assert any(p.startswith("eval triage_key=") for p in parts)
    assert any(p.startswith("eval drilldown_search=") for p in parts)
    outputs = output_fields(s.get("search") or "")
    for field in ("severity", "finding", "mitre_attack", "triage_status", "drilldown_search"):
        assert field in outputs
    assert s.get("request.ui_dispatch_app") == "gcp_guardrail"
    assert s.get("display.general.type") == "statistics"


def label(s: Stanza) -> str:
    return {"3": "low", "4": "medium", "5": "high", "6": "critical"}[s.get("alert.severity") or ""]


@pytest.mark.parametrize("name", ALERTS)
def test_notify_action_wired_but_off(name: str) -> None:
    assert stanza(name).get("action.guardrail_notify") == "0"


@pytest.mark.parametrize("name", ALERTS)
def test_shipped_disabled(name: str) -> None:
    assert stanza(name).get("disabled") == "1"


def test_correlating_alerts_read_the_summary_for_their_window() -> None:
    correlating: Dict[str, str] = {
        s.name: s.get("search") or "" for s in SAVED
        if s.name in ALERTS and "`guardrail_verdicts(" in (s.get("search") or "")
    }
    assert len(correlating) == 5
    summary = stanza("guardrail_correlation_summary")
    period = cron_period_minutes(summary.get("cron_schedule") or "")
    covered = relative_minutes(summary.get("dispatch.latest_time") or "") + period
    for name, search in correlating.items():
        parts = stages(search)
        call = re.fullmatch(r"`guardrail_verdicts\((-\d+m@m),(-\d+m@m)\)`", parts[0])
        assert call, name
        earliest, latest = call.groups()
        # a window is read once a summary run (every `period` minutes, ending `covered - period`
        # minutes ago) has correlated it, with the forward evidence after its last call
        assert relative_minutes(latest) >= covered, name
        assert "correlatepolicydenied" not in search and "guardrail_correlate(" not in search
        s = stanza(name)
        assert s.get("dispatch.earliest_time") == earliest and s.get("dispatch.latest_time") == latest


def test_correlation_reads_every_identity_evidence_kind() -> None:
    """What the scheduled correlation reads must cover everything identity_evidence covers."""

    def kinds(name: str) -> set:
        definition = MACROS[name].get("definition") or ""
        found = set()
        for ref in re.findall(r"`(\w+)`", definition):
            found.add(ref)
            if ref in ("guardrail_keyed_evidence", "guardrail_interval_evidence"):
                found |= kinds(ref)
        return found

    combined = set(re.findall(r"`(\w+)`", MACROS["identity_evidence"].get("definition") or ""))
    read = kinds("guardrail_correlation_input_raw(2)")
    assert combined and combined - {"evidence_idp"} <= read
    # IdP sign-ins are read through evidence_signin, which takes the IdP indexes too
    assert "evidence_signin" in read and "`evidence_idp_index`" in (MACROS["evidence_signin"].get("definition") or "")
    assert (MACROS["guardrail_correlate(2)"].get("definition") or "").count("| correlatepolicydenied ") == 1


def test_triage_macro_never_overwrites_a_decision() -> None:
    definition = MACROS["guardrail_triage_record(2)"].get("definition") or ""
    assert "lookup guardrail_triage_lookup _key AS triage_id OUTPUT status" in definition
    assert "where isnull(triage_status)" in definition
    # One entry per finding per UTC day (docs/lookups.md): epoch arithmetic, because relative_time's
    # "@d" and strftime follow the time zone of the user the search runs as.
    assert "floor(now() / 86400)" in definition and "@d" not in definition
    assert "outputlookup append=true guardrail_triage_lookup" in definition
    assert "status=\"new\"" in definition


def test_allowlist_proposal_maps_to_allowlist_columns() -> None:
    search = stanza("guardrail_allowlist_proposal").get("search") or ""
    header = (ROOT / "lookups" / "guardrail_allowlist.example.csv").read_text().splitlines()[0].split(",")
    table = [p for p in stages(search) if p.startswith("table ")][-1].split()[1:]
    assert table[: len(header)] == header
    assert stanza("guardrail_allowlist_proposal").get("enableSched") == "0"


def produced_after_stats(search: str) -> List[str]:
    """Fields that exist after an alert's (last) stats: its by-fields, AS names, later evals/renames."""
    from devtools.splcheck import split_top_level

    parts = stages(search)
    index = max(i for i, p in enumerate(parts) if p.startswith("stats "))
    stats = parts[index]
    names = re.findall(r"\bAS\s+(\w+)", stats)
    if " by " in stats:
        names += stats.split(" by ", 1)[1].split()
    for part in parts[index + 1:]:
        if part.startswith("eval "):
            names += [a.split("=", 1)[0].strip() for a in split_top_level(part[5:], ",")]
        elif part.startswith("rename "):
            names += re.findall(r"\bAS\s+(\w+)", part)
        elif part.startswith("`guardrail_triage_record("):
            names += ["triage_status", "triage_owner"]
    return names


@pytest.mark.parametrize("name", ALERTS)
def test_every_output_column_is_produced(name: str) -> None:
    search = stanza(name).get("search") or ""
    missing = [f for f in output_fields(search) if f not in produced_after_stats(search)]
    assert missing == [], f"table names fields the search never makes: {missing}"


def never_null_before(field: str, parts: List[str]) -> bool:
    """Whether the stages before a stats guarantee ``field`` a value: an eval assigns it with a
    coalesce ending in a literal, an if() or a case() with a true() branch, or a where requires
    isnotnull(field)."""
    from devtools.splcheck import split_top_level

    for part in parts:
        if part.startswith("eval "):
            for assignment in split_top_level(part[5:], ","):
                name, _, expression = assignment.partition("=")
                if name.strip() != field:
                    continue
                expression = expression.strip()
                if expression.startswith("coalesce(") and re.search(r'"[^"]*"\)$', expression):
                    return True
                if expression.startswith("if(") or (expression.startswith("case(") and "true()," in expression):
                    return True
        elif part.startswith("where ") and f"isnotnull({field})" in part:
            return True
    return False


@pytest.mark.parametrize("name", ALERTS + REPORTS)
def test_no_event_lost_to_a_null_by_field(name: str) -> None:
    # stats drops every event whose BY fields are not all present: an organisation- or folder-level
    # entry (logName organizations/... or folders/...) has no gcp_project and would vanish from the
    # alert, so each BY field gets a value before the stats.
    parts = stages(stanza(name).get("search") or "")
    index = next(i for i, p in enumerate(parts) if p.startswith("stats "))
    by_fields = parts[index].split(" by ", 1)[1].split()
    unguarded = [f for f in by_fields if not never_null_before(f, parts[:index])]
    assert unguarded == [], f"stats BY fields that may be null: {unguarded}"


def cron_period_minutes(cron: str) -> int:
    """Period of the simple cron patterns the app uses: */n or a-b/n minutes, a fixed minute
    (hourly), or fixed minute and hour (daily)."""
    minute, hour = cron.split()[:2]
    step = re.fullmatch(r"(?:\*|\d+-\d+)/(\d+)", minute)
    if step and hour == "*":
        return int(step.group(1))
    if minute.isdigit() and hour == "*":
        return 60
    assert minute.isdigit() and hour.isdigit(), f"cron pattern not understood: {cron!r}"
    return 1440


@pytest.mark.parametrize("name", ALERTS + REPORTS)
def test_schedule_window_shorter_than_the_period(name: str) -> None:
    # savedsearches.conf.spec: "The 'schedule_window' must be shorter than the period of the search."
    s = stanza(name)
    window = s.get("schedule_window") or "0"
    if window != "auto":
        assert int(window) < cron_period_minutes(s.get("cron_schedule") or "")


def test_monthly_cost_report_is_never_skipped() -> None:
    # One run a month: with Splunk's default realtime_schedule = 1 a busy scheduler may skip it
    # and the month has no report; continuous scheduling runs it late instead.
    s = stanza("aws_config_cost_monthly")
    assert s.get("enableSched") == "1" and s.get("realtime_schedule") == "0"
    assert int(s.get("schedule_window") or "0") < 28 * 1440


# Alerts whose group is a person, and the field that holds the person's group: each must come
# from correlatepolicydenied's identified_user_key (one key per person), never from identified_user
# (spelled as the evidence spelled it: CORP\avery.lin on one denial, avery.lin@example-corp.com on
# the next, which would split one person into several groups and throttles).
PERSON_GROUPS = {
    "guardrail_repeated_denials": "caller_key",
    "guardrail_service_agent_org_policy": "identified_user_key",
    "guardrail_denials_across_projects": "identified_user_key",
    "guardrail_sensitive_method_denied": "actor",
}
SPELLED = re.compile(r"\bidentified_user\b(?!_)")


def stats_stage(search: str) -> str:
    return next(p for p in stages(search) if p.startswith("stats "))


def by_fields(search: str) -> List[str]:
    return stats_stage(search).split(" by ", 1)[1].split()


def assignment(search: str, field: str) -> str:
    """The expression of the last eval before the stats that assigns ``field`` ('' if none)."""
    from devtools.splcheck import split_top_level

    parts = stages(search)
    found = ""
    for part in parts[: parts.index(stats_stage(search))]:
        if part.startswith("eval "):
            for item in split_top_level(part[5:], ","):
                name, _, expression = item.partition("=")
                if name.strip() == field:
                    found = expression.strip()
    return found


@pytest.mark.parametrize("name", ALERTS)
def test_spelled_user_is_for_display_only(name: str) -> None:
    s = stanza(name)
    search = s.get("search") or ""
    assert "identified_user" not in by_fields(search)
    suppress = [f.strip() for f in (s.get("alert.suppress.fields") or "").split(",")]
    assert "identified_user" not in suppress
    for part in stages(search):
        if part.startswith("eval triage_key="):
            assert not SPELLED.search(part), f"triage key on the spelled name: {part}"
    for field in by_fields(search):
        assert not SPELLED.search(assignment(search, field)), f"{field} derived from the spelled name"


@pytest.mark.parametrize(("name", "group"), sorted(PERSON_GROUPS.items()))
def test_person_alerts_group_throttle_and_key_triage_on_the_person_key(name: str, group: str) -> None:
    s = stanza(name)
    search = s.get("search") or ""
    assert group in by_fields(search)
    if group != "identified_user_key":
        expression = assignment(search, group)
        assert "identified_user_key" in expression and not SPELLED.search(expression), expression
    suppress = [f.strip() for f in (s.get("alert.suppress.fields") or "").split(",")]
    assert group in suppress
    [triage] = [p for p in stages(search) if p.startswith("eval triage_key=")]
    assert re.search(rf"\b{group}\b", triage), triage
    # the names as spelled stay in the results for the analyst
    assert "values(identified_user) AS identified_user" in stats_stage(search)
    assert "identified_user" in output_fields(search)


def test_reconnaissance_alert_groups_by_the_person_key() -> None:
    s = stanza("guardrail_denials_across_projects")
    search = s.get("search") or ""
    # a person's projects split across spellings (CORP\avery.lin, avery.lin@...) add up to one count
    assert by_fields(search) == ["identified_user_key"]
    stats = stats_stage(search)
    assert "dc(gcp_project) AS project_count" in stats and "values(identified_user) AS identified_user" in stats
    parts = stages(search)
    [named] = [p for p in parts[: parts.index(stats)] if p.startswith("where ") and "match_status" in p]
    assert "isnotnull(identified_user_key)" in named and 'identified_user_key!=""' in named
    assert s.get("alert.suppress.fields") == "identified_user_key"
    assert 'eval triage_key="user=" . identified_user_key' in parts
    assert output_fields(search)[:6] == ["first_seen", "last_seen", "severity", "finding", "identified_user_key",
                                         "identified_user"]
