"""How much a late order earns: the offered amount, the shipping fee, and the merchant's caps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aftersales.domain import Money, Order
from aftersales.policy.schema import Policy
from aftersales.workflows.guarantee import PayoutHistory, PayoutTerms, plan_payout, shipping_fee_paid
from aftersales.workflows.guarantee.payout import month_bounds


def pln(value: str) -> Money:
    return Money(value, "PLN")


FIXED_50 = PayoutTerms(kind="fixed", method="refund", amount=pln("50.00"))
SHIPPING = PayoutTerms(kind="shipping_fee", method="voucher")


def history(customer: str = "0", shop: str = "0") -> PayoutHistory:
    return PayoutHistory(month="2026-12", customer=pln(customer), shop=pln(shop))


CAPS = [
    # (scenario, caps, customer paid this month, shop paid this month, payout or None, skip reason part)
    ("no caps: the promised 50 zł", {}, "0", "0", "50.00", None),
    ("per-order cap 30 zł cuts it", {"per_order": "30.00"}, "0", "0", "30.00", None),
    (
        "customer cap 150 zł, 120 already paid this month: 30 left",
        {"per_customer_per_month": "150.00"},
        "120.00",
        "120.00",
        "30.00",
        None,
    ),
    (
        "customer cap 150 zł reached: nothing",
        {"per_customer_per_month": "150.00"},
        "150.00",
        "150.00",
        None,
        "per-customer 2026-12 cap 150.00 PLN reached",
    ),
    (
        "shop-wide cap 1000 zł, 980 spent: 20 left",
        {"per_month": "1000.00"},
        "0",
        "980.00",
        "20.00",
        None,
    ),
    (
        "shop-wide cap exhausted (over-spent by a concurrent payout): nothing, never negative",
        {"per_month": "1000.00"},
        "0",
        "1010.00",
        None,
        "shop-wide 2026-12 cap 1000.00 PLN reached",
    ),
    (
        "the tightest cap wins: per order 40, customer 35 left, shop 100 left",
        {"per_order": "40.00", "per_customer_per_month": "100.00", "per_month": "500.00"},
        "65.00",
        "400.00",
        "35.00",
        None,
    ),
]


@pytest.mark.parametrize(
    ("scenario", "caps", "customer", "shop", "paid", "skipped"), CAPS, ids=[c[0] for c in CAPS]
)
def test_caps_cut_or_skip_the_payout(
    make_policy: Callable[..., Policy],
    make_order: Callable[..., Order],
    scenario: str,
    caps: dict[str, Any],
    customer: str,
    shop: str,
    paid: str | None,
    skipped: str | None,
) -> None:
    plan = plan_payout(make_order(), FIXED_50, make_policy(caps=caps), history(customer, shop))
    assert plan.amount == (pln(paid) if paid else None)
    if skipped:
        assert plan.skipped is not None and skipped in plan.skipped
        assert "no payout" in plan.trace[-1]
    else:
        assert plan.skipped is None
        assert plan.trace[-1] == f"payout {plan.amount} as a refund to the original payment"


def test_shipping_fee_payout_is_what_the_customer_paid_for_delivery(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    order = make_order(shipping="19.99")
    assert shipping_fee_paid(order) == pln("19.99")
    plan = plan_payout(
        order, SHIPPING, make_policy(payout={"kind": "shipping_fee", "method": "voucher"}), history()
    )
    assert (plan.amount, plan.method) == (pln("19.99"), "voucher")
    assert plan.trace[0] == "payout of the shipping fee paid: 19.99 PLN"


def test_free_delivery_earns_nothing_under_a_shipping_fee_guarantee(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    plan = plan_payout(make_order(shipping=""), SHIPPING, make_policy(), history())
    assert plan.amount is None
    assert plan.skipped == "the customer paid no shipping fee"


def test_the_amount_comes_from_the_terms_the_customer_paid_under(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    # the merchant lowered the payout to 20 zł after the order was paid: the order keeps 50
    plan = plan_payout(make_order(), FIXED_50, make_policy(payout={"amount": "20.00"}), history())
    assert plan.amount == pln("50.00")


def test_a_payout_in_another_currency_is_refused(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    terms = PayoutTerms(kind="fixed", method="refund", amount=Money("10.00", "EUR"))
    plan = plan_payout(make_order(), terms, make_policy(), history())
    assert plan.amount is None and "EUR" in (plan.skipped or "")


@pytest.mark.parametrize("bad", ["2026-13", "2026/11", "november", ""])
def test_month_must_be_year_dash_month(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds(bad)


def test_december_ends_at_new_year() -> None:
    assert [d.isoformat() for d in month_bounds("2026-12")] == ["2026-12-01", "2027-01-01"]
