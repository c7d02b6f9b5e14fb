"""One props.conf sourcetype stanza applied to an event: EVALs in parallel, then LOOKUPs; timestamps."""

from __future__ import annotations

import calendar
import re
from pathlib import Path
from typing import Optional

from devtools.conf import ROOT, Stanza

from .evaluate import as_field, evaluate
from .kvjson import flatten_json
from .kvstore import KVStore
from .lookups import apply_lookup, conf_stanza
from .values import EvalError, Fields

# props.conf


def props_stanza(sourcetype: str, root: Path = ROOT) -> Stanza:
    return conf_stanza(root / "default" / "props.conf", sourcetype)


def apply_props(sourcetype: str, raw: str, root: Path = ROOT, now: Optional[float] = None,
                kvstore: Optional[KVStore] = None) -> Fields:
    """Search-time fields of one event under the app's own stanza for ``sourcetype`` (KV store
    lookups read ``kvstore``; an empty store, as on a fresh install, when none is given)."""
    return apply_stanza(props_stanza(sourcetype, root), sourcetype, raw, root, now, kvstore)


def merge_stanzas(name: str, *layers: Stanza) -> Stanza:
    """One sourcetype's settings from several apps, as splunkd merges them: per setting name, the
    layer listed first wins (its app comes first in the precedence order of the search's context)."""
    merged = Stanza(name, 0)
    seen = set()
    for layer in layers:
        for setting in layer.settings:
            if setting.key not in seen:
                seen.add(setting.key)
                merged.settings.append(setting)
    return merged


def apply_stanza(stanza: Stanza, sourcetype: str, raw: str, root: Path = ROOT,
                 now: Optional[float] = None, kvstore: Optional[KVStore] = None) -> Fields:
    """Search-time fields of one event: KV_MODE=json, then every EVAL-* in parallel, then LOOKUP-*."""
    if (stanza.get("KV_MODE") or "").strip() != "json":
        raise EvalError(f"[{sourcetype}] is not KV_MODE = json")
    extracted: Fields = {**flatten_json(raw), "_raw": raw, "sourcetype": sourcetype}
    result = dict(extracted)
    for setting in stanza.settings:
        if setting.key.startswith("EVAL-"):
            value = as_field(evaluate(setting.value, extracted, now))
            name = setting.key[len("EVAL-"):]
            if value is None:
                result.pop(name, None)
            else:
                result[name] = value
    for setting in stanza.settings:
        if setting.key.startswith("LOOKUP-"):
            result = apply_lookup(setting.value, result, root, kvstore)
    return {k: v for k, v in result.items() if v is not None}


# Timestamps

_TIME_CODES = {
    "%Y": r"(?P<Y>\d{4})", "%m": r"(?P<m>\d{2})", "%d": r"(?P<d>\d{2})", "%H": r"(?P<H>\d{2})",
    "%M": r"(?P<M>\d{2})", "%S": r"(?P<S>\d{2})",
    # assumption: %<n>N reads up to n sub-second digits (Cloud Logging writes 3, 6 or 9)
    "%9N": r"(?P<N>\d{1,9})", "%6N": r"(?P<N>\d{1,6})", "%3N": r"(?P<N>\d{1,3})",
    "%Z": r"(?P<Z>Z|UTC|GMT|[+-]\d\d:?\d\d)",
}


def extract_time(stanza: Stanza, raw: str) -> Optional[float]:
    """Epoch seconds Splunk's TIME_PREFIX/TIME_FORMAT settings take from ``raw``, or None."""
    prefix = stanza.get("TIME_PREFIX") or ""
    lookahead = int(stanza.get("MAX_TIMESTAMP_LOOKAHEAD") or 128)
    fmt = stanza.get("TIME_FORMAT") or ""
    found = re.search(prefix, raw)
    if not found:
        return None
    window = raw[found.end(): found.end() + lookahead] if lookahead > 0 else raw[found.end():]
    pattern = ""
    for piece in re.split(r"(%\d?[A-Za-z])", fmt):
        if not piece:
            continue
        if piece.startswith("%"):
            if piece not in _TIME_CODES:
                raise EvalError(f"TIME_FORMAT code {piece} not modelled")
            pattern += _TIME_CODES[piece]
        else:
            pattern += re.escape(piece)
    parsed = re.match(pattern, window)
    if not parsed:
        return None
    g = parsed.groupdict()
    seconds = calendar.timegm((int(g["Y"]), int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]),
                               int(g["S"]), 0, 0, 0))
    zone = g.get("Z") or "Z"
    if zone not in {"Z", "UTC", "GMT"}:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds + (float("0." + g["N"]) if g.get("N") else 0.0)
