"""Scenario 5: "dispatched on the promised day or 50 zł back", paid out with no person (Shopify, PL shop).

The order is paid now; the signed ``orders/create`` webhook makes the service snapshot the
promise once (cut-off 12:00 on a Polish business day, one handling day, public holidays from
the calendar) and arm a durable timer for the end of the promised day. Nobody ships it. The
runner moves the engine clock to that timer (read from the timers table), the worker fires it,
the guarantee re-reads the order from the shop (still unfulfilled: late), applies the caps and
exclusions of the policy, and pays the fixed 50 zł through the effects ledger as a Shopify
``refundCreate`` with an ``@idempotent`` key — one payout per order can ever exist. The
customer is told by e-mail. Every decision is on the promise's trace.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

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
from aftersales.store.models import Promise, Timer

BUYER = Buyer("Zofia", "Wiśniewska", "zofia.wisniewska@example.pl", "pl")
DEADLINE_TIMER = "guarantee.deadline"


class LateDispatch(Scenario):
    key = "guarantee"
    title = "Late dispatch paid out automatically"
    platform = "Shopify"
    workflow = "guarantee"

    def __init__(self) -> None:
        self.order_id = ""

    def start(self, stage: Stage) -> None:
        payload = place_shopify_order(
            stage,
            BUYER,
            [Item("Ekspres do kawy Barista 2", Decimal("1299.00"), sku="EXP-B2")],
            paid_at=stage.now(),
            shipping=Decimal("0.00"),
        )
        self.order_id = str(payload["id"])
        stage.wait_for(
            f"no shipping promise was recorded for Shopify order {payload['name']}",
            lambda s: s.get(Promise, (SHOPIFY_SHOP, self.order_id)),
        )

    def wake_at(self, stage: Stage) -> datetime | None:
        """The end of the promised day: the guarantee's own timer for this order."""
        timers = stage.read(
            lambda s: s.scalars(
                select(Timer).where(
                    Timer.shop_id == SHOPIFY_SHOP, Timer.kind == DEADLINE_TIMER, Timer.state == "pending"
                )
            ).all()
        )
        moments = [t.due_at for t in timers if str((t.payload or {}).get("order_id")) == self.order_id]
        return min(moments) if moments else None

    def conclude(self, stage: Stage) -> Outcome:
        case = wait_case(
            stage,
            SHOPIFY_SHOP,
            self.order_id,
            ["guarantee_payout"],
            ["paid"],
            f"no guarantee payout was paid for order {self.order_id}",
        )
        promise = stage.read(lambda s: s.get(Promise, (SHOPIFY_SHOP, self.order_id)))
        require(promise is not None, f"the promise of order {self.order_id} is gone")
        assert promise is not None
        path = stage.read(lambda s: case_path(s, case.id))
        reason = stage.read(lambda s: last_reason(s, case.id)) or promise.late_reason
        refunds = shopify_refunds(stage, self.order_id)
        require(
            len(refunds) == 1,
            f"the shop recorded {len(refunds)} refunds for order {self.order_id}, expected 1",
        )
        return self.outcome(
            ok=True,
            case=case.number,
            happened=f"promised dispatch by {promise.dispatch_by:%Y-%m-%d}; {reason or 'late'} → "
            + " → ".join(path),
            money=refunds,
            emails=emails_to(stage, BUYER.email),
        )
