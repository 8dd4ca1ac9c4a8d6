"""Scenario 2: a commercial return asked for too late is declined, with the reason (Shopify, PL shop).

The Polish shop gives 30 days from delivery for a commercial return (more than the 14 days
the law gives for a withdrawal; a policy may exceed the floor, never undercut it). The order
was delivered 40 days ago — the fake Shopify shop knows the fulfillment's ``deliveredAt``,
which the service reads when the signed ``orders/create`` webhook makes it refetch the
order. The customer's request through the customer API is judged by the built-in
``aftersales_return_eligibility`` plugin against that window and refused with the date the
window ended; the customer is told why by e-mail. No money moves.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from aftersales.demo.catalog import Buyer, Item
from aftersales.demo.orders import place_shopify_order
from aftersales.demo.scenario import (
    Outcome,
    Scenario,
    case_path,
    emails_to,
    last_reason,
    require,
    shopify_refunds,
    wait_case,
)
from aftersales.demo.stage import SHOPIFY_SHOP, Stage

BUYER = Buyer("Marek", "Nowak", "marek.nowak@example.pl", "pl")


class LateReturn(Scenario):
    key = "return"
    title = "Commercial return declined out of window"
    platform = "Shopify"
    workflow = "returns"

    def __init__(self) -> None:
        self.order_id = ""
        self.case_number = ""

    def start(self, stage: Stage) -> None:
        now = stage.now()
        payload = place_shopify_order(
            stage,
            BUYER,
            [Item("Kurtka zimowa Tatra", Decimal("349.00"), sku="KZ-TATRA-M")],
            paid_at=now - timedelta(days=43),
            dispatched_at=now - timedelta(days=42),
            delivered_at=now - timedelta(days=40),
        )
        self.order_id = str(payload["id"])
        line = str(payload["line_items"][0]["id"])
        order_pass = stage.order_pass(SHOPIFY_SHOP, str(payload["name"]), BUYER.email)
        answer = stage.api(
            "POST",
            f"/api/v1/shops/{SHOPIFY_SHOP}/returns",
            {
                "order_pass": order_pass,
                "lines": [{"line_item_id": line, "quantity": 1, "reason": "changed_mind"}],
                "request_id": f"demo-return-{self.order_id}",
                "locale": BUYER.locale,
            },
        )
        self.case_number = str(answer["case_number"])

    def conclude(self, stage: Stage) -> Outcome:
        case = wait_case(
            stage,
            SHOPIFY_SHOP,
            self.order_id,
            ["return"],
            ["rejected", "declined"],
            f"return {self.case_number} was not declined",
        )
        path = stage.read(lambda s: case_path(s, case.id))
        refunds = shopify_refunds(stage, self.order_id)
        require(not refunds, f"the shop refunded order {self.order_id} although the return was declined")
        reason = stage.read(lambda s: last_reason(s, case.id))
        why = f" ({reason})" if reason else ""
        return self.outcome(
            ok=True,
            case=case.number,
            happened=" → ".join(path) + why,
            money=refunds,
            emails=emails_to(stage, BUYER.email),
        )
