"""Verdicts from the narrowed evidence stream equal verdicts from the full stream, row for row.

Over generated days (the labelled scenarios with their background noise, several seeds) and
adversarial days (bursts of denials on one egress, evidence at exactly each tolerance, every
address spelling, service agents, the calls that judge a NAT log, more callers than the key cap),
every run the scheduled search would make (15-minute windows every 5 minutes) and one run over the
whole day are made twice with the engine: over every row of the run's time range, and over the rows
the narrowed search picks from the whole day. The comparison itself is shown to fail when the
narrowing is broken on purpose, the narrowed search itself (SPL, on the project's evaluator) reads
exactly the rows its mirror reads, and one day goes through the real command over SCP v2.
"""

from __future__ import annotations

from functools import cache
from typing import Dict, List, Mapping, Optional, Set, Tuple

import pytest
from guardrail.correlate.options import Options

from devtools import natlog
from devtools.evalspl import Env, run_search
from devtools.narrow import adversarial, equivalence, keys, older, presence, select
from devtools.narrow.events import index_events
from devtools.scenarios import DAY0, Scenario, World, build_all, evaluate
from devtools.scenarios.builder import Builder
from devtools.scp import BIN, run_command
from devtools.splcheck import AppContent, Macro, expand

RUN = 900  # the scheduled search's window
EVERY = 300  # and its period


@cache
def scenario_day(seed: int) -> Scenario:
    return build_all(seed=seed, per_scenario=3, day0=DAY0 + seed * 86400)[-1]


@cache
def chains_day(seed: int) -> Scenario:
    """Every labelled chain and trap with its noise, without the dense office day."""
    day = Scenario("chains", "every chain and trap")
    for part in build_all(seed=seed, per_scenario=2, day0=DAY0 + seed * 86400)[:-1]:
        if part.name != "office_day":
            day.rows.extend(part.rows)
            day.truth.update(part.truth)
    return day


@cache
def adversarial_day(seed: int) -> Scenario:
    return adversarial.build_day(seed, DAY0 + seed * 86400)


def runs(day: Scenario, phase: int = 0, most: int = 8) -> List[Tuple[float, float]]:
    """The whole day as one run, then up to ``most`` runs of the scheduled search's length, spread
    over the day (``phase`` shifts their grid)."""
    times = sorted(t.time for t in day.truth.values())
    out = [(times[0] - 1, times[-1] + 1)]
    grid: List[Tuple[float, float]] = []
    start = int(times[0] // RUN) * RUN - phase
    while start <= times[-1]:
        if any(start <= t < start + RUN for t in times):
            grid.append((float(start), float(start + RUN)))
        start += RUN
    step = max(1, len(grid) // most)
    return out + grid[::step][:most]


def check_day(day: Scenario, phase: int = 0, options: Optional[Options] = None) -> Tuple[int, int, int]:
    compared = rows_full = rows_narrowed = 0
    views = equivalence.audit_views(day.rows)
    counts = equivalence.counts_of(day.rows, options)  # what the check search keeps over the day
    for earliest, latest in runs(day, phase):
        # the full stream is the run's time range; the narrowed search picks from the whole day (its
        # dispatch range is wider than any key's), so a key reaching past the run's end would show
        stream = equivalence.in_range(day.rows, earliest, latest, options)
        _, narrowed = equivalence.narrowed_rows(day.rows, earliest, latest, options, views=views)
        result = equivalence.compare(stream, earliest, latest, options, narrowed=narrowed, views=views,
                                     counts=counts)
        assert result.differences == [], (earliest, latest, result.differences[:3])
        assert set(result.full) == {k for k, t in day.truth.items() if earliest <= t.time < latest}
        compared += len(result.full)
        rows_full += result.rows_full
        rows_narrowed += result.rows_narrowed
    return compared, rows_full, rows_narrowed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_days(seed: int) -> None:
    compared, full, narrowed = check_day(scenario_day(seed), phase=EVERY * seed)
    assert compared > 100 and narrowed < full


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adversarial_days(seed: int) -> None:
    compared, full, narrowed = check_day(adversarial_day(seed), phase=EVERY * seed)
    assert compared > 100 and narrowed < full


def test_other_tolerances() -> None:
    options = Options(window=120, skew=20, network_tolerance=5, lookback=6 * 3600, selfjoin_window=30,
                      agent_window=90, natlog="summary")
    check_day(adversarial_day(4), options=options)


def test_the_key_cap_exceeded() -> None:
    day = adversarial_day(5)
    times = sorted(t.time for t in day.truth.values())
    earliest, latest = times[0] - 1, times[-1] + 1
    stream = equivalence.in_range(day.rows, earliest, latest)
    result = equivalence.compare(stream, earliest, latest, max_keys=10)
    assert result.plan.widened and result.differences == []
    slow = equivalence.compare(stream, earliest, latest, elapsed=keys.MAX_SECS + 5)
    assert slow.plan.widened and slow.differences == []


def test_the_adversarial_days_hold_what_they_promise() -> None:
    day = adversarial_day(1)
    times = sorted(t.time for t in day.truth.values())
    plan, chosen = equivalence.narrowed_rows(day.rows, times[0] - 1, times[-1] + 1)
    by_key: Dict[str, int] = {}
    for window in plan.windows:
        by_key[window.key] = by_key.get(window.key, 0) + 1
    notes = [t.note for t in day.truth.values()]
    burst = [t for t in day.truth.values() if t.note.startswith("burst")]
    egress = burst[0].note.rsplit(" ", 1)[1]
    assert len(burst) >= 20 and by_key["ip=" + egress] == 1  # the burst's windows merged into one
    assert any(n.startswith("agent for") for n in notes)
    spelled = [r for r in day.rows if r.get("src_translated_ip") and ":" in str(r["src_translated_ip"])]
    assert spelled and all(r in chosen for r in spelled)
    o = Options()
    for truth in (t for t in day.truth.values() if t.note.startswith("edges")):
        ip = truth.note.split()[-1]
        at = {round(float(str(r["_time"])) - truth.time, 3) for r in chosen if r.get("src") == ip}
        assert -o.window in at and -o.point_back in at  # the bounds are inclusive
        [window] = [w for w in plan.windows if w.key == "ip=" + ip]
        assert window.earliest <= truth.time - o.point_back < window.earliest + 1  # to the second, no more


BROKEN = {
    "NAT left out": lambda rows, plan: [r for r in rows if not select.is_nat(r)],
    "sign-ins left out": lambda rows, plan: [r for r in rows if not select.is_signin(r)],
    "EDR left out": lambda rows, plan: [r for r in rows if not select.is_edr(r)],
    "proxy left out": lambda rows, plan: [r for r in rows if not select.is_proxy(r)],
    "leases left out": lambda rows, plan: [r for r in rows if not select.is_dhcp(r)],
    "sessions left out": lambda rows, plan: [r for r in rows if not select.is_vpn(r)],
}


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_a_broken_narrowing_is_caught(how: str) -> None:
    day = chains_day(1)
    earliest, latest = runs(day)[0]
    plan, chosen = equivalence.narrowed_rows(day.rows, earliest, latest)
    result = equivalence.compare(day.rows, earliest, latest, narrowed=BROKEN[how](chosen, plan))
    assert result.differences


def test_spellings_matter() -> None:
    day = adversarial_day(1)
    times = sorted(t.time for t in day.truth.values())
    earliest, latest = times[0] - 1, times[-1] + 1
    plan, _ = equivalence.narrowed_rows(day.rows, earliest, latest)
    exact = {k: [f for f in forms if f == forms[0]] for k, forms in plan.spelled.items()}
    only_canonical = keys.Plan(plan.earliest, plan.latest, plan.windows, spelled=exact)
    assert equivalence.compare(day.rows, earliest, latest,
                               narrowed=select.Narrowing(only_canonical).select(day.rows)).differences


def test_window_bounds_matter() -> None:
    """A sign-in at exactly ``t - window`` names the caller of a home address; a key window that
    stops half a second short of it loses the name."""
    o = Options()
    w = World(3, DAY0)
    b = Builder(w, "bound", "a sign-in at the edge of the window")
    t = DAY0 + 36000.5
    ip, user = w.public_ip(), w.user()
    b.idp(t - o.window, user, ip, w.browser_ua()[1])
    b.scenario.rows[-1]["sourcetype"] = "OktaIM2:log"  # an IdP sign-in (evidence_idp_sourcetypes)
    b.denied(t, user, "sign-in at the window's edge", ip, w.sdk_ua()[0])
    full = equivalence.compare(b.scenario.rows, t - 1, t + 1)
    assert full.differences == [] and [v["match_status"] for v in full.full.values()] == ["identified"]
    tight = [keys.Window(x.key, x.lo + (o.point_back - o.window) + 0.5, x.hi) for x in full.plan.windows]
    shrunk = keys.Plan(full.plan.earliest, full.plan.latest, tight, spelled=full.plan.spelled)
    cut = equivalence.compare(b.scenario.rows, t - 1, t + 1,
                              narrowed=select.Narrowing(shrunk).select(b.scenario.rows))
    assert cut.differences


def test_the_translations_of_a_calls_horizon_come_as_the_times_they_were_seen() -> None:
    """The run reads translations only at its calls' seconds; where the call's own was lost, the first
    and last other translation per stretch (``guardrail_presence``) still show the office egress,
    up to the horizon's bounds and not beyond. Without them a colleague's sign-in names the caller."""
    part = adversarial.lost_translation(World(4, DAY0))
    missing = 0
    for truth in part.truth.values():
        result = equivalence.compare(part.rows, truth.time - 300, truth.time + 300)
        assert result.differences == [] and len(result.full) == 1
        missing += bool(equivalence.compare(part.rows, truth.time - 300, truth.time + 300, seen=[]).differences)
    assert missing == 5


def test_the_devices_of_a_calls_horizon_come_as_seen() -> None:
    """The run reads EDR records only within the clock's skew of its calls; the first and last record
    of each device and user per stretch still show who else was behind a home address (another
    person's device, a shared one changing hands, one named by its sensor id only, one whose logon
    names its user), up to the horizon's bounds and not beyond."""
    part = adversarial.devices_around(World(4, DAY0))
    missing = 0
    statuses = []
    for truth in sorted(part.truth.values(), key=lambda x: x.time):
        result = equivalence.compare(part.rows, truth.time - 300, truth.time + 300)
        assert result.differences == [] and len(result.full) == 1
        statuses += [v["match_status"] for v in result.full.values()]
        missing += bool(equivalence.compare(part.rows, truth.time - 300, truth.time + 300, seen=[]).differences)
    assert statuses == ["unidentified"] * 2 + ["identified"] * 2 + ["unidentified"] * 4
    assert missing == 6


@pytest.mark.parametrize("which", ["scenarios", "adversarial"])
def test_the_presence_search_appends_what_its_mirror_says(which: str) -> None:
    day = chains_day(1) if which == "scenarios" else adversarial_day(1)
    events = index_events(day.rows)
    views = [keys.view_from_fields(e) for e in events if "eventtype" in e]
    content = AppContent.load()
    compared = 0
    for earliest, latest in [(int(a), int(b)) for a, b in runs(day)[:4]]:
        problems: List[str] = []
        text = expand(f"| makeresults | where 1==0 | `guardrail_presence({earliest},{latest})`", content, problems)
        assert problems == []
        def canonical(rows: List[Mapping[str, object]]) -> List[Tuple[Tuple[str, str], ...]]:
            return sorted(tuple(sorted((k, f"{float(str(v)):.3f}" if k == "_time" else str(v)) for k, v in r.items()))
                          for r in rows)

        got = canonical(run_search(text, Env(events=events, now=latest + 600.0)))
        allowed = {"_time", "nat_log_ip", "nat_log_seen", *presence.DEVICE_FIELDS}
        assert all({k for k, _ in r} <= allowed for r in got)
        mirror = presence.select(keys.plan_presence(views, float(earliest), float(latest)), events,
                                 equivalence.production())
        assert got == canonical(list(mirror))
        assert {dict(r)["nat_log_seen"] for r in got} <= {"1", "device"}
        compared += len(got)
    assert compared > 0


def test_a_busy_egress_sends_its_translations_seen_not_its_devices() -> None:
    """Where every call reaching into a stretch had a translation around it, the engine never asks
    who the EDR records there name: the burst's office egress sends a few times translations were
    seen, and none of its hundred and more EDR records (a home sends its devices: see above)."""
    day = adversarial_day(1)
    burst = [t for t in day.truth.values() if t.note.startswith("burst")]
    egress, start = burst[0].note.rsplit(" ", 1)[1], min(t.time for t in burst)
    seen = equivalence.presence_rows(day.rows, start - 1, start + 900)
    assert not [r for r in seen if r["nat_log_ip"] == egress and r["nat_log_seen"] == "device"]
    assert 0 < len([r for r in seen if r["nat_log_ip"] == egress]) < 40
    around = [r for r in day.rows if r.get("aip") == egress and start - 400 <= float(str(r["_time"])) < start + 900]
    assert len(around) > 100


def test_the_presence_search_says_when_it_was_cut() -> None:
    """Past its row cap, or after its time (Splunk cuts an appended search at 60 s without a word), the
    search appends one row saying so instead of a part of its rows; the command then takes no address
    for one person's, and says why in the job inspector."""
    day = adversarial_day(1)
    events = index_events(day.rows)
    views = [keys.view_from_fields(e) for e in events if "eventtype" in e]
    earliest, latest = (int(x) for x in runs(day)[0])
    content = AppContent.load()
    capped = AppContent(dict(content.macros), content.commands, content.lookups)
    capped.macros[(presence.MAX_ROWS_MACRO, 0)] = Macro(presence.MAX_ROWS_MACRO, [], "20")
    text = f"| makeresults | where 1==0 | `guardrail_presence({earliest},{latest})`"
    plan = keys.plan_presence(views, float(earliest), float(latest))
    for app, clock, mirror in ((capped, None, presence.select(plan, events, equivalence.production(), max_rows=20)),
                               (content, latest + 600.0 + keys.MAX_SECS + 1,
                                presence.select(plan, events, equivalence.production(), elapsed=keys.MAX_SECS + 1))):
        problems: List[str] = []
        got = run_search(expand(text, app, problems), Env(events=events, now=latest + 600.0, clock=clock))
        assert problems == [] and [{k: v for k, v in r.items() if k != "_time"} for r in got] == [presence.ALL]
        assert [{k: v for k, v in r.items() if k != "_time"} for r in mirror] == [presence.ALL]
    assert len(presence.select(plan, events, equivalence.production())) > 20
    part = adversarial.devices_around(World(4, DAY0))
    truth = sorted(part.truth.values(), key=lambda x: x.time)[2]  # a home: one person's sign-in names them
    o = equivalence.production()
    lo, hi = truth.time - 300, truth.time + 300
    narrowed = equivalence.narrowed_rows(part.rows, lo, hi)[1]
    seen = equivalence.presence_rows(part.rows, lo, hi)
    named = equivalence.verdicts(narrowed, o, lo, hi, counts=seen)
    assert [v["match_status"] for v in named.values()] == ["identified"]
    everywhere = equivalence.verdicts(narrowed, o, lo, hi, counts=[{"_time": f"{truth.time:.3f}", **presence.ALL}])
    assert [v["match_status"] for v in everywhere.values()] == ["unidentified"]


def test_older_leases_and_logons_one_row_per_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before a run's reach the search keeps the newest row of each lease and logon: twelve hours of
    the same bindings over and over shrink to a few rows and every verdict stays; keeping the newest
    row per device alone (not per person) would lose the console session under a remote logon."""
    part = adversarial.older_bindings(World(5, DAY0))
    counts = equivalence.counts_of(part.rows)
    kept: List[int] = []
    for truth in part.truth.values():
        earliest, latest = truth.time - 300, truth.time + 300
        full = equivalence.in_range(part.rows, earliest, latest)
        result = equivalence.compare(full, earliest, latest, counts=counts)
        assert result.differences == [] and len(result.full) == 1
        kept.append(result.rows_narrowed)
    statuses = sorted(str(v["match_status"]) for t in part.truth.values()
                      for v in equivalence.verdicts(part.rows, equivalence.production(), t.time - 1, t.time + 1,
                                                    counts=counts).values())
    assert "identified" in statuses and "unidentified" in statuses
    monkeypatch.setattr(older.OlderBindings, "first", lambda self, row, t: True)
    whole = [equivalence.narrowed_rows(part.rows, t.time - 300, t.time + 300)[1] for t in part.truth.values()]
    assert all(len(rows) > 2 * n for rows, n in zip(whole, kept))  # most of the lookback was repeats
    monkeypatch.undo()
    monkeypatch.setattr(older, "FIELDS", ("dest", "dest_ip", "ComputerName"))  # per device, not per person
    assert any(equivalence.compare(equivalence.in_range(part.rows, t.time - 300, t.time + 300), t.time - 300,
                                   t.time + 300, counts=counts).differences for t in part.truth.values())


def test_the_nat_log_counts_around_a_call() -> None:
    """The calls that judge an egress's NAT log come as counts per address and bucket, kept by the
    check search over the whole day: a short run around each denial and one over all of them read
    the same counts, so give the same verdicts, each equal to its full stream. Without the counts,
    or with counts that miss the proxy requests showing a check went through the proxy, verdicts
    change."""
    part = adversarial.nat_checks(World(7, DAY0))
    rows, truth = part.rows, part.truth
    times = sorted(t.time for t in truth.values())
    earliest, latest = times[0] - 1, times[-1] + 1
    counts = equivalence.counts_of(rows)
    narrowed = equivalence.narrowed_rows(rows, earliest, latest)[1]
    whole = equivalence.compare(equivalence.in_range(rows, earliest, latest), earliest, latest,
                                narrowed=narrowed, counts=counts)
    assert whole.differences == [] and len(whole.full) == len(truth) == 4
    for t in times:
        start = t - t % RUN
        result = equivalence.compare(equivalence.in_range(rows, start, start + RUN), start, start + RUN,
                                     narrowed=equivalence.narrowed_rows(rows, start, start + RUN)[1], counts=counts)
        assert result.differences == [] and len(result.full) == 1
        assert all(whole.full[k] == v for k, v in result.full.items())
    o = equivalence.production()
    assert equivalence.verdicts(narrowed, o, earliest, latest) != whole.full
    no_proxy = equivalence.counts_of([r for r in rows if not select.is_proxy(r)])
    assert no_proxy != counts
    assert equivalence.verdicts(narrowed, o, earliest, latest, counts=no_proxy) != whole.full


@pytest.mark.parametrize("which", ["scenarios", "adversarial", "older bindings"])
def test_the_narrowed_search_reads_what_its_mirror_reads(which: str) -> None:
    day = chains_day(1) if which == "scenarios" else adversarial_day(1)
    events = index_events(day.rows)
    for i, event in enumerate(events):
        event["_row"] = str(i)
    earliest, latest = (int(x) for x in runs(day)[len(runs(day)) // 2])
    if which == "older bindings":  # a run after twelve hours of the same leases and logons
        call = min(t.time for t in day.truth.values() if t.scenario == "older_bindings")
        earliest, latest = int(call) - 300, int(call) + 300
    problems: List[str] = []
    text = expand(f"`guardrail_correlation_input({earliest},{latest})`", AppContent.load(), problems)
    assert problems == []
    got = {str(e["_row"]) for e in run_search(text, Env(events=events, now=latest + 600.0))}
    views = [keys.view_from_fields(e) for e in events if "eventtype" in e]
    mirror = select.Narrowing(keys.plan(views, float(earliest), float(latest)))
    assert got == {str(e["_row"]) for e in mirror.select(events)}
    assert 0 < len(got) < len(events)
    if which == "older bindings":  # most of the lookback's rows were the same bindings again
        older_rows = [str(e["_row"]) for e in events if select.classify(e)[1]
                      and mirror.intervals[0] <= float(str(e["_time"])) < mirror.older.before]
        assert len(set(older_rows) & got) < 0.75 * len(older_rows)


needs_command = pytest.mark.skipif(
    not evaluate.SCRIPT.exists() or not (BIN / "lib" / "splunklib").is_dir(),
    reason="bin/correlatepolicydenied.py or the vendored bin/lib is missing (run `make vendor`)",
)


def _verdicts(rows: List[Mapping[str, object]], earliest: float, latest: float) -> Dict[str, Dict[str, object]]:
    out: Dict[str, Dict[str, object]] = {}
    for row in rows:
        iid = evaluate.insert_id(row)
        if iid is None or not earliest <= float(str(row["_time"])) < latest:
            continue
        assert iid not in out
        out[iid] = {k: row.get(k) for k in ("match_status", "identified_user", "identified_user_key",
                                             "identified_host", "match_confidence", "candidate_users",
                                             "match_evidence", "caller_ip")}
    return out


@needs_command
def test_the_real_command_over_scp_gives_the_same_verdicts_narrowed() -> None:
    day = adversarial_day(2)
    times = sorted(t.time for t in day.truth.values())
    earliest, latest = times[0] - 1, times[-1] + 1
    _, chosen = equivalence.narrowed_rows(day.rows, earliest, latest)
    stream = equivalence.in_range(day.rows, earliest, latest)
    counts = equivalence.counts_of(day.rows)  # appended after the stream, as guardrail_nat_log_counts does
    assert counts
    args = ["natlog=summary"]
    full = run_command(evaluate.SCRIPT, evaluate.python(), args, equivalence.newest_first(stream) + counts)
    seen = equivalence.presence_rows(day.rows, earliest, latest)  # guardrail_presence, sorted into the stream
    assert seen
    narrow = run_command(evaluate.SCRIPT, evaluate.python(), args,
                         equivalence.newest_first([*chosen, *seen]) + counts)
    assert full.returncode == 0 and narrow.returncode == 0, (full.stderr[-2000:], narrow.stderr[-2000:])
    a, b = _verdicts(full.rows, earliest, latest), _verdicts(narrow.rows, earliest, latest)
    assert len(a) == len(day.truth) and a == b
    assert len(chosen) < len(stream)


@needs_command
def test_the_real_command_outputs_the_checks_the_engine_counts() -> None:
    day = adversarial_day(2)
    out = run_command(evaluate.SCRIPT, evaluate.python(), ["natlog=checks"], equivalence.newest_first(day.rows),
                      chunk_size=500)
    assert out.returncode == 0, out.stderr[-2000:]
    assert {name for row in out.rows for name, value in row.items() if value} == {"_time", "nat_log_ip", "nat_log_ok"}
    counted = natlog.counts(out.rows)
    assert counted == equivalence.counts_of(day.rows) and len(counted) > 20


@pytest.mark.parametrize("which", ["scenarios", "adversarial"])
def test_the_check_search_reads_what_its_mirror_reads(which: str) -> None:
    day = chains_day(1) if which == "scenarios" else adversarial_day(1)
    events = index_events(day.rows)
    for i, event in enumerate(events):
        event["_row"] = str(i)
    views = [keys.view_from_fields(e) for e in events if "eventtype" in e]
    kinds: Set[str] = set()
    for start, _end in runs(day)[1:5]:
        lo = int(start - start % 900)
        hi = lo + 1800
        problems: List[str] = []
        text = expand(f"`guardrail_nat_log_check_input({lo},{hi})`", AppContent.load(), problems)
        assert problems == []
        got = {str(e["_row"]) for e in run_search(text, Env(events=events, now=hi + 600.0))}
        mirror = select.CheckNarrowing(keys.plan_checks(views, float(lo), float(hi)))
        assert got == {str(e["_row"]) for e in events if mirror.keep(e)}
        kinds |= {("audit" if select.is_audit(e) else "nat" if select.is_nat(e) else "proxy" if select.is_proxy(e)
                   else "other") for e in events if str(e["_row"]) in got}
    assert kinds == {"audit", "nat", "proxy"}
