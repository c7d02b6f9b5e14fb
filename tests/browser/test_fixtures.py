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
    tables = fx.investigation_tables(verdicts)
    base, shown = tables["ds_correlated"], tables["ds_attribution"]
    times = column(base, "_time")
    assert times == sorted(times, reverse=True)
    for status, user, ip, subject in zip(column(base, "match_status"), column(base, "identified_user"),
                                         column(base, "caller_ip"), column(base, "_subject")):
        assert subject == (user or ip)
        assert (status == "identified") == bool(user)
    assert all(0 <= c <= 100 for c in column(shown, "Confidence"))  # a percentage
    assert all(t.endswith(" UTC") for t in column(shown, "Time"))  # the viewer's zone, shown
    assert column(shown, "_call") == column(base, "_call")


def test_evidence_of_a_call_keeps_its_lines_in_order(verdicts: List[Dict[str, Any]]) -> None:
    tables = fx.investigation_tables(verdicts)
    call = column(tables["ds_correlated"], "_call")[0]
    evidence = tables["ds_call_evidence"]
    lines = [line for line, key in zip(column(evidence, "Evidence used"),
                                       column(evidence, "_call")) if key == call]
    assert lines == column(tables["ds_correlated"], "match_evidence")[0]


def test_attributed_denials_keep_only_the_subject(verdicts: List[Dict[str, Any]]) -> None:
    subject = fx.default_subject(verdicts)
    mine = fx.attributed_tables(verdicts, subject)
    assert {fx.user_key(u) for u in column(mine["ds_attributed"], "identified_user")} == {subject}
    assert column(mine["ds_kpi_denied"], "denied") == [len(column(mine["ds_attributed"], "_time"))]
    assert fx.attributed_tables(verdicts, "nobody.here")["ds_attributed"]["columns"][0] == []


@pytest.mark.parametrize(("name", "subject", "found"), [
    ("CORP\\avery.lin", "avery.lin", True), ("avery.lin@example-corp.com", "avery.lin", True),
    ("Avery.Lin", "CORP\\avery.lin", True), ("avery.linn", "avery.lin", False), ("", "", False)])
def test_user_names_match_the_user_views_search_terms(name: str, subject: str, found: bool) -> None:
    assert fx.matches_subject(name, subject) is found


def test_evidence_of_a_person_names_devices_not_web_sites(events: List[Dict[str, Any]]) -> None:
    subject = "avery.lin"
    table = fx.evidence_tables(events, subject)["ds_ev_table"]
    kinds = column(table, "Evidence")
    assert {"Web proxy", "Logon / sign-in"} <= set(kinds)
    for kind, device, site in zip(kinds, column(table, "Device"), column(table, "Site (proxy)")):
        if kind == "Web proxy":
            assert device == ""  # a proxy's dest is the remote site
            assert "/" not in site and site.endswith(".googleapis.com")
    assert all(fx.user_key(u) == subject for u in column(table, "User"))


def test_denied_call_panels_use_the_apps_lookups(verdicts: List[Dict[str, Any]]) -> None:
    tables = fx.denied_tables(verdicts)
    assert column(tables["ds_kpi_denials"], "total")[0] == len(verdicts)
    assert sum(column(tables["ds_kpi_denials"], "denials")) == len(verdicts)
    detail = tables["ds_reason_detail"]
    reasons = dict(zip(column(detail, "Reason"), column(detail, "What it means")))
    assert set(column(tables["ds_reasons"], "Reason")) <= set(reasons)
    assert all(text and not text.startswith("No description") for reason, text in reasons.items() if reason)
    assert fx.constraint_text("gcp.restrictServiceUsage").startswith("Only the allowed Google Cloud services")
    assert fx.service_declared("ml-sandbox-4821", "bigquery.googleapis.com", 0.0)
    assert not fx.service_declared("ml-sandbox-4821", "notebooks.googleapis.com", 0.0)
