"""CSV lookups with the match type, max matches and case rules of their transforms.conf stanza."""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from devtools.conf import ROOT, ConfFile, Stanza, parse_conf

from .evaluate import cidrmatch
from .values import EvalError, Fields, Value

# Lookups


@dataclass
class Lookup:
    """A CSV lookup as its transforms.conf stanza defines it."""

    name: str
    rows: List[Dict[str, str]]
    match_types: Dict[str, str]
    max_matches: int
    case_sensitive: bool

    @classmethod
    def load(cls, name: str, root: Path = ROOT) -> Lookup:
        stanza = conf_stanza(root / "default" / "transforms.conf", name)
        filename = stanza.get("filename") or ""
        with open(root / "lookups" / filename, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        match_types: Dict[str, str] = {}
        for kind, field in re.findall(r"(\w+)\(([^)]+)\)", stanza.get("match_type") or ""):
            if kind.upper() not in {"CIDR", "WILDCARD", "EXACT"}:
                raise EvalError(f"{name}: unknown match_type {kind}")
            match_types[field.strip()] = kind.upper()
        case = (stanza.get("case_sensitive_match") or "true").strip().lower() in {"1", "true"}
        return cls(name, rows, match_types, int(stanza.get("max_matches") or 100), case)

    def _matches(self, column: str, pattern: str, value: str) -> bool:
        kind = self.match_types.get(column, "EXACT")
        if kind == "CIDR":
            # A plain address in a CIDR column is its own /32 or /128 network.
            return cidrmatch(pattern, value)
        if not self.case_sensitive:
            pattern, value = pattern.lower(), value.lower()
        if kind == "WILDCARD":
            regex = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern)
            return re.fullmatch(regex, value, re.S) is not None
        return pattern == value

    def match(self, inputs: Dict[str, Value]) -> List[Dict[str, str]]:
        """Rows matching every input (lookup column -> event value), file order, max_matches."""
        if any(v is None or isinstance(v, list) for v in inputs.values()):
            return []  # assumption: an event without a match field gets no lookup output
        hits = [row for row in self.rows
                if all(self._matches(col, row.get(col, ""), str(val)) for col, val in inputs.items())]
        return hits[: self.max_matches]

    def outputs(self, inputs: Dict[str, Value], columns: Sequence[str]) -> Dict[str, Value]:
        """Output columns of the matching rows; empty cells are dropped (assumption), so an
        output field only lines up with another when every matching row fills both."""
        rows = self.match(inputs)
        out: Dict[str, Value] = {}
        for column in columns:
            values = [row[column] for row in rows if row.get(column)]
            out[column] = None if not values else values[0] if len(values) == 1 else values
        return out


def conf_stanza(path: Path, name: str) -> Stanza:
    conf = _parsed(path, path.stat().st_mtime_ns if path.exists() else 0)
    stanza = conf.stanza(name)
    if stanza is None:
        raise EvalError(f"no [{name}] in {path.name}")
    return stanza


@functools.lru_cache(maxsize=16)
def _parsed(path: Path, mtime: int) -> ConfFile:
    """A .conf file, read again when it changes."""
    return parse_conf(path)


_LOOKUP_SPEC = re.compile(r"\s*(\S+)\s+(.*?)(?:\s+(OUTPUTNEW|OUTPUT)\s+(.*))?\s*$", re.S)


def _pairs(text: str) -> List[Tuple[str, str]]:
    tokens = text.split()
    pairs: List[Tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        if i + 2 < len(tokens) and tokens[i + 1].upper() == "AS":
            pairs.append((tokens[i], tokens[i + 2]))
            i += 3
        else:
            pairs.append((tokens[i], tokens[i]))
            i += 1
    return pairs


def apply_lookup(spec: str, fields: Fields, root: Path = ROOT) -> Fields:
    """``<lookup> <col> AS <field> ... OUTPUT|OUTPUTNEW <col> AS <field> ...`` on one event."""
    match = _LOOKUP_SPEC.match(spec)
    if not match:
        raise EvalError(f"cannot parse lookup {spec!r}")
    name, inputs_text, mode, outputs_text = match.groups()
    lookup = Lookup.load(name, root)
    inputs = {col: fields.get(field) for col, field in _pairs(inputs_text)}
    outputs = _pairs(outputs_text or "")
    result = dict(fields)
    values = lookup.outputs(inputs, [col for col, _ in outputs])
    for col, field in outputs:
        if mode == "OUTPUTNEW" and result.get(field) is not None:
            continue
        result[field] = values[col]
    return result
