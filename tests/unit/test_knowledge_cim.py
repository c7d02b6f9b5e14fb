"""CIM field tables, one per data model the app's knowledge touches (tests/unit/cim_tables.py).

Change: what the app tags ``change`` is exactly what CIM says belongs there (configuration writes
and denied write attempts), and each such event carries the Change fields with the values CIM
prescribes. Authentication: nothing the app tags, on any sourcetype, lands there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from devtools import gen_props
from devtools.conf import ROOT, parse_conf
from devtools.evalspl import Fields, apply_props, with_eventtypes
from tests.unit import cim_tables as cim
from tests.unit.knowledge_builders import reshape

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "knowledge"
CASES: List[Dict[str, Any]] = json.loads((FIXTURES / "events.json").read_text(encoding="utf-8"))
NOW = 1795780800.0
INPUT = gen_props.INPUT_SOURCETYPE
MAPPED = [name for name in gen_props.CIM_EVALS if name != "gcp_cim_change"]
# Change fields every change event carries, and the ones that may be absent, with the reason.
ACTIVITY = "projects/p/logs/cloudaudit.googleapis.com%2Factivity"
ALWAYS = ["action", "change_type", "command", "dest", "dvc", "object", "object_category", "object_path",
          "status", "vendor_product"]


def where_mapped(raw: str) -> Fields:
    """An entry's fields, eventtypes and tags on the sourcetype where the app maps CIM."""
    return with_eventtypes(apply_props(INPUT, raw, now=NOW))


def tags(fields: Fields) -> set:
    return set(fields.get("tag") or [])


CHANGES = [c for c in CASES if c["expected_cim"].get("gcp_cim_change") == "true"]


def test_every_cim_field_the_app_maps_is_a_change_field() -> None:
    assert set(MAPPED) <= set(cim.CHANGE), set(MAPPED) - set(cim.CHANGE)
    assert {"action", "status", "object", "object_category", "dest", "dvc", "change_type"} <= set(MAPPED)


@pytest.mark.parametrize("shape", ["as_is", "reshaped"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_change_holds_exactly_the_changes(case: Dict[str, Any], shape: str) -> None:
    raw = case["raw"] if shape == "as_is" else reshape(case["raw"])
    fields = where_mapped(raw)
    is_change = case["expected_cim"].get("gcp_cim_change") == "true"
    assert ("change" in tags(fields)) == is_change
    assert not tags(fields) & cim.CHANGE_CHILD_TAGS, "the app maps only All_Changes"
    if not is_change:
        return
    # what CIM says belongs in Change: a write, attempted (success or failure), never a read
    assert fields["action"] in cim.CHANGE_ACTIONS and fields["action"] != "read"
    assert fields["action"] in gen_props.WRITE_ACTIONS
    assert fields["gcp_log_type"] in {"activity", "policy"}
    assert fields.get("vpcsc_dry_run") != "true"


@pytest.mark.parametrize("case", CHANGES, ids=[c["name"] for c in CHANGES])
def test_change_field_table(case: Dict[str, Any]) -> None:
    fields = where_mapped(case["raw"])
    missing = [name for name in ALWAYS if not fields.get(name)]
    assert missing == []
    assert fields["status"] in cim.CHANGE_STATUS
    assert fields["status"] == ("failure" if fields["gcp_log_type"] == "policy" or fields.get("status_code") not in
                                (None, "0") else "success")
    category = fields["object_category"]
    assert category in cim.CHANGE_OBJECT_CATEGORIES or re.fullmatch(r"[a-z][a-z0-9]*[^s]|unknown", category)
    assert fields["dest"] == fields["gcp_service"] and fields["change_type"] == fields["gcp_service"].split(".")[0]
    assert fields["command"] == fields["gcp_method"] and fields["object_path"] == fields["gcp_resource"]
    # The fields that may be absent, each for a reason the entry itself gives.
    if not fields.get("user"):
        assert fields["gcp_principal_masked"] == "true" or not fields.get("gcp_principal")
    if not fields.get("src"):
        assert fields.get("caller_network_kind") in {None, "private", "gce-internal-ip"}
    if not fields.get("vendor_account"):
        assert not fields.get("gcp_project")  # organisation- and folder-level entries


def test_prescribed_object_categories_are_used() -> None:
    """Service accounts are users, Cloud Storage objects files: CIM's own classes where they fit."""
    raw = json.dumps({"logName": ACTIVITY, "timestamp": "2026-11-27T00:00:00Z",
                      "protoPayload": {"serviceName": "iam.googleapis.com", "methodName":
                                       "google.iam.admin.v1.CreateServiceAccountKey",
                                       "resourceName": "projects/-/serviceAccounts/123456789"}})
    fields = where_mapped(raw)
    assert (fields["object_category"], fields["action"], fields["object"]) == ("user", "created", "123456789")
    assert "change" in tags(fields)
    raw = raw.replace("iam.googleapis.com", "storage.googleapis.com").replace(
        "google.iam.admin.v1.CreateServiceAccountKey", "storage.objects.delete").replace(
        "projects/-/serviceAccounts/123456789", "projects/_/buckets/b/objects/a/b/c.txt")
    fields = where_mapped(raw)
    assert (fields["object_category"], fields["action"], fields["object"]) == ("file", "deleted", "a/b/c.txt")


@pytest.mark.parametrize("method,action", [
    ("v1.compute.instances.start", "started"), ("v1.compute.instances.stop", "stopped"),
    ("v1.compute.instances.reset", "restarted"), ("v1.compute.instances.setLabels", "modified"),
    ("SetIamPolicy", "acl_modified"), ("storage.setIamPermissions", "acl_modified"),
    ("v1.compute.instances.delete", "deleted"), ("google.some.v1.Frobnicate", "modified"),
])
def test_admin_activity_actions_are_prescribed_values(method: str, action: str) -> None:
    raw = json.dumps({"logName": ACTIVITY, "timestamp": "2026-11-27T00:00:00Z",
                      "protoPayload": {"serviceName": "compute.googleapis.com", "methodName": method,
                                       "resourceName": "projects/p/zones/z/instances/vm-1"}})
    fields = where_mapped(raw)
    assert fields["action"] == action and action in cim.CHANGE_ACTIONS
    assert "change" in tags(fields)


def test_nothing_lands_in_authentication() -> None:
    """Authentication table: no eventtype of the app carries one of its tags, and no sample entry,
    on any sourcetype, is tagged into it."""
    for stanza in parse_conf(ROOT / "default" / "tags.conf"):
        enabled = {s.key for s in stanza.settings if s.value.strip() == "enabled"}
        assert not enabled & cim.AUTHENTICATION_TAGS, stanza.name
        assert not enabled & cim.CHANGE_CHILD_TAGS, stanza.name
    for case in CASES:
        for sourcetype in gen_props.SOURCETYPES:
            fields = with_eventtypes(apply_props(sourcetype, case["raw"], now=NOW))
            assert not tags(fields) & cim.AUTHENTICATION_TAGS, (case["name"], sourcetype)


def test_manifest_names_the_data_models_the_app_maps() -> None:
    manifest = json.loads((ROOT / "app.manifest").read_text(encoding="utf-8"))
    assert set(manifest["info"]["commonInformationModels"]) == {"Change"}
