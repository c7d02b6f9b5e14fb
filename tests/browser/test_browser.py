"""The browser ring: every view rendered by @splunk/dashboard-core in headless Debian Chromium.

One Chromium session (``render.js``) renders every view of default/data/ui/views with fixture data at 1440
and 1920 px wide and clicks the drilldowns of ``scenarios.json``; these tests read its report: what ran, and
what an analyst sees (table headers, visible text, chart labels, cells, the theme's colours). The correlation
panels' data is the output of bin/correlatepolicydenied.py run over SCP v2 on the motivating case at test
time. Screenshots land in build/screenshots/<view>.<width>.png (not committed).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from devtools import dashboard_theme as theme
from tests.browser import dashboard_checks as dc
from tests.browser import fixtures as fx

HERE = Path(__file__).resolve().parent
BUILD = dc.ROOT / "build" / "browser"
SCREENSHOTS = dc.ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VIEW_IDS = [p.stem for p in dc.all_views()]
WIDTHS = ("1440", "1920")
# What Studio shows when a panel waits for a token or its search found nothing.
STUDIO_PLACEHOLDERS = ("Set token value to render visualization", "No search results returned")
RAW_TOKEN = re.compile(r"\$[A-Za-z_][\w.:|-]*\$")
# Columns whose values must never wrap: addresses, project ids, account ids, times.
ONE_LINE_COLUMNS = re.compile(r"^(Time|Created|Saved|Last fired|(First|Last) (attempt|seen)|Expires.*|"
                              r"(Caller|Client|Destination|Translated) IP|Caller CIDR|Project|Account|Region)$")
SCENARIOS: Dict[str, Any] = json.loads((HERE / "scenarios.json").read_text(encoding="utf-8"))
DRILLDOWNS: List[Tuple[str, str]] = [(view, d["name"]) for view, spec in SCENARIOS.items() if not view.startswith("_")
                                     for d in spec.get("drilldowns", [])]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def facts() -> Dict[str, Any]:
    """Build the fixture data (running the real correlation command) for every view."""
    return fx.build(BUILD / "fixtures", VIEW_IDS)


@pytest.fixture(scope="module")
def report(facts: Dict[str, Any]) -> Dict[str, Any]:
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        pytest.fail("tests/browser/node_modules is missing: run `make browser-deps` (npm ci)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    out = BUILD / "report.json"
    if out.exists():
        out.unlink()
    done = subprocess.run(
        ["node", str(HERE / "render.js"), "--fixtures", str(BUILD / "fixtures"), "--out", str(out),
         "--screenshots", str(SCREENSHOTS)],
        cwd=HERE, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    data: Dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def panels_not_showing_data(panels: List[Dict[str, Any]]) -> List[str]:
    return [f"{p['id']}: {p['state']}{' ' + p.get('detail', '') if p.get('detail') else ''}"
            for p in panels if p["state"] != "data"]


@pytest.mark.parametrize("view", VIEW_IDS)
def test_view_renders_without_page_errors(view: str, report: Dict[str, Any]) -> None:
    entry = report[view]
    assert entry["errors"] == []
    assert entry["unansweredRequests"] == []
    assert entry["unexpectedRequests"] == []


@pytest.mark.parametrize("view", VIEW_IDS)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_panel_shows_data(view: str, width: str, report: Dict[str, Any]) -> None:
    """No panel waits for a token, fails or stays empty, at either width and after the drilldowns."""
    entry = report[view]
    definition = dc.load_view(dc.VIEWS / f"{view}.xml").definition
    panels = entry["pages"][width]["panels"]
    assert {p["id"] for p in panels} == set(definition.get("visualizations", {}))
    assert panels_not_showing_data(panels) == []
    assert panels_not_showing_data(entry["panelsAfter"] or []) == []


def facts_seen(entry: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    """Every page of one view an analyst sees: both widths, after the drilldowns, and the views they open."""
    seen = [(f"{width} px", page["facts"]) for width, page in entry["pages"].items()]
    if entry.get("factsAfter"):
        seen.append(("after the drilldowns", entry["factsAfter"]))
    seen += [(f"opened by '{d['name']}'", d["targetFacts"]) for d in entry["drilldowns"] if d.get("targetFacts")]
    return seen


@pytest.mark.parametrize("view", VIEW_IDS)
def test_table_headers_are_labels_not_field_names(view: str, report: Dict[str, Any]) -> None:
    raw = {(where, h["viz"], h["label"]) for where, facts in facts_seen(report[view]) for h in facts["headers"]
           if "_" in h["label"]}
    assert raw == set()


@pytest.mark.parametrize("view", VIEW_IDS)
def test_table_headers_wrap_between_words(view: str, report: Dict[str, Any]) -> None:
    """A header may take two lines, never break inside a word ("Confiden / ce")."""
    broken = {(where, h["viz"], h["label"], h["lines"]) for where, facts in facts_seen(report[view])
              for h in facts["headers"] if h["lines"] > len(h["label"].split())}
    assert broken == set()


@pytest.mark.parametrize("view", VIEW_IDS)
def test_no_raw_tokens_or_studio_placeholders_are_visible(view: str, report: Dict[str, Any]) -> None:
    shown = [(where, found) for where, facts in facts_seen(report[view])
             for found in RAW_TOKEN.findall(facts["text"]) + [p for p in STUDIO_PLACEHOLDERS if p in facts["text"]]]
    assert shown == []


@pytest.mark.parametrize("view", VIEW_IDS)
def test_chart_labels_are_not_cut_where_they_fit(view: str, report: Dict[str, Any]) -> None:
    """A legend, axis or slice label ellipsized although its full text fits (a legend row, a third of the chart)."""
    cut = [(where, label["viz"], label["shown"], label["full"]) for where, facts in facts_seen(report[view])
           for label in facts["chartLabels"] if label["fits"]]
    assert cut == []


@pytest.mark.parametrize("view", VIEW_IDS)
def test_addresses_projects_and_times_stay_on_one_line(view: str, report: Dict[str, Any]) -> None:
    wrapped = [(where, c["viz"], c["header"], c["text"]) for where, facts in facts_seen(report[view])
               for c in facts["cells"] if ONE_LINE_COLUMNS.match(c["header"])
               and c["lines"] > len([v for v in c["text"].split("\n") if v.strip()])]
    assert wrapped == []


def test_every_view_shows_one_theme(report: Dict[str, Any]) -> None:
    """The same canvas, input bar and panel colours in every view, at every width: the theme of theme.json."""
    colours = {(view, width): tuple(sorted(page["facts"]["theme"].items()))
               for view, entry in report.items() for width, page in entry["pages"].items()}
    assert len(set(colours.values())) == 1, colours
    attributes = {view: theme.split_view((dc.VIEWS / f"{view}.xml").read_text(encoding="utf-8"))[0]
                  for view in report}
    assert set(attributes.values()) == {theme.load_theme()["theme"]}


@pytest.mark.parametrize("view", VIEW_IDS)
def test_pies_show_parts_of_a_whole_with_six_slices_at_most(view: str, report: Dict[str, Any]) -> None:
    pies = [(width, p["id"], p.get("evidence")) for width, page in report[view]["pages"].items()
            for p in page["panels"] if p["type"] == "splunk.pie" and p.get("evidence", 0) > 6]
    assert pies == []


@pytest.mark.parametrize("view", VIEW_IDS)
def test_searches_ran_with_the_resolved_time_range(view: str, report: Dict[str, Any]) -> None:
    definition = dc.load_view(dc.VIEWS / f"{view}.xml").definition
    picker = next(i for i in definition["inputs"].values() if i["type"] == "input.timerange")
    earliest, latest = picker["options"]["defaultValue"].split(",")
    searches = {s["id"]: s for s in report[view]["searches"]}
    ran = set(searches) | {s["id"] for s in report[view]["searchesAfter"] or []}
    assert set(definition["dataSources"]) <= ran, "data sources that never ran"
    for name, source in definition["dataSources"].items():
        if source["type"] == "ds.search" and name in searches:
            params = searches[name]["queryParameters"] or {}
            own = source["options"].get("queryParameters")  # a search that writes keeps its own range
            wanted = (own["earliest"], own["latest"]) if own else (earliest, latest)
            assert (params.get("earliest"), params.get("latest")) == wanted, (name, params)


@pytest.mark.parametrize(("view", "drilldown"), DRILLDOWNS, ids=[f"{v}: {d}" for v, d in DRILLDOWNS])
def test_drilldown_reruns_dependent_searches_with_resolved_tokens(view: str, drilldown: str,
                                                                  report: Dict[str, Any]) -> None:
    result = next(d for d in report[view]["drilldowns"] if d["name"] == drilldown)
    assert result["problems"] == []
    assert result["ok"]


@pytest.mark.parametrize("view", VIEW_IDS)
def test_every_drilldown_of_the_view_is_clicked(view: str) -> None:
    definition = dc.load_view(dc.VIEWS / f"{view}.xml").definition
    with_handlers = {name for name, viz in definition.get("visualizations", {}).items() if viz.get("eventHandlers")}
    clicked = {step["click"]["viz"] for d in SCENARIOS.get(view, {}).get("drilldowns", [])
               for step in d["steps"] if "click" in step}
    assert with_handlers <= clicked


@pytest.mark.parametrize("view", VIEW_IDS)
@pytest.mark.parametrize("width", WIDTHS)
def test_a_screenshot_is_written_at_each_width(view: str, width: str, report: Dict[str, Any]) -> None:
    shot = Path(report[view]["pages"][width]["screenshot"])
    assert shot == SCREENSHOTS / f"{view}.{width}.png"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == int(width)  # the IHDR width
    assert len(data) > 20_000  # a blank page compresses to a few kB


def test_correlation_panel_shows_what_the_command_found(report: Dict[str, Any], facts: Dict[str, Any]) -> None:
    entry = report["policy_denied_investigation"]
    ran = next(s for s in entry["searches"] if s["id"] == "ds_correlated")
    assert ran["query"].startswith("`guardrail_verdicts_in_range`")  # the correlation summary's verdicts
    assert ran["rows"] == facts["denied_rows"]
    shown = next(p for p in entry["panels"] if p["id"] == "viz_attribution")["text"]
    assert facts["subject"] in shown and "identified" in shown
    if facts["statuses"].get("ambiguous"):
        assert "ambiguous" in shown
    pie = next(s for s in entry["searches"] if s["id"] == "ds_match_status")
    assert pie["rows"] == len(facts["statuses"])


def test_user_view_shows_the_persons_attributed_denials_and_evidence(report: Dict[str, Any],
                                                                     facts: Dict[str, Any]) -> None:
    panels = {p["id"]: p for p in report["user_activity"]["panels"]}
    assert facts["subject"] in panels["viz_attributed"]["text"]
    assert facts["subject"] in panels["viz_ev_table"]["text"]
    assert report["user_activity"]["tokens"]["default"]["subject"] == facts["subject"]
