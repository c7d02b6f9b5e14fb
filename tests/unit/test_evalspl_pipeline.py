"""devtools/evalspl: the commands, eval functions and KV store model the triage searches rely on
behave like Splunk's where the app depends on it, and refuse what they do not model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.evalspl import COMMANDS, EvalError, KVStore, evaluate, json_extract_object, run_pipeline


def test_stats_groups_sorted_with_first_values_and_counts() -> None:
    rows = [{"k": "b", "v": "2", "t": "x"}, {"k": "a", "v": "10"}, {"k": "b", "v": "9", "t": "y"}, {"v": "5"}]
    out = run_pipeline("stats count first(t) AS t max(v) AS top values(v) AS vs dc(v) AS n by k", rows)
    assert out == [{"k": "a", "count": "1", "top": "10", "vs": "10", "n": "1"},
                   {"k": "b", "count": "2", "t": "x", "top": "9", "vs": ["2", "9"], "n": "2"}]
    assert run_pipeline("stats count", []) == [{"count": "0"}]  # no by: one row even for no input
    assert run_pipeline("stats count by k", []) == []
    with pytest.raises(EvalError, match="not modelled"):
        run_pipeline("stats perc95(v) by k", rows)
    with pytest.raises(EvalError, match="multivalue"):
        run_pipeline("stats first(m) by k", [{"k": "a", "m": ["1", "2"]}])


def test_sort_numbers_as_numbers_strings_by_code_point() -> None:
    rows = [{"k": "b", "r": "9"}, {"k": "a", "r": "10"}, {"k": "b", "r": "100"}, {"k": "B", "r": "1"}]
    assert [r["r"] for r in run_pipeline("sort 0 k -r", rows)] == ["1", "10", "100", "9"]
    assert [r["r"] for r in run_pipeline("sort - r", rows)] == ["100", "10", "9", "1"]
    with pytest.raises(EvalError):
        run_pipeline("sort 0 r", [{"r": "1"}, {"r": "x"}])
    with pytest.raises(EvalError):
        run_pipeline("sort 0 r", [{"r": "1"}, {}])
    with pytest.raises(EvalError):
        run_pipeline("sort 0 num(r)", rows)


def test_fields_table_rename_search_and_unknown_commands() -> None:
    rows = [{"a": "1", "b": "2", "_key": "k", "ab": "3"}]
    assert run_pipeline("fields a", rows) == [{"a": "1", "_key": "k"}]
    assert run_pipeline("fields - a*", rows) == [{"b": "2", "_key": "k"}]
    assert run_pipeline("table b a", rows) == [{"b": "2", "a": "1"}]
    assert run_pipeline("rename a AS z, b AS y", rows) == [{"z": "1", "y": "2", "_key": "k", "ab": "3"}]
    assert run_pipeline("search *", rows) == rows
    assert run_pipeline("search b=2", rows) == rows and run_pipeline("search b=3", rows) == []
    with pytest.raises(EvalError, match="not modelled"):
        run_pipeline("transaction a", rows)
    assert "transaction" not in COMMANDS


def test_kv_store_outputlookup_upserts_whole_records_and_reads_fields_list(tmp_path: Path) -> None:
    store = KVStore(tmp_path / "kvstore")
    run_pipeline("outputlookup append=true guardrail_triage_lookup", [{"_key": "k1", "status": "new", "owner": "a",
                                                                       "not_in_fields_list": "x"}], kvstore=store)
    run_pipeline("outputlookup append=true key_field=_key guardrail_triage_lookup",
                 [{"_key": "k1", "status": "investigating"}, {"status": "new"}], kvstore=store)
    records = store.records("guardrail_triage")
    assert records[0] == {"_key": "k1", "status": "investigating"}  # replaced, not merged: owner is gone
    assert records[1]["status"] == "new" and len(str(records[1]["_key"])) == 24
    # persisted outside the app, read back by a new store on the same path
    again = KVStore(tmp_path / "kvstore")
    assert run_pipeline("| inputlookup guardrail_triage_lookup", [], kvstore=again)[0]["status"] == "investigating"
    # without append the collection is replaced
    run_pipeline("outputlookup guardrail_triage_lookup", [{"status": "true_positive"}], kvstore=again)
    assert [r["status"] for r in again.records("guardrail_triage")] == ["true_positive"]
    assert json.loads((tmp_path / "kvstore" / "guardrail_triage.json").read_text())[0]["status"] == "true_positive"


def test_kv_store_lookup_is_case_insensitive_only_for_lower_case_data() -> None:
    store = KVStore()
    store.upsert("cloud_accounts", [{"account": "prod-*", "environment": "production", "owner": "o",
                                     "criticality": "high", "name": "n"},
                                    {"account": "MixedCase", "environment": "sandbox", "owner": "o",
                                     "criticality": "low", "name": "m"}])
    out = run_pipeline("lookup cloud_accounts account AS a OUTPUT environment", [{"a": "PROD-eks"}, {"a": "MixedCase"}],
                       kvstore=store)
    assert out[0]["environment"] == "production"
    assert "environment" not in out[1]  # stored in mixed case: never matches (transforms.conf.spec note)
    with pytest.raises(EvalError, match="fields_list"):
        run_pipeline("lookup cloud_accounts account AS a OUTPUT secret", [{"a": "prod-x"}], kvstore=store)


def test_appendpipe_addinfo_and_mvexpand() -> None:
    rows = run_pipeline("appendpipe [ eval x=\"copy\" ] | addinfo", [{"a": "1"}], now=100.0,
                        info={"info_min_time": "40"})
    assert [r.get("x") for r in rows] == [None, "copy"] and rows[0]["info_min_time"] == "40"
    assert run_pipeline("mvexpand m", [{"m": ["a", "b"]}]) == [{"m": "a"}, {"m": "b"}]


def test_new_eval_functions() -> None:
    assert evaluate('md5("abc")', {}) == "900150983cd24fb0d6963f7d28e17f72"
    assert evaluate('in(s, "a", "b")', {"s": "b"}) is True and evaluate('in(s, "a")', {}) is False
    assert evaluate("nullif(a, b)", {"a": "1", "b": "1"}) is None
    assert evaluate("mvjoin(mvdedup(mvappend(a, b, a)), \",\")", {"a": "x", "b": ["y", "x"]}) == "x,y"
    assert evaluate("max(1, 10, 9)", {}) == 10 and evaluate('min("b", "a")', {}) == "a"
    assert evaluate("round(2.5)", {}) == 3 and evaluate("round(-2.5)", {}) == -3
    assert evaluate("round(1.234, 2)", {}) == 1.23
    assert evaluate('like(s, "ab%")', {"s": "abc"}) is True
    assert evaluate('trim(s)', {"s": "  x\t"}) == "x" and evaluate("upper(s)", {"s": "a"}) == "A"
    assert evaluate("json_valid(s)", {"s": "{\"a\":1}"}) is True and evaluate("json_valid(s)", {"s": "{"}) is False
    with pytest.raises(EvalError):
        evaluate('max(1, "a")', {})
    # times format and snap as a user in UTC sees them
    assert evaluate('strftime(t, "%Y-%m-%d %H:%M:%S %Z")', {"t": "1796094000"}) == "2026-12-01 03:00:00 UTC"
    assert evaluate('strftime(relative_time(t, "+90d@d"), "%F")', {"t": "1796094000"}) == "2027-03-01"
    assert evaluate('relative_time(t, "-15m")', {"t": "1000"}) == 100.0
    with pytest.raises(EvalError, match="not modelled"):
        evaluate('relative_time(t, "-1mon@mon")', {"t": "1000"})
    with pytest.raises(EvalError, match="not modelled"):
        evaluate('strftime(t, "%j")', {"t": "1000"})


def test_json_extract_returns_objects_as_json_text() -> None:
    doc = '{"detail":{"findings":[{"Id":"a","n":1.50,"t":[true,null]}]}}'
    assert json_extract_object(doc, "detail.findings{0}") == '{"Id":"a","n":1.50,"t":[true,null]}'
    assert json_extract_object(doc, "detail.findings") == '[{"Id":"a","n":1.50,"t":[true,null]}]'
    assert json_extract_object(doc, "detail.findings{3}") is None
    assert json_extract_object(doc, "nothing") is None
    assert json_extract_object("not json", "a") is None
    with pytest.raises(EvalError, match="scalar"):
        json_extract_object(doc, "detail.findings{0}.Id")
    with pytest.raises(EvalError, match="not modelled"):
        json_extract_object(doc, "detail.findings{}")
