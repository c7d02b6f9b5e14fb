"""evidence=<lookup>: file name checks, Splunk-style CSV rows, evidence preloaded into the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from guardrail.correlate.engine import Correlator
from guardrail.correlate.lookupfile import lookup_path, read_rows
from guardrail.correlate.render import to_record
from guardrail.errors import OptionError

from tests.unit.correlate_builders import T0, as_table, gcp_row, newest_first, vpn


def write_lookup(path: Path, rows: list) -> None:
    import csv

    header, table = as_table(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(table)


def test_lookup_names_stay_inside_the_lookups_folder(tmp_path: Path) -> None:
    (tmp_path / "vpn_sessions.csv").write_text("_time\n")
    assert lookup_path(str(tmp_path), "vpn_sessions") == str(tmp_path / "vpn_sessions.csv")
    assert lookup_path(str(tmp_path), "vpn_sessions.csv") == str(tmp_path / "vpn_sessions.csv")
    for bad in ("../etc/passwd", "a/b.csv", "", "..csv"):
        with pytest.raises(OptionError):
            lookup_path(str(tmp_path), bad)
    with pytest.raises(OptionError) as info:
        lookup_path(str(tmp_path), "missing")
    assert "no lookup file missing.csv" in str(info.value)


def test_preloaded_evidence_names_the_caller(tmp_path: Path) -> None:
    write_lookup(tmp_path / "ev.csv", [vpn(T0 - 600, "198.51.100.7", "10.250.0.9", "avery.lin", "LAPTOP-A", 3600)])
    [row] = list(read_rows(str(tmp_path / "ev.csv")))
    assert row["tag"] == ["network", "session", "vpn"]
    engine = Correlator()
    assert engine.preload([row]) == 1
    header, table = as_table(newest_first([gcp_row(T0, ip="198.51.100.7")]))
    [item] = engine.feed_rows(header, table) + engine.finish()
    assert to_record(item)["identified_user"] == "avery.lin"
    assert engine.mode == "unknown"  # preloaded rows do not move the time frontier


def test_bad_lookup_rows_are_counted() -> None:
    engine = Correlator()
    assert engine.preload([{"_time": str(T0), "tag": "network\nsession\ndhcp", "dest_ip": "10.1.2.3"}]) == 0
    assert engine.stats["bad:evidence lookup rows: DHCP lease without dest_ip or dest_nt_host"] == 1
