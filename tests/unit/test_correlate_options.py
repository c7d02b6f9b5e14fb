"""options: defaults, durations with units, range checks, errors that name the option."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from guardrail.correlate.options import OPTION_TABLE, Options, parse_options, syntax_line
from guardrail.errors import OptionError

from devtools.conf import parse_conf


def test_defaults() -> None:
    o = parse_options({})
    assert o == Options() and o.window == 300 and o.skew == 60 and not o.keep_evidence


def test_values_and_units() -> None:
    o = parse_options({"window": "10m", "skew": "90s", "lookback": "2h", "network_tolerance": "500ms",
                       "min_confidence": "0.8", "keep_evidence": "T", "max_buffer": "10"})
    assert (o.window, o.skew, o.lookback, o.network_tolerance) == (600, 90, 7200, 0.5)
    assert o.min_confidence == 0.8 and o.keep_evidence and o.max_buffer == 10


@pytest.mark.parametrize("name,value,words", [
    ("window", "abc", "duration"), ("window", "0", "between"), ("skew", "2h", "between"),
    ("min_confidence", "1.5", "between 0 and 1"), ("min_confidence", "high", "number"),
    ("keep_evidence", "maybe", "true or false"), ("max_buffer", "0", "between"), ("max_buffer", "x", "whole"),
    ("colour", "red", "unknown option"),
])
def test_errors_name_the_option(name: str, value: str, words: str) -> None:
    with pytest.raises(OptionError) as info:
        parse_options({name: value})
    assert name in str(info.value) and words in str(info.value)


# ---- one table: the adapter, searchbnf.conf and the docs follow OPTION_TABLE ----------------------

ROOT = Path(__file__).resolve().parents[2]


def test_options_fields_follow_the_table() -> None:
    assert [f.name for f in fields(Options)] == [spec.name for spec in OPTION_TABLE]
    for spec in OPTION_TABLE:
        assert getattr(Options(), spec.name) == spec.default, spec.name
        assert spec.help and spec.syntax.startswith("<") and spec.default_text


def test_searchbnf_follows_the_table() -> None:
    stanza = parse_conf(ROOT / "default" / "searchbnf.conf").stanza("correlatepolicydenied-command")
    assert stanza is not None
    assert stanza.get("syntax") == syntax_line("correlatepolicydenied")
    description = stanza.get("description") or ""
    for spec in OPTION_TABLE:
        assert re.search(rf"\b{spec.name}\b[^.;]*?\b{re.escape(spec.default_text)}\b", description), spec.name


def test_docs_table_follows_the_table() -> None:
    text = (ROOT / "docs" / "commands" / "correlatepolicydenied.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)=(<\w+>)` \| `([^`]+)` \|", text, re.MULTILINE)
    assert rows == [(s.name, s.syntax, s.default_text) for s in OPTION_TABLE]


def test_adapter_docstring_names_every_option() -> None:
    source = (ROOT / "bin" / "correlatepolicydenied.py").read_text(encoding="utf-8")
    syntax = re.findall(r"\[(\w+)=(<\w+>)\]", source)
    assert syntax == [(s.name, s.syntax) for s in OPTION_TABLE]


@pytest.mark.parametrize("name,value", [
    ("window", "٥m"), ("window", "１０s"), ("max_buffer", "１０"), ("min_confidence", "٠.٥"), ("evidence", "ｘ.csv"),
])
def test_only_ascii_digits_are_numbers(name: str, value: str) -> None:
    with pytest.raises(OptionError) as info:
        parse_options({name: value})
    assert name in str(info.value)
