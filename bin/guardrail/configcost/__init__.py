"""AWS Config recording cost, continuous versus daily, from CloudTrail changes.

The ``configcost`` adapter (``bin/configcost.py``) hands rows to :class:`Estimator` chunk by chunk
and writes back what :meth:`Estimator.finish` returns. The stages, one module each:
:mod:`.parse` → :mod:`.ledger` → :mod:`.count` → :mod:`.price` → :mod:`.judge`, with the records
they pass in :mod:`.model`, the command's options in :mod:`.options` and the whole run in
:mod:`.estimator` (whose docstring gives the model).
"""

from .count import count_daily, is_short_lived
from .estimator import Estimator, Result, estimate_rows, window_bounds
from .judge import CONTROL_TOWER_ADVICE, VERDICT_RULES, Estimate, judge
from .ledger import Ledger
from .model import OUTPUT_FIELDS, BadChange, BadPrice, Change, ConfigCostError, ControlTowerAccount, Options, Price
from .options import OPTION_BOUNDS, parse_options
from .parse import follow_path, parse_change, parse_control_tower, parse_price, row_kind
from .price import PriceBook

__all__ = [
    "CONTROL_TOWER_ADVICE", "OPTION_BOUNDS", "OUTPUT_FIELDS", "VERDICT_RULES", "BadChange", "BadPrice", "Change",
    "ConfigCostError", "ControlTowerAccount", "Estimate", "Estimator", "Ledger", "Options", "Price", "PriceBook",
    "Result", "count_daily", "estimate_rows", "follow_path", "is_short_lived", "judge",
    "parse_change", "parse_control_tower", "parse_options", "parse_price", "row_kind", "window_bounds",
]
