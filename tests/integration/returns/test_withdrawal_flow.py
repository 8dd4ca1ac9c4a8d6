"""A statutory withdrawal through the real engine: statement → receipt → dispatch proof → one refund."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales import hookimpl
from aftersales.decisions import Deduction, DeductionKind
from aftersales.domain import Case, Money
from aftersales.money import RefundQuote
from aftersales.workflows.returns.eligibility import InvalidRequest

EMAIL = "john.doe@example.com"


def test_a_withdrawal_is_approved_receipted_and_refunded_once_on_proof_of_dispatch(shop: Any) -> None:
    order = shop.add_order()
    case = shop.command(
        "request_withdrawal", order_number=order["number"], email=EMAIL, lines=[{"line_item_id": "315"}]
    )
    assert case["type"] == "withdrawal"
    assert case["status"] == "approved"
    [receipt] = shop.messages("withdrawal_receipt")
    assert receipt.recipient == EMAIL
    assert "2 marca 2026" in receipt.message["text"]  # the statement's date, in the shop's language

    # on_receipt in the policy, but a withdrawal may only be withheld until proof of dispatch
    shop.command(
        "mark_in_transit", case_number=case["case_number"], tracking_number="PL123", actor="customer"
    )
    [refund] = shop.refunds_at_shop(order["id"])
    assert refund["amount"] == "3.23"  # unit 1 of 2 of a 6.45 line (tax included)
    row = shop.case(case["case_number"])
    assert row.status == "refunded"
    assert [m.template for m in shop.messages(to=EMAIL)] == [
        "withdrawal_receipt",
        "case_status",  # approved
        "case_status",  # in transit
        "refund_sent",
    ]

    # the goods arrive later: the case closes, no second refund
    shop.command("receive", case_number=case["case_number"])
    assert shop.case(case["case_number"]).status == "closed"
    assert len(shop.refunds_at_shop(order["id"])) == 1
    assert [e for e, _, _ in shop.events(case["case_number"])] == [
        "opened",
        "approve",
        "dispatched",
        "request_refund",
        "refund_confirmed",
        "goods_received",
        "close",
    ]


def test_the_same_form_sent_twice_opens_one_case_and_refunds_once(shop: Any) -> None:
    order = shop.add_order()
    payload: dict[str, Any] = {
        "order_number": order["number"],
        "email": EMAIL,
        "lines": [{"line_item_id": "316"}],
        "request_id": "form-token-1",
    }
    first = shop.command("request_withdrawal", **payload)
    second = shop.command("request_withdrawal", **payload)
    assert first["case_number"] == second["case_number"]
    assert len(shop.messages("withdrawal_receipt")) == 1
    shop.command("receive", case_number=first["case_number"])
    with pytest.raises(InvalidRequest, match="no unit that can be received"):
        shop.command("receive", case_number=first["case_number"])
    assert [r["amount"] for r in shop.refunds_at_shop(order["id"])] == ["12.90"]


class Deductions:
    """A shop plugin that would like to keep a restocking fee and charge for a scratched teapot."""

    @hookimpl
    def aftersales_refund_adjustments(self, case: Case, quote: RefundQuote) -> list[Deduction] | None:
        return [
            Deduction(
                kind=DeductionKind.RESTOCKING_FEE, amount=Money("5.00", quote.currency), reason="handling"
            ),
            Deduction(
                kind=DeductionKind.DIMINISHED_VALUE, amount=Money("2.00", quote.currency), reason="scratched"
            ),
        ]


class AdjustmentsDown:
    @hookimpl
    def aftersales_refund_adjustments(self, case: Case, quote: RefundQuote) -> list[Deduction] | None:
        raise TimeoutError("pricing service timed out")


@pytest.mark.parametrize("extra_plugins", [[Deductions()]])
def test_a_withdrawal_keeps_back_only_what_the_law_allows(shop: Any) -> None:
    order = shop.add_order()
    case = shop.command(
        "request_withdrawal", order_number="727", email=EMAIL, lines=[{"line_item_id": "316"}]
    )
    shop.command("receive", case_number=case["case_number"])
    [refund] = shop.refunds_at_shop(order["id"])
    assert refund["amount"] == "10.90"  # 12.90 less the diminished value; no restocking fee on a withdrawal
    [entry] = shop.load(case["case_number"]).data["refunds"].values()
    [refused] = entry["quote"]["refused_deductions"]
    assert refused["kind"] == "restocking_fee"
    assert "free of charge" in refused["refused_because"]


@pytest.mark.parametrize("extra_plugins", [[AdjustmentsDown()]])
def test_a_failing_adjustments_hook_moves_no_money(shop: Any) -> None:
    order = shop.add_order()
    case = shop.command(
        "request_withdrawal", order_number="727", email=EMAIL, lines=[{"line_item_id": "316"}]
    )
    after = shop.command("receive", case_number=case["case_number"])
    assert after["status"] == "manual_review"
    assert shop.refunds_at_shop(order["id"]) == []
    [alert] = shop.messages("return_alert")
    assert "refund adjustments failed" in alert.message["text"]
    assert "pricing service timed out" in alert.message["text"]


def test_the_wrong_item_goes_to_a_person_who_refunds_only_what_came_back(shop: Any) -> None:
    order = shop.add_order()
    case = shop.command(
        "request_withdrawal",
        order_number="727",
        email=EMAIL,
        lines=[{"line_item_id": "315"}, {"line_item_id": "316"}],
    )
    number = case["case_number"]
    after = shop.command(
        "receive",
        case_number=number,
        lines=[
            {"line_item_id": "315", "outcome": "received", "disposition": "restock"},
            {"line_item_id": "316", "outcome": "wrong_item"},
        ],
    )
    assert after["status"] == "manual_review"
    assert shop.refunds_at_shop(order["id"]) == []
    [alert] = shop.messages("return_alert")
    assert "wrong item" in alert.message["text"]

    shop.command("settle", case_number=number, actor="merchant:anna")
    assert shop.case(number).status == "refunded"
    [refund] = shop.refunds_at_shop(order["id"])
    assert refund["amount"] == "3.23"  # the mug that came back; not the teapot that did not
    refunded = [
        (meta["value"], line["quantity"])
        for line in refund["line_items"]
        for meta in line["meta_data"]
        if meta["key"] == "_refunded_item_id"
    ]
    assert refunded == [("315", -1)]
    settled = shop.load(number)
    lines = {(line.line_item_id, line.logistics.value, line.settlement.value) for line in settled.lines}
    assert lines == {("315", "received", "succeeded"), ("316", "wrong_item", "none")}
