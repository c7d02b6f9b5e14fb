"""Stage 3, count: daily-recording configuration items per window, under both short-lived bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

from .ledger import Group, Span
from .model import (
    CREATE,
    DELETE,
)


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


def count_daily(group: Group) -> DailyCount:
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
