"""Orders placed at the fake shops and announced to the service the way each platform does it.

WooCommerce delivers its own signed ``order.created`` webhook (the demo subscribed the fake
shop to the ingress); Shopify's fake has no delivery machinery, so the demo signs and posts
``orders/create`` itself with the app secret, exactly as Shopify would. Either way the service
re-reads the order from the shop's API before any workflow sees it, and the scenario waits
until the order snapshot is stored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aftersales.demo.catalog import Buyer, Item, shopify_order
from aftersales.demo.stage import SHOPIFY_SHOP, Stage
from aftersales.store.models import OrderSnapshot

SHOPIFY_IDS = 5_810_000_000_000
"""Base of the demo's Shopify order ids (64-bit, kept exact as strings by the plugin)."""


def place_shopify_order(
    stage: Stage,
    buyer: Buyer,
    items: list[Item],
    *,
    paid_at: datetime,
    shipping: Decimal = Decimal("14.99"),
    dispatched_at: datetime | None = None,
    delivered_at: datetime | None = None,
) -> dict[str, Any]:
    """Add the order to the fake Shopify shop, send ``orders/create``, wait until the service has it."""
    n = stage.next_id()
    order_id, number = SHOPIFY_IDS + n * 1000, 1000 + n
    payload = shopify_order(
        buyer,
        items,
        order_id=order_id,
        number=number,
        currency="PLN",
        shipping=shipping,
        paid_at=paid_at,
        dispatched_at=dispatched_at,
        delivered_at=delivered_at,
    )
    stored_id = stage.shopify.add_order(payload)
    stage.send_shopify("orders/create", payload)
    stage.wait_for(
        f"Shopify order #{number} did not reach the service",
        lambda s: s.get(OrderSnapshot, (SHOPIFY_SHOP, stored_id)),
    )
    return payload
