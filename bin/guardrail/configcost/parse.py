"""Stage 1, parse: rows of the stream (CloudTrail changes and the appended lookups) into records.

Numbers, times and dates are read from ASCII text only: ``int``, ``float``, ``Decimal`` and
``strptime`` would read other scripts' digits (``٥``, fullwidth ``１０``) as numbers. A row whose
values cannot be used raises :class:`BadChange` / :class:`BadPrice` (counted, never fatal).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, List, Mapping, Optional, Tuple

from .model import (
    ACCOUNT_FIELDS,
    ANY_REGION,
    CHANGES,
    CONTINUOUS,
    MAX_CIS_PER_CALL,
    MAX_PRICE_PER_CI,
    MODIFY,
    PERIODIC,
    REGION_FIELDS,
    TIME_MAX,
    TIME_MIN,
    BadChange,
    BadPrice,
    Change,
    ControlTowerAccount,
    Price,
)


def first_value(row: Mapping[str, Any], name: str) -> str:
    """A field as one string: the first value of a multivalue field, '' when absent."""
    value = row.get(name)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return str(value[0]).strip() if value else ""
    return str(value).strip()


def _values(row: Mapping[str, Any], name: str) -> List[str]:
    value = row.get(name)
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    # splunkd joins a multivalue field with newlines in its plain column.
    return [part.strip() for part in text.split("\n") if part.strip()]


def _truthy(text: str, default: bool) -> bool:
    if not text:
        return default
    return text.strip().lower() in ("1", "true", "t", "yes", "y")


_WHOLE = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _epoch(text: str) -> Optional[float]:
    """Epoch seconds of a ``_time`` value; None unless ASCII, finite and within [1970, 2100)."""
    if not text.isascii():
        return None
    try:
        when = float(text)
    except ValueError:
        return None
    return when if TIME_MIN <= when < TIME_MAX else None


def _time_of(row: Mapping[str, Any], index: int) -> float:
    """The row's ``_time``; without one, its CloudTrail ``eventTime``. Raises :class:`BadChange`."""
    text = first_value(row, "_time")
    if text:
        when = _epoch(text)
        if when is None:
            raise BadChange(f"_time is not a usable time: {text[:40]!r}", "aws:cloudtrail", index, "_time")
        return when
    text = first_value(row, "eventTime")
    if text and text.isascii():
        try:
            parsed = datetime.strptime(text.rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            parsed = None
        if parsed is not None:
            when = parsed.replace(tzinfo=timezone.utc).timestamp()
            if TIME_MIN <= when < TIME_MAX:
                return when
    raise BadChange("no event time", "aws:cloudtrail", index, "_time")


def follow_path(document: Any, path: str) -> List[str]:
    """Values at a CloudTrail JSON path such as ``responseElements.instancesSet.items{}.instanceId``
    (``{}`` walks every element of an array, as Splunk's ``spath`` writes it)."""
    nodes: List[Any] = [document]
    for step in path.split("."):
        if not step:
            continue
        is_array = step.endswith("{}")
        key = step[:-2] if is_array else step
        following: List[Any] = []
        for node in nodes:
            if not isinstance(node, dict) or key not in node:
                continue
            value = node[key]
            if is_array and isinstance(value, list):
                following.extend(value)
            else:
                following.append(value)
        nodes = following
    return [str(node) for node in nodes if isinstance(node, (str, int)) and str(node)]


def row_kind(row: Mapping[str, Any]) -> str:
    """``price``, ``control_tower`` or ``change``: the lookups are appended to the event stream
    (``inputlookup append=true``), so the command tells them apart by their own columns."""
    # splunkd sends every column on every row of a chunk (empty where a row has no value), so a
    # row is told by the values it carries, not by the columns present.
    if first_value(row, "resource_type"):
        return "change"
    if first_value(row, "price_per_ci") or first_value(row, "recording_mode"):
        return "price"
    if first_value(row, "managed_by_control_tower") or first_value(row, "account_id"):
        return "control_tower"
    return "change"


def parse_change(row: Mapping[str, Any], index: int = -1) -> Change:
    """A CloudTrail row enriched by the ``aws_config_resource_types`` lookup."""
    resource_type = first_value(row, "resource_type")
    if not resource_type:
        raise BadChange("no AWS Config resource type (call not in the mapping lookup)",
                        "aws:cloudtrail", index, "resource_type")
    when = _time_of(row, index)
    account = next((first_value(row, f) for f in ACCOUNT_FIELDS if first_value(row, f)), "")
    if not account:
        raise BadChange("no account id", "aws:cloudtrail", index, "recipientAccountId")
    region = next((first_value(row, f) for f in REGION_FIELDS if first_value(row, f)), "")
    if not region:
        raise BadChange("no region", "aws:cloudtrail", index, "awsRegion")
    change = first_value(row, "change").lower() or MODIFY
    if change not in CHANGES:
        raise BadChange(f"unknown change kind {change!r}", "aws_config_resource_types", index, "change")
    cis_text = first_value(row, "cis_per_call") or "1"
    if not _WHOLE.fullmatch(cis_text):
        raise BadChange(f"cis_per_call is not an integer: {cis_text[:40]!r}", "aws_config_resource_types",
                        index, "cis_per_call")
    cis = int(cis_text)
    if cis > MAX_CIS_PER_CALL:
        raise BadChange(f"cis_per_call is over {MAX_CIS_PER_CALL}: {cis_text[:40]!r}", "aws_config_resource_types",
                        index, "cis_per_call")
    ids = _values(row, "resource_id")
    repair = ""
    if not ids:
        ids, repair = _ids_from_raw(row)
    return Change(
        time=when,
        account=account,
        region=region,
        resource_type=resource_type,
        change=change,
        resource_ids=tuple(dict.fromkeys(ids)),
        cis_per_resource=max(cis, 0),
        daily_supported=_truthy(first_value(row, "daily_supported"), True),
        repair=repair,
    )


def _ids_from_raw(row: Mapping[str, Any]) -> Tuple[List[str], str]:
    """Resource ids at the row's ``id_path`` in ``_raw``, and the repair made when ``_raw`` is unreadable."""
    path = first_value(row, "id_path")
    raw = first_value(row, "_raw")
    if not path or not raw.startswith("{"):
        return [], ""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser goes
        return [], "change(s) with an unreadable _raw counted without a resource id"
    return follow_path(document, path), ""


def parse_price(row: Mapping[str, Any], index: int = -1) -> Price:
    """A row of ``aws_config_pricing.csv``."""
    mode = first_value(row, "recording_mode").lower()
    if mode == "daily":
        mode = PERIODIC
    if mode not in (CONTINUOUS, PERIODIC):
        raise BadPrice(f"unknown recording mode {mode!r}", "aws_config_pricing", index, "recording_mode")
    text = first_value(row, "price_per_ci")
    try:
        if not text.isascii():
            raise InvalidOperation
        price = Decimal(text)
    except InvalidOperation:
        raise BadPrice("price_per_ci is not a number", "aws_config_pricing", index, "price_per_ci") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE_PER_CI:
        raise BadPrice(f"price_per_ci must be a number from 0 to {MAX_PRICE_PER_CI}", "aws_config_pricing", index,
                       "price_per_ci")
    try:
        text = first_value(row, "effective_date")
        if not text.isascii():
            raise ValueError
        effective = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise BadPrice("effective_date is not YYYY-MM-DD", "aws_config_pricing", index,
                       "effective_date") from None
    return Price(first_value(row, "region") or ANY_REGION, mode, effective, price, first_value(row, "source"))


def parse_control_tower(row: Mapping[str, Any]) -> ControlTowerAccount:
    """A row of ``aws_control_tower_accounts.csv``."""
    return ControlTowerAccount(
        account_id=first_value(row, "account_id"),
        managed=_truthy(first_value(row, "managed_by_control_tower"), False),
        note=first_value(row, "note"),
    )
