"""Time modifiers: ``earliest=`` / ``latest=`` values and the eval function ``relative_time``.

A modifier is an epoch number, ``now``, or a chain of offsets and snaps applied left to right
(``-20m@m``, ``-12h-20m@m``, ``@d+8h``), as in the Search Manual's "Specify time modifiers in your
search". Snapping to a day or week uses UTC (assumption: Splunk snaps in the searching user's time
zone; the app's searches snap to minutes only). Months, quarters and years are not modelled.
"""

from __future__ import annotations

import re
from typing import Optional

from .values import EvalError

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 7 * 86400, "week": 7 * 86400, "weeks": 7 * 86400,
}
_STEP = re.compile(r"([+-])(\d*)([a-z]+)|@([a-z]+)")
_EPOCH = re.compile(r"^\d+(?:\.\d+)?$")


def _snap(t: float, unit: str) -> float:
    size = _UNITS.get(unit)
    if size is None or (size > 86400 and unit not in ("w", "week", "weeks")):
        raise EvalError(f"snap @{unit} is not modelled")
    if size == 7 * 86400:
        days = int(t // 86400)
        return float((days - (days + 3) % 7) * 86400)  # back to Sunday (@w0), 1970-01-01 was a Thursday
    return float(int(t // size) * size)


def epoch_of(modifier: str, now: float) -> Optional[float]:
    """Epoch seconds of a time modifier, relative to ``now``; None when it is not one."""
    text = modifier.strip().strip('"').lower()
    if not text:
        return None
    if _EPOCH.match(text):
        return float(text)
    if text == "now":
        return now
    t = now
    pos = 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            return None
        sign, count, unit, snap = match.groups()
        if snap:
            t = _snap(t, snap)
        else:
            if unit not in _UNITS:
                raise EvalError(f"time unit {unit!r} is not modelled")
            t += (1 if sign == "+" else -1) * int(count or "1") * _UNITS[unit]
        pos = match.end()
    return t
