"""The refund calculator, scenario by scenario: what a customer gets back, to the cent, and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from aftersales.decisions import Deduction, DeductionKind
from aftersales.domain import (
    CaseType,
    FinancialStatus,
    LineItem,
    Money,
    Order,
    Platform,
    RefundRecord,
    ShippingLine,
)
from aftersales.money import QuoteError, RefundQuote, ReturnShippingTerms, quote_refund, to_refund_request

WHEN = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def make_order(
    lines: Sequence[tuple[str, int, str, str, str]],
    *,
    currency: str = "PLN",
    shipping: Sequence[tuple[str, str, bool]] = (),
    include_tax: bool = False,
    refunds: Sequence[RefundRecord] = (),
    total: str | None = None,
    status: FinancialStatus = FinancialStatus.PAID,
) -> Order:
    """lines: (id, quantity, subtotal, discount, tax); shipping: (id, price, standard)."""
    items = [
        LineItem(
            id=lid,
            name=f"item {lid}",
            quantity=qty,
            subtotal=Money(sub, currency),
            discount=Money(disc, currency),
            tax=Money(tax, currency),
        )
        for lid, qty, sub, disc, tax in lines
    ]
    ships = [
        ShippingLine(
            id=sid,
            title="Express" if not standard else "Standard",
            price=Money(price, currency),
            discount=Money.zero(currency),
            tax=Money.zero(currency),
            standard=standard,
        )
        for sid, price, standard in shipping
    ]
    captured = Money.zero(currency)
    for item in items:
        captured = captured + item.paid(include_tax)
    for ship in ships:
        captured = captured + ship.price
    return Order(
        id="1001",
        number="#1001",
        platform=Platform.FAKE,
        currency=currency,
        created_at=WHEN,
        prices_include_tax=include_tax,
        line_items=items,
        shipping_lines=ships,
        refunds=list(refunds),
        total=Money(total, currency) if total is not None else captured,
        financial_status=status,
    )


def refund(
    order: Order, amount: str, lines: dict[str, int] | None = None, *, ours: bool = True, n: int = 0
) -> RefundRecord:
    return RefundRecord(
        id=f"r{n}-{amount}",
        order_id=order.id,
        amount=Money(amount, order.currency),
        line_quantities=lines or {},
        effect_key=f"case-{n}" if ours else None,
    )


def after(order: Order, quote: RefundQuote, lines: dict[str, int]) -> Order:
    """The order as the platform reports it once ``quote`` has been refunded."""
    record = RefundRecord(
        id=f"r{len(order.refunds)}",
        order_id=order.id,
        amount=quote.total,
        line_quantities=lines,
        effect_key=f"case-{len(order.refunds)}",
    )
    return order.model_copy(update={"refunds": [*order.refunds, record]})


def amounts(quote: RefundQuote) -> dict[str, str]:
    return {line.line_item_id: str(line.amount.amount) for line in quote.lines}


SHIRTS = make_order(
    [("shirt", 3, "10.00", "0.00", "0.00"), ("cap", 1, "25.00", "0.00", "0.00")],
    shipping=[("s1", "12.99", True)],
)


# -- returning units ------------------------------------------------------------------------------


def test_a_customer_returning_two_of_three_shirts_in_two_parcels_gets_exactly_what_they_paid_for_them() -> (
    None
):
    first = quote_refund(SHIRTS, {"shirt": 1}, "return")
    second = quote_refund(after(SHIRTS, first, {"shirt": 1}), {"shirt": 1}, "return")
    in_one_parcel = quote_refund(SHIRTS, {"shirt": 2}, "return")
    assert (first.total, second.total) == (Money("3.34", "PLN"), Money("3.33", "PLN"))
    assert first.total + second.total == in_one_parcel.total == Money("6.67", "PLN")
    assert second.lines[0].first_unit == 1


def test_three_shirts_returned_one_by_one_add_up_to_the_line_to_the_cent() -> None:
    order, totals = SHIRTS, []
    for _ in range(3):
        q = quote_refund(order, {"shirt": 1}, "return")
        totals.append(str(q.total.amount))
        order = after(order, q, {"shirt": 1})
    assert totals == ["3.34", "3.33", "3.33"]
    assert order.refunded == Money("10.00", "PLN")


def test_a_partial_return_refunds_no_delivery_and_says_why() -> None:
    q = quote_refund(SHIRTS, {"cap": 1}, "withdrawal")
    assert q.total == Money("25.00", "PLN")
    assert q.shipping.is_zero()
    assert not q.completes_order
    assert any("only a whole-order withdrawal refunds it" in step for step in q.trace)
    assert q.remaining == Money("22.99", "PLN")


@pytest.mark.parametrize(
    ("include_tax", "subtotal", "tax"),
    [
        pytest.param(True, "123.00", "23.00", id="gross-prices-tax-inside-the-price"),
        pytest.param(False, "100.00", "23.00", id="net-prices-tax-added-on-top"),
    ],
)
def test_tax_is_prorated_per_unit_whether_prices_include_it_or_not(
    include_tax: bool, subtotal: str, tax: str
) -> None:
    order = make_order([("kettle", 3, subtotal, "0.00", tax)], include_tax=include_tax)
    q = quote_refund(order, {"kettle": 1}, "return")
    (line,) = q.lines
    assert (line.amount, line.tax, line.net) == (
        Money("41.00", "PLN"),
        Money("7.67", "PLN"),
        Money("33.33", "PLN"),
    )
    rest = quote_refund(after(order, q, {"kettle": 1}), {"kettle": 2}, "return")
    assert rest.lines[0].tax == Money("15.33", "PLN")
    assert q.total + rest.total == Money("123.00", "PLN")


def test_a_line_discount_is_shared_by_the_units_returned() -> None:
    order = make_order([("mug", 4, "100.00", "10.01", "0.00")])
    q = quote_refund(order, {"mug": 3}, "return")
    assert q.total == Money("67.50", "PLN")  # 89.99 over 4 units: 22.50, 22.50, 22.50, 22.49


def test_a_zero_decimal_currency_is_split_in_whole_yen() -> None:
    order = make_order([("tea", 3, "1000", "0", "0")], currency="JPY", shipping=[("s", "500", True)])
    parts = []
    for _ in range(3):
        q = quote_refund(order, {"tea": 1}, "withdrawal")
        parts.append(q.total)
        order = after(order, q, {"tea": 1})
    assert [p.amount for p in parts] == [334, 333, 833]  # the last one withdraws the whole order: + delivery
    assert sum(p.minor for p in parts) == 1500


# -- delivery -------------------------------------------------------------------------------------


def test_withdrawing_the_whole_order_refunds_the_standard_delivery() -> None:
    q = quote_refund(SHIRTS, {"shirt": 3, "cap": 1}, CaseType.WITHDRAWAL)
    assert q.shipping == Money("12.99", "PLN")
    assert q.total == SHIRTS.total == Money("47.99", "PLN")
    assert q.completes_order
    assert q.remaining.is_zero()


def test_withdrawing_the_rest_of_an_order_counts_earlier_withdrawals_and_refunds_delivery_then() -> None:
    first = quote_refund(SHIRTS, {"shirt": 2}, "withdrawal")
    assert first.shipping.is_zero()
    second = quote_refund(after(SHIRTS, first, {"shirt": 2}), {"shirt": 1, "cap": 1}, "withdrawal")
    assert second.shipping == Money("12.99", "PLN")
    assert first.total + second.total == SHIRTS.total


def test_a_commercial_return_of_everything_keeps_the_delivery() -> None:
    q = quote_refund(SHIRTS, {"shirt": 3, "cap": 1}, "return")
    assert q.shipping.is_zero()
    assert q.total == Money("35.00", "PLN")
    assert not q.completes_order


@pytest.mark.parametrize(
    ("shipping", "standard_price", "expected"),
    [
        pytest.param(
            [("x", "29.00", False)], "9.99", "9.99", id="express-capped-at-the-shops-standard-price"
        ),
        pytest.param(
            [("x", "29.00", False), ("s", "8.00", True)],
            None,
            "16.00",  # the standard 8.00, and the express capped at the same 8.00
            id="standard-line-plus-express-capped",
        ),
        pytest.param([("x", "29.00", False)], None, "29.00", id="single-line-no-cheaper-option-known"),
        pytest.param([("x", "5.00", False)], "9.99", "5.00", id="express-cheaper-than-standard"),
        pytest.param([("s", "12.00", True)], "9.99", "12.00", id="standard-line-refunded-in-full"),
    ],
)
def test_express_delivery_refunds_only_the_cheapest_standard_price(
    shipping: list[tuple[str, str, bool]], standard_price: str | None, expected: str
) -> None:
    order = make_order([("shoe", 1, "200.00", "0.00", "0.00")], shipping=shipping)
    q = quote_refund(
        order,
        {"shoe": 1},
        "withdrawal",
        standard_delivery_price=Money(standard_price, "PLN") if standard_price else None,
    )
    assert q.shipping == Money(expected, "PLN")
    assert q.total == Money("200.00", "PLN") + q.shipping
    assert q.remaining == order.total - q.total


# -- what is already refunded ---------------------------------------------------------------------


def test_a_refund_made_in_the_shop_admin_for_a_unit_takes_that_unit() -> None:
    order = make_order([("shirt", 3, "10.00", "0.00", "0.00")])
    order = order.model_copy(update={"refunds": [refund(order, "3.34", {"shirt": 1}, ours=False)]})
    with pytest.raises(QuoteError, match="only 2 of 3 remain unreturned"):
        quote_refund(order, {"shirt": 3}, "return")
    q = quote_refund(order, {"shirt": 2}, "return")
    assert q.total == Money("6.66", "PLN")
    assert any("shop admin" in step for step in q.trace)


def test_a_goodwill_refund_made_in_the_shop_admin_lowers_what_can_still_be_refunded() -> None:
    order = make_order([("sofa", 1, "1000.00", "0.00", "0.00")])
    order = order.model_copy(update={"refunds": [refund(order, "950.00", ours=False)]})
    q = quote_refund(order, {"sofa": 1}, "withdrawal")
    assert q.total == Money("50.00", "PLN")
    assert q.remaining.is_zero()


def test_a_partial_admin_refund_is_capped_not_exceeded_on_a_partial_return() -> None:
    order = make_order([("a", 1, "100.00", "0.00", "0.00"), ("b", 1, "100.00", "0.00", "0.00")])
    order = order.model_copy(update={"refunds": [refund(order, "150.00", ours=False)]})
    q = quote_refund(order, {"a": 1}, "return")
    assert q.total == Money("50.00", "PLN")
    assert q.cut_to_captured == Money("50.00", "PLN")


def test_the_last_refund_of_an_order_takes_the_remaining_cents() -> None:
    # An admin refund of 1.00 recorded for one unit worth 3.34: returning the rest undoes the whole
    # order, so the customer gets everything still captured, 9.00, not just the two units' 6.66.
    order = make_order([("shirt", 3, "10.00", "0.00", "0.00")])
    order = order.model_copy(update={"refunds": [refund(order, "1.00", {"shirt": 1}, ours=False)]})
    q = quote_refund(order, {"shirt": 2}, "return")
    assert q.total == Money("9.00", "PLN")
    assert q.remainder_taken == Money("2.34", "PLN")
    assert q.remaining.is_zero()


def test_earlier_returns_passed_by_the_workflow_count_even_before_their_refund_went_out() -> None:
    with pytest.raises(QuoteError, match="only 1 of 3 remain unreturned"):
        quote_refund(SHIRTS, {"shirt": 2}, "return", earlier_returns={"shirt": 2})
    q = quote_refund(SHIRTS, {"shirt": 1}, "return", earlier_returns={"shirt": 2})
    assert q.lines[0].first_unit == 2
    assert q.total == Money("3.33", "PLN")


# -- order-level discounts and charges ------------------------------------------------------------


def test_an_order_discount_missing_from_the_lines_is_spread_over_them() -> None:
    order = make_order(
        [("a", 1, "60.00", "0.00", "0.00"), ("b", 2, "40.00", "0.00", "0.00")],
        shipping=[("s", "10.00", True)],
        total="100.00",  # lines 100 + delivery 10, but the order charged 100: 10 off the goods
    )
    a = quote_refund(order, {"a": 1}, "return")
    assert a.total == Money("54.00", "PLN")
    b = quote_refund(after(order, a, {"a": 1}), {"b": 2}, "withdrawal")
    assert b.lines[0].amount == Money("36.00", "PLN")
    assert b.shipping == Money("10.00", "PLN")
    assert a.total + b.total == order.total


def test_an_order_charge_without_a_line_is_refunded_only_with_the_whole_order() -> None:
    order = make_order([("a", 2, "50.00", "0.00", "0.00")], total="55.00")  # a 5.00 payment fee
    partial = quote_refund(order, {"a": 1}, "withdrawal")
    assert partial.total == Money("25.00", "PLN")
    whole = quote_refund(order, {"a": 2}, "withdrawal")
    assert whole.fees == Money("5.00", "PLN")
    assert whole.total == Money("55.00", "PLN")


# -- deductions -----------------------------------------------------------------------------------

PAYS = ReturnShippingTerms(customer_pays=True)
PAYS_WITH_LABEL = ReturnShippingTerms(customer_pays=True, prepaid_label=True)
SHOP_PAYS = ReturnShippingTerms(customer_pays=False)


@pytest.mark.parametrize(
    ("case_type", "kind", "terms", "jurisdiction", "refused_because"),
    [
        pytest.param(
            "withdrawal", "restocking_fee", PAYS, "PL", "art. 34 u.p.k.", id="withdrawal-no-restocking-fee-PL"
        ),
        pytest.param(
            "withdrawal", "restocking_fee", PAYS, "DE", "2011/83/EU", id="withdrawal-no-restocking-fee-DE"
        ),
        pytest.param(
            "withdrawal", "diminished_value", SHOP_PAYS, "PL", None, id="withdrawal-diminished-value-ok"
        ),
        pytest.param(
            "withdrawal", "return_shipping", PAYS, "PL", None, id="withdrawal-customer-pays-shipping"
        ),
        pytest.param(
            "withdrawal",
            "return_shipping",
            SHOP_PAYS,
            "PL",
            "does not put the cost",
            id="withdrawal-shop-pays",
        ),
        pytest.param(
            "withdrawal",
            "return_shipping",
            PAYS_WITH_LABEL,
            "PL",
            "prepaid label",
            id="withdrawal-prepaid-label",
        ),
        pytest.param("complaint", "return_shipping", PAYS, "PL", "art. 43d", id="complaint-no-shipping"),
        pytest.param(
            "complaint", "diminished_value", PAYS, "PL", "free of charge", id="complaint-no-diminished-value"
        ),
        pytest.param("complaint", "restocking_fee", PAYS, "CZ", "2019/771", id="complaint-no-restocking-fee"),
        pytest.param("warranty", "restocking_fee", PAYS, "PL", "free of charge", id="warranty-no-deduction"),
        pytest.param(
            "return", "restocking_fee", SHOP_PAYS, "PL", None, id="commercial-return-restocking-fee-ok"
        ),
        pytest.param("return", "return_shipping", SHOP_PAYS, "PL", None, id="commercial-return-shipping-ok"),
        pytest.param("goodwill", "diminished_value", SHOP_PAYS, "PL", None, id="goodwill-ok"),
    ],
)
def test_deductions_are_allowed_only_where_the_case_type_and_the_law_allow_them(
    case_type: str, kind: str, terms: ReturnShippingTerms, jurisdiction: str, refused_because: str | None
) -> None:
    deduction = Deduction(kind=DeductionKind(kind), amount=Money("5.00", "PLN"), reason="as proposed")
    q = quote_refund(
        SHIRTS,
        {"cap": 1},
        case_type,
        deductions=[deduction],
        return_shipping=terms,
        jurisdiction=jurisdiction,
    )
    if refused_because is None:
        assert [d.kind for d in q.deductions] == [DeductionKind(kind)]
        assert q.total == Money("20.00", "PLN")
        assert not q.refused_deductions
    else:
        assert not q.deductions
        assert q.total == Money("25.00", "PLN")
        (refused,) = q.refused_deductions
        assert refused_because in refused.refused_because
        assert any("refused" in step for step in q.trace)


def test_a_guarantee_payout_is_never_reduced() -> None:
    deduction = Deduction(kind=DeductionKind.RETURN_SHIPPING, amount=Money("5.00", "PLN"), reason="label")
    q = quote_refund(
        SHIRTS, {}, "guarantee_payout", compensation=Money("20.00", "PLN"), deductions=[deduction]
    )
    assert q.total == Money("20.00", "PLN")
    assert q.refused_deductions[0].refused_because.startswith("a shipping-guarantee payout")


def test_a_deduction_without_a_reason_is_refused() -> None:
    blank = Deduction(kind=DeductionKind.DIMINISHED_VALUE, amount=Money("5.00", "PLN"), reason="  ")
    q = quote_refund(SHIRTS, {"cap": 1}, "withdrawal", deductions=[blank])
    assert q.total == Money("25.00", "PLN")
    assert "needs a reason" in q.refused_deductions[0].refused_because


def test_a_deduction_larger_than_the_refund_is_capped_never_negative() -> None:
    deductions = [
        Deduction(kind=DeductionKind.RESTOCKING_FEE, amount=Money("20.00", "PLN"), reason="restocking"),
        Deduction(kind=DeductionKind.RETURN_SHIPPING, amount=Money("15.00", "PLN"), reason="courier"),
    ]
    q = quote_refund(SHIRTS, {"cap": 1}, "return", deductions=deductions)
    assert q.total.is_zero()
    assert [(d.requested.amount, d.amount.amount) for d in q.deductions] == [(20, 20), (15, 5)]


# -- amounts not tied to units --------------------------------------------------------------------


def test_a_goodwill_gesture_is_capped_at_what_is_still_captured() -> None:
    q = quote_refund(SHIRTS, {}, "goodwill", compensation=Money("100.00", "PLN"))
    assert q.total == SHIRTS.total
    assert q.cut_to_captured == Money("52.01", "PLN")


def test_a_complaint_price_reduction_is_an_amount() -> None:
    q = quote_refund(SHIRTS, {}, "complaint", compensation=Money("7.50", "PLN"))
    assert q.total == Money("7.50", "PLN")
    assert q.lines == ()


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "case_type", "kwargs", "message"),
    [
        pytest.param({"shirt": 4}, "return", {}, "only 3 were bought", id="more-than-bought"),
        pytest.param({"other-order-line": 1}, "return", {}, "not part of order #1001", id="foreign-line"),
        pytest.param({"shirt": 0}, "return", {}, "at least 1", id="zero-quantity"),
        pytest.param({"shirt": -1}, "return", {}, "at least 1", id="negative-quantity"),
        pytest.param({}, "return", {}, "nothing to refund", id="no-lines"),
        pytest.param({"shirt": 1}, "exchange", {}, "unknown case type", id="unknown-case-type"),
        pytest.param(
            {"shirt": 1},
            "return",
            {
                "deductions": [
                    Deduction(kind=DeductionKind.RESTOCKING_FEE, amount=Money("1.00", "EUR"), reason="x")
                ]
            },
            "in EUR but the order is in PLN",
            id="deduction-in-another-currency",
        ),
        pytest.param(
            {"shirt": 1},
            "return",
            {
                "deductions": [
                    Deduction(kind=DeductionKind.RESTOCKING_FEE, amount=Money("-1.00", "PLN"), reason="x")
                ]
            },
            "must not be negative",
            id="negative-deduction",
        ),
        pytest.param(
            {},
            "goodwill",
            {"compensation": Money("-5.00", "PLN")},
            "must not be negative",
            id="negative-amount",
        ),
        pytest.param(
            {}, "goodwill", {"compensation": Money("5.00", "EUR")}, "in EUR", id="amount-in-another-currency"
        ),
        pytest.param(
            {"shirt": 1},
            "withdrawal",
            {"compensation": Money("5.00", "PLN")},
            "takes lines",
            id="amount-on-withdrawal",
        ),
        pytest.param({"shirt": 1}, "guarantee_payout", {}, "an amount, not units", id="payout-with-units"),
        pytest.param(
            {"shirt": 1},
            "return",
            {"earlier_returns": {"nope": 1}},
            "earlier returns name line",
            id="bad-earlier",
        ),
        pytest.param({"shirt": 1}, "return", {"jurisdiction": " "}, "jurisdiction", id="no-jurisdiction"),
    ],
)
def test_bad_requests_are_rejected_with_a_reason_for_the_case(
    lines: dict[str, int], case_type: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(QuoteError, match=message) as info:
        quote_refund(SHIRTS, lines, case_type, **kwargs)
    assert info.value.reason == str(info.value)


def test_returning_units_already_returned_is_rejected() -> None:
    q = quote_refund(SHIRTS, {"shirt": 2}, "return")
    with pytest.raises(QuoteError, match=r"only 1 of 3 remain unreturned \(2 already returned or refunded\)"):
        quote_refund(after(SHIRTS, q, {"shirt": 2}), {"shirt": 2}, "return")


def test_an_order_refunded_in_full_has_nothing_left() -> None:
    done = SHIRTS.model_copy(update={"refunds": [refund(SHIRTS, "47.99", ours=False)]})
    with pytest.raises(QuoteError, match="nothing left to refund"):
        quote_refund(done, {"shirt": 1}, "return")
    over = SHIRTS.model_copy(update={"refunds": [refund(SHIRTS, "50.00", ours=False)]})
    with pytest.raises(QuoteError, match="over-refunded"):
        quote_refund(over, {"shirt": 1}, "return")


def test_a_free_gift_can_come_back_after_everything_else_was_refunded() -> None:
    order = make_order([("bag", 1, "80.00", "0.00", "0.00"), ("gift", 1, "10.00", "10.00", "0.00")])
    order = order.model_copy(update={"refunds": [refund(order, "80.00", {"bag": 1})]})
    q = quote_refund(order, {"gift": 1}, "return")
    assert q.total.is_zero()
    assert q.completes_order


@pytest.mark.parametrize("status", [FinancialStatus.PENDING, FinancialStatus.VOIDED])
def test_an_order_without_a_captured_payment_cannot_be_refunded(status: FinancialStatus) -> None:
    order = SHIRTS.model_copy(update={"financial_status": status})
    with pytest.raises(QuoteError, match="no captured payment"):
        quote_refund(order, {"shirt": 1}, "return")


# -- the platform refund --------------------------------------------------------------------------


def test_the_refund_request_adds_up_to_the_quote_after_deductions() -> None:
    fee = Deduction(kind=DeductionKind.RETURN_SHIPPING, amount=Money("7.00", "PLN"), reason="courier")
    order = make_order(
        [("a", 3, "100.00", "0.00", "23.00"), ("b", 1, "50.00", "0.00", "11.50")],
        shipping=[("s", "15.00", True)],
    )
    q = quote_refund(order, {"a": 3, "b": 1}, "withdrawal", deductions=[fee], return_shipping=PAYS)
    request = to_refund_request(q, "case-7:refund:1", "1001", "withdrawal", restock={"a"})
    assert request.amount == q.total == Money("192.50", "PLN")
    lines_sum = sum((line.amount.minor for line in request.lines), 0)
    assert lines_sum + (request.shipping.minor if request.shipping else 0) == request.amount.minor
    assert [line.restock for line in request.lines] == [True, False]
    assert all(line.tax <= line.amount for line in request.lines)
    assert request.effect_key == "case-7:refund:1"


def test_a_refund_request_is_refused_for_another_order_or_nothing() -> None:
    q = quote_refund(SHIRTS, {"cap": 1}, "return")
    with pytest.raises(QuoteError, match="not 999"):
        to_refund_request(q, "k", "999", "r")
    with pytest.raises(QuoteError, match="effect key"):
        to_refund_request(q, " ", "1001", "r")
    zero = quote_refund(
        SHIRTS,
        {"cap": 1},
        "return",
        deductions=[Deduction(kind=DeductionKind.RESTOCKING_FEE, amount=Money("25.00", "PLN"), reason="fee")],
    )
    with pytest.raises(QuoteError, match="comes to 0"):
        to_refund_request(zero, "k", "1001", "r")


def test_the_quote_json_carries_exact_amounts_as_strings() -> None:
    data = quote_refund(SHIRTS, {"shirt": 3, "cap": 1}, "withdrawal").to_json()
    assert data["total"] == "47.99"
    assert data["currency"] == "PLN"
    assert data["shipping"] == "12.99"
    assert [line["amount"] for line in data["lines"]] == ["10.00", "25.00"]
    assert data["remaining"] == "0.00"
    assert isinstance(data["trace"], list)
    assert data["trace"]
