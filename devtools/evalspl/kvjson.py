"""``KV_MODE = json`` field extraction and the ``spath`` eval function on JSON."""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Dict, List, Optional

from .values import EvalError, Fields, Value

# KV_MODE = json


# limits.conf [spath] extraction_cutoff (default 5000): "For 'extract-all' spath extraction mode,
# this setting applies extraction only to the first <integer> number of bytes. This setting applies
# both the auto kv extraction and the spath command" (limits.conf.spec 9.2). KV_MODE = json is that
# auto kv extraction; path-based spath is not cut off.
EXTRACTION_CUTOFF = 5000

_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def flatten_json(text: str, cutoff: Optional[int] = EXTRACTION_CUTOFF) -> Fields:
    """Fields that ``KV_MODE = json`` extracts from one JSON event.

    Numbers keep their JSON spelling, booleans become ``true``/``false``; a path reached more
    than once (arrays) becomes multivalue in document order. JSON null yields no value
    (assumption: only absent-or-present matters to the app's expressions). Only values that end
    within the first ``cutoff`` bytes of the event are extracted (``[spath] extraction_cutoff``;
    assumption: what lies before the cut is still extracted); ``cutoff=None`` reads everything.
    """
    json.loads(text)  # reject what is not JSON at all, as before
    out: Dict[str, List[str]] = {}

    def keep(prefix: str, value: str, end: int) -> None:
        if cutoff is None or len(text[:end].encode("utf-8")) <= cutoff:
            out.setdefault(prefix, []).append(value)

    def ws(i: int) -> int:
        return _JSON_WS.match(text, i).end()  # type: ignore[union-attr]

    def walk(i: int, prefix: str) -> int:
        i = ws(i)
        ch = text[i]
        if ch == "{":
            i = ws(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key, i = json.decoder.scanstring(text, ws(i) + 1)  # type: ignore[attr-defined]
                i = ws(i) + 1  # the colon
                i = ws(walk(i, f"{prefix}.{key}" if prefix else key))
                if text[i] == "}":
                    return i + 1
                i += 1  # the comma
        if ch == "[":
            i = ws(i + 1)
            if text[i] == "]":
                return i + 1
            while True:
                i = ws(walk(i, f"{prefix}{{}}"))
                if text[i] == "]":
                    return i + 1
                i += 1
        if ch == '"':
            value, end = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            keep(prefix, value, end)
            return int(end)
        for literal, value_or_none in (("true", "true"), ("false", "false"), ("null", None)):
            if text.startswith(literal, i):
                if value_or_none is not None:
                    keep(prefix, value_or_none, i + len(literal))
                return i + len(literal)
        number = _JSON_NUMBER.match(text, i)
        if not number:
            raise EvalError(f"not JSON at {text[i:i + 20]!r}")
        keep(prefix, number.group(), number.end())
        return number.end()

    walk(0, "")
    return {k: (v[0] if len(v) == 1 else v) for k, v in out.items()}


_SPATH_STEP = re.compile(r"([^{}]+)((?:\{\})*)")


@functools.lru_cache(maxsize=8)
def _json_document(text: str) -> Any:
    try:
        # numbers keep their JSON spelling, as KV_MODE = json gives them
        return json.loads(text, parse_int=str, parse_float=str)
    except ValueError as exc:
        raise EvalError("spath() over a value that is not JSON is not modelled") from exc


def spath_json(text: str, path: str) -> Value:
    """``spath(X, "<path>")`` on JSON text: reads the whole value, however long (an explicit path
    is not bounded by ``[spath] extraction_cutoff``, which applies to extract-all mode only).

    Steps are separated by dots; ``name{}`` steps into every element of an array (``{}{}`` for an
    array of arrays). Values are named as ``flatten_json`` names them: strings as-is, numbers in
    their JSON spelling, booleans ``true``/``false``, JSON null no value; several values are a
    multivalue result in document order, none is null. Indexed steps (``name{0}``) and paths that
    end on an object or array (Splunk returns its JSON text) are not modelled and raise.
    """
    nodes: List[Any] = [_json_document(text)]
    for step in path.split("."):
        match = _SPATH_STEP.fullmatch(step)
        if not match:
            raise EvalError(f"spath() path step {step!r} is not modelled (only name and name{{}})")
        name, arrays = match.group(1), match.group(2).count("{}")
        found: List[Any] = []
        for node in nodes:
            if isinstance(node, list):
                raise EvalError(f"spath() path {path!r} meets an array without {{}} at {name!r}")
            if isinstance(node, dict) and name in node:
                found.append(node[name])
        for _ in range(arrays):
            found = [item for node in found if isinstance(node, list) for item in node]
        nodes = found
    values: List[str] = []
    for node in nodes:
        if isinstance(node, (dict, list)):
            raise EvalError(f"spath() path {path!r} ends on an object or array: not modelled")
        if node is None:
            continue
        values.append("true" if node is True else "false" if node is False else str(node))
    return None if not values else values[0] if len(values) == 1 else values


class _RawNumber(str):
    """A JSON number kept as it was spelled, so re-serialising does not change it."""


_EXTRACT_STEP = re.compile(r"([^{}.]*)((?:\{\d+\})*)")


def _dump(node: Any) -> str:
    if isinstance(node, _RawNumber):
        return str(node)
    if isinstance(node, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _dump(v) for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ",".join(_dump(v) for v in node) + "]"
    return json.dumps(node)


def json_extract_object(text: str, path: str) -> Value:
    """``json_extract(X, "<path>")`` where the path ends on an object or an array: its JSON text.

    Steps are separated by dots; ``name{n}`` (or a bare ``{n}``) takes element ``n`` of an array.
    The result is written compactly with keys in document order and numbers as spelled
    (assumption: Splunk's own spacing may differ; the app only reads the result with ``spath``).
    A missing path gives null; a path that ends on a string, number, boolean or null, ``{}``
    (every element) and several paths are not modelled and raise.
    """
    try:
        node: Any = json.loads(text, parse_int=_RawNumber, parse_float=_RawNumber)
    except ValueError:
        return None  # json_extract of something that is not JSON returns nothing
    for step in path.split("."):
        match = _EXTRACT_STEP.fullmatch(step)
        if not match or "{}" in step:
            raise EvalError(f"json_extract() path step {step!r} is not modelled (only name and name{{n}})")
        name, indexes = match.group(1), [int(i) for i in re.findall(r"\{(\d+)\}", match.group(2))]
        if name:
            if not isinstance(node, dict) or name not in node:
                return None
            node = node[name]
        for index in indexes:
            if not isinstance(node, list) or index >= len(node):
                return None
            node = node[index]
    if not isinstance(node, (dict, list)):
        raise EvalError(f"json_extract() path {path!r} ends on a scalar: not modelled")
    return _dump(node)
