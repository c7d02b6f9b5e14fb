"""Every Dashboard Studio view: well-formed, valid against Splunk's own schema, and sound beyond it.

Covers every file in default/data/ui/views (the app's own views and any other area's), so a view added
later is checked without touching this file.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List

import pytest

from devtools import dashboard_theme as theme
from devtools import splcheck
from devtools.conf import parse_conf
from tests.browser import dashboard_checks as dc
from tests.browser import docs_images

HERE = Path(__file__).resolve().parent
OWN_VIEWS = ("gcp_audit_overview", "policy_denied_investigation", "user_activity", "alert_triage",
             "guardrail_posture", "aws_config_cost", "morning_triage")
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
        if spec["type"] != "ds.search" or "outputlookup" in spec["options"].get("query", ""):
            continue  # a search that writes never follows the picker (see the KV store test)
        params = {**default, **(spec.get("options", {}).get("queryParameters") or {})}
        assert params.get("earliest") == f"${token}.earliest$", source
        assert params.get("latest") == f"${token}.latest$", source


NAV = dc.ROOT / "default" / "data" / "ui" / "nav" / "default.xml"


@pytest.mark.parametrize("name", VIEW_IDS)
def test_every_view_is_in_the_app_navigation(name: str) -> None:
    nav = NAV.read_text(encoding="utf-8")
    assert re.search(rf'<view\s+name="{name}"', nav), f"add {name} to default/data/ui/nav/default.xml"


def test_navigation_shows_the_investigation_path() -> None:
    """Overview -> Policy Denied investigation -> User activity, in that order, in one menu."""
    root = ET.parse(NAV).getroot()
    menus = {c.get("label"): [v.get("name") for v in c.iter("view")] for c in root.iter("collection")}
    path = ["gcp_audit_overview", "policy_denied_investigation", "user_activity"]
    assert any(views[:3] == path for views in menus.values()), menus


def test_investigation_leads_from_a_call_to_its_evidence_to_the_person(views: Dict[str, dc.View]) -> None:
    vizzes = views["policy_denied_investigation"].definition["visualizations"]
    select = vizzes["viz_attribution"]["eventHandlers"][0]
    assert select["type"] == "drilldown.setToken"
    assert select["options"]["tokens"] == [{"token": "sel_call", "key": "row._call.value"}]
    link = vizzes["viz_call_evidence"]["eventHandlers"][0]
    assert link["type"] == "drilldown.linkToDashboard" and link["options"]["dashboard"] == "user_activity"
    assert {t["token"] for t in link["options"]["tokens"]} >= {"subject"}


# ---- issue 10: nothing a dashboard user types or clicks becomes SPL ------------------------------------------


@pytest.mark.parametrize("name", VIEW_IDS)
def test_tokens_reach_spl_only_through_the_s_filter(name: str, views: Dict[str, dc.View]) -> None:
    problems = {source: found for source, spec in views[name].definition.get("dataSources", {}).items()
                if (found := dc.unescaped_tokens((spec.get("options") or {}).get("query") or ""))}
    assert problems == {}


def test_the_token_scan_catches_quoted_and_bare_tokens() -> None:
    assert dc.unescaped_tokens('| eval action=split("$triage_action$", "|")') == [
        "$triage_action$ inside hand-written quotes"]
    assert dc.unescaped_tokens('| search gcp_project=$f_project$') == ["$f_project$ without the |s filter"]
    assert dc.unescaped_tokens('| where x=="$f|s$"') == ["$f|s$ inside hand-written quotes"]
    assert dc.unescaped_tokens('| where x==$f|s$ AND y="$" | eval z="a \\" $b|s$"') == [
        "$b|s$ inside hand-written quotes"]
    assert dc.unescaped_tokens('| search a=$f|s$ | eval b=trim($g|s$)') == []


@pytest.mark.parametrize("name", VIEW_IDS)
def test_kv_store_writes_wait_for_an_explicit_save(name: str, views: Dict[str, dc.View]) -> None:
    """A search that writes (outputlookup) runs only when a click sets its tokens, never for an input's change
    or the time picker, and an empty result never empties the lookup."""
    d = views[name].definition
    clicks, inputs = dc.click_tokens(d), dc.input_tokens(d)
    for source, spec in d.get("dataSources", {}).items():
        query = (spec.get("options") or {}).get("query") or ""
        if "outputlookup" not in query:
            continue
        tokens = dc.query_tokens(query)
        assert tokens, f"{source} writes without any token: it would write whenever the view opens"
        assert tokens <= clicks and not tokens & inputs, f"{source} writes on input tokens {tokens & inputs}"
        params = spec["options"].get("queryParameters") or {}
        assert params and not any("$" in str(v) for v in params.values()), f"{source} follows the time picker"
        assert spec["type"] == "ds.search"
        assert "override_if_empty=false" in query


def test_triage_decisions_are_saved_by_clicking_the_decision_row(views: Dict[str, dc.View]) -> None:
    d = views["alert_triage"].definition
    writers = [name for name, spec in d["dataSources"].items() if "outputlookup" in spec["options"].get("query", "")]
    assert writers == ["ds_triage_write"]
    query = d["dataSources"]["ds_triage_write"]["options"]["query"]
    assert "outputlookup guardrail_triage_lookup append=true key_field=_key" in query
    # The status is one of the five, checked by the search itself whatever the token holds.
    assert 'match(new_status, "^(new|investigating|business_operation|false_positive|true_positive)$")' in query
    setters = [name for name, viz in d["visualizations"].items() for h in viz.get("eventHandlers") or []
               if {t["token"] for t in h["options"].get("tokens") or []} & dc.query_tokens(query)]
    assert setters == ["viz_decision"]
    status = d["inputs"]["input_status"]["options"]["items"]
    assert [i["value"] for i in status] == ["new", "investigating", "business_operation", "false_positive",
                                           "true_positive"]


# ---- issue 14: searches that scale ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", VIEW_IDS)
def test_base_searches_of_chains_are_transforming(name: str, views: Dict[str, dc.View]) -> None:
    """Studio post-processes at most a capped number of raw events: every base a chain extends returns results."""
    content = splcheck.AppContent.load(dc.ROOT)
    reporting = dc.reporting_commands()
    d = views[name].definition
    raw = [base for base in sorted(dc.chained_bases(d))
           if d["dataSources"][base]["type"] == "ds.search"
           and not dc.transforming(d["dataSources"][base]["options"]["query"], content, reporting)]
    assert raw == []


def test_the_transforming_check_can_fail() -> None:
    content = splcheck.AppContent.load(dc.ROOT)
    reporting = dc.reporting_commands()
    assert not dc.transforming("`gcp_policy_denied` | eval x=1 | fields x | `policy_denied_investigation_filter`",
                               content, reporting)
    assert not dc.transforming("(`gcp_policy_denied`) OR (`identity_evidence`) | correlatepolicydenied", content,
                               reporting)
    assert dc.transforming("`gcp_policy_denied` | stats count BY _time", content, reporting)
    assert dc.transforming("`aws_config_cost_estimate`", content, reporting)  # configcost reports
    assert dc.transforming("| inputlookup guardrail_triage_lookup", content, reporting)


def test_user_view_narrows_by_person_inside_the_search(views: Dict[str, dc.View]) -> None:
    """The subject narrows the events the search reads (its first clause) or the command's output (a search
    clause), never a late where over everything."""
    for source, spec in views["user_activity"].definition["dataSources"].items():
        query = spec["options"].get("query", "")
        if spec["type"] != "ds.search" or "subject" not in dc.query_tokens(query):
            continue
        stages = splcheck.split_top_level(splcheck.resolve_token_filters(query), "|")
        using = [i for i, stage in enumerate(stages) if "$subject$" in stage]
        assert using, source
        for i in using:
            assert splcheck.first_word(stages[i]) != "where", f"{source}: the subject narrows in a where"
            if stages[0].strip() == "`guardrail_verdicts_in_range`":  # the correlation summary, read whole
                assert i == 1, f"{source}: the subject narrows the verdicts later than as they are read"
            elif "correlatepolicydenied" not in query:
                assert i == 0, f"{source}: the subject narrows after the events were read"


# ---- issue 16: states an analyst can read --------------------------------------------------------------------


@pytest.mark.parametrize("name", VIEW_IDS)
def test_every_search_token_has_a_value_at_load(name: str, views: Dict[str, dc.View]) -> None:
    """A search waiting for a token shows Studio's "Set token value to render visualization"."""
    d = views[name].definition
    ready = dc.tokens_with_a_value_at_load(d)
    missing = {source: dc.query_tokens(spec["options"]["query"]) - ready
               for source, spec in d.get("dataSources", {}).items()
               if dc.query_tokens((spec.get("options") or {}).get("query") or "") - ready}
    assert missing == {}


@pytest.mark.parametrize("name", VIEW_IDS)
def test_titles_show_no_tokens(name: str, views: Dict[str, dc.View]) -> None:
    d = views[name].definition
    shown = [f"{viz}.{key}" for viz, item in d.get("visualizations", {}).items()
             for key in ("title", "description") if dc.TOKEN.search(str(item.get(key) or ""))]
    assert shown == []


@pytest.mark.parametrize("name", VIEW_IDS)
def test_every_table_says_what_an_empty_result_means(name: str, views: Dict[str, dc.View]) -> None:
    d = views[name].definition
    silent = [viz for viz, item in d.get("visualizations", {}).items() if item["type"] == "splunk.table"
              and "appendpipe [stats count | where count==0"
              not in d["dataSources"][item["dataSources"]["primary"]]["options"]["query"]]
    assert silent == []


@pytest.mark.parametrize("name", VIEW_IDS)
def test_views_name_their_drilldowns(name: str, views: Dict[str, dc.View]) -> None:
    """Every clickable panel says so in its title, and the view's text lists its drill-downs."""
    d = views[name].definition
    unnamed = [viz for viz, item in d.get("visualizations", {}).items() if item.get("eventHandlers")
               and "click" not in f"{item.get('title', '')} {item.get('description', '')}".lower()]
    assert unnamed == []
    texts = " ".join(item["options"].get("markdown", "") for item in d.get("visualizations", {}).values()
                     if item["type"] == "splunk.markdown")
    assert "drill-down" in texts.lower()


@pytest.mark.parametrize("name", VIEW_IDS)
def test_every_view_carries_the_shared_theme(name: str) -> None:
    assert theme.drift(VIEWS_BY_NAME[name], theme.load_theme()) == []


def test_the_theme_check_notices_a_view_that_drifts(tmp_path: Path) -> None:
    shared = theme.load_theme()
    source = VIEWS_BY_NAME["alert_triage"].read_text(encoding="utf-8")
    other = "light" if shared["theme"] == "dark" else "dark"
    light = tmp_path / "light.xml"
    light.write_text(source.replace(f'theme="{shared["theme"]}"', f'theme="{other}"'), encoding="utf-8")
    assert theme.drift(light, shared)
    repainted = tmp_path / "repainted.xml"
    repainted.write_text(source.replace(shared["palettes"]["severityColors"][0]["value"], "#123456"), encoding="utf-8")
    assert theme.drift(repainted, shared)
    fixed, problems = theme.stamp_view(repainted.read_text(encoding="utf-8"), shared)
    assert problems == [] and fixed == source
    unknown = tmp_path / "unknown.xml"
    unknown.write_text(source.replace("matchValue(severityColors)", "matchValue(severityColours)"), encoding="utf-8")
    assert any("severityColours" in p for p in theme.drift(unknown, shared))


def test_a_new_view_takes_the_theme_when_stamped(tmp_path: Path) -> None:
    shared = theme.load_theme()
    severity = '> table | seriesByName("Severity") | matchValue(severityColors)'
    definition = {"visualizations": {
        "viz_a": {"type": "splunk.table", "options": {"columnFormat": {"Severity": {"rowColors": severity}}}},
        "viz_b": {"type": "splunk.column",
                  "options": {"seriesColorsByField": {"Denied": "#000000", "mine": "#111111"}}}}}
    view = tmp_path / "new_view.xml"
    view.write_text('<dashboard version="2">\n  <label>New</label>\n  <definition><![CDATA[\n'
                    + json.dumps(definition) + "\n  ]]></definition>\n</dashboard>\n", encoding="utf-8")
    stamped, problems = theme.stamp_view(view.read_text(encoding="utf-8"), shared)
    assert problems == []
    attribute, stamped_definition = theme.split_view(stamped)
    assert attribute == shared["theme"]
    stamped_vizzes = stamped_definition["visualizations"]
    assert stamped_vizzes["viz_a"]["context"]["severityColors"] == shared["palettes"]["severityColors"]
    colours = stamped_vizzes["viz_b"]["options"]["seriesColorsByField"]
    assert colours == {"Denied": theme.series_colours(shared)["denied"], "mine": "#111111"}


def test_the_screenshots_the_docs_show_are_there_and_small() -> None:
    """docs/dashboards.md shows each view at 1440 px; the images are committed, linked and kept small."""
    shown = docs_images.shown_views()
    assert set(OWN_VIEWS) <= set(shown)
    committed = {p.stem for p in docs_images.IMAGES.glob("*.png")}
    assert committed == set(shown), "an image the page does not show, or a link without its image"
    for view in shown:
        data = (docs_images.IMAGES / f"{view}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(data[16:20], "big") == docs_images.WIDTH
        assert 20_000 < len(data) < 200_000, f"{view}.png is {len(data)} bytes: run make dashboard-images"


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
        d["visualizations"]["viz_call_evidence"]["eventHandlers"][0]["type"] = "drilldown.linkToDashbaord"
    assert any("unknown event handler type" in p for p in broken(views, change))


def test_checks_catch_a_link_passing_a_token_the_target_ignores(views: Dict[str, dc.View]) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["visualizations"]["viz_call_evidence"]["eventHandlers"][0]["options"]["tokens"][0]["token"] = "usr"
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
        d["visualizations"]["viz_call_evidence"]["eventHandlers"][0]["options"]["dashboard"] = "user_activty"
    assert any("not a view of this app" in p for p in broken(views, change))


def test_schema_validation_catches_what_it_should(tmp_path: Path, views: Dict[str, dc.View]) -> None:
    source = VIEWS_BY_NAME["policy_denied_investigation"].read_text(encoding="utf-8")
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
