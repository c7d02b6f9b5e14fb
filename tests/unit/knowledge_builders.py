"""Variants of the knowledge fixtures: the other shape, and the same entry made long."""

from __future__ import annotations

import json
from typing import Any, Dict

from devtools import evalspl


def site_kvstore() -> evalspl.KVStore:
    """A KV store holding the shipped example site data (lookups/<name>.example.csv loaded into each
    site-data collection), as an admin who starts from the examples has it."""
    store = evalspl.KVStore()
    evalspl.load_examples(store)
    return store


def reshape(raw: str) -> str:
    """The same LogEntry in the other shape: bare <-> wrapped by the Pub/Sub input."""
    doc = json.loads(raw)
    if "data" in doc:
        return json.dumps(doc["data"])
    return json.dumps({"attributes": {"logging.googleapis.com/timestamp": doc["timestamp"]}, "data": doc,
                       "publish_time": "1795780800.5"})


def large_request(disks: int = 40, text: str = "x" * 120) -> Dict[str, Any]:
    """A ``compute.instances.insert`` request body of about ``disks`` * (len(text) + 150) characters."""
    return {
        "@type": "type.googleapis.com/compute.instances.insert",
        "disks": [{"autoDelete": True, "boot": index == 0, "deviceName": f"disk-{index}",
                   "initializeParams": {"description": text, "diskSizeGb": "100",
                                        "sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}
                  for index in range(disks)],
        "name": "vm-1",
    }


def with_request(raw: str, request: Dict[str, Any]) -> str:
    """The same entry (either shape) with ``protoPayload.request`` replaced, keys written in
    alphabetical order as Cloud Logging writes them, non-ASCII text unescaped."""
    doc = json.loads(raw)
    entry = doc["data"] if "data" in doc else doc
    entry["protoPayload"]["request"] = request
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)
