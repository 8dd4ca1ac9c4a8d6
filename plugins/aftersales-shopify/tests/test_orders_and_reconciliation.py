"""Reading orders back from the shop (the engine refetches before anything that matters) and
reconciliation: what webhooks missed is found by polling orders/variants updated since T."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aftersales.domain import FinancialStatus, Money, ShipmentStatus
from aftersales_shopify import ShopifyPlatform, ShopifyShopClient
from aftersales_shopify.testing import FakeShopify

ORDER_ID = "820982911946154508"
SUNGLASSES = "487817672276298554"


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def test_fetch_order_reads_the_authoritative_order(
    fake: FakeShopify,
    client: ShopifyShopClient,
    paid_order: Callable[..., dict[str, Any]],
    payload: Callable[[str], Any],
) -> None:
    order = paid_order()
    order["refunds"] = [payload("refunds_create")]
    fake.add_order(order)
    o = client.fetch_order(ORDER_ID)
    assert o.id == ORDER_ID
    assert o.number == "#9999"
    assert o.currency == "USD"
    assert o.total == usd("404.95")
    assert next(line.id for line in o.line_items) == SUNGLASSES
    assert o.line(SUNGLASSES).subtotal == usd("89.99")
    assert o.line(SUNGLASSES).product_id == "788032119674292922"
    assert o.shipping_lines[0].id == "271878346596884015"
    assert o.shipping_lines[0].price == usd("10.00")
    assert o.financial_status is FinancialStatus.PARTIALLY_REFUNDED
    assert o.paid_at is not None and o.paid_at.isoformat() == "2021-12-31T19:00:00-05:00"  # the SALE
    assert o.tags == ["tag1", "tag2"]
    assert o.customer.id == "115310627314723954"
    assert o.customer.name == "John Smith"
    assert o.sales_channel == "web"
    (shipment,) = o.shipments
    assert shipment.id == "255858046"
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.tracking_number == "1Z2345"
    assert shipment.line_quantities == {SUNGLASSES: 1}
    assert o.delivered_at() == datetime(2022, 1, 5, 19, 30, tzinfo=UTC)
    assert [r.id for r in o.refunds] == ["890088186047892319"]
    assert o.refunded == usd("85.00")
    assert o.refundable == usd("319.95")


def test_an_order_with_many_lines_is_read_page_by_page(
    fake: FakeShopify, client: ShopifyShopClient, paid_order: Callable[..., dict[str, Any]]
) -> None:
    order = paid_order()
    template = order["line_items"][0]
    order["line_items"] = [
        {**copy.deepcopy(template), "id": 9_100_000_000_000_000_000 + i, "name": f"Item {i}"}
        for i in range(60)
    ]
    order["fulfillments"][0]["line_items"] = [
        {"id": 9_100_000_000_000_000_000 + i, "quantity": 1} for i in range(20)
    ]
    fake.add_order(order)
    o = client.fetch_order(ORDER_ID)
    assert [line.name for line in o.line_items] == [f"Item {i}" for i in range(60)]
    assert o.line_items[59].id == "9100000000000000059"
    assert len(o.shipments[0].line_quantities) == 20
    names = [name for name, _ in fake.requests]
    assert names.count("OrderLineItems") == 2  # 25 + 25 + 10
    assert names.count("FulfillmentLineItems") == 1  # 8 in OrderFulfillments, then 12


def test_an_order_with_more_refunds_than_one_read_returns(
    fake: FakeShopify,
    client: ShopifyShopClient,
    paid_order: Callable[..., dict[str, Any]],
    payload: Callable[[str], Any],
) -> None:
    order = paid_order()
    refunds = []
    for i in range(32):
        refund = copy.deepcopy(payload("refunds_create"))
        refund["id"] = 9_200_000_000_000_000_000 + i
        refund["transactions"] = [{**refund["transactions"][0], "amount": "1.00"}]
        refund["refund_line_items"] = []
        refund["note"] = f"partial {i} [aftersales:key-{i}]"
        refunds.append(refund)
    order["refunds"] = refunds
    fake.add_order(order)
    listed = client.list_refunds(ORDER_ID)
    assert len(listed) == 32
    assert sum((r.amount for r in listed), usd("0")) == usd("32.00")
    found = client.find_refund(ORDER_ID, "key-31")
    assert found is not None and found.id == "9200000000000000031"


def test_orders_changed_since_are_paged_oldest_change_first(
    paid_order: Callable[..., dict[str, Any]],
) -> None:
    with FakeShopify(restore_rate=1_000_000.0) as fake:
        base = paid_order()
        fake.add_order(
            {
                **copy.deepcopy(base),
                "id": 1_000_000_000_000_000_001,
                "updated_at": "2026-04-30T23:59:59Z",
                "fulfillments": [],
            }
        )
        for i in range(105):
            fake.add_order(
                {
                    **copy.deepcopy(base),
                    "id": 1_000_000_000_000_001_000 + i,
                    "name": f"#{2000 + i}",
                    "updated_at": f"2026-05-01T{10 + i // 60:02d}:{i % 60:02d}:00Z",
                    "fulfillments": [],
                }
            )
        client = ShopifyPlatform().client(fake.credentials())
        orders = list(client.list_orders_changed_since(datetime(2026, 5, 1, tzinfo=UTC)))
        client.close()
    assert [o.number for o in orders] == [f"#{2000 + i}" for i in range(105)]
    assert orders[0].id == "1000000000000001000"
    listings = [v for name, v in fake.requests if name == "OrdersChangedSince"]
    assert len(listings) == 2
    assert listings[0]["query"] == "updated_at:>='2026-05-01T00:00:00Z'"
    assert listings[1]["after"] is not None


def test_variants_changed_since_feed_restock_reconciliation(
    paid_order: Callable[..., dict[str, Any]],
) -> None:
    with FakeShopify(restore_rate=1_000_000.0) as fake:
        for i in range(102):
            fake.set_stock(
                5_000_000_000_000_000_000 + i, i % 3, product_id=788032119674292922, sku=f"SKU-{i}"
            )
        client = ShopifyPlatform().client(fake.credentials())
        levels = list(client.list_stock_changed_since(datetime(2000, 1, 1, tzinfo=UTC)))
        later = list(client.list_stock_changed_since(datetime(2999, 1, 1, tzinfo=UTC)))
        client.close()
    assert len(levels) == 102
    assert levels[0].variant_id == "5000000000000000000"
    assert levels[0].product_id == "788032119674292922"
    assert [(lv.available, lv.in_stock) for lv in levels[:3]] == [(0, False), (1, True), (2, True)]
    assert later == []
    assert [name for name, _ in fake.requests].count(
        "VariantsChangedSince"
    ) == 3  # 100 + 2, then the empty window


def test_stock_of_a_variant(fake: FakeShopify, client: ShopifyShopClient) -> None:
    fake.set_stock(642667041472713922, 75, product_id=788032119674292922, sku="TS-S")
    level = client.read_stock("788032119674292922", "642667041472713922")
    assert (level.product_id, level.variant_id, level.sku, level.available, level.in_stock) == (
        "788032119674292922",
        "642667041472713922",
        "TS-S",
        75,
        True,
    )
    fake.set_stock(642667041472713922, 0)
    assert client.read_stock("788032119674292922", "642667041472713922").in_stock is False


def test_stock_of_a_product_adds_its_variants_up(fake: FakeShopify, client: ShopifyShopClient) -> None:
    fake.set_stock(642667041472713922, 3, product_id=788032119674292922)
    fake.set_stock(757650484644203962, 0, product_id=788032119674292922)
    level = client.read_stock("788032119674292922", None)
    assert (level.variant_id, level.available, level.in_stock) == (None, 3, True)


def test_untracked_stock_is_always_in_stock(fake: FakeShopify, client: ShopifyShopClient) -> None:
    fake.set_stock(642667041472713922, None, product_id=788032119674292922)
    level = client.read_stock("788032119674292922", "642667041472713922")
    assert (level.available, level.in_stock) == (None, True)


def test_a_refund_with_restock_puts_units_back(
    fake: FakeShopify, client: ShopifyShopClient, paid_order: Callable[..., dict[str, Any]]
) -> None:
    from aftersales.platforms import RefundLine, RefundRequest

    order = paid_order()
    order["line_items"][0]["variant_id"] = 642667041472713922
    fake.set_stock(642667041472713922, 0, product_id=788032119674292922)
    fake.add_order(order)
    client.create_refund(
        RefundRequest(
            effect_key="k1",
            order_id=ORDER_ID,
            amount=usd("89.99"),
            lines=(
                RefundLine(
                    line_item_id=SUNGLASSES, quantity=1, amount=usd("89.99"), tax=usd("0.00"), restock=True
                ),
            ),
        )
    )
    assert fake.stock(642667041472713922) == 1
    assert client.read_stock("788032119674292922", "642667041472713922").in_stock is True
