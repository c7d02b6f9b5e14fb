"""Stage 5, judge: a verdict and advice per account, region and resource type, from ordered rules."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Optional, Tuple

from .model import (
    Price,
)


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
