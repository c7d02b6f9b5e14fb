"""Every Dashboard Studio view: well-formed, valid against Splunk's own schema, and sound beyond it.

Covers every file in default/data/ui/views (the app's own views and any other area's), so a view added
later is checked without touching this file.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

from devtools import splcheck
from devtools.conf import parse_conf
from tests.browser import dashboard_checks as dc

HERE = Path(__file__).resolve().parent
OWN_VIEWS = ("gcp_audit_overview", "policy_denied_investigation", "user_activity", "alert_triage",
             "guardrail_posture", "morning_triage")
VIEW_PATHS = dc.all_views()
VIEW_IDS = [p.stem for p in VIEW_PATHS]


def run_validator(paths: List[Path]) -> Dict[str, Any]:
    if not (HERE / "node_modules" / "@splunk" / "dashboard-validation").is_dir():
        pytest.fail("tests/browser/node_modules is missing: run `make browser-deps` (npm ci)")
    done = subprocess.run(["node", str(HERE / "validate.js"), *map(str, paths)], cwd=HERE,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def schema_report() -> Dict[str, Any]:
    return run_validator(VIEW_PATHS)


@pytest.fixture(scope="module")
def views() -> Dict[str, dc.View]:
    return {p.stem: dc.load_view(p) for p in VIEW_PATHS}


@pytest.fixture(scope="module")
def macros() -> Dict[str, Any]:
    return {s.name: s for s in parse_conf(dc.ROOT / "default" / "macros.conf")}


def test_the_apps_own_views_exist() -> None:
    assert set(OWN_VIEWS) <= set(VIEW_IDS)


@pytest.mark.parametrize("path", VIEW_PATHS, ids=VIEW_IDS)
def test_view_is_a_well_formed_studio_view(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    view = dc.load_view(path)
    assert view.version == "2"
    assert (view.label or "").strip()
    theme = re.search(r'<dashboard[^>]*\btheme="([^"]*)"', text)
    assert theme is None or theme.group(1) in {"dark", "light"}
    assert "]]>" not in json.dumps(view.definition)


@pytest.mark.parametrize("name", VIEW_IDS)
def test_definition_is_valid_against_splunks_schema(name: str, schema_report: Dict[str, Any]) -> None:
    entry = schema_report[f"{name}.xml"]
    assert entry["version"] == "2"
    assert entry["errors"] == []


@pytest.mark.parametrize("name", VIEW_IDS)
def test_definition_passes_the_checks_the_schema_misses(name: str, views: Dict[str, dc.View]) -> None:
    assert dc.check_definition(views[name], views) == []


@pytest.mark.parametrize("name", VIEW_IDS)
def test_every_query_passes_the_spl_checker(name: str, views: Dict[str, dc.View]) -> None:
    content = splcheck.AppContent.load(dc.ROOT)
    problems = {}
    for source, spec in views[name].definition.get("dataSources", {}).items():
        query = (spec.get("options") or {}).get("query")
        if query is not None:
            found = splcheck.check_search(splcheck.resolve_token_filters(query), content)
            if found:
                problems[source] = found
    assert problems == {}


@pytest.mark.parametrize("name", VIEW_IDS)
def test_every_base_search_ends_with_its_own_empty_filter_macro(name: str, views: Dict[str, dc.View],
                                                                   macros: Dict[str, Any]) -> None:
    bases = dc.base_searches(views[name])
    assert bases, "a view without a base search shows nothing"
    own = f"{name}_filter"
    for source, query in bases:
        macro = dc.last_macro(query)
        assert macro and macro.endswith("_filter"), f"{source} does not end with a _filter macro"
        if own in macros:
            assert macro == own, f"{source} ends with `{macro}`, not the view's own `{own}`"
        stanza = macros[macro]
        assert (stanza.get("definition") or "").strip() == "search *"
        assert (stanza.get("description") or "").strip()


@pytest.mark.parametrize("name", VIEW_IDS)
def test_searches_follow_the_global_time_picker(name: str, views: Dict[str, dc.View]) -> None:
    d = views[name].definition
    pickers = [k for k, v in d.get("inputs", {}).items() if v.get("type") == "input.timerange"]
    assert pickers, "no time picker"
    assert set(pickers) <= set(d["layout"].get("globalInputs", [])), "the time picker is not global"
    token = d["inputs"][pickers[0]]["options"]["token"]
    default = (d.get("defaults", {}).get("dataSources", {}).get("ds.search", {})
               .get("options", {}).get("queryParameters", {}))
    for source, spec in d["dataSources"].items():
        if spec["type"] != "ds.search":
            continue
        params = {**default, **(spec.get("options", {}).get("queryParameters") or {})}
        assert params.get("earliest") == f"${token}.earliest$", source
        assert params.get("latest") == f"${token}.latest$", source


@pytest.mark.parametrize("name", OWN_VIEWS)
def test_own_views_are_in_the_app_navigation(name: str) -> None:
    nav = (dc.ROOT / "default" / "data" / "ui" / "nav" / "default.xml").read_text(encoding="utf-8")
    assert re.search(rf'<view\s+name="{name}"', nav)


def test_triage_decisions_are_written_to_the_kv_store_lookup(views: Dict[str, dc.View]) -> None:
    sources = views["alert_triage"].definition["dataSources"]
    writers = [s["options"]["query"] for s in sources.values()
               if "outputlookup" in (s.get("options") or {}).get("query", "")]
    assert len(writers) == 1
    assert re.search(r"outputlookup guardrail_triage_lookup append=true key_field=_key", writers[0])
    # Owner and note go in through the |s filter: quoted and escaped, so a note with quotes stays text.
    for token in ("$triage_action$", "$triage_owner|s$", "$triage_note|s$"):
        assert token in writers[0]
    assert '"$triage_note$"' not in writers[0]


def test_investigation_rows_open_the_user_view(views: Dict[str, dc.View]) -> None:
    handlers = views["policy_denied_investigation"].definition["visualizations"]["viz_correlated"]["eventHandlers"]
    link = [h for h in handlers if h["type"] == "drilldown.linkToDashboard"]
    assert link and link[0]["options"]["dashboard"] == "user_activity"
    assert {t["token"] for t in link[0]["options"]["tokens"]} >= {"subject"}


# ---- the checks can fail: each broken variant of a real view is caught --------------------------------


def broken(views: Dict[str, dc.View], change: Any) -> List[str]:
    view = copy.deepcopy(views["policy_denied_investigation"])
    change(view.definition)
    return dc.check_definition(view, views)


def test_checks_catch_a_missing_data_source(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["visualizations"]["viz_retries"]["dataSources"]["primary"] = "ds_gone"
    assert any("'ds_gone' does not exist" in p for p in broken(views, change))


def test_checks_catch_a_search_without_query(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["dataSources"]["ds_denied"]["options"].pop("query")
    assert any("ds_denied: ds.search without a query" in p for p in broken(views, change))


def test_checks_catch_a_chain_extending_nothing(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["dataSources"]["ds_retries"]["options"]["extend"] = "ds_gone"
    assert any("extends missing data source 'ds_gone'" in p for p in broken(views, change))


def test_checks_catch_an_undefined_token(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["dataSources"]["ds_denied"]["options"]["query"] += " | search x=\"$f_typo|s$\""
    assert any("$f_typo$ is never set" in p for p in broken(views, change))


def test_checks_catch_an_unknown_event_handler(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["visualizations"]["viz_correlated"]["eventHandlers"][0]["type"] = "drilldown.linkToDashbaord"
    assert any("unknown event handler type" in p for p in broken(views, change))


def test_checks_catch_a_link_passing_a_token_the_target_ignores(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["visualizations"]["viz_correlated"]["eventHandlers"][0]["options"]["tokens"][0]["token"] = "usr"
    assert any("passes token 'usr'" in p for p in broken(views, change))


def test_checks_catch_an_unused_search_and_an_unplaced_panel(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["dataSources"]["ds_orphan"] = {"type": "ds.search", "options": {"query": "| makeresults"}}
        structure = d["layout"]["layoutDefinitions"]["layout_1"]["structure"]
        structure[:] = [b for b in structure if b["item"] != "viz_reasons"]
    problems = broken(views, change)
    assert any("ds_orphan: used by no visualization" in p for p in problems)
    assert any("viz_reasons: defined but not placed" in p for p in problems)


def test_checks_catch_a_link_to_a_missing_view(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["visualizations"]["viz_correlated"]["eventHandlers"][0]["options"]["dashboard"] = "user_activty"
    assert any("not a view of this app" in p for p in broken(views, change))


def test_schema_validation_catches_what_it_should(tmp_path: Path, views: Dict[str, dc.View]) -> None:
    source = VIEWS_BY_NAME["gcp_audit_overview"].read_text(encoding="utf-8")
    bad_type = tmp_path / "bad_type.xml"
    bad_type.write_text(source.replace('"splunk.pie"', '"splunk.piechart"'), encoding="utf-8")
    bad_layout = tmp_path / "bad_layout.xml"
    bad_layout.write_text(source.replace('"layoutDefinitions"', '"layoutDefs"'), encoding="utf-8")
    bad_xml = tmp_path / "bad_xml.xml"
    bad_xml.write_text(source.replace("</label>", ""), encoding="utf-8")
    report = run_validator([bad_type, bad_layout, bad_xml])
    assert any("allowed values" in e for e in report["bad_type.xml"]["errors"])
    assert any("layoutDefinitions" in e for e in report["bad_layout.xml"]["errors"])
    assert any("not well-formed" in e for e in report["bad_xml.xml"]["errors"])


VIEWS_BY_NAME = {p.stem: p for p in VIEW_PATHS}
