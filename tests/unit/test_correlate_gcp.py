"""gcp: both _raw shapes, extracted fields with and without data., classification and masking."""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
from guardrail.correlate.gcp import (
    gcloud_invocation,
    is_masked_principal,
    is_service_agent,
    load_entry,
    normalize_user_agent,
    parse_entry,
    parse_rfc3339,
    salvage,
)
from guardrail.errors import RowError

from tests.unit.correlate_builders import T0, gcloud_agent, log_entry


def parse(entry: Dict[str, Any], extracted: Dict[str, str] | None = None, t: float | None = T0) -> Any:
    fields = extracted or {}
    return parse_entry(entry, fields, t)


def test_bare_and_wrapped_shapes_give_the_same_entry() -> None:
    entry = log_entry(T0, agent=gcloud_agent())
    bare = load_entry(json.dumps(entry))
    wrapped = load_entry(json.dumps({"publish_time": "1", "data": entry, "attributes": {}}))
    assert bare == wrapped == entry


def test_policy_log_is_denied_and_fields_are_normalised() -> None:
    e = parse(log_entry(T0, ip="2001:0DB8::0001", agent=gcloud_agent("AbC-1")))
    assert e.denied and e.masked
    assert e.caller_ip == "2001:db8::1" and e.ip_key == "2001:db8::1"
    assert e.user_agent.endswith("(Linux 6.1.0)")  # ,gzip(gfe) removed
    assert e.invocation_id == "abc-1" and e.gcloud_command == "gcloud.compute.instances.create"
    assert (e.project, e.service, e.method) == ("ml-sandbox", "compute.googleapis.com", "v1.compute.instances.insert")
    assert e.resource_leaf == "nb-1"
    assert e.violation == "constraints/compute.vmExternalIpAccess"


def test_activity_entry_with_constraint_violation_is_denied() -> None:
    assert parse(log_entry(T0, log="activity", code=9)).denied
    assert parse(log_entry(T0, log="activity", code=7)).denied


def test_activity_entry_without_org_policy_is_not_denied() -> None:
    entry = log_entry(T0, log="activity", code=7, constraint="SOMETHING_ELSE")
    assert not parse(entry).denied
    assert not parse(log_entry(T0, log="data_access", code=0)).denied


@pytest.mark.parametrize("principal,masked", [
    (None, True), ("", True), ("a...@example-corp.com", True),
    ("service-123456789@gcp-sa-notebooks.iam.gserviceaccount.com", True),
    ("123456789@cloudservices.gserviceaccount.com", True),
    ("avery.lin@example-corp.com", False), ("deployer@proj.iam.gserviceaccount.com", False),
])
def test_masking_rules(principal: str | None, masked: bool) -> None:
    assert parse(log_entry(T0, principal=principal)).masked is masked


def test_service_agent_detection() -> None:
    assert is_service_agent("service-42@gcp-sa-aiplatform.iam.gserviceaccount.com")
    assert not is_service_agent("42-compute@developer.gserviceaccount.com")
    assert is_masked_principal("") and is_masked_principal("a...@example.com")
    assert not is_masked_principal("x@example.com")


def test_extracted_fields_win_and_work_without_raw() -> None:
    entry = log_entry(T0, ip="203.0.113.10")
    e = parse(entry, {"protoPayload.requestMetadata.callerIp": "198.51.100.9"})
    assert e.caller_ip == "198.51.100.9"
    only = parse(None, {"logName": "projects/p/logs/cloudaudit.googleapis.com%2Fpolicy",
                        "protoPayload.requestMetadata.callerIp": "private",
                        "protoPayload.authenticationInfo.principalEmail": ""})
    assert only.denied and only.masked and only.caller_ip == "private" and only.ip_key is None
    assert only.project == "p"


def test_no_address_words_are_kept_for_output() -> None:
    e = parse(log_entry(T0, ip="gce-internal-ip"))
    assert e.caller_ip == "gce-internal-ip" and e.ip_key is None


def test_time_falls_back_to_logentry_timestamp() -> None:
    e = parse(log_entry(T0), t=None)
    assert e.time == parse_rfc3339("2026-09-21T00:00:00Z")
    assert parse_rfc3339("2025-11-20T09:14:05.123456789Z") == pytest.approx(1763630045.123456789)
    assert parse_rfc3339("2025-11-20T10:14:05+01:00") == 1763630045.0
    assert parse_rfc3339("yesterday") is None


def test_malformed_and_foreign_raw() -> None:
    with pytest.raises(RowError):
        load_entry('{"protoPayload": ')
    with pytest.raises(RowError):
        load_entry("[1, 2]")
    assert load_entry('{"protoPayloadish": 1}') is None


def test_user_agent_helpers() -> None:
    assert normalize_user_agent("gl-python/3.11 grpc/1.62,gzip(gfe),gzip(gfe)") == "gl-python/3.11 grpc/1.62"
    assert gcloud_invocation("Mozilla/5.0") == ("", "")


def test_vpc_sc_violation_reason() -> None:
    entry = log_entry(T0, constraint="VPC_SERVICE_CONTROLS")
    entry["protoPayload"]["metadata"] = {"violationReason": "NO_MATCHING_ACCESS_LEVEL",
                                         "resourceNames": ["projects/1234"]}
    entry["protoPayload"].pop("resourceName")
    e = parse(entry)
    assert e.violation == "VPC_SERVICE_CONTROLS, NO_MATCHING_ACCESS_LEVEL"
    assert e.resource == "projects/1234"


def test_salvage_reads_what_survives_a_cut_raw() -> None:
    entry = log_entry(T0, ip="198.51.100.7", agent=gcloud_agent("abc"), principal="", log="activity", code=9)
    raw = json.dumps({"publish_time": "1", "data": entry})
    cut = raw[: raw.index('"resource": {"type"')]  # the labels and what follows are gone
    with pytest.raises(RowError):
        load_entry(cut)
    e = parse(salvage(cut))
    assert e.caller_ip == "198.51.100.7" and e.invocation_id == "abc" and e.masked
    assert e.denied and e.violation == "constraints/compute.vmExternalIpAccess"
    assert e.project == "ml-sandbox"  # from the resource name
    assert salvage('{"protoPayload": [') == {}


def test_truncated_raw_with_extracted_fields_is_read_and_denied() -> None:
    entry = log_entry(T0, ip="198.51.100.7")
    cut = json.dumps(entry)[:300]
    e = parse(salvage(cut), {"logName": entry["logName"], "protoPayload.requestMetadata.callerIp": "198.51.100.7"})
    assert e.denied and e.caller_ip == "198.51.100.7"


def test_only_ascii_digits_make_a_timestamp_or_a_status_code() -> None:
    assert parse_rfc3339("٢٠٢٦-٠٩-٢١T00:00:00Z") is None
    entry = log_entry(T0, log="activity", code=7)
    entry["protoPayload"]["status"]["code"] = "٧"  # PERMISSION_DENIED in other digits is no code at all
    assert not parse_entry(entry, {}, T0).denied
    assert parse_entry(log_entry(T0, log="activity", code=7), {}, T0).denied


@pytest.mark.parametrize("value", [7, {"a": [1]}, ["x@example-corp.com"], True])
def test_a_principal_that_is_not_text_is_no_principal(value: object) -> None:
    entry = log_entry(T0, principal="avery.lin@example-corp.com")
    entry["protoPayload"]["authenticationInfo"]["principalEmail"] = value
    e = parse_entry(entry, {}, T0)
    assert e.principal == "" and e.masked
