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

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .count import count_daily
from .judge import CONTROL_TOWER_ADVICE, Estimate, judge
from .ledger import Ledger
from .model import (
    CONTINUOUS,
    DAY_SECONDS,
    MONEY,
    PERIODIC,
    ConfigCostError,
    ControlTowerAccount,
    Options,
    Price,
)
from .parse import first_value, parse_change, parse_control_tower, parse_price, row_kind
from .price import PriceBook, cost


@dataclass
class Result:
    rows: List[Dict[str, str]]
    messages: List[str]


# Room for every digit a total can have: the default 28 would make quantize fail on a sum of
# more than 24 digits before the point (the inputs are bounded, a projection over a short period is not).
_MONEY_CONTEXT = Context(prec=120)


def _money(value: Optional[Decimal]) -> str:
    return "" if value is None else str(value.quantize(MONEY, rounding=ROUND_HALF_UP, context=_MONEY_CONTEXT))


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
        #: changes used after a repair, by what was repaired
        self.repaired: Dict[str, int] = {}

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
                elif first_value(row, "errorCode"):
                    # A call that failed changed nothing, so Config recorded nothing.
                    self.failed_calls += 1
                else:
                    change = parse_change(row, index)
                    self.ledger.add(change)
                    if change.repair:
                        self.repaired[change.repair] = self.repaired.get(change.repair, 0) + 1
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
            cont_cost, cont_price = cost(group.continuous, region, CONTINUOUS, book, self.ledger)
            high_cost, per_price = cost(daily.high, region, PERIODIC, book, self.ledger)
            low_cost, low_price = cost(daily.low, region, PERIODIC, book, self.ledger)
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
        messages += [f"configcost: {count} {what}" for what, count in sorted(self.repaired.items())]
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
