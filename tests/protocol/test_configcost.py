"""configcost spawned the way splunkd runs it (SCP v2), under Python 3.9 and 3.13.

The generated scenario at scale 100 (tests/fixtures/aws_config/generate.py), three days:

Fargate 111111111111 ENIs: 160 short-lived + 10 long-running a day
  creates 170 x 3 = 510 ; deletes 160 x 3 + 10 x 2 = 500      -> continuous 1,010 CIs -> 3.03
  daily high 480 + 30 + 20 = 530 -> 6.36 ; daily low 30 + 20 = 50 -> 0.60
Control Tower 333333333333 ENIs: 20 short-lived a day -> 120 CIs -> 0.36 ; daily 60 / 0 -> 0.72 / 0.00
  Auto Scaling groups: 144 CIs -> 0.432 ; daily 6 -> 0.072 ; saving 0.36, flagged not recommended
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

from guardrail.configcost import OUTPUT_FIELDS

from devtools.scp import ScpSession, run_command
from tests.fixtures.aws_config.generate import DAY, DAYS, FARGATE, START, TOWER, records
from tests.fixtures.aws_config.pipeline import change_rows, lookup_rows

SCRIPT = Path(__file__).resolve().parents[2] / "bin" / "configcost.py"
ENI = "AWS::EC2::NetworkInterface"


def by_key(rows: list) -> Dict[Tuple[str, str], dict]:
    return {(r["account_id"], r["resource_type"]): r for r in rows}


def test_estimate_over_the_wire_matches_the_hand_count(splunk_python: str) -> None:
    events = change_rows(records(scale=100))
    rows = events + lookup_rows()
    run = run_command(SCRIPT, splunk_python, [], rows, chunk_size=400)
    assert run.returncode == 0, run.stderr
    assert run.getinfo.metadata["type"] == "reporting"
    assert "streaming_preop" not in run.getinfo.metadata      # no map phase sent to indexers
    assert len(run.replies) == -(-len(rows) // 400)
    assert all(not reply.rows for reply in run.replies[:-1])   # one answer, on the last chunk
    out = by_key(run.rows)
    eni = out[(FARGATE, ENI)]
    assert (eni["continuous_cis"], eni["daily_cis_high"], eni["daily_cis_low"]) == ("1010", "530", "50")
    assert (eni["continuous_cost"], eni["daily_cost_high"], eni["daily_cost_low"]) == (
        "3.0300", "6.3600", "0.6000")
    assert eni["verdict"] == "depends_on_short_lived"
    tower_eni = out[(TOWER, ENI)]
    assert (tower_eni["continuous_cost"], tower_eni["daily_cost_high"]) == ("0.3600", "0.7200")
    asg = out[(TOWER, "AWS::AutoScaling::AutoScalingGroup")]
    assert (asg["saving_min"], asg["control_tower"]) == ("0.3600", "true")
    assert asg["recommendation"].startswith("not recommended")
    assert all(list(r) == list(OUTPUT_FIELDS) for r in run.rows)


def test_search_time_range_sets_the_period_and_warnings_reach_the_inspector(splunk_python: str) -> None:
    events = change_rows(records(scale=100))
    failed = dict(events[0], errorCode="Client.DryRunOperation")
    with ScpSession(SCRIPT, splunk_python) as session:
        info = session.getinfo(earliest=START, latest=START + DAYS * DAY)
        assert not info.metadata.get("error")
        first = session.execute([*events[:1000], failed])
        last = session.execute(events[1000:] + lookup_rows(), finished=True)
        assert session.close() == 0
    assert first.rows == []
    eni = by_key(last.rows)[(FARGATE, ENI)]
    assert eni["period_days"] == "3"
    assert eni["continuous_cost_month"] == "30.3000"          # 3.03 x 30 / 3
    assert any("ignored 1 failed call" in m[1] for m in last.messages)


def test_options_are_validated(splunk_python: str) -> None:
    with ScpSession(SCRIPT, splunk_python, ["snapshot_hour=25"]) as session:
        info = session.getinfo()
        assert info.messages == [["ERROR", "Invalid value for snapshot_hour='25': must be between 0 and 23"]]
        assert session.close() == 1
    # snapshot_hour=6 moves the window edge to 06:00 UTC. Fargate ENIs at scale 100:
    #   long-runners of day 0 and 1 (23:xx -> 01:xx) now live inside one window: 20 short-lived;
    #   long-runners of day 2 are only created in the sample: 10, one CI each;
    #   short ENIs created every 500 s, living 600 s: those created at 05:50:00 (k = 42, deleted
    #   at 06:00:00 sharp, which opens the next window) and 05:58:20 (k = 43) straddle the edge
    #   each day: 2 x 3 = 6 resources x 2 windows = 12 CIs; the other 158 x 3 = 474 are
    #   short-lived.
    #   daily high = 20 + 10 + 12 + 474 = 516 ; daily low = 10 + 12 = 22
    run = run_command(SCRIPT, splunk_python, ["snapshot_hour=6"],
                      change_rows(records(scale=100)) + lookup_rows())
    assert run.returncode == 0, run.stderr
    eni = by_key(run.rows)[(FARGATE, ENI)]
    assert (eni["continuous_cis"], eni["daily_cis_high"], eni["daily_cis_low"]) == ("1010", "516", "22")
