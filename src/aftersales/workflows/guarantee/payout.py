"""How much a late order earns: the offered amount, cut by the merchant's caps. Pure.

Order of the rules (each one writes a sentence to the trace):

1. the base: the fixed amount of the terms the customer paid under, or the shipping fee the
   customer actually paid (delivery lines after discounts, tax included);
2. ``caps.per_order``: the payout is cut to it;
3. ``caps.per_customer_per_month``: what this customer already received this calendar month
   (the shop's time zone) is subtracted from the cap; the payout is cut to what is left;
4. ``caps.per_month``: the same across the whole shop.

A cap that leaves nothing skips the payout with the reason on the trace; it never makes the
payout negative, and it never raises. Caps are the merchant's budget, so they come from the
*current* policy, while the amount comes from the terms frozen at payment.

A refund can never exceed what is left of the capture: the refund calculator
(:func:`aftersales.money.quote_refund` with ``case_type=guarantee_payout``) cuts it, and its
trace joins this one. A voucher is not money back to the card, so it is not cut by the capture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from aftersales.domain import Money, Order, total
from aftersales.policy.schema import Caps, Policy
from aftersales.workflows.guarantee.terms import PayoutTerms

__all__ = ["PayoutHistory", "PayoutPlan", "month_bounds", "plan_payout", "shipping_fee_paid"]


@dataclass(frozen=True)
class PayoutHistory:
    """Payouts already in the ledger (not failed) in the calendar month of this payout."""

    month: str
    """``YYYY-MM`` in the shop's time zone."""
    customer: Money
    shop: Money


@dataclass(frozen=True)
class PayoutPlan:
    amount: Money | None
    """None: nothing is paid (``skipped`` says why)."""
    method: str
    skipped: str | None = None
    trace: tuple[str, ...] = field(default_factory=tuple)


def shipping_fee_paid(order: Order) -> Money:
    """What the customer paid for delivery, after discounts, tax included."""
    paid = []
    for line in order.shipping_lines:
        net = line.price - line.discount
        paid.append(net if order.prices_include_tax else net + line.tax)
    return total(paid, order.currency)


def month_bounds(month: str) -> tuple[date, date]:
    """First day of ``YYYY-MM`` and first day of the next month (ValueError for bad input)."""
    try:
        start = datetime.strptime(month.strip(), "%Y-%m").date()
    except ValueError:
        raise ValueError(f"a month is written YYYY-MM (e.g. 2026-11), got {month!r}") from None
    end = date(start.year + 1, 1, 1) if start.month == 12 else date(start.year, start.month + 1, 1)
    return start, end


def _cap(
    amount: Money, cap: Money | None, spent: Money | None, what: str, trace: list[str]
) -> tuple[Money, str | None]:
    if cap is None:
        return amount, None
    if spent is None:
        if amount > cap:
            trace.append(f"{what} cap {cap}: the payout is cut from {amount} to {cap}")
            return cap, None
        trace.append(f"{what} cap {cap}: not reached")
        return amount, None
    left = (cap - spent).max(Money.zero(cap.currency))
    if left.is_zero():
        reason = f"{what} cap {cap} reached ({spent} already paid out)"
        trace.append(reason + ": no payout")
        return Money.zero(cap.currency), reason
    if amount > left:
        trace.append(f"{what} cap {cap}, {spent} already paid out: the payout is cut from {amount} to {left}")
        return left, None
    trace.append(f"{what} cap {cap}, {spent} already paid out: {left} left, not reached")
    return amount, None


def plan_payout(order: Order, terms: PayoutTerms, policy: Policy, history: PayoutHistory) -> PayoutPlan:
    """Price the payout for a late ``order`` (see the module docstring for the rules)."""
    trace: list[str] = []
    method = terms.method
    cur = order.currency
    if terms.kind == "fixed":
        if terms.amount is None:
            return PayoutPlan(
                None, method, "the guarantee has no payout amount", ("no fixed amount in the terms",)
            )
        base = terms.amount
        trace.append(f"fixed payout of {base} (the terms when the order was paid)")
    else:
        base = shipping_fee_paid(order)
        trace.append(f"payout of the shipping fee paid: {base}")
    if base.currency != cur:
        reason = f"the payout is in {base.currency} but order {order.number} is in {cur}"
        return PayoutPlan(None, method, reason, (*trace, reason + ": no payout"))
    if base.is_zero() or base.is_negative():
        reason = (
            "the customer paid no shipping fee" if terms.kind == "shipping_fee" else "the payout amount is 0"
        )
        return PayoutPlan(None, method, reason, (*trace, reason + ": nothing to pay"))

    caps: Caps = policy.guarantee.caps

    def money(value: object) -> Money | None:
        return None if value is None else Money(value, cur)

    amount = base
    for cap, spent, what in (
        (money(caps.per_order), None, "per-order"),
        (money(caps.per_customer_per_month), history.customer, f"per-customer {history.month}"),
        (money(caps.per_month), history.shop, f"shop-wide {history.month}"),
    ):
        amount, skipped = _cap(amount, cap, spent, what, trace)
        if skipped is not None:
            return PayoutPlan(None, method, skipped, tuple(trace))
    trace.append(
        f"payout {amount} as a {'refund to the original payment' if method == 'refund' else 'voucher'}"
    )
    return PayoutPlan(amount, method, None, tuple(trace))
