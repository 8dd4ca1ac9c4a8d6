"""Handlers the reliability suite's worker processes import (``AFTERSALES_IMPORT=reliability_workflows``).

Two automations, chosen by the shop id, so one worker binary serves every test:

- shops ``rel-goodwill-*``: every order the shop reports by webhook gets a goodwill refund of
  :data:`GOODWILL_AMOUNT` through the returns workflow's own command (``returns.goodwill_refund``):
  a goodwill case, its approval, the refund in the effects ledger, the customer's e-mails, and
  the case closed by the returns workflow when the platform confirms the refund. Only the
  trigger is ours, because nothing in the product refunds on a webhook by the wall clock
  alone (a guarantee payout needs a promised day to pass, a withdrawal needs the goods back)
  and a worker killed with SIGKILL cannot run on a test's ``ManualClock``.
- shops ``rel-ledger-*``: the lightest refund per order — a case keyed by the order and one
  ledger refund keyed by the order, closed when the platform confirms. For the duplicate
  delivery tests, where the point is "each distinct delivery processed once, each effect
  once", at thousands of orders. The case's data lists every delivery the handler processed
  (topic + the body's modification time, which the engine keeps when it swaps in the
  refetched order), deliberately *appended* rather than keyed: a delivery processed twice
  would show up twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aftersales.domain import CaseType, DomainEvent, EventType, Money, OrderData
from aftersales.engine.api import EffectInfo, StepContext, registry
from aftersales.platforms import RefundRequest
from aftersales.store.models import CaseRow

GOODWILL_PREFIX = "rel-goodwill-"
LEDGER_PREFIX = "rel-ledger-"
GOODWILL_AMOUNT = "5.00"
LEDGER_AMOUNT = "1.00"
LEDGER_SOURCE = "reliability"
REFUNDING = "refunding"
SETTLED = "settled"
REFUND_FAILED = "refund_failed"


def goodwill_request_id(order_id: str) -> str:
    return f"reliability:{order_id}"


def ledger_key(shop_id: str, order_id: str) -> str:
    return f"reliability:{shop_id}:{order_id}"


@registry.on_event(EventType.ORDER_UPSERTED)
def refund_reported_orders(ctx: StepContext, event: DomainEvent) -> None:
    if not isinstance(event.data, OrderData):
        return
    if ctx.shop_id.startswith(GOODWILL_PREFIX):
        _goodwill(ctx, event)
    elif ctx.shop_id.startswith(LEDGER_PREFIX):
        _ledger(ctx, event)


def _goodwill(ctx: StepContext, event: DomainEvent) -> None:
    assert isinstance(event.data, OrderData)
    order = event.data.order
    request_id = goodwill_request_id(order.id)
    # the refund's own order.updated webhook comes back here: one goodwill per order
    seen = ctx.session.scalars(
        select(CaseRow.id).where(CaseRow.shop_id == ctx.shop_id, CaseRow.source_ref == request_id)
    ).first()
    if seen is not None:
        return
    command = registry.get_command("returns.goodwill_refund")
    command(
        ctx,
        order_id=order.id,
        reason="reliability suite: a goodwill refund for every order",
        amount=GOODWILL_AMOUNT,
        currency=order.currency,
        request_id=request_id,
    )


def _ledger(ctx: StepContext, event: DomainEvent) -> None:
    assert isinstance(event.data, OrderData)
    order = event.data.order
    case = ctx.open_case(
        type=CaseType.COMPLAINT,
        status=REFUNDING,
        order_id=order.id,
        customer=order.customer,
        source=LEDGER_SOURCE,
        source_ref=f"order:{order.id}",
        data={"suite": LEDGER_SOURCE, "processed": []},
    )
    seen = case.data.get("processed")
    processed: list[Any] = list(seen) if isinstance(seen, list) else []
    stamp = event.occurred_at.isoformat() if event.occurred_at else None
    processed.append([event.topic, stamp])
    case.data["processed"] = processed
    ctx.save_case(case)
    key = ledger_key(ctx.shop_id, order.id)
    ctx.request_effect(
        key,
        "refund",
        RefundRequest(
            effect_key=key,
            order_id=order.id,
            amount=Money(LEDGER_AMOUNT, order.currency),
            reason=f"{case.number}: reliability suite",
            notify_customer=False,
        ),
        case_id=case.id,
    )


@registry.on_effect("refund")
def ledger_refund_settled(ctx: StepContext, effect: EffectInfo) -> None:
    if not ctx.shop_id.startswith(LEDGER_PREFIX) or effect.case_id is None:
        return
    case = ctx.load_case(effect.case_id)
    if case is None or case.status != REFUNDING:
        return  # told twice
    status = SETTLED if effect.state == "confirmed" else REFUND_FAILED
    ctx.transition(case, status, event=f"refund_{effect.state}", actor="platform")
