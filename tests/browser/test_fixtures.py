"""The browser ring's fixture pipeline shapes the command's output the way the panels' SPL does."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from tests.browser import fixtures as fx


@pytest.fixture(scope="module")
def events() -> List[Dict[str, Any]]:
    return fx.sample_events()


@pytest.fixture(scope="module")
def verdicts(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return fx.correlate(events)


def column(table: Dict[str, Any], name: str) -> List[Any]:
    return table["columns"][[f["name"] for f in table["fields"]].index(name)]


@pytest.mark.parametrize("name", ["avery.lin", "CORP\\avery.lin", "Avery.Lin@example-corp.com"])
def test_user_names_compare_by_the_dashboards_key(name: str) -> None:
    assert fx.user_key(name) == "avery.lin"


def test_the_command_runs_on_the_sample_and_every_denial_comes_out_once(
        events: List[Dict[str, Any]], verdicts: List[Dict[str, Any]]) -> None:
    assert 0 < len(verdicts) < len(events)  # evidence rows are dropped
    assert all(fx.first(v.get("match_status")) in {"identified", "ambiguous", "unidentified", "not_masked"}
               for v in verdicts)


def test_attribution_table_is_newest_first_with_a_subject_per_row(verdicts: List[Dict[str, Any]]) -> None:
    table = fx.investigation_tables(verdicts)["ds_correlated"]
    times = column(table, "time")
    assert times == sorted(times, reverse=True)
    for status, user, ip, subject in zip(column(table, "match_status"), column(table, "identified_user"),
                                         column(table, "caller_ip"), column(table, "subject")):
        assert subject == (user or ip)
        assert (status == "identified") == bool(user)


def test_attributed_denials_keep_only_the_subject(verdicts: List[Dict[str, Any]]) -> None:
    subject = fx.default_subject(verdicts)
    mine = fx.attributed_table(verdicts, subject)
    assert {fx.user_key(u) for u in column(mine, "identified_user")} == {subject}
    assert fx.attributed_table(verdicts, "nobody.here")["columns"][0] == []


def test_evidence_of_a_person_names_devices_not_web_sites(events: List[Dict[str, Any]]) -> None:
    subject = "avery.lin"
    table = fx.evidence_tables(events, subject)["ds_ev_table"]
    kinds = column(table, "evidence_kind")
    assert {"Web proxy", "Logon / sign-in"} <= set(kinds)
    for kind, device in zip(kinds, column(table, "device")):
        if kind == "Web proxy":
            assert device == ""  # a proxy's dest is the remote site
    assert all(fx.user_key(u) == subject for u in column(table, "ev_user"))


def test_denied_call_panels_use_the_apps_lookups(verdicts: List[Dict[str, Any]]) -> None:
    tables = fx.denied_tables(verdicts)
    assert column(tables["ds_kpi_denials"], "denials") == [len(verdicts)]
    reasons = dict(zip(column(tables["ds_reasons"], "reason"), column(tables["ds_reasons"], "explanation")))
    assert reasons and all(text for text in reasons.values())  # every constraint has a lookup description
    assert fx.constraint_text("gcp.restrictServiceUsage").startswith("Only the allowed Google Cloud services")
    assert fx.service_declared("ml-sandbox-4821", "bigquery.googleapis.com", 0.0)
    assert not fx.service_declared("ml-sandbox-4821", "notebooks.googleapis.com", 0.0)


def test_morning_triage_panels_come_from_the_apps_own_searches() -> None:
    """The view's searches, run over the queue a night of intake builds, show one row per finding."""
    tables = fx.triage_tables()
    fired = tables["ds_fired"]
    titles = column(fired, "title")
    # GuardDuty natively and through Security Hub, and its later update: one row
    assert titles.count("Credentials for instance role payments-api-instance-role used from external IP address.") == 1
    assert column(fired, "priority") == sorted(column(fired, "priority"))  # by priority
    assert "6 denials of ip:203.0.113.24 on compute.googleapis.com in project data-platform-prod" in titles
    assert column(tables["ds_suppressed"], "suppressed_by") == ["AL-005"]
    assert column(tables["ds_kpi_suppressed"], "suppressed") == ["1"]
    assert dict(zip(column(tables["ds_health"], "source"), column(tables["ds_health"], "health_state")))[
        "Sysdig Secure"] == "silent"
    assert "never matches: no ticket" in column(tables["ds_allowlist"], "state")
    assert set(column(tables["ds_gcp"], "account")) == {"data-platform-prod"}
    # a selected finding's panels hold every finding's rows; the harness keeps the clicked one's
    assert set(column(tables["ds_history"], "triage_key")) == set(column(fired, "triage_key"))
    raw_ids = set(column(tables["ds_raw"], "finding"))
    assert {i for i in column(fired, "finding_id") if i} <= raw_ids
