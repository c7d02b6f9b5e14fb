"""The aid_master join: FDR records that carry only the sensor id (``aid``) name their device
through the site's ``aid_master`` lookup, applied by the macro ``guardrail_edr_sensor_names``
just before the command in the scheduled correlation; without it those records name nobody.

Runs the shipped correlation summary search on the SPL evaluator over the ``fdr_aid`` trap, with
the raw FDR records as CrowdStrike writes them (``aid``, no ``aid_computer_name``), once with the
macro as shipped and once set the way docs/commands/correlatepolicydenied.md tells admins to.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from devtools.conf import ROOT
from devtools.evalspl import Fields, run_search
from devtools.narrow import summary
from devtools.narrow.events import index_events
from devtools.scenarios import DAY0
from devtools.scenarios.traps import sc_fdr_aid
from devtools.scenarios.world import World
from devtools.splcheck import AppContent, Macro

LOOKUP_STEP = "lookup aid_master aid OUTPUTNEW ComputerName AS aid_computer_name"
DOCS = (ROOT / "docs" / "commands" / "correlatepolicydenied.md").read_text(encoding="utf-8")


def fdr_as_recorded() -> Tuple[List[Fields], Dict[str, Optional[str]], Dict[str, str]]:
    """The trap's rows with every aid_computer_name taken out (the lookup adds it in a search, the
    raw record never has it), the truth per insertId, and the sensor table an aid_master holds."""
    scenario = sc_fdr_aid(World(11, DAY0), 12)
    rows: List[Fields] = []
    sensors: Dict[str, str] = {}
    for row in scenario.rows:
        named = row.get("aid_computer_name")
        if isinstance(named, str):
            sensors[uuid.uuid5(uuid.NAMESPACE_DNS, named).hex] = named
            row = {k: v for k, v in row.items() if k != "aid_computer_name"}
        rows.append(dict(row))
    truth = {key: t.user for key, t in scenario.truth.items()}
    return index_events(rows), truth, sensors


def app_with_aid_master(tmp: Path, sensors: Dict[str, str]) -> Path:
    """The app's lookups plus an aid_master lookup definition and file, as a site would add them."""
    root = tmp / "app"
    (root / "default").mkdir(parents=True)
    shutil.copytree(ROOT / "lookups", root / "lookups")
    transforms = (ROOT / "default" / "transforms.conf").read_text(encoding="utf-8")
    (root / "default" / "transforms.conf").write_text(
        transforms + "\n[aid_master]\nfilename = aid_master.csv\n", encoding="utf-8")
    with (root / "lookups" / "aid_master.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["aid", "ComputerName"])
        writer.writerows(sorted(sensors.items()))
    return root


def verdicts(events: List[Fields], now: float, content: AppContent, root: Path) -> Dict[str, Fields]:
    env = summary.environment(events, now)
    env.root = root
    env.earliest, env.latest = None, None
    text = summary.expanded(summary.saved_search(summary.SUMMARY).replace("-20m@m", "-2d@d"), content)
    return {str(r["insert_id"]): r for r in run_search(text, env)}


def test_aid_master_names_the_device_of_sensor_only_records(tmp_path: Path) -> None:
    events, truth, sensors = fdr_as_recorded()
    assert sensors, "the trap has records the aid_master names"
    now = max(float(str(e["_time"])) for e in events) + 600
    shipped = AppContent.load()
    assert shipped.macros[("guardrail_edr_sensor_names", 0)].definition == "search *"
    configured = AppContent.load()
    configured.macros[("guardrail_edr_sensor_names", 0)] = Macro("guardrail_edr_sensor_names", [], LOOKUP_STEP)
    root = app_with_aid_master(tmp_path, sensors)

    without = verdicts(events, now, shipped, root)
    joined = verdicts(events, now, configured, root)
    assert set(without) == set(joined) == set(truth)  # every denied event comes out either way
    named_by_lookup = 0
    for key, user in truth.items():
        got = joined[key]
        if user is None:
            assert got["match_status"] != "identified", key
            continue
        assert got["match_status"] == "identified" and str(got["identified_user"]).endswith(user), (key, got)
        if without[key]["match_status"] != "identified":
            named_by_lookup += 1
    # the records only the lookup can name (a third of the trap) name nobody without it
    assert named_by_lookup == len(sensors) > 0


def test_the_scheduled_correlation_runs_the_step_before_the_command_and_docs_show_it() -> None:
    definition = summary.expanded("`guardrail_correlate(-20m@m,-5m@m)`", AppContent.load())
    assert "| search * | correlatepolicydenied" in " ".join(definition.split())
    assert LOOKUP_STEP in " ".join(DOCS.split())
