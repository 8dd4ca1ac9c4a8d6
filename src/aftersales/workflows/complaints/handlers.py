"""What the complaints workflow does when a clock fires, the ledger settles, a message arrives, or the platform speaks.

- timers: the statutory answer deadline (deemed acceptance), merchant reminders, the
  first-response SLA, the repair SLA (warning, due), the guarantor's deadline, loaners due
  back, the 14 days for the money;
- the outbox: a ``complaint_answer`` accepted by its channel stops the answer clock at the
  instant it was accepted (not when this handler happens to run);
- the ledger: a complaint refund confirmed or failed;
- the platform: a Shopify return whose reason is a defect is a complaint, not a return.

Every handler re-reads the case and checks its status first, so a timer that fires after the
case moved on, or a second delivery of the same event, changes nothing.
"""

from __future__ import annotations

import structlog

from aftersales.domain import Case, DomainEvent, EventType, Order, ReturnData
from aftersales.domain.events import is_defect_reason
from aftersales.engine.api import DeliveredInfo, EffectInfo, StepContext, TimerInfo, registry
from aftersales.platforms import PlatformError
from aftersales.workflows.complaints import answer, notices, remedies, repairs
from aftersales.workflows.complaints.flow import (
    COMPLAINT_TYPES,
    TIMER_ANSWER_DUE,
    TIMER_FIRST_RESPONSE,
    TIMER_GUARANTEE_DUE,
    TIMER_LOANER_DUE,
    TIMER_REFUND_DUE,
    TIMER_REMINDER,
    TIMER_REPAIR_DUE,
    TIMER_REPAIR_WARNING,
)
from aftersales.workflows.complaints.intake import LineClaim, Submission, open_complaint

log = structlog.get_logger("aftersales.workflows.complaints")

"""Shopify ``ReturnReason`` values that mean a lack of conformity (a complaint, not a return)."""


def _case(ctx: StepContext, case_id: str | None) -> Case | None:
    if case_id is None:
        return None
    case = ctx.load_case(case_id)
    if case is None or case.type not in COMPLAINT_TYPES:
        return None
    return case


# -- the answer clock -----------------------------------------------------------------------------------


@registry.on_timer(TIMER_ANSWER_DUE)
def on_answer_due(ctx: StepContext, timer: TimerInfo) -> None:
    """Art. 7a ust. 2 u.p.k.: no answer reached the consumer in time — deemed accepted, then carried out."""
    case = _case(ctx, timer.case_id)
    if case is not None:
        answer.on_answer_due(ctx, case)


@registry.on_timer(TIMER_REMINDER)
def on_reminder(ctx: StepContext, timer: TimerInfo) -> None:
    case = _case(ctx, timer.case_id)
    if case is not None:
        answer.on_reminder(ctx, case, int(timer.payload.get("day", 0)))


@registry.on_timer(TIMER_FIRST_RESPONSE)
def on_first_response(ctx: StepContext, timer: TimerInfo) -> None:
    case = _case(ctx, timer.case_id)
    if case is not None:
        answer.on_first_response_due(ctx, case)


@registry.on_message_delivered(notices.COMPLAINT_ANSWER)
def on_answer_delivered(ctx: StepContext, message: DeliveredInfo) -> None:
    """The channel accepted the answer: the clock stops at ``sent_at`` (if that was in time)."""
    case = _case(ctx, message.case_id)
    if case is None or not message.receipt.accepted:
        return
    answer.answer_reached(ctx, case, outbox_key=message.dedupe_key, at=message.sent_at, via=message.channel)


# -- repairs, loaners, money -------------------------------------------------------------------------------


@registry.on_timer(TIMER_REPAIR_WARNING)
def on_repair_warning(ctx: StepContext, timer: TimerInfo) -> None:
    case = _case(ctx, timer.case_id)
    if case is not None:
        repairs.on_repair_warning(ctx, case)


@registry.on_timer(TIMER_REPAIR_DUE)
def on_repair_due(ctx: StepContext, timer: TimerInfo) -> None:
    case = _case(ctx, timer.case_id)
    if case is not None:
        repairs.on_repair_due(ctx, case)


@registry.on_timer(TIMER_GUARANTEE_DUE)
def on_guarantee_due(ctx: StepContext, timer: TimerInfo) -> None:
    case = _case(ctx, timer.case_id)
    if case is not None:
        repairs.on_guarantee_due(ctx, case)


@registry.on_timer(TIMER_LOANER_DUE)
def on_loaner_due(ctx: StepContext, timer: TimerInfo) -> None:
    case = _case(ctx, timer.case_id)
    if case is not None:
        repairs.on_loaner_due(
            ctx, case, int(timer.payload.get("loaner_id", 0)), int(timer.payload.get("reminder", 1))
        )


@registry.on_timer(TIMER_REFUND_DUE)
def on_refund_due(ctx: StepContext, timer: TimerInfo) -> None:
    case = _case(ctx, timer.case_id)
    if case is not None:
        remedies.on_refund_due(ctx, case, str(timer.payload.get("effect_key", "")))


@registry.on_effect("refund")
def on_refund_done(ctx: StepContext, effect: EffectInfo) -> None:
    remedies.on_refund_effect(ctx, effect)


# -- the platform ------------------------------------------------------------------------------------------


@registry.on_event(EventType.RETURN_REQUESTED)
def on_defect_return(ctx: StepContext, event: DomainEvent) -> None:
    """A platform return whose reason is a defect opens a complaint (the statutory clock runs from now)."""
    data = event.data
    if not isinstance(data, ReturnData) or data.order_id is None:
        return
    defective = [
        line
        for line in data.lines
        if is_defect_reason(line.reason) and line.line_item_id and line.quantity > 0
    ]
    if not defective:
        return
    order: Order | None
    try:
        order = ctx.fetch_order(data.order_id)
    except PlatformError:
        order = ctx.order(data.order_id)
    notes = "; ".join(n for line in defective for n in (line.note,) if n)
    sub = Submission(
        channel="platform",
        email=(order.customer.email if order else None) or "",
        received_at=event.occurred_at or ctx.now(),
        order_id=data.order_id,
        lines=[LineClaim(str(line.line_item_id), line.quantity) for line in defective],
        description=notes
        or f"return {data.name or data.return_id}: {', '.join(sorted({str(line.reason) for line in defective}))}",
        source_ref=f"return:{data.return_id}",
        strict=False,
        extra={"platform_return_id_complaint": data.return_id, "platform_request": "return"},
    )
    opened = open_complaint(ctx, sub)
    log.info("complaint_from_platform_return", case=opened.case.number, created=opened.created)
