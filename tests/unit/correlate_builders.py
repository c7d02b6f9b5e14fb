"""Builders of input rows for the correlatepolicydenied tests (GCP audit entries and evidence).

Each builder returns a row as Splunk would hand it over: string values, ``tag`` as
newline-joined multivalue text, ``_raw`` holding the original event where there is one.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from guardrail.correlate.engine import Correlator
from guardrail.correlate.model import Released
from guardrail.correlate.options import Options

T0 = 1_790_000_000.0  # a fixed epoch (2026-09-21) so tests never read the clock
GCLOUD_UA = ("google-cloud-sdk gcloud/480.0.0 command/gcloud.compute.instances.create "
             "invocation-id/{inv} environment/None environment-version/None client-os/LINUX "
             "client-os-ver/6.1.0 client-pltf-arch/x86_64 interactive/True from-script/False "
             "python/3.11.8 term/xterm-256color (Linux 6.1.0)")

Row = Dict[str, str]


def gcloud_agent(invocation: str = "0f4b2c3d-1111-4222-8333-944455556666") -> str:
    return GCLOUD_UA.format(inv=invocation)


def log_entry(
    t: float,
    *,
    ip: str = "203.0.113.10",
    agent: str = "",
    principal: Optional[str] = "",
    log: str = "policy",
    service: str = "compute.googleapis.com",
    method: str = "v1.compute.instances.insert",
    project: str = "ml-sandbox",
    resource: str = "projects/ml-sandbox/zones/us-central1-a/instances/nb-1",
    code: int = 7,
    constraint: str = "constraints/compute.vmExternalIpAccess",
    insert_id: str = "abc123",
) -> Dict[str, Any]:
    """A Cloud Audit Logs LogEntry; ``principal=None`` drops authenticationInfo entirely."""
    payload: Dict[str, Any] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "serviceName": service,
        "methodName": method,
        "resourceName": resource,
        "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": (agent + ",gzip(gfe)") if agent else ""},
        "status": {"code": code, "message": "denied",
                   "details": [{"@type": "type.googleapis.com/google.rpc.PreconditionFailure",
                                "violations": [{"type": constraint, "subject": f"orgpolicy:projects/{project}"}]}]},
    }
    payload["authenticationInfo"] = {} if principal is None else {"principalEmail": principal}
    return {
        "insertId": insert_id,
        "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2F{log}",
        "protoPayload": payload,
        "resource": {"type": "gce_instance", "labels": {"project_id": project}},
        "severity": "ERROR",
        "timestamp": "2026-09-21T00:00:00Z",
    }


def gcp_row(t: float, wrapped: bool = True, sourcetype: str = "google:gcp:pubsub:message", **kw: Any) -> Row:
    entry = log_entry(t, **kw)
    wrapper = {"publish_time": t, "data": entry, "attributes": {"logging.googleapis.com/timestamp": "x"}}
    raw = wrapper if wrapped else entry
    return {"_time": f"{t:.3f}", "_raw": json.dumps(raw), "sourcetype": sourcetype, "host": "hf-1"}


def dhcp(t: float, ip: str, host: str, duration: float = 86400, mac: str = "00:11:22:33:44:55") -> Row:
    return {"_time": f"{t:.3f}", "tag": "network\nsession\ndhcp", "sourcetype": "isc:dhcpd", "dest_ip": ip,
            "dest_nt_host": host, "dest_mac": mac, "lease_duration": str(duration)}


def dhcp_end(t: float, ip: str, host: str = "", how: str = "tag") -> Row:
    """A lease's end: a CIM ``tag=end`` row, or a ``signature`` saying so (``Release``)."""
    row = {"_time": f"{t:.3f}", "tag": "network\nsession\ndhcp" + ("\nend" if how == "tag" else ""),
           "sourcetype": "isc:dhcpd", "dest_ip": ip}
    if host:
        row["dest_nt_host"] = host
    if how != "tag":
        row["signature"] = how
    return row


def vpn(t: float, public: str, assigned: str, user: str, host: str = "", duration: float = 28800) -> Row:
    return {"_time": f"{t:.3f}", "tag": "network\nsession\nvpn", "sourcetype": "cisco:asa", "src_ip": public,
            "dest_ip": assigned, "user": user, "dest_nt_host": host, "duration": str(duration)}


def proxy(t: float, user: str, src: str, dest: str, agent: str = "") -> Row:
    return {"_time": f"{t:.3f}", "tag": "web\nproxy", "sourcetype": "zscaler:web", "src": src, "user": user,
            "dest": dest, "url": f"https://{dest}/compute/v1/projects/x", "http_user_agent": agent}


def nat(t: float, internal: str, public: str, user: str = "") -> Row:
    row = {"_time": f"{t:.3f}", "tag": "network\ncommunicate", "sourcetype": "pan:traffic", "src_ip": internal,
           "src_translated_ip": public, "dest_ip": "142.250.1.95", "dest_port": "443"}
    if user:
        row["user"] = user
    return row


def logon(t: float, user: str, dest: str, src: str = "") -> Row:
    return {"_time": f"{t:.3f}", "tag": "authentication", "sourcetype": "XmlWinEventLog", "user": user,
            "dest": dest, "src": src, "app": "win:local", "action": "success"}


def signin(t: float, user: str, src: str, agent: str = "Mozilla/5.0") -> Row:
    return {"_time": f"{t:.3f}", "tag": "authentication", "sourcetype": "OktaIM2:log", "user": user,
            "dest": "okta", "src": src, "app": "okta", "action": "success", "http_user_agent": agent}


def fdr(t: float, kind: str, host: str, user: str = "", aip: str = "", local: str = "", domain: str = "") -> Row:
    row = {"_time": f"{t:.3f}", "event_simpleName": kind, "sourcetype": "crowdstrike:events:sensor",
           "ComputerName": host, "aip": aip, "LocalAddressIP4": local, "DomainName": domain}
    if user:
        row["UserName"] = user
    return row


def newest_first(rows: Iterable[Row]) -> List[Row]:
    """Rows as Splunk hands them: descending _time (stable for ties)."""
    return sorted(rows, key=lambda r: -float(r["_time"]))


def as_table(rows: Sequence[Row]) -> Tuple[List[str], List[List[str]]]:
    """CSV header + value lists of rows (union of fields, ``__mv_`` columns like splunkd sends)."""
    header: List[str] = []
    for row in rows:
        for name in row:
            if name not in header:
                header.append(name)
    columns = []
    for name in header:
        columns += [name, "__mv_" + name]
    table = []
    for row in rows:
        values = []
        for name in header:
            value = row.get(name, "")
            parts = value.split("\n") if name == "tag" else [value]
            values += [value, ("$" + "$;$".join(parts) + "$") if len(parts) > 1 else ""]
        table.append(values)
    return columns, table


def run(rows: List[Row], chunk: int, path: str = "rows", **options: Any) -> Tuple[List[Released], Correlator]:
    """``rows`` through a new engine in chunks of ``chunk``, by the fast path (``feed_rows``, as the
    command reads chunks) or record by record (``feed_records``): what it released, and the engine."""
    engine = Correlator(Options(**options))
    out: List[Released] = []
    for i in range(0, len(rows), chunk):
        part = rows[i:i + chunk]
        if path == "rows":
            header, table = as_table(part)
            out += engine.feed_rows(header, table)
        else:
            out += engine.feed_records(part)
    out += engine.finish()
    return out, engine
