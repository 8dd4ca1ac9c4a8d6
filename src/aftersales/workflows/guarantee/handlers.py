"""What the shipping guarantee does when the platform, a clock or the ledger speaks.

- ``order.upserted`` (webhook or reconciliation; the engine has re-read the order from the
  shop): snapshot the promise the first time the order is seen paid, arm the deadline timer;
  afterwards measure its shipments, and notice a cancellation or a withdrawal;
- ``order.cancelled``: no payout for an order that will never ship;
- ``fulfillment.upserted``: the shipment is measured against the promise (an order we have
  never seen is read from the shop first, else the event is logged and ignored);
- timer ``guarantee.deadline`` at the end of the promised day (shop time zone): nothing
  dispatched → late, paid out without anyone having to claim;
- the ledger: a payout confirmed (the customer is told) or failed (a person takes over).

Exactly one payout per order: the effect key ``guarantee:{shop}:{order}`` is the ledger's
primary key, the promise's outcome moves from ``pending`` by compare-and-set (two workers
judging the same order at once: one wins, the other finds it decided), the payout case is
keyed by the same string, and the customer's message by the case. A webhook delivered twice
finds the outcome decided and does nothing.

Clawback, decided: when an order that was paid out is later cancelled, or withdrawn in full,
nothing is taken back automatically. The promise *was* broken when the payout was made, the
customer's later decision does not unbreak it, and taking money back from a consumer needs
their agreement anyway. The payout case moves to ``clawback_review`` and a private note is put
on the order in the shop admin: a payout refunded to the original payment lowers what is
left of the capture, so the withdrawal refund is cut by the payout unless the merchant decides
otherwise — a person must look.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import select, update

from aftersales.calendar import BusinessCalendar
from aftersales.domain import (
    Case,
    CaseType,
    DomainEvent,
    EventType,
    FulfillmentData,
    Money,
    Order,
    OrderData,
    ResourceRef,
    Shipment,
)
from aftersales.engine.api import EffectInfo, StepContext, TimerInfo, registry
from aftersales.money import QuoteError, quote_refund, to_refund_request
from aftersales.notify.render import language_of
from aftersales.platforms import PlatformError
from aftersales.plugins import DecisionHookFailed
from aftersales.policy.schema import Policy
from aftersales.store.models import CaseRow, Timer
from aftersales.store.models import Promise as PromiseRow
from aftersales.workflows.guarantee.ledger import VOUCHER_ACTION, payout_history, payout_key
from aftersales.workflows.guarantee.measure import Verdict, judge, measure
from aftersales.workflows.guarantee.payout import plan_payout
from aftersales.workflows.guarantee.snapshot import is_cancelled, is_paid, plan_snapshot, write_snapshot
from aftersales.workflows.guarantee.terms import PromiseTerms, entries, terms_from_trace
from aftersales.workflows.returns.states import VOID

log = structlog.get_logger("aftersales.workflows.guarantee")

TIMER_KIND = "guarantee.deadline"
CASE_SOURCE = "guarantee"
MESSAGE = "guarantee_payout"


class PayoutStatus(StrEnum):
    """Statuses of a ``guarantee_payout`` case."""

    PAYING = "paying"
    """The payout is in the ledger, not yet confirmed by the platform."""
    PAID = "paid"
    FAILED = "failed"
    """The platform refused it (or cannot issue vouchers): a person pays by hand."""
    CLAWBACK_REVIEW = "clawback_review"
    """Paid, then the order was cancelled or withdrawn in full: a person decides (nothing is taken back)."""


_METHOD_TEXT = {
    ("refund", "pl"): "zwrot na Twoją metodę płatności",
    ("refund", "en"): "refunded to your original payment method",
    ("voucher", "pl"): "w formie bonu",
    ("voucher", "en"): "as a voucher",
}


# -- small helpers ------------------------------------------------------------------------------------


def _row(ctx: StepContext, order_id: str) -> PromiseRow | None:
    return ctx.session.get(PromiseRow, (ctx.shop_id, str(order_id)))


def _note(row: PromiseRow, now: datetime, step: str, *texts: str) -> None:
    """Append to the promise's log (a new list, so the JSON column is written)."""
    row.trace = [*(row.trace or []), *entries(now, step, texts)]


def _policy(ctx: StepContext) -> Policy | None:
    policy = ctx.policy
    return policy if isinstance(policy, Policy) else None


def _calendar(policy: Policy, terms: PromiseTerms) -> BusinessCalendar:
    """The calendar the promise is judged in: the shop's (dispatch) or the carrier's (delivery)."""
    shop = policy.shop_calendar()
    calendar = BusinessCalendar(shop.holiday_country, terms.timezone, shop.closures)
    return calendar if terms.measured_on == "dispatch" else calendar.without_closures()


def _timer_id(shop_id: str, order_id: str, day: date) -> str:
    return f"guarantee:{shop_id}:{order_id}:deadline:{day.isoformat()}"


def _arm(ctx: StepContext, order_id: str, deadline: datetime, day: date) -> None:
    ctx.schedule(
        _timer_id(ctx.shop_id, order_id, day), TIMER_KIND, deadline, payload={"order_id": str(order_id)}
    )


def _disarm(ctx: StepContext, order_id: str) -> None:
    prefix = f"guarantee:{ctx.shop_id}:{order_id}:deadline:"
    ids = ctx.session.scalars(
        select(Timer.id).where(Timer.id.startswith(prefix, autoescape=True), Timer.state == "pending")
    )
    for timer_id in list(ids):
        ctx.cancel_timer(timer_id)


def _claim(ctx: StepContext, row: PromiseRow, outcome: str) -> bool:
    """Move the outcome from ``pending`` by compare-and-set; False when someone decided first."""
    result: Any = ctx.session.execute(
        update(PromiseRow)
        .where(
            PromiseRow.shop_id == row.shop_id,
            PromiseRow.order_id == row.order_id,
            PromiseRow.outcome == "pending",
        )
        .values(outcome=outcome)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)


def _payout_case(ctx: StepContext, key: str) -> Case | None:
    case_id = ctx.session.scalars(
        select(CaseRow.id).where(
            CaseRow.shop_id == ctx.shop_id, CaseRow.source == CASE_SOURCE, CaseRow.source_ref == key
        )
    ).first()
    return ctx.load_case(case_id) if case_id is not None else None


def _withdrawals(ctx: StepContext, order_id: str) -> list[Case]:
    return [
        case
        for case in ctx.cases_for_order(order_id)
        if case.type == CaseType.WITHDRAWAL and case.status not in VOID
    ]


def _withdrawn_in_full(order: Order, cases: list[Case]) -> bool:
    taken: dict[str, int] = {}
    for case in cases:
        for line in case.lines:
            taken[line.line_item_id] = taken.get(line.line_item_id, 0) + line.quantity
    wanted = {line.id: line.quantity for line in order.line_items if line.quantity > 0}
    return bool(wanted) and all(taken.get(line_id, 0) >= qty for line_id, qty in wanted.items())


def _shipments(order: Order, extra: Shipment | None) -> list[Shipment]:
    """The order's shipments, with the one from the event replacing its stored copy."""
    shipments = [s for s in order.shipments if extra is None or s.id != extra.id]
    return [*shipments, extra] if extra is not None else shipments


# -- snapshot ----------------------------------------------------------------------------------------


def ensure_snapshot(ctx: StepContext, order: Order) -> PromiseRow | None:
    """The order's promise row, written now if the order is paid and the guarantee is on."""
    row = _row(ctx, order.id)
    if row is not None:
        return row
    policy = _policy(ctx)
    if policy is None or not policy.guarantee.enabled or not is_paid(order) or is_cancelled(order):
        return None
    now = ctx.now()
    try:
        found = ctx.plugins.guarantee_exclusion(order, None, policy)
        exclusion, hook_note = (found.reason if found else None), None
    except DecisionHookFailed as exc:  # fail closed later: the check runs again before any payout
        exclusion, hook_note = None, f"the exclusion check failed ({exc}); it runs again before any payout"
    try:
        plan = plan_snapshot(order, policy, exclusion=exclusion, now=now)
    except ValueError as exc:
        log.error("guarantee_promise_failed", shop=ctx.shop_id, order=order.id, error=str(exc))
        return None
    if hook_note:
        plan.trace.extend(entries(now, "exclusion", [hook_note]))
    if write_snapshot(ctx.session, ctx.shop_id, order, plan, now) and plan.excluded is None:
        deadline = plan.terms.deadline
        day = plan.terms.promised_day
        if deadline is not None and day is not None:
            _arm(ctx, order.id, deadline, day)
    log.info("guarantee_promise", shop=ctx.shop_id, order=order.id, dispatch_by=str(plan.promise.dispatch_by))
    return _row(ctx, order.id)


# -- measuring ---------------------------------------------------------------------------------------


def _void_order(ctx: StepContext, order: Order) -> str | None:
    """Why the order will get no payout because it is cancelled or withdrawn (None: it is not)."""
    if is_cancelled(order):
        return "the order was cancelled"
    withdrawn = _withdrawals(ctx, order.id)
    if withdrawn:
        return "the customer withdrew from the order (case " + ", ".join(c.number for c in withdrawn) + ")"
    return None


def _cancel(ctx: StepContext, row: PromiseRow, order: Order, reason: str) -> None:
    now = ctx.now()
    if row.outcome == "pending":
        if _claim(ctx, row, "cancelled"):
            _disarm(ctx, order.id)
            _note(row, now, "cancel", f"{reason}: no payout")
        return
    if row.outcome == "late" and row.payout_effect_key:
        full = is_cancelled(order) or _withdrawn_in_full(order, _withdrawals(ctx, order.id))
        if full:
            _clawback_review(ctx, row, order, reason)


def _clawback_review(ctx: StepContext, row: PromiseRow, order: Order, reason: str) -> None:
    key = row.payout_effect_key
    assert key is not None
    case = _payout_case(ctx, key)
    if case is None or case.status == PayoutStatus.CLAWBACK_REVIEW:
        return
    now = ctx.now()
    text = (
        f"{reason} after the shipping-guarantee payout ({case.number}): nothing is taken back "
        "automatically. A payout refunded to the card lowers what is left of the capture, so a "
        "withdrawal refund is cut by it; decide by hand whether to refund the difference."
    )
    _note(row, now, "clawback", text)
    ctx.transition(
        case,
        PayoutStatus.CLAWBACK_REVIEW,
        event="clawback_review",
        reason=text,
        customer_visible=False,
    )
    ctx.request_effect(
        f"guarantee-note:{ctx.shop_id}:{order.id}:clawback",
        "note",
        {"order_id": order.id, "text": text, "customer_visible": False},
        case_id=case.id,
    )


def measure_order(
    ctx: StepContext,
    row: PromiseRow,
    order: Order,
    shipments: list[Shipment],
    *,
    extra_trace: tuple[str, ...] = (),
) -> Verdict | None:
    """Judge a pending promise on what is known now; settle it when the verdict is final."""
    if row.outcome != "pending":
        return None
    policy = _policy(ctx)
    terms = terms_from_trace(row.trace or [])
    if policy is None or terms is None:
        log.warning("guarantee_cannot_judge", shop=ctx.shop_id, order=order.id)
        return None
    void = _void_order(ctx, order)
    if void is not None:
        _cancel(ctx, row, order, void)
        return None
    now = ctx.now()
    verdict = judge(
        terms,
        measure(shipments, terms.measured_on),
        now=now,
        calendar=_calendar(policy, terms),
        force_majeure=policy.guarantee.force_majeure_days,
    )
    if verdict.outcome is None:
        if (
            verdict.promised is not None
            and verdict.deadline is not None
            and verdict.promised != terms.promised_day
        ):
            # force majeure moved the promise: wake up at the end of the moved day instead
            _arm(ctx, order.id, verdict.deadline, verdict.promised)
        return verdict
    _settle(ctx, row, order, shipments, terms, verdict, policy, extra_trace)
    return verdict


def _settle(
    ctx: StepContext,
    row: PromiseRow,
    order: Order,
    shipments: list[Shipment],
    terms: PromiseTerms,
    verdict: Verdict,
    policy: Policy,
    extra_trace: tuple[str, ...],
) -> None:
    now = ctx.now()
    outcome: str = verdict.outcome or "pending"
    excluded: str | None = verdict.reason if outcome == "excluded" else None
    hook_failed: str | None = None
    if outcome == "late":
        measured = verdict.measured
        shipment = next((s for s in shipments if measured and s.id == measured.shipment_id), None)
        try:
            found = ctx.plugins.guarantee_exclusion(order, shipment, policy)
        except DecisionHookFailed as exc:
            found, hook_failed = None, str(exc)
        if found is not None:
            outcome, excluded = "excluded", found.reason
    if not _claim(ctx, row, outcome):
        return  # decided by a concurrent step (the same webhook twice, the timer beside it)
    _disarm(ctx, order.id)
    row.measured_at = verdict.measured.at if verdict.measured else None
    _note(row, now, "measure", *extra_trace, *verdict.trace)
    if outcome == "excluded":
        row.excluded_reason = excluded
        if verdict.outcome == "late":
            _note(row, now, "exclusion", f"late, but excluded when re-checked before paying: {excluded}")
        return
    if outcome != "late":
        return
    row.late_reason = verdict.reason
    if hook_failed is not None:
        _note(
            row,
            now,
            "payout",
            f"the exclusion check failed ({hook_failed}): no automatic payout, a person decides",
        )
        _open_case(ctx, row, order, terms, verdict, status=PayoutStatus.FAILED, amount=None, method=None)
        return
    _pay(ctx, row, order, terms, verdict, policy)


# -- paying ------------------------------------------------------------------------------------------


def _open_case(
    ctx: StepContext,
    row: PromiseRow,
    order: Order,
    terms: PromiseTerms,
    verdict: Verdict,
    *,
    status: str,
    amount: Money | None,
    method: str | None,
) -> Case:
    key = payout_key(ctx.shop_id, order.id)
    data: dict[str, Any] = {
        "guarantee": {
            "effect_key": key,
            "promised_by": terms.promised_day.isoformat() if terms.promised_day else None,
            "measured_on": terms.measured_on,
            "measured_at": verdict.measured.at.isoformat() if verdict.measured else None,
            "late_reason": verdict.reason,
            "amount": str(amount.amount) if amount else None,
            "currency": amount.currency if amount else None,
            "method": method,
            "trace": [e.get("text") for e in (row.trace or []) if e.get("step") in ("measure", "payout")],
        }
    }
    case = ctx.open_case(
        type=CaseType.GUARANTEE_PAYOUT,
        status=status,
        order_id=order.id,
        customer=order.customer,
        reason=f"shipping guarantee: {verdict.reason}",
        source=CASE_SOURCE,
        source_ref=key,
        data=data,
    )
    if amount is not None and case.refund_total is None:
        case.refund_total = amount
        ctx.save_case(case)
    return case


def _pay(
    ctx: StepContext, row: PromiseRow, order: Order, terms: PromiseTerms, verdict: Verdict, policy: Policy
) -> None:
    now = ctx.now()
    key = payout_key(ctx.shop_id, order.id)
    history = payout_history(
        ctx.session,
        ctx.shop_id,
        customer_email=row.customer_email,
        now=now,
        zone=policy.zone,
        currency=order.currency,
        exclude_key=key,
    )
    plan = plan_payout(order, terms.payout, policy, history)
    _note(row, now, "payout", *plan.trace)
    if plan.amount is None:
        _note(row, now, "payout", f"no payout: {plan.skipped}")
        return
    reason = f"shipping guarantee: {verdict.reason} (promised {terms.promised_day})"
    if plan.method == "refund":
        try:
            quote = quote_refund(
                order,
                {},
                CaseType.GUARANTEE_PAYOUT,
                jurisdiction=policy.shop.jurisdiction,
                compensation=plan.amount,
            )
            request = to_refund_request(quote, key, order.id, reason, notify_customer=False, restock=False)
        except QuoteError as exc:
            _note(row, now, "payout", f"no payout: the refund cannot be made ({exc.reason})")
            return
        _note(row, now, "payout", *quote.trace)
        amount = quote.total
        case = _open_case(
            ctx, row, order, terms, verdict, status=PayoutStatus.PAYING, amount=amount, method="refund"
        )
        ctx.request_effect(key, "refund", request, case_id=case.id)
    else:
        amount = plan.amount
        case = _open_case(
            ctx, row, order, terms, verdict, status=PayoutStatus.PAYING, amount=amount, method="voucher"
        )
        # no case_id: the returns workflow treats a failed platform_action of a case as its own
        ctx.request_effect(
            key,
            "platform_action",
            {
                "action": VOUCHER_ACTION,
                "params": {
                    "order_id": order.id,
                    "amount": str(amount.amount),
                    "currency": amount.currency,
                    "customer_email": row.customer_email,
                    "reason": reason,
                },
            },
        )
    row.payout_effect_key = key
    _note(row, now, "payout", f"payout {amount} requested ({key}), case {case.number}")


# -- event handlers ----------------------------------------------------------------------------------


@registry.on_event(EventType.ORDER_UPSERTED)
def on_order_upserted(ctx: StepContext, event: DomainEvent) -> None:
    """Snapshot the promise once paid; then measure shipments and notice cancellations."""
    data = event.data
    if not isinstance(data, OrderData):
        return
    order = data.order
    row = ensure_snapshot(ctx, order)
    if row is None:
        return
    if row.outcome == "pending":
        measure_order(ctx, row, order, order.shipments)
        return
    void = _void_order(ctx, order)
    if void is not None:
        _cancel(ctx, row, order, void)


@registry.on_event(EventType.ORDER_CANCELLED)
def on_order_cancelled(ctx: StepContext, event: DomainEvent) -> None:
    """A cancelled order ships nothing and earns nothing; a paid-out one goes to a person."""
    data = event.data
    if isinstance(data, OrderData):
        order: Order | None = data.order
    elif isinstance(data, ResourceRef):
        order = ctx.order(data.id)
    else:
        return
    if order is None:
        return
    row = _row(ctx, order.id)
    if row is None:
        return
    _cancel(ctx, row, order, "the order was cancelled")


@registry.on_event(EventType.FULFILLMENT_UPSERTED)
def on_fulfillment(ctx: StepContext, event: DomainEvent) -> None:
    """A shipment was created or updated: measure it against the promise."""
    data = event.data
    if not isinstance(data, FulfillmentData):
        return
    order = ctx.order(data.order_id)
    if order is None:
        try:
            order = ctx.fetch_order(data.order_id)
        except PlatformError as exc:
            log.warning(
                "guarantee_unknown_order",
                shop=ctx.shop_id,
                order=data.order_id,
                shipment=data.shipment.id,
                reason=f"fulfillment for an order never seen, and the shop could not be asked: {exc}",
            )
            return
    row = ensure_snapshot(ctx, order)
    if row is None or row.outcome != "pending":
        return
    measure_order(ctx, row, order, _shipments(order, data.shipment))


@registry.on_timer(TIMER_KIND)
def on_deadline(ctx: StepContext, timer: TimerInfo) -> None:
    """The promised day is over: re-read the order from the shop and judge it."""
    order_id = str(timer.payload.get("order_id") or "")
    row = _row(ctx, order_id) if order_id else None
    if row is None or row.outcome != "pending":
        return
    notes: tuple[str, ...] = ()
    try:
        order: Order | None = ctx.fetch_order(order_id)
    except PlatformError as exc:
        order = ctx.order(order_id)
        notes = (f"the shop could not be asked for the order ({exc}); judged on the stored copy",)
    if order is None:
        log.warning("guarantee_timer_without_order", shop=ctx.shop_id, order=order_id)
        return
    measure_order(ctx, row, order, order.shipments, extra_trace=notes)


@registry.on_effect("refund", "platform_action")
def on_payout_settled(ctx: StepContext, effect: EffectInfo) -> None:
    """The ledger's answer: tell the customer (confirmed), or hand the payout to a person (failed)."""
    key = effect.effect_key
    if not key.startswith(f"guarantee:{ctx.shop_id}:"):
        return
    case = _payout_case(ctx, key)
    if case is None or case.status != PayoutStatus.PAYING:
        return  # already settled (the ledger may tell twice)
    order_id = case.order_id or ""
    row = _row(ctx, order_id)
    now = ctx.now()
    if effect.state != "confirmed":
        why = effect.error or "refused by the platform"
        if effect.kind == "platform_action":
            why += f" (no plugin of this platform issues vouchers: '{VOUCHER_ACTION}'; issue it by hand)"
        text = f"payout failed: {why}"
        if row is not None:
            _note(row, now, "payout", text)
        ctx.transition(
            case,
            PayoutStatus.FAILED,
            event="payout_failed",
            actor="platform",
            reason=text,
            customer_visible=False,
        )
        return
    ctx.transition(
        case, PayoutStatus.PAID, event="payout_confirmed", actor="platform", data={"effect_key": key}
    )
    if row is not None:
        _note(row, now, "payout", f"payout confirmed by the platform ({key})")
    _tell_customer(ctx, case, row, effect)


def _tell_customer(ctx: StepContext, case: Case, row: PromiseRow | None, effect: EffectInfo) -> None:
    email = case.customer.email or (row.customer_email if row else None)
    found = case.data.get("guarantee")
    details: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
    if not email or details.get("amount") is None:
        return
    policy = _policy(ctx)
    locale = case.customer.locale or (policy.language if policy else None) or "pl"
    language = language_of(locale)
    method = str(details.get("method") or "refund")
    terms = terms_from_trace(row.trace or []) if row is not None else None
    dispatched = details.get("measured_at") if details.get("measured_on") == "dispatch" else None
    order = ctx.order(case.order_id or "")
    ctx.notify(
        MESSAGE,
        email,
        locale=locale,
        case=case,
        context={
            "order_number": order.number if order else case.order_id,
            "amount": Money(str(details["amount"]), str(details["currency"])),
            "promised_by": details.get("promised_by") or (terms.promised_day if terms else None),
            "dispatched_at": dispatched,
            "method": _METHOD_TEXT.get((method, language)),
            "customer_name": case.customer.name,
        },
        dedupe_key=f"{effect.effect_key}:message",
    )
