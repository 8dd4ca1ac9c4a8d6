"""The moves of a return case: every status change goes through :func:`fire`; clocks are rows.

:func:`fire` looks the event up in the one transition table (an illegal move raises before
anything is written), then asks the engine to apply it with compare-and-set on the case's
version and an event-log row, and tells the customer when the new status is theirs to see.
The clocks (goods due, request expiry, refund escalation and refund due) are durable timers
with deterministic ids, so scheduling them again after a redelivered webhook is a no-op.
Which event comes next is decided elsewhere: :mod:`.authorization` and :mod:`.refunds`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from aftersales.domain import Case, CaseType, Logistics, Order
from aftersales.workflows.returns import clocks, notices
from aftersales.workflows.returns.eligibility import STATEMENT_AT, statement_time
from aftersales.workflows.returns.states import ReturnEvent, next_status

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext

log = structlog.get_logger("aftersales.workflows.returns")

TIMER_GOODS_DUE = "returns.goods_due"
TIMER_REQUEST_EXPIRY = "returns.request_expiry"
TIMER_REFUND_ESCALATION = "returns.refund_escalation"
TIMER_REFUND_DUE = "returns.refund_due"

SYSTEM = "system"
CUSTOMER = "customer"
PLATFORM = "platform"
TIMER = "timer"

_INTERNAL_EVENTS = frozenset({ReturnEvent.REQUEST_REFUND, ReturnEvent.CLOSE, ReturnEvent.INSPECTED})
"""Moves the customer is not told about (the money's and the warehouse's own steps)."""


def shop_law(ctx: StepContext, case: Case | None = None) -> clocks.ShopLaw:
    informed = True
    if case is not None and case.data.get("informed_of_withdrawal") is False:
        informed = False
    return clocks.ShopLaw.from_policy(ctx.policy, informed_of_withdrawal=informed)


def fire(
    ctx: StepContext,
    case: Case,
    event: ReturnEvent,
    *,
    actor: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Case:
    """Apply ``event`` to ``case`` through the table; raises IllegalTransition before any write."""
    old = case.status
    new = next_status(old, event)
    visible = event not in _INTERNAL_EVENTS and new != old
    updated = ctx.transition(
        case,
        new.value,
        event=event.value,
        actor=actor,
        reason=reason,
        data=data or {},
        customer_visible=visible,
    )
    if visible:
        notices.on_status(ctx, updated, old, reason=reason)
    return updated


def refresh_deadlines(ctx: StepContext, case: Case, order: Order) -> bool:
    """Write the withdrawal/return windows of ``order`` on the case; True when they changed."""
    ends = clocks.windows(order, shop_law(ctx, case))
    changed = False
    for key, value in ends.items():
        if case.deadlines.get(key) != value:
            case.deadlines[key] = value
            changed = True
    return changed


# -- durable clocks ---------------------------------------------------------------------------------


def timer_id(case: Case, kind: str) -> str:
    """Deterministic: scheduling the same clock twice (a redelivered webhook) is a no-op."""
    return f"case:{case.id}:{kind}"


def schedule_goods_clocks(ctx: StepContext, case: Case) -> None:
    """Goods due (a reminder) and request expiry, for cases that wait for goods."""
    if not any(line.logistics is Logistics.AWAITING for line in case.lines):
        return
    law = shop_law(ctx, case)
    at = statement_time(case)
    due = clocks.goods_due(at, law)
    expiry = clocks.request_expiry(at, law)
    case.deadlines[clocks.GOODS_DUE] = due
    ctx.schedule(timer_id(case, clocks.GOODS_DUE), TIMER_GOODS_DUE, due, case_id=case.id, payload={})
    ctx.schedule(
        timer_id(case, clocks.REQUEST_EXPIRY), TIMER_REQUEST_EXPIRY, expiry, case_id=case.id, payload={}
    )
    ctx.save_case(case)


def schedule_refund_clocks(ctx: StepContext, case: Case) -> None:
    """For a withdrawal: warn the merchant before the refund deadline, act on its last day.

    The deadline runs from the statement whatever happens to the goods (art. 32 ust. 1
    u.p.k.); it is stored on the case so the status page and the merchant see it.
    """
    if case.type is not CaseType.WITHDRAWAL:
        return
    law = shop_law(ctx, case)
    deadline = clocks.refund_deadline(statement_time(case), law)
    case.deadlines[clocks.REFUND_DUE] = deadline.ends_at
    case.data["refund_deadline"] = {
        "last_day": deadline.last_day.isoformat(),
        "calendar_last_day": deadline.calendar_last_day.isoformat(),
        "rule": deadline.rule,
        "trace": list(deadline.trace),
    }
    escalate = clocks.refund_escalation_at(deadline, law)
    ctx.schedule(
        timer_id(case, clocks.REFUND_ESCALATION),
        TIMER_REFUND_ESCALATION,
        escalate,
        case_id=case.id,
        payload={},
    )
    ctx.schedule(
        timer_id(case, clocks.REFUND_DUE),
        TIMER_REFUND_DUE,
        clocks.refund_due_at(deadline),
        case_id=case.id,
        payload={},
    )
    ctx.save_case(case)


def cancel_goods_clocks(ctx: StepContext, case: Case) -> None:
    ctx.cancel_timer(timer_id(case, clocks.GOODS_DUE))
    ctx.cancel_timer(timer_id(case, clocks.REQUEST_EXPIRY))


def cancel_refund_clocks(ctx: StepContext, case: Case) -> None:
    ctx.cancel_timer(timer_id(case, clocks.REFUND_ESCALATION))
    ctx.cancel_timer(timer_id(case, clocks.REFUND_DUE))


def stamp_statement(data: dict[str, object], at: datetime) -> None:
    data[STATEMENT_AT] = at.isoformat()
