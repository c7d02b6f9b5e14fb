"""Independent proof of correlatepolicydenied: the real command, over SCP v2, against ground truth.

Every scenario runs newest first (as Splunk sends it) and oldest first, with several chunk sizes;
the combined stream (all scenarios plus background noise) also runs locally jittered and fully
shuffled. The bar for each run: precision >= 0.99, coverage >= 0.95, no name where the truth is
"cannot tell", every denied event out exactly once, every evidence row dropped, input fields intact,
normalised fields and verdict fields as the contract defines them, the right device where the chain
went through one. The per-scenario table goes to build/scenarios.md (and to the terminal with
``pytest -s``). The command runs under Splunk 9's Python 3.9 ($SCENARIO_PYTHON overrides).
"""

from __future__ import annotations

import ipaddress
import json
import random
import shutil
from functools import lru_cache
from typing import Dict, List

import pytest

from devtools.scenarios import SCENARIOS, Scenario, build_all, evaluate, ipv6_forms, read_csv, write_csv
from devtools.scp import BIN

PER_SCENARIO = 20
PRECISION = 0.99
COVERAGE = 0.95


@lru_cache(maxsize=1)
def scenarios() -> List[Scenario]:
    return build_all(per_scenario=PER_SCENARIO)


@lru_cache(maxsize=1)
def results() -> Dict[str, List[evaluate.Result]]:
    out: Dict[str, List[evaluate.Result]] = {}
    all_results = evaluate.run_all(scenarios())
    for r in all_results:
        out.setdefault(r.scenario, []).append(r)
    text = evaluate.write_report(all_results)
    print("\n" + text)
    return out


needs_command = pytest.mark.skipif(
    not evaluate.SCRIPT.exists() or not (BIN / "lib" / "splunklib").is_dir(),
    reason="bin/correlatepolicydenied.py or the vendored bin/lib is missing (run `make vendor`)",
)


# ---- the generator itself ----------------------------------------------------------------------


def test_generator_is_deterministic() -> None:
    a, b = build_all(per_scenario=3), build_all(per_scenario=3)
    assert [s.rows for s in a] == [s.rows for s in b]
    assert [sorted(s.truth) for s in a] == [sorted(s.truth) for s in b]


def test_every_chain_and_trap_is_generated_with_truth() -> None:
    names = {s.name for s in scenarios()}
    assert len(names) == len(SCENARIOS) + 1
    for sc in scenarios():
        assert sc.truth, sc.name
        cannot_tell = [t for t in sc.truth.values() if t.user is None]
        if sc.name in ("nat_same_second", "unknown_external_ip", "gce_internal_ip", "idp_shared_egress",
                       "selfjoin_same_ua", "vpn_ended", "proxy_coincidence", "edr_shared_egress",
                       "proxy_no_agent", "nat_log_incomplete", "explained_by_polling"):
            assert len(cannot_tell) == len(sc.truth), sc.name
        if sc.name in ("dhcp_reassigned", "home_ip_yesterday", "cloud_shell", "busy_office", "edr_aip",
                       "proxy_fingerprint", "gcp_selfjoin_ipua", "weak_observation_alone", "edr_competitor",
                       "one_connection_many_records", "explained_by_own_call", "fingerprint_clock",
                       "vpn_start_end", "fdr_aid", "agent_origin_reads", "logon_clock_skew", "dhcp_released",
                       "remote_sessions", "office_day"):
            assert 0 < len(cannot_tell) < len(sc.truth), sc.name


def test_denied_rows_are_policy_denied_log_entries() -> None:
    combined = scenarios()[-1]
    seen = set()
    for row in combined.rows:
        iid = evaluate.insert_id(row)  # type: ignore[arg-type]
        if iid not in combined.truth:
            continue
        seen.add(iid)
        try:
            doc = json.loads(str(row["_raw"]))
        except ValueError:  # cut at TRUNCATE: the extracted fields say what it is
            assert len(str(row["_raw"])) == 10000
            log = row.get("data.logName") or row.get("logName")
            assert str(log).endswith("cloudaudit.googleapis.com%2Fpolicy")
            continue
        entry = doc["data"] if "data" in doc else doc
        proto = entry["protoPayload"]
        assert proto["@type"] == "type.googleapis.com/google.cloud.audit.AuditLog"
        assert entry["logName"].endswith("cloudaudit.googleapis.com%2Fpolicy") or (
            proto["status"]["code"] in (7, 9) and "constraints/" in json.dumps(proto["status"]))
        ua = proto["requestMetadata"]["callerSuppliedUserAgent"]
        assert ua.endswith(",gzip(gfe)") or proto["requestMetadata"]["callerIp"] == "private"
    assert seen == set(combined.truth)


def test_ipv6_forms_are_one_address_written_differently() -> None:
    for addr in ("2001:db8:1a::3c", "2a02:8108:1a:ff01::3c", "2600:1700:5:6::a"):
        forms = ipv6_forms(addr)
        assert len(set(forms)) == len(forms)
        assert {ipaddress.ip_address(f) for f in forms} == {ipaddress.ip_address(addr)}


def test_csv_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sc = build_all(per_scenario=2)[0]
    write_csv(tmp_path / "x.csv", sc.newest_first())
    assert read_csv(tmp_path / "x.csv") == [{k: v for k, v in r.items() if v != ""} for r in sc.newest_first()]


def test_scoring_counts_wrong_missed_and_cannot_tell() -> None:
    sc = build_all(per_scenario=2)[0]
    ids = sorted(sc.truth)
    rows = {evaluate.insert_id(r): r for r in sc.rows if evaluate.insert_id(r) in sc.truth}  # type: ignore[arg-type]
    out = []
    for i, iid in enumerate(ids):
        row = dict(rows[iid])
        truth = sc.truth[iid]
        row["match_status"] = "identified"
        row["identified_user"] = "CORP\\" + (truth.user or "x") if i else "someone.else"
        out.append(row)
    res = evaluate.score(sc, [*out, out[0]], "desc", 10)
    assert res.names_given == len(ids) and res.right == len(ids) - 1
    assert res.duplicated == [ids[0]] and len(res.wrong) == 1
    assert res.precision < PRECISION


# ---- the command -------------------------------------------------------------------------------


@needs_command
@pytest.mark.parametrize("name", [fn.__name__[3:] for fn in SCENARIOS] + ["combined"])
def test_scenario(name: str) -> None:
    runs = results()[name]
    assert runs
    for r in runs:
        where = f"{name} {r.order}/{r.chunk}"
        assert not r.error, where + ": " + r.error
        assert not r.missing, f"{where}: denied events not output: {r.missing[:5]}"
        assert not r.duplicated, f"{where}: denied events output twice: {r.duplicated[:5]}"
        assert r.extra_rows == 0, f"{where}: {r.extra_rows} evidence/other rows not dropped"
        assert r.bad_status == 0, f"{where}: match_status outside the contract"
        assert not r.field_errors, f"{where}: output fields: {r.field_errors[:5]}"
        assert r.named_when_cannot_tell == 0, "{}: named someone where the truth is cannot tell:\n{}".format(
            where, "\n".join(m.line() for m in r.wrong if m.expected is None))
        assert not r.not_masked_wrong, "{}: visible principal not reported as not_masked:\n{}".format(
            where, "\n".join(m.line() for m in r.not_masked_wrong))
        assert r.precision >= PRECISION, "{}: precision {:.3f}:\n{}".format(
            where, r.precision, "\n".join(m.line() for m in r.wrong))
        if r.coverage is not None:
            assert r.coverage >= COVERAGE, "{}: coverage {:.3f}:\n{}".format(
                where, r.coverage, "\n".join(m.line() for m in r.missed))


@needs_command
def test_same_second_nat_says_ambiguous_with_both_people() -> None:
    sc = next(s for s in scenarios() if s.name == "nat_same_second")
    out = evaluate.run_command(evaluate.SCRIPT, evaluate.python(), [], sc.newest_first())
    by_id = {evaluate.insert_id(r): r for r in out.rows}  # type: ignore[arg-type]
    for iid, truth in sc.truth.items():
        row = by_id[iid]
        assert row.get("match_status") == "ambiguous", (iid, row.get("match_status"))
        people = truth.note.split(" both behind ")[0].split(" and ")
        cands = {evaluate.norm_user(c) for c in evaluate._list(row.get("candidate_users"))}
        assert set(people) <= cands, (iid, people, cands)


@needs_command
def test_keep_evidence_passes_every_row_through_with_the_same_verdicts() -> None:
    sc = next(s for s in scenarios() if s.name == "proxy_fingerprint")
    rows = sc.newest_first()
    base = evaluate.run_command(evaluate.SCRIPT, evaluate.python(), [], rows)
    kept = evaluate.run_command(evaluate.SCRIPT, evaluate.python(), ["keep_evidence=true"], rows)
    assert kept.returncode == 0, kept.stderr
    assert len(kept.rows) == len(rows)
    verdict = {}
    for r in base.rows:
        verdict[evaluate.insert_id(r)] = (r.get("match_status"), r.get("identified_user"))  # type: ignore[arg-type]
    kept_denied = [r for r in kept.rows if evaluate.insert_id(r) in sc.truth]  # type: ignore[arg-type]
    assert len(kept_denied) == len(sc.truth)
    for r in kept_denied:
        assert verdict[evaluate.insert_id(r)] == (r.get("match_status"), r.get("identified_user"))  # type: ignore[arg-type]


@needs_command
def test_unordered_input_over_the_buffer_cap_still_outputs_every_event_once() -> None:
    sc = scenarios()[-1]
    rows = list(sc.rows)
    random.Random(5).shuffle(rows)
    out = evaluate.run_command(evaluate.SCRIPT, evaluate.python(), ["max_buffer=50"], rows, chunk_size=1000)
    assert out.returncode == 0, out.stderr
    res = evaluate.score(sc, out.rows, "shuffled", 1000)
    assert not res.missing and not res.duplicated and res.extra_rows == 0
    assert any("max_buffer" in " ".join(m) for m in out.messages), out.messages


def test_the_demo_sample_is_what_its_generator_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from devtools import demo

    rows, expected = demo.build()
    write_csv(tmp_path / "events.csv", rows)
    assert (tmp_path / "events.csv").read_bytes() == (demo.SAMPLE / "events.csv").read_bytes(), (
        "samples/motivating_case is stale: run `python -m devtools.demo --regenerate`")
    assert [e["match_status"] for e in expected] == ["identified"] * 4 + ["ambiguous"]


@needs_command
def test_evidence_from_a_lookup_file_gives_the_same_verdicts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`gcp_policy_denied | correlatepolicydenied evidence=<lookup>`: the evidence comes from a CSV."""
    app = tmp_path / "gcp_guardrail"
    shutil.copytree(BIN, app / "bin", ignore=shutil.ignore_patterns("__pycache__"))
    (app / "lookups").mkdir()
    sc = scenarios()[-1]
    denied = [r for r in sc.newest_first() if evaluate.insert_id(r) in sc.truth]  # type: ignore[arg-type]
    write_csv(app / "lookups" / "identity_evidence.csv",
              [r for r in sc.rows if evaluate.insert_id(r) not in sc.truth])  # type: ignore[arg-type]
    out = evaluate.run_command(app / "bin" / "correlatepolicydenied.py", evaluate.python(),
                               ["evidence=identity_evidence"], denied)
    assert out.returncode == 0, out.stderr
    res = evaluate.score(sc, out.rows, "lookup", 50000)
    mixed = results()["combined"][0]
    assert not res.missing and not res.duplicated and res.extra_rows == 0
    assert res.named_when_cannot_tell == 0, [m.line() for m in res.wrong]
    assert res.precision >= PRECISION, [m.line() for m in res.wrong]
    assert res.coverage is not None and res.coverage >= COVERAGE, [m.line() for m in res.missed]
    assert res.statuses == mixed.statuses


def test_a_firewall_that_loses_half_its_translations_names_nobody_through_it() -> None:
    from devtools.scenarios import lossy

    r = lossy.day(0.5, seed=11, denials=60)
    assert r.names_given == r.right and r.named_when_cannot_tell == 0
    assert r.attributable and r.names_given >= COVERAGE * r.attributable


def test_the_check_counts_see_a_firewall_that_loses_one_connection_in_twenty() -> None:
    """Judged over 2 hours of the stream, the few checks of a busy egress miss a 5% loss and calls
    through it are named; the day's counts (12 hours either side) see it."""
    from guardrail.correlate.options import Options

    from devtools.scenarios import lossy

    stream = lossy.day(0.05, seed=14, denials=400)
    counted = lossy.day(0.05, seed=14, denials=400, options=Options(natlog="summary"))
    assert stream.named_when_cannot_tell > 0
    assert counted.named_when_cannot_tell == 0 and counted.names_given == counted.right
    assert counted.names_given >= COVERAGE * counted.attributable
