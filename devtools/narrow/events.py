"""Generated rows as indexed events: what a search over them sees (the SPL evaluator's index).

An audit entry gets the search-time fields of the app's ``props.conf`` (``KV_MODE = json`` and
every ``EVAL-``), its ``eventtype`` and ``tag`` from ``eventtypes.conf`` / ``tags.conf``, and an
index; endpoint evidence keeps its fields and CIM tags (its own add-ons gave it those) and gets an
index. The Splunk Add-on for Google Cloud names audit sourcetypes by log (``...:admin_activity``);
rows named otherwise are read with that stanza (the five stanzas are identical).
"""

from __future__ import annotations

from typing import Iterable, List, Mapping, Optional, Sequence, Union

from devtools.evalspl import EvalError, Fields, apply_props, with_eventtypes

Value = Union[str, Sequence[str]]

AUDIT_SOURCETYPES = (
    "google:gcp:pubsub:message",
    "google:gcp:pubsub:audit:admin_activity",
    "google:gcp:pubsub:audit:data_access",
    "google:gcp:pubsub:audit:system_event",
    "google:gcp:pubsub:audit:policy_denied",
)
GCP_INDEX = "gcp"
EVIDENCE_INDEX = "main"


def index_event(row: Mapping[str, Value]) -> Optional[Fields]:
    """The event a search finds for one row; None for an audit entry whose ``_raw`` is not JSON
    (what ``spath()`` reads from a cut entry is not modelled)."""
    raw = row.get("_raw")
    if isinstance(raw, str) and "protoPayload" in raw:
        sourcetype = str(row.get("sourcetype") or AUDIT_SOURCETYPES[0])
        if sourcetype not in AUDIT_SOURCETYPES:
            sourcetype = "google:gcp:pubsub:audit:admin_activity"
        try:
            fields = apply_props(sourcetype, raw)
        except (EvalError, ValueError):
            return None
        fields.update({k: (v if isinstance(v, str) else list(v)) for k, v in row.items() if k != "sourcetype"})
        fields["sourcetype"] = sourcetype
        fields["index"] = GCP_INDEX
        return with_eventtypes(fields)
    event: Fields = {}
    for key, value in row.items():
        if key == "tag" and isinstance(value, str):
            event[key] = [t for t in value.split("\n") if t]
        elif value != "":
            event[key] = value if isinstance(value, str) else list(value)
    event["index"] = EVIDENCE_INDEX
    return event


def index_events(rows: Iterable[Mapping[str, Value]]) -> List[Fields]:
    """Indexed events of rows, in order, leaving out what :func:`index_event` cannot model."""
    return [e for e in (index_event(r) for r in rows) if e is not None]
