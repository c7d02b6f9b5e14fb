"""Cloud Audit Logs entries: recognise, parse (both ``_raw`` shapes), classify and normalise.

An entry reaches Splunk either bare (Dataflow to HEC) or wrapped by the Google Cloud add-on's
Pub/Sub input as ``{"publish_time": ..., "data": {LogEntry}, "attributes": {...}}``. Search-time
extracted fields may exist with or without the ``data.`` prefix; when present they win over the
values parsed from ``_raw``.
"""

from __future__ import annotations

import calendar
import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..errors import RowError
from .model import AuditEntry
from .netaddr import NO_ADDRESS_WORDS, is_internal, normalize_ip

#: Scalar LogEntry paths read from extracted fields (also tried with a ``data.`` prefix).
FIELD_PATHS: Tuple[str, ...] = (
    "logName",
    "insertId",
    "timestamp",
    "resource.labels.project_id",
    "protoPayload.serviceName",
    "protoPayload.methodName",
    "protoPayload.resourceName",
    "protoPayload.authenticationInfo.principalEmail",
    "protoPayload.requestMetadata.callerIp",
    "protoPayload.requestMetadata.callerSuppliedUserAgent",
    "protoPayload.status.code",
)

#: Extracted fields that make parsing ``_raw`` unnecessary for an entry that is not denied (all of the
#: above but the entry's id, its own timestamp and the status code, which may be absent on success).
SUFFICIENT_PATHS: Tuple[str, ...] = tuple(
    p for p in FIELD_PATHS if p not in ("insertId", "timestamp", "protoPayload.status.code"))

#: ``_raw`` larger than this is not parsed (an absurd size is counted as a bad row instead).
MAX_RAW_CHARS = 4 * 1024 * 1024

#: Google-managed service agents, matched against the lower-cased principal.
SERVICE_AGENT = re.compile(
    r"^(?:service-\d+@[a-z0-9-]+\.iam\.gserviceaccount\.com|\d+@cloudservices\.gserviceaccount\.com)$"
)
_GFE = "gzip(gfe)"
_INVOCATION = re.compile(r"invocation-id/([0-9A-Za-z-]+)")
_COMMAND = re.compile(r"command/([^\s]+)")
_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|z|[+-]\d\d:?\d\d)?$",
                      re.ASCII)  # ASCII digits only: int() would read other scripts' digits too
_PROJECT_IN_PATH = re.compile(r"(?:^|/)projects/([^/]+)")
DENIED_CODES = frozenset({7, 9})  # PERMISSION_DENIED, FAILED_PRECONDITION


def looks_like_audit(raw: str) -> bool:
    """Cheap pre-check on ``_raw`` before any JSON parsing."""
    return "protoPayload" in raw


def normalize_user_agent(agent: str) -> str:
    """Remove the ``,gzip(gfe)`` suffix Google's front end appends (sometimes twice)."""
    agent = agent.strip()
    while agent.endswith(_GFE):
        agent = agent[: -len(_GFE)].rstrip().rstrip(",").rstrip()
    return agent


def gcloud_invocation(agent: str) -> Tuple[str, str]:
    """``(invocation-id, command)`` from a gcloud user agent, empty strings when absent."""
    inv = _INVOCATION.search(agent)
    cmd = _COMMAND.search(agent)
    return (inv.group(1).lower() if inv else "", cmd.group(1) if cmd else "")


def is_service_agent(principal: str) -> bool:
    """Google-managed service agents (``service-<n>@gcp-sa-*``, ``<n>@cloudservices``)."""
    return bool(SERVICE_AGENT.match(principal.strip().lower()))


def is_masked_principal(principal: str) -> bool:
    """The contract's masking rules: no (or empty) email, a ``...`` email, or a service agent.

    An empty ``authenticationInfo`` has no email, so it is masked too.
    """
    return not principal.strip() or "..." in principal or is_service_agent(principal)


def parse_rfc3339(text: str) -> Optional[float]:
    """Epoch seconds of an RFC 3339 timestamp (nanosecond fractions allowed), None if not one."""
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    epoch = float(calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0)))
    if frac:
        epoch += float(frac[:10])
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        epoch += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return epoch


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


_STRING_AFTER = r'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)"'
_SALVAGE = tuple(
    (path, anchor, re.compile(_STRING_AFTER.format(key=path.rsplit(".", 1)[-1])))
    for path, anchor in (
        ("logName", ""),
        ("insertId", ""),
        ("timestamp", ""),
        ("protoPayload.serviceName", '"protoPayload"'),
        ("protoPayload.methodName", '"protoPayload"'),
        ("protoPayload.resourceName", '"protoPayload"'),
        ("protoPayload.authenticationInfo.principalEmail", '"authenticationInfo"'),
        ("protoPayload.requestMetadata.callerIp", '"requestMetadata"'),
        ("protoPayload.requestMetadata.callerSuppliedUserAgent", '"requestMetadata"'),
        ("resource.labels.project_id", '"labels"'),
    )
)
_STATUS_CODE = re.compile(r'"status"\s*:\s*\{\s*"code"\s*:\s*(\d+)')
_CONSTRAINT = re.compile(r'"(constraints/[A-Za-z0-9_.]+)"')


def salvage(raw: str) -> Dict[str, Any]:
    """A partial LogEntry rebuilt from what survives in a cut ``_raw`` (Splunk's TRUNCATE).

    Only scalar fields with unambiguous names are taken, each searched after the object that
    holds it; what the cut removed stays missing. Used only when ``_raw`` is not valid JSON.
    """
    found: Dict[str, str] = {}
    for path, anchor, pattern in _SALVAGE:
        start = raw.find(anchor) if anchor else 0
        match = pattern.search(raw, start) if start >= 0 else None
        if match:
            try:
                found[path] = json.loads('"' + match.group(1) + '"')
            except ValueError:
                continue
    entry: Dict[str, Any] = {}
    for path, value in found.items():
        node = entry
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    code = _STATUS_CODE.search(raw)
    if code:
        payload = entry.setdefault("protoPayload", {})
        payload["status"] = {"code": int(code.group(1)), "details": [
            {"violations": [{"type": c} for c in dict.fromkeys(_CONSTRAINT.findall(raw))]}]}
    return entry


def load_entry(raw: str) -> Optional[Dict[str, Any]]:
    """The LogEntry object of ``_raw`` in either shape; None when ``_raw`` holds no LogEntry.

    Raises :class:`RowError` for malformed JSON or an absurd size.
    """
    if len(raw) > MAX_RAW_CHARS:
        raise RowError("oversized _raw", field="_raw")
    try:
        obj = json.loads(raw)
    except ValueError:
        raise RowError("malformed JSON in _raw", field="_raw") from None
    if not isinstance(obj, dict):
        raise RowError("_raw JSON is not an object", field="_raw")
    data = obj.get("data")
    if isinstance(data, dict) and ("protoPayload" in data or "logName" in data):
        return data
    if "protoPayload" in obj or "logName" in obj:
        return obj
    return None


def _violation(payload: Mapping[str, Any]) -> Tuple[str, bool]:
    """(violation text, whether an org-policy violation is named) from policyViolationInfo/status."""
    found: List[str] = []
    org_policy = False
    info = _dig(payload, "policyViolationInfo.orgPolicyViolationInfo.violationInfo")
    if isinstance(payload.get("policyViolationInfo"), dict):
        org_policy = True
    if isinstance(info, list):
        for item in info:
            constraint = _text(_dig(item, "constraint"))
            if constraint:
                found.append(constraint)
    details = _dig(payload, "status.details")
    if isinstance(details, list):
        for detail in details:
            violations = detail.get("violations") if isinstance(detail, dict) else None
            if not isinstance(violations, list):
                continue
            for violation in violations:
                if not isinstance(violation, dict):
                    continue
                kind = _text(violation.get("type"))
                if kind.startswith("constraints/"):
                    org_policy = True
                if kind:
                    found.append(kind)
    reason = _text(_dig(payload, "metadata.violationReason"))
    if reason:
        found.append(reason)
    unique: List[str] = []
    for item in found:
        if item not in unique:
            unique.append(item)
    return ", ".join(unique), org_policy


def _sub(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def parse_entry(
    entry: Optional[Mapping[str, Any]],
    extracted: Mapping[str, str],
    time: Optional[float],
) -> AuditEntry:
    """Normalise one audit entry from its parsed LogEntry and/or its extracted fields.

    ``extracted`` maps :data:`FIELD_PATHS` (without ``data.``) to extracted values; a non-empty
    extracted value wins over the parsed one. ``time`` is the row's ``_time``.
    """
    obj: Mapping[str, Any] = entry if entry is not None else {}
    payload = _sub(obj, "protoPayload")
    request = _sub(payload, "requestMetadata")
    auth = _sub(payload, "authenticationInfo")
    get = extracted.get

    def pick(path: str, source: Mapping[str, Any], key: str) -> str:
        got = get(path)
        if got:
            return got
        value = source.get(key)
        return value if isinstance(value, str) else _text(value)

    log_name = pick("logName", obj, "logName")
    if time is None:
        time = parse_rfc3339(pick("timestamp", obj, "timestamp"))
    if time is None:
        raise RowError("no usable _time or timestamp", field="_time")

    principal = pick("protoPayload.authenticationInfo.principalEmail", auth, "principalEmail")
    if not get("protoPayload.authenticationInfo.principalEmail") and not isinstance(auth.get("principalEmail"), str):
        principal = ""  # a number or an object is no principal's address: the caller is not shown
    masked = is_masked_principal(principal)
    agent = masked and bool(principal) and is_service_agent(principal)

    raw_ip = pick("protoPayload.requestMetadata.callerIp", request, "callerIp").strip()
    ip_key = None if raw_ip.lower() in NO_ADDRESS_WORDS else normalize_ip(raw_ip)
    caller_ip = ip_key or raw_ip

    user_agent = normalize_user_agent(pick("protoPayload.requestMetadata.callerSuppliedUserAgent", request,
                                           "callerSuppliedUserAgent"))
    invocation_id, command = gcloud_invocation(user_agent) if "invocation-id/" in user_agent else ("", "")

    resource = pick("protoPayload.resourceName", payload, "resourceName")
    if not resource:
        names = _sub(payload, "metadata").get("resourceNames")
        if isinstance(names, list) and names:
            resource = _text(names[0])
    project = pick("resource.labels.project_id", _sub(_sub(obj, "resource"), "labels"), "project_id")
    if not project:
        for text in (log_name, resource):
            match = _PROJECT_IN_PATH.search(text)
            if match:
                project = match.group(1)
                break

    code_text = pick("protoPayload.status.code", _sub(payload, "status"), "code")
    try:
        code = int(float(code_text)) if code_text and code_text.isascii() else 0
    except (ValueError, OverflowError):
        code = 0
    denied = log_name.endswith("cloudaudit.googleapis.com%2Fpolicy") or log_name.endswith("/policy")
    violation = ""
    if denied or code in DENIED_CODES:
        violation, org_policy = _violation(payload)
        denied = denied or org_policy

    return AuditEntry(
        time=time,
        denied=denied,
        masked=masked,
        service_agent=agent,
        principal=principal,
        caller_ip=caller_ip,
        ip_key=ip_key,
        user_agent=user_agent,
        invocation_id=invocation_id,
        gcloud_command=command,
        cloud_shell="environment/devshell" in user_agent,
        project=project,
        service=pick("protoPayload.serviceName", payload, "serviceName"),
        method=pick("protoPayload.methodName", payload, "methodName"),
        resource=resource,
        violation=violation,
        insert_id=pick("insertId", obj, "insertId"),
        public=ip_key is not None and not is_internal(ip_key),
    )
