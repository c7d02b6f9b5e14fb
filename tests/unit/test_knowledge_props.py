"""The gcp sourcetypes' search-time knowledge, applied to sample events of both shapes.

Each case in tests/fixtures/knowledge/events.json is a raw event as it would be indexed (bare
LogEntry or Pub/Sub-wrapped) with the field values an analyst must see (``expected``, the app's
own fields on the case's sourcetype; ``expected_cim``, the CIM Change fields the app maps where it
maps CIM, on google:gcp:pubsub:message); the EVAL-* and LOOKUP-* settings of default/props.conf
are evaluated by devtools/evalspl.py, as splunkd would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from devtools import evalspl, gen_props
from devtools.conf import ROOT, Setting, Stanza, parse_conf
from devtools.evalspl import (
    FUNCTIONS,
    apply_props,
    extract_time,
    fields_referenced,
    flatten_json,
    functions_used,
    props_stanza,
)
from tests.unit.knowledge_builders import large_request, reshape, site_kvstore, with_request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "knowledge"
CASES: List[Dict[str, Any]] = json.loads((FIXTURES / "events.json").read_text(encoding="utf-8"))
SOURCETYPES = ["google:gcp:pubsub:message", "google:gcp:pubsub:audit:admin_activity",
               "google:gcp:pubsub:audit:data_access", "google:gcp:pubsub:audit:system_event",
               "google:gcp:pubsub:audit:policy_denied"]
NORMALISED = ["gcp_log_type", "gcp_project", "gcp_service", "gcp_method", "gcp_resource", "gcp_principal",
              "gcp_principal_masked", "caller_ip", "caller_network_kind", "caller_user_agent", "gcloud_command",
              "gcloud_invocation_id", "status_code", "status_message", "gcp_violation_type", "vpcsc_reason",
              "vpcsc_perimeter", "vpcsc_unique_id", "vpcsc_dry_run", "org_constraint"]
CIM_CHANGE = list(gen_props.CIM_EVALS)
INPUT = gen_props.INPUT_SOURCETYPE
SITE = site_kvstore()  # the automatic egress_networks lookup reads the KV store
NOW = 1795780800.0  # 2026-11-27T12:00:00Z, fixed so expiry checks do not depend on the clock


def evals(sourcetype: str) -> Dict[str, str]:
    return {s.key[5:]: s.value for s in props_stanza(sourcetype).settings if s.key.startswith("EVAL-")}


def knowledge(sourcetype: str, raw: str) -> Dict[str, Any]:
    """The app's own fields on ``sourcetype`` plus the CIM fields its mapping gives the same entry
    where the app maps CIM (google:gcp:pubsub:message)."""
    own = apply_props(sourcetype, raw, now=NOW)
    cim = apply_props(INPUT, raw, now=NOW)
    return {**own, **{name: cim[name] for name in CIM_CHANGE if name in cim}}


def parsing_stanza() -> Stanza:
    """The parsing-tier stanza docs/knowledge.md gives admins (not part of the app)."""
    settings = [Setting(*line.split(" = ", 1), number) for number, line in enumerate(gen_props.PARSING_SETTINGS)]
    return Stanza(INPUT, 0, settings)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_normalised_fields(case: Dict[str, Any]) -> None:
    fields = apply_props(case["sourcetype"], case["raw"], now=NOW, kvstore=SITE)
    for name, expected in case["expected"].items():
        assert fields.get(name) == expected, f"{case['name']}: {name}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cim_fields_where_the_app_maps_cim(case: Dict[str, Any]) -> None:
    fields = apply_props(INPUT, case["raw"], now=NOW)
    for name, expected in case["expected_cim"].items():
        assert fields.get(name) == expected, f"{case['name']}: {name}"


@pytest.mark.parametrize("case", [c for c in CASES if c["sourcetype"] != INPUT], ids=lambda c: c["name"])
def test_no_cim_field_on_the_add_ons_sourcetypes(case: Dict[str, Any]) -> None:
    """The add-on maps its own sourcetypes to CIM: the app adds none there (docs/knowledge.md)."""
    fields = apply_props(case["sourcetype"], case["raw"], now=NOW)
    assert not set(fields) & set(CIM_CHANGE)
    assert fields.get("gcp_log_type") == case["expected"].get("gcp_log_type", fields.get("gcp_log_type"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_same_fields_whatever_the_shape(case: Dict[str, Any]) -> None:
    """Re-shape each event (bare <-> Pub/Sub-wrapped): every normalised field stays the same."""
    one = knowledge(case["sourcetype"], case["raw"])
    two = knowledge(case["sourcetype"], reshape(case["raw"]))
    for name in NORMALISED + CIM_CHANGE:
        assert one.get(name) == two.get(name), f"{case['name']}: {name} differs between shapes"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_timestamp_is_the_entry_timestamp(case: Dict[str, Any]) -> None:
    assert extract_time(parsing_stanza(), case["raw"]) == pytest.approx(case["expected_time"], abs=1e-6)


def test_time_prefix_skips_nested_and_attribute_timestamps() -> None:
    stanza = parsing_stanza()
    raw = ('{"attributes":{"logging.googleapis.com/timestamp":"2001-01-01T00:00:00Z"},"data":{"logName":'
           '"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"request":{"timestamp":'
           '"2002-02-02T00:00:00Z"}},"timestamp":"2026-11-27T09:14:03.5Z"},"publish_time":"1"}')
    assert extract_time(stanza, raw) == pytest.approx(1795770843.5)
    assert extract_time(stanza, '{"insertId":"x"}') is None
    # an entry near Cloud Logging's 256 KB limit, with a nested timestamp in a large request body
    big = ('{"protoPayload":{"request":{"timestamp":"2002-02-02T00:00:00Z","blob":"' + "x" * 250_000
           + '"}},"receiveTimestamp":"2026-11-27T09:14:04Z","timestamp":"2026-11-27T09:14:03.25Z"}')
    assert extract_time(stanza, big) == pytest.approx(1795770843.25)


DENIED_CASES = [c for c in CASES if c["name"] in {"vpcsc_enforced_masked_wrapped",
                                                   "org_policy_restrict_service_usage_wrapped",
                                                   "org_policy_external_ip_admin_activity_bare"}]
KEY_FIELDS = ["gcp_service", "gcp_method", "gcp_resource", "caller_ip", "caller_user_agent", "status_code",
              "gcp_violation_type", "org_constraint", "vpcsc_reason", "gcp_project"]


def test_long_entries_recover_the_keys_after_a_large_request() -> None:
    """KV_MODE = json reads only [spath] extraction_cutoff bytes (docs/knowledge.md): Cloud Logging
    writes keys alphabetically, so a large protoPayload.request pushes serviceName and status out
    of the extracted fields. The EVALs read them back with spath() over the whole _raw."""
    case = next(c for c in CASES if c["name"] == "org_policy_external_ip_admin_activity_bare")
    short = knowledge(case["sourcetype"], case["raw"])
    assert short.get("gcp_service") and short.get("gcp_cim_change") == "true"
    raw = with_request(case["raw"], large_request())
    assert len(raw.encode("utf-8")) > 5000
    extracted = flatten_json(raw)
    assert "protoPayload.serviceName" not in extracted and "protoPayload.status.code" not in extracted
    assert extracted["logName"]  # logName comes before protoPayload
    fields = knowledge(case["sourcetype"], raw)
    for name in NORMALISED + CIM_CHANGE:
        assert fields.get(name) == short.get(name), name
    assert fields["org_constraint"] == "compute.vmExternalIpAccess"


@pytest.mark.parametrize("shape", ["as_is", "reshaped"])
@pytest.mark.parametrize("case", DENIED_CASES, ids=[c["name"] for c in DENIED_CASES])
def test_long_denied_entries_keep_every_field_in_both_shapes(case: Dict[str, Any], shape: str) -> None:
    raw = case["raw"] if shape == "as_is" else reshape(case["raw"])
    short = knowledge(case["sourcetype"], raw)
    long_raw = with_request(raw, large_request(disks=200))
    assert len(long_raw) > 30_000
    extracted = {k.replace("data.", "", 1) for k in flatten_json(long_raw)}
    assert not extracted & {"protoPayload.serviceName", "protoPayload.status.code",
                            "protoPayload.requestMetadata.callerSuppliedUserAgent", "resource.labels.project_id"}
    fields = knowledge(case["sourcetype"], long_raw)
    # the short entry has every key field (one caller is "private"; a denial names a constraint or a
    # VPC-SC reason), and the long one must have them as well
    missing = {n for n in KEY_FIELDS if short.get(n) is None}
    assert missing <= {"caller_ip", "org_constraint", "vpcsc_reason"}
    assert not {"org_constraint", "vpcsc_reason"} <= missing
    for name in NORMALISED + CIM_CHANGE + ["org_constraint_category", "caller_egress_kind"]:
        assert fields.get(name) == short.get(name), f"{case['name']} ({shape}): {name}"
    assert extract_time(parsing_stanza(), long_raw) == pytest.approx(case["expected_time"])


def test_entry_under_5000_characters_but_over_5000_bytes_is_recovered() -> None:
    """len() counts characters and the cutoff bytes: non-ASCII text in the request can push an
    entry past 5000 bytes in fewer than 5000 characters. The entry's own timestamp (its last key)
    is then missing from the extracted fields, and that is enough to fall back to spath()."""
    case = next(c for c in CASES if c["name"] == "org_policy_restrict_service_usage_wrapped")
    short = knowledge(case["sourcetype"], case["raw"])
    raw = with_request(case["raw"], large_request(disks=10, text="\u691c\u8a3c" * 60))
    assert len(raw) < 5000 < len(raw.encode("utf-8"))
    assert "data.protoPayload.serviceName" not in flatten_json(raw)
    assert "data.timestamp" not in flatten_json(raw)
    fields = knowledge(case["sourcetype"], raw)
    for name in NORMALISED + CIM_CHANGE:
        assert fields.get(name) == short.get(name), name


def test_long_non_audit_entry_gets_no_audit_fields() -> None:
    case = next(c for c in CASES if c["name"] == "non_audit_message_wrapped")
    doc = json.loads(case["raw"])
    doc["data"]["jsonPayload"] = {"blob": "x" * 8000}
    short = knowledge(case["sourcetype"], case["raw"])
    fields = knowledge(case["sourcetype"], json.dumps(doc, sort_keys=True))
    assert "gcp_log_type" not in fields and "gcp_service" not in fields and "status" not in fields
    assert not set(fields) & set(CIM_CHANGE)
    for name in NORMALISED + CIM_CHANGE:
        assert fields.get(name) == short.get(name), name


def _count_spath(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    calls: List[str] = []
    real = evalspl.FUNCTIONS["spath"]

    def counting(ctx: Any, args: Any) -> Any:
        calls.append(str(args[1]))
        return real(ctx, args)

    monkeypatch.setitem(evalspl.FUNCTIONS, "spath", counting)
    return calls


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_short_entries_never_run_spath(case: Dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost model: an event automatic extraction read whole pays nothing for the fallback,
    even for the paths it lacks (assumption, docs/knowledge.md: if() evaluates only the branch it
    returns)."""
    calls = _count_spath(monkeypatch)
    before = apply_props(case["sourcetype"], case["raw"], now=NOW)
    assert calls == []
    apply_props(case["sourcetype"], reshape(case["raw"]), now=NOW)
    apply_props(INPUT, case["raw"], now=NOW)  # the CIM mapping's EVALs as well
    assert calls == []
    long_raw = with_request(case["raw"], large_request()) if "protoPayload" in case["raw"] else None
    if long_raw is not None:
        assert apply_props(case["sourcetype"], long_raw, now=NOW).get("gcp_service") == before.get("gcp_service")
        assert calls  # a long one does read the whole event


def test_fixtures_cover_every_sourcetype_and_both_shapes() -> None:
    assert {c["sourcetype"] for c in CASES} == set(SOURCETYPES)
    for sourcetype in SOURCETYPES:
        shapes = {c["shape"] for c in CASES if c["sourcetype"] == sourcetype}
        # the re-shaping test above runs every case in the other shape as well
        assert shapes, sourcetype
    assert {c["shape"] for c in CASES} == {"bare", "wrapped"}
    assert set(NORMALISED) <= {name for c in CASES for name in c["expected"]}
    assert set(CIM_CHANGE) <= {name for c in CASES for name in c["expected_cim"]}
    # a change and a non-change of each kind the Change mapping tells apart
    assert {c["expected_cim"].get("gcp_cim_change") for c in CASES} == {"true", None}


def test_every_sourcetype_has_the_same_own_knowledge_and_cim_only_on_the_input() -> None:
    reference = props_stanza(INPUT).as_dict()
    assert {k for k in reference if k.startswith("EVAL-")} == {f"EVAL-{n}" for n in NORMALISED + CIM_CHANGE}
    own = {k: v for k, v in reference.items() if k[len("EVAL-"):] not in CIM_CHANGE}
    for sourcetype in SOURCETYPES[1:]:
        assert props_stanza(sourcetype).as_dict() == own, sourcetype
    assert reference["KV_MODE"] == "json"
    assert gen_props.CIM_SOURCETYPES == [INPUT]


def test_evals_are_self_contained_and_coalesce_both_shapes() -> None:
    """EVAL-* run in parallel: none may read a field another EVAL creates. Every JSON path an
    EVAL reads is read in both shapes (data.-prefixed and bare)."""
    expressions = evals(SOURCETYPES[0])
    for name, expression in expressions.items():
        referenced = set(fields_referenced(expression))
        assert not referenced & set(expressions), f"EVAL-{name} reads another EVAL's field"
        json_paths = referenced - {"sourcetype", "_raw"}
        assert json_paths, name
        for path in json_paths:
            twin = path[5:] if path.startswith("data.") else "data." + path
            assert twin in referenced, f"EVAL-{name} reads {path} but not {twin}"


def test_every_extracted_path_falls_back_to_spath_in_both_shapes() -> None:
    """Each JSON path an EVAL reads from the extracted fields is also read with spath(_raw, ...)
    under the same name, and spath() reads nothing else; the gate's own timestamp is the exception."""
    gate = {"data.timestamp", "timestamp"}
    for name, expression in evals(SOURCETYPES[0]).items():
        paths = set(fields_referenced(expression)) - {"sourcetype", "_raw"} - gate
        spath_paths = set(re.findall(r'spath\(_raw, "([^"]+)"\)', expression))
        assert paths and paths == spath_paths, f"EVAL-{name}"
        assert "len(_raw) > 5000" in expression, f"EVAL-{name}"


def test_props_block_is_generated() -> None:
    """default/props.conf's gcp audit block is what devtools/gen_props.py writes."""
    assert gen_props.main(["--check"]) == 0
    current = (ROOT / "default" / "props.conf").read_text(encoding="utf-8")
    assert gen_props.render(current) == current
    # the generator leaves the rest of the file alone and replaces only its own block
    other = "# --- other area ---\n[other:st]\nKV_MODE = none\n# --- end other area ---\n"
    stale = other + "\n" + gen_props.BEGIN + "\n[old]\nKV_MODE = xml\n" + gen_props.END + "\n" + other
    fresh = gen_props.render(stale)
    assert fresh.startswith(other + "\n" + gen_props.block()) and fresh.endswith(gen_props.END + "\n" + other)
    assert "[old]" not in fresh
    assert gen_props.render(other) == other + "\n" + gen_props.block() + "\n"


def test_evals_use_only_modelled_functions() -> None:
    for name, expression in evals(SOURCETYPES[0]).items():
        for function in functions_used(expression):
            assert function in FUNCTIONS, f"EVAL-{name} uses {function}()"


def test_json_paths_named_in_evals_exist_in_the_samples() -> None:
    """Guards against a misspelt Cloud Audit Logs field name: each path an EVAL reads occurs in
    at least one sample event (the samples follow Google's LogEntry / AuditLog reference)."""
    seen = set()
    for case in CASES:
        seen |= set(flatten_json(case["raw"]))
    for name, expression in evals(SOURCETYPES[0]).items():
        for path in fields_referenced(expression):
            if path in {"sourcetype", "_raw"}:
                continue
            bare = path[5:] if path.startswith("data.") else path
            assert bare in seen or "data." + bare in seen, f"EVAL-{name}: {path} in no sample"


def test_masking_rule_matches_the_contract() -> None:
    def masked(principal: object, auth: bool = True) -> str:
        payload: Dict[str, object] = {"serviceName": "bigquery.googleapis.com"}
        if auth:
            payload["authenticationInfo"] = {} if principal is None else {"principalEmail": principal}
        raw = json.dumps({"logName": "projects/p/logs/cloudaudit.googleapis.com%2Fpolicy", "protoPayload": payload,
                          "timestamp": "2026-11-27T00:00:00Z"})
        return str(apply_props("google:gcp:pubsub:message", raw, now=NOW)["gcp_principal_masked"])

    assert masked("avery.lin@example-corp.com") == "false"
    assert masked("deploy@proj-1.iam.gserviceaccount.com") == "false"
    assert masked(None) == "true"
    assert masked(None, auth=False) == "true"
    assert masked("") == "true"
    assert masked("a...@example-corp.com") == "true"
    assert masked("service-904112356789@gcp-sa-aiplatform.iam.gserviceaccount.com") == "true"
    assert masked("service-org-123456789012@gcp-sa-ktd-hpsa.iam.gserviceaccount.com") == "true"
    assert masked("904112356789@cloudservices.gserviceaccount.com") == "true"
    assert masked("904112356789-compute@developer.gserviceaccount.com") == "false"


@pytest.mark.parametrize("ip,kind", [
    ("10.1.2.3", "internal"), ("172.31.255.1", "internal"), ("172.32.0.1", "public"),
    ("192.168.0.10", "internal"), ("100.64.0.1", "internal"), ("100.128.0.1", "public"),
    ("127.0.0.1", "internal"), ("169.254.169.254", "internal"), ("fd12:3456::1", "internal"),
    ("FE80::1", "internal"), ("::1", "internal"), ("0:0:0:0:0:0:0:1", "internal"),
    ("192.0.2.1", "public"), ("2001:db8::5", "public"), ("8.8.8.8", "public"),
    ("private", "private"), ("gce-internal-ip", "gce-internal-ip"), ("not-an-ip", "unknown"),
])
def test_caller_network_kind(ip: str, kind: str) -> None:
    raw = json.dumps({"protoPayload": {"serviceName": "s", "requestMetadata": {"callerIp": ip}},
                      "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
                      "timestamp": "2026-11-27T00:00:00Z"})
    fields = apply_props("google:gcp:pubsub:audit:admin_activity", raw, now=NOW)
    assert fields["caller_network_kind"] == kind
    assert fields.get("caller_ip") == (None if kind in {"private", "gce-internal-ip"} else ip)


def test_shared_files_keep_the_gcp_block_contiguous() -> None:
    for name in ("props.conf", "transforms.conf", "macros.conf", "eventtypes.conf", "tags.conf"):
        text = (ROOT / "default" / name).read_text(encoding="utf-8")
        assert text.count("# --- gcp audit ---") == 1, name
        block = text.split("# --- gcp audit ---", 1)[1].split("# --- end gcp audit ---", 1)[0]
        ours = re.findall(r"^\[(.+)\]", block, re.M)
        assert ours, name
        assert not parse_conf(ROOT / "default" / name).errors
