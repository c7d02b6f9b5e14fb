"""options: defaults, durations with units, range checks, errors that name the option."""

from __future__ import annotations

import pytest
from guardrail.errors import OptionError
from guardrail.options import Options, parse_options


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
