"""The aws_config_cost view: its fixture data for the browser ring covers every data source, is in
step with the estimate it is computed from, and the view's chains use fields the estimate has."""

from __future__ import annotations

import json
import re
from pathlib import Path

from guardrail.configcost import OUTPUT_FIELDS

from tests.fixtures.aws_config import dashboard

ROOT = Path(__file__).resolve().parents[2]
VIEW = ROOT / "default" / "data" / "ui" / "views" / "aws_config_cost.xml"


def definition() -> dict:
    text = VIEW.read_text(encoding="utf-8")
    match = re.search(r"<definition><!\[CDATA\[(.*?)\]\]></definition>", text, re.S)
    assert match
    return json.loads(match.group(1))


def test_fixtures_cover_every_data_source_and_match_the_estimate() -> None:
    stored = json.loads(dashboard.OUT.read_text(encoding="utf-8"))
    assert set(stored) == set(definition()["dataSources"])
    assert stored == json.loads(json.dumps(dashboard.build()))   # regenerate with dashboard.py
    for name, data in stored.items():
        assert data["rows"], name
        assert {len(row) for row in data["rows"]} == {len(data["fields"])}, name


def test_eni_churn_tops_the_change_volume_panel() -> None:
    stored = json.loads(dashboard.OUT.read_text(encoding="utf-8"))
    top = stored["ds_top_types"]
    assert top["rows"][0][0] == "EC2::NetworkInterface"  # the panel drops the AWS:: every type shares
    assert stored["ds_kpi_tower"]["rows"] == [["2"]]


def test_chain_queries_only_use_fields_the_command_outputs() -> None:
    """Every snake_case name a chain query mentions (outside quotes) is an output field of
    configcost or a name the chain itself creates: a typo here would be an empty panel."""
    created = {"configuration_items"}
    checked = 0
    for source in definition()["dataSources"].values():
        if source.get("options", {}).get("extend") != "ds_estimate":
            continue
        query = re.sub(r'"[^"]*"', '""', source["options"]["query"])
        names = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", query))
        assert names <= set(OUTPUT_FIELDS) | created, names - set(OUTPUT_FIELDS) - created
        checked += len(names)
    assert checked > 20
