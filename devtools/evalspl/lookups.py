"""Lookups with the match type, max matches and case rules of their transforms.conf stanza.

A lookup is a CSV file (``filename``) in the app's ``lookups/`` folder or a KV store collection
(``external_type = kvstore``, ``collection``, ``fields_list``). Both match the same way; a KV store
lookup returns and writes only the fields of its ``fields_list`` (plus ``_key``), and its
``case_sensitive_match = false`` is honoured "only when the data in the KV Store lookup table is
entirely in lower case. The input data can be in any case" (transforms.conf.spec 9.2): modelled as
lower-casing the input and comparing it with the stored value as it is.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from devtools.conf import ROOT, ConfFile, Stanza, parse_conf

from .evaluate import cidrmatch
from .kvstore import KVStore
from .values import EvalError, Fields, Value

# Lookups


@dataclass
class Lookup:
    """A lookup as its transforms.conf stanza defines it."""

    name: str
    rows: List[Dict[str, Value]]
    match_types: Dict[str, str]
    max_matches: int
    case_sensitive: bool
    collection: Optional[str] = None
    fields_list: List[str] = field(default_factory=list)
    path: Optional[Path] = None

    @classmethod
    def load(cls, name: str, root: Path = ROOT, kvstore: Optional[KVStore] = None) -> Lookup:
        stanza = lookup_stanza(root, name)
        match_types: Dict[str, str] = {}
        for kind, column in re.findall(r"(\w+)\(([^)]+)\)", stanza.get("match_type") or ""):
            if kind.upper() not in {"CIDR", "WILDCARD", "EXACT"}:
                raise EvalError(f"{name}: unknown match_type {kind}")
            match_types[column.strip()] = kind.upper()
        case = (stanza.get("case_sensitive_match") or "true").strip().lower() in {"1", "true"}
        max_matches = int(stanza.get("max_matches") or 100)
        if (stanza.get("external_type") or "").strip() == "kvstore":
            collection = (stanza.get("collection") or "").strip()
            fields_list = [f.strip() for f in (stanza.get("fields_list") or "").split(",") if f.strip()]
            if not collection or not fields_list:
                raise EvalError(f"{name}: a KV store lookup needs collection and fields_list")
            store = kvstore if kvstore is not None else KVStore()
            rows: List[Dict[str, Value]] = [
                {k: v for k, v in record.items() if k == "_key" or k in fields_list}  # type: ignore[misc]
                for record in store.records(collection)]
            return cls(name, rows, match_types, max_matches, case, collection, fields_list)
        filename = stanza.get("filename") or ""
        if not filename:
            raise EvalError(f"{name}: neither filename nor external_type = kvstore")
        path = root / "lookups" / filename
        with open(path, newline="", encoding="utf-8") as handle:
            csv_rows = list(csv.DictReader(handle))
        return cls(name, [dict(r) for r in csv_rows], match_types, max_matches, case, path=path)

    @property
    def is_kvstore(self) -> bool:
        return self.collection is not None

    def _matches(self, column: str, cell: Value, value: str) -> bool:
        if cell is None:
            return False
        if isinstance(cell, (list, bool)):
            raise EvalError(f"{self.name}: a multivalue cell in match column {column} is not modelled")
        pattern = str(cell)
        kind = self.match_types.get(column, "EXACT")
        if kind == "CIDR":
            # A plain address in a CIDR column is its own /32 or /128 network.
            return cidrmatch(pattern, value)
        if not self.case_sensitive:
            value = value.lower()
            if not self.is_kvstore:
                pattern = pattern.lower()
        if kind == "WILDCARD":
            regex = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern)
            return re.fullmatch(regex, value, re.S) is not None
        return pattern == value

    def match(self, inputs: Dict[str, Value]) -> List[Dict[str, Value]]:
        """Rows matching every input (lookup column -> event value), in stored order, max_matches."""
        if any(v is None or isinstance(v, list) for v in inputs.values()):
            return []  # assumption: an event without a match field gets no lookup output
        hits = [row for row in self.rows
                if all(self._matches(col, row.get(col), str(val)) for col, val in inputs.items())]
        return hits[: self.max_matches]

    def outputs(self, inputs: Dict[str, Value], columns: Sequence[str]) -> Dict[str, Value]:
        """Output columns of the matching rows; empty cells are dropped (assumption), so an
        output field only lines up with another when every matching row fills both. A KV store
        array (multivalue) contributes each of its values."""
        rows = self.match(inputs)
        out: Dict[str, Value] = {}
        for column in columns:
            if self.is_kvstore and column != "_key" and column not in self.fields_list:
                raise EvalError(f"{self.name}: {column} is not in the lookup's fields_list")
            values: List[str] = []
            for row in rows:
                cell = row.get(column)
                if isinstance(cell, list):
                    values.extend(cell)
                elif cell:
                    values.append(str(cell))
            out[column] = None if not values else values[0] if len(values) == 1 else values
        return out


def lookup_stanza(root: Path, name: str) -> Stanza:
    """The transforms.conf stanza of lookup ``name`` (``<name>.csv`` names a file directly)."""
    transforms = root / "default" / "transforms.conf"
    if name.endswith(".csv"):
        return _file_stanza(name)
    return conf_stanza(transforms, name)


def _file_stanza(filename: str) -> Stanza:
    from devtools.conf import Setting

    return Stanza(filename, 0, [Setting("filename", filename, 0)])


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
    tokens = [t.rstrip(",") for t in text.split() if t != ","]
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


def apply_lookup(spec: str, fields: Fields, root: Path = ROOT, kvstore: Optional[KVStore] = None,
                 loaded: Optional[Lookup] = None) -> Fields:
    """``<lookup> <col> AS <field> ... OUTPUT|OUTPUTNEW <col> AS <field> ...`` on one event."""
    match = _LOOKUP_SPEC.match(spec)
    if not match:
        raise EvalError(f"cannot parse lookup {spec!r}")
    name, inputs_text, mode, outputs_text = match.groups()
    if not outputs_text:
        raise EvalError(f"lookup {name} without OUTPUT: not modelled (it outputs every column)")
    lookup = loaded if loaded is not None else Lookup.load(name, root, kvstore)
    inputs = {col: fields.get(field_name) for col, field_name in _pairs(inputs_text)}
    outputs = _pairs(outputs_text)
    result = dict(fields)
    values = lookup.outputs(inputs, [col for col, _ in outputs])
    for col, field_name in outputs:
        if mode == "OUTPUTNEW" and result.get(field_name) is not None:
            continue
        result[field_name] = values[col]
    return result


def kvstore_lookups(root: Path = ROOT) -> Dict[str, Stanza]:
    """Lookup definitions of ``transforms.conf`` that read a KV store collection, by name."""
    return {s.name: s for s in parse_conf(root / "default" / "transforms.conf")
            if (s.get("external_type") or "").strip() == "kvstore"}


def load_examples(kvstore: KVStore, root: Path = ROOT) -> List[str]:
    """Load every ``lookups/<lookup>.example.csv`` into its lookup's KV store collection (what an
    admin does with ``| inputlookup <lookup>.example.csv | outputlookup <lookup>``); returns the
    lookups loaded. Cells keep their text; only the lookup's ``fields_list`` is written."""
    loaded: List[str] = []
    for name, stanza in kvstore_lookups(root).items():
        path = root / "lookups" / f"{name}.example.csv"
        if not path.is_file():
            continue
        fields_list = [f.strip() for f in (stanza.get("fields_list") or "").split(",") if f.strip()]
        with open(path, newline="", encoding="utf-8") as handle:
            rows: List[Fields] = [{k: v for k, v in row.items() if k in fields_list}
                                  for row in csv.DictReader(handle)]
        kvstore.upsert((stanza.get("collection") or "").strip(), rows)
        loaded.append(name)
    return loaded
