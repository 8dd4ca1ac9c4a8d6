"""Properties of refund money that must hold for every order and every way of returning it.

Random orders (currencies with 0, 2 and 3 minor units, discounts, taxes in or on top of the
price, standard and express delivery, order-level discounts and fees) are returned in random
parcels, sometimes with refunds made by hand in the shop admin in between.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales.domain import LineItem, Money, Order, Platform, RefundRecord, ShippingLine, allocate
from aftersales.money import QuoteError, RefundQuote, quote_refund, to_refund_request

CURRENCIES = ["PLN", "JPY", "KWD", "EUR"]
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def orders(draw: st.DrawFn, *, gap: bool = False, express: bool = True) -> Order:
    currency = draw(st.sampled_from(CURRENCIES))
    include_tax = draw(st.booleans())
    items = []
    for i in range(draw(st.integers(1, 4))):
        qty = draw(st.integers(1, 6))
        subtotal = qty * draw(st.integers(1, 50_000))
        discount = draw(st.integers(0, subtotal - qty))  # every unit still costs at least one minor unit
        net = subtotal - discount
        tax = draw(st.integers(0, net if include_tax else net // 3))
        items.append(
            LineItem(
                id=f"L{i}",
                name=f"line {i}",
                quantity=qty,
                subtotal=Money.from_minor(subtotal, currency),
                discount=Money.from_minor(discount, currency),
                tax=Money.from_minor(tax, currency),
            )
        )
    ships = [
        ShippingLine(
            id=f"S{i}",
            price=Money.from_minor(draw(st.integers(0, 3_000)), currency),
            discount=Money.zero(currency),
            tax=Money.zero(currency),
            standard=(not express) or draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    captured = sum(li.paid(include_tax).minor for li in items) + sum(s.price.minor for s in ships)
    if gap:
        goods = sum(li.paid(include_tax).minor for li in items)
        captured += draw(st.integers(-(goods // 2), 2_000))
    return Order(
        id="o1",
        number="#1",
        platform=Platform.FAKE,
        currency=currency,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        prices_include_tax=include_tax,
        line_items=items,
        shipping_lines=ships,
        total=Money.from_minor(captured, currency),
    )


def parcels(draw: st.DrawFn, order: Order, *, everything: bool) -> list[dict[str, int]]:
    """Split the order's units (all of them, or a random part) into random parcels."""
    units = [li.id for li in order.line_items for _ in range(li.quantity)]
    rng = random.Random(draw(st.integers(0, 2**32)))
    rng.shuffle(units)
    if not everything:
        units = units[: draw(st.integers(1, len(units)))]
    cuts = sorted(draw(st.sets(st.integers(1, max(len(units) - 1, 1)), max_size=len(units) - 1)))
    result: list[dict[str, int]] = []
    for chunk in (units[a:b] for a, b in zip([0, *cuts], [*cuts, len(units)], strict=True)):
        parcel: dict[str, int] = {}
        for line_id in chunk:
            parcel[line_id] = parcel.get(line_id, 0) + 1
        if parcel:
            result.append(parcel)
    return result


@dataclass
class Run:
    order: Order
    quotes: list[RefundQuote]
    stopped: str | None
    """Why a parcel could not be refunded (None when every parcel was)."""


def refund_in_parcels(
    order: Order, steps: list[dict[str, int]], case_type: str, admin: list[int] | None = None
) -> Run:
    """Quote each parcel against the order as the platform would report it after the previous ones."""
    quotes = []
    for n, parcel in enumerate(steps):
        if admin and n < len(admin) and admin[n]:
            refundable = order.refundable.minor
            amount = Money.from_minor(min(admin[n], refundable // 2), order.currency)
            manual = RefundRecord(id=f"admin{n}", order_id=order.id, amount=amount)
            order = order.model_copy(update={"refunds": [*order.refunds, manual]})
        try:
            q = quote_refund(order, parcel, case_type)
        except QuoteError as exc:
            # Only acceptable when the shop admin already paid out everything that was captured.
            return Run(order, quotes, stopped=exc.reason)
        quotes.append(q)
        record = RefundRecord(
            id=f"r{n}", order_id=order.id, amount=q.total, line_quantities=parcel, effect_key=f"case-{n}"
        )
        order = order.model_copy(update={"refunds": [*order.refunds, record]})
    return Run(order, quotes, stopped=None)


@given(
    whole=st.integers(-(10**12), 10**12),
    weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=20),
    currency=st.sampled_from(CURRENCIES),
)
def test_allocated_parts_always_add_up_to_the_whole_and_stay_within_a_minor_unit_of_their_share(
    whole: int, weights: list[int], currency: str
) -> None:
    amount = Money.from_minor(whole, currency)
    parts = allocate(amount, weights)
    assert sum(p.minor for p in parts) == whole
    effective = weights if sum(weights) else [1] * len(weights)
    for part, weight in zip(parts, effective, strict=True):
        exact = Decimal(abs(whole)) * weight / sum(effective)
        assert abs(Decimal(abs(part.minor)) - exact) < 1
        assert part.minor == 0 or (part.minor > 0) == (whole > 0)


@PROPERTY_SETTINGS
@given(
    data=st.data(),
    order=orders(),
    case_type=st.sampled_from(["return", "withdrawal", "goodwill", "complaint"]),
)
def test_returning_every_unit_in_any_number_of_parcels_refunds_exactly_what_was_paid(
    data: st.DataObject, order: Order, case_type: str
) -> None:
    run = refund_in_parcels(order, parcels(data.draw, order, everything=True), case_type)
    assert run.stopped is None
    refunded = sum(q.total.minor for q in run.quotes)
    goods = sum(li.paid(order.prices_include_tax).minor for li in order.line_items)
    if case_type == "withdrawal" and all(s.standard for s in order.shipping_lines):
        assert refunded == order.total.minor  # goods and the standard delivery, to the cent
    elif case_type == "withdrawal":
        assert goods <= refunded <= order.total.minor
    elif order.shipping_lines and any(s.price.minor for s in order.shipping_lines):
        assert refunded == goods  # a commercial return keeps the delivery
    else:
        assert refunded == order.total.minor
    for li in order.line_items:
        per_line = sum(ql.amount.minor for q in run.quotes for ql in q.lines if ql.line_item_id == li.id)
        assert per_line == li.paid(order.prices_include_tax).minor
    assert all(not q.total.is_negative() for q in run.quotes)


@PROPERTY_SETTINGS
@given(
    data=st.data(),
    order=orders(gap=True),
    case_type=st.sampled_from(["return", "withdrawal"]),
    admin=st.lists(st.integers(0, 5_000), max_size=4),
    everything=st.booleans(),
)
def test_refunds_never_go_negative_nor_exceed_the_capture_whatever_the_shop_admin_did(
    data: st.DataObject, order: Order, case_type: str, admin: list[int], everything: bool
) -> None:
    run = refund_in_parcels(order, parcels(data.draw, order, everything=everything), case_type, admin)
    if run.stopped is not None:  # the shop admin had already paid out everything captured
        assert run.order.refundable.is_zero()
        assert "nothing left to refund" in run.stopped
    assert all(q.total.minor >= 0 for q in run.quotes)
    assert run.order.refunded <= order.total
    for q in run.quotes:
        assert q.total <= q.refundable_before
        assert q.remaining == q.refundable_before - q.total
        if q.total.is_zero():
            continue
        request = to_refund_request(q, "k", q.order_id, "r")
        parts = sum(line.amount.minor for line in request.lines) + (
            request.shipping.minor if request.shipping else 0
        )
        assert all(Money.zero(q.currency) <= line.tax <= line.amount for line in request.lines)
        if q.fees.is_zero() and q.remainder_taken.is_zero():
            assert parts == request.amount.minor
        else:
            assert parts <= request.amount.minor
    if everything and case_type == "withdrawal" and all(s.standard for s in order.shipping_lines):
        assert run.order.refunded == order.total  # the last refund took the remaining cents
        assert run.stopped is not None or run.quotes[-1].completes_order
