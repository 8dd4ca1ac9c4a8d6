"""The refund calculator: pure, exact, explainable.

Given an order as the platform reports it (its refunds included, those made by hand in the shop
admin too) and a request (units per line, a case type, proposed deductions), it prices the
refund and says why, step by step, in ``RefundQuote.trace``.

How the money is split, and why:

- **Per unit, in whole minor units.** A line's paid amount (after its share of every discount,
  with its tax) is split over its units with :func:`aftersales.domain.allocate`: 10.00 over three
  units is 3.34 + 3.33 + 3.33. Earlier returns took the first units, this one takes the next,
  so the units of a line returned over several cases add up to exactly what was paid for it,
  to the cent, and the last unit takes the remaining cents. Taxes are split the same way.
- **Order-level discounts** are already spread over the lines in the domain
  (``LineItem.discount``). When the lines and the delivery still add up to more than the
  order's total (a discount a platform kept at order level, e.g. a WooCommerce negative fee),
  the difference is spread over the lines by their paid amounts, so no return refunds money the
  customer never paid. When they add up to less (a fee the domain has no line for), the
  difference is an order charge refunded with a whole-order withdrawal (the law refunds "all
  payments received").
- **Delivery** is refunded only when the whole order is withdrawn (every unit of every line,
  earlier cases counted), and only up to the cheapest standard delivery: an express surcharge
  stays with the customer (art. 32 ust. 3 u.p.k., Directive 2011/83/EU art. 13(2)).
- **Never more than was captured.** The refund is capped at the order's total minus everything
  already refunded; the refund that completes the order takes exactly what is left, so rounding
  residues never strand a cent at the shop or pay one out twice.
- **Deductions** go through :mod:`aftersales.money.deductions` (what the law allows per case
  type and jurisdiction) and are capped at the refund: a refund is never negative.

Hand-written rather than a library: no maintained Python library models per-unit refunds,
statutory delivery rules and platform refunds together; the arithmetic itself is the domain's
``Money``/``allocate``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aftersales.decisions import Deduction
from aftersales.domain import CaseType, FinancialStatus, LineItem, Money, Order, ShippingLine, allocate, total
from aftersales.money.deductions import ReturnShippingTerms, judge
from aftersales.money.quote import AppliedDeduction, QuoteError, QuoteLine, RefundQuote, RefusedDeduction

_UNIT_CASES = (CaseType.WITHDRAWAL, CaseType.RETURN)
"""Case types that refund goods and nothing else: an arbitrary amount makes no sense for them."""


@dataclass(frozen=True)
class _Priced:
    """A line's (or delivery's) amount after every discount, the order-level ones included."""

    paid: Money
    tax: Money


def _scaled(part: Money, of: Money, whole: Money) -> Money:
    """``whole`` × part/of, rounded half-up (a tax share following a lowered amount)."""
    if of.is_zero():
        return whole
    return Money.rounded(whole.amount * part.amount / of.amount, whole.currency)


def _shipping_paid(ship: ShippingLine, prices_include_tax: bool) -> Money:
    net = ship.price - ship.discount
    return net if prices_include_tax else net + ship.tax


def _units_summary(units: Sequence[Money]) -> str:
    counts = Counter(str(u.amount) for u in units)
    return ", ".join(f"{amount} ×{n}" for amount, n in counts.items())


def _check_money(value: Money, currency: str, what: str) -> None:
    if value.currency != currency:
        raise QuoteError(f"{what} is in {value.currency} but the order is in {currency}")
    if value.is_negative():
        raise QuoteError(f"{what} must not be negative (got {value})")


class _Book:
    """The order's figures the calculator needs, derived once."""

    def __init__(self, order: Order, trace: list[str]) -> None:
        cur = order.currency
        self.order = order
        self.lines: dict[str, _Priced] = {}
        self.shipping: dict[str, _Priced] = {}
        lines_paid = {li.id: li.paid(order.prices_include_tax) for li in order.line_items}
        ship_paid = {s.id: _shipping_paid(s, order.prices_include_tax) for s in order.shipping_lines}
        for line_id, paid in lines_paid.items():
            if paid.is_negative():
                raise QuoteError(
                    f"line {line_id} of order {order.number} has a negative paid amount ({paid}); "
                    "the order data is inconsistent"
                )
        goods = total(lines_paid.values(), cur)
        delivery = total(ship_paid.values(), cur)
        gap = order.total - (goods + delivery)
        self.fees = Money.zero(cur)
        reduction: dict[str, Money] = {}
        if gap.is_negative():
            # Discounts the platform kept at order level: spread over the goods (and only when they
            # exceed the goods, over the delivery too), proportionally to what was paid.
            over = -gap
            parts = list(lines_paid.items()) if over <= goods else [*lines_paid.items(), *ship_paid.items()]
            shares = allocate(over, [p.minor for _, p in parts])
            reduction = {key: share for (key, _), share in zip(parts, shares, strict=True)}
            trace.append(
                f"order total {order.total.amount} is {over.amount} below its lines and delivery "
                f"({(goods + delivery).amount}): an order-level discount, spread over "
                f"{'the lines' if over <= goods else 'the lines and the delivery'} by what was paid"
            )
        elif not gap.is_zero():
            self.fees = gap
            trace.append(
                f"order total {order.total.amount} is {gap.amount} above its lines and delivery "
                f"({(goods + delivery).amount}): order charges (fees), refunded with a whole-order withdrawal"
            )
        for li in order.line_items:
            paid = lines_paid[li.id]
            cut = reduction.get(li.id, Money.zero(cur))
            self.lines[li.id] = _Priced(paid - cut, _scaled(paid - cut, paid, li.tax))
        for s in order.shipping_lines:
            paid = ship_paid[s.id]
            cut = reduction.get(s.id, Money.zero(cur))
            self.shipping[s.id] = _Priced(paid - cut, _scaled(paid - cut, paid, s.tax))


def _consumed_units(
    order: Order, earlier_returns: Mapping[str, int] | None, trace: list[str]
) -> dict[str, int]:
    """Units of each line that earlier refunds or cases already took.

    Refunds made in the shop admin (no ``effect_key``) always count. Our own refunds count
    through ``earlier_returns`` when the workflow passes it (it knows units returned by earlier
    cases even before their refund went out); otherwise through the platform's refund records.
    """
    ids = {li.id for li in order.line_items}
    consumed: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for record in order.refunds:
        target = ours if record.effect_key else consumed
        for line_id, qty in record.line_quantities.items():
            if line_id not in ids:
                trace.append(f"refund {record.id} names line {line_id}, which is not in the order; ignored")
                continue
            target[line_id] += qty
    admin = sum(1 for r in order.refunds if not r.effect_key)
    if admin:
        trace.append(f"{admin} refund(s) made in the shop admin count against this order")
    if earlier_returns is None:
        consumed.update(ours)
    else:
        for line_id, qty in earlier_returns.items():
            if line_id not in ids:
                raise QuoteError(
                    f"earlier returns name line {line_id}, which is not part of order {order.number}"
                )
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
                raise QuoteError(f"earlier returns of line {line_id} must be a whole number ≥ 0, got {qty!r}")
            consumed[line_id] += qty
    return dict(consumed)


def _requested(order: Order, lines: Mapping[str, int]) -> dict[str, int]:
    by_id = {li.id: li for li in order.line_items}
    result: dict[str, int] = {}
    for raw_id, qty in lines.items():
        line_id = str(raw_id)
        if line_id not in by_id:
            raise QuoteError(f"line {line_id} is not part of order {order.number} ({order.id})")
        if isinstance(qty, bool) or not isinstance(qty, int):
            raise QuoteError(f"the quantity for line {line_id} must be a whole number, got {qty!r}")
        if qty <= 0:
            raise QuoteError(f"the quantity for line {line_id} must be at least 1, got {qty}")
        result[line_id] = qty
    return result


def _price_line(li: LineItem, priced: _Priced, start: int, qty: int, trace: list[str]) -> QuoteLine:
    unit_paid = allocate(priced.paid, [1] * li.quantity)
    unit_tax = allocate(priced.tax, [1] * li.quantity)
    cur = priced.paid.currency
    amount = total(unit_paid[start : start + qty], cur)
    tax = total(unit_tax[start : start + qty], cur)
    units = f"unit {start + 1}" if qty == 1 else f"units {start + 1}-{start + qty}"
    trace.append(
        f"line {li.id} {li.name!r}: paid {priced.paid.amount} for {li.quantity} unit(s) "
        f"(per unit {_units_summary(unit_paid)}); refunding {units} of {li.quantity}: "
        f"{amount.amount} (tax {tax.amount})"
    )
    return QuoteLine(
        line_item_id=li.id,
        name=li.name,
        quantity=qty,
        first_unit=start,
        amount=amount,
        tax=tax,
        net=amount - tax,
    )


def _delivery_refund(
    order: Order,
    book: _Book,
    standard_delivery_price: Money | None,
    trace: list[str],
) -> tuple[Money, Money]:
    """Delivery refunded on a whole-order withdrawal: standard lines in full, express capped."""
    cur = order.currency
    refunded = Money.zero(cur)
    tax = Money.zero(cur)
    standard_paid = [book.shipping[s.id].paid for s in order.shipping_lines if s.standard]
    cheapest = min(standard_paid, key=lambda m: m.amount) if standard_paid else None
    cap = standard_delivery_price if standard_delivery_price is not None else cheapest
    for s in order.shipping_lines:
        priced = book.shipping[s.id]
        if s.standard:
            part = priced.paid
            trace.append(f"delivery {s.id} {s.title!r} (standard): refunding {part.amount}")
        elif cap is None:
            part = priced.paid
            trace.append(
                f"delivery {s.id} {s.title!r} is not a standard option, but no cheaper standard price "
                f"is known: refunding its full {part.amount}"
            )
        else:
            part = priced.paid.min(cap)
            trace.append(
                f"delivery {s.id} {s.title!r} is not a standard option: refunding {part.amount}, the "
                f"cheapest standard delivery (of {priced.paid.amount} paid); the surcharge stays with the customer"
            )
        refunded = refunded + part
        tax = tax + (priced.tax if part == priced.paid else _scaled(part, priced.paid, priced.tax))
    return refunded, tax


def _check_case_amounts(
    case_type: CaseType, requested: Mapping[str, int], compensation: Money | None, order: Order
) -> None:
    if compensation is not None:
        _check_money(compensation, order.currency, "the compensation amount")
        if case_type in _UNIT_CASES:
            raise QuoteError(
                f"a {case_type.value} refunds what was paid for the returned units; "
                "it takes lines, not an amount"
            )
    if case_type is CaseType.GUARANTEE_PAYOUT:
        if requested:
            raise QuoteError("a shipping-guarantee payout is an amount, not units of the order")
        if compensation is None:
            raise QuoteError("a shipping-guarantee payout needs the amount to pay out")
    if not requested and (compensation is None or compensation.is_zero()):
        raise QuoteError("nothing to refund: name at least one line and quantity (or an amount)")


def quote_refund(
    order: Order,
    lines: Mapping[str, int],
    case_type: CaseType | str,
    *,
    jurisdiction: str = "PL",
    deductions: Iterable[Deduction] = (),
    earlier_returns: Mapping[str, int] | None = None,
    compensation: Money | None = None,
    return_shipping: ReturnShippingTerms | None = None,
    standard_delivery_price: Money | None = None,
) -> RefundQuote:
    """Price a refund of ``lines`` (order line id → units) for a case of ``case_type``.

    ``earlier_returns``: units of each line returned by earlier cases of this order (the
    workflow's count, refunded yet or not); refunds made in the shop admin are read from
    ``order.refunds`` either way. ``compensation``: an amount not tied to units (goodwill,
    guarantee payout, price reduction). ``return_shipping``: who bears the cost of sending goods
    back (decides whether a return-shipping deduction is lawful on a withdrawal).
    ``standard_delivery_price``: the shop's cheapest standard delivery, to cap an express
    delivery's refund when the order itself has no standard shipping line.

    Raises :class:`QuoteError` with a reason for the case when the request cannot be priced.
    """
    try:
        kind = CaseType(case_type)
    except ValueError:
        known = ", ".join(t.value for t in CaseType)
        raise QuoteError(f"unknown case type {case_type!r} (expected one of: {known})") from None
    where = jurisdiction.strip().upper()
    if not where:
        raise QuoteError("a jurisdiction is needed to decide which deductions are lawful (e.g. PL)")
    cur = order.currency
    trace: list[str] = []

    if order.financial_status in (FinancialStatus.PENDING, FinancialStatus.VOIDED):
        raise QuoteError(
            f"order {order.number} has no captured payment (financial status {order.financial_status.value})"
        )
    refundable = order.refundable
    trace.append(
        f"order {order.number} ({cur}): captured {order.total.amount}, refunded so far "
        f"{order.refunded.amount} in {len(order.refunds)} refund(s), refundable {refundable.amount}"
    )
    if refundable.is_negative():
        raise QuoteError(
            f"order {order.number} is over-refunded: {order.total} captured, {order.refunded} "
            "already refunded; nothing more can be refunded"
        )
    requested = _requested(order, lines)
    _check_case_amounts(kind, requested, compensation, order)
    if standard_delivery_price is not None:
        _check_money(standard_delivery_price, cur, "the standard delivery price")
    proposed = list(deductions)
    for d in proposed:
        _check_money(d.amount, cur, f"the {d.kind.value} deduction")

    consumed = _consumed_units(order, earlier_returns, trace)
    book = _Book(order, trace)

    priced_lines: list[QuoteLine] = []
    for line_id, qty in requested.items():
        li = order.line(line_id)
        before = consumed.get(line_id, 0)
        if qty > li.quantity:
            raise QuoteError(
                f"line {line_id} ({li.name}): {qty} unit(s) asked, but only {li.quantity} were bought"
            )
        left = max(li.quantity - before, 0)
        if qty > left:
            raise QuoteError(
                f"line {line_id} ({li.name}): {qty} unit(s) asked, but only {left} of {li.quantity} "
                f"remain unreturned ({before} already returned or refunded)"
            )
        priced_lines.append(_price_line(li, book.lines[line_id], before, qty, trace))

    whole_order = bool(order.line_items) and all(
        consumed.get(li.id, 0) + requested.get(li.id, 0) >= li.quantity for li in order.line_items
    )
    shipping = shipping_tax = fees = Money.zero(cur)
    delivery_paid = total((p.paid for p in book.shipping.values()), cur)
    if kind is CaseType.WITHDRAWAL and whole_order and requested:
        trace.append("the whole order is withdrawn (every unit of every line, earlier cases counted)")
        shipping, shipping_tax = _delivery_refund(order, book, standard_delivery_price, trace)
        if not book.fees.is_zero():
            fees = book.fees
            trace.append(f"order charges {fees.amount}: refunded (all payments received are refunded)")
    elif not delivery_paid.is_zero() and requested:
        trace.append(
            "delivery not refunded: "
            + (
                "only a whole-order withdrawal refunds it"
                if kind is CaseType.WITHDRAWAL
                else f"a {kind.value} case"
            )
        )
    comp = compensation if compensation is not None else Money.zero(cur)
    if not comp.is_zero():
        trace.append(f"{kind.value} amount: {comp.amount}")

    goods = total((q.amount for q in priced_lines), cur)
    subtotal = goods + shipping + fees + comp
    if refundable.is_zero() and not subtotal.is_zero():
        # A unit that cost nothing (a free gift) may still come back after everything else was
        # refunded; asking for money when none is left is the error.
        raise QuoteError(
            f"nothing left to refund on order {order.number}: {order.total} captured, "
            f"{order.refunded} already refunded"
        )
    completes = bool(requested) and whole_order and shipping == delivery_paid and fees == book.fees
    remainder = Money.zero(cur)
    if completes and subtotal < refundable:
        remainder = refundable - subtotal
        trace.append(
            f"this refund completes the order: it takes the remaining {refundable.amount} "
            f"({remainder.amount} above the priced items)"
        )
        subtotal = refundable
        before_deductions = refundable
        cut = Money.zero(cur)
    else:
        before_deductions = subtotal.min(refundable)
        cut = subtotal - before_deductions
        if not cut.is_zero():
            trace.append(
                f"priced at {subtotal.amount}, but only {refundable.amount} of the capture is left: "
                f"lowered by {cut.amount}"
            )

    allowed, refused = judge(proposed, kind, where, return_shipping or ReturnShippingTerms())
    applied: list[AppliedDeduction] = []
    left_to_refund = before_deductions
    for d in allowed:
        take = d.amount.min(left_to_refund)
        left_to_refund = left_to_refund - take
        note = "" if take == d.amount else f" (capped from {d.amount.amount}: a refund is never negative)"
        trace.append(f"deduction {d.kind.value} {take.amount}{note}: {d.reason}")
        applied.append(AppliedDeduction(kind=d.kind, requested=d.amount, amount=take, reason=d.reason))
    refused_out = [
        RefusedDeduction(kind=d.kind, amount=d.amount, reason=d.reason, refused_because=why)
        for d, why in refused
    ]
    for r in refused_out:
        trace.append(f"deduction {r.kind.value} {r.amount.amount} refused: {r.refused_because}")

    final = left_to_refund
    trace.append(f"refund {final.amount} {cur}; refundable after it {(refundable - final).amount}")
    return RefundQuote(
        order_id=order.id,
        case_type=kind,
        jurisdiction=where,
        currency=cur,
        lines=tuple(priced_lines),
        shipping=shipping,
        shipping_tax=shipping_tax,
        fees=fees,
        compensation=comp,
        remainder_taken=remainder,
        subtotal=subtotal,
        cut_to_captured=cut,
        deductions=tuple(applied),
        refused_deductions=tuple(refused_out),
        total=final,
        refundable_before=refundable,
        remaining=refundable - final,
        completes_order=completes,
        trace=tuple(trace),
    )
