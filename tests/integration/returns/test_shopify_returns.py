"""Shopify returns (``returns/*`` webhooks) open and move cases; our decisions are mirrored back.

The fake Shopify Admin API validates every GraphQL document against the real schema and knows
orders, fulfillments, returns and refunds (``@idempotent`` included). The order was delivered
on Monday 2 February 2026, so the statutory window ended on 16 February and the shop's own
30-day window ends on 4 March: the "today" of these tests, Monday 2 March, is inside the
commercial window only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.store.models import CaseRow, InboxItem
from aftersales.workflows.returns.eligibility import InvalidRequest

EMAIL = "ewa@example.pl"
ORDER_ID = 5_801_234_567_890
SHOES, CAP = 11_001, 11_002


def pln(amount: str) -> dict[str, Any]:
    return {"shop_money": {"amount": amount, "currency_code": "PLN"}}


def delivered_order() -> dict[str, Any]:
    """Two pairs of shoes (100 zł each) and a cap (90 zł), courier 10 zł, VAT included, delivered 2 Feb."""
    return {
        "id": ORDER_ID,
        "name": "#1042",
        "number": 42,
        "order_number": 1042,
        "email": EMAIL,
        "currency": "PLN",
        "taxes_included": True,
        "financial_status": "paid",
        "created_at": "2026-01-29T10:00:00+01:00",
        "updated_at": "2026-02-02T12:00:00+01:00",
        "total_price": "300.00",
        "payment_gateway_names": ["przelewy24"],
        "customer_locale": "pl",
        "line_items": [
            {
                "id": SHOES,
                "title": "Buty",
                "quantity": 2,
                "price": "100.00",
                "price_set": pln("100.00"),
                "product_id": 1,
                "variant_id": 11,
            },
            {
                "id": CAP,
                "title": "Czapka",
                "quantity": 1,
                "price": "90.00",
                "price_set": pln("90.00"),
                "product_id": 2,
                "variant_id": 21,
            },
        ],
        "total_price_set": pln("300.00"),
        "shipping_lines": [
            {
                "id": 12_001,
                "title": "Kurier",
                "price": "10.00",
                "price_set": pln("10.00"),
                "discounted_price": "10.00",
                "discounted_price_set": pln("10.00"),
            }
        ],
        "fulfillments": [
            {
                "id": 13_001,
                "status": "success",
                "shipment_status": "delivered",
                "created_at": "2026-01-30T09:00:00+01:00",
                "updated_at": "2026-02-02T12:00:00+01:00",
                "line_items": [{"id": SHOES, "quantity": 2}, {"id": CAP, "quantity": 1}],
            }
        ],
    }


def return_webhook(fake: Any, return_id: str, reason: str = "size_too_small") -> dict[str, Any]:
    """The ``returns/request`` body Shopify sends for a return the fake shop holds."""
    [held] = [r for r in fake.returns(ORDER_ID) if r["id"] == return_id]
    return {
        "id": int(return_id),
        "admin_graphql_api_id": f"gid://shopify/Return/{return_id}",
        "status": "requested",
        "order": {"id": ORDER_ID, "admin_graphql_api_id": f"gid://shopify/Order/{ORDER_ID}"},
        "total_return_line_items": len(held["lines"]),
        "name": None,
        "return_line_items": [
            {
                "id": int(line["id"]),
                "quantity": line["quantity"],
                "return_reason": reason,
                "fulfillment_line_item": {"id": 1, "line_item": {"id": int(line["line_item_id"])}},
            }
            for line in held["lines"]
        ],
        "return_shipping_fees": [],
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    }


@pytest.fixture
def order(shopify: Any) -> dict[str, Any]:
    body = delivered_order()
    shopify.fake.add_order(body)
    shopify.deliver("orders/updated", body)
    assert shopify.count(InboxItem, state="done") == 1  # the webhook body normalizes; the order is stored
    return body


def test_a_commercial_return_is_approved_at_shopify_refunded_once_less_the_fee_and_closed(
    shopify: Any, order: dict[str, Any]
) -> None:
    return_id = shopify.fake.add_return(ORDER_ID, [(SHOES, 1)])
    webhook = return_webhook(shopify.fake, return_id)
    shopify.deliver("returns/request", webhook)
    shopify.deliver("returns/request", webhook)  # Shopify retries: still one case

    [case] = [c for c in _cases(shopify) if c.type == "return"]
    assert case.status == "approved"
    assert [r["status"] for r in shopify.fake.returns(ORDER_ID)] == ["OPEN"]  # mirrored: returnApproveRequest

    shopify.command("receive", case_number=case.number, actor="merchant:magazyn")
    [refund] = shopify.fake.refunds(ORDER_ID)
    assert Decimal(refund["amount"]) == Decimal("90.00")  # one pair, less the 10 zł restocking fee
    assert shopify.case(case.number).status == "closed"
    assert [r["status"] for r in shopify.fake.returns(ORDER_ID)] == ["CLOSED"]
    assert len(shopify.effects("platform_action")) == 2


def test_a_return_outside_every_window_is_rejected_and_declined_at_shopify(
    shopify: Any, order: dict[str, Any]
) -> None:
    shopify.clock.set(datetime(2026, 3, 6, 9, tzinfo=UTC))  # the 30-day window ended on 4 March
    return_id = shopify.fake.add_return(ORDER_ID, [(CAP, 1)])
    shopify.deliver("returns/request", return_webhook(shopify.fake, return_id))
    [case] = _cases(shopify)
    assert case.status == "rejected"
    [declined] = shopify.messages("return_declined")
    assert declined.recipient == EMAIL
    assert "the return window ended on 2026-03-04" in declined.message["text"]
    [held] = shopify.fake.returns(ORDER_ID)
    assert held["status"] == "DECLINED"
    assert held["decline"]["reason"] == "RETURN_PERIOD_ENDED"
    assert shopify.fake.refunds(ORDER_ID) == []


def test_a_return_inside_the_statutory_window_is_a_withdrawal(shopify: Any) -> None:
    body = delivered_order()
    shopify.fake.add_order(body)
    shopify.clock.set(datetime(2026, 2, 10, 9, tzinfo=UTC))
    shopify.deliver("orders/updated", body)
    return_id = shopify.fake.add_return(ORDER_ID, [(CAP, 1)])
    shopify.deliver("returns/request", return_webhook(shopify.fake, return_id, reason="other"))
    [case] = _cases(shopify)
    assert (case.type, case.status) == ("withdrawal", "approved")  # no approval needed, any reason
    shopify.advance(timedelta(days=1))
    shopify.command("mark_in_transit", case_number=case.number, tracking_number="INPOST-1")
    [refund] = shopify.fake.refunds(ORDER_ID)
    assert Decimal(refund["amount"]) == Decimal("90.00")  # no restocking fee on a withdrawal


def test_a_return_for_a_defect_opens_no_return_case(shopify: Any, order: dict[str, Any]) -> None:
    return_id = shopify.fake.add_return(ORDER_ID, [(SHOES, 1)])
    shopify.deliver("returns/request", return_webhook(shopify.fake, return_id, reason="defective"))
    # a defect is statutory liability: the complaints workflow opens it (when loaded), never a return
    assert [c.type for c in _cases(shopify) if c.type != "complaint"] == []
    assert shopify.fake.refunds(ORDER_ID) == []


def _cases(harness: Any) -> list[CaseRow]:
    with harness.rt.read_session() as session:
        rows = list(session.scalars(select(CaseRow).order_by(CaseRow.opened_at)))
        for row in rows:
            session.expunge(row)
        return rows


def admin_refund(refund_id: int, line_id: int, quantity: int, amount: str) -> dict[str, Any]:
    """A ``refunds/create`` body for a refund the merchant typed in the Shopify admin (no key of ours)."""
    pln = {"shop_money": {"amount": amount, "currency_code": "PLN"}}
    return {
        "id": refund_id,
        "order_id": ORDER_ID,
        "created_at": "2026-03-02T11:00:00+01:00",
        "processed_at": "2026-03-02T11:00:00+01:00",
        "note": "zwrot w sklepie",
        "restock": False,
        "refund_line_items": [
            {"id": refund_id + 1, "line_item_id": line_id, "quantity": quantity, "subtotal_set": pln}
        ],
        "transactions": [
            {"id": refund_id + 2, "kind": "refund", "status": "success", "amount": amount, "currency": "PLN"}
        ],
    }


@pytest.mark.parametrize("refund_trigger", ["manual"])
def test_a_refund_made_in_the_shopify_admin_settles_the_case_and_is_never_paid_again(
    shopify: Any, order: dict[str, Any]
) -> None:
    return_id = shopify.fake.add_return(ORDER_ID, [(SHOES, 1)])
    shopify.deliver("returns/request", return_webhook(shopify.fake, return_id))
    [case] = _cases(shopify)
    assert case.status == "approved"

    shopify.deliver("refunds/create", admin_refund(77_001, SHOES, 1, "100.00"))
    assert shopify.case(case.number).status == "refunded"
    assert shopify.load(case.number).data["external_refunds"] == ["77001"]
    shopify.command("receive", case_number=case.number)
    assert shopify.case(case.number).status == "closed"
    assert shopify.fake.refunds(ORDER_ID) == []  # the engine itself paid nothing
    assert shopify.effects("refund") == []

    # the refunded pair is not returnable again; the other pair is
    both = [{"line_item_id": str(SHOES), "quantity": 2}]
    with pytest.raises(InvalidRequest, match="only 1 can still be returned"):
        shopify.command("request_return", order_number="1042", email=EMAIL, lines=both)
    other = [{"line_item_id": str(SHOES), "reason": "size_too_small"}]
    again = shopify.command("request_return", order_number="1042", email=EMAIL, lines=other)
    assert again["status"] == "approved"


def test_a_delivery_reported_later_starts_the_withdrawal_clock_on_the_open_case(shopify: Any) -> None:
    shopify.clock.set(datetime(2026, 1, 30, 12, tzinfo=UTC))
    travelling = delivered_order()
    travelling["fulfillments"][0].update(shipment_status="in_transit", updated_at="2026-01-30T12:00:00+01:00")
    shopify.fake.add_order(travelling)
    shopify.deliver("orders/updated", travelling)
    # withdrawing before the goods arrive is the consumer's right (art. 27 u.p.k.)
    case = shopify.command(
        "request_withdrawal", order_number="1042", email=EMAIL, lines=[{"line_item_id": str(CAP)}]
    )
    assert case["status"] == "approved"
    assert "withdrawal_window" not in case["deadlines"]

    shopify.clock.set(datetime(2026, 2, 2, 12, tzinfo=UTC))
    delivered = delivered_order()
    delivered["updated_at"] = "2026-02-02T13:00:00+01:00"
    shopify.fake.add_order(delivered)
    shopify.deliver("orders/updated", delivered)
    windows = shopify.load(case["case_number"]).deadlines
    # delivered Monday 2 February → the window closes at the end of Monday 16 February, Warsaw time
    assert windows["withdrawal_window"] == datetime(2026, 2, 16, 23, 0, tzinfo=UTC)
    assert windows["return_window"] == datetime(2026, 3, 4, 23, 0, tzinfo=UTC)
