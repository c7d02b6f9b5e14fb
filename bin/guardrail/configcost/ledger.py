"""Stage 2, index: changes by account, region and resource type, then by resource and day window."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Dict, Optional, Tuple

from .model import (
    CHANGES,
    DAY_SECONDS,
    Change,
)

# Per resource and window: (first time, first change, last time, last change).
Span = Tuple[float, str, float, str]
GroupKey = Tuple[str, str, str]


@dataclass
class Group:
    daily_supported: bool = True
    events: int = 0
    continuous: Dict[int, int] = field(default_factory=dict)
    spans: Dict[Tuple[str, int], Span] = field(default_factory=dict)
    unattributed: Dict[int, int] = field(default_factory=dict)


class Ledger:
    """Changes indexed by account, region and resource type, then by resource and day window."""

    def __init__(self, snapshot_hour: int = 0) -> None:
        self.offset = (snapshot_hour % 24) * 3600
        self.groups: Dict[GroupKey, Group] = {}
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
            group = self.groups[key] = Group(daily_supported=change.daily_supported)
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
