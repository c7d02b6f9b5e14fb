"""Write the ``# --- gcp audit ---`` block of default/props.conf from one template.

The five gcp sourcetypes share one template; this module is their single source. Every stanza
carries the app's own fields; only ``google:gcp:pubsub:message`` also carries CIM Change fields,
because on the four ``google:gcp:pubsub:audit:*`` sourcetypes the Splunk Add-on for Google Cloud
Platform maps CIM itself (docs/knowledge.md). Edit the template below, then run
``python -m devtools.gen_props`` (rewrites only the block between ``# --- gcp audit ---`` and
``# --- end gcp audit ---``, leaving the rest of props.conf alone). ``python -m devtools.gen_props
--check`` exits 1 when props.conf is out of step (a unit test runs it); ``--parsing`` prints the
parsing-tier stanza docs/knowledge.md shows (not part of the app).

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

# The Pub/Sub input's sourcetype (also the usual one of a Dataflow -> HEC pipeline), and the ones
# the Google Cloud add-on renames audit entries to at index time.
INPUT_SOURCETYPE = "google:gcp:pubsub:message"
ADDON_SOURCETYPES = [
    "google:gcp:pubsub:audit:admin_activity",
    "google:gcp:pubsub:audit:data_access",
    "google:gcp:pubsub:audit:system_event",
    "google:gcp:pubsub:audit:policy_denied",
]
SOURCETYPES = [INPUT_SOURCETYPE, *ADDON_SOURCETYPES]
# Where the app maps CIM: only where the add-on's documentation shows no CIM mapping of its own.
CIM_SOURCETYPES = [INPUT_SOURCETYPE]

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
RESOURCE_OR_EMPTY = field("protoPayload.resourceName", '""')
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
# CIM Change `action` from the method's last segment, in CIM's prescribed values; first match wins.
ACTIONS = [
    ("^setiam", "acl_modified"),
    ("^(create|insert|add|import|upload|copy|clone|generate)", "created"),
    ("^(delete|remove|destroy|purge)", "deleted"),
    ("^(get|list|read|search|query|lookup|batchget|check|test|view|describe|download|fetch|export)", "read"),
    ("^(start|resume)", "started"),
    ("^(stop|suspend)", "stopped"),
    ("^(restart|reset|reboot)", "restarted"),
    ("^(update|patch|set|modify|change|replace|move|rename|enable|disable|resize|attach"
     "|detach|undelete|restore|cancel|run|execute|deploy|mutate|apply|write)", "modified"),
]
# The actions that change something: a write attempt that a guardrail denied is still a change
# attempt (CIM: "the action attempted on the resource, regardless of success or failure").
WRITE_ACTIONS = ("created", "deleted", "modified", "acl_modified", "started", "stopped", "restarted")
# object_category: CIM's prescribed value where a Google resource collection is one of those
# classes, else the collection's singular (instances -> instance).
PRESCRIBED_CATEGORIES = [("serviceaccounts", "user"), ("users", "user"), ("groups", "group"), ("objects", "file")]

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
    # Admin Activity logs record only writes (ADMIN_WRITE), so a method of no known shape there is a
    # modification; elsewhere it stays without an action rather than outside CIM's values.
    return f'case(isnull({METHOD}), null(), {cases}, {_log_type()}=="activity", "modified", true(), null())'


def _status() -> str:
    return (f'case(isnull({SERVICE}), null(), match({LOG_NAME_OR_EMPTY}, "(%2[Ff]|/)policy$") OR '
            f'{STATUS_CODE_OR_ZERO}!=0, "failure", true(), "success")')


def _is_change() -> str:
    """What CIM Change holds: every Admin Activity entry (a configuration write, success or
    failure), and a denied write attempt from the policy log unless it is a VPC-SC dry run (the
    call went through; its own Admin Activity entry records any change). Not: reads, data access
    (data-plane reads and writes), system events (Google's own maintenance), non-audit entries."""
    writes = "|".join(WRITE_ACTIONS)
    return (f'if(isnotnull({SERVICE}) AND ({_log_type()}=="activity" OR ({_log_type()}=="policy" AND '
            f'coalesce({_vpcsc_dry_run()}, "false")!="true" AND match(coalesce({_action()}, ""), "^({writes})$"))), '
            f'"true", null())')


def _collection() -> str:
    """The collection a resourceName names its object in. Resource names are collection/id pairs
    (``projects/p/zones/z/instances/vm-1`` -> instances), after an optional ``//service/`` prefix;
    a Cloud Storage object's name may hold slashes of its own (``…/objects/2026/11/part-1``)."""
    bare = f'replace({RESOURCE}, "^//[^/]+/", "")'
    return (f'case(match({RESOURCE_OR_EMPTY}, "/objects/."), "objects", '
            f'match(replace({RESOURCE_OR_EMPTY}, "^//[^/]+/", ""), "^(?:[^/]+/[^/]+/)*[^/]+/[^/]+/?$"), '
            f'lower(replace({bare}, "^(?:[^/]+/[^/]+/)*([^/]+)/[^/]+/?$", "\\1")), true(), null())')


def _object() -> str:
    return (f'if(match({RESOURCE_OR_EMPTY}, "/objects/."), replace({RESOURCE}, "^.*?/objects/", ""), '
            f'replace({RESOURCE}, "^.*/([^/]+)/?$", "\\1"))')


def _object_category() -> str:
    prescribed = ", ".join(f'{_collection()}=="{collection}", "{category}"'
                           for collection, category in PRESCRIBED_CATEGORIES)
    return (f'case(isnull({SERVICE}), null(), isnull({RESOURCE}), "unknown", {prescribed}, '
            f'match(coalesce({_collection()}, ""), "ies$"), replace({_collection()}, "ies$", "y"), '
            f'match(coalesce({_collection()}, ""), "(ss|x|ch|sh)es$"), replace({_collection()}, "es$", ""), '
            f'match(coalesce({_collection()}, ""), "[^s]s$"), replace({_collection()}, "s$", ""), '
            f'isnotnull({_collection()}), {_collection()}, true(), "unknown")')


def _principal_masked() -> str:
    return (f'if(isnull({SERVICE}), null(), if(len({PRINCIPAL_OR_EMPTY})==0 OR '
            f'match({PRINCIPAL_OR_EMPTY}, "\\.\\.\\.") OR match({PRINCIPAL_OR_EMPTY}, {SERVICE_AGENT}), '
            f'"true", "false"))')


# The app's own fields, on every sourcetype (no name the Google Cloud add-on defines).
OWN_EVALS: Dict[str, str] = {
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
}

# CIM Change fields, only on the sourcetype where the add-on maps none (docs/knowledge.md), and
# gcp_cim_change, the mark eventtype gcp_change (tag change) selects on.
CIM_EVALS: Dict[str, str] = {
    "gcp_cim_change": _is_change(),
    "action": _action(),
    "change_type": f'replace({SERVICE}, "\\.googleapis\\.com$", "")',
    "command": METHOD,
    "dest": SERVICE,
    "dvc": SERVICE,
    "object": _object(),
    "object_category": _object_category(),
    "object_path": RESOURCE,
    "src": _caller_ip(),
    "status": _status(),
    "user": _user(),
    "vendor_account": f"if(isnull({SERVICE}), null(), {_project()})",
    "vendor_product": 'if(isnull(' + SERVICE + '), null(), "Google Cloud Platform")',
}

LOOKUPS: List[str] = [
    "LOOKUP-gcp_org_constraint = gcp_org_policy_constraints constraint AS org_constraint OUTPUTNEW "
    "description AS org_constraint_description category AS org_constraint_category "
    "severity AS org_constraint_severity",
    "LOOKUP-gcp_caller_egress = egress_networks cidr AS caller_ip OUTPUTNEW kind AS caller_egress_kind "
    "site AS caller_egress_site",
]


def settings(sourcetype: str) -> List[str]:
    """Search-time settings of one stanza: the app's own fields everywhere, CIM fields only on
    the sourcetype the add-on leaves without them. No index-time setting: the app runs on search
    heads (app.manifest), and on the add-on's renamed sourcetypes none would ever apply."""
    evals = {**OWN_EVALS, **(CIM_EVALS if sourcetype in CIM_SOURCETYPES else {})}
    return ["KV_MODE = json", *(f"EVAL-{name} = {expression}" for name, expression in evals.items()), *LOOKUPS]


# Parsing-tier settings: not part of the app (docs/knowledge.md, "Parsing tier"). An admin puts
# them in local/props.conf where the data is parsed, when the input does not set them already.
PARSING_SETTINGS: List[str] = [
    "SHOULD_LINEMERGE = false",
    "TRUNCATE = 1048576",
    'TIME_PREFIX = "timestamp"\\s*:\\s*"(?=[^"]{10,40}"(?!(?:[^"]++|"(?!timestamp"\\s*:))*+"timestamp"\\s*:))',
    "MAX_TIMESTAMP_LOOKAHEAD = 40",
    "TIME_FORMAT = %Y-%m-%dT%H:%M:%S.%9N%Z",
    "TZ = UTC",
]


def parsing_tier(sourcetype: str = INPUT_SOURCETYPE) -> str:
    """The parsing-tier stanza docs/knowledge.md shows (for a HEC or file input's sourcetype)."""
    return f"[{sourcetype}]\n" + "".join(f"{line}\n" for line in PARSING_SETTINGS)


HEADER = f"""\
# Generated by devtools/gen_props.py from one template: edit it there, then run
# `python -m devtools.gen_props` (a unit test fails while this block is out of step).
# Search-time knowledge only (the app installs on search heads; parsing-tier settings are in
# docs/knowledge.md). The Splunk Add-on for Google Cloud Platform renames audit entries to its
# google:gcp:pubsub:audit:* sourcetypes and maps them to CIM itself: on those the app defines only
# its own fields, never one the add-on defines; CIM Change fields only on google:gcp:pubsub:message.
# Cloud Audit Logs LogEntry, bare (Dataflow -> HEC) or wrapped by the Pub/Sub input as
# {{"publish_time", "data": {{LogEntry}}, "attributes"}}. Every EVAL coalesces the data.-prefixed
# and the bare JSON path; EVALs run in parallel, so none reads another's output.
# KV_MODE = json extracts only the first limits.conf [spath] extraction_cutoff bytes (5000): keys
# after a large protoPayload.request are lost. Each path then falls back to spath(_raw, "<path>"),
# which reads the whole event, but only when the extracted field is missing and the event may have
# been cut ({MAYBE_CUT}),
# so a normal entry never runs spath().
"""


def block() -> str:
    """The text from ``# --- gcp audit ---`` to ``# --- end gcp audit ---`` inclusive."""
    stanzas = "\n".join(f"[{sourcetype}]\n" + "".join(f"{line}\n" for line in settings(sourcetype))
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
    if "--parsing" in argv:
        print(parsing_tier(), end="")
        return 0
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
