"""Held denied events kept compact: the rows released are the rows that came in."""

from __future__ import annotations

from typing import List, Tuple

import pytest
from guardrail.correlate import engine as correlate
from guardrail.correlate.engine import Correlator
from guardrail.correlate.model import Released
from guardrail.correlate.options import Options

from tests.unit.correlate_builders import T0, as_table, dhcp, gcp_row, logon, nat, newest_first

EGRESS = "203.0.113.10"


def _stream() -> Tuple[Tuple[str, ...], List[List[str]]]:
    rows = []
    for n in range(40):
        t = T0 + n * 600
        ip, host = f"10.1.0.{n + 2}", f"LAPTOP-{n}"
        rows += [dhcp(t - 1800, ip, host, 3 * 3600), logon(t - 900, f"CORP\\user{n}", host), nat(t, ip, EGRESS),
                 gcp_row(t, ip=EGRESS, insert_id=f"id{n}")]
    header, table = as_table(newest_first(rows))
    return tuple(header), [list(r) for r in table]


def _run(header: Tuple[str, ...], table: List[List[str]]) -> Tuple[List[Released], Correlator]:
    engine = Correlator(Options())
    out: List[Released] = []
    for i in range(0, len(table), 13):
        out += engine.feed_rows(header, [list(r) for r in table[i : i + 13]])
    return out + engine.finish(), engine


def test_packed_rows_come_out_exactly_as_they_went_in(monkeypatch: pytest.MonkeyPatch) -> None:
    header, table = _stream()
    plain, _ = _run(header, table)
    packed_count = 0
    pack = correlate._Held.pack

    def counting_pack(self: correlate._Held) -> None:
        nonlocal packed_count
        pack(self)
        packed_count += self.packed is not None

    monkeypatch.setattr(correlate, "PACK_AFTER", 0)
    monkeypatch.setattr(correlate._Held, "pack", counting_pack)
    packed, engine = _run(header, table)
    assert packed_count == engine.stats["denied"] == 40
    assert [(r.header, list(r.values), r.entry, r.verdict) for r in packed] == [
        (r.header, list(r.values), r.entry, r.verdict) for r in plain
    ]
    assert all(r.verdict is not None and r.verdict.status == "identified" for r in packed)
    assert {v for r in packed for v in r.values if "insertId" in v}, "the rows carry their _raw"
