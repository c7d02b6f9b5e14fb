"""Beside the Splunk Add-on for Google Cloud Platform: the app never redefines a field the add-on
defines, so the fields an analyst sees do not depend on the app a search runs in.

tests/fixtures/splunk_ta_gcp/sourcetypes.json is the project's table of the add-on's sourcetypes
and the fields its published documentation says it defines (README.md there cites the pages). The
precedence test models the add-on's configuration from that table, merges it with the app's
default/props.conf in both precedence orders (a search in the app's context puts the app first,
one in the add-on's or another app's context may put the add-on first) and evaluates every sample
entry: both orders must give the same fields.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest

from devtools import gen_props
from devtools.conf import ROOT, Setting, Stanza, parse_conf
from devtools.evalspl import apply_stanza, merge_stanzas, props_stanza
from tests.unit import cim_tables as cim

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ADDON: Dict[str, Any] = json.loads((FIXTURES / "splunk_ta_gcp" / "sourcetypes.json").read_text(encoding="utf-8"))
TABLE: Dict[str, Dict[str, Any]] = ADDON["sourcetypes"]
CASES: List[Dict[str, Any]] = json.loads((FIXTURES / "knowledge" / "events.json").read_text(encoding="utf-8"))
NOW = 1795780800.0
CIM_NAMES = set(cim.CHANGE) | set(cim.AUTHENTICATION)

# props.conf settings splunkd applies while parsing (index time), from props.conf.spec.
INDEX_TIME = {"TRUNCATE", "LINE_BREAKER", "LINE_BREAKER_LOOKBEHIND", "SHOULD_LINEMERGE", "BREAK_ONLY_BEFORE",
              "BREAK_ONLY_BEFORE_DATE", "MUST_BREAK_AFTER", "MUST_NOT_BREAK_AFTER", "MUST_NOT_BREAK_BEFORE",
              "MAX_EVENTS", "TIME_PREFIX", "TIME_FORMAT", "MAX_TIMESTAMP_LOOKAHEAD", "TZ", "TZ_ALIAS",
              "DATETIME_CONFIG", "MAX_DAYS_AGO", "MAX_DAYS_HENCE", "MAX_DIFF_SECS_AGO", "MAX_DIFF_SECS_HENCE",
              "INDEXED_EXTRACTIONS", "CHARSET", "NO_BINARY_CHECK", "ANNOTATE_PUNCT", "EVENT_BREAKER",
              "EVENT_BREAKER_ENABLE", "METRIC-SCHEMA-TRANSFORMS", "unarchive_cmd", "PREFIX_SOURCETYPE"}
INDEX_TIME_PREFIXES = ("TRANSFORMS-", "SEDCMD-", "HEADER_FIELD_", "FIELD_")


def defined_fields(stanza: Stanza) -> Set[str]:
    """Every field name a props.conf stanza creates at search time."""
    names: Set[str] = set()
    for setting in stanza.settings:
        key, value = setting.key, setting.value
        if key.startswith("EVAL-"):
            names.add(key[len("EVAL-"):])
        elif key.startswith("FIELDALIAS-"):
            names |= set(re.findall(r"\bAS\s+(\S+)", value, re.I))
        elif key.startswith("LOOKUP-"):
            outputs = re.split(r"\bOUTPUT(?:NEW)?\b", value)[-1] if re.search(r"\bOUTPUT", value) else ""
            names |= set(re.findall(r"\bAS\s+(\S+)", outputs, re.I))
        elif key.startswith("EXTRACT-"):
            names |= set(re.findall(r"\(\?P?<([A-Za-z_]\w*)>", value))
        elif key.startswith("REPORT-"):
            raise AssertionError(f"{key}: add the transforms' fields to this test before using REPORT-")
    return names


def addon_model(sourcetype: str) -> Stanza:
    """The add-on's configuration as far as the table knows it: JSON extraction (which its own
    field mappings on JSON entries need) and one placeholder EVAL per field it defines."""
    settings = [Setting("KV_MODE", "json", 0)]
    fields = TABLE[sourcetype]["fields"]
    settings += [Setting(f"EVAL-{name}", f'"addon:{name}"', i + 1) for i, name in enumerate(fields)]
    return Stanza(sourcetype, 0, settings)


def test_the_table_covers_every_sourcetype_the_app_configures() -> None:
    assert set(TABLE) == set(gen_props.SOURCETYPES)
    for sourcetype, row in TABLE.items():
        assert row["renamed_at_index_time"] == (sourcetype in gen_props.ADDON_SOURCETYPES), sourcetype
        assert row["sources"] or row["note"], sourcetype
        docs = "https://splunk.github.io/splunk-add-on-for-google-cloud-platform/"
        assert all(source.startswith(docs) for source in row["sources"])


@pytest.mark.parametrize("sourcetype", gen_props.SOURCETYPES)
def test_no_field_the_addon_defines(sourcetype: str) -> None:
    ours = defined_fields(props_stanza(sourcetype))
    assert ours, sourcetype
    assert ours & set(TABLE[sourcetype]["fields"]) == set()


@pytest.mark.parametrize("sourcetype", gen_props.ADDON_SOURCETYPES)
def test_only_the_apps_own_fields_on_the_addons_renamed_sourcetypes(sourcetype: str) -> None:
    """The table is a lower bound of what the add-on defines there, so the rule is stricter: no
    CIM field name at all; only the app's own fields (gcp_* and the caller_/gcloud_/status_/vpcsc_/
    org_constraint fields the add-on does not use)."""
    ours = defined_fields(props_stanza(sourcetype))
    assert ours & CIM_NAMES == set()
    own = re.compile(r"(gcp|caller|gcloud|status|vpcsc|org_constraint)_|org_constraint$")
    assert all(own.match(name) for name in ours), ours


def test_cim_fields_only_where_the_addon_maps_none() -> None:
    for sourcetype in gen_props.CIM_SOURCETYPES:
        assert TABLE[sourcetype]["cim_mapped"] is False and not TABLE[sourcetype]["fields"]
        assert defined_fields(props_stanza(sourcetype)) & CIM_NAMES


def fields_in_order(sourcetype: str, raw: str, addon_first: bool) -> Dict[str, Any]:
    ours, addon = props_stanza(sourcetype), addon_model(sourcetype)
    layers = (addon, ours) if addon_first else (ours, addon)
    return apply_stanza(merge_stanzas(sourcetype, *layers), sourcetype, raw, now=NOW)


@pytest.mark.parametrize("sourcetype", gen_props.SOURCETYPES)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_field_precedence_with_the_addon_beside_the_app(case: Dict[str, Any], sourcetype: str) -> None:
    app_first = fields_in_order(sourcetype, case["raw"], addon_first=False)
    addon_first = fields_in_order(sourcetype, case["raw"], addon_first=True)
    assert app_first == addon_first
    for name in TABLE[sourcetype]["fields"]:
        assert app_first[name] == f"addon:{name}", name  # the add-on's value, whatever the context
    alone = apply_stanza(props_stanza(sourcetype), sourcetype, case["raw"], now=NOW)
    for name in defined_fields(props_stanza(sourcetype)):
        assert app_first.get(name) == alone.get(name), name  # and the app's own fields unchanged


def test_precedence_test_catches_a_redefined_field() -> None:
    """The same comparison with one field defined by both apps: the orders disagree."""
    sourcetype = "google:gcp:pubsub:audit:data_access"
    case = next(c for c in CASES if c["sourcetype"] == sourcetype)
    clashing = Stanza(sourcetype, 0, [*props_stanza(sourcetype).settings, Setting(
        "EVAL-user", "coalesce('data.protoPayload.authenticationInfo.principalEmail', "
        "'protoPayload.authenticationInfo.principalEmail')", 999)])
    both = [apply_stanza(merge_stanzas(sourcetype, *layers), sourcetype, case["raw"], now=NOW)
            for layers in ((clashing, addon_model(sourcetype)), (addon_model(sourcetype), clashing))]
    assert both[0]["user"] != both[1]["user"]
    assert "user" in defined_fields(clashing) & set(TABLE[sourcetype]["fields"])


def test_search_heads_only_no_index_time_setting() -> None:
    """app.manifest installs the app on search heads; the props it ships are search-time only
    (index-time settings would never apply on the add-on's renamed sourcetypes, and on
    google:gcp:pubsub:message the add-on's own win by precedence). Parsing-tier settings are the
    separate stanza docs/knowledge.md gives, rendered by gen_props.parsing_tier()."""
    manifest = json.loads((ROOT / "app.manifest").read_text(encoding="utf-8"))
    assert manifest["targetWorkloads"] == ["_search_heads"]
    for stanza in parse_conf(ROOT / "default" / "props.conf"):
        keys = {s.key for s in stanza.settings}
        assert not keys & INDEX_TIME, stanza.name
        assert not [k for k in keys if k.startswith(INDEX_TIME_PREFIXES)], stanza.name
    assert not (ROOT / "default" / "transforms.conf").read_text(encoding="utf-8").count("INGEST_EVAL")


def test_docs_show_the_parsing_tier_stanza_the_generator_renders() -> None:
    docs = (ROOT / "docs" / "knowledge.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```ini\n(.*?)```", docs, re.S)
    assert gen_props.parsing_tier() in blocks
    assert {line.split(" = ")[0] for line in gen_props.PARSING_SETTINGS} <= INDEX_TIME
