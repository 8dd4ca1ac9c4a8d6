"""Scenario 1: a statutory withdrawal refunded with no person involved (WooCommerce, EU shop).

The order is paid and handed to the carrier at the fake WooCommerce shop, which delivers its
``order.created`` webhook to the service signed with the shop's secret. Five days later the
customer finds the order with its number and e-mail and uses the withdrawal function of the
customer API for the whole order (no reason needed within 14 days, Directive 2011/83/EU art. 9;
the two steps of Art. 11a), then proves dispatch with a tracking number. The EU shop's
policy refunds on proof of dispatch (``refund_trigger: on_dispatch_proof``, the earliest the
law lets a trader wait for, art. 13(3)); the refund includes the cheapest standard delivery.
The refund goes through the effects ledger to the shop's REST API; the customer gets the
withdrawal receipt (a durable medium, with date and time) and the refund notice by e-mail.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from aftersales.demo.catalog import Buyer, Item, woo_order
from aftersales.demo.scenario import (
    Outcome,
    Scenario,
    case_path,
    emails_to,
    require,
    wait_case,
    woo_refunds,
)
from aftersales.demo.stage import WOO_SHOP, Stage
from aftersales.store.models import OrderSnapshot

BUYER = Buyer("Lena", "Fischer", "lena.fischer@example.com", "en")


class Withdrawal(Scenario):
    key = "withdrawal"
    title = "Withdrawal refunded automatically"
    platform = "WooCommerce"
    workflow = "returns"

    def __init__(self) -> None:
        self.order_id = ""
        self.case_number = ""

    def start(self, stage: Stage) -> None:
        now = stage.now()
        payload = woo_order(
            BUYER,
            [Item("Trekking backpack 40 L", Decimal("89.00")), Item("Merino socks", Decimal("12.50"), 2)],
            currency="EUR",
            shipping=Decimal("4.90"),
            paid_at=now - timedelta(days=6),
            completed_at=now - timedelta(days=5),
            line_ids=stage.next_id() * 1000,
        )
        order = stage.woo.add_order(payload)  # the fake delivers order.created to the ingress
        self.order_id = str(order["id"])
        number = str(order["number"])
        stage.wait_for(
            f"WooCommerce order {number} did not reach the service",
            lambda s: s.get(OrderSnapshot, (WOO_SHOP, self.order_id)),
        )
        # the two-step withdrawal function of the shop's page: "withdraw from contract", then confirm
        order_pass = stage.order_pass(WOO_SHOP, number, BUYER.email)
        opened = stage.api(
            "POST",
            f"/api/v1/shops/{WOO_SHOP}/withdrawals",
            {
                "order_pass": order_pass,
                "confirmed": True,
                "request_id": f"demo-withdrawal-{self.order_id}",
                "locale": BUYER.locale,
            },
        )
        self.case_number = str(opened["case_number"])
        require(
            opened["status"] == "approved",
            f"withdrawal {self.case_number} was {opened['status']}, not approved",
        )
        stage.command(
            "returns.mark_in_transit",
            WOO_SHOP,
            case_number=self.case_number,
            email=BUYER.email,
            actor="customer",
            tracking_number="00340434161094042557",
            carrier="DHL",
        )

    def conclude(self, stage: Stage) -> Outcome:
        case = wait_case(
            stage,
            WOO_SHOP,
            self.order_id,
            ["withdrawal"],
            ["refunded", "closed"],
            f"withdrawal {self.case_number} was not refunded",
        )
        path = stage.read(lambda s: case_path(s, case.id))
        refunds = woo_refunds(stage, self.order_id)
        require(
            len(refunds) == 1,
            f"the shop recorded {len(refunds)} refunds for order {self.order_id}, expected 1",
        )
        return self.outcome(
            ok=True,
            case=case.number,
            happened=" → ".join(path) + _refund_parts(stage.woo.refunds(self.order_id)[0]),
            money=refunds,
            emails=emails_to(stage, BUYER.email),
        )


def _refund_parts(refund: dict[str, Any]) -> str:
    """What the shop's refund record says was paid back: the goods, and the delivery (law: the cheapest)."""
    goods = sum((abs(Decimal(str(line["total"]))) for line in refund.get("line_items", [])), Decimal(0))
    delivery = sum(
        (abs(Decimal(str(line["total"]))) for line in refund.get("shipping_lines", [])), Decimal(0)
    )
    return f" (the shop refunded goods {goods:.2f} + delivery {delivery:.2f})"
