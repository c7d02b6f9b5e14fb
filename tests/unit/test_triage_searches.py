"""The triage searches hold to the app's scheduling and alerting rules, and the alert pages on what
it says: a new critical or high finding on a production account, not suppressed, still open."""

from __future__ import annotations

import re
from typing import List

import pytest

from devtools import evalspl
from devtools.conf import Stanza, parse_conf
from devtools.splcheck import split_top_level
from tests.unit.triage_builders import FIXTURES, ROOT, SAVED, intake, key_of, macro, site_kvstore, utc

MACROS = {s.name: s for s in parse_conf(ROOT / "default" / "macros.conf")}
SCHEDULED = ("cloud_findings_intake", "cloud_findings_source_health", "cloud_findings_new_critical_high")
ALERT = "cloud_findings_new_critical_high"


def stanza(name: str) -> Stanza:
    return SAVED[name]


def stages(search: str) -> List[str]:
    return [s.strip() for s in split_top_level(search, "|") if s.strip()]


def minutes(modifier: str) -> int:
    match = re.fullmatch(r"-(\d+)m@m", modifier)
    assert match, modifier
    return int(match.group(1))


@pytest.mark.parametrize("name", SCHEDULED)
def test_scheduled_with_a_window_never_realtime(name: str) -> None:
    s = stanza(name)
    assert s.get("enableSched") == "1" and len((s.get("cron_schedule") or "").split()) == 5
    assert int(s.get("schedule_window") or 0) > 0
    assert s.get("realtime_schedule") == "0", "a skipped run would leave a window nobody searched"
    assert len(s.get("description") or "") >= 120 and "ATT&CK:" in (s.get("description") or "")


@pytest.mark.parametrize("name", SCHEDULED)
def test_own_empty_filter_macro_last(name: str) -> None:
    assert stages(stanza(name).get("search") or "")[-1] == f"`{name}_filter`"
    assert MACROS[f"{name}_filter"].get("definition") == "search *"


def test_intake_reads_by_index_time_in_windows_that_leave_no_gap() -> None:
    search = stanza("cloud_findings_intake").get("search") or ""
    first = stages(search)[0]
    earliest = re.search(r"_index_earliest=(\S+)", first)
    latest = re.search(r"_index_latest=(\S+)", first)
    assert earliest and latest, "late findings (an add-on polling every few hours) must not be missed"
    cron = stanza("cloud_findings_intake").get("cron_schedule") or ""
    every = int(re.fullmatch(r"(?:\*|\d+-59)/(\d+) \* \* \* \*", cron).group(1))  # type: ignore[union-attr]
    assert minutes(earliest.group(1)) - minutes(latest.group(1)) >= every
    # the exclusion hook runs before anything is written, the filter macro after
    assert stages(search)[1] == "`cloud_findings_intake_exclude`"
    assert stages(search)[2] == "`cloud_findings_queue_update`"


def test_alert_is_throttled_per_finding_and_shipped_off() -> None:
    s = stanza(ALERT)
    throttle = (s.get("alert.digest_mode"), s.get("alert.suppress"), s.get("alert.suppress.fields"))
    assert throttle == ("0", "1", "finding_key")
    assert s.get("alert.suppress.period") == "24h" and s.get("alert.severity") == "5" and s.get("alert.track") == "1"
    assert s.get("disabled") == "1" and s.get("action.guardrail_notify") == "0"
    table = [st for st in stages(s.get("search") or "") if st.startswith("table ")][-1].split()[1:]
    assert "finding_key" in table and "finding" in table and "priority_reasons" in table


def run_alert(store: evalspl.KVStore, now: float) -> List[evalspl.Fields]:
    """The alert's search over the queue, as the scheduler runs it at ``now`` with its dispatch range
    (the `convert` stage only formats times for display: it is left out, and is the only one left out)."""
    search = stanza(ALERT).get("search") or ""
    parts = stages(search)
    converts = [p for p in parts if p.startswith("convert ")]
    assert len(converts) == 1
    earliest = stanza(ALERT).get("dispatch.earliest_time") or ""
    info = {"info_min_time": str(now - minutes(earliest) * 60 - now % 60), "info_sid": "scheduler__alert"}
    pipeline = "| " + " | ".join(p for p in parts if p not in converts)
    return evalspl.run_pipeline(macro(pipeline), [], now=now, kvstore=store, info=info)


def test_alert_pages_on_new_high_findings_on_production_only() -> None:
    store = site_kvstore()
    night = ["gd_exfiltration_eventbridge", "gd_exfiltration_via_securityhub", "sh_control_failed_eventbridge",
             "defender_rest_alert", "defender_export_alert", "gd_portscan_in_maintenance_window", "sysdig_runtime_eks"]
    intake(night, store, now=utc("2026-12-01T05:30Z"))
    rows = run_alert(store, utc("2026-12-01T05:34Z"))
    paged = {r["finding_key"] for r in rows}
    # high on production: the exfiltration (once, though it came twice), the failed control, the
    # reverse shell on the production AKS subscription, the shell on the prod-eks-* cluster
    assert paged == {key_of("gd_exfiltration_eventbridge"), key_of("sh_control_failed_eventbridge"),
                     key_of("defender_export_alert"), key_of("sysdig_runtime_eks")}
    # not paged: the medium alert on a development subscription, the medium scan inside its maintenance
    exfil = next(r for r in rows if r["finding_key"] == key_of("gd_exfiltration_eventbridge"))
    assert exfil["priority"] == "P1" and "production account payments-prod" in str(exfil["priority_reasons"])
    assert exfil["finding"] == ("high guardduty finding on production account payments-prod: Credentials for instance "
                                "role payments-api-instance-role used from external IP address.")
    # the next run pages nothing new
    assert run_alert(store, utc("2026-12-01T05:54Z")) == []


def test_alert_skips_findings_already_triaged_closed_or_suppressed() -> None:
    store = site_kvstore()
    intake(["gd_exfiltration_eventbridge", "defender_export_alert", "defender_export_resolved"], store,
           now=utc("2026-12-01T05:30Z"))
    # the reverse shell was resolved at the source within the run: not paged
    keys = {r["finding_key"] for r in run_alert(store, utc("2026-12-01T05:34Z"))}
    assert keys == {key_of("gd_exfiltration_eventbridge")}
    # an analyst took the exfiltration already
    search = ("| inputlookup guardrail_triage_lookup"
              " | eval new_status=\"investigating\", new_owner=\"sam\", new_note=\"\""
              " | `guardrail_triage_decide` | outputlookup guardrail_triage_lookup append=true key_field=_key")
    evalspl.run_pipeline(macro(search), [], now=utc("2026-12-01T05:32Z"), kvstore=store)
    assert run_alert(store, utc("2026-12-01T05:34Z")) == []


def test_alert_pages_when_a_finding_is_raised_to_high_at_the_source() -> None:
    import json

    store = site_kvstore()
    intake(["gd_portscan_after_window"], store, now=utc("2026-12-01T05:30Z"))
    assert run_alert(store, utc("2026-12-01T05:34Z")) == []  # medium
    raised = json.loads(json.dumps(FIXTURES["gd_portscan_after_window"]["event"]))
    raised["detail"]["severity"] = 8
    raised["detail"]["updatedAt"] = "2026-12-01T06:30:11.000Z"
    evalspl.run_pipeline(macro("`cloud_findings_queue_update`"),
                         [{"_raw": json.dumps(raised), "sourcetype": "aws:cloudwatch:guardduty"}],
                         now=utc("2026-12-01T06:40Z"), kvstore=store, info={"info_sid": "s"})
    (row,) = run_alert(store, utc("2026-12-01T06:44Z"))
    assert row["severity"] == "high" and row["finding_key"] == key_of("gd_portscan_after_window")


def test_health_search_checks_every_source() -> None:
    search = stanza("cloud_findings_source_health").get("search") or ""
    for source in ("securityhub", "guardduty", "sysdig", "defender"):
        assert f"`{source}_index` `{source}_sourcetypes`" in search and f'finding_source="{source}"' in search
    # the pipeline the health tests run (test_triage_priority.py) is the one this search runs
    assert stages(search)[-5:-2] == ["`cloud_source_health`", "`cloud_source_health_findings`",
                                     "`cloud_findings_queue_upsert`"]
