"""devtools/evalspl runs whole searches: time modifiers, the search clauses and commands the
correlation summary uses, subsearches and the KV store. Each behaves as Splunk documents it, and
what it does not model is refused (a search that starts needing it fails its test)."""

from __future__ import annotations

import calendar
from typing import List

import pytest

from devtools.evalspl import Env, EvalError, KVStore, evaluate, run_search, search_matches
from devtools.evalspl.timemod import epoch_of

NOW = float(calendar.timegm((2026, 3, 4, 10, 17, 42, 0, 0, 0)))


@pytest.mark.parametrize(("modifier", "expected"), [
    ("-20m@m", NOW - 20 * 60 - 42),
    ("-12h-20m@m", NOW - 12 * 3600 - 20 * 60 - 42),
    ("@d+8h", float(calendar.timegm((2026, 3, 4, 8, 0, 0, 0, 0, 0)))),
    ("-1d@d", float(calendar.timegm((2026, 3, 3, 0, 0, 0, 0, 0, 0)))),
    ("now", NOW),
    ("1763600000", 1763600000.0),
    ("-90s", NOW - 90),
    ("+2m", NOW + 120),
])
def test_time_modifiers(modifier: str, expected: float) -> None:
    assert epoch_of(modifier, NOW) == expected


def test_what_is_not_a_time_modifier() -> None:
    assert epoch_of("yesterday", NOW) is None
    assert epoch_of("", NOW) is None
    with pytest.raises(EvalError):
        epoch_of("-1mon@mon", NOW)  # months are not modelled


def test_eval_functions_of_the_key_search() -> None:
    assert evaluate('printf("::ffff:%x:%x", 52000, 29189)', {}) == "::ffff:cb20:7205"
    assert evaluate('printf("%04x|%03d|%X", 255, 7, 171)', {}) == "00ff|007|AB"
    assert evaluate('tonumber("cb00", 16)', {}) == 0xCB00
    assert evaluate('tonumber("zz", 16)', {}) is None
    assert evaluate('mvjoin(mvappend("a", split("b,c", ","), null()), ":*")', {}) == "a:*b:*c"
    assert evaluate('mvdedup(mvappend("a", "A", "a", upper("a")))', {}) == ["a", "A"]
    assert evaluate('trim("  x \t")', {}) == "x"
    assert evaluate("max(3, 7.5, 2) + min(4, 1)", {}) == 8.5
    assert evaluate("ceiling(1.2)", {}) == 2
    assert evaluate("isnum(1) AND NOT isnum(\"1\")", {}) is True
    assert evaluate('relative_time(3600 * 24, "-12h")', {}) == 12 * 3600.0
    assert evaluate("time() - now()", {}, now=100.0, clock=145.5) == 45.5
    assert evaluate('md5("x")', {}) == "9dd4e461268c8034f5c8564e155c67a6"
    with pytest.raises(EvalError):
        evaluate('printf("%5.2f", 1)', {})


def test_search_clause_in_lists_ranges_comparisons_and_time() -> None:
    row = {"_time": "1000.5", "logon_type": "3", "src": "10.1.2.3", "ip": "2001:db8::5", "n": "15"}
    assert search_matches('logon_type IN ("2", "3")', row)
    assert search_matches("logon_type IN (2, 3)", row)
    assert not search_matches('NOT logon_type IN ("3", "network")', row)
    assert search_matches("src=10.0.0.0/8 NOT src=192.168.0.0/16", row)
    assert search_matches("ip=2001:db8::/32", row) and not search_matches("ip=10.0.0.0/8", row)
    assert search_matches("n>=15 AND n<16", row) and not search_matches("n>15", row)
    assert search_matches("earliest=1000 latest=1001", row)
    assert not search_matches("earliest=1000.6", row)  # earliest is inclusive,
    assert not search_matches("latest=1000.5", row)  # latest exclusive
    assert search_matches("earliest=-20m@m", {"_time": str(NOW - 60)}, now=NOW)
    assert not search_matches("earliest=-20m@m", {"_time": str(NOW - 3600)}, now=NOW)


def test_a_search_with_subsearches_and_statistics() -> None:
    events = [{"_time": str(t), "k": k, "v": str(v)} for t, k, v in
              [(10, "a", 1), (20, "b", 5), (30, "a", 2), (40, "a", 9), (50, "c", 4)]]
    env = Env(events=events, now=100.0)
    # the subsearch's search field becomes search text: k="a" OR k="c"
    rows = run_search('k=* [search v<3 | stats count by k | eval search="k=" . k | fields search] '
                      '| stats count AS n max(v) AS top values(v) AS seen by k', env)
    assert rows == [{"k": "a", "n": "3", "top": "9", "seen": ["1", "2", "9"]}]
    assert env.subsearches[-1][1] == "( ( k=a ) )"
    rows = run_search("k=* | sort 0 k _time | streamstats current=f max(v) AS before by k "
                      "| eventstats count AS total | table k v before total", env)
    assert [(r["k"], r.get("before"), r["total"]) for r in rows] == [
        ("a", None, "5"), ("a", "1", "5"), ("a", "2", "5"), ("b", None, "5"), ("c", None, "5")]
    # base search results come newest first, as splunkd returns them
    assert [r["_time"] for r in run_search("k=a", env)] == ["40", "30", "10"]


def test_generating_and_appending_commands() -> None:
    env = Env(events=[], now=100.0, clock=130.0)
    rows = run_search('| makeresults count=2 | eval x=split("p,q", ",") | mvexpand x | dedup x '
                      '| append [| makeresults | eval x="r"] | addinfo | eval late=time() - info_search_time '
                      '| fields x late', env)
    assert [(r["x"], r["late"]) for r in rows] == [("p", "30"), ("q", "30"), ("r", "30")]
    rows = run_search('| makeresults | eval x=1 | appendpipe [stats count AS c | eval x=2] | fields x', env)
    assert [r["x"] for r in rows] == ["1", "2"]


def test_kv_store_upserts_by_key_and_answers_where_clauses() -> None:
    store = KVStore()
    env = Env(events=[], now=100.0, kvstore=store)
    for status in ("unidentified", "identified"):
        run_search(f'| makeresults | eval _key="abc", denied_time=5, match_status="{status}", scratch=1 '
                   '| outputlookup append=true key_field=_key guardrail_verdicts_lookup', env)
    run_search('| makeresults | eval _key="def", denied_time=50, match_status="ambiguous" '
               '| outputlookup append=true key_field=_key guardrail_verdicts_lookup', env)
    records = {r["_key"]: r for r in store.records("guardrail_verdicts")}
    assert sorted(records) == ["abc", "def"] and records["abc"]["match_status"] == "identified"
    assert "scratch" not in records["abc"]  # only the lookup's fields_list is written
    rows = run_search('| inputlookup guardrail_verdicts_lookup where denied_time>=1 AND denied_time<10', env)
    assert [r["_key"] for r in rows] == ["abc"]
    run_search('| inputlookup guardrail_verdicts_lookup where denied_time>=10 | outputlookup guardrail_verdicts_lookup',
               env)  # replace: drops "abc"
    assert [r["_key"] for r in store.records("guardrail_verdicts")] == ["def"]


@pytest.mark.parametrize("search", [
    "k=* | transaction k",  # a command that is not modelled
    "k=* | stats perc95(v) by k",  # nor is every statistical function
    "k=* [search k=nothing | fields search]",  # an empty subsearch: what splunkd inserts is not modelled
    "k=* [search k=* | fields k]",  # only subsearches returning a search field
])
def test_what_is_not_modelled_is_refused(search: str) -> None:
    env = Env(events=[{"_time": "1", "k": "a", "v": "1"}], now=10.0)
    with pytest.raises(EvalError):
        run_search(search, env)


def test_custom_commands_are_supplied_by_the_caller() -> None:
    seen: List[str] = []

    def double(rows, args, env):  # type: ignore[no-untyped-def]
        seen.append(args)
        return rows + rows

    env = Env(events=[{"_time": "1", "k": "a"}], now=10.0, commands={"double": double})
    assert len(run_search("k=a | double twice=true", env)) == 2 and seen == ["twice=true"]
