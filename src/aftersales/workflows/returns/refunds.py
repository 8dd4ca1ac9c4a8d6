"""The settlement axis: price the refund, ask the ledger for it once, learn how it ended.

The path of the money, and what keeps it single:

1. the order is re-read from the platform (refunds made in the shop admin included), the
   refund calculator prices the payable units (:func:`aftersales.money.quote_refund`),
   deductions come from the policy (a restocking fee on commercial returns) and from the
   ``aftersales_refund_adjustments`` hook; the calculator refuses the unlawful ones;
2. the case moves to ``refund_pending`` and the refund is recorded as an *intended* effect
   in the same transaction, under a key derived from the case and the settlement step
   (:func:`~aftersales.workflows.returns.settlement.refund_effect_key`): a redelivered
   webhook finds the case already settling (the table refuses a second ``request_refund``)
   and a crashed worker re-derives the same key, which the ledger and the platform dedupe;
3. the engine executes the effect after commit and calls :func:`on_refund_effect` with the
   outcome: the units are settled and the customer told, or the case goes to a person.

Refunds made outside the engine (the shop admin) are imported by :func:`absorb_external_refunds`:
they settle the units of open cases they cover, and always count against what is refundable.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from aftersales.decisions import Deduction, DeductionKind
from aftersales.domain import (
    Authorization,
    Case,
    CaseType,
    Disposition,
    Logistics,
    Money,
    Order,
    RefundRecord,
    Settlement,
)
from aftersales.money import QuoteError, RefundQuote, ReturnShippingTerms, quote_refund, to_refund_request
from aftersales.platforms import PlatformError
from aftersales.plugins import DecisionHookFailed
from aftersales.workflows.returns import notices
from aftersales.workflows.returns.eligibility import (
    RETURN_TYPES,
    WITHDRAWAL_WINDOW,
    absorbed_refund_ids,
    inside,
    statement_time,
)
from aftersales.workflows.returns.flow import cancel_refund_clocks, fire
from aftersales.workflows.returns.settlement import (
    EXTERNAL_REFUNDS,
    EXTERNAL_UNITS,
    OPEN_SETTLEMENT,
    SETTLEMENT_STEP,
    RefundTrigger,
    earlier_returns,
    effective_trigger,
    external_units,
    goods_settled,
    payable,
    refund_effect_key,
    trigger_reached,
    units,
)
from aftersales.workflows.returns.states import SETTLING, VOID, IllegalTransition, ReturnEvent, ReturnStatus

if TYPE_CHECKING:
    from aftersales.engine.api import EffectInfo, StepContext

log = structlog.get_logger("aftersales.workflows.returns")

REFUNDS = "refunds"
"""``Case.data`` key: {effect_key: {step, units (line indexes), amount, currency, outcome}}."""
GOODWILL_AMOUNT = "goodwill_amount"
"""``Case.data`` key: the amount of a goodwill refund not tied to units (decimal string)."""
PLATFORM_RETURN = "platform_return_id"
"""``Case.data`` key: the platform's return id when the case came from a platform return (Shopify)."""

_PRE_SETTLEMENT = frozenset(
    {ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED, ReturnStatus.INSPECTED}
)


class NeedsPerson(Exception):
    """The refund cannot go out on its own; ``reason`` is what the merchant reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- pricing ----------------------------------------------------------------------------------------


def pricing_type(case: Case) -> CaseType:
    """The case type the law sees: a commercial return sent inside the statutory window IS a withdrawal.

    A consumer who returns goods within the 14 days exercises the statutory right, whatever
    the form was called; no restocking fee then, and a whole-order return refunds the delivery
    (art. 32 u.p.k.).
    """
    if (
        case.type is CaseType.RETURN
        and inside(case.deadlines, WITHDRAWAL_WINDOW, statement_time(case)) is not False
    ):
        return CaseType.WITHDRAWAL
    return case.type


def with_pending_refunds(order: Order, cases: list[Case], me: Case) -> Order:
    """The order as if the refunds other cases already asked the ledger for had reached the platform.

    Two refunds priced back to back must not both take the same remaining cents: a refund in
    the ledger but not yet at the platform counts against what is refundable.
    """
    at_platform = {r.effect_key for r in order.refunds if r.effect_key}
    pending: list[RefundRecord] = []
    for other in cases:
        if other.id == me.id:
            continue
        for key, entry in _refund_entries(other).items():
            if key in at_platform or entry.get("outcome") is not None:
                continue
            pending.append(
                RefundRecord(
                    id=f"pending:{key}",
                    order_id=order.id,
                    amount=Money(str(entry["amount"]), str(entry["currency"])),
                    effect_key=key,
                    line_quantities={
                        str(k): int(v) for k, v in dict(entry.get("line_quantities", {})).items()
                    },
                )
            )
    if not pending:
        return order
    return order.model_copy(update={"refunds": [*order.refunds, *pending]})


def policy_deductions(ctx: StepContext, case: Case, quote: RefundQuote) -> list[Deduction]:
    """The policy's own deductions: a restocking fee on commercial returns (never a withdrawal)."""
    fee = ctx.policy.returns.restocking_fee
    if fee is None or quote.case_type is not CaseType.RETURN or "commercial_return" not in fee.applies_to:
        return []
    goods = sum((line.amount.amount for line in quote.lines), Decimal(0))
    if fee.amount is not None:
        amount = Money(fee.amount, quote.currency)
    else:
        amount = Money.rounded(goods * (fee.percent or Decimal(0)) / 100, quote.currency)
    if amount.is_zero():
        return []
    return [
        Deduction(kind=DeductionKind.RESTOCKING_FEE, amount=amount, reason="restocking fee (shop policy)")
    ]


def price(
    ctx: StepContext, case: Case, order: Order, cases: list[Case], *, force: bool = False
) -> RefundQuote:
    """The quote for the units the next refund pays for, deductions included (QuoteError if none)."""
    lines = payable(case, force=force)
    compensation: Money | None = None
    raw = case.data.get(GOODWILL_AMOUNT)
    if isinstance(raw, str) and not _refund_entries(case):
        compensation = Money(raw, order.currency)
    priced_as = pricing_type(case)
    adjusted = with_pending_refunds(order, cases, case)
    terms = ReturnShippingTerms(
        customer_pays=ctx.policy.returns.return_shipping_paid_by == "customer",
        prepaid_label=bool(case.data.get("prepaid_label")),
    )

    def run(deductions: list[Deduction]) -> RefundQuote:
        return quote_refund(
            adjusted,
            units(lines),
            priced_as,
            jurisdiction=ctx.policy.shop.jurisdiction,
            deductions=deductions,
            earlier_returns=earlier_returns(case, cases),
            compensation=compensation,
            return_shipping=terms,
        )

    quote = run([])
    try:
        proposed = policy_deductions(ctx, case, quote) + ctx.plugins.refund_adjustments(case, quote)
    except DecisionHookFailed as exc:
        raise NeedsPerson(f"refund adjustments failed: {exc}") from exc
    if proposed:
        quote = run(proposed)
    return quote


# -- asking the ledger ------------------------------------------------------------------------------


def authoritative_order(ctx: StepContext, order_id: str) -> Order:
    """The order as the platform has it now; the snapshot only when the platform cannot answer.

    Money depends on it (a refund made in the shop admin a minute ago), so it is re-read; the
    platform itself still refuses a refund above what is left, so a stale snapshot cannot pay
    twice, only be refused.
    """
    try:
        return ctx.fetch_order(order_id)
    except PlatformError as exc:
        snapshot = ctx.order(order_id)
        if snapshot is None:
            raise NeedsPerson(f"order {order_id} could not be read from the platform: {exc}") from exc
        log.warning("order_refetch_failed", order_id=order_id, error=str(exc))
        return snapshot


def request_refund(ctx: StepContext, case: Case, *, actor: str, reason: str, force: bool = False) -> Case:
    """Price and request the refund of the payable units; a problem sends the case to a person."""
    if case.order_id is None:
        return to_review(ctx, case, actor=actor, reason="the case has no order to refund")
    try:
        order = authoritative_order(ctx, case.order_id)
        cases = ctx.cases_for_order(order.id)
        quote = price(ctx, case, order, cases, force=force)
    except (QuoteError, NeedsPerson) as exc:
        return to_review(ctx, case, actor=actor, reason=f"refund not sent: {exc.reason}")
    if not quote.cut_to_captured.is_zero() and not force:
        return to_review(
            ctx,
            case,
            actor=actor,
            reason=(
                f"refund not sent: only {quote.refundable_before} of the payment is left to refund "
                f"(priced {quote.subtotal}); refunds made in the shop admin may already cover this return"
            ),
        )
    if quote.total.is_zero():
        return to_review(ctx, case, actor=actor, reason="refund not sent: it comes to 0 after deductions")
    lines = payable(case, force=force)
    step = int(str(case.data.get(SETTLEMENT_STEP, 0))) + 1
    key = refund_effect_key(case, step)
    restock = {
        line.line_item_id
        for line in lines
        if line.disposition is Disposition.RESTOCK
        or (ctx.policy.returns.restock_on_receipt and line.logistics is Logistics.RECEIVED)
    }
    request = to_refund_request(quote, key, order.id, f"{case.number}: {reason}", restock=restock)
    indexes = [case.lines.index(line) for line in lines]
    for line in lines:
        line.settlement = Settlement.PENDING
    entries = _refund_entries(case)
    entries[key] = {
        "step": step,
        "units": indexes,
        "line_quantities": units(lines),
        "amount": str(quote.total.amount),
        "currency": quote.currency,
        "quote": quote.to_json(),
        "outcome": None,
    }
    case.data[REFUNDS] = entries
    case.data[SETTLEMENT_STEP] = step
    case = fire(ctx, case, ReturnEvent.REQUEST_REFUND, actor=actor, reason=reason, data={"effect_key": key})
    ctx.request_effect(key, "refund", request, case_id=case.id)
    return case


def to_review(ctx: StepContext, case: Case, *, actor: str, reason: str) -> Case:
    """Queue the case for a person and warn the merchant; no money moves."""
    case = fire(ctx, case, ReturnEvent.REVIEW, actor=actor, reason=reason)
    notices.alert_merchant(ctx, case, "manual review", reason, key=f"review:{case.version}")
    return case


def trigger_for(ctx: StepContext, case: Case) -> RefundTrigger:
    """The policy's trigger as the law caps it for what the case is (see :func:`pricing_type`)."""
    return effective_trigger(pricing_type(case), ctx.policy.returns.refund_trigger)


def advance(ctx: StepContext, case: Case, *, actor: str) -> Case:
    """After any change of the axes: refund when the trigger is reached, close when all is done."""
    if case.status in _PRE_SETTLEMENT:
        if case.type is CaseType.GOODWILL and not _refund_entries(case):
            return request_refund(ctx, case, actor=actor, reason=case.reason or "goodwill refund")
        trigger = trigger_for(ctx, case)
        if trigger_reached(case, trigger):
            return request_refund(ctx, case, actor=actor, reason=f"refund trigger {trigger.value} reached")
    if case.status == ReturnStatus.REFUNDED and goods_settled(case):
        return fire(ctx, case, ReturnEvent.CLOSE, actor=actor, reason="money settled and goods accounted for")
    return case


# -- the ledger's answer ----------------------------------------------------------------------------


def on_refund_effect(ctx: StepContext, effect: EffectInfo) -> None:
    """Settle the units of a confirmed refund, or send the case to a person when it failed."""
    if effect.case_id is None:
        return
    case = ctx.load_case(effect.case_id)
    if case is None:
        return
    entries = _refund_entries(case)
    entry = entries.get(effect.effect_key)
    if entry is None or entry.get("outcome") is not None:
        return  # not ours, or already handled (the engine may tell twice)
    confirmed = effect.state == "confirmed"
    entry["outcome"] = effect.state
    for index in entry["units"]:
        case.lines[int(index)].settlement = Settlement.SUCCEEDED if confirmed else Settlement.FAILED
    case.data[REFUNDS] = entries
    if not confirmed:
        reason = f"refund {effect.effect_key} failed: {effect.error or 'the platform refused it'}"
        case = fire(ctx, case, ReturnEvent.REFUND_FAILED, actor="platform", reason=reason)
        notices.alert_merchant(ctx, case, "refund failed", reason, key=effect.effect_key)
        return
    amount = Money(str(entry["amount"]), str(entry["currency"]))
    case.refund_total = amount if case.refund_total is None else case.refund_total + amount
    case = fire(
        ctx, case, ReturnEvent.REFUND_CONFIRMED, actor="platform", data={"effect_key": effect.effect_key}
    )
    if any(
        line.settlement in OPEN_SETTLEMENT and line.authorization is Authorization.APPROVED
        for line in case.lines
    ):
        return  # units the refund left out (the wrong item): a person settles them
    cancel_refund_clocks(ctx, case)
    return_id = case.data.get(PLATFORM_RETURN)
    if isinstance(return_id, str):
        ctx.request_effect(
            f"platform:{case.shop_id}:{case.id}:return.close",
            "platform_action",
            platform_action("return.close", {"return_id": return_id, "order_id": case.order_id}),
            case_id=case.id,
        )
    if goods_settled(case):
        fire(ctx, case, ReturnEvent.CLOSE, actor="system", reason="money settled and goods accounted for")


def platform_action(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The ledger request of a ``platform_action`` effect (Shopify return.approve/decline/close)."""
    return {"action": action, "params": params}


# -- refunds made in the shop admin -----------------------------------------------------------------


def absorb_external_refunds(ctx: StepContext, order_id: str, refunds: list[RefundRecord]) -> list[Case]:
    """Let refunds made outside the engine settle the units of open cases they cover.

    A Shopify return refunded in the admin, a WooCommerce refund typed by hand: the units are
    paid, so the case must not pay them again. Units are matched per order line, oldest case
    first; what matches no open case still counts against the refundable units and balance
    (:func:`aftersales.workflows.returns.eligibility.returnable_units` and the calculator read
    ``order.refunds``). Returns the cases that changed.
    """
    cases = sorted(ctx.cases_for_order(order_id), key=lambda c: c.opened_at)
    seen = absorbed_refund_ids(cases)
    changed: list[Case] = []
    for refund in refunds:
        if refund.effect_key or refund.id in seen or not refund.line_quantities:
            continue
        left: Counter[str] = Counter(refund.line_quantities)
        for case in cases:
            if case.type not in RETURN_TYPES or case.status in VOID or case.status in SETTLING:
                continue
            took = _take_units(case, left)
            if not took:
                continue
            ext = external_units(case)
            ext.update(took)
            case.data[EXTERNAL_UNITS] = dict(ext)
            case.data[EXTERNAL_REFUNDS] = [*_list(case.data.get(EXTERNAL_REFUNDS)), refund.id]
            if sum(left.values()) == 0 and sum(took.values()) == sum(refund.line_quantities.values()):
                case.refund_total = (
                    refund.amount if case.refund_total is None else case.refund_total + refund.amount
                )
            changed.append(_after_external(ctx, case, refund))
            seen.add(refund.id)
            if sum(left.values()) == 0:
                break
    return changed


def _take_units(case: Case, left: Counter[str]) -> Counter[str]:
    took: Counter[str] = Counter()
    for line in case.lines:
        if line.authorization is Authorization.DECLINED or line.settlement not in OPEN_SETTLEMENT:
            continue
        if left[line.line_item_id] > 0:
            left[line.line_item_id] -= 1
            took[line.line_item_id] += 1
            line.settlement = Settlement.SUCCEEDED
    return took


def _after_external(ctx: StepContext, case: Case, refund: RefundRecord) -> Case:
    reason = f"refunded in the shop admin (refund {refund.id}, {refund.amount})"
    everything = all(
        line.settlement not in OPEN_SETTLEMENT
        for line in case.lines
        if line.authorization is not Authorization.DECLINED
    )
    if not everything:
        ctx.save_case(case)
        return case
    try:
        case = fire(ctx, case, ReturnEvent.REFUNDED_EXTERNALLY, actor="platform", reason=reason)
    except IllegalTransition:
        ctx.save_case(case)
        return case
    cancel_refund_clocks(ctx, case)
    if goods_settled(case):
        case = fire(ctx, case, ReturnEvent.CLOSE, actor="system", reason="refunded in the shop admin")
    return case


def _refund_entries(case: Case) -> dict[str, dict[str, Any]]:
    raw = case.data.get(REFUNDS)
    return dict(raw) if isinstance(raw, dict) else {}


def _list(raw: object) -> list[Any]:
    return list(raw) if isinstance(raw, list) else []
