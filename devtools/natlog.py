"""The NAT log's checks as the scheduled check search keeps them, computed in process.

``correlatepolicydenied natlog=checks`` outputs one row per check of the NAT log (an audit entry
that left through a public address and must have been translated there: ``nat_log_ip``,
``nat_log_ok`` 1 or 0). The check search counts them per address and bucket
(:data:`guardrail.correlate.index.CHECK_BUCKET`) into the KV store; ``natlog=summary`` reads those
counts instead of judging the log from the calls in its own stream. :func:`checks` runs the engine
in checks mode over a stream, :func:`counts` is the search's ``stats`` step, :func:`merged` puts the
counts into a stream in time order, as the correlation's ``sort 0 - _time`` does.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from guardrail.correlate.engine import Correlator
from guardrail.correlate.index import bucket_of
from guardrail.correlate.options import Options
from guardrail.correlate.render import to_record

Row = Mapping[str, object]


def checks(rows: Iterable[Row], options: Optional[Options] = None, chunk: int = 50_000) -> List[Dict[str, object]]:
    """The checks ``natlog=checks`` outputs over ``rows`` (fed in the order given)."""
    o = dataclasses.replace(options or Options(), natlog="checks")
    engine = Correlator(o)
    out = []
    batch: List[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            out += engine.feed_records(batch)
            batch = []
    out += engine.feed_records(batch) + engine.finish()
    return [{k: v for k, v in to_record(item).items() if k in ("_time", "nat_log_ip", "nat_log_ok")}
            for item in out if item.record is not None and "nat_log_ip" in item.record]


def counts(found: Iterable[Row], lo: float = float("-inf"), hi: float = float("inf")) -> List[Dict[str, str]]:
    """Checks per address and bucket (``_time`` the bucket's start): the check search's
    ``stats sum(nat_log_ok) AS nat_log_ok count by nat_log_ip _time``, over the checks of ``[lo, hi)``."""
    total: Dict[Tuple[str, float], List[int]] = {}
    for row in found:
        t = float(str(row["_time"]))
        if not lo <= t < hi:
            continue
        ok = int(str(row["nat_log_ok"]))
        cell = total.setdefault((str(row["nat_log_ip"]), bucket_of(t)), [0, 0])
        cell[0 if ok else 1] += 1
    return [{"_time": f"{b:.0f}", "nat_log_ip": ip, "nat_log_ok": str(ok), "nat_log_missing": str(missing)}
            for (ip, b), (ok, missing) in sorted(total.items())]


def merged(rows: Sequence[Row], extra: Sequence[Row], newest_first: bool = True) -> List[Row]:
    """``rows`` and ``extra`` in one time order (a stable sort: rows of one second keep their order)."""
    both = list(rows) + list(extra)
    return sorted(both, key=lambda r: float(str(r["_time"])), reverse=newest_first)
