"""The browser ring: every view rendered by @splunk/dashboard-core in headless Debian Chromium.

One Chromium session (``render.js``) renders every view of default/data/ui/views with fixture data and
clicks the drilldowns of ``scenarios.json``; these tests read its report. The correlation panels' data
is the output of bin/correlatepolicydenied.py run over SCP v2 on the motivating case at test time.
Screenshots land in build/screenshots/ (not committed).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from tests.browser import dashboard_checks as dc
from tests.browser import fixtures as fx

HERE = Path(__file__).resolve().parent
BUILD = dc.ROOT / "build" / "browser"
SCREENSHOTS = dc.ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VIEW_IDS = [p.stem for p in dc.all_views()]
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


def panels_not_showing_data(panels: List[Dict[str, Any]], allowed_waiting: List[str]) -> List[str]:
    return [f"{p['id']}: {p['state']}{' ' + p.get('detail', '') if p.get('detail') else ''}"
            for p in panels if p["state"] != "data" and not (p["state"] == "waiting" and p["id"] in allowed_waiting)]


@pytest.mark.parametrize("view", VIEW_IDS)
def test_view_renders_without_page_errors(view: str, report: Dict[str, Any]) -> None:
    entry = report[view]
    assert entry["errors"] == []
    assert entry["unansweredRequests"] == []
    assert entry["unexpectedRequests"] == []


@pytest.mark.parametrize("view", VIEW_IDS)
def test_every_panel_shows_data(view: str, report: Dict[str, Any]) -> None:
    entry = report[view]
    definition = dc.load_view(dc.VIEWS / f"{view}.xml").definition
    assert {p["id"] for p in entry["panels"]} == set(definition.get("visualizations", {}))
    waiting = SCENARIOS.get(view, {}).get("initiallyWaiting", [])
    assert panels_not_showing_data(entry["panels"], waiting) == []
    for panel in entry["panels"]:
        if panel["id"] in waiting:  # a panel that waits for the analyst must really wait, then show data
            assert panel["state"] == "waiting", panel
            after = {p["id"]: p for p in entry["panelsAfter"] or []}
            state = after.get(panel["id"], {}).get("state")
            assert state == "data", f"{panel['id']} shows {state} after the drilldowns"


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
            assert (params.get("earliest"), params.get("latest")) == (earliest, latest), (name, params)


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
def test_a_screenshot_is_written(view: str, report: Dict[str, Any]) -> None:
    shot = Path(report[view]["screenshot"])
    assert shot == SCREENSHOTS / f"{view}.png"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a blank page compresses to a few kB


def test_correlation_panel_shows_what_the_command_found(report: Dict[str, Any], facts: Dict[str, Any]) -> None:
    entry = report["policy_denied_investigation"]
    ran = next(s for s in entry["searches"] if s["id"] == "ds_correlated")
    assert "| correlatepolicydenied" in ran["query"]
    assert ran["rows"] == facts["denied_rows"]
    shown = next(p for p in entry["panels"] if p["id"] == "viz_correlated")["text"]
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
