"""The policy file: what a merchant writes, what the loader says back, line and column included."""

from __future__ import annotations

import textwrap
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aftersales.policy import (
    Policy,
    PolicyError,
    check_policy_text,
    default_policy,
    load_policy,
    parse_policy,
    policy_json_schema,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"
SHOP = "shop: {name: X, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(textwrap.dedent(text), "shop.yaml")
    return [str(p) for p in info.value.problems]


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# -- the examples --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pl-shop.yaml", "eu-shop.yaml"])
def test_the_example_policies_are_valid_without_warnings(name: str) -> None:
    result = check_policy_text((EXAMPLES / name).read_text(encoding="utf-8"), name)
    assert result.warnings == ()


def test_the_polish_example_reads_as_written() -> None:
    policy = load_policy(EXAMPLES / "pl-shop.yaml")
    assert policy.shop.jurisdiction == "PL"
    assert policy.returns.window_days == 30
    assert policy.guarantee.enabled
    assert policy.guarantee.payout.amount == Decimal("50.00")
    assert policy.money(policy.guarantee.payout.amount).currency == "PLN"
    assert policy.guarantee.promise.cutoff == time(12, 0)
    assert policy.restock.wave.per_unit == 3
    assert policy.restock.wave.interval == timedelta(hours=1)
    assert date(2026, 8, 12) in policy.closure_dates()
    assert not policy.shop_calendar().is_business_day(date(2026, 8, 12))
    assert policy.legal_calendar().is_business_day(date(2026, 8, 12))
    assert policy.language == "pl"


# -- the contract case and legal floors ------------------------------------------------------------------


def test_a_ten_day_window_in_poland_is_rejected_at_its_line() -> None:
    text = "shop:\n  name: X\n  jurisdiction: PL\n  currency: PLN\n  timezone: Europe/Warsaw\nreturns:\n  window_days: 10\n"
    problem = only_problem(text)
    assert problem.startswith("shop.yaml:7:16: ")
    assert "legal minimum of 14 days" in problem
    assert "art. 27 u.p.k. / Directive 2011/83/EU art. 9" in problem


def test_an_eu_shop_gets_the_directive_as_the_rule() -> None:
    problem = only_problem(
        "shop: {name: X, jurisdiction: EU, currency: EUR, timezone: Europe/Berlin}\nreturns: {window_days: 7}\n"
    )
    assert problem.startswith("shop.yaml:2:24: ")
    assert "Directive 2011/83/EU art. 9" in problem


def test_a_restocking_fee_on_a_withdrawal_is_rejected_at_the_list_item() -> None:
    problem = only_problem(
        SHOP
        + """returns:
  window_days: 30
  restocking_fee:
    amount: "10.00"
    applies_to: [commercial_return, withdrawal]
"""
    )
    assert problem.startswith("shop.yaml:6:37: ")
    assert "may not be charged on a statutory withdrawal" in problem


def test_answering_complaints_in_21_days_breaks_the_polish_maximum() -> None:
    problem = only_problem(SHOP + "complaints:\n  answer_within_days: 21\n  reminder_days: [10]\n")
    assert problem.startswith("shop.yaml:3:23: ")
    assert "legal maximum of 14 days" in problem
    assert "art. 7a u.p.k." in problem


def test_czech_shops_may_take_up_to_30_days() -> None:
    czech = "shop: {name: X, jurisdiction: CZ, currency: CZK, timezone: Europe/Prague}\n"
    assert parse_policy(czech + "complaints: {answer_within_days: 30}\n").complaints.answer_within_days == 30
    assert "legal maximum of 30 days" in only_problem(czech + "complaints: {answer_within_days: 31}\n")


def test_refusing_to_refund_delivery_is_unlawful() -> None:
    assert "cheapest standard delivery" in only_problem(SHOP + "returns: {refund_shipping: none}\n")


# -- clamps and warnings -------------------------------------------------------------------------------------


def test_goods_due_days_below_the_law_are_raised_with_a_warning() -> None:
    result = check_policy_text(SHOP + "returns:\n  goods_due_days: 7\n", "shop.yaml")
    assert result.policy.returns.goods_due_days == 14
    [warning] = result.warnings
    assert str(warning).startswith("shop.yaml:3:19: warning: returns.goods_due_days 7 raised to 14")
    assert "art. 34 ust. 1 u.p.k." in warning.message


def test_dropped_statutory_remedies_are_restored_with_a_warning() -> None:
    result = check_policy_text(SHOP + "complaints:\n  remedies: [replace]\n", "shop.yaml")
    assert result.policy.complaints.remedies == ["replace", "repair", "price_reduction", "withdraw"]
    assert "omits repair, price_reduction, withdraw" in result.warnings[0].message


def test_waiting_for_inspection_is_for_commercial_returns_only() -> None:
    result = check_policy_text(
        SHOP + "returns: {window_days: 30, refund_trigger: on_inspection}\n", "shop.yaml"
    )
    assert result.policy.returns.refund_trigger == "on_inspection"
    assert result.policy.returns.withdrawal_refund_trigger() == "on_dispatch_proof"
    assert "commercial returns only" in result.warnings[0].message


def test_a_fee_that_can_never_apply_is_pointed_out() -> None:
    result = check_policy_text(SHOP + 'returns: {restocking_fee: {percent: "10"}}\n', "shop.yaml")
    assert "never applies" in result.warnings[0].message


def test_warnings_are_also_reported_next_to_errors() -> None:
    found = problems(SHOP + "returns: {window_days: 10, goods_due_days: 7}\n")
    assert any("legal minimum" in p for p in found)
    assert any("warning: returns.goods_due_days" in p for p in found)


# -- types, unknown keys, syntax --------------------------------------------------------------------------

BAD_FILES = [
    # (what the merchant did, YAML, expected "line:col", part of the message)
    (
        "a money amount written as a float",
        SHOP + "guarantee:\n  payout: {amount: 50.0}\n",
        "3:20",
        'quoted string such as "50.00"',
    ),
    (
        "an unknown top-level key",
        SHOP + "retruns: {}\n",
        "2:1",
        "unknown key 'retruns' (did you mean 'returns'?)",
    ),
    (
        "a typo in a nested key",
        SHOP + "returns:\n  windw_days: 30\n",
        "3:3",
        "unknown key 'windw_days' in returns (did you mean 'window_days'?)",
    ),
    (
        "an unknown currency",
        "shop: {name: X, jurisdiction: PL, currency: ZLT, timezone: Europe/Warsaw}\n",
        "1:45",
        "unknown currency 'ZLT'",
    ),
    (
        "an unknown time zone",
        "shop: {name: X, jurisdiction: PL, currency: PLN, timezone: Europe/Warszawa}\n",
        "1:60",
        "unknown time zone",
    ),
    (
        "an unknown jurisdiction",
        "shop: {name: X, jurisdiction: UK, currency: GBP, timezone: Europe/London}\n",
        "1:31",
        "unknown jurisdiction 'UK'",
    ),
    (
        "a cut-off at 25:00",
        SHOP + 'guarantee:\n  promise: {cutoff: "25:00"}\n',
        "3:21",
        "between 00:00 and 23:59",
    ),
    (
        "negative handling days",
        SHOP + "guarantee:\n  promise:\n    handling_business_days: -1\n",
        "4:29",
        "greater than or equal to 0",
    ),
    ("a yes/no where a number belongs", SHOP + "returns:\n  window_days: true\n", "3:16", "valid integer"),
    ("a duration nobody can read", SHOP + "restock:\n  wave: {interval: soon}\n", "3:20", "not a duration"),
    (
        "cents finer than the currency",
        SHOP + 'guarantee:\n  caps: {per_order: "50.001"}\n',
        "3:21",
        "more decimal places than PLN allows (2)",
    ),
    (
        "a closure ending before it starts",
        "shop:\n  name: X\n  jurisdiction: PL\n  currency: PLN\n  timezone: Europe/Warsaw\n  closures:\n    - {from: 2026-08-14, to: 2026-08-10}\n",
        "7:7",
        "before it starts",
    ),
    (
        "a reminder after the deadline",
        SHOP + "complaints:\n  reminder_days: [10, 14]\n",
        "3:23",
        "reminder on day 14 comes too late",
    ),
    (
        "a guarantee with nothing to pay",
        SHOP + "guarantee:\n  enabled: true\n",
        "2:1",
        "needs guarantee.payout.amount",
    ),
    (
        "a broken e-mail address",
        SHOP + "notifications: {from_address: shop-at-example}\n",
        "2:31",
        "not a valid e-mail address",
    ),
    ("a missing shop section", "returns: {window_days: 30}\n", "1:1", "missing required key shop"),
    (
        "a shop without a currency",
        "shop:\n  name: X\n  jurisdiction: PL\n  timezone: Europe/Warsaw\n",
        "1:1",
        "missing required key shop.currency",
    ),
    ("a YAML syntax error", SHOP + "returns: [window_days: 30\n", "3:1", "YAML syntax error"),
    ("a key written twice", SHOP + "returns: {}\nreturns: {}\n", "3:1", "duplicate key"),
    ("an empty file", "", "1:1", "the policy file is empty"),
    ("a list instead of sections", "- shop\n", "1:1", "must be a mapping"),
]


@pytest.mark.parametrize(
    ("text", "where", "message"), [pytest.param(t, w, m, id=s) for s, t, w, m in BAD_FILES]
)
def test_each_mistake_is_reported_where_it_is(text: str, where: str, message: str) -> None:
    found = problems(text)
    assert any(p.startswith(f"shop.yaml:{where}: ") and message in p for p in found), found


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    found = problems(
        """\
        shop:
          name: X
          jurisdiction: PL
          currency: PLN
          timezone: Nowhere/City
        returns:
          windw_days: 30
        guarantee:
          payout: {amount: 50.5}
        """
    )
    assert [p.split(": ", 1)[0] for p in found] == ["shop.yaml:5:13", "shop.yaml:7:3", "shop.yaml:9:20"]


def test_empty_sections_mean_defaults() -> None:
    policy = parse_policy(SHOP + "returns:\ncomplaints:\n")
    assert policy.returns.window_days == 14
    assert policy.complaints.answer_within_days == 14


def test_the_file_name_is_printed_as_given(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SHOP + "returns: {window_days: 10}\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value.errors[0]).startswith(f"{path}:2:24: ")


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"shop:\n  name: Sklep \xb3\xf3d\xbc\n")
    with pytest.raises(PolicyError, match=r"latin.yaml:2:1: the file is not valid UTF-8"):
        load_policy(latin)


# -- values --------------------------------------------------------------------------------------------------


def test_lawful_conservative_defaults() -> None:
    policy = default_policy("Sklep")
    assert policy.shop.currency == "PLN"
    assert policy.shop.timezone == "Europe/Warsaw"
    assert policy.returns.window_days == 14
    assert policy.returns.return_shipping_paid_by == "shop"
    assert policy.returns.auto_approve.max_value is None
    assert policy.returns.restocking_fee is None
    assert policy.complaints.answer_within_days == 14
    assert policy.guarantee.enabled is False
    assert policy.restock.double_opt_in is True


def test_default_policy_checks_the_law_too() -> None:
    with pytest.raises(PolicyError, match="legal minimum"):
        default_policy("Sklep", returns={"window_days": 7})
    with pytest.raises(ValueError, match="time zone"):
        default_policy("Shop", "EU")
    assert default_policy("Shop", "EU", timezone="Europe/Vienna").shop.currency == "EUR"


def test_a_policy_survives_a_json_round_trip() -> None:
    policy = load_policy(EXAMPLES / "pl-shop.yaml")
    data = policy.model_dump(mode="json", by_alias=True)
    assert data["guarantee"]["payout"]["amount"] == "50.00"
    assert data["guarantee"]["promise"]["cutoff"] == "12:00"
    assert data["restock"]["wave"]["interval"] == "1h"
    assert data["shop"]["closures"][1] == {"from": "2026-08-10", "to": "2026-08-14"}
    assert Policy.model_validate(data) == policy


@pytest.mark.parametrize(
    ("written", "minutes"),
    [("1h", 60), ("30m", 30), ("1h30m", 90), ("2d", 2880), ("PT1H", 60), ("P1DT2H", 1560)],
)
def test_intervals_as_merchants_write_them(written: str, minutes: int) -> None:
    policy = parse_policy(SHOP + f"restock:\n  wave: {{interval: {written}}}\n")
    assert policy.restock.wave.interval == timedelta(minutes=minutes)


def test_a_policy_is_immutable() -> None:
    policy = default_policy()
    with pytest.raises(ValueError, match="frozen"):
        policy.returns.window_days = 30  # type: ignore[misc]


def test_the_json_schema_describes_the_file_for_editors() -> None:
    schema = policy_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["required"] == ["shop"]
    assert schema["additionalProperties"] is False
    defs = schema["$defs"]
    assert defs["PromiseSettings"]["properties"]["cutoff"]["default"] == "12:00"
    assert defs["Wave"]["properties"]["interval"]["default"] == "1h"
    assert defs["Payout"]["properties"]["amount"]["anyOf"][0]["type"] == "string"
    assert "PL" in defs["Shop"]["properties"]["jurisdiction"]["enum"]
    assert "statutory" in defs["Returns"]["properties"]["window_days"]["description"]
    assert set(defs["ClosureRange"]["properties"]) == {"from", "to"}
