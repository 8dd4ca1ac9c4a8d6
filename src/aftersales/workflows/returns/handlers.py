"""What the returns workflow does when the platform, a clock or the ledger speaks.

- platform events: a Shopify return (``return.*``) opens or moves a case; an order update
  moves the withdrawal clock (a new delivery) and brings refunds made in the shop admin;
  a refund event imports such a refund at once;
- durable timers: the goods are due (a reminder), the request expires, the refund deadline
  approaches (the merchant is warned) and arrives (the engine pays when the law no longer
  lets the shop wait);
- the ledger: a refund was confirmed or failed; a platform action failed.

Every handler is safe to run twice: the table refuses a second identical move, timers check
the case before acting, and effects are keyed.
"""

from __future__ import annotations

import structlog

from aftersales.domain import (
    Case,
    CaseType,
    DomainEvent,
    EventType,
    Logistics,
    OrderData,
    RefundData,
    ReturnData,
    ReverseLogisticsData,
)
from aftersales.domain.events import is_defect_reason
from aftersales.engine.api import EffectInfo, StepContext, TimerInfo, registry
from aftersales.workflows.returns import notices, progress
from aftersales.workflows.returns.authorization import approve
from aftersales.workflows.returns.eligibility import RETURN_TYPES, RequestedLine
from aftersales.workflows.returns.flow import (
    PLATFORM,
    TIMER,
    TIMER_GOODS_DUE,
    TIMER_REFUND_DUE,
    TIMER_REFUND_ESCALATION,
    TIMER_REQUEST_EXPIRY,
    fire,
    refresh_deadlines,
)
from aftersales.workflows.returns.intake import (
    PLATFORM_SOURCE,
    find_by_intake,
    open_platform_return,
    platform_source_ref,
)
from aftersales.workflows.returns.refunds import (
    absorb_external_refunds,
    authoritative_order,
    on_refund_effect,
    request_refund,
)
from aftersales.workflows.returns.settlement import TROUBLE, approved, withholding_ended
from aftersales.workflows.returns.states import SETTLING, TERMINAL, VOID, ReturnEvent, ReturnStatus

log = structlog.get_logger("aftersales.workflows.returns")

_WAITING = frozenset({ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT})
_BEFORE_MONEY = frozenset(
    {
        ReturnStatus.APPROVED,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
    }
)


# -- platform events ---------------------------------------------------------------------------------


def _platform_case(ctx: StepContext, return_id: str | None) -> Case | None:
    """The case opened for the platform's return ``return_id``, found by its intake key.

    Not by order: Shopify's ``returns/decline`` names only the return.
    """
    if return_id is None:
        return None
    return find_by_intake(ctx, PLATFORM_SOURCE, platform_source_ref(return_id))


@registry.on_event(EventType.RETURN_REQUESTED)
def on_return_requested(ctx: StepContext, event: DomainEvent) -> None:
    """A customer asked for a return at the platform (Shopify): open a case and decide it."""
    data = event.data
    if not isinstance(data, ReturnData) or data.order_id is None:
        return
    if _platform_case(ctx, data.return_id) is not None:
        return
    order = authoritative_order(ctx, data.order_id)
    requested = [
        RequestedLine(line_item_id=line.line_item_id, quantity=line.quantity, reason=line.reason)
        for line in data.lines
        # defective lines are complaints (the complaints workflow opens those), not returns
        if line.line_item_id is not None and line.quantity > 0 and not is_defect_reason(line.reason)
    ]
    if not requested and all(is_defect_reason(line.reason) for line in data.lines):
        return
    unresolved = sum(1 for line in data.lines if line.line_item_id is None and line.quantity > 0)
    case = open_platform_return(
        ctx, order, data.return_id, requested, unresolved=unresolved, at=event.occurred_at or ctx.now()
    )
    if case.status == ReturnStatus.REJECTED:
        progress.tell_platform(ctx, case, "return.decline", actor="system", reason=_why(case))
    elif case.status not in (ReturnStatus.REQUESTED, ReturnStatus.MANUAL_REVIEW):
        progress.tell_platform(ctx, case, "return.approve", actor="system")


def _why(case: Case) -> str:
    """The reasons a case was decided with (the eligibility answer, else the case's own reason)."""
    answer = case.data.get("eligibility")
    reasons = answer.get("reasons") if isinstance(answer, dict) else None
    if isinstance(reasons, list) and reasons:
        return "; ".join(str(r) for r in reasons)
    return case.reason or "rejected"


@registry.on_event(EventType.RETURN_APPROVED)
def on_return_approved(ctx: StepContext, event: DomainEvent) -> None:
    """The merchant approved the return in the platform's admin."""
    data = event.data
    if not isinstance(data, ReturnData):
        return
    case = _platform_case(ctx, data.return_id)
    if case is None:
        on_return_requested(ctx, event)
        case = _platform_case(ctx, data.return_id)
    if (
        case is not None
        and case.status in (ReturnStatus.REQUESTED, ReturnStatus.MANUAL_REVIEW)
        and case.lines
    ):
        case = approve(ctx, case, actor=PLATFORM, reason="approved in the shop admin")
        progress.sync_logistics(ctx, case, actor=PLATFORM)


@registry.on_event(EventType.RETURN_DECLINED)
def on_return_declined(ctx: StepContext, event: DomainEvent) -> None:
    data = event.data
    if not isinstance(data, ReturnData):
        return
    case = _platform_case(ctx, data.return_id)
    if case is not None and case.status in (ReturnStatus.REQUESTED, ReturnStatus.MANUAL_REVIEW):
        progress.merchant_decline(
            ctx, case, actor=PLATFORM, reason=data.decline_reason or "declined in the shop admin"
        )


@registry.on_event(EventType.RETURN_CANCELLED)
def on_return_cancelled(ctx: StepContext, event: DomainEvent) -> None:
    data = event.data
    if not isinstance(data, ReturnData):
        return
    case = _platform_case(ctx, data.return_id)
    if case is not None and case.status not in SETTLING and case.status not in TERMINAL:
        try:
            progress.cancel(ctx, case, actor=PLATFORM, reason="cancelled at the platform")
        except ValueError as exc:
            log.info("return_cancel_ignored", case=case.number, reason=str(exc))


@registry.on_event(EventType.RETURN_CLOSED)
def on_return_closed(ctx: StepContext, event: DomainEvent) -> None:
    """Shopify closes a return once it is processed; refunds made there arrive as refund events."""
    data = event.data
    if not isinstance(data, ReturnData):
        return
    case = _platform_case(ctx, data.return_id)
    if case is not None and case.status == ReturnStatus.REFUNDED:
        fire(ctx, case, ReturnEvent.CLOSE, actor=PLATFORM, reason="closed at the platform")


@registry.on_event(EventType.RETURN_REOPENED)
def on_return_reopened(ctx: StepContext, event: DomainEvent) -> None:
    data = event.data
    if not isinstance(data, ReturnData):
        return
    case = _platform_case(ctx, data.return_id)
    if case is not None and case.status in (ReturnStatus.DECLINED, ReturnStatus.CLOSED):
        fire(ctx, case, ReturnEvent.REOPEN, actor=PLATFORM, reason="reopened at the platform")


@registry.on_event(EventType.REVERSE_LOGISTICS_UPDATED)
def on_reverse_logistics(ctx: StepContext, event: DomainEvent) -> None:
    """A return label with tracking at the platform: the customer's proof of dispatch.

    The units a Shopify reverse delivery carries are not mapped to order lines in the
    payload, so a tracked parcel counts for every unit still awaited; dispositions of
    received units are left to the merchant's ``receive`` (they name reverse-fulfillment lines).
    """
    data = event.data
    if not isinstance(data, ReverseLogisticsData) or data.shipment is None:
        return
    tracking = data.shipment.tracking_number
    case = _platform_case(ctx, data.return_id)
    if case is None or not tracking:
        return
    if not any(line.logistics is Logistics.AWAITING for line in approved(case)):
        return
    progress.mark_in_transit(
        ctx, case, actor=PLATFORM, tracking_number=tracking, carrier=data.shipment.carrier
    )


@registry.on_event(EventType.ORDER_UPSERTED)
def on_order_upserted(ctx: StepContext, event: DomainEvent) -> None:
    """New deliveries move the withdrawal clock; refunds typed in the shop admin settle cases.

    WooCommerce has no refund webhook: an admin refund shows up only in ``order.updated``.
    """
    data = event.data
    if not isinstance(data, OrderData):
        return
    order = data.order
    for case in ctx.cases_for_order(order.id):
        if case.type in RETURN_TYPES and case.status not in VOID and refresh_deadlines(ctx, case, order):
            ctx.save_case(case)
    absorb_external_refunds(ctx, order.id, list(order.refunds))


@registry.on_event(EventType.REFUND_CREATED)
def on_refund_created(ctx: StepContext, event: DomainEvent) -> None:
    """A refund at the platform: ours is the ledger's business; anyone else's settles open cases."""
    data = event.data
    if not isinstance(data, RefundData) or data.refund.effect_key:
        return
    absorb_external_refunds(ctx, data.refund.order_id, [data.refund])


# -- durable timers ------------------------------------------------------------------------------------


def _timer_case(ctx: StepContext, timer: TimerInfo) -> Case | None:
    if timer.case_id is None:
        return None
    return ctx.load_case(timer.case_id)


@registry.on_timer(TIMER_GOODS_DUE)
def on_goods_due(ctx: StepContext, timer: TimerInfo) -> None:
    """The 14 days to send the goods back are over and nothing was sent: remind the customer."""
    case = _timer_case(ctx, timer)
    if case is None or case.status not in _WAITING:
        return
    if any(line.logistics is Logistics.AWAITING for line in approved(case)):
        notices.goods_reminder(ctx, case)


@registry.on_timer(TIMER_REQUEST_EXPIRY)
def on_request_expiry(ctx: StepContext, timer: TimerInfo) -> None:
    """The goods never came: a commercial return expires; a withdrawal goes to a person.

    A withdrawal statement stays effective even when the goods are late (the consumer is
    then liable for them, art. 34 u.p.k.), so it is never expired by a timer.
    """
    case = _timer_case(ctx, timer)
    if case is None or case.status != ReturnStatus.APPROVED:
        return
    if not any(line.logistics is Logistics.AWAITING for line in approved(case)):
        return
    if case.type is CaseType.RETURN:
        fire(ctx, case, ReturnEvent.EXPIRE, actor=TIMER, reason="the goods were not sent back in time")
        return
    reason = "the goods were not sent back in time; the withdrawal stays effective"
    case = fire(ctx, case, ReturnEvent.REVIEW, actor=TIMER, reason=reason)
    notices.alert_merchant(ctx, case, "goods not returned", reason, key="request_expiry")


@registry.on_timer(TIMER_REFUND_ESCALATION)
def on_refund_escalation(ctx: StepContext, timer: TimerInfo) -> None:
    """A few working days before the statutory refund deadline: warn the merchant if nothing moved."""
    case = _timer_case(ctx, timer)
    if case is None or case.status in SETTLING or case.status in VOID:
        return
    detail = _deadline_detail(case)
    notices.alert_merchant(ctx, case, "refund deadline approaching", detail, key="refund_escalation")


@registry.on_timer(TIMER_REFUND_DUE)
def on_refund_due(ctx: StepContext, timer: TimerInfo) -> None:
    """The statutory refund deadline: pay now if nothing lawful is left to wait for, else alarm.

    After a withdrawal the refund is due within 14 days of the statement; the only lawful
    reason to wait is that neither the goods nor proof of their dispatch arrived
    (art. 32 ust. 3 u.p.k.). A case a person holds in review is not paid blindly.
    """
    case = _timer_case(ctx, timer)
    if case is None or case.status in SETTLING or case.status in VOID:
        return
    detail = _deadline_detail(case)
    if (
        case.status in _BEFORE_MONEY
        and withholding_ended(case)
        and not any(line.logistics in TROUBLE for line in approved(case))
    ):
        request_refund(ctx, case, actor=TIMER, reason="statutory refund deadline (art. 32 u.p.k.)")
        return
    notices.alert_merchant(ctx, case, "refund deadline reached", detail, key="refund_due")


def _deadline_detail(case: Case) -> str:
    deadline = case.data.get("refund_deadline")
    last_day = deadline.get("last_day") if isinstance(deadline, dict) else None
    return f"the statutory refund deadline of case {case.number} is {last_day or 'near'}; the refund is not sent yet"


# -- the ledger ----------------------------------------------------------------------------------------


@registry.on_effect("refund")
def on_refund_done(ctx: StepContext, effect: EffectInfo) -> None:
    on_refund_effect(ctx, effect)


@registry.on_effect("platform_action")
def on_platform_action_done(ctx: StepContext, effect: EffectInfo) -> None:
    """Our decision could not be mirrored on the platform's return: the merchant must do it by hand."""
    if effect.state != "failed" or effect.case_id is None:
        return
    case = ctx.load_case(effect.case_id)
    if case is None:
        return
    detail = f"{effect.effect_key} failed: {effect.error or 'refused by the platform'}"
    notices.alert_merchant(ctx, case, "platform return not updated", detail, key=effect.effect_key)
