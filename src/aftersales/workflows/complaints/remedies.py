"""Carrying out an accepted complaint: repair, replacement, price reduction, withdrawal.

- **Repair / replacement**: the goods are collected at the shop's cost (art. 43d ust. 5-6
  u.p.k.) through ``aftersales_request_pickup`` — the built-in plugin e-mails the warehouse a
  pick-up order, a carrier plugin may book the courier instead — and the repair's declared
  time starts (:mod:`.repairs`).
- **Price reduction / withdrawal**: money, due within 14 days of the consumer's statement
  (art. 43e-43g u.p.k.), paid in money through the effects ledger — never a voucher the
  consumer did not ask for. The amount comes from the refund calculator
  (:func:`aftersales.money.quote_refund` with case type ``complaint``: no deductions are
  lawful, the trader bears the costs), the order re-read from the platform first so a refund
  made in the shop admin a minute ago counts. The effect key is derived from the case and the
  remedy (``complaint:<case>:<remedy>``): a retried step, a second timer firing or a crashed
  worker asks the ledger for the *same* refund, which the ledger and the platform dedupe.
  A withdrawal also collects the goods (at the shop's cost).

Anything that cannot be carried out on its own (no order, no lines, a quote the calculator
refuses, a failed refund) sends the case to a person with the reason.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from aftersales.decisions import PickupOrder, Remedy
from aftersales.domain import Case, CaseType, Disposition, Logistics, Money, Order, Settlement
from aftersales.law import refund_last_day
from aftersales.money import QuoteError, quote_refund, to_refund_request
from aftersales.platforms import PlatformError
from aftersales.plugins import DecisionHookFailed
from aftersales.workflows.complaints import notices, repairs
from aftersales.workflows.complaints.flow import (
    DEADLINE_REFUND,
    DECLARED_AT,
    PICKUP,
    REFUNDS,
    SYSTEM,
    TIMER_REFUND_DUE,
    ComplaintError,
    fire,
    received_at,
    section,
    timer_id,
)
from aftersales.workflows.complaints.states import ComplaintEvent, ComplaintStatus

if TYPE_CHECKING:
    from aftersales.engine.api import EffectInfo, StepContext

log = structlog.get_logger("aftersales.workflows.complaints")

WAREHOUSE_EMAIL = "warehouse-email"
"""``PickupOrder.carrier`` of the built-in pick-up: the workflow e-mails the warehouse a pick-up order."""

_MONEY_FROM = frozenset(
    {
        ComplaintStatus.ACCEPTED,
        ComplaintStatus.DEEMED_ACCEPTED,
        ComplaintStatus.AWAITING_CHOICE,
        ComplaintStatus.MANUAL_REVIEW,
    }
)


def refund_key(case: Case, remedy: Remedy) -> str:
    """The ledger key of the money of ``remedy`` on ``case``: one price reduction, one withdrawal."""
    return f"complaint:{case.id}:{remedy.value}"


def to_review(ctx: StepContext, case: Case, reason: str, *, actor: str, key: str) -> Case:
    """A person must act: the case says why, and the merchant is told once per ``key``."""
    if case.status != ComplaintStatus.MANUAL_REVIEW:
        case = fire(ctx, case, ComplaintEvent.REVIEW, actor=actor, reason=reason, visible=False)
    notices.alert(ctx, case, "a complaint needs a person", reason, key=key)
    return case


def execute(ctx: StepContext, case: Case, remedy: Remedy, *, amount: Decimal | None, actor: str) -> Case:
    """Carry out ``remedy`` on an accepted complaint (by answer, by law or after the ladder's second rung)."""
    if remedy is Remedy.REPAIR:
        case = repairs.start_repair(ctx, case, actor=actor)
        order_pickup(ctx, case, purpose="repair")
        return case
    if remedy is Remedy.REPLACE:
        case = fire(ctx, case, ComplaintEvent.START_REPLACEMENT, actor=actor, reason="replacement granted")
        for line in case.lines:
            line.logistics = Logistics.AWAITING
        ctx.save_case(case)
        order_pickup(ctx, case, purpose="replacement")
        return case
    return request_money(ctx, case, remedy, amount=amount, actor=actor)


# -- money ---------------------------------------------------------------------------------------------


def _order(ctx: StepContext, order_id: str) -> Order | None:
    try:
        return ctx.fetch_order(order_id)
    except PlatformError as exc:
        log.warning("complaint_order_refetch_failed", order_id=order_id, error=str(exc))
        return ctx.order(order_id)


def statement_time(case: Case) -> datetime:
    """When the consumer's statement (the demand) reached the trader: the latest declaration, else receipt."""
    raw = case.data.get(DECLARED_AT)
    if isinstance(raw, str):
        return datetime.fromisoformat(raw)
    return received_at(case)


def request_money(
    ctx: StepContext, case: Case, remedy: Remedy, *, amount: Decimal | None, actor: str
) -> Case:
    """Price the refund of ``remedy`` and record it in the ledger (exactly once per case and remedy)."""
    if remedy not in (Remedy.PRICE_REDUCTION, Remedy.WITHDRAW):
        raise ComplaintError(f"{remedy.value} is not paid in money")
    key = refund_key(case, remedy)
    entries = section(case, REFUNDS)
    if key in entries:
        return case  # asked for already: the ledger holds it
    if case.status not in _MONEY_FROM:
        raise ComplaintError(f"complaint {case.number} is {case.status}: no money can be asked for now")
    if case.order_id is None:
        return to_review(
            ctx, case, "the complaint has no order to refund", actor=actor, key=f"money:{remedy}"
        )
    order = _order(ctx, case.order_id)
    if order is None:
        return to_review(
            ctx,
            case,
            f"order {case.order_id} could not be read to refund",
            actor=actor,
            key=f"money:{remedy}",
        )
    try:
        quote = _quote(ctx, case, order, remedy, amount)
        reason = f"complaint {case.number}: {remedy.value.replace('_', ' ')}"
        request = to_refund_request(quote, key, order.id, reason)
    except (QuoteError, ComplaintError) as exc:
        return to_review(ctx, case, f"the refund cannot be priced: {exc}", actor=actor, key=f"money:{remedy}")
    ctx.request_effect(key, "refund", request, case_id=case.id)
    entries[key] = {
        "remedy": remedy.value,
        "amount": str(quote.total.amount),
        "currency": quote.currency,
        "requested_at": ctx.now().isoformat(),
        "outcome": None,
        "trace": list(quote.trace),
    }
    for line in case.lines:
        line.settlement = Settlement.PENDING
        if remedy is Remedy.WITHDRAW:
            line.logistics = Logistics.AWAITING
            line.disposition = Disposition.NOT_RESTOCKED
    due = refund_last_day(statement_time(case), profile=ctx.policy.profile, timezone=ctx.policy.zone)
    case.deadlines[DEADLINE_REFUND] = due.ends_at
    ctx.schedule(
        timer_id(case, TIMER_REFUND_DUE, remedy.value),
        TIMER_REFUND_DUE,
        repairs.morning_of(due.calendar_last_day, ctx.policy),
        case_id=case.id,
        payload={"effect_key": key},
    )
    case = fire(
        ctx,
        case,
        ComplaintEvent.REQUEST_REFUND,
        actor=actor,
        reason=f"{remedy.value.replace('_', ' ')}: {quote.total.amount} {quote.currency}",
        data={"effect_key": key, "amount": str(quote.total.amount), "currency": quote.currency},
    )
    if remedy is Remedy.WITHDRAW:
        order_pickup(ctx, case, purpose="withdrawal")
    return case


def _quote(ctx: StepContext, case: Case, order: Order, remedy: Remedy, amount: Decimal | None) -> Any:
    jurisdiction = ctx.policy.shop.jurisdiction
    kind = CaseType.COMPLAINT
    if remedy is Remedy.PRICE_REDUCTION:
        if amount is None:
            raise ComplaintError("the price reduction's amount is not known: agree it with the customer")
        return quote_refund(
            order, {}, kind, jurisdiction=jurisdiction, compensation=Money(amount, order.currency)
        )
    lines: dict[str, int] = {}
    for line in case.lines:
        lines[line.line_item_id] = lines.get(line.line_item_id, 0) + line.quantity
    if not lines:
        raise ComplaintError("the complaint names no goods of the order: say which to take back")
    return quote_refund(order, lines, kind, jurisdiction=jurisdiction)


def on_refund_effect(ctx: StepContext, effect: EffectInfo) -> None:
    """The ledger settled a complaint refund: close the case, or send it to a person."""
    if effect.case_id is None or not effect.effect_key.startswith("complaint:"):
        return
    case = ctx.load_case(effect.case_id)
    if case is None or case.type not in (CaseType.COMPLAINT, CaseType.WARRANTY):
        return
    entries = section(case, REFUNDS)
    entry = entries.get(effect.effect_key)
    if not isinstance(entry, dict) or entry.get("outcome") is not None:
        return  # not ours, or told already
    entry["outcome"] = effect.state
    confirmed = effect.state == "confirmed"
    for line in case.lines:
        line.settlement = Settlement.SUCCEEDED if confirmed else Settlement.FAILED
    ctx.cancel_timer(timer_id(case, TIMER_REFUND_DUE, entry.get("remedy")))
    if not confirmed:
        reason = f"refund {effect.effect_key} failed: {effect.error or 'the platform refused it'}"
        case = fire(ctx, case, ComplaintEvent.REFUND_FAILED, actor="platform", reason=reason, visible=False)
        notices.alert(ctx, case, "complaint refund failed", reason, key=effect.effect_key)
        return
    amount = Money(str(entry["amount"]), str(entry["currency"]))
    case.refund_total = amount if case.refund_total is None else case.refund_total + amount
    case = fire(
        ctx, case, ComplaintEvent.REFUND_CONFIRMED, actor="platform", data={"effect_key": effect.effect_key}
    )
    notices.to_customer(
        ctx,
        case,
        "refund_sent",
        key=f"refund:{effect.effect_key}",
        context={"order_number": notices.base_context(case)["order_number"] or case.number, "amount": amount},
    )
    fire(ctx, case, ComplaintEvent.CLOSE, actor=SYSTEM, reason="the money was paid")


def on_refund_due(ctx: StepContext, case: Case, effect_key: str) -> None:
    """The 14 days for the money are nearly over and the platform has not confirmed: a person acts."""
    entry = section(case, REFUNDS).get(effect_key)
    if not isinstance(entry, dict) or entry.get("outcome") == "confirmed":
        return
    notices.alert(
        ctx,
        case,
        "complaint refund deadline",
        f"the money for complaint {case.number} ({entry.get('amount')} {entry.get('currency')}) is due by law "
        "within 14 days of the customer's statement and is not confirmed yet",
        key=f"refund_due:{effect_key}",
    )


# -- pick-up at the shop's cost ------------------------------------------------------------------------


def order_pickup(ctx: StepContext, case: Case, *, purpose: str) -> PickupOrder | None:
    """Ask the pick-up hook for a courier at the shop's cost; e-mail the warehouse for the built-in."""
    done = section(case, PICKUP)
    if purpose in done:
        return PickupOrder.model_validate(done[purpose])
    order = ctx.order(case.order_id) if case.order_id else None
    try:
        pickup = ctx.plugins.request_pickup(case, order)
    except DecisionHookFailed as exc:
        notices.alert(ctx, case, "courier pick-up not ordered", str(exc), key=f"pickup:{purpose}")
        return None
    if pickup is None:
        notices.alert(
            ctx,
            case,
            "courier pick-up not ordered",
            "no pick-up plugin answered: arrange a courier at the shop's cost",
            key=f"pickup:{purpose}",
        )
        return None
    done[purpose] = pickup.model_dump(mode="json")
    if pickup.carrier == WAREHOUSE_EMAIL:
        sent = notices.to_merchant(
            ctx,
            case,
            notices.PICKUP_ORDER,
            key=f"pickup:{purpose}",
            context={
                "reference": pickup.reference,
                "purpose": purpose,
                "pickup_name": pickup.details.get("name"),
                "pickup_email": pickup.details.get("email"),
                "pickup_phone": pickup.details.get("phone"),
                "pickup_address": pickup.details.get("address"),
                "status_url": "",
            },
        )
        if not sent:
            done[purpose]["details"] = {**pickup.details, "warning": "no merchant_address to e-mail"}
    fire(
        ctx,
        case,
        ComplaintEvent.PICKUP_ORDERED,
        actor=SYSTEM,
        reason=f"courier pick-up at the shop's cost: {pickup.reference}",
        data={"purpose": purpose, "reference": pickup.reference, "carrier": pickup.carrier},
        visible=True,
    )
    return pickup
