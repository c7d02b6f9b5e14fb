"""The chunk reader both record paths use (bin/scp_fastpath.py): no body ends the search."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from guardrail.correlate import engine
from scp_fastpath import (
    BARE_CARRIAGE_RETURNS,
    DUPLICATE_COLUMNS,
    NUL_CHARACTERS,
    WRONG_WIDTH,
    read_table,
)


def test_reasons_are_the_engines_own() -> None:
    assert (WRONG_WIDTH, DUPLICATE_COLUMNS) == (engine.WRONG_WIDTH, engine.DUPLICATE_COLUMNS)
    assert all(key.startswith(("bad:", "fixed:")) for key in (NUL_CHARACTERS, BARE_CARRIAGE_RETURNS))


def test_an_empty_body_has_no_header() -> None:
    counts: Counter = Counter()
    header, rows = read_table("", counts)
    assert header is None and list(rows) == [] and not counts


@pytest.mark.parametrize("source", ["body", "file"])
def test_nul_characters_are_read_as_replacement_characters(source: str) -> None:
    text = 'a,b\r\nx\0y,"multi\r\nline\0"\r\n1,2\r\n'
    counts: Counter = Counter()
    header, rows = read_table(text if source == "body" else iter(text.splitlines(True)), counts)
    assert header == ["a", "b"]
    assert list(rows) == [["x\ufffdy", "multi\r\nline\ufffd"], ["1", "2"]]
    assert counts == Counter({NUL_CHARACTERS: 2})


def test_a_carriage_return_outside_quotes_keeps_its_row() -> None:
    counts: Counter = Counter()
    header, rows = read_table('a,b\r\nx\ry,z\r\n"q\r",w\r\n1,2', counts)
    assert header == ["a", "b"]
    assert list(rows) == [["x\ry", "z"], ["q\r", "w"], ["1", "2"]]
    assert counts == Counter({BARE_CARRIAGE_RETURNS: 1})


def test_fields_over_the_sdk_limit_are_read() -> None:
    csv.field_size_limit(10485760)  # what splunklib sets when it is imported
    big = "x" * (10485760 + 10)
    header, rows = read_table(f"a\r\n{big}\r\n", Counter())
    assert header == ["a"]
    assert [len(row[0]) for row in rows] == [len(big)]
