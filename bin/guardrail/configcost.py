"""Estimate what AWS Config recording costs, continuous versus daily, from CloudTrail changes.

Pure Python and no Splunk imports: the ``configcost`` adapter (``bin/configcost.py``) hands rows
to :class:`Estimator` chunk by chunk and writes back what :meth:`Estimator.finish` returns.

Stages
------
1. **Parse** each incoming row into one of three small frozen records: a :class:`Change` (a
   CloudTrail call already mapped to the AWS Config resource type it changes), a :class:`Price`
   (a row of the pricing lookup) or a :class:`ControlTowerAccount` (a row of the Control Tower
   lookup). Bad rows are counted, never fatal.
2. **Index** changes into a :class:`Ledger`: per account, region and resource type, the
   configuration items continuous recording bills per day window, and per resource and window
   the first and last change seen (enough to tell a short-lived resource from a long-lived one).
3. **Count** daily-recording CIs per window under the model in ``docs/aws_config_cost.md``:

   * continuous recording: every recorded change of a resource is one CI (``cis_per_call``
     from the mapping lookup, one per resource the call touches);
   * daily recording: at most one CI per resource per 24-hour window, and only in windows in
     which the resource changed (the CI carries the most recent state if it differs from the
     last CI recorded). A resource that already existed and is deleted in a window yields its
     deletion CI; a resource created in a window and still there at its end yields one CI.
   * a resource created *and* deleted inside one window never exists at a snapshot. AWS does
     not document whether daily recording records it, so both bounds are computed:
     ``daily_cis_high`` counts it as one CI, ``daily_cis_low`` counts none.

4. **Price** each window with the price effective that day for the region (exact region row
   first, the ``*`` row otherwise) and recording mode (``continuous``/``periodic``).
5. **Judge** each account/region/type with the ordered :data:`VERDICT_RULES` and flag accounts
   managed by AWS Control Tower, whose guidance is not to change the Config resources it owns.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple

DAY_SECONDS = 86400
CREATE, MODIFY, DELETE = "create", "modify", "delete"
CHANGES = (CREATE, MODIFY, DELETE)
CONTINUOUS, PERIODIC = "continuous", "periodic"
ANY_REGION = "*"
MONEY = Decimal("0.0001")

# Field names, in order of preference, under which the Splunk Add-on for AWS (or an admin's own
# extraction) delivers the account and region of a CloudTrail record.
ACCOUNT_FIELDS = ("recipientAccountId", "aws_account_id", "vendor_account")
REGION_FIELDS = ("awsRegion", "region", "vendor_region")

OUTPUT_FIELDS = (
    "account_id", "region", "resource_type", "control_tower", "events", "resources",
    "short_lived_resources", "unattributed_events", "continuous_cis", "daily_cis_high",
    "daily_cis_low", "period_days", "price_continuous", "price_periodic", "continuous_cost",
    "daily_cost_high", "daily_cost_low", "saving_min", "saving_max", "continuous_cost_month",
    "daily_cost_high_month", "daily_cost_low_month", "saving_min_month", "saving_max_month",
    "noise_rank", "daily_supported", "verdict", "recommendation", "note",
)


class ConfigCostError(Exception):
    """A row the estimator cannot use; carries where it came from."""

    def __init__(self, message: str, source: str = "", row: int = -1, field_name: str = "") -> None:
        where = ", ".join(
            part for part in (
                f"source={source}" if source else "",
                f"row={row}" if row >= 0 else "",
                f"field={field_name}" if field_name else "",
            ) if part
        )
        super().__init__(f"{message} ({where})" if where else message)
        self.source = source
        self.row = row
        self.field_name = field_name


class BadChange(ConfigCostError):
    """A CloudTrail change row lacking what the estimate needs (time, account, type...)."""


class BadPrice(ConfigCostError):
    """A pricing lookup row with a missing or unreadable price, mode or date."""


# --- stage 1: parse ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One configuration-changing call, mapped to the AWS Config resource type it records."""

    time: float
    account: str
    region: str
    resource_type: str
    change: str
    resource_ids: Tuple[str, ...]
    cis_per_resource: int = 1
    daily_supported: bool = True


@dataclass(frozen=True)
class Price:
    """Price of one configuration item in a region and recording mode, from a date on."""

    region: str
    mode: str
    effective: date
    price: Decimal
    source: str = ""


@dataclass(frozen=True)
class ControlTowerAccount:
    """An account marked in the Control Tower lookup."""

    account_id: str
    managed: bool
    note: str = ""


@dataclass(frozen=True)
class Options:
    """Tunables: when the daily snapshot window starts (UTC hour) and the month length used for
    the per-month projection; ``earliest``/``latest`` bound the searched period when known."""

    snapshot_hour: int = 0
    month_days: Decimal = Decimal(30)
    earliest: Optional[float] = None
    latest: Optional[float] = None


def _first(row: Mapping[str, Any], name: str) -> str:
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


def _time_of(row: Mapping[str, Any]) -> Optional[float]:
    text = _first(row, "_time")
    if text:
        try:
            return float(text)
        except ValueError:
            pass
    text = _first(row, "eventTime")
    if text:
        try:
            parsed = datetime.strptime(text.rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
        return parsed.replace(tzinfo=timezone.utc).timestamp()
    return None


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
    if _first(row, "resource_type"):
        return "change"
    if _first(row, "price_per_ci") or _first(row, "recording_mode"):
        return "price"
    if _first(row, "managed_by_control_tower") or _first(row, "account_id"):
        return "control_tower"
    return "change"


def parse_change(row: Mapping[str, Any], index: int = -1) -> Change:
    """A CloudTrail row enriched by the ``aws_config_resource_types`` lookup."""
    resource_type = _first(row, "resource_type")
    if not resource_type:
        raise BadChange("no AWS Config resource type (call not in the mapping lookup)",
                        "aws:cloudtrail", index, "resource_type")
    when = _time_of(row)
    if when is None:
        raise BadChange("no event time", "aws:cloudtrail", index, "_time")
    account = next((_first(row, f) for f in ACCOUNT_FIELDS if _first(row, f)), "")
    if not account:
        raise BadChange("no account id", "aws:cloudtrail", index, "recipientAccountId")
    region = next((_first(row, f) for f in REGION_FIELDS if _first(row, f)), "")
    if not region:
        raise BadChange("no region", "aws:cloudtrail", index, "awsRegion")
    change = _first(row, "change").lower() or MODIFY
    if change not in CHANGES:
        raise BadChange(f"unknown change kind {change!r}", "aws_config_resource_types", index, "change")
    cis_text = _first(row, "cis_per_call") or "1"
    try:
        cis = int(cis_text)
    except ValueError:
        raise BadChange(f"cis_per_call is not an integer: {cis_text!r}", "aws_config_resource_types",
                        index, "cis_per_call") from None
    ids = _values(row, "resource_id")
    if not ids:
        ids = _ids_from_raw(row)
    return Change(
        time=when,
        account=account,
        region=region,
        resource_type=resource_type,
        change=change,
        resource_ids=tuple(dict.fromkeys(ids)),
        cis_per_resource=max(cis, 0),
        daily_supported=_truthy(_first(row, "daily_supported"), True),
    )


def _ids_from_raw(row: Mapping[str, Any]) -> List[str]:
    path = _first(row, "id_path")
    raw = _first(row, "_raw")
    if not path or not raw.startswith("{"):
        return []
    try:
        document = json.loads(raw)
    except ValueError:
        return []
    return follow_path(document, path)


def parse_price(row: Mapping[str, Any], index: int = -1) -> Price:
    """A row of ``aws_config_pricing.csv``."""
    mode = _first(row, "recording_mode").lower()
    if mode == "daily":
        mode = PERIODIC
    if mode not in (CONTINUOUS, PERIODIC):
        raise BadPrice(f"unknown recording mode {mode!r}", "aws_config_pricing", index, "recording_mode")
    try:
        price = Decimal(_first(row, "price_per_ci"))
    except InvalidOperation:
        raise BadPrice("price_per_ci is not a number", "aws_config_pricing", index, "price_per_ci") from None
    if not price.is_finite() or price < 0:
        raise BadPrice("price_per_ci must be a non-negative number", "aws_config_pricing", index,
                       "price_per_ci")
    try:
        effective = datetime.strptime(_first(row, "effective_date"), "%Y-%m-%d").date()
    except ValueError:
        raise BadPrice("effective_date is not YYYY-MM-DD", "aws_config_pricing", index,
                       "effective_date") from None
    return Price(_first(row, "region") or ANY_REGION, mode, effective, price, _first(row, "source"))


def parse_control_tower(row: Mapping[str, Any]) -> ControlTowerAccount:
    """A row of ``aws_control_tower_accounts.csv``."""
    return ControlTowerAccount(
        account_id=_first(row, "account_id"),
        managed=_truthy(_first(row, "managed_by_control_tower"), False),
        note=_first(row, "note"),
    )


# --- stage 2: index ---------------------------------------------------------------------------

# Per resource and window: (first time, first change, last time, last change).
Span = Tuple[float, str, float, str]
GroupKey = Tuple[str, str, str]


@dataclass
class _Group:
    daily_supported: bool = True
    events: int = 0
    continuous: Dict[int, int] = field(default_factory=dict)
    spans: Dict[Tuple[str, int], Span] = field(default_factory=dict)
    unattributed: Dict[int, int] = field(default_factory=dict)


class Ledger:
    """Changes indexed by account, region and resource type, then by resource and day window."""

    def __init__(self, snapshot_hour: int = 0) -> None:
        self.offset = (snapshot_hour % 24) * 3600
        self.groups: Dict[GroupKey, _Group] = {}
        self.first_time: Optional[float] = None
        self.last_time: Optional[float] = None

    def window(self, when: float) -> int:
        """Index of the 24-hour window (starting at the snapshot hour, UTC) holding ``when``."""
        return math.floor((when - self.offset) / DAY_SECONDS)

    def window_day(self, window: int) -> date:
        start = window * DAY_SECONDS + self.offset
        return datetime.fromtimestamp(start, tz=timezone.utc).date()

    def add(self, change: Change) -> None:
        key = (change.account, change.region, change.resource_type)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(daily_supported=change.daily_supported)
        group.daily_supported = group.daily_supported and change.daily_supported
        group.events += 1
        win = self.window(change.time)
        if self.first_time is None or change.time < self.first_time:
            self.first_time = change.time
        if self.last_time is None or change.time > self.last_time:
            self.last_time = change.time
        if not change.resource_ids:
            # Without an id the call cannot be merged with others of the same resource: it is
            # billed once under continuous recording and counted as its own daily CI.
            group.continuous[win] = group.continuous.get(win, 0) + change.cis_per_resource
            group.unattributed[win] = group.unattributed.get(win, 0) + 1
            return
        group.continuous[win] = (group.continuous.get(win, 0)
                                 + change.cis_per_resource * len(change.resource_ids))
        for resource_id in change.resource_ids:
            slot = (resource_id, win)
            span = group.spans.get(slot)
            if span is None:
                group.spans[slot] = (change.time, change.change, change.time, change.change)
                continue
            first_t, first_c, last_t, last_c = span
            # Results arrive newest first; ties keep the lifecycle order create < modify < delete.
            if (change.time, CHANGES.index(change.change)) < (first_t, CHANGES.index(first_c)):
                first_t, first_c = change.time, change.change
            if (change.time, CHANGES.index(change.change)) >= (last_t, CHANGES.index(last_c)):
                last_t, last_c = change.time, change.change
            group.spans[slot] = (first_t, first_c, last_t, last_c)


# --- stage 3: count ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyCount:
    """Daily-recording CIs of one group per window, under both short-lived bounds."""

    high: Dict[int, int]
    low: Dict[int, int]
    resources: int
    short_lived: int


def is_short_lived(span: Span) -> bool:
    """Created and deleted inside one window: the resource never exists at a daily snapshot."""
    return span[1] == CREATE and span[3] == DELETE


def count_daily(group: _Group) -> DailyCount:
    """At most one CI per resource per window in which it changed; see the module docstring."""
    high: Dict[int, int] = {}
    low: Dict[int, int] = {}
    short = 0
    resources = set()
    for (resource_id, win), span in group.spans.items():
        resources.add(resource_id)
        high[win] = high.get(win, 0) + 1
        if is_short_lived(span):
            short += 1
        else:
            low[win] = low.get(win, 0) + 1
    for win, n in group.unattributed.items():
        high[win] = high.get(win, 0) + n
        low[win] = low.get(win, 0) + n
    return DailyCount(high, low, len(resources), short)


# --- stage 4: price ---------------------------------------------------------------------------


class PriceBook:
    """Prices by region and mode, each valid from its effective date until the next one."""

    def __init__(self, prices: Iterable[Price]) -> None:
        self._table: Dict[Tuple[str, str], List[Price]] = {}
        for price in prices:
            self._table.setdefault((price.region, price.mode), []).append(price)
        for entries in self._table.values():
            entries.sort(key=lambda p: p.effective)
        self.before_first: Set[Tuple[str, str]] = set()

    def __bool__(self) -> bool:
        return bool(self._table)

    def lookup(self, region: str, mode: str, day: date) -> Optional[Price]:
        """The price in force on ``day``: the region's own rows first, then the ``*`` rows; before
        any effective date, the earliest entry (remembered in :attr:`before_first` so the
        command can say so)."""
        candidates = [self._table.get((region, mode)), self._table.get((ANY_REGION, mode))]
        for entries in candidates:
            chosen: Optional[Price] = None
            for entry in entries or []:
                if entry.effective > day:
                    break
                chosen = entry
            if chosen is not None:
                return chosen
        for entries in candidates:
            if entries:
                self.before_first.add((entries[0].region, mode))
                return entries[0]
        return None


def _cost(per_window: Mapping[int, int], region: str, mode: str, book: PriceBook,
          ledger: Ledger) -> Tuple[Optional[Decimal], Optional[Price]]:
    total = Decimal(0)
    last: Optional[Price] = None
    for win in sorted(per_window):
        price = book.lookup(region, mode, ledger.window_day(win))
        if price is None:
            return None, None
        total += price.price * per_window[win]
        last = price
    if last is None:
        last = book.lookup(region, mode, ledger.window_day(ledger.window(ledger.last_time or 0.0)))
    return total, last


# --- stage 5: judge ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """The numbers for one account, region and resource type over the searched period."""

    account: str
    region: str
    resource_type: str
    events: int
    resources: int
    short_lived: int
    unattributed: int
    continuous_cis: int
    daily_cis_high: int
    daily_cis_low: int
    daily_supported: bool
    continuous_cost: Optional[Decimal]
    daily_cost_high: Optional[Decimal]
    daily_cost_low: Optional[Decimal]
    price_continuous: Optional[Price]
    price_periodic: Optional[Price]

    @property
    def saving_min(self) -> Optional[Decimal]:
        """Saving of daily recording when short-lived resources are billed (the safe bound)."""
        if self.continuous_cost is None or self.daily_cost_high is None:
            return None
        return self.continuous_cost - self.daily_cost_high

    @property
    def saving_max(self) -> Optional[Decimal]:
        """Saving of daily recording when short-lived resources are not recorded at all."""
        if self.continuous_cost is None or self.daily_cost_low is None:
            return None
        return self.continuous_cost - self.daily_cost_low


Verdict = Tuple[str, str]
VerdictRule = Callable[[Estimate], Optional[Verdict]]


def rule_continuous_only(est: Estimate) -> Optional[Verdict]:
    """AWS Config refuses daily recording for a few types (ResourceCompliance,
    ConformancePackCompliance, ConfigurationRecorder): no what-if applies."""
    if not est.daily_supported:
        return "continuous_only", "daily recording is not available for this resource type"
    return None


def rule_unpriced(est: Estimate) -> Optional[Verdict]:
    """Without a price for the region the comparison cannot be made; say so instead of guessing."""
    if est.saving_min is None or est.saving_max is None:
        return "no_price", f"add a price for {est.region} to the aws_config_pricing lookup"
    return None


def rule_daily_wins_always(est: Estimate) -> Optional[Verdict]:
    """Daily is cheaper even if every short-lived resource still costs one daily CI: the saving
    holds whichever way AWS treats resources that never reach a snapshot."""
    if est.saving_min is not None and est.saving_min > 0:
        return "switch_to_daily", "switch this type to daily recording"
    return None


def rule_daily_wins_if_short_lived_skipped(est: Estimate) -> Optional[Verdict]:
    """Daily is cheaper only if resources created and deleted between two snapshots are not
    recorded; the saving is real only if a trial on one account confirms it."""
    if est.saving_max is not None and est.saving_max > 0:
        return ("depends_on_short_lived",
                "trial daily recording on one account and compare the ConfigurationItemsRecorded metric")
    return None


def rule_keep_continuous(est: Estimate) -> Optional[Verdict]:
    """Fewer than four changes per resource per day: continuous recording is cheaper."""
    return "keep_continuous", "keep continuous recording"


VERDICT_RULES: Tuple[VerdictRule, ...] = (
    rule_continuous_only,
    rule_unpriced,
    rule_daily_wins_always,
    rule_daily_wins_if_short_lived_skipped,
    rule_keep_continuous,
)

CONTROL_TOWER_ADVICE = ("not recommended: AWS Control Tower manages AWS Config in this account; "
                        "change recording only through the landing zone")


def judge(est: Estimate) -> Verdict:
    for rule in VERDICT_RULES:
        verdict = rule(est)
        if verdict is not None:
            return verdict
    raise AssertionError("rule_keep_continuous always answers")  # pragma: no cover


# --- the estimator ----------------------------------------------------------------------------


@dataclass
class Result:
    rows: List[Dict[str, str]]
    messages: List[str]


def _money(value: Optional[Decimal]) -> str:
    return "" if value is None else str(value.quantize(MONEY, rounding=ROUND_HALF_UP))


def _per_month(value: Optional[Decimal], days: Decimal, month_days: Decimal) -> Optional[Decimal]:
    if value is None or days <= 0:
        return None
    return value * month_days / days


class Estimator:
    """Feed it rows (events and the appended lookup rows) in any number of chunks, then finish."""

    def __init__(self, options: Optional[Options] = None) -> None:
        self.options = options or Options()
        self.ledger = Ledger(self.options.snapshot_hour)
        self.prices: List[Price] = []
        self.control_tower: Dict[str, ControlTowerAccount] = {}
        self.rows_seen = 0
        self.failed_calls = 0
        self.bad: Dict[str, int] = {}
        self.first_error: Dict[str, str] = {}

    def _bad(self, error: ConfigCostError) -> None:
        kind = type(error).__name__
        self.bad[kind] = self.bad.get(kind, 0) + 1
        self.first_error.setdefault(kind, str(error))

    def feed(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            index = self.rows_seen
            self.rows_seen += 1
            kind = row_kind(row)
            try:
                if kind == "price":
                    self.prices.append(parse_price(row, index))
                elif kind == "control_tower":
                    account = parse_control_tower(row)
                    if account.account_id:
                        self.control_tower[account.account_id] = account
                elif _first(row, "errorCode"):
                    # A call that failed changed nothing, so Config recorded nothing.
                    self.failed_calls += 1
                else:
                    self.ledger.add(parse_change(row, index))
            except ConfigCostError as error:
                self._bad(error)

    def period_days(self) -> Decimal:
        """Length of the searched period: the search's time range when bounded, otherwise the
        whole windows spanned by the events seen."""
        opts = self.options
        if opts.earliest and opts.latest and opts.latest > opts.earliest:
            return Decimal(str(round((opts.latest - opts.earliest) / DAY_SECONDS, 6)))
        ledger = self.ledger
        if ledger.first_time is None or ledger.last_time is None:
            return Decimal(0)
        return Decimal(ledger.window(ledger.last_time) - ledger.window(ledger.first_time) + 1)

    def estimates(self) -> Tuple[List[Estimate], PriceBook]:
        book = PriceBook(self.prices)
        out: List[Estimate] = []
        for (account, region, rtype), group in sorted(self.ledger.groups.items()):
            daily = count_daily(group)
            cont_cost, cont_price = _cost(group.continuous, region, CONTINUOUS, book, self.ledger)
            high_cost, per_price = _cost(daily.high, region, PERIODIC, book, self.ledger)
            low_cost, low_price = _cost(daily.low, region, PERIODIC, book, self.ledger)
            out.append(Estimate(
                account=account, region=region, resource_type=rtype, events=group.events,
                resources=daily.resources, short_lived=daily.short_lived,
                unattributed=sum(group.unattributed.values()),
                continuous_cis=sum(group.continuous.values()),
                daily_cis_high=sum(daily.high.values()), daily_cis_low=sum(daily.low.values()),
                daily_supported=group.daily_supported,
                continuous_cost=cont_cost, daily_cost_high=high_cost, daily_cost_low=low_cost,
                price_continuous=cont_price, price_periodic=per_price or low_price,
            ))
        return out, book

    def finish(self) -> Result:
        estimates, book = self.estimates()
        days = self.period_days()
        month = self.options.month_days
        ranks: Dict[Tuple[str, str], List[Estimate]] = {}
        for est in estimates:
            ranks.setdefault((est.account, est.region), []).append(est)
        rank_of: Dict[Tuple[str, str, str], int] = {}
        for group in ranks.values():
            ordered = sorted(group, key=lambda e: (-e.continuous_cis, e.resource_type))
            for position, est in enumerate(ordered, start=1):
                rank_of[(est.account, est.region, est.resource_type)] = position
        rows: List[Dict[str, str]] = []
        for est in sorted(estimates, key=lambda e: (e.account, e.region, -e.continuous_cis,
                                                     e.resource_type)):
            verdict, advice = judge(est)
            tower = self.control_tower.get(est.account)
            managed = tower is not None and tower.managed
            note = tower.note if managed and tower is not None else ""
            if managed and verdict in ("switch_to_daily", "depends_on_short_lived"):
                advice = CONTROL_TOWER_ADVICE
            rows.append({
                "account_id": est.account,
                "region": est.region,
                "resource_type": est.resource_type,
                "control_tower": "true" if managed else "false",
                "events": str(est.events),
                "resources": str(est.resources),
                "short_lived_resources": str(est.short_lived),
                "unattributed_events": str(est.unattributed),
                "continuous_cis": str(est.continuous_cis),
                "daily_cis_high": str(est.daily_cis_high),
                "daily_cis_low": str(est.daily_cis_low),
                "period_days": format(days.normalize(), "f") if days else "0",
                "price_continuous": str(est.price_continuous.price) if est.price_continuous else "",
                "price_periodic": str(est.price_periodic.price) if est.price_periodic else "",
                "continuous_cost": _money(est.continuous_cost),
                "daily_cost_high": _money(est.daily_cost_high),
                "daily_cost_low": _money(est.daily_cost_low),
                "saving_min": _money(est.saving_min),
                "saving_max": _money(est.saving_max),
                "continuous_cost_month": _money(_per_month(est.continuous_cost, days, month)),
                "daily_cost_high_month": _money(_per_month(est.daily_cost_high, days, month)),
                "daily_cost_low_month": _money(_per_month(est.daily_cost_low, days, month)),
                "saving_min_month": _money(_per_month(est.saving_min, days, month)),
                "saving_max_month": _money(_per_month(est.saving_max, days, month)),
                "noise_rank": str(rank_of[(est.account, est.region, est.resource_type)]),
                "daily_supported": "true" if est.daily_supported else "false",
                "verdict": verdict,
                "recommendation": advice,
                "note": note,
            })
        return Result(rows, self._messages(book))

    def _messages(self, book: PriceBook) -> List[str]:
        messages = [
            f"configcost: skipped {count} row(s): {kind}; first: {self.first_error[kind]}"
            for kind, count in sorted(self.bad.items())
        ]
        if self.failed_calls:
            messages.append(f"configcost: ignored {self.failed_calls} failed call(s) (errorCode set)")
        if not self.prices and self.ledger.groups:
            messages.append("configcost: no pricing rows reached the command; append the "
                            "aws_config_pricing lookup (see the aws_config_cost_estimate macro)")
        for region, mode in sorted(book.before_first):
            messages.append(f"configcost: changes before the first {mode} price for {region}; "
                                "priced with the earliest entry")
        return messages


def window_bounds(day: date, snapshot_hour: int = 0) -> Tuple[float, float]:
    """Epoch seconds of the window that starts on ``day`` at the snapshot hour (UTC)."""
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(hours=snapshot_hour)
    return start.timestamp(), start.timestamp() + DAY_SECONDS


def estimate_rows(rows: Iterable[Mapping[str, Any]], options: Optional[Options] = None) -> Result:
    """One-shot helper: every row at once."""
    estimator = Estimator(options)
    estimator.feed(rows)
    return estimator.finish()


__all__ = [
    "OUTPUT_FIELDS", "VERDICT_RULES", "BadChange", "BadPrice", "Change", "ConfigCostError",
    "ControlTowerAccount", "Estimate", "Estimator", "Ledger", "Options", "Price", "PriceBook",
    "Result", "count_daily", "estimate_rows", "follow_path", "is_short_lived", "judge",
    "parse_change", "parse_control_tower", "parse_price", "row_kind", "window_bounds",
]
