"""Typed values passed between the correlation stages.

Rows of the stream become these small immutable values once, at the edge; every later stage
(index, scoring, output) reads only them. Evidence records are ``NamedTuple``s because one is
built for every evidence row of a million-row stream and they cost a fraction of a frozen
dataclass to create; the few per-event values are frozen dataclasses.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Optional, Sequence, Tuple

STATUS_IDENTIFIED = "identified"
STATUS_AMBIGUOUS = "ambiguous"
STATUS_UNIDENTIFIED = "unidentified"
STATUS_NOT_MASKED = "not_masked"

#: Output fields added to every denied event, in output order (names fixed by the contract).
OUTPUT_FIELDS: Tuple[str, ...] = (
    "match_status",
    "identified_user",
    "identified_user_key",
    "identified_host",
    "match_confidence",
    "candidate_users",
    "match_evidence",
    "caller_ip",
    "caller_user_agent",
    "gcp_project",
    "gcp_service",
    "gcp_method",
    "gcp_resource",
    "gcp_principal",
    "gcp_violation",
)
MULTIVALUE_OUTPUT_FIELDS = frozenset({"candidate_users", "match_evidence"})


def fmt_time(epoch: float) -> str:
    """ISO-8601 UTC text of an epoch time, as an analyst would type it into a time picker."""
    whole = int(epoch // 1)
    text = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(whole))
    frac = epoch - whole
    if frac >= 0.0005:
        text += f"{frac:.3f}"[1:]
    return text + "Z"


@dataclass(frozen=True)
class AuditEntry:
    """A normalised Cloud Audit Logs entry: a denied event, or another audit entry used as evidence."""

    time: float
    denied: bool
    masked: bool
    service_agent: bool
    principal: str
    caller_ip: str  # as normalised for output: canonical address, the GCP word, or the raw text
    ip_key: Optional[str]  # canonical address, None for private / gce-internal-ip / unparsable
    user_agent: str  # without the ",gzip(gfe)" suffix GFE appends
    invocation_id: str
    gcloud_command: str
    cloud_shell: bool
    project: str
    service: str
    method: str
    resource: str
    violation: str
    insert_id: str
    #: the caller address is a public one (``ip_key`` set and outside the internal ranges)
    public: bool = False

    @property
    def resource_leaf(self) -> str:
        """Last path segment of the resource name (a notebook and the VM it creates share it)."""
        return self.resource.rstrip("/").rsplit("/", 1)[-1]


class Lease(NamedTuple):
    """DHCP: ``ip`` leased to device ``host`` from ``start`` until ``end``."""

    start: float
    end: float
    ip: str
    host: str
    mac: str
    source: str


class Session(NamedTuple):
    """VPN: ``user`` on ``host`` connected from ``public_ip``, given ``assigned_ip``, start to end.

    ``mark`` says what the row itself knew: ``""`` a whole session (one row with its duration),
    ``"start"`` a CIM ``tag=start`` row (end unknown until its end row), ``"end"`` a ``tag=end`` row
    whose duration gives the start, ``"end-open"`` a ``tag=end`` row without one (the session began
    before it, how long before is unknown). :func:`guardrail.correlate.index.active_sessions` pairs them.
    """

    start: float
    end: float
    public_ip: str
    assigned_ip: str
    user: str
    host: str
    source: str
    mark: str = ""


class Logon(NamedTuple):
    """An interactive logon of ``user`` on device ``host`` (binds the device until the next logon).

    ``remote``: from another machine (Remote Desktop, an SSH login): such a session does not show
    that the device's earlier sessions were closed (a server holds several at once).
    """

    time: float
    user: str
    host: str
    source: str
    remote: bool = False


class SignIn(NamedTuple):
    """An identity-provider sign-in of ``user`` from public address ``ip``."""

    time: float
    user: str
    ip: str
    user_agent: str
    app: str
    source: str


class Nat(NamedTuple):
    """A NAT-translated connection: internal ``internal_ip`` left through public ``public_ip``."""

    time: float
    public_ip: str
    internal_ip: str
    user: str
    source: str


class Sighting(NamedTuple):
    """An EDR (CrowdStrike FDR) record: device, optional user, addresses and looked-up domain.

    ``host`` is the device name (``ComputerName``, or ``aid_computer_name`` from the ``aid_master``
    lookup); a record that carries only the sensor id keeps it in ``aid`` and ``host`` stays empty
    until another record of that sensor names the device.
    """

    time: float
    host: str
    user: str
    aip: str
    local_ip: str
    domain: str
    kind: str
    source: str
    aid: str = ""
    remote_ip: str = ""


class ProxyHit(NamedTuple):
    """A web proxy request by ``user`` / from ``src_ip`` to ``host`` with ``user_agent``."""

    time: float
    user: str
    src_ip: str
    host: str
    user_agent: str
    url: str
    source: str


@dataclass(frozen=True)
class Verdict:
    """What the command says about one denied event."""

    status: str
    user: str
    host: str
    confidence: float
    candidates: Tuple[str, ...]
    evidence: Tuple[str, ...]


class Released(NamedTuple):
    """A row leaving the command: the input row as it came, plus the verdict for denied events."""

    header: Tuple[str, ...]  # column names of ``values`` (empty for mapping input)
    values: Sequence[Any]  # the row's values, or () for mapping input
    record: Optional[Mapping[str, Any]]  # the input mapping (mapping input only)
    entry: Optional[AuditEntry]  # the normalised denied event (None for evidence / unreadable rows)
    verdict: Optional[Verdict]  # None for evidence rows passed through with keep_evidence=true
