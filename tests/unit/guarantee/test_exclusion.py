"""The built-in exclusion plugin: marketplace orders, instalments, pre-orders are not covered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aftersales.builtin import DEFAULT_PLUGINS
from aftersales.domain import Order
from aftersales.plugins import load_plugins
from aftersales.policy.schema import Policy

EXCLUDE = {
    "channels": ["marketplace", "Allegro"],
    "payment_methods": ["instalments", "cash_on_delivery"],
    "tags": ["preorder"],
}

CASES = [
    # (scenario, order fields, reason or None)
    ("a web order paid by card is covered", {}, None),
    ("a marketplace order is not", {"channel": "marketplace"}, "sales channel 'marketplace' is excluded"),
    ("channel names ignore case", {"channel": "allegro"}, "sales channel 'allegro' is excluded"),
    ("instalments are not", {"payment": "instalments"}, "payment method 'instalments' is excluded"),
    (
        "WooCommerce-style spelling: 'Cash on Delivery'",
        {"payment": "Cash on Delivery"},
        "payment method 'Cash on Delivery' is excluded",
    ),
    (
        "Shopify lists every gateway: one excluded is enough",
        {"payment": "gift_card, cash-on-delivery"},
        "payment method 'cash-on-delivery' is excluded",
    ),
    ("an order tagged preorder", {"tags": ["vip", "PreOrder"]}, "order tag 'PreOrder' is excluded"),
    ("a pre-order product in the order", {"line_tags": ["preorder"]}, "product tag 'preorder' is excluded"),
    ("a similar but different tag is covered", {"tags": ["preordered-last-year"]}, None),
]


@pytest.mark.parametrize(("scenario", "fields", "reason"), CASES, ids=[c[0] for c in CASES])
def test_policy_exclusions(
    make_policy: Callable[..., Policy],
    make_order: Callable[..., Order],
    scenario: str,
    fields: dict[str, Any],
    reason: str | None,
) -> None:
    plugins = load_plugins(entrypoints=False)
    found = plugins.guarantee_exclusion(make_order(**fields), None, make_policy(exclude=EXCLUDE))
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.reason.startswith(reason)


def test_nothing_is_excluded_without_rules(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    plugins = load_plugins(entrypoints=False)
    order = make_order(channel="marketplace", payment="instalments", tags=["preorder"])
    assert plugins.guarantee_exclusion(order, None, make_policy()) is None


def test_the_builtin_is_a_default_plugin() -> None:
    assert "aftersales.builtin.guarantee_exclusion" in DEFAULT_PLUGINS
