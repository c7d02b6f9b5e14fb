"""Write the ``# --- gcp audit ---`` block of default/props.conf from one template.

The five gcp sourcetypes carry identical settings; this module is their single source. Edit the
template below, then run ``python -m devtools.gen_props`` (rewrites only the block between
``# --- gcp audit ---`` and ``# --- end gcp audit ---``, leaving the rest of props.conf alone).
``python -m devtools.gen_props --check`` exits 1 when props.conf is out of step (a unit test runs it).

Every JSON path is read through ``field()``: the ``data.``-prefixed (Pub/Sub-wrapped) and the bare
(Dataflow -> HEC) names ``KV_MODE = json`` extracted, and, only when neither was extracted from an
event that automatic extraction may have cut short, the same two paths read with ``spath()`` over
the whole ``_raw``. Automatic JSON extraction stops at limits.conf ``[spath] extraction_cutoff``
(5000 bytes by default); ``spath()`` with an explicit path is not bounded by it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional

from devtools.conf import ROOT

PROPS = ROOT / "default" / "props.conf"
BEGIN = "# --- gcp audit ---"
END = "# --- end gcp audit ---"

SOURCETYPES = [
    "google:gcp:pubsub:message",
    "google:gcp:pubsub:audit:admin_activity",
    "google:gcp:pubsub:audit:data_access",
    "google:gcp:pubsub:audit:system_event",
    "google:gcp:pubsub:audit:policy_denied",
]

# limits.conf [spath] extraction_cutoff, default 5000 bytes. len() counts characters, and a UTF-8
# character takes at most 4 bytes, so an event of at most CUTOFF // 4 characters cannot have been
# cut. Between the two, the entry's own "timestamp" tells: Cloud Logging writes keys in
# alphabetical order, so it is the LogEntry's last key (the one TIME_PREFIX reads) and is missing
# from the extracted fields exactly when extraction stopped inside the entry.
CUTOFF = 5000
MAYBE_CUT = (f"len(_raw) > {CUTOFF} OR (len(_raw) > {CUTOFF // 4} "
             "AND isnull(coalesce('data.timestamp', 'timestamp')))")


def field(path: str, default: Optional[str] = None) -> str:
    """The value at JSON ``path`` (bare LogEntry path) in either shape.

    Scalars: the extracted field, else (on an event that may have been cut) ``spath()`` of the
    whole ``_raw``; the short, normal event never reaches ``spath()``. Paths with ``{}`` array
    steps: on such an event always ``spath()``, since the cut may fall inside the array and leave
    only its first values extracted. ``default`` (an SPL literal) replaces a missing value.
    """
    extracted = f"'data.{path}', '{path}'"
    whole = f'coalesce(spath(_raw, "data.{path}"), spath(_raw, "{path}"))'
    if "{}" in path:
        expression = f"if({MAYBE_CUT}, {whole}, coalesce({extracted}))"
        return expression if default is None else f"coalesce({expression}, {default})"
    tail = "" if default is None else f", {default}"
    return f"coalesce({extracted}, if({MAYBE_CUT}, {whole}, null()){tail})"


# ---------------------------------------------------------------------------------------------
# The JSON paths the knowledge layer reads (Cloud Audit Logs LogEntry / AuditLog)

LOG_NAME = field("logName")
LOG_NAME_OR_EMPTY = field("logName", '""')
PROJECT_ID = field("resource.labels.project_id")
SERVICE = field("protoPayload.serviceName")
METHOD = field("protoPayload.methodName")
RESOURCE = field("protoPayload.resourceName")
PRINCIPAL = field("protoPayload.authenticationInfo.principalEmail")
PRINCIPAL_OR_EMPTY = field("protoPayload.authenticationInfo.principalEmail", '""')
CALLER_IP = field("protoPayload.requestMetadata.callerIp")
CALLER_IP_OR_EMPTY = field("protoPayload.requestMetadata.callerIp", '""')
USER_AGENT = field("protoPayload.requestMetadata.callerSuppliedUserAgent")
STATUS_CODE = field("protoPayload.status.code")
STATUS_CODE_OR_ZERO = field("protoPayload.status.code", "0")
STATUS_MESSAGE = field("protoPayload.status.message")
STATUS_MESSAGE_OR_EMPTY = field("protoPayload.status.message", '""')
METADATA_TYPE_OR_EMPTY = field("protoPayload.metadata.@type", '""')
VPCSC_REASON = field("protoPayload.metadata.violationReason")
VPCSC_PERIMETER = field("protoPayload.metadata.securityPolicyInfo.servicePerimeterName")
VPCSC_UNIQUE_ID = field("protoPayload.metadata.vpcServiceControlsUniqueId")
DRY_RUN_OR_EMPTY = field("protoPayload.metadata.dryRun", '""')
ORG_POLICY_CONSTRAINTS = field("protoPayload.policyViolationInfo.orgPolicyViolationInfo.violationInfo{}.constraint")
VIOLATION_TYPES = field("protoPayload.status.details{}.violations{}.type")
VIOLATION_DESCRIPTIONS = field("protoPayload.status.details{}.violations{}.description")
GRANTED = field("protoPayload.authorizationInfo{}.granted")

AUDIT = "cloudaudit\\.googleapis\\.com(%2[Ff]|/)"
VPCSC_METADATA = '"type.googleapis.com/google.cloud.audit.VpcServiceControlAuditMetadata"'
SERVICE_AGENT = (r'"(?i)^(service-(org-|folder-)?\d+@gcp-sa-[a-z0-9-]+\.iam\.gserviceaccount\.com'
                 r'|\d+@cloudservices\.gserviceaccount\.com)$"')
INTERNAL_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
                     "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"]
IPV4 = r'"^\d{1,3}(\.\d{1,3}){3}$"'
IPV6 = r'"^[0-9A-Fa-f]*:[0-9A-Fa-f:.]*$"'
LAST_METHOD_SEGMENT = f'lower(replace({METHOD}, "^.*[./]", ""))'
ACTIONS = [
    ("^setiampolicy", "acl_modified"),
    ("^(create|insert|add|import|upload|copy|clone|generate)", "created"),
    ("^(delete|remove|destroy|purge)", "deleted"),
    ("^(get|list|read|search|query|lookup|batchget|check|test|view|describe|download|fetch|export)", "read"),
    ("^(update|patch|set|modify|change|replace|move|rename|enable|disable|start|stop|reset|resize|attach"
     "|detach|undelete|restore|cancel|run|execute|deploy|mutate|apply|write)", "modified"),
]


def _log_type() -> str:
    by_log_name = ", ".join(f'match({LOG_NAME_OR_EMPTY}, "{AUDIT}{kind}$"), "{kind}"'
                            for kind in ("activity", "data_access", "system_event", "policy"))
    by_sourcetype = ", ".join(f'sourcetype=="{st}", "{kind}"' for st, kind in (
        ("google:gcp:pubsub:audit:admin_activity", "activity"),
        ("google:gcp:pubsub:audit:data_access", "data_access"),
        ("google:gcp:pubsub:audit:system_event", "system_event"),
        ("google:gcp:pubsub:audit:policy_denied", "policy")))
    return f"case({by_log_name}, isnull({SERVICE}), null(), {by_sourcetype})"


def _project() -> str:
    return (f'coalesce({PROJECT_ID}, if(match({LOG_NAME_OR_EMPTY}, "^projects/[^/]+/logs/"), '
            f'replace({LOG_NAME}, "^projects/([^/]+)/logs/.*$", "\\1"), null()))')


def _caller_ip() -> str:
    return f'if(match({CALLER_IP_OR_EMPTY}, "^(private|gce-internal-ip)?$"), null(), {CALLER_IP})'


def _caller_network_kind() -> str:
    internal = " OR ".join(f'cidrmatch("{net}", {CALLER_IP})' for net in INTERNAL_NETWORKS)
    return (f'case(len({CALLER_IP_OR_EMPTY})==0, null(), {CALLER_IP}=="private", "private", '
            f'{CALLER_IP}=="gce-internal-ip", "gce-internal-ip", {internal}, "internal", '
            f'match({CALLER_IP}, {IPV4}) OR match({CALLER_IP}, {IPV6}), "public", true(), "unknown")')


def _user_agent_part(name: str, allowed: str) -> str:
    return (f'if(match({USER_AGENT}, "\\b{name}/{allowed}"), '
            f'replace({USER_AGENT}, "^.*?\\b{name}/({allowed}+).*$", "\\1"), null())')


def _is_vpcsc() -> str:
    return (f"{METADATA_TYPE_OR_EMPTY}=={VPCSC_METADATA} OR isnotnull({VPCSC_REASON})")


def _violation_type() -> str:
    return (f'case(isnull({SERVICE}), null(), '
            f'{_is_vpcsc()} OR isnotnull(mvfind({VIOLATION_TYPES}, "^VPC_SERVICE_CONTROLS$")), "vpc_sc", '
            f'isnotnull({ORG_POLICY_CONSTRAINTS}) OR '
            f'isnotnull(mvfind({VIOLATION_TYPES}, "^(constraints|customConstraints)/")), "org_policy", '
            f'{STATUS_CODE}==7 OR isnotnull(mvfind({GRANTED}, "^false$")), "iam", true(), "none")')


def _vpcsc_unique_id() -> str:
    return (f'coalesce({VPCSC_UNIQUE_ID}, '
            f'mvindex({VIOLATION_DESCRIPTIONS}, mvfind({VIOLATION_TYPES}, "^VPC_SERVICE_CONTROLS$")), '
            f'if(match({STATUS_MESSAGE_OR_EMPTY}, "vpcServiceControlsUniqueIdentifier:\\s*[\\w-]"), '
            f'replace({STATUS_MESSAGE}, "^.*?vpcServiceControlsUniqueIdentifier:\\s*([\\w-]+).*$", "\\1"), '
            f'null()))')


def _vpcsc_dry_run() -> str:
    return f'case(lower({DRY_RUN_OR_EMPTY})=="true", "true", {_is_vpcsc()}, "false")'


def _org_constraint() -> str:
    return (f'replace(coalesce(mvindex({ORG_POLICY_CONSTRAINTS}, 0), '
            f'mvindex({VIOLATION_TYPES}, mvfind({VIOLATION_TYPES}, "^(constraints|customConstraints)/")), '
            f'if(match({STATUS_MESSAGE_OR_EMPTY}, "\\bconstraints/[\\w.]+"), '
            f'replace({STATUS_MESSAGE}, "^.*?\\bconstraints/([\\w.]+).*$", "constraints/\\1"), null())), '
            f'"^constraints/", "")')


def _user() -> str:
    return (f'if(isnull({SERVICE}) OR len({PRINCIPAL_OR_EMPTY})==0 OR match({PRINCIPAL_OR_EMPTY}, "\\.\\.\\."), '
            f'null(), {PRINCIPAL})')


def _action() -> str:
    cases = ", ".join(f'match({LAST_METHOD_SEGMENT}, "{pattern}"), "{action}"' for pattern, action in ACTIONS)
    return f"case(isnull({METHOD}), null(), {cases}, true(), \"unknown\")"


def _status() -> str:
    return (f'case(isnull({SERVICE}), null(), match({LOG_NAME_OR_EMPTY}, "(%2[Ff]|/)policy$") OR '
            f'{STATUS_CODE_OR_ZERO}!=0, "failure", true(), "success")')


def _principal_masked() -> str:
    return (f'if(isnull({SERVICE}), null(), if(len({PRINCIPAL_OR_EMPTY})==0 OR '
            f'match({PRINCIPAL_OR_EMPTY}, "\\.\\.\\.") OR match({PRINCIPAL_OR_EMPTY}, {SERVICE_AGENT}), '
            f'"true", "false"))')


EVALS: Dict[str, str] = {
    "gcp_log_type": _log_type(),
    "gcp_project": _project(),
    "gcp_service": SERVICE,
    "gcp_method": METHOD,
    "gcp_resource": RESOURCE,
    "gcp_principal": PRINCIPAL,
    "gcp_principal_masked": _principal_masked(),
    "caller_ip": _caller_ip(),
    "caller_network_kind": _caller_network_kind(),
    "caller_user_agent": f'replace({USER_AGENT}, "(,gzip\\(gfe\\))+$", "")',
    "gcloud_command": _user_agent_part("command", "[^\\s,]"),
    "gcloud_invocation_id": _user_agent_part("invocation-id", "[0-9A-Za-z-]"),
    "status_code": STATUS_CODE,
    "status_message": STATUS_MESSAGE,
    "gcp_violation_type": _violation_type(),
    "vpcsc_reason": VPCSC_REASON,
    "vpcsc_perimeter": VPCSC_PERIMETER,
    "vpcsc_unique_id": _vpcsc_unique_id(),
    "vpcsc_dry_run": _vpcsc_dry_run(),
    "org_constraint": _org_constraint(),
    # CIM Change
    "user": _user(),
    "src": _caller_ip(),
    "action": _action(),
    "object": RESOURCE,
    "status": _status(),
    "vendor_account": _project(),
    "command": METHOD,
}

SETTINGS: List[str] = [
    "KV_MODE = json",
    "SHOULD_LINEMERGE = false",
    "TRUNCATE = 1048576",
    'TIME_PREFIX = "timestamp"\\s*:\\s*"(?=[^"]{10,40}"(?!(?:[^"]++|"(?!timestamp"\\s*:))*+"timestamp"\\s*:))',
    "MAX_TIMESTAMP_LOOKAHEAD = 40",
    "TIME_FORMAT = %Y-%m-%dT%H:%M:%S.%9N%Z",
    "TZ = UTC",
    *(f"EVAL-{name} = {expression}" for name, expression in EVALS.items()),
    "LOOKUP-gcp_org_constraint = gcp_org_policy_constraints constraint AS org_constraint OUTPUTNEW "
    "description AS org_constraint_description category AS org_constraint_category "
    "severity AS org_constraint_severity",
    "LOOKUP-gcp_caller_egress = egress_networks cidr AS caller_ip OUTPUTNEW kind AS caller_egress_kind "
    "site AS caller_egress_site",
]

HEADER = f"""\
# Generated by devtools/gen_props.py from one template: edit it there, then run
# `python -m devtools.gen_props` (a unit test fails while this block is out of step).
# Cloud Audit Logs LogEntry, bare (Dataflow -> HEC) or wrapped by the Pub/Sub input as
# {{"publish_time", "data": {{LogEntry}}, "attributes"}}. Every EVAL coalesces the data.-prefixed
# and the bare JSON path; EVALs run in parallel, so none reads another's output.
# KV_MODE = json extracts only the first limits.conf [spath] extraction_cutoff bytes (5000): keys
# after a large protoPayload.request are lost. Each path then falls back to spath(_raw, "<path>"),
# which reads the whole event, but only when the extracted field is missing and the event may have
# been cut ({MAYBE_CUT}),
# so a normal entry never runs spath().
# TIME_PREFIX takes the LAST "timestamp" key: Cloud Logging writes keys in alphabetical order,
# so the LogEntry's own timestamp follows protoPayload (which may nest other "timestamp" keys);
# the Pub/Sub attribute is spelled logging.googleapis.com/timestamp and does not match. The
# look-ahead steps from quote to quote with possessive repeats, so its cost grows with the number
# of quotes after the key, not with every character (large entries stay under PCRE match limits).
"""


def block() -> str:
    """The text from ``# --- gcp audit ---`` to ``# --- end gcp audit ---`` inclusive."""
    stanzas = "\n".join(f"[{sourcetype}]\n" + "".join(f"{line}\n" for line in SETTINGS)
                        for sourcetype in SOURCETYPES)
    return f"{BEGIN}\n{HEADER}{stanzas}\n{END}"


def render(current: str) -> str:
    """``current`` props.conf text with the gcp audit block replaced (appended when absent)."""
    if current.count(BEGIN) > 1 or current.count(END) > 1:
        raise ValueError("props.conf has more than one gcp audit block")
    if BEGIN not in current:
        separator = "" if not current or current.endswith("\n\n") else ("\n" if current.endswith("\n") else "\n\n")
        return f"{current}{separator}{block()}\n"
    start = current.index(BEGIN)
    end = current.index(END, start) + len(END)
    return current[:start] + block() + current[end:]


def main(argv: List[str]) -> int:
    check = "--check" in argv
    path = Path(PROPS)
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    wanted = render(current)
    if check:
        if wanted != current:
            print(f"{path.relative_to(ROOT)}: the gcp audit block is out of step with devtools/gen_props.py; "
                  "run `python -m devtools.gen_props`", file=sys.stderr)
            return 1
        print(f"{path.relative_to(ROOT)}: gcp audit block up to date")
        return 0
    if wanted != current:
        path.write_text(wanted, encoding="utf-8")
        print(f"{path.relative_to(ROOT)}: gcp audit block rewritten")
    else:
        print(f"{path.relative_to(ROOT)}: gcp audit block already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
