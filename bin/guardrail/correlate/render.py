"""Output rows: the input row as it came, plus the contract's output fields.

splunklib takes a chunk's columns from its first record, so every row written here carries
every output field, and the writer computes one header for the whole chunk (rows held from
earlier chunks may have had other columns). Multivalue output fields travel as Splunk expects:
newline-joined text in the field, ``$a$;$b$`` in its ``__mv_`` column.

``identified_user`` is spelled as the best evidence spelled it (``CORP\\avery.lin`` on one row,
``avery.lin@example-corp.com`` on the next); ``identified_user_key`` is the same person as one
comparison key (:func:`guardrail.correlate.evidence.principal_key`), for searches that group or throttle by
person.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .evidence import principal_key
from .model import (
    MULTIVALUE_OUTPUT_FIELDS,
    OUTPUT_FIELDS,
    STATUS_IDENTIFIED,
    STATUS_NOT_MASKED,
    AuditEntry,
    Released,
    Verdict,
)
from .splunkcsv import MV_PREFIX, encode_mv

FieldValue = Union[str, List[str]]
_OUTPUT_SET = frozenset(OUTPUT_FIELDS) | frozenset(MV_PREFIX + f for f in OUTPUT_FIELDS)
# Statuses whose identified_user names someone (the others leave it and its key empty).
_NAMED = frozenset({STATUS_IDENTIFIED, STATUS_NOT_MASKED})


#: What cannot travel in a reply: a NUL, and a lone surrogate (a ``\ud800`` escape in ``_raw`` JSON
#: decodes to one; UTF-8 has no encoding for it).
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")


def _sendable(value: FieldValue) -> FieldValue:
    if isinstance(value, list):
        return [_UNSENDABLE.sub("\ufffd", v) if _UNSENDABLE.search(v) else v for v in value]
    return _UNSENDABLE.sub("\ufffd", value) if _UNSENDABLE.search(value) else value


def output_fields(entry: Optional[AuditEntry], verdict: Optional[Verdict]) -> Dict[str, FieldValue]:
    """The output fields of one row (all empty for evidence passed through); text read from a
    ``_raw`` JSON escape that cannot travel in a reply (NUL, lone surrogates) becomes U+FFFD."""
    if verdict is None:
        return {name: ([] if name in MULTIVALUE_OUTPUT_FIELDS else "") for name in OUTPUT_FIELDS}
    return {name: _sendable(value) for name, value in _fields(entry, verdict).items()}


def _fields(e: Optional[AuditEntry], verdict: Verdict) -> Dict[str, FieldValue]:
    return {
        "match_status": verdict.status,
        "identified_user": verdict.user,
        "identified_user_key": principal_key(verdict.user) if verdict.status in _NAMED else "",
        "identified_host": verdict.host,
        "match_confidence": f"{verdict.confidence:.3f}",
        "candidate_users": list(verdict.candidates),
        "match_evidence": [text.replace("\n", " ") for text in verdict.evidence],
        "caller_ip": e.caller_ip if e else "",
        "caller_user_agent": e.user_agent if e else "",
        "gcp_project": e.project if e else "",
        "gcp_service": e.service if e else "",
        "gcp_method": e.method if e else "",
        "gcp_resource": e.resource if e else "",
        "gcp_principal": e.principal if e else "",
        "gcp_violation": e.violation if e else "",
    }


def to_record(released: Released) -> Dict[str, Any]:
    """A released row as a dict: input fields (output-field names replaced) plus output fields."""
    if released.record is not None:
        record = {k: v for k, v in released.record.items() if k not in _OUTPUT_SET}
    else:
        record = {}
        for k, v in zip(released.header, released.values):
            if k not in _OUTPUT_SET and k not in record:  # a name given twice keeps its first column
                record[k] = v
    record.update(output_fields(released.entry, released.verdict))
    return record


class ChunkTable:
    """Builds the CSV table (header + rows) of one output chunk from released rows."""

    def __init__(self, released: Sequence[Released]) -> None:
        columns: List[str] = []
        seen = set(_OUTPUT_SET)
        headers: Dict[int, Tuple[str, ...]] = {}
        for item in released:
            header = item.header if item.record is None else tuple(item.record.keys())
            if id(header) in headers:
                continue
            headers[id(header)] = header
            for name in header:
                if name not in seen:
                    seen.add(name)
                    columns.append(name)
        for name in OUTPUT_FIELDS:
            columns.append(name)
            columns.append(MV_PREFIX + name)
        self.header = columns
        self._released = released
        self._index = {name: i for i, name in enumerate(columns)}

    def rows(self) -> List[List[str]]:
        """Rows aligned to :attr:`header`."""
        index = self._index
        width = len(self.header)
        maps: Dict[Tuple[str, ...], List[Tuple[int, int]]] = {}
        out: List[List[str]] = []
        for item in self._released:
            row = [""] * width
            if item.record is None:
                header, values = item.header, item.values
            else:
                header = tuple(item.record.keys())
                values = [_flat(v) for v in item.record.values()]
            mapping = maps.get(header)
            if mapping is None:
                mapping = maps[header] = _first_columns(header, index)
            for src, dst in mapping:
                row[dst] = values[src]
            if item.verdict is not None:
                for name, value in output_fields(item.entry, item.verdict).items():
                    if isinstance(value, list):
                        row[index[name]], row[index[MV_PREFIX + name]] = encode_mv(value)
                    else:
                        row[index[name]] = value
            out.append(row)
        return out


def _first_columns(header: Tuple[str, ...], index: Dict[str, int]) -> List[Tuple[int, int]]:
    """(input position, output position) of each input column; a name given twice keeps its first."""
    seen = set(_OUTPUT_SET)
    mapping = []
    for i, name in enumerate(header):
        if name not in seen:
            seen.add(name)
            mapping.append((i, index[name]))
    return mapping


def _flat(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)
