"""An App Key Value Store: the collections of ``collections.conf`` as lists of records.

Splunk keeps KV store data in its own database, outside the app's folder, so an app upgrade never
touches it: that is why the app's site data lives there. This model keeps each collection as a list
of records (``dict``) in insertion order, each with a ``_key``; with a ``path`` it persists them as
one JSON file per collection (a stand-in for ``$SPLUNK_DB/kvstore``), so a test can install an app
package over another and read the same data back.

Modelled: insert (a record without ``_key`` gets a generated one), upsert by ``_key`` (the new
record *replaces* the stored one, as ``outputlookup`` with ``key_field`` does: fields it does not
carry are gone), replace the whole collection (``outputlookup`` without ``append``), read in
insertion order. Multivalue fields are stored as arrays (lists). Not modelled: field types
(``enforceTypes``: values stay as the search wrote them), accelerations, queries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from .values import EvalError, Fields

Record = Dict[str, object]


class KVStore:
    """Collections of one app, optionally persisted under ``path`` (one ``<collection>.json`` each)."""

    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = path
        self._data: Dict[str, List[Record]] = {}
        self._next_key = 0
        if path is not None and path.is_dir():
            for file in sorted(path.glob("*.json")):
                self._data[file.stem] = json.loads(file.read_text(encoding="utf-8"))
            self._next_key = sum(len(records) for records in self._data.values())

    def records(self, collection: str) -> List[Record]:
        """The records of a collection in insertion order (copies: callers cannot edit the store)."""
        return [dict(r) for r in self._data.get(collection, [])]

    def _new_key(self) -> str:
        self._next_key += 1
        return f"{self._next_key:024x}"  # KV store keys look like Mongo ObjectIds: 24 hex digits

    def _save(self, collection: str) -> None:
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / f"{collection}.json").write_text(
                json.dumps(self._data.get(collection, []), indent=1, sort_keys=True), encoding="utf-8")

    @staticmethod
    def _clean(record: Fields) -> Record:
        out: Record = {}
        for name, value in record.items():
            if value is None or value == []:
                continue
            if isinstance(value, bool):
                raise EvalError(f"KV store: boolean value for {name}")
            out[name] = list(value) if isinstance(value, list) else value if isinstance(value, str) else str(value)
        return out

    def upsert(self, collection: str, rows: Iterable[Fields]) -> None:
        """Insert rows; a row whose ``_key`` exists replaces that record entirely."""
        records = self._data.setdefault(collection, [])
        for row in rows:
            record = self._clean(row)
            key = record.get("_key")
            if isinstance(key, list):
                raise EvalError("KV store: a multivalue _key")
            if not key:
                record["_key"] = self._new_key()
                records.append(record)
                continue
            for i, existing in enumerate(records):
                if existing.get("_key") == key:
                    records[i] = record
                    break
            else:
                records.append(record)
        self._save(collection)

    def replace(self, collection: str, rows: Iterable[Fields]) -> None:
        """Delete every record, then insert ``rows`` (``outputlookup`` without ``append``)."""
        self._data[collection] = []
        self.upsert(collection, rows)
