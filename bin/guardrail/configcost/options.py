"""The ``configcost`` command's options, read from their text.

Whole numbers in ASCII digits only: ``int`` (and splunklib's ``validators.Integer``, which uses
it) would read other scripts' digits, ``snapshot_hour=٥`` as 5 and ``month_days=３０`` as 30. A bad
value raises :class:`guardrail.errors.OptionError`, whose message names the option, the value and
what is expected.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Dict, Mapping, Optional, Tuple

from ..errors import OptionError
from .model import TIME_MAX, Options

_WHOLE = re.compile(r"\s*([0-9]+)\s*", re.ASCII)

#: name -> (lowest, highest, default, what the value means)
OPTION_BOUNDS: Dict[str, Tuple[int, int, int, str]] = {
    "snapshot_hour": (0, 23, 0, "the UTC hour at which each daily window starts"),
    "month_days": (1, 31, 30, "days in the month of the per-month projection"),
}


def _whole(name: str, text: str) -> int:
    low, high, _default, _meaning = OPTION_BOUNDS[name]
    match = _WHOLE.fullmatch(text)
    if match is None:
        raise OptionError(name, text, f"expected a whole number from {low} to {high} in ASCII digits")
    value = int(match.group(1))
    if not low <= value <= high:
        raise OptionError(name, text, f"must be between {low} and {high}")
    return value


def search_time(value: Any) -> Optional[float]:
    """A bound of the search's time range as epoch seconds; None when unbounded or unusable."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and 0 < number < TIME_MAX else None


def parse_options(given: Mapping[str, str], earliest: Any = None, latest: Any = None) -> Options:
    """:class:`Options` from the option text the search gave (absent options take their default) and
    the search's time range (``earliest_time``/``latest_time`` as splunkd sends them)."""
    values = {}
    for name, text in given.items():
        if name not in OPTION_BOUNDS:
            raise OptionError(name, text, "unknown option")
        values[name] = _whole(name, text)
    return Options(
        snapshot_hour=values.get("snapshot_hour", OPTION_BOUNDS["snapshot_hour"][2]),
        month_days=Decimal(values.get("month_days", OPTION_BOUNDS["month_days"][2])),
        earliest=search_time(earliest),
        latest=search_time(latest),
    )
