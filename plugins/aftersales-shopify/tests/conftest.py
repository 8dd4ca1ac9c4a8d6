"""Shared fixtures: Shopify's documented payloads (tests/data) and a running fake shop."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aftersales_shopify import ShopifyPlatform, ShopifyShopClient
from aftersales_shopify.admin_schema import admin_schema
from aftersales_shopify.testing import FakeShopify

DATA = Path(__file__).parent / "data"

ORDER_ID = "820982911946154508"  # orders_create.json
SUNGLASSES = "487817672276298554"  # its first line item
LOCATION = "24826418"


def load(name: str) -> Any:
    """A fixture JSON parsed with Python's json: 64-bit ids stay exact ints."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session", autouse=True)
def _schema_once() -> None:
    """Build the 2026-07 schema once per test session (about 2 s)."""
    admin_schema()


@pytest.fixture
def payload() -> Callable[[str], Any]:
    return load


def _paid_order(**changes: Any) -> dict[str, Any]:
    """orders_create.json as a paid, open order whose sunglasses shipped and were delivered.

    The sample itself is a voided, cancelled order (nothing to refund); the changes follow the
    documented REST shapes (fulfillments[] as in the fulfillments/create sample).
    """
    order = copy.deepcopy(load("orders_create"))
    order.update(financial_status="paid", cancelled_at=None, cancel_reason=None)
    order["fulfillments"] = [
        {
            "id": 255858046,
            "order_id": int(ORDER_ID),
            "status": "success",
            "created_at": "2022-01-02T10:00:00-05:00",
            "updated_at": "2022-01-05T14:30:00-05:00",
            "shipment_status": "delivered",
            "tracking_company": "UPS",
            "tracking_number": "1Z2345",
            "location_id": int(LOCATION),
            "line_items": [{"id": int(SUNGLASSES), "quantity": 1}],
        }
    ]
    order.update(changes)
    return order


@pytest.fixture
def paid_order() -> Callable[..., dict[str, Any]]:
    return _paid_order


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify(token="shpat_test", api_version="2026-07") as shop:
        yield shop


@pytest.fixture
def client(fake: FakeShopify) -> Iterator[ShopifyShopClient]:
    shop_client = ShopifyPlatform().client(fake.credentials())
    yield shop_client
    shop_client.close()
