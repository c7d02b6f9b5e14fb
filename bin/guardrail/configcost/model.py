"""The AWS Config cost estimator's vocabulary: constants, errors and the records the stages pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Optional, Tuple

from ..errors import GuardrailError

DAY_SECONDS = 86400
CREATE, MODIFY, DELETE = "create", "modify", "delete"
CHANGES = (CREATE, MODIFY, DELETE)
CONTINUOUS, PERIODIC = "continuous", "periodic"
ANY_REGION = "*"
MONEY = Decimal("0.0001")
#: A usable event time lies in [1970, 2100); ``nan``, ``inf`` or ``1e20`` is a broken value.
TIME_MIN, TIME_MAX = 0.0, 4102444800.0
#: Most configuration items one call may record per resource (1 in every shipped mapping row).
MAX_CIS_PER_CALL = 1000
#: Highest price of one configuration item the pricing lookup may give, in USD.
MAX_PRICE_PER_CI = Decimal(1000)

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


class ConfigCostError(GuardrailError):
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
    #: what was repaired to use the row ("" when nothing was): counted and reported
    repair: str = ""


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
