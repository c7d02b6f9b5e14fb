"""The estimate for the three generated accounts, against numbers worked out by hand.

Scenario (tests/fixtures/aws_config/generate.py), three whole UTC days from 2026-11-02:

Fargate account 111111111111, us-east-1 ($0.003 continuous, $0.012 periodic per CI):
  ENIs a day: 16,000 short-lived (created and deleted within the day, 10 minutes apart) and
  1,000 long-running (created 23:00-23:50, deleted 2 hours later on the next day).
  CloudTrail over 3 days: CreateNetworkInterface 17,000 x 3 = 51,000;
  DeleteNetworkInterface 16,000 x 3 + 1,000 x 2 = 50,000 (day-3 long-runners are deleted on day 4,
  outside the sample).
  continuous CIs  = 51,000 + 50,000                                  = 101,000
  daily, high     = 48,000 short-lived (1 each, in their only window)
                  + 3,000 long-runners in their creation window
                  + 2,000 long-runners in their deletion window      =  53,000
  daily, low      = 53,000 - 48,000 short-lived                      =   5,000
  cost            = 101,000 x 0.003 = 303.00 ; 53,000 x 0.012 = 636.00 ; 5,000 x 0.012 = 60.00
  saving          = 303 - 636 = -333.00 (min) ; 303 - 60 = 243.00 (max) -> depends on short-lived
  per month (x 30/3 = x10): 3,030.00 continuous ; 6,360.00 / 600.00 daily
  Security group re-authorised 10 times a day: 30 CIs -> 0.09 ; daily 3 -> 0.036 ; saving 0.054
  ECS service updated 6 times a day: 18 CIs -> 0.054 ; daily 3 -> 0.036 ; saving 0.018

Quiet account 222222222222, eu-west-1 (the '*' price rows, same prices):
  security group: create + authorize on day 0, revoke on day 2   -> 3 CIs ; daily 2 (day 0, day 2)
  ENI: create + attach day 0, detach + delete day 2              -> 4 CIs ; daily 3: day 0, day 2,
       and the detach (its request names the attachment, not the ENI: one more daily CI)
  bucket: create + encryption on day 1                           -> 2 CIs ; daily 1
  continuous 9 x 0.003 = 0.027 ; daily 6 x 0.012 = 0.072 -> keep continuous for every type

Control Tower account 333333333333, us-east-2:
  2,000 short-lived ENIs a day: 12,000 CIs -> 36.00 ; daily high 6,000 -> 72.00 ; low 0 -> 0.00
  two Auto Scaling groups updated hourly: 2 x 24 x 3 = 144 CIs -> 0.432 ; daily 2 x 3 = 6 -> 0.072
  saving 0.36: cheaper daily, but flagged "not recommended" (Control Tower owns Config there)
"""

from __future__ import annotations

from typing import Dict, Tuple

import pytest
from guardrail.configcost import Options, estimate_rows

from tests.fixtures.aws_config.generate import FARGATE, QUIET, TOWER, records
from tests.fixtures.aws_config.pipeline import pipeline

ENI = "AWS::EC2::NetworkInterface"
SG = "AWS::EC2::SecurityGroup"


@pytest.fixture(scope="module")
def result() -> Dict[Tuple[str, str], Dict[str, str]]:
    out = estimate_rows(pipeline(records()), Options())
    return {(row["account_id"], row["resource_type"]): row for row in out.rows}


def test_fargate_eni_counts_match_the_hand_count(result: Dict[Tuple[str, str], Dict[str, str]]) -> None:
    eni = result[(FARGATE, ENI)]
    assert eni["events"] == str(51_000 + 50_000)
    assert eni["continuous_cis"] == "101000"
    assert eni["resources"] == str(48_000 + 3_000)
    assert eni["short_lived_resources"] == "48000"
    assert eni["daily_cis_high"] == str(48_000 + 3_000 + 2_000)
    assert eni["daily_cis_low"] == str(3_000 + 2_000)


def test_fargate_eni_costs_and_verdict(result: Dict[Tuple[str, str], Dict[str, str]]) -> None:
    eni = result[(FARGATE, ENI)]
    assert eni["region"] == "us-east-1"
    assert eni["period_days"] == "3"
    assert eni["continuous_cost"] == "303.0000"      # 101,000 x 0.003
    assert eni["daily_cost_high"] == "636.0000"      # 53,000 x 0.012
    assert eni["daily_cost_low"] == "60.0000"        # 5,000 x 0.012
    assert eni["saving_min"] == "-333.0000"
    assert eni["saving_max"] == "243.0000"
    assert eni["continuous_cost_month"] == "3030.0000"
    assert eni["daily_cost_high_month"] == "6360.0000"
    assert eni["daily_cost_low_month"] == "600.0000"
    assert eni["verdict"] == "depends_on_short_lived"
    assert eni["noise_rank"] == "1"
    assert eni["control_tower"] == "false"


def test_fargate_other_types_are_worth_switching(result: Dict[Tuple[str, str], Dict[str, str]]) -> None:
    sg = result[(FARGATE, SG)]
    assert (sg["continuous_cis"], sg["daily_cis_high"], sg["daily_cis_low"]) == ("30", "3", "3")
    assert (sg["continuous_cost"], sg["daily_cost_high"], sg["saving_min"]) == ("0.0900", "0.0360", "0.0540")
    assert sg["verdict"] == "switch_to_daily"
    svc = result[(FARGATE, "AWS::ECS::Service")]
    assert (svc["continuous_cis"], svc["daily_cis_high"]) == ("18", "3")
    assert svc["saving_min"] == "0.0180"              # 0.054 - 0.036
    assert svc["noise_rank"] == "3"                   # ENI 101,000 > SG 30 > service 18


def test_quiet_account_keeps_continuous(result: Dict[Tuple[str, str], Dict[str, str]]) -> None:
    rows = {k[1]: v for k, v in result.items() if k[0] == QUIET}
    assert {t: rows[t]["continuous_cis"] for t in rows} == {SG: "3", ENI: "4", "AWS::S3::Bucket": "2"}
    assert {t: rows[t]["daily_cis_high"] for t in rows} == {SG: "2", ENI: "3", "AWS::S3::Bucket": "1"}
    assert all(r["daily_cis_low"] == r["daily_cis_high"] for r in rows.values())
    total_cont = sum(float(r["continuous_cost"]) for r in rows.values())
    total_daily = sum(float(r["daily_cost_high"]) for r in rows.values())
    assert total_cont == pytest.approx(0.027)         # 9 x 0.003
    assert total_daily == pytest.approx(0.072)        # 6 x 0.012
    assert {r["verdict"] for r in rows.values()} == {"keep_continuous"}
    assert {r["price_continuous"] for r in rows.values()} == {"0.003"}   # the '*' row


def test_control_tower_account_shows_saving_but_is_not_recommended(
        result: Dict[Tuple[str, str], Dict[str, str]]) -> None:
    asg = result[(TOWER, "AWS::AutoScaling::AutoScalingGroup")]
    assert (asg["continuous_cis"], asg["daily_cis_high"]) == ("144", "6")
    assert (asg["continuous_cost"], asg["daily_cost_high"], asg["saving_min"]) == ("0.4320", "0.0720", "0.3600")
    assert asg["verdict"] == "switch_to_daily"
    assert asg["control_tower"] == "true"
    assert asg["recommendation"].startswith("not recommended")
    eni = result[(TOWER, ENI)]
    assert (eni["continuous_cis"], eni["daily_cis_high"], eni["daily_cis_low"]) == ("12000", "6000", "0")
    assert (eni["continuous_cost"], eni["daily_cost_high"], eni["daily_cost_low"]) == (
        "36.0000", "72.0000", "0.0000")
    assert eni["recommendation"].startswith("not recommended")


def test_ids_from_raw_give_the_same_estimate() -> None:
    """When the search leaves resource_id empty, the command reads the id path from _raw."""
    sample = [r for r in records(scale=100) if r["recipientAccountId"] != TOWER]
    by_field = estimate_rows(pipeline(sample), Options()).rows
    by_raw = estimate_rows(pipeline(sample, with_raw=True), Options()).rows
    assert by_raw == by_field
    assert any(r["short_lived_resources"] != "0" for r in by_raw)


def test_noise_is_not_counted() -> None:
    """Failed, read-only and unmapped calls of the Fargate account never reach a count."""
    out = estimate_rows(pipeline(records(scale=100)), Options())
    types = {r["resource_type"] for r in out.rows if r["account_id"] == FARGATE}
    assert types == {ENI, SG, "AWS::ECS::Service"}
