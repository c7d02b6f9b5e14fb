"""The app's SPL passes the project's checker, and the checker catches each class of mistake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict

import pytest

from devtools import splcheck
from devtools.splcheck import AppContent, Macro, check_search

ROOT = Path(__file__).resolve().parents[2]


def test_every_app_search_passes() -> None:
    problems, count = splcheck.check_app()
    assert [str(p) for p in problems] == []
    assert count >= 0


@pytest.fixture
def content() -> AppContent:
    macros: Dict[tuple[str, int], Macro] = {
        ("gcp_audit_index", 0): Macro("gcp_audit_index", [], "(index=gcp)"),
        ("gcp_audit", 0): Macro("gcp_audit", [], "`gcp_audit_index` sourcetype=google:gcp:*"),
        ("within", 1): Macro("within", ["seconds"], "where delta <= $seconds$"),
        ("x_filter", 0): Macro("x_filter", [], "search *"),
    }
    return AppContent(macros, {"correlatepolicydenied"}, {"egress_networks", "gcp_project_services.csv"})


GOOD = ('`gcp_audit` "a|b" | eval s=if(x="]", 1, 0) | lookup egress_networks cidr AS caller_ip '
        '| search [| inputlookup gcp_project_services.csv | fields project] | `within(30)` '
        '| correlatepolicydenied window=300 | stats count by user | `x_filter`')


def test_a_correct_search_passes(content: AppContent) -> None:
    assert check_search(GOOD, content) == []


@pytest.mark.parametrize(("search", "expected"), [
    ('`gcp_audit` "unterminated | stats count', "unbalanced double quote"),
    ("`gcp_audit` | eval x=(1 + 2 | stats count", "unclosed '('"),
    ("`gcp_audit` | search [| inputlookup gcp_project_services.csv", "unclosed '['"),
    ("`gcp_audit` | stats count)", "unbalanced ')'"),
    ("`gcp_audit | stats count", "unbalanced backtick"),
    ("`gcp_audit` | | stats count", "empty pipeline stage"),
    ("`gcp_audit` | stats count |", "empty pipeline stage"),
    ("`gcp_audit` | statz count", "unknown command 'statz'"),
    ("`gcp_audit` | search [| inputlukup x]", "unknown command 'inputlukup'"),
    ("`gcp_audti` | stats count", "undefined macro `gcp_audti`"),
    ("`gcp_audit` | `within`", "macro `within` called with 0 argument(s)"),
    ("`gcp_audit` | `within(1, 2)`", "macro `within` called with 2 argument(s)"),
    ("`gcp_audit` | lookup egress_netwroks cidr", "unknown lookup 'egress_netwroks'"),
    ("| inputlookup nowhere.csv", "unknown lookup 'nowhere.csv'"),
    ("`gcp_audit` | outputlookup append=t missing_kv", "unknown lookup 'missing_kv'"),
    ("index=gcp sourcetype=x | stats count", "literal index="),
    ("`gcp_audit` OR INDEX = main", "literal index="),
])
def test_each_mistake_is_caught(content: AppContent, search: str, expected: str) -> None:
    problems = check_search(search, content)
    assert any(expected in p for p in problems), problems


def test_index_in_a_quoted_string_is_not_a_literal_index(content: AppContent) -> None:
    assert check_search('`gcp_audit` | eval note="set index=gcp in the macro"', content) == []


def _app(tmp_path: Path, saved: str, macros: str = "") -> list[str]:
    (tmp_path / "default").mkdir(parents=True)
    (tmp_path / "lookups").mkdir()
    (tmp_path / "default" / "macros.conf").write_text(
        "[a_index]\ndefinition = (index=a)\n\n[a_filter]\ndefinition = search *\n\n"
        "[b_filter]\ndefinition = search *\n" + macros)
    (tmp_path / "default" / "savedsearches.conf").write_text(saved)
    problems, _ = splcheck.check_app(tmp_path)
    return [str(p) for p in problems]


def test_scheduled_search_must_end_with_its_filter_macro(tmp_path: Path) -> None:
    problems = _app(tmp_path, "[s]\nenableSched = 1\ncron_schedule = */5 * * * *\n"
                              "search = `a_index` | stats count\n")
    assert any("does not end with its own `..._filter` macro" in p for p in problems)


def test_filter_macro_is_the_searchs_own(tmp_path: Path) -> None:
    saved = ("[s1]\ncron_schedule = */5 * * * *\nsearch = `a_index` | stats count | `a_filter`\n\n"
             "[s2]\ncron_schedule = */5 * * * *\nsearch = `a_index` | stats count | `a_filter`\n")
    assert any("shared with" in p for p in _app(tmp_path, saved))


def test_literal_index_is_allowed_only_in_index_macros(tmp_path: Path) -> None:
    saved = "[s1]\ncron_schedule = */5 * * * *\nsearch = `a_index` | stats count | `a_filter`\n"
    assert _app(tmp_path / "clean", saved) == []
    problems = _app(tmp_path / "sneaky", saved, "\n[sneaky]\ndefinition = index=main\n")
    assert any("[sneaky]" in p and "literal index=" in p for p in problems)


def test_dashboard_base_searches_need_a_filter_macro(tmp_path: Path) -> None:
    views = tmp_path / "default" / "data" / "ui" / "views"
    views.mkdir(parents=True)
    (tmp_path / "lookups").mkdir()
    (tmp_path / "default" / "macros.conf").write_text("[a_index]\ndefinition = (index=a)\n")
    definition = {"dataSources": {
        "base": {"type": "ds.search", "options": {"query": "`a_index` | stats count"}},
        "chain": {"type": "ds.chain", "options": {"extend": "base", "query": "| where count > 1"}},
    }}
    (views / "v.xml").write_text('<dashboard version="2"><label>v</label><definition><![CDATA['
                                 + json.dumps(definition) + "]]></definition></dashboard>")
    problems = [str(p) for p in splcheck.check_app(tmp_path)[0]]
    assert any("dataSources.base" in p and "dashboard base search" in p for p in problems)
    assert not any("dataSources.chain" in p and "filter" in p for p in problems)


def test_dashboard_token_filters_are_not_pipes(content: AppContent) -> None:
    query = splcheck.resolve_token_filters('`x_filter` | eval owner=$owner|s$, k="$key|u$" | stats count')
    assert query == '`x_filter` | eval owner="$owner$", k="$key$" | stats count'
    assert check_search(query, content) == []


def test_escaped_quotes_stay_inside_their_string(content: AppContent) -> None:
    assert check_search('`gcp_audit` | eval x="a \\" | b" | stats count', content) == []
    assert "unbalanced double quote" in check_search('`gcp_audit` | eval x="a \\"', content)
