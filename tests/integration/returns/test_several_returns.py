"""Several returns of one order, and requests that must be refused with nothing written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from aftersales.store.models import CaseRow, Effect
from aftersales.workflows.returns.eligibility import InvalidRequest

EMAIL = "john.doe@example.com"


def test_two_withdrawals_of_one_order_refund_exactly_what_was_paid(shop: Any) -> None:
    order = shop.add_order()
    first = shop.command(
        "request_withdrawal", order_number="727", email=EMAIL, lines=[{"line_item_id": "315", "quantity": 1}]
    )
    shop.command("receive", case_number=first["case_number"])
    second = shop.command(
        "request_withdrawal",
        order_number="727",
        email=EMAIL,
        lines=[{"line_item_id": "315"}, {"line_item_id": "316"}],
    )
    shop.command("receive", case_number=second["case_number"])
    with pytest.raises(InvalidRequest, match=r"only 0 can still be returned \(bought 2, 2 already returned"):
        shop.command("request_return", order_number="727", email=EMAIL, lines=[{"line_item_id": "315"}])

    amounts = [Decimal(r["amount"]) for r in shop.refunds_at_shop(order["id"])]
    # unit 1 of the 6.45 line; then unit 2, the 12.90 line and the standard delivery (whole order withdrawn)
    assert amounts == [Decimal("3.23"), Decimal("26.12")]
    assert sum(amounts) == Decimal(order["total"])
    assert {shop.case(c["case_number"]).status for c in (first, second)} == {"closed"}


def test_a_withdrawal_from_the_whole_contract_names_no_lines(shop: Any) -> None:
    order = shop.add_order()
    case = shop.command("request_withdrawal", order_number="#727", email=EMAIL.upper())
    assert [(line["line_item_id"]) for line in case["lines"]] == ["315", "315", "316"]
    shop.command("mark_in_transit", case_number=case["case_number"], tracking_number="RR123456789PL")
    [refund] = shop.refunds_at_shop(order["id"])
    assert refund["amount"] == "29.35"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"order_number": "727", "email": "someone@else.pl"}, "no order 727 for this e-mail address"),
        ({"order_number": "999", "email": EMAIL}, "no order 999"),
        (
            {"order_number": "727", "email": EMAIL, "lines": [{"line_item_id": "9999"}]},
            "not part of order 727",
        ),
        (
            {"order_number": "727", "email": EMAIL, "lines": [{"line_item_id": "315", "quantity": 3}]},
            r"3 unit\(s\) of 'Woo Single #1' asked for, but only 2",
        ),
        (
            {"order_number": "727", "email": EMAIL, "lines": [{"line_item_id": "315", "quantity": 0}]},
            "at least 1",
        ),
        (
            {"order_number": "727", "email": EMAIL, "surprise": True},
            "surprise: Extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_request_is_refused_with_its_reason_and_leaves_nothing(
    shop: Any, payload: dict[str, Any], reason: str
) -> None:
    shop.add_order()
    with pytest.raises(InvalidRequest, match=reason):
        shop.command("request_withdrawal", **payload)
    assert shop.count(CaseRow) == 0
    assert shop.messages() == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"reason": "late parcel", "amount": "-5.00"}, "more than 0"),
        ({"reason": "late parcel", "amount": "0"}, "more than 0"),
        ({"reason": "late parcel", "amount": "5.00", "currency": "EUR"}, "in EUR but order 727 is in PLN"),
        ({"reason": "late parcel", "amount": "29.36"}, r"only 29.35 PLN of order 727's payment is left"),
        ({"reason": "late parcel", "amount": "5.001"}, "invalid amount"),
        ({"reason": "  ", "amount": "5.00"}, "needs a reason"),
        ({"reason": "late parcel"}, "needs an amount or order lines"),
    ],
)
def test_a_bad_goodwill_refund_is_refused_and_nothing_moves(
    shop: Any, payload: dict[str, Any], reason: str
) -> None:
    order = shop.add_order()
    with pytest.raises(InvalidRequest, match=reason):
        shop.command("goodwill_refund", order_id=str(order["id"]), **payload)
    assert shop.count(CaseRow) == 0
    assert shop.count(Effect) == 0
    assert shop.refunds_at_shop(order["id"]) == []


def test_goodwill_refunds_an_amount_without_goods_and_counts_against_the_balance(shop: Any) -> None:
    order = shop.add_order()
    case = shop.command(
        "goodwill_refund", order_id=str(order["id"]), reason="parcel arrived a week late", amount="20.00"
    )
    assert shop.case(case["case_number"]).status == "closed"
    assert [r["amount"] for r in shop.refunds_at_shop(order["id"])] == ["20.00"]
    [sent] = shop.messages("refund_sent")
    assert "20,00" in sent.message["text"]
    with pytest.raises(InvalidRequest, match=r"only 9.35 PLN"):
        shop.command("goodwill_refund", order_id=str(order["id"]), reason="again", amount="10.00")
