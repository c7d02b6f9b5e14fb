"""Rows exactly as Splunk hands them to the command: audit entries in both shapes, CIM evidence, FDR."""

from __future__ import annotations

import json
import uuid
from typing import Dict, Optional, Tuple

from .world import ACTIVITY, CORP, DENIALS, DOMAIN, ZONES, Row, Scenario, Truth, World, iso, splunk_time

# --------------------------------------------------------------------------------------------------
# row builders


class Builder:
    """Collects rows and truth for one scenario."""

    def __init__(self, world: World, name: str, description: str) -> None:
        self.w = world
        self.rng = world.rng
        self.scenario = Scenario(name, description)

    def add(self, row: Row) -> None:
        self.scenario.rows.append(row)

    # ---- GCP audit log entries -----------------------------------------------------------------
    def _log_entry(self, t: float, project: str, service: str, method: str, resource: str,
                   caller_ip: str, ua: str, auth: Dict[str, object], log: str,
                   status: Optional[Dict[str, object]], extra: Dict[str, object]) -> Tuple[str, Dict[str, object]]:
        iid = self.w.insert_id()
        proto: Dict[str, object] = {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": auth,
            "requestMetadata": {"callerIp": caller_ip, "callerSuppliedUserAgent": ua,
                                "requestAttributes": {"time": iso(t), "auth": {}},
                                "destinationAttributes": {}},
            "serviceName": service,
            "methodName": method,
            "resourceName": resource,
        }
        if status is not None:
            proto["status"] = status
        proto.update(extra)
        entry: Dict[str, object] = {
            "protoPayload": proto,
            "insertId": iid,
            "resource": {"type": "audited_resource" if log == "policy" else "gce_instance",
                         "labels": {"service": service, "method": method, "project_id": project}},
            "timestamp": iso(t),
            "severity": "ERROR" if status else "NOTICE",
            "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2F{log}",
            "receiveTimestamp": iso(t + 0.4 + self.rng.random()),
        }
        return iid, entry

    def _gcp_row(self, t: float, entry: Dict[str, object], shape: Optional[str] = None) -> Row:
        """Wrap a LogEntry the way one of the two ingestion paths delivers it."""
        shape = shape or self.rng.choice(["bare", "wrapped", "bare+fields", "wrapped+fields",
                                          "wrapped+barefields"])
        row: Row = {"_time": splunk_time(t), "host": "gcp", "index": "gcp"}
        if shape.startswith("wrapped"):
            raw = {"publish_time": "%.3f" % (t + 1.5), "data": entry,
                   "attributes": {"logging.googleapis.com/timestamp": entry["timestamp"]}}
            row["_raw"] = json.dumps(raw)
            log = str(entry["logName"])
            row["sourcetype"] = ("google:gcp:pubsub:audit:policy_denied" if log.endswith("policy")
                                 else "google:gcp:pubsub:audit:" + log.rsplit("%2F", 1)[1])
            row["source"] = "projects/corp-logging/subscriptions/audit-to-splunk"
        else:
            row["_raw"] = json.dumps(entry)
            row["sourcetype"] = "google:gcp:pubsub:message"
            row["source"] = "http:gcp-dataflow"
        if shape.endswith("fields"):
            prefix = "data." if shape == "wrapped+fields" else ""
            proto = entry["protoPayload"]
            assert isinstance(proto, dict)
            meta = proto["requestMetadata"]
            auth = proto["authenticationInfo"]
            assert isinstance(meta, dict) and isinstance(auth, dict)
            fields = {
                "logName": entry["logName"], "insertId": entry["insertId"],
                "protoPayload.serviceName": proto["serviceName"],
                "protoPayload.methodName": proto["methodName"],
                "protoPayload.resourceName": proto["resourceName"],
                "protoPayload.requestMetadata.callerIp": meta["callerIp"],
                "protoPayload.requestMetadata.callerSuppliedUserAgent": meta["callerSuppliedUserAgent"],
                "resource.labels.project_id": entry["resource"]["labels"]["project_id"],  # type: ignore[index]
            }
            if auth.get("principalEmail"):
                fields["protoPayload.authenticationInfo.principalEmail"] = auth["principalEmail"]
            if isinstance(proto.get("status"), dict):
                fields["protoPayload.status.code"] = str(proto["status"]["code"])
            for key, value in fields.items():
                row[prefix + key] = str(value)
        return row

    def masked_auth(self, user: Optional[str]) -> Dict[str, object]:
        form = self.rng.randrange(4)
        if form == 0 or user is None:
            return {}
        if form == 1:
            return {"principalEmail": ""}
        if form == 2:
            return {"principalSubject": ""}
        return {"principalEmail": f"{user[0]}...@{CORP}"}

    def denied(self, t: float, truth: Optional[str], note: str, caller_ip: str, ua: str,
               project: Optional[str] = None, denial: Optional[int] = None, name: Optional[str] = None,
               principal: Optional[str] = None, auth: Optional[Dict[str, object]] = None,
               resource: Optional[str] = None, shape: Optional[str] = None,
               via_activity: Optional[bool] = None, host: Optional[str] = None) -> str:
        """A policy-denied LogEntry; ``truth`` is the person (plain key) or None for cannot tell."""
        project = project or self.w.project()
        service, method, res_t, constraint, kind = DENIALS[self.rng.randrange(len(DENIALS)) if denial is None
                                                          else denial]
        zone = self.rng.choice(ZONES)
        name = name or f"nb-{self.w.invocation_id()[:6]}"
        resource = resource or res_t.format(p=project, zone=zone, region=zone[:-2], name=name)
        if auth is None:
            auth = ({"principalEmail": principal} if principal else self.masked_auth(truth))
        if via_activity is None:
            via_activity = kind == "org" and self.rng.random() < 0.2
        extra: Dict[str, object] = {}
        if kind == "org":
            violation = {"constraint": constraint, "errorMessage": "{} is not allowed by the organization "
                         "policy constraint {}".format(service if "restrictService" in constraint else method,
                                                   constraint),
                         "policyType": "LIST_CONSTRAINT",
                         "checkedValue": service if "restrictService" in constraint else resource}
            status = {"code": 7, "message": "Request is prohibited by organization's policy. "
                      f"Constraint {constraint} violated for projects/{project}."}
            extra["policyViolationInfo"] = {"orgPolicyViolationInfo": {
                "resourceType": service.split(".")[0] + ".googleapis.com/Instance",
                "violationInfo": [violation]}}
            extra["metadata"] = {"@type": "type.googleapis.com/google.cloud.audit.OrgPolicyViolationInfo",
                                 "violationInfo": [violation]}
            log = "policy"
            if via_activity:
                # An Admin Activity entry failing FAILED_PRECONDITION with the constraint in details.
                log = "activity"
                status = {"code": 9, "message": f"Constraint {constraint} violated for project {project}.",
                          "details": [{"@type": "type.googleapis.com/google.rpc.PreconditionFailure",
                                       "violations": [{"type": constraint, "subject": "projects/" + project,
                                                       "description": violation["errorMessage"]}]}]}
                extra.pop("metadata")
        else:
            uid = f"{self.w.invocation_id()[:22].upper()}"
            status = {"code": 7, "message": "Request is prohibited by organization's policy. "
                      "vpcServiceControlsUniqueIdentifier: " + uid,
                      "details": [{"@type": "type.googleapis.com/google.rpc.PreconditionFailure",
                                   "violations": [{"type": "VPC_SERVICE_CONTROLS", "description": uid}]}]}
            extra["metadata"] = {
                "@type": "type.googleapis.com/google.cloud.audit.VpcServiceControlAuditMetadata",
                "violationReason": "NO_MATCHING_ACCESS_LEVEL",
                "securityPolicyInfo": {"organizationId": "584932101377",
                                       "servicePerimeterName": "accessPolicies/771046/servicePerimeters/data"},
                "resourceNames": [f"projects/{self.w.project_numbers[project]}"],
                "ingressViolations": [{"targetResource": f"projects/{self.w.project_numbers[project]}",
                                       "servicePerimeter": "accessPolicies/771046/servicePerimeters/data"}],
            }
            log = "policy"
        iid, entry = self._log_entry(t, project, service, method, resource, caller_ip, ua, auth, log,
                                     status, extra)
        self.add(self._gcp_row(t, entry, shape))
        self.scenario.truth[iid] = Truth(iid, self.scenario.name, truth, t, note, not_masked=bool(principal),
                                         host=host)
        return iid

    def gcp_activity(self, t: float, principal: str, caller_ip: str, ua: str, project: Optional[str] = None,
                     service: Optional[str] = None, method: Optional[str] = None,
                     resource: Optional[str] = None, log: Optional[str] = None) -> None:
        """An ordinary (allowed) audit entry with a visible principal: evidence, never output."""
        project = project or self.w.project()
        svc, meth, res_t, lg = self.rng.choice(ACTIVITY)
        service, method, log = service or svc, method or meth, log or lg
        zone = self.rng.choice(ZONES)
        resource = resource or res_t.format(p=project, zone=zone, name=f"fw-{self.rng.randrange(100)}")
        _, entry = self._log_entry(t, project, service, method, resource, caller_ip, ua,
                                   {"principalEmail": principal}, log, None, {})
        self.add(self._gcp_row(t, entry))

    # ---- CIM evidence ----------------------------------------------------------------------------
    def dhcp(self, t: float, ip: str, host: str, mac: str, lease: int) -> None:
        # Windows DHCP often logs the client's FQDN in lower case while logons name the short host.
        host = self.rng.choice([host, host.lower() + ".corp." + CORP])
        self.add({"_time": splunk_time(t), "sourcetype": "MSAD:NT6:DHCP", "host": "dc01",
                  "tag": ["network", "session", "dhcp"], "dest_ip": ip, "dest_nt_host": host,
                  "dest_mac": mac, "lease_duration": str(lease), "signature": "Assign",
                  "_raw": "10,{},Assign,{},{},{}".format(iso(t), ip, host, mac.replace(":", ""))})

    def dhcp_release(self, t: float, ip: str, host: str, mac: str) -> None:
        """The client gave the address back (Windows DHCP event 12, ``Release``)."""
        self.add({"_time": splunk_time(t), "sourcetype": "MSAD:NT6:DHCP", "host": "dc01",
                  "tag": ["network", "session", "dhcp", "end"], "dest_ip": ip, "dest_nt_host": host,
                  "dest_mac": mac, "signature": "Release",
                  "_raw": "12,{},Release,{},{},{}".format(iso(t), ip, host, mac.replace(":", ""))})

    def vpn(self, t: float, src_ip: str, assigned: str, user: str, host: str, duration: int) -> None:
        spelled = self.rng.choice([user, user + "@" + CORP, DOMAIN + "\\" + user, (user + "@" + CORP).upper()])
        self.add({"_time": splunk_time(t), "sourcetype": "pan:globalprotect", "host": "gp-portal",
                  "tag": ["network", "session", "vpn"], "src_ip": src_ip, "dest_ip": assigned,
                  "user": spelled, "dest_nt_host": host, "duration": str(duration), "action": "success",
                  "_raw": f"GLOBALPROTECT,{iso(t)},gateway-connected,{spelled},{src_ip},{assigned}"})

    def vpn_mark(self, t: float, mark: str, src_ip: str, assigned: str, user: str, host: str,
                 duration: Optional[int] = None) -> None:
        """A CIM Network_Sessions row with ``tag=start`` or ``tag=end`` (an end may carry the duration)."""
        spelled = self.rng.choice([user, user + "@" + CORP, DOMAIN + "\\" + user])
        row: Row = {"_time": splunk_time(t), "sourcetype": "cisco:asa", "host": "vpn-gw",
                    "tag": ["network", "session", "vpn", mark], "src_ip": src_ip, "dest_ip": assigned,
                    "user": spelled, "dest_nt_host": host, "action": "success",
                    "_raw": f"%ASA-4-7220{'22' if mark == 'start' else '23'}: Group <vpn> User <{spelled}> "
                            f"IP <{src_ip}> {'started' if mark == 'start' else 'terminated'}"}
        if duration is not None:
            row["duration"] = str(duration)
        self.add(row)

    def proxy(self, t: float, src: str, user: Optional[str], dest: str, ua: Optional[str], path: str = "/",
              status: int = 200) -> None:
        key = self.rng.choice(["src", "src_ip"])
        row: Row = {"_time": splunk_time(t), "sourcetype": "zscalernss-web", "host": "proxy01",
                    "tag": ["web", "proxy"], key: src, "dest": dest, "url": f"https://{dest}{path}",
                    "http_method": "POST" if status == 403 else "GET",
                    "status": str(status), "action": "allowed",
                    "_raw": f"{iso(t)} {src} {user or '-'} https://{dest}{path} {status}"}
        if user:
            row["user"] = self.rng.choice([user, DOMAIN + "\\" + user, user + "@" + CORP])
        if ua is not None:  # some proxies do not log the agent
            row["http_user_agent"] = ua
        self.add(row)

    def nat(self, t: float, src_ip: str, translated: str, dest_ip: str, port: int = 443) -> None:
        self.add({"_time": splunk_time(t), "sourcetype": "pan:traffic", "host": "fw-edge01",
                  "tag": ["network", "communicate"], "src_ip": src_ip, "src_translated_ip": translated,
                  "src_port": str(self.rng.randrange(49152, 65535)), "dest_ip": dest_ip,
                  "dest_port": str(port), "transport": "tcp", "action": "allowed",
                  "_raw": f"TRAFFIC,end,{iso(t)},{src_ip},{translated},{dest_ip},{port}"})

    def logon(self, t: float, user: str, host: str, src: str = "127.0.0.1", logon_type: int = 2,
              action: str = "success", domain: str = DOMAIN) -> None:
        """A Windows logon of ``user`` on device ``host`` (type 2 = at the console)."""
        code = "4624" if action == "success" else "4625"
        self.add({"_time": splunk_time(t), "sourcetype": "XmlWinEventLog", "host": host,
                  "source": "XmlWinEventLog:Security",
                  "tag": ["authentication"], "user": domain + "\\" + user, "dest": host, "src": src,
                  "app": "win:local" if logon_type in (2, 7, 11) else "win:remote", "action": action,
                  "signature_id": code, "Logon_Type": str(logon_type), "EventCode": code,
                  "_raw": f"<Event><System><EventID>{code}</EventID><Computer>{host}</Computer></System>"
                          f"<EventData><Data Name='TargetUserName'>{user}</Data><Data Name='LogonType'>"
                          f"{logon_type}</Data></EventData></Event>"})

    def ssh_logon(self, t: float, user: str, host: str, src: str) -> None:
        """An SSH login to a Linux host (``linux_secure``: an authentication with no logon type)."""
        self.add({"_time": splunk_time(t), "sourcetype": "linux_secure", "host": host, "tag": ["authentication"],
                  "user": user, "dest": host, "src": src, "app": "sshd", "action": "success",
                  "_raw": f"{iso(t)} {host} sshd[4242]: Accepted publickey for {user} from {src} port 52144 ssh2"})

    def idp(self, t: float, user: str, src: str, ua: str) -> None:
        """An identity-provider sign-in from public address ``src`` (browser agent)."""
        app, st = self.rng.choice([("okta", "OktaIM2:log"), ("Azure AD", "azure:aad:signin"),
                                   ("Google Workspace", "gws:reports:login")])
        self.add({"_time": splunk_time(t), "sourcetype": st, "host": "idp",
                  "tag": ["authentication", "default"], "user": user + "@" + CORP, "src": src,
                  "dest": app, "app": app, "action": "success", "http_user_agent": ua,
                  "_raw": json.dumps({"eventType": "user.session.start", "actor": user + "@" + CORP,
                                      "client": {"ipAddress": src, "userAgent": ua}})})

    # ---- CrowdStrike FDR -------------------------------------------------------------------------
    def edr(self, t: float, name: str, aip: str, local_ip: str, computer: str, user: Optional[str] = None,
            domain: Optional[str] = None, remote: Optional[str] = None, naming: Optional[str] = None,
            logon_type: Optional[int] = None) -> None:
        """An FDR event; ``naming`` is the field naming the device (``ComputerName``, ``aid_computer_name``
        as the aid_master lookup adds it, or ``aid`` for the sensor id alone), random when None;
        ``logon_type`` the ``LogonType`` of a ``UserLogon``."""
        row: Row = {"_time": splunk_time(t), "sourcetype": "crowdstrike:events:sensor", "host": "fdr",
                    "event_simpleName": name, "aip": aip, "LocalAddressIP4": local_ip,
                    "aid": uuid.uuid5(uuid.NAMESPACE_DNS, computer).hex,
                    "timestamp": str(int(t * 1000)), "event_platform": "Win"}
        naming = naming or self.rng.choice(["ComputerName", "aid_computer_name"])
        if naming != "aid":
            row[naming] = computer
        if user:
            row["UserName"] = self.rng.choice([user, DOMAIN + "\\" + user])
        if domain:
            row["DomainName"] = domain
        if remote:
            row["RemoteAddressIP4"] = remote
        if logon_type is not None:
            row["LogonType"] = str(logon_type)
        row["_raw"] = json.dumps({k: v for k, v in row.items() if not k.startswith("_")})
        self.add(row)
