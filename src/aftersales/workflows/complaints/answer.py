"""The statutory answer: its clock, the merchant's reminders, the answer itself, deemed acceptance.

Art. 7a u.p.k.: the trader answers a consumer's complaint within 14 days of receiving it;
without an answer the complaint is deemed accepted. How the engine keeps that promise:

1. **The clock starts at receipt** (:func:`arm_clocks`): a durable timer at the statutory end
   (``complaints.answer_due``), reminder timers on the policy's ``reminder_days`` (e.g. day
   10 and day 13) and the first-response SLA in business hours. Applied to warranty claims
   too when the shop is the guarantor — the conservative reading: a shop that answers in 14
   days never loses, one that relies on the narrower reading might.
2. **An answer is queued, not yet given** (:func:`send_answer`): the remedy ladder judges it
   first (an illegal jump is refused with the article), then it goes to the outbox and the
   case waits in ``answer_sent`` — the clock still runs.
3. **The clock stops only when the answer reaches the consumer** (:func:`answer_reached`):
   the outbox's delivery receipt (the SMTP server accepted it; the engine calls the
   ``on_message_delivered("complaint_answer")`` handler with the instant), or the customer
   opening it on the status page. A delivery on or after the deadline does not count.
4. **Deemed acceptance** (:func:`deem_accepted`): when the timer fires and no answer reached
   the consumer in time — checked against the outbox rows too, so an answer accepted by the
   SMTP server a second before the deadline wins even if its handler has not run yet — the
   case becomes ``deemed_accepted``, the customer is told, and the demand as stated is
   carried out (:mod:`.remedies`): a refund through the effects ledger exactly once, a
   repair, a replacement.

The decision hook ``aftersales_complaint_decision`` may answer a complaint automatically
(:func:`consult_hook`); when it raises, the case goes to a person (fail closed) and the clock
keeps running, so silence still ends in the customer's favour.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from aftersales.decisions import ComplaintDecision, Remedy
from aftersales.domain import Case
from aftersales.plugins import DecisionHookFailed
from aftersales.store.models import CaseRow, OutboxMessage
from aftersales.workflows.complaints import notices
from aftersales.workflows.complaints.clock import Coverage, answer_clock, reminder_times
from aftersales.workflows.complaints.flow import (
    ANSWER,
    CLOCK,
    COMPLAINT_TYPES,
    DEADLINE_ANSWER,
    DEADLINE_FIRST_RESPONSE,
    FIRST_RESPONSE,
    PRICE_REDUCTION,
    PRIORITY,
    SYSTEM,
    TIMER,
    TIMER_ANSWER_DUE,
    TIMER_FIRST_RESPONSE,
    TIMER_REMINDER,
    ComplaintError,
    fire,
    ladder_of,
    received_at,
    section,
    set_ladder,
    timer_id,
)
from aftersales.workflows.complaints.ladder import AnswerKind, Ladder, LadderViolation, TraderAnswer
from aftersales.workflows.complaints.sla import OpeningHours, add_business_hours, priority
from aftersales.workflows.complaints.states import CLOCK_RUNNING, TRANSITIONS, ComplaintEvent, ComplaintStatus

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext

log = structlog.get_logger("aftersales.workflows.complaints")

PLUGIN = "plugin"
_PRE_ANSWER = frozenset(
    {ComplaintStatus.RECEIVED, ComplaintStatus.AWAITING_ORDER, ComplaintStatus.MANUAL_REVIEW}
)


# -- the clocks ----------------------------------------------------------------------------------------


def opening_hours(ctx: StepContext) -> OpeningHours:
    hours = ctx.policy.complaints.business_hours
    return OpeningHours(ctx.policy.shop_calendar(), hours.start, hours.end)


def arm_clocks(ctx: StepContext, case: Case, *, value: Decimal | None) -> None:
    """Start the answer clock, the merchant reminders and the first-response SLA; rank the case."""
    policy = ctx.policy
    at = received_at(case)
    clock = answer_clock(at, policy)
    case.data[CLOCK] = {
        "deemed_at": clock.deemed_at.isoformat(),
        "answer_by": clock.answer_by.isoformat(),
        "last_day": clock.legal.last_day.isoformat(),
        "calendar_last_day": clock.legal.calendar_last_day.isoformat(),
        "rule": clock.legal.rule,
        "trace": list(clock.legal.trace),
    }
    case.deadlines[DEADLINE_ANSWER] = clock.deemed_at
    ctx.schedule(timer_id(case, TIMER_ANSWER_DUE), TIMER_ANSWER_DUE, clock.deemed_at, case_id=case.id)
    for day, moment in reminder_times(at, clock, policy):
        ctx.schedule(
            timer_id(case, TIMER_REMINDER, day), TIMER_REMINDER, moment, case_id=case.id, payload={"day": day}
        )
    opening = opening_hours(ctx)
    due = add_business_hours(at, policy.complaints.first_response_hours, opening)
    case.deadlines[DEADLINE_FIRST_RESPONSE] = due
    case.data[FIRST_RESPONSE] = {"due_at": due.isoformat(), "done_at": None, "breached": False}
    ctx.schedule(timer_id(case, TIMER_FIRST_RESPONSE), TIMER_FIRST_RESPONSE, due, case_id=case.id)
    rank = priority(
        received_at=at,
        opening=opening,
        earlier_complaints=_earlier_complaints(ctx, case),
        value=value,
        deemed_at=clock.deemed_at,
    )
    case.data[PRIORITY] = {"level": rank.level, "reasons": list(rank.reasons)}
    ctx.save_case(case)


def _earlier_complaints(ctx: StepContext, case: Case) -> list[datetime]:
    email = (case.customer.email or "").lower()
    if not email:
        return []
    rows = ctx.session.scalars(
        select(CaseRow.opened_at).where(
            CaseRow.shop_id == ctx.shop_id,
            CaseRow.customer_email == email,
            CaseRow.type.in_([t.value for t in COMPLAINT_TYPES]),
            CaseRow.id != case.id,
        )
    )
    return list(rows)


def stop_clock(ctx: StepContext, case: Case) -> None:
    """Cancel the answer timers (the answer reached the consumer, or the law accepted the complaint)."""
    ctx.cancel_timer(timer_id(case, TIMER_ANSWER_DUE))
    for day in set(ctx.policy.complaints.reminder_days):
        ctx.cancel_timer(timer_id(case, TIMER_REMINDER, day))


def deemed_at(case: Case) -> datetime | None:
    clock = case.data.get(CLOCK)
    raw = clock.get("deemed_at") if isinstance(clock, dict) else None
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def mark_first_response(ctx: StepContext, case: Case, *, actor: str) -> None:
    """The first human (or decided) response: stops the first-response SLA clock."""
    record = section(case, FIRST_RESPONSE)
    if record.get("done_at"):
        return
    record["done_at"] = ctx.now().isoformat()
    record["by"] = actor
    ctx.cancel_timer(timer_id(case, TIMER_FIRST_RESPONSE))


# -- answering -----------------------------------------------------------------------------------------


def _answers(case: Case) -> dict[str, Any]:
    record = section(case, ANSWER)
    record.setdefault("items", {})
    return record


def answer_given(case: Case) -> bool:
    """True once an answer reached the consumer in time (the clock is stopped for good)."""
    record = case.data.get(ANSWER)
    return isinstance(record, dict) and bool(record.get("reached_at"))


def send_answer(
    ctx: StepContext,
    case: Case,
    reply: TraderAnswer,
    *,
    text: str,
    actor: str,
    price_reduction: Decimal | None = None,
) -> Case:
    """Judge ``reply`` on the ladder, queue it for the consumer, and wait for it to arrive."""
    if case.type not in COMPLAINT_TYPES:
        raise ComplaintError(f"case {case.number} is not a complaint")
    if case.status not in _PRE_ANSWER and case.status != ComplaintStatus.ANSWER_SENT:
        raise ComplaintError(f"complaint {case.number} is {case.status}; its answer was already given")
    if answer_given(case):
        raise ComplaintError(f"complaint {case.number} was already answered")
    if not text.strip():
        raise ComplaintError("an answer needs its text: the reasons the consumer reads")
    record = _answers(case)
    # a corrected answer is judged from where the ladder stood before the first one
    before = record.get("ladder_before")
    base = Ladder.from_data(before) if isinstance(before, dict) else ladder_of(case)
    ladder = base.answer(reply)  # LadderViolation: refused before anything is written
    granted = ladder.granted
    amount = price_reduction
    if granted is Remedy.PRICE_REDUCTION:
        amount = amount if amount is not None else _demanded_amount(case)
        if amount is None or amount <= 0:
            raise ComplaintError("a price reduction needs its amount")
    if (
        granted in (Remedy.PRICE_REDUCTION, Remedy.WITHDRAW, Remedy.REPAIR, Remedy.REPLACE)
        and case.order_id is None
    ):
        raise ComplaintError("the order is not known yet: the remedy cannot be carried out without it")
    record.setdefault("ladder_before", base.to_data())
    items: dict[str, Any] = record["items"]
    key = f"answer:{len(items) + 1}"
    accepted = reply.kind is not AnswerKind.REJECT
    items[key] = {
        "kind": reply.kind.value,
        "remedy": granted.value if granted else None,
        "because": reply.because.value if reply.because else None,
        "text": text,
        "price_reduction": None if amount is None else str(amount),
        "queued_at": ctx.now().isoformat(),
        "actor": actor,
        "outbox_key": f"{notices.COMPLAINT_ANSWER}:{case.id}:{key}",
    }
    record["current"] = key
    set_ladder(case, ladder)
    mark_first_response(ctx, case, actor=actor)
    case = fire(
        ctx,
        case,
        ComplaintEvent.ANSWER,
        actor=actor,
        reason=text,
        data={"accepted": accepted, "remedy": granted.value if granted else None, "kind": reply.kind.value},
    )
    queued = notices.to_customer(
        ctx,
        case,
        notices.COMPLAINT_ANSWER,
        key=key,
        context={
            "accepted": accepted,
            "answer": text,
            "remedy": notices.remedy_label(ctx, case, granted.value if granted else None),
        },
    )
    if not queued and not case.customer.email:
        notices.alert(
            ctx,
            case,
            "the answer cannot be e-mailed",
            "the customer left no e-mail address: the answer reaches them only on the status page "
            "or by another durable medium you send yourself",
            key=f"no_address:{key}",
        )
    return case


def _demanded_amount(case: Case) -> Decimal | None:
    raw = case.data.get(PRICE_REDUCTION)
    return Decimal(str(raw)) if raw is not None else None


def reject_out_of_liability(ctx: StepContext, case: Case, cover: Coverage) -> Case:
    """A clear answer for a defect that appeared after the liability (and any guarantee) ended."""
    text = (
        f"{cover.detail} ({cover.rule}). The shop is not liable for a lack of conformity that appears "
        "after that period. If the defect appeared earlier, reply with the date and we will look again."
    )
    return send_answer(ctx, case, TraderAnswer(AnswerKind.REJECT), text=text, actor=SYSTEM)


def consult_hook(ctx: StepContext, case: Case) -> Case:
    """Let ``aftersales_complaint_decision`` answer; a failing hook sends the case to a person."""
    if case.status != ComplaintStatus.RECEIVED:
        return case
    try:
        decision = ctx.plugins.complaint_decision(case)
    except DecisionHookFailed as exc:
        case = fire(ctx, case, ComplaintEvent.REVIEW, actor=PLUGIN, reason=str(exc), visible=False)
        notices.alert(ctx, case, "the decision plugin failed", str(exc), key="hook_failed")
        return case
    if decision is None:
        return case
    return apply_decision(ctx, case, decision)


def apply_decision(ctx: StepContext, case: Case, decision: ComplaintDecision) -> Case:
    """A hook's decision becomes the answer; one the ladder refuses goes to a person instead."""
    kind = AnswerKind.ACCEPT if decision.accept else AnswerKind.REJECT
    reply = TraderAnswer(kind, remedy=decision.remedy if decision.accept else None)
    amount = decision.price_reduction.amount if decision.price_reduction is not None else None
    try:
        return send_answer(ctx, case, reply, text=decision.reason, actor=PLUGIN, price_reduction=amount)
    except (LadderViolation, ComplaintError) as exc:
        reason = f"the decision plugin's answer cannot be given: {exc}"
        case = fire(ctx, case, ComplaintEvent.REVIEW, actor=PLUGIN, reason=reason, visible=False)
        notices.alert(ctx, case, "the decision plugin's answer was refused", reason, key="hook_refused")
        return case


# -- the answer reaches the consumer -------------------------------------------------------------------


def answer_reached(ctx: StepContext, case: Case, *, outbox_key: str | None, at: datetime, via: str) -> Case:
    """The answer (``outbox_key``, or the current one) reached the consumer at ``at``."""
    record = case.data.get(ANSWER)
    if not isinstance(record, dict):
        return case
    items = record.get("items") or {}
    key = (
        next((k for k, v in items.items() if v.get("outbox_key") == outbox_key), None) if outbox_key else None
    )
    key = key or record.get("current")
    item = items.get(key) if key else None
    if item is None:
        return case
    if record.get("reached_at"):
        return case  # the clock stopped at the first answer that arrived; later copies change nothing
    if case.status != ComplaintStatus.ANSWER_SENT:
        if not _late_allowed(case):
            return case
        return fire(
            ctx,
            case,
            ComplaintEvent.ANSWER_LATE,
            actor=SYSTEM,
            reason=f"the answer reached the consumer on {at.isoformat()}, after the statutory deadline",
            data={"via": via},
        )
    deadline = deemed_at(case)
    if deadline is not None and at >= deadline:
        return deem_accepted(ctx, case, late_answer_at=at)
    record["reached_at"] = at.isoformat()
    record["reached_via"] = via
    item["reached_at"] = at.isoformat()
    stop_clock(ctx, case)
    kind = AnswerKind(item["kind"])
    event = {
        AnswerKind.REJECT: ComplaintEvent.ANSWER_REJECTED,
        AnswerKind.REFUSE_REMEDIES: ComplaintEvent.ANSWER_REFUSED_REMEDIES,
    }.get(kind, ComplaintEvent.ANSWER_ACCEPTED)
    case = fire(
        ctx,
        case,
        event,
        actor=SYSTEM,
        reason=f"the answer reached the consumer ({via}) on {at.isoformat()}",
        data={"via": via, "answer": key},
    )
    if event is ComplaintEvent.ANSWER_ACCEPTED and item.get("remedy"):
        from aftersales.workflows.complaints import remedies

        amount = Decimal(item["price_reduction"]) if item.get("price_reduction") else None
        case = remedies.execute(ctx, case, Remedy(item["remedy"]), amount=amount, actor=SYSTEM)
    return case


def _late_allowed(case: Case) -> bool:
    return (ComplaintStatus(case.status), ComplaintEvent.ANSWER_LATE) in TRANSITIONS


def delivered_in_time(ctx: StepContext, case: Case) -> tuple[str, datetime] | None:
    """The answer the outbox delivered before the deadline, if its handler has not run yet."""
    record = case.data.get(ANSWER)
    deadline = deemed_at(case)
    if not isinstance(record, dict) or deadline is None:
        return None
    keys = [v.get("outbox_key") for v in (record.get("items") or {}).values() if v.get("outbox_key")]
    if not keys:
        return None
    stored = [f"{ctx.shop_id}:{k}" for k in keys]
    rows = ctx.session.execute(
        select(OutboxMessage.dedupe_key, OutboxMessage.sent_at).where(
            OutboxMessage.dedupe_key.in_(stored), OutboxMessage.state == "sent"
        )
    ).all()
    hits = sorted((sent_at, key) for key, sent_at in rows if sent_at is not None and sent_at < deadline)
    if not hits:
        return None
    sent_at, key = hits[0]
    return key.removeprefix(f"{ctx.shop_id}:"), sent_at


# -- deemed acceptance -----------------------------------------------------------------------------------


def deem_accepted(ctx: StepContext, case: Case, *, late_answer_at: datetime | None = None) -> Case:
    """No answer reached the consumer in time: accepted by law; tell them and carry out the demand."""
    if case.status not in CLOCK_RUNNING or answer_given(case):
        return case
    deadline = deemed_at(case)
    record = section(case, ANSWER)
    record["deemed"] = True
    ladder = ladder_of(case)
    demanded = ladder.demanded
    reason = (
        f"no answer reached the consumer before {deadline.isoformat() if deadline else 'the deadline'}: "
        "the complaint is deemed accepted (art. 7a ust. 2 u.p.k.)"
    )
    if late_answer_at is not None:
        reason += f"; an answer arrived only on {late_answer_at.isoformat()}"
    if demanded is not None:
        set_ladder(case, ladder.answer(TraderAnswer(AnswerKind.ACCEPT, remedy=demanded)))
    stop_clock(ctx, case)
    ctx.cancel_timer(timer_id(case, TIMER_FIRST_RESPONSE))
    case = fire(
        ctx,
        case,
        ComplaintEvent.DEEMED_ACCEPTED,
        actor=TIMER,
        reason=reason,
        data={"remedy": demanded.value if demanded else None},
    )
    notices.to_customer(
        ctx,
        case,
        notices.COMPLAINT_DEEMED_ACCEPTED,
        key="deemed",
        context={"remedy": notices.remedy_label(ctx, case, demanded.value if demanded else None)},
    )
    if demanded is None:
        notices.alert(
            ctx,
            case,
            "complaint deemed accepted: the demand is not known",
            "the complaint was not answered in time and is accepted by law, but the customer did not "
            "say what they ask for; contact them and carry it out",
            key="deemed_unknown",
        )
        return case
    if case.order_id is None:
        notices.alert(
            ctx,
            case,
            "complaint deemed accepted: the order is not known",
            f"the complaint is accepted by law ({demanded.value}); identify the order and carry it out",
            key="deemed_no_order",
        )
        return case
    from aftersales.workflows.complaints import remedies

    return remedies.execute(ctx, case, demanded, amount=_demanded_amount(case), actor=TIMER)


# -- timers ------------------------------------------------------------------------------------------------


def on_answer_due(ctx: StepContext, case: Case) -> Case:
    if case.status not in CLOCK_RUNNING or answer_given(case):
        return case
    if case.status == ComplaintStatus.ANSWER_SENT:
        found = delivered_in_time(ctx, case)
        if found is not None:
            key, sent_at = found
            return answer_reached(ctx, case, outbox_key=key, at=sent_at, via="email")
    return deem_accepted(ctx, case)


def on_reminder(ctx: StepContext, case: Case, day: int) -> Case:
    """Day N of the answer period: tell the merchant, unless the answer already reached the consumer."""
    if case.status not in CLOCK_RUNNING or answer_given(case):
        return case
    clock = case.data.get(CLOCK)
    due_day = clock.get("calendar_last_day") if isinstance(clock, dict) else None
    notices.to_merchant(
        ctx,
        case,
        notices.COMPLAINT_REMINDER,
        key=f"reminder:{day}",
        context={"answer_by": due_day, "status_url": None},
    )
    return fire(
        ctx,
        case,
        ComplaintEvent.REMINDER_SENT,
        actor=TIMER,
        reason=f"day {day} of the answer period",
        data={"day": day, "status": case.status},
    )


def on_first_response_due(ctx: StepContext, case: Case) -> Case:
    """The first-response SLA ran out with no response: an ``sla_breached`` event for the observers."""
    record = section(case, FIRST_RESPONSE)
    if record.get("done_at") or record.get("breached"):
        return case
    if case.status not in CLOCK_RUNNING:
        return case
    record["breached"] = True
    due = record.get("due_at")
    case = fire(
        ctx,
        case,
        ComplaintEvent.SLA_BREACHED,
        actor=TIMER,
        reason=f"no first response by {due} ({ctx.policy.complaints.first_response_hours} business hours)",
        data={"sla": "first_response", "due_at": due},
    )
    notices.alert(
        ctx,
        case,
        "first response overdue",
        f"the complaint got no response within {ctx.policy.complaints.first_response_hours} business hours",
        key="first_response",
    )
    return case
