"""Unit tests of the AWS Config cost engine: parsing, windows, the daily model, prices, verdicts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Dict, List

import pytest
from guardrail.configcost import (
    CONTROL_TOWER_ADVICE,
    OUTPUT_FIELDS,
    BadChange,
    BadPrice,
    Estimator,
    Ledger,
    Options,
    Price,
    PriceBook,
    estimate_rows,
    follow_path,
    is_short_lived,
    parse_change,
    parse_options,
    parse_price,
    row_kind,
    window_bounds,
)
from guardrail.errors import OptionError

D0 = window_bounds(date(2026, 11, 2))[0]
H = 3600.0
PRICES: List[Dict[str, str]] = [
    {"region": "*", "recording_mode": "continuous", "price_per_ci": "0.003", "effective_date": "2023-11-26",
     "source": "test"},
    {"region": "*", "recording_mode": "periodic", "price_per_ci": "0.012", "effective_date": "2023-11-26",
     "source": "test"},
]


def change(when: float, rid: Any, kind: str = "modify", rtype: str = "AWS::EC2::NetworkInterface",
           account: str = "111", region: str = "us-east-1", **extra: str) -> Dict[str, Any]:
    row: Dict[str, Any] = {"_time": f"{when:.3f}", "recipientAccountId": account, "awsRegion": region,
                           "resource_type": rtype, "change": kind, "resource_id": rid, "cis_per_call": "1",
                           "daily_supported": "true"}
    row.update(extra)
    return row


def one(rows: List[Dict[str, Any]], options: Options | None = None) -> Dict[str, str]:
    result = estimate_rows(rows + PRICES, options)
    assert len(result.rows) == 1, result.rows
    return result.rows[0]


# --- parsing -------------------------------------------------------------------------------------


def test_row_kinds_are_told_apart_by_their_columns() -> None:
    assert row_kind(PRICES[0]) == "price"
    assert row_kind({"account_id": "1", "managed_by_control_tower": "true", "note": ""}) == "control_tower"
    assert row_kind(change(D0, "eni-1")) == "change"
    # In a chunk every row has every column; empty ones do not make a change row a price row.
    padded = dict(change(D0, "eni-1"), price_per_ci="", recording_mode="", managed_by_control_tower="")
    assert row_kind(padded) == "change"
    assert row_kind(dict(PRICES[0], resource_type="", resource_id="")) == "price"


def test_follow_path_walks_objects_and_arrays() -> None:
    doc = {"responseElements": {"instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}},
           "requestParameters": {"groupId": "sg-1"}}
    assert follow_path(doc, "responseElements.instancesSet.items{}.instanceId") == ["i-1", "i-2"]
    assert follow_path(doc, "requestParameters.groupId") == ["sg-1"]
    assert follow_path(doc, "requestParameters.missing") == []
    assert follow_path({"responseElements": None}, "responseElements.groupId") == []


def test_parse_change_reads_account_region_ids_and_multivalue() -> None:
    parsed = parse_change(change(D0, ["i-1", "i-2", "i-1"], "create", "AWS::EC2::Instance"))
    assert parsed.resource_ids == ("i-1", "i-2")
    assert parsed.account == "111" and parsed.region == "us-east-1" and parsed.change == "create"
    alias = {"_time": str(D0), "aws_account_id": "222", "region": "eu-west-1", "resource_type": "AWS::S3::Bucket",
             "resource_id": "b"}
    parsed = parse_change(alias)
    assert (parsed.account, parsed.region, parsed.change) == ("222", "eu-west-1", "modify")


def test_parse_change_takes_the_id_from_raw_when_the_field_is_empty() -> None:
    row = change(D0, "", "delete", id_path="requestParameters.networkInterfaceId",
                 _raw='{"requestParameters": {"networkInterfaceId": "eni-9"}}')
    assert parse_change(row).resource_ids == ("eni-9",)


@pytest.mark.parametrize("field_name, value", [("_time", ""), ("recipientAccountId", ""), ("awsRegion", ""),
                                               ("resource_type", ""), ("change", "rename"),
                                               ("cis_per_call", "two")])
def test_parse_change_rejects_rows_it_cannot_use(field_name: str, value: str) -> None:
    row = change(D0, "eni-1")
    row[field_name] = value
    with pytest.raises(BadChange) as error:
        parse_change(row, 7)
    assert error.value.row == 7
    assert "row=7" in str(error.value)


def test_parse_price_validates_mode_number_and_date() -> None:
    price = parse_price({"region": "us-east-1", "recording_mode": "daily", "price_per_ci": "0.012",
                         "effective_date": "2024-01-01"})
    assert (price.mode, price.price, price.effective) == ("periodic", Decimal("0.012"), date(2024, 1, 1))
    for bad in ({"recording_mode": "hourly", "price_per_ci": "1", "effective_date": "2024-01-01"},
                {"recording_mode": "continuous", "price_per_ci": "cheap", "effective_date": "2024-01-01"},
                {"recording_mode": "continuous", "price_per_ci": "-1", "effective_date": "2024-01-01"},
                {"recording_mode": "continuous", "price_per_ci": "1", "effective_date": "01/01/2024"}):
        with pytest.raises(BadPrice):
            parse_price(bad)


# --- windows and the daily model -----------------------------------------------------------------


def test_windows_start_at_the_snapshot_hour() -> None:
    midnight = Ledger(0)
    assert midnight.window(D0 + 23 * H) == midnight.window(D0)
    assert midnight.window(D0 + 24 * H) == midnight.window(D0) + 1
    six = Ledger(6)
    assert six.window(D0 + 5 * H) == six.window(D0 + 6 * H) - 1
    assert six.window_day(six.window(D0 + 7 * H)) == date(2026, 11, 2)


def test_every_change_is_a_continuous_ci_and_one_daily_ci_per_window() -> None:
    row = one([change(D0 + h * H, "sg-1", rtype="AWS::EC2::SecurityGroup") for h in range(1, 11)])
    assert (row["continuous_cis"], row["daily_cis_high"], row["daily_cis_low"]) == ("10", "1", "1")
    assert row["verdict"] == "switch_to_daily"     # 10 x 0.003 = 0.030 > 1 x 0.012


def test_short_lived_resource_is_the_gap_between_the_bounds() -> None:
    row = one([change(D0 + H, "eni-1", "create"), change(D0 + 2 * H, "eni-1", "modify"),
               change(D0 + 3 * H, "eni-1", "delete")])
    assert (row["continuous_cis"], row["daily_cis_high"], row["daily_cis_low"]) == ("3", "1", "0")
    assert row["short_lived_resources"] == "1"
    assert row["verdict"] == "depends_on_short_lived"   # 0.009 < 0.012, but > 0


def test_resource_crossing_a_snapshot_costs_a_ci_in_each_window() -> None:
    row = one([change(D0 + 23 * H, "eni-1", "create"), change(D0 + 25 * H, "eni-1", "delete")])
    assert (row["daily_cis_high"], row["daily_cis_low"], row["short_lived_resources"]) == ("2", "2", "0")
    # The same pair seen from a snapshot at 06:00 falls into one window: short-lived.
    row = one([change(D0 + 23 * H, "eni-1", "create"), change(D0 + 25 * H, "eni-1", "delete")],
              Options(snapshot_hour=6))
    assert (row["daily_cis_high"], row["daily_cis_low"]) == ("1", "0")


def test_delete_and_recreate_of_a_named_resource_is_not_short_lived() -> None:
    """A bucket deleted and created again under its name ends the window existing."""
    rows = [change(D0 + 2 * H, "logs", "create", "AWS::S3::Bucket"),
            change(D0 + H, "logs", "delete", "AWS::S3::Bucket")]
    row = one(rows)
    assert (row["daily_cis_high"], row["daily_cis_low"]) == ("1", "1")


def test_order_of_arrival_does_not_matter() -> None:
    rows = [change(D0 + H, "eni-1", "create"), change(D0 + 2 * H, "eni-1", "delete"),
            change(D0 + 26 * H, "eni-2", "create"), change(D0 + 50 * H, "eni-2", "delete")]
    assert one(rows) == one(list(reversed(rows)))


def test_is_short_lived_needs_create_first_and_delete_last() -> None:
    assert is_short_lived((0.0, "create", 1.0, "delete"))
    assert not is_short_lived((0.0, "modify", 1.0, "delete"))
    assert not is_short_lived((0.0, "create", 1.0, "modify"))


def test_multi_resource_call_counts_each_resource() -> None:
    row = one([change(D0 + H, ["i-1", "i-2", "i-3"], "create", "AWS::EC2::Instance")])
    assert (row["continuous_cis"], row["resources"], row["daily_cis_high"]) == ("3", "3", "3")


def test_call_without_id_counts_once_in_every_mode() -> None:
    row = one([change(D0 + H, "", "modify"), change(D0 + 2 * H, "", "modify")])
    assert (row["continuous_cis"], row["daily_cis_high"], row["daily_cis_low"]) == ("2", "2", "2")
    assert row["unattributed_events"] == "2"


def test_failed_calls_are_ignored_and_reported() -> None:
    failed = change(D0 + H, "eni-2", "create", errorCode="Client.UnauthorizedOperation")
    result = estimate_rows([change(D0 + H, "eni-1", "create"), failed, *PRICES])
    assert result.rows[0]["continuous_cis"] == "1"
    assert any("ignored 1 failed call" in m for m in result.messages)


def test_bad_rows_are_counted_not_fatal() -> None:
    bad = change(D0, "eni-1")
    bad["_time"] = "soon"
    result = estimate_rows([bad, change(D0 + H, "eni-2", "create"), *PRICES])
    assert len(result.rows) == 1
    assert any("skipped 1 row(s): BadChange" in m and "field=_time" in m for m in result.messages)


# --- prices --------------------------------------------------------------------------------------


def test_price_book_picks_region_then_wildcard_and_the_effective_date() -> None:
    book = PriceBook([Price("*", "continuous", date(2023, 11, 26), Decimal("0.003")),
                      Price("us-east-1", "continuous", date(2023, 11, 26), Decimal("0.003")),
                      Price("us-east-1", "continuous", date(2026, 11, 3), Decimal("0.002"))])
    assert book.lookup("us-east-1", "continuous", date(2026, 11, 2)).price == Decimal("0.003")
    assert book.lookup("us-east-1", "continuous", date(2026, 11, 3)).price == Decimal("0.002")
    assert book.lookup("eu-west-1", "continuous", date(2026, 11, 3)).price == Decimal("0.003")
    assert book.lookup("eu-west-1", "periodic", date(2026, 11, 3)) is None


def test_a_price_change_mid_period_prices_each_day_separately() -> None:
    prices = [*PRICES, {"region": "us-east-1", "recording_mode": "continuous", "price_per_ci": "0.001",
                        "effective_date": "2026-11-03", "source": "test"}]
    rows = [change(D0 + H, "sg-1"), change(D0 + 25 * H, "sg-1")]   # one change on 11-02, one on 11-03
    result = estimate_rows(rows + prices)
    assert result.rows[0]["continuous_cost"] == "0.0040"             # 0.003 + 0.001
    assert result.rows[0]["price_continuous"] == "0.001"             # the price in force at the end


def test_no_price_for_the_region_says_so() -> None:
    only_us = [dict(p, region="us-east-1") for p in PRICES]
    result = estimate_rows([change(D0 + H, "sg-1", region="eu-west-1"), *only_us])
    row = result.rows[0]
    assert row["continuous_cost"] == "" and row["verdict"] == "no_price"
    assert "eu-west-1" in row["recommendation"]


def test_missing_pricing_rows_are_reported() -> None:
    result = estimate_rows([change(D0 + H, "sg-1")])
    assert any("no pricing rows" in m for m in result.messages)


def test_changes_before_the_first_price_use_the_earliest_and_say_so() -> None:
    result = estimate_rows([change(D0 - 1200 * 86400, "sg-1"), *PRICES])
    assert result.rows[0]["continuous_cost"] == "0.0030"
    assert any("before the first continuous price" in m for m in result.messages)


# --- verdicts, Control Tower, period -------------------------------------------------------------


def test_daily_not_supported_is_continuous_only() -> None:
    rows = [change(D0 + h * H, "x", rtype="AWS::Config::ResourceCompliance", daily_supported="false")
            for h in range(10)]
    assert one(rows)["verdict"] == "continuous_only"


def test_three_changes_a_day_keep_continuous() -> None:
    assert one([change(D0 + h * H, "sg-1") for h in range(3)])["verdict"] == "keep_continuous"


def test_control_tower_accounts_keep_the_numbers_but_not_the_advice() -> None:
    tower = {"account_id": "111", "managed_by_control_tower": "true", "note": "landing zone"}
    rows = [change(D0 + h * H, "sg-1") for h in range(10)]
    row = estimate_rows(rows + PRICES + [tower]).rows[0]
    assert row["verdict"] == "switch_to_daily" and row["saving_min"] == "0.0180"
    assert row["control_tower"] == "true"
    assert row["recommendation"] == CONTROL_TOWER_ADVICE
    assert row["note"] == "landing zone"
    not_managed = dict(tower, managed_by_control_tower="false")
    assert estimate_rows(rows + PRICES + [not_managed]).rows[0]["control_tower"] == "false"


def test_period_comes_from_the_search_range_when_bounded() -> None:
    rows = [change(D0 + H, "sg-1")]
    row = one(rows, Options(earliest=D0, latest=D0 + 30 * 86400))
    assert row["period_days"] == "30"
    assert row["continuous_cost_month"] == "0.0030"
    row = one(rows)   # unbounded: the one window seen
    assert row["period_days"] == "1" and row["continuous_cost_month"] == "0.0900"


def test_every_row_carries_every_output_field_and_ranks_by_noise() -> None:
    rows = [change(D0 + h * 60, f"eni-{h}", "create") for h in range(5)]
    rows.append(change(D0 + H, "sg-1", rtype="AWS::EC2::SecurityGroup"))
    result = estimate_rows(rows + PRICES)
    assert all(tuple(r) == OUTPUT_FIELDS for r in result.rows)
    assert [(r["resource_type"], r["noise_rank"]) for r in result.rows] == [
        ("AWS::EC2::NetworkInterface", "1"), ("AWS::EC2::SecurityGroup", "2")]


def test_estimator_accepts_chunks() -> None:
    rows = [change(D0 + h * H, "sg-1") for h in range(10)] + PRICES
    estimator = Estimator()
    for start in range(0, len(rows), 3):
        estimator.feed(rows[start:start + 3])
    assert estimator.finish().rows == estimate_rows(rows).rows


# --- hostile values --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e20", "-1e20", "-5", "١٧٩٠٠٠٠٠٠٠", "１７９０",
                                   "soon"])
def test_a_time_that_is_not_an_event_time_is_a_bad_row(value: str) -> None:
    row = change(D0, "eni-1", eventTime="2026-11-02T10:00:00Z")
    row["_time"] = value
    with pytest.raises(BadChange) as error:
        parse_change(row, 3)
    assert error.value.field_name == "_time"
    row["_time"] = ""  # no _time at all: the CloudTrail eventTime
    assert parse_change(row).time == D0 + 10 * H


@pytest.mark.parametrize("value", ["1" * 30, "1001", "１", "٣", "1.5", "1_0", "+"])
def test_cis_per_call_is_a_small_ascii_whole_number(value: str) -> None:
    with pytest.raises(BadChange) as error:
        parse_change(change(D0, "eni-1", cis_per_call=value))
    assert error.value.field_name == "cis_per_call"
    assert parse_change(change(D0, "eni-1", cis_per_call=" 1000 ".strip())).cis_per_resource == 1000


def test_unreadable_raw_keeps_the_change_without_an_id_and_says_so() -> None:
    nested = change(D0, "", "create", id_path="responseElements.id", _raw='{"a":' * 100_000 + "1" + "}" * 100_000)
    broken = change(D0 + H, "", "create", id_path="responseElements.id", _raw='{"responseElements": ')
    result = estimate_rows([nested, broken, *PRICES])
    [row] = result.rows
    assert (row["events"], row["unattributed_events"], row["continuous_cis"]) == ("2", "2", "2")
    assert "configcost: 2 change(s) with an unreadable _raw counted without a resource id" in result.messages


@pytest.mark.parametrize("price,date_text", [("１", "2024-01-01"), ("1e30", "2024-01-01"), ("1001", "2024-01-01"),
                                             ("Infinity", "2024-01-01"), ("0.003", "٢٠٢٤-01-01")])
def test_prices_and_dates_are_ascii_and_bounded(price: str, date_text: str) -> None:
    with pytest.raises(BadPrice):
        parse_price({"recording_mode": "continuous", "price_per_ci": price, "effective_date": date_text})


def test_money_columns_never_overflow_the_decimal_context() -> None:
    from guardrail.configcost.estimator import _money

    # quantize in the default 28-digit context fails past 24 digits before the point
    assert _money(Decimal("1e30")) == "1" + "0" * 30 + ".0000"
    rows = [change(D0, [f"eni-{n}" for n in range(2000)], cis_per_call="1000")]
    prices = [dict(p, price_per_ci="1000") for p in PRICES]
    result = estimate_rows(rows + prices, Options(earliest=D0, latest=D0 + 1))
    assert result.rows[0]["continuous_cost_month"] == "5" + "0" * 15 + ".0000"


@pytest.mark.parametrize("given,message", [
    ({"snapshot_hour": "٥"}, "expected a whole number from 0 to 23 in ASCII digits"),
    ({"month_days": "３０"}, "expected a whole number from 1 to 31 in ASCII digits"),
    ({"snapshot_hour": "24"}, "must be between 0 and 23"),
    ({"month_days": "{0}"}, "expected a whole number from 1 to 31"),
    ({"colour": "red"}, "unknown option"),
])
def test_options_are_ascii_whole_numbers_in_range(given: Dict[str, str], message: str) -> None:
    with pytest.raises(OptionError) as error:
        parse_options(given)
    assert message in str(error.value)


def test_options_and_the_search_range() -> None:
    options = parse_options({"snapshot_hour": " 6 ", "month_days": "31"}, "1790000000.5", float("nan"))
    assert (options.snapshot_hour, options.month_days, options.earliest, options.latest) == (
        6, Decimal(31), 1790000000.5, None)
    assert parse_options({}, "0", "inf") == Options()
