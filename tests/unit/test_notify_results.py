"""The results file reader of guardrail_notify: shown rows parsed, the rest counted, bounded, never fatal.

The reader is checked against Python's own ``csv`` module on random files in splunkd's dialect, fed in
blocks as small as one byte so that every state (inside quotes, after a closing quote, a ``\\r`` before
the newline) meets a block boundary.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from pathlib import Path
from typing import Sequence

import pytest
from guardrail.notify import results as results_module
from guardrail.notify.config import ConfigError
from guardrail.notify.results import FIELD_KEPT, read_results

ALPHABET = ["a", "b", "Z", "0", " ", ",", '"', '""', "\n", "\r\n", "\r", "\x00", "é", "€", ";", "$"]


def write(path: Path, text: str) -> Path:
    with gzip.open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return path


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]], terminator: str = "\n",
             quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator, quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def random_value(rng: random.Random, alphabet: Sequence[str]) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


# (terminator, quoting, alphabet). With a "\n" terminator csv.writer leaves a lone "\r" unquoted,
# which csv.reader then takes for a line end: such a file is ambiguous, so that pairing is not made.
DIALECTS = [
    ("\r\n", csv.QUOTE_MINIMAL, ALPHABET),
    ("\n", csv.QUOTE_MINIMAL, [c for c in ALPHABET if "\r" not in c]),
    ("\n", csv.QUOTE_ALL, ALPHABET),
]


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_the_csv_module(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    terminator, quoting, alphabet = DIALECTS[seed % len(DIALECTS)]
    header = [f"c{i}" for i in range(rng.randint(1, 6))]
    rows = [[random_value(rng, alphabet) for _ in header] for _ in range(rng.randint(0, 30))]
    text = csv_text(header, rows, terminator, quoting)
    if rows and rng.random() < 0.3:
        text = text.rstrip("\n").rstrip("\r")  # no newline after the last row
    path = write(tmp_path / "r.csv.gz", text)
    expected = list(csv.reader(io.StringIO(text, newline="")))
    keep = rng.randint(0, 8)
    wanted = frozenset(rng.sample(header, rng.randint(1, len(header))))
    for block in (1, 2, 3, 7, 64, 4096):
        got = read_results(str(path), keep, wanted, block=block)
        assert got.complete and got.count == len(expected) - 1, (block, text)
        shown = [{name: value for name, value in zip(header, row) if name in wanted} for row in expected[1:keep + 1]]
        assert [dict(r) for r in got.rows] == shown, (block, text)


def test_only_wanted_columns_first_of_duplicates(tmp_path: Path) -> None:
    text = csv_text(["_raw", "identified_user", "identified_user", "__mv_identified_user", "x"],
                    [["r1", "avery", "other", "$avery$", "1"], ["r2", "sam", "", "", "2"]])
    got = read_results(str(write(tmp_path / "r.csv.gz", text)), 5, frozenset({"identified_user", "x"}))
    assert [dict(r) for r in got.rows] == [{"identified_user": "avery", "x": "1"}, {"identified_user": "sam", "x": "2"}]
    assert got.count == 2


def test_huge_field_is_clipped_and_later_columns_still_read(tmp_path: Path) -> None:
    raw = '{"a": "' + "x" * (3 * 1024 * 1024) + '", "q": "a ""quoted"" word"}\n' * 3
    text = csv_text(["_raw", "identified_user"], [[raw, "avery"], [raw, "sam"], [raw, "kim"]])
    got = read_results(str(write(tmp_path / "r.csv.gz", text)), 2, frozenset({"_raw", "identified_user"}))
    assert got.count == 3
    assert [r["identified_user"] for r in got.rows] == ["avery", "sam"]
    assert len(got.rows[0]["_raw"]) == FIELD_KEPT and got.rows[0]["_raw"].startswith('{"a": "xxx')


def test_rows_beyond_the_shown_ones_are_counted_with_quoted_newlines(tmp_path: Path) -> None:
    rows = [["u", f"line one\nline two, \"{n}\"\r\nthree"] for n in range(5000)]
    text = csv_text(["identified_user", "finding"], rows, "\r\n")
    got = read_results(str(write(tmp_path / "r.csv.gz", text)), 1, frozenset({"finding"}), block=1000)
    assert got.count == 5000 and got.rows[0]["finding"] == 'line one\nline two, "0"\r\nthree'


def test_nul_bytes_are_data(tmp_path: Path) -> None:
    text = "identified_user,finding\navery\x00lin,\"a\x00\"\"b\"\n"
    got = read_results(str(write(tmp_path / "r.csv.gz", text)), 5, frozenset({"identified_user", "finding"}))
    assert [dict(r) for r in got.rows] == [{"identified_user": "avery\x00lin", "finding": 'a\x00"b'}]


def test_limit_stops_reading_and_says_so(tmp_path: Path) -> None:
    row = "avery,7 denials\n"
    text = "identified_user,finding\n" + row * 1000
    path = write(tmp_path / "r.csv.gz", text)
    limit = 24 + len(row) * 100 + 5  # the header, 100 rows, and 5 bytes of the 101st
    got = read_results(str(path), 3, frozenset({"identified_user"}), limit=limit, block=64)
    assert not got.complete and "over" in got.problem
    assert got.count == 101 and len(got.rows) == 3
    exact = read_results(str(path), 3, frozenset({"identified_user"}), limit=len(text.encode()))
    assert exact.complete and exact.count == 1000


def test_limit_inside_a_shown_row_keeps_what_was_read(tmp_path: Path) -> None:
    text = "identified_user,finding\navery,\"" + "y" * 10_000 + "\"\n"
    got = read_results(str(write(tmp_path / "r.csv.gz", text)), 5, frozenset({"identified_user"}), limit=100)
    assert not got.complete and got.count == 1 and got.rows[0]["identified_user"] == "avery"


def test_damaged_gzip_keeps_the_rows_read(tmp_path: Path) -> None:
    rng = random.Random(7)
    rows = [["avery", "".join(rng.choice("abcdefgh") for _ in range(200))] for _ in range(20_000)]
    path = write(tmp_path / "r.csv.gz", csv_text(["identified_user", "finding"], rows))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    got = read_results(str(path), 5, frozenset({"identified_user"}))
    assert not got.complete and "damaged" in got.problem
    assert 0 < got.count < 20_000 and len(got.rows) == 5


def test_many_columns_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results_module, "MAX_COLUMNS", 50)
    header = [f"c{i}" for i in range(200)] + ["identified_user"]
    early = ["c3"]
    text = csv_text(header, [[str(i) for i in range(200)] + ["avery"]] * 3)
    got = read_results(str(write(tmp_path / "r.csv.gz", text)), 5, frozenset([*early, "identified_user"]))
    # A wanted column past the limit is not shown; the rows are still all there and counted.
    assert [dict(r) for r in got.rows] == [{"c3": "3"}] * 3 and got.count == 3


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    assert read_results(str(write(tmp_path / "a.csv.gz", "")), 5, frozenset({"x"})).count == 0
    got = read_results(str(write(tmp_path / "b.csv.gz", "x,y\n")), 5, frozenset({"x"}))
    assert got.count == 0 and got.rows == () and got.complete


@pytest.mark.parametrize("content", [None, b"not gzip at all"])
def test_unreadable_file_names_the_key(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "r.csv.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        read_results(str(path), 5, frozenset({"x"}))
    assert err.value.where == "results_file"
    with pytest.raises(ConfigError):
        read_results("", 5, frozenset({"x"}))
