"""The CIM data models the app's knowledge touches, written from Splunk's CIM reference.

Change: <https://docs.splunk.com/Documentation/CIM/latest/User/Change> (read at 4.17.0, 4.20.2,
5.0.0 and 6.0.0). Its root dataset All_Changes is constrained by ``tag=change``; the child datasets
by ``audit`` (Auditing_Changes), ``endpoint``, ``network``, ``account`` (Account_Management) and
``instance``. ``action`` has the prescribed values below ("the action attempted on the resource,
regardless of success or failure"), ``status`` success / failure. ``object_category`` prescribes
directory, file, group, registry, user; the reference allows other values ("Other valid values
exist, but Splunk is not relying on them").

Authentication: <https://docs.splunk.com/Documentation/CIM/latest/User/Authentication>, constrained
by ``tag=authentication`` (children: default, cleartext, insecure, privileged). No audit entry is a
sign-in, so the app puts nothing there; the field list is what a stray ``authentication`` tag would
pull in.
"""

from __future__ import annotations

from typing import Dict, FrozenSet

CHANGE_TAGS: FrozenSet[str] = frozenset({"change"})
CHANGE_CHILD_TAGS: FrozenSet[str] = frozenset({"audit", "endpoint", "network", "account", "instance"})
CHANGE_ACTIONS: FrozenSet[str] = frozenset({
    "acl_modified", "cleared", "created", "deleted", "modified", "read", "stopped", "started", "restarted",
    "updated",  # prescribed by the older Change Analysis model, still accepted
})
CHANGE_STATUS: FrozenSet[str] = frozenset({"success", "failure"})
CHANGE_OBJECT_CATEGORIES: FrozenSet[str] = frozenset({"directory", "file", "group", "registry", "user"})

# All_Changes fields: name -> what CIM says it holds (abridged). Fields of the child datasets
# (e.g. Account_Management's src_nt_domain) are left out: the app maps only the root dataset.
CHANGE: Dict[str, str] = {
    "action": "the action attempted on the resource, regardless of success or failure (prescribed)",
    "change_type": "the type of change, such as filesystem or AAA",
    "command": "the command that initiated the change",
    "dest": "the resource where the change occurred",
    "dest_ip_range": "the destination IP range of a firewall rule change",
    "dest_port_range": "the destination port range of a firewall rule change",
    "direction": "the direction of a firewall rule change",
    "dvc": "the device that reported the change",
    "image_id": "the image of an instance change",
    "object": "name of the affected object on the resource",
    "object_attrs": "the attributes that changed on the object",
    "object_category": "generic name for the class of the updated object (prescribed, others allowed)",
    "object_id": "the unique updated object",
    "object_path": "the path of the modified object",
    "result": "the vendor-specific result of a change, or clarification of an action status",
    "result_id": "a result identifier",
    "src": "the resource where the change originated",
    "src_ip_range": "the source IP range of a firewall rule change",
    "src_port_range": "the source port range of a firewall rule change",
    "src_user": "for account changes, the user or entity performing the change",
    "src_user_name": "name of the user performing the change",
    "src_user_type": "type of the user performing the change",
    "status": "success or failure of the change (prescribed)",
    "user": "the user or entity performing the change (for account changes: the account changed)",
    "user_agent": "the user agent of the change",
    "user_name": "name of the user",
    "user_type": "type of the user",
    "vendor_account": "the account that manages the changed resource",
    "vendor_product": "the vendor and product that reported the change",
    "vendor_region": "the region of the change",
}

AUTHENTICATION_TAGS: FrozenSet[str] = frozenset({"authentication", "default", "cleartext", "insecure", "privileged"})
AUTHENTICATION: Dict[str, str] = {
    "action": "success, failure, pending, error",
    "app": "the application involved",
    "authentication_method": "the method used",
    "authentication_service": "the service used",
    "dest": "the target of the authentication",
    "duration": "the time the authentication took",
    "reason": "the reason for failure",
    "response_time": "the time to respond",
    "signature": "a human-readable signature",
    "signature_id": "the signature identifier",
    "src": "the source of the authentication",
    "src_user": "the user who initiated a privilege escalation",
    "user": "the user involved",
    "user_id": "the unique identifier of the user",
    "user_role": "the role of the user",
    "vendor_account": "the account of the cloud provider",
}
