"""devtools/evalspl.py itself: the eval subset, JSON flattening and the lookup matcher must behave
like Splunk where the knowledge layer depends on it, and refuse what they do not model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from devtools.conf import ROOT
from devtools.evalspl import EvalError, Lookup, as_field, evaluate, flatten_json, search_matches, spath_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "knowledge"


def test_flatten_names_fields_like_kv_mode_json() -> None:
    fields = flatten_json('{"data":{"protoPayload":{"metadata":{"@type":"t","dryRun":true},'
                          '"status":{"code":7,"details":[{"violations":[{"type":"A"},{"type":"B"}]}]},'
                          '"authorizationInfo":[{"granted":false}]},"tags":["x","y"],"n":null}}')
    assert fields["data.protoPayload.metadata.@type"] == "t"
    assert fields["data.protoPayload.metadata.dryRun"] == "true"
    assert fields["data.protoPayload.status.code"] == "7"
    assert fields["data.protoPayload.status.details{}.violations{}.type"] == ["A", "B"]
    assert fields["data.protoPayload.authorizationInfo{}.granted"] == "false"
    assert fields["data.tags{}"] == ["x", "y"]
    assert "data.n" not in fields


def test_flatten_stops_at_the_extraction_cutoff() -> None:
    # limits.conf [spath] extraction_cutoff (5000 bytes by default) bounds KV_MODE = json.
    raw = '{"a":"' + "x" * 6000 + '","b":"late","c":{"d":1}}'
    assert "b" not in flatten_json(raw) and "c.d" not in flatten_json(raw)
    assert "a" not in flatten_json(raw)  # its value ends past the cut
    assert flatten_json(raw, cutoff=None)["b"] == "late"
    assert flatten_json('{"a":"' + "x" * 100 + '","b":"early"}')["b"] == "early"
    # counted in bytes, not characters
    assert "b" not in flatten_json('{"a":"' + "\u00e9" * 2500 + '","b":"late"}')


def test_spath_reads_past_the_extraction_cutoff() -> None:
    # eval spath(X, "<path>") reads the whole value; only extract-all mode stops at the cutoff.
    raw = ('{"a":"' + "x" * 6000 + '","b":{"c":7,"d":true,"e":null,"f":1.50,"g":""},'
           '"arr":[{"v":[{"t":"A"},{"t":"B"}]},{"w":1},{"v":[{"t":"C"}]}],"m":{"@type":"T"}}')
    assert "b.c" not in flatten_json(raw)
    fields = {"_raw": raw}
    assert evaluate('spath(_raw, "b.c")', fields) == "7"
    assert evaluate('spath(_raw, "b.d")', fields) == "true"
    assert evaluate('spath(_raw, "b.f")', fields) == "1.50"  # JSON spelling, as KV_MODE = json
    assert evaluate('spath(_raw, "b.g")', fields) == ""
    assert evaluate('spath(_raw, "b.e")', fields) is None  # JSON null: no value
    assert evaluate('spath(_raw, "b.missing")', fields) is None
    assert evaluate('spath(_raw, "nothing.here")', fields) is None
    assert evaluate('spath(_raw, "arr{}.v{}.t")', fields) == ["A", "B", "C"]
    assert evaluate('mvfind(spath(_raw, "arr{}.v{}.t"), "^C$")', fields) == 2
    assert evaluate('spath(_raw, "arr{}.w")', fields) == "1"
    assert evaluate('spath(_raw, "m.@type")', fields) == "T"
    assert evaluate('spath(nothing, "b.c")', fields) is None
    assert evaluate("len(_raw) > 5000", fields) is True


def test_spath_names_values_like_kv_mode_json() -> None:
    """Over every sample event, spath() of each path KV_MODE = json names (read without the
    cutoff) gives the same value, multivalue included. Keys containing dots (Pub/Sub attribute
    names) cannot be written as a dot path and are left out."""
    cases = json.loads((FIXTURES / "events.json").read_text(encoding="utf-8"))
    compared = 0
    for case in cases:
        for path, value in flatten_json(case["raw"], cutoff=None).items():
            if path.startswith("attributes."):
                continue
            assert spath_json(case["raw"], path) == value, (case["name"], path)
            compared += 1
    assert compared > 200


def test_spath_refuses_what_it_does_not_model() -> None:
    with pytest.raises(EvalError, match="not JSON"):
        spath_json('{"a": 1', "a")
    with pytest.raises(EvalError, match="not modelled"):
        spath_json('{"a": [1, 2]}', "a{0}")
    with pytest.raises(EvalError, match="object or array"):
        spath_json('{"a": {"b": 1}}', "a")
    with pytest.raises(EvalError, match="without"):
        spath_json('{"a": [{"b": 1}]}', "a.b")


def test_null_propagation_and_coalesce() -> None:
    assert evaluate("coalesce(a, 'b.c', \"x\")", {"b.c": "1"}) == "1"
    assert evaluate("coalesce(a, b)", {}) is None
    assert evaluate("if(a==\"1\", \"y\", \"n\")", {}) == "n"  # null comparison is not true
    assert evaluate("isnull(a) AND isnotnull(b)", {"b": ""}) is True
    assert evaluate("match(a, \"x\")", {}) is None
    assert evaluate("len(a)", {"a": "abc"}) == 3


def test_numeric_and_string_comparison() -> None:
    assert evaluate("code==7", {"code": "7"}) is True
    assert evaluate("code!=0", {"code": "0"}) is False
    assert evaluate("a==\"X\"", {"a": "x"}) is False  # eval comparisons are case-sensitive
    assert evaluate("1 + 2 * 3", {}) == 7
    assert evaluate("7 % 3", {}) == 1
    assert evaluate("\"a\" . 1", {}) == "a1"


def test_regex_functions_and_string_escapes() -> None:
    assert evaluate('replace(ua, "(,gzip\\(gfe\\))+$", "")', {"ua": "x,gzip(gfe),gzip(gfe)"}) == "x"
    assert evaluate('replace(s, "^a(\\d+)$", "\\1")', {"s": "a42"}) == "42"
    assert evaluate('match(s, "\\"q\\"")', {"s": 'say "q"'}) is True


def test_multivalue_functions() -> None:
    fields = {"t": ["VPC_SERVICE_CONTROLS", "constraints/x"], "d": ["id1", "id2"]}
    assert evaluate('mvfind(t, "^constraints/")', fields) == 1
    assert evaluate('mvindex(d, mvfind(t, "^constraints/"))', fields) == "id2"
    assert evaluate('mvindex(d, mvfind(t, "^nothing$"))', fields) is None
    assert evaluate('mvzip(t, d, "|")', fields) == ["VPC_SERVICE_CONTROLS|id1", "constraints/x|id2"]
    assert evaluate('mvmap(d, if(d=="id2", d . "!", null()))', fields) == "id2!"
    assert evaluate("mvcount(d)", fields) == 2
    with pytest.raises(EvalError):
        evaluate('match(t, "x")', fields)  # scalar function on a multivalue field is not modelled


def test_cidrmatch_compares_addresses() -> None:
    assert evaluate('cidrmatch("fe80::/10", ip)', {"ip": "FE80:0000::0001"}) is True
    assert evaluate('cidrmatch("10.0.0.0/8", ip)', {"ip": "fe80::1"}) is False
    assert evaluate('cidrmatch("10.0.0.0/8", ip)', {"ip": "private"}) is False


def test_unsupported_function_fails() -> None:
    with pytest.raises(EvalError, match="not modelled"):
        evaluate("sha256(x)", {"x": "a"})
    with pytest.raises(EvalError):
        evaluate("strptime(x, \"%Y-%m-%d\")", {"x": "2026-01-01"})  # user time zone: not modelled
    with pytest.raises(EvalError):
        as_field(True)


def test_search_clause_precedence() -> None:
    # In the search command OR binds tighter than the implicit AND.
    assert search_matches("a=1 b=2 OR c=3", {"a": "1", "c": "3"}) is True
    assert search_matches("a=1 b=2 OR c=3", {"c": "3"}) is False
    assert search_matches("NOT x=true", {}) is True
    assert search_matches("x!=true", {}) is False
    assert search_matches('sourcetype="google:gcp:pubsub:audit:*"',
                          {"sourcetype": "google:gcp:pubsub:audit:data_access"})
    assert search_matches("tag=vpn", {"tag": ["network", "session", "vpn"]})


def write_lookup(tmp: Path, rows: list, stanza: str) -> Path:
    (tmp / "default").mkdir()
    (tmp / "lookups").mkdir()
    with open(tmp / "lookups" / "t.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows(rows)
    (tmp / "default" / "transforms.conf").write_text(f"[t]\nfilename = t.csv\n{stanza}", encoding="utf-8")
    return tmp


def test_cidr_and_wildcard_match_types_combine(tmp_path: Path) -> None:
    root = write_lookup(tmp_path, [["cidr", "who", "out"], ["10.0.0.0/8", "ops-*", "a"], ["0.0.0.0/0", "*", "b"],
                                   ["192.0.2.7", "x", "c"]],
                        "match_type = CIDR(cidr), WILDCARD(who)\ncase_sensitive_match = false\n")
    lookup = Lookup.load("t", root)
    assert lookup.outputs({"cidr": "10.1.1.1", "who": "OPS-alice"}, ["out"]) == {"out": ["a", "b"]}
    assert lookup.outputs({"cidr": "11.1.1.1", "who": "ops-alice"}, ["out"]) == {"out": "b"}
    assert lookup.outputs({"cidr": "192.0.2.7", "who": "x"}, ["out"]) == {"out": ["b", "c"]}
    assert lookup.outputs({"cidr": "2001:db8::1", "who": "x"}, ["out"]) == {"out": None}
    assert lookup.outputs({"cidr": None, "who": "x"}, ["out"]) == {"out": None}


def test_exact_match_is_case_sensitive_by_default_and_max_matches(tmp_path: Path) -> None:
    root = write_lookup(tmp_path, [["k", "v"], ["A", "1"], ["A", "2"], ["a", "3"]], "max_matches = 1\n")
    lookup = Lookup.load("t", root)
    assert lookup.outputs({"k": "A"}, ["v"]) == {"v": "1"}
    assert lookup.outputs({"k": "a"}, ["v"]) == {"v": "3"}


def test_shipped_lookups_have_the_documented_columns() -> None:
    docs = (ROOT / "docs" / "lookups.md").read_text(encoding="utf-8")
    reference = {"gcp_org_policy_constraints": ["constraint", "constraint_type", "category", "severity", "description"]}
    site_data = {
        "gcp_project_services": ["project", "service", "approved_by", "ticket", "expires"],
        "guardrail_allowlist": ["rule_id", "kind", "source", "principal", "caller_cidr", "project", "service", "method",
                                "account", "rule", "resource", "days", "window_start", "window_end", "expires",
                                "ticket", "owner", "reason"],
        "egress_networks": ["cidr", "kind", "site", "description"],
        "cloud_accounts": ["account", "provider", "name", "environment", "owner", "criticality", "notes"],
    }
    for name, columns in reference.items():
        lookup = Lookup.load(name)
        assert not lookup.is_kvstore and lookup.rows and list(lookup.rows[0]) == columns, name
        assert f"`lookups/{name}.csv`" in docs, name
    for name, columns in site_data.items():
        lookup = Lookup.load(name)
        assert lookup.is_kvstore and lookup.fields_list == ["_key", *columns], name
        with open(ROOT / "lookups" / f"{name}.example.csv", newline="", encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == columns, name
        assert f"`lookups/{name}.example.csv`" in docs, name
    for name, columns in {**reference, **site_data}.items():
        for column in columns:
            assert f"`{column}`" in docs, (name, column)
