"""Stage 4, price: each window at the price in force that day for the region and recording mode."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

from .ledger import Ledger
from .model import (
    ANY_REGION,
    Price,
)


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


def cost(per_window: Mapping[int, int], region: str, mode: str, book: PriceBook,
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
