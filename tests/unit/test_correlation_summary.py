"""One scheduled search runs correlatepolicydenied and keeps the verdicts; everything else reads them.

Checked on the app's own files: exactly one scheduled search runs the command; the alerts and
views that need verdicts read the summary (a view over its time picker's range), and every field
they read is stored; the evidence macros carry
their filters; one macro holds the lookback and it is the command's; the options the search passes
are the ones its evidence windows are computed from. Run end to end on the SPL evaluator (the
engine as the command): re-running a window updates the verdicts instead of adding rows, and the
verdicts read back are the ones the engine gives over the full, unnarrowed stream.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Dict, List, Set, Tuple

import pytest
from guardrail.correlate.index import CHECK_BUCKET
from guardrail.correlate.model import OUTPUT_FIELDS
from guardrail.correlate.options import OPTION_TABLE, OPTIONS_BY_NAME, Options, parse_options

from devtools.conf import ROOT, parse_conf
from devtools.evalspl import Env, Fields, KVStore, evaluate, run_search
from devtools.narrow import adversarial, equivalence, keys, summary
from devtools.narrow.events import index_events
from devtools.scenarios import DAY0, Scenario
from devtools.splcheck import AppContent, Macro, app_searches, expand, first_word, split_top_level

CONTENT = AppContent.load()
SAVED = parse_conf(ROOT / "default" / "savedsearches.conf")
MACROS = {s.name: s for s in parse_conf(ROOT / "default" / "macros.conf")}
CORRELATING_ALERTS = ("guardrail_repeated_denials", "guardrail_service_agent_org_policy",
                      "guardrail_unidentified_caller", "guardrail_denials_across_projects",
                      "guardrail_sensitive_method_denied")


def expanded(text: str, content: AppContent = CONTENT) -> str:
    problems: List[str] = []
    out = expand(text, content, problems)
    assert problems == []
    return out


def commands_of(text: str) -> List[str]:
    """Every command a search runs, subsearches included."""
    found: List[str] = []
    stages = split_top_level(text, "|")
    for i, stage in enumerate(stages):
        word = first_word(stage)
        if i > 0 or not stage.strip():
            found.append(word)
        for sub in re.findall(r"\[([^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*)\]", stage):
            found += commands_of(sub)
    return found


def test_exactly_one_scheduled_search_runs_the_command() -> None:
    running = {s.name: expanded(s.get("search") or "") for s in SAVED if (s.get("enableSched") or "0") == "1"
               and "correlatepolicydenied" in commands_of(expanded(s.get("search") or ""))}
    # the other one counts the NAT log's checks (natlog=checks): it names nobody, and correlates no call
    correlating = [name for name, text in running.items() if "natlog=checks" not in text]
    assert correlating == [summary.SUMMARY]
    assert sorted(running) == sorted([summary.SUMMARY, summary.CHECKS])
    assert "natlog=summary" in running[summary.SUMMARY]


def test_no_saved_search_or_view_runs_the_command_over_unnarrowed_evidence() -> None:
    for item in app_searches():
        text = expanded(item.text) if "`" in item.text else item.text
        if "correlatepolicydenied" not in commands_of(text) or item.where.startswith("macros.conf"):
            continue
        if "natlog=checks" in text:  # the check search: translations keyed by the calls it checks
            assert "guardrail_nat_log_check_input(" in item.text, item.where
            continue
        assert "guardrail_correlate(" in item.text, item.where


def test_the_alerts_read_the_summary_and_find_every_field_they_use() -> None:
    stored = [f.strip() for f in (parse_conf(ROOT / "default" / "transforms.conf")
                                  .stanza("guardrail_verdicts_lookup").get("fields_list") or "").split(",")]  # type: ignore[union-attr]
    record = MACROS["guardrail_verdict_record"].get("definition") or ""
    table = re.search(r"\| table ([^|]+) \|", record)
    assert table and stored == table.group(1).split()
    collection = parse_conf(ROOT / "default" / "collections.conf").stanza("guardrail_verdicts")
    assert collection is not None
    assert {s.key[6:] for s in collection.settings if s.key.startswith("field.")} == set(stored) - {"_key"}
    producible = set(OUTPUT_FIELDS) | {"caller_network_kind", "gcp_violation_type", "org_constraint", "vpcsc_perimeter",
                                       "vpcsc_reason", "vpcsc_unique_id", "status_code", "gcp_log_type"}
    for name in CORRELATING_ALERTS:
        search = SAVED.stanza(name).get("search") or ""  # type: ignore[union-attr]
        assert search.startswith("`guardrail_verdicts("), name
        text = expanded(search)
        used = set(re.findall(r"\b([a-z_]+)\b", text)) & producible
        assert used <= set(stored), (name, used - set(stored))


def test_the_views_read_the_summary_and_find_every_field_they_use() -> None:
    stored = set((parse_conf(ROOT / "default" / "transforms.conf").stanza("guardrail_verdicts_lookup")
                  .get("fields_list") or "").replace(" ", "").split(","))  # type: ignore[union-attr]
    producible = set(OUTPUT_FIELDS) | {"gcp_violation_type", "caller_network_kind"}
    reading = {item.where: item.text for item in app_searches() if item.where.endswith(".xml dataSources.ds_correlated")
               or item.where.endswith(".xml dataSources.ds_attributed")}
    assert set(reading) == {"policy_denied_investigation.xml dataSources.ds_correlated",
                            "user_activity.xml dataSources.ds_attributed"}
    for where, text in reading.items():
        assert text.startswith("`guardrail_verdicts_in_range`\n"), where
        used = set(re.findall(r"\b([a-z_]+)\b", text)) & producible
        assert used and used <= stored, (where, used - stored)


def test_the_views_read_the_verdicts_of_their_time_range() -> None:
    store = KVStore()
    store.upsert(summary.COLLECTION, [{"_key": f"k{i}", "denied_time": str(t), "match_status": "identified"}
                                      for i, t in enumerate((DAY0 - 1, DAY0, DAY0 + 3599.5, DAY0 + 3600, DAY0 + 7200))])
    text = expanded("`guardrail_verdicts_in_range`")
    env = summary.environment([], DAY0 + 86400, store)
    env.earliest, env.latest = DAY0, DAY0 + 3600
    assert sorted(str(r["_key"]) for r in run_search(text, env)) == ["k1", "k2"]
    env.earliest, env.latest = None, None  # all time
    assert len(run_search(text, env)) == 5


def test_every_evidence_macro_carries_its_filters() -> None:
    wanted = {
        "evidence_proxy": ["`guardrail_google_api_request`"],
        "evidence_logon": ["`guardrail_auth_usable`", "`guardrail_interactive_logon`", "`guardrail_public_src`"],
        "evidence_idp": ["`guardrail_auth_usable`"],
        "evidence_signin": ["`guardrail_auth_usable`", "src=*"],
        "evidence_edr": ["`guardrail_edr_usable`"],
        "evidence_edr_logon": ["`guardrail_edr_logon`"],
        "evidence_nat": ["src_translated_ip=*", "src_ip=*"],
        "evidence_vpn": ["src_ip=*", "user=*"],
        "evidence_dhcp": ["dest_ip=*"],
    }
    for name, parts in wanted.items():
        definition = MACROS[name].get("definition") or ""
        assert all(p in definition for p in parts), name
    # CIM Endpoint process events are not read: the engine has no use for them
    assert "tag=process" not in expanded("`identity_evidence`")
    raw = expanded("`guardrail_correlation_input_raw(-20m@m,-5m@m)`")
    for macro in ("guardrail_google_api_request", "guardrail_interactive_logon", "guardrail_edr_usable"):
        assert (MACROS[macro].get("definition") or "") in raw


def test_one_macro_holds_the_lookback_and_it_is_the_commands() -> None:
    spec = OPTIONS_BY_NAME["lookback"]
    lookback = MACROS["guardrail_lookback"].get("definition") or ""
    assert spec.parse(spec, lookback) == spec.default and lookback == spec.default_text
    options = expanded("`guardrail_correlation_options`")
    assert parse_options(dict(w.split("=", 1) for w in options.split())) == Options()
    assert "`guardrail_lookback`" in (MACROS["guardrail_interval_range(2)"].get("definition") or "")
    # nothing else in the app carries an evidence range of its own any more
    everything = " ".join(s.text for s in app_searches())
    assert "guardrail_session_evidence_earliest" not in everything and "-10h" not in everything


# every duration the command takes but the lookback (which the next test covers)
# (and natlog_window, which guardrail_correlate passes itself and only the counts' read follows)
DURATIONS = [spec.name for spec in OPTION_TABLE if spec.syntax == "<duration>"
             and spec.name not in ("lookback", "natlog_window")]


def test_every_duration_option_has_its_macro() -> None:
    assert set(DURATIONS) <= set(keys.OPTION_MACROS) and "fingerprint_window" in DURATIONS
    window = MACROS["guardrail_nat_log_window"].get("definition") or ""
    assert float(window) == Options().natlog_window
    assert (MACROS["guardrail_nat_log_check_bucket_secs"].get("definition") or "") == f"{CHECK_BUCKET:g}"
    correlate = MACROS["guardrail_correlate(2)"].get("definition") or ""
    assert "natlog=summary natlog_window=`guardrail_nat_log_window`" in correlate
    assert "`guardrail_nat_log_count_range($earliest$,$latest$)`" in (
        MACROS["guardrail_nat_log_counts(2)"].get("definition") or "")
    assert "`guardrail_nat_log_window`" in (MACROS["guardrail_nat_log_count_range(2)"].get("definition") or "")


@pytest.mark.parametrize("option", DURATIONS)
def test_the_evidence_windows_follow_the_options_the_command_gets(option: str) -> None:
    for value in (1.0, 45.0, 300.0):
        content = AppContent(dict(CONTENT.macros), CONTENT.commands, CONTENT.lookups)
        macro = keys.OPTION_MACROS[option]
        content.macros[(macro, 0)] = Macro(macro, [], f"{value:g}")
        given = expanded("`guardrail_correlation_options`", content).split()
        passed = parse_options(dict(w.split("=", 1) for w in given))
        assert getattr(passed, option) == value
        assert evaluate(expanded("`guardrail_point_back`", content), {}) == passed.point_back
        assert evaluate(expanded("`guardrail_forward`", content), {}) == passed.forward
        now = DAY0 + 50000.0
        env = Env(now=now)
        for which, macro_name in (("gcp", "guardrail_gcp_range"), ("intervals", "guardrail_interval_range"),
                                  ("key_source", "guardrail_key_source_range")):
            text = expanded(f"`{macro_name}(-20m@m,-5m@m)`", content)
            [row] = run_search(text[1:-1], env)
            lo, hi = getattr(keys.Ranges(now - 20 * 60 - (now % 60), now - 5 * 60 - (now % 60), passed), which)
            assert row["search"] == f"earliest={lo} latest={hi}", which


def test_the_summary_search_is_scheduled_to_cover_what_it_reads() -> None:
    s = SAVED.stanza(summary.SUMMARY)
    assert s is not None and s.get("cron_schedule") == "*/5 * * * *" and s.get("realtime_schedule") == "0"
    assert int(s.get("schedule_window") or "0") < 5 and s.get("disabled") == "1"
    assert (s.get("search") or "").startswith("`guardrail_correlate(-20m@m,-5m@m)`")
    o = Options()
    earliest = int((s.get("dispatch.earliest_time") or "").split("h")[0].lstrip("-"))
    assert earliest * 3600 >= 20 * 60 + o.agent_window + o.lookback
    assert (s.get("dispatch.latest_time") or "") == "-2m@m" and 5 * 60 - o.forward - o.network_tolerance >= 120


def test_correlation_macros_are_described() -> None:
    section = (ROOT / "default" / "macros.conf").read_text(encoding="utf-8")
    block = section[section.index("# --- correlation at scale ---"):section.index("# --- end correlation at scale ---")]
    names = re.findall(r"^\[([^\]]+)\]", block, re.M)
    assert len(names) > 20
    for name in names:
        stanza = MACROS[name]
        assert (stanza.get("description") or "").strip(), name
        if name.endswith("_filter"):
            assert stanza.get("definition") == "search *"
        if "(" in name:
            assert stanza.get("args"), name


# ---- end to end on the evaluator --------------------------------------------------------------


@lru_cache(maxsize=1)
def day() -> Scenario:
    return adversarial.build_day(6, DAY0)


@lru_cache(maxsize=1)
def events() -> List[Fields]:
    return index_events(day().rows)


def run_at(now: float, env: Env) -> List[Fields]:
    env.now = now
    return summary.run_saved_search(summary.SUMMARY, env)


def window_of(now: float) -> range:
    minute = now - now % 60
    return range(int(minute - 20 * 60), int(minute - 5 * 60))


def test_rerunning_a_window_updates_verdicts_instead_of_adding_them() -> None:
    times = sorted(t.time for t in day().truth.values())
    first = math.ceil(times[0] / 60) * 60 + 10 * 60  # the burst of the adversarial day
    env = summary.environment(events(), first)
    store = env.kvstore
    seen: Set[str] = set()
    for now in (first, first, first + 300, first + 600):
        out = run_at(now, env)
        window = window_of(now)
        denied = {k for k, t in day().truth.items() if window.start <= t.time < window.stop}
        assert {r["insert_id"] for r in out} == denied
        seen |= denied
        records = summary.verdicts(store)
        assert set(records) == seen  # one record per denied call, keyed by its insertId
        assert {records[k]["correlated_at"] for k in denied} == {str(int(now))}  # this run's verdicts
    assert len(seen) > 20


def run_checks(env: Env, until: float) -> int:
    """The check search every 15 minutes from the first bucket of the day to ``until``; returns runs."""
    first = min(float(str(e["_time"])) for e in events())
    now, runs = first - first % 900 + 30 * 60, 0
    while now <= until:
        env.now = now
        summary.run_saved_search(summary.CHECKS, env)
        now += 900
        runs += 1
    return runs


def counts_kept(store: KVStore) -> Dict[str, Tuple[str, str]]:
    return {str(r["_key"]): (str(r["nat_log_ok"]), str(r["nat_log_missing"]))
            for r in store.records("guardrail_nat_log_checks")}


def test_the_check_search_keeps_what_the_engine_counts() -> None:
    env = summary.environment(events(), 0.0)
    last = max(float(str(e["_time"])) for e in events())
    assert run_checks(env, last + 3600) > 90  # the whole day, bucket by bucket
    kept = counts_kept(env.kvstore)
    mirror = {f"{c['nat_log_ip']}|{c['_time']}": (c["nat_log_ok"], c["nat_log_missing"])
              for c in equivalence.counts_of(day().rows)}
    assert kept == mirror and len(kept) > 50
    assert any(missing != "0" for _ok, missing in kept.values()) and any(ok != "0" for ok, _m in kept.values())
    # a later run over the same buckets replaces their counts: no record is added
    run_checks(env, last + 3600)
    assert counts_kept(env.kvstore) == kept


def test_the_check_search_counts_each_bucket_once_it_has_ended() -> None:
    s = SAVED.stanza(summary.CHECKS)
    assert s is not None and s.get("cron_schedule") == "2-59/15 * * * *" and s.get("disabled") == "1"
    text = s.get("search") or ""
    assert text.startswith("`guardrail_nat_log_check_input(-30m,-15m)`")
    assert "_time>=`guardrail_nat_log_bucket(-30m)` AND _time<`guardrail_nat_log_bucket(-15m)`" in text
    assert "outputlookup append=true key_field=_key guardrail_nat_log_checks_lookup" in text
    o = Options()
    # the one bucket it counts ended at least 15 minutes before the run: its calls' translations and
    # proxy requests (fingerprint_window after them) are indexed by then; each bucket is counted once
    assert 15 * 60 > o.fingerprint_window + o.network_tolerance


def test_the_alerts_read_back_what_the_engine_says_over_the_full_stream() -> None:
    burst = {k: t for k, t in day().truth.items() if t.scenario == "burst"}
    times = sorted(t.time for t in burst.values())
    env = summary.environment(events(), 0.0)
    run_checks(env, times[-1] + Options().natlog_window + 3600)  # the counts are kept before the runs
    now = math.ceil(times[0] / 300) * 300 + 300
    while now < times[-1] + 1200:  # every run of the summary over the burst
        run_at(float(now), env)
        now += 300
    earliest, latest = int(times[0]), int(times[-1]) + 1
    env.now = latest + 3600.0
    read = run_search(expanded(f"`guardrail_verdicts({earliest},{latest})`"), env)
    assert {str(r["insert_id"]) for r in read} == set(burst)
    assert {float(str(r["_time"])) for r in read} == {round(t.time, 3) for t in burst.values()}
    full = equivalence.verdicts(day().rows, equivalence.production(), earliest, latest,
                                counts=equivalence.counts_of(day().rows))
    mismatched: Dict[str, str] = {}
    for row in read:
        want = full[str(row["insert_id"])]
        for name in ("match_status", "identified_user", "identified_user_key", "identified_host", "candidate_users",
                     "match_evidence"):
            got, expected = row.get(name), want.get(name)
            if (got if isinstance(got, list) else [got] if got else []) != (
                    expected if isinstance(expected, list) else [expected] if expected else []):
                mismatched[str(row["insert_id"])] = name
    assert mismatched == {}


def test_retention_drops_old_verdicts_and_never_rewrites_from_a_cut_read() -> None:
    now = DAY0 + 40 * 86400.0
    store = KVStore()
    store.upsert(summary.COLLECTION, [{"_key": f"k{day_ago}", "denied_time": str(now - day_ago * 86400 - 60),
                                       "match_status": "identified"} for day_ago in range(0, 40)])
    env = summary.environment([], now, store)
    [row] = summary.run_saved_search("guardrail_verdicts_retention", env)
    kept = {f"k{d}" for d in range(0, 40) if now - d * 86400 - 60 >= now - now % 86400 - 30 * 86400}
    assert set(summary.verdicts(store)) == kept and row["verdicts_kept"] == str(len(kept))
    crowded = AppContent(dict(CONTENT.macros), CONTENT.commands, CONTENT.lookups)
    crowded.macros[("guardrail_verdicts_rewrite_max", 0)] = Macro("guardrail_verdicts_rewrite_max", [], "5")
    before = summary.verdicts(store)
    summary.run_saved_search("guardrail_verdicts_retention", env, crowded)
    assert summary.verdicts(store) == before  # more to keep than a read may return: left as it is


def test_retention_keeps_a_day_of_check_counts_and_never_rewrites_from_a_cut_read() -> None:
    now = DAY0 + 10 * 86400.0 + 4000.0
    store = KVStore()
    buckets = [now - now % 900 - i * 3600 for i in range(0, 96)]  # four days, one bucket an hour
    store.upsert("guardrail_nat_log_checks", [
        {"_key": f"203.0.113.10|{b:.0f}", "nat_log_ip": "203.0.113.10", "nat_log_bucket": f"{b:.0f}",
         "nat_log_ok": "3", "nat_log_missing": "0"} for b in buckets])
    env = summary.environment([], now, store)
    [row] = summary.run_saved_search("guardrail_nat_log_checks_retention", env)
    kept = {f"203.0.113.10|{b:.0f}" for b in buckets if b >= now - now % 3600 - 86400}
    assert set(counts_kept(store)) == kept and row["buckets_kept"] == str(len(kept)) and 20 < len(kept) < 30
    assert Options().natlog_window + 2 * 3600 < 86400  # what a correlation reads is kept
    crowded = AppContent(dict(CONTENT.macros), CONTENT.commands, CONTENT.lookups)
    crowded.macros[("guardrail_nat_log_checks_rewrite_max", 0)] = Macro("guardrail_nat_log_checks_rewrite_max", [], "5")
    before = counts_kept(store)
    summary.run_saved_search("guardrail_nat_log_checks_retention", env, crowded)
    assert counts_kept(store) == before  # more to keep than a read may return: left as it is


def test_a_correlation_reads_only_the_counts_of_its_buckets() -> None:
    store = KVStore()
    now = DAY0 + 5 * 86400.0
    window = Options().natlog_window
    buckets = [now - now % 900 - i * 900 for i in range(0, 200)]
    store.upsert("guardrail_nat_log_checks", [
        {"_key": f"203.0.113.10|{b:.0f}", "nat_log_ip": "203.0.113.10", "nat_log_bucket": f"{b:.0f}",
         "nat_log_ok": "1", "nat_log_missing": "0"} for b in buckets])
    earliest, latest = int(now - 20 * 60), int(now - 5 * 60)
    text = expanded(f"| makeresults | `guardrail_nat_log_counts({earliest},{latest})`")
    assert "inputlookup guardrail_nat_log_checks_lookup where [" in text  # filtered by the KV store itself
    rows = [r for r in run_search(text, summary.environment([], now, store)) if r.get("nat_log_ip")]
    got = sorted(float(str(r["nat_log_bucket"])) for r in rows)
    assert got == sorted(b for b in buckets
                         if earliest - Options().agent_window - window - 900 <= b <= latest + window)
    assert 40 < len(got) < 200


def test_the_accelerated_variant_reads_every_field_of_what_it_takes_from_tstats() -> None:
    from guardrail.correlate.evidence import FIELDS_BY_KIND, cim_kind

    text = MACROS["guardrail_correlation_input_accelerated(2)"].get("definition") or ""
    parts = re.findall(r"\[\| tstats (.*?)\]", text)
    assert len(parts) == 2
    kinds = set()
    for part in parts:
        assert "`guardrail_summariesonly`" in part and "`guardrail_interval_range($earliest$,$latest$)`" in part
        by = re.search(r" by _time span=1s (.*?) \|", part)
        tag = re.search(r'eval tag=split\("([^"]+)", ","\)', part)
        assert by and tag
        fields = {f.replace("All_Sessions.", "") for f in by.group(1).split()}
        kind = cim_kind(frozenset(tag.group(1).split(",")))
        kinds.add(kind)
        # every field the command reads of this kind (dest_host is no CIM field: dest_nt_host is)
        assert set(FIELDS_BY_KIND[kind]) - {"dest_host"} <= fields, kind
        filled = re.search(r"foreach ([\w ]+) \[", text)
        assert filled and fields - {"sourcetype"} <= set(filled.group(1).split())
    assert kinds == {"dhcp", "vpn"}
    raw = text.split("| append", 1)[0]
    assert "`evidence_vpn`" not in raw and "`evidence_dhcp`" not in raw
    assert "`evidence_logon`" in raw and "`evidence_edr_logon`" in raw and "`guardrail_keyed_evidence`" in raw
    # appended rows back in the order the command expects, then the older bindings deduplicated
    assert text.rstrip().endswith("| sort 0 - _time | `guardrail_interval_dedup($earliest$,$latest$)`")
    switch = MACROS["guardrail_correlation_input(2)"].get("definition") or ""
    assert switch == "`guardrail_correlation_input_raw($earliest$,$latest$)`"  # raw events by default
