"""Every subscribed topic becomes the right domain event, with Shopify's ids kept exact.

Bodies are Shopify's webhook reference samples (tests/data) or built from the documented
shapes around them for topics without a shared sample. Large ids are > 2**53 on purpose: a
float anywhere on the way would change their last digits.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aftersales.domain import (
    EventType,
    FinancialStatus,
    FulfillmentData,
    Money,
    OrderData,
    RefundData,
    ResourceRef,
    ReturnData,
    ReverseLogisticsData,
    ShipmentStatus,
    StockData,
)
from aftersales.platforms import MalformedPayload, UnknownTopic
from aftersales_shopify import ShopifyPlatform
from aftersales_shopify.webhooks import TOPICS

DATA = Path(__file__).parent / "data"
RETURN_ID = "123134564567890"
AFTERSALES = str(Path(sys.executable).parent / "aftersales")
BIG_ORDER = 7205759403792793599  # > 2**62


@pytest.fixture
def shopify() -> ShopifyPlatform:
    return ShopifyPlatform()


def returns_body(status: str, **extra: Any) -> dict[str, Any]:
    """returns/approve as in Shopify's reference, with one line (returns/request's documented line shape)."""
    body = {
        "id": 123134564567890,
        "admin_graphql_api_id": "gid://shopify/Return/123134564567890",
        "status": status,
        "order": {"id": 4783296544821, "admin_graphql_api_id": "gid://shopify/Order/4783296544821"},
        "total_return_line_items": 1,
        "name": "#1001-R1",
        "return_line_items": [
            {
                "id": 6200524949,
                "admin_graphql_api_id": "gid://shopify/ReturnLineItem/6200524949",
                "fulfillment_line_item": {
                    "id": 10736341352597,
                    "admin_graphql_api_id": "gid://shopify/FulfillmentLineItem/10736341352597",
                    "line_item": {
                        "id": 487817672276298554,
                        "admin_graphql_api_id": "gid://shopify/LineItem/487817672276298554",
                    },
                },
                "quantity": 1,
                "return_reason": "size_too_small",
                "return_reason_note": "",
                "customer_note": "Za małe o jeden rozmiar",
            }
        ],
        "return_shipping_fees": [],
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    }
    body.update(extra)
    return body


# -- orders -------------------------------------------------------------------------------------


def test_orders_create_sample_keeps_every_id_exact(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    event = shopify.normalize("orders/create", payload("orders_create"))
    assert event.type is EventType.ORDER_UPSERTED
    assert event.shop_resource_id == "820982911946154508"
    assert isinstance(event.data, OrderData)
    order = event.data.order
    assert order.id == "820982911946154508"
    assert [line.id for line in order.line_items] == [
        "487817672276298554",
        "789012345678901234",
        "890123456789012345",
        "976318377106520349",
        "315789986012684393",
    ]
    assert order.line_items[0].product_id == "788032119674292922"
    assert order.customer.id == "115310627314723954"
    assert order.shipping_lines[0].id == "271878346596884015"


def test_orders_create_sample_amounts_and_order_facts(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    order = shopify.normalize("orders/create", payload("orders_create")).data
    assert isinstance(order, OrderData)
    o = order.order
    assert o.number == "#9999"
    assert o.currency == "USD"
    assert o.total == Money("404.95", "USD")
    assert o.line_items[3].subtotal == Money("159.99", "USD")
    assert o.shipping_lines[0].price == Money("10.00", "USD")
    assert o.prices_include_tax is False
    assert o.financial_status is FinancialStatus.VOIDED
    assert o.status == "cancelled"
    assert o.cancelled_at is not None and o.cancelled_at.isoformat() == "2021-12-31T19:00:00-05:00"
    assert o.sales_channel == "web"
    assert o.payment_method == "visa, bogus"
    assert o.tags == ["tag1", "tag2"]
    assert o.customer.email == "jon@example.com"
    assert o.customer.name == "John Smith"
    assert o.customer.locale == "en"
    assert o.paid_at is None  # voided: never paid


def test_line_discounts_taxes_and_quantities(shopify: ShopifyPlatform, payload: Callable[[str], Any]) -> None:
    """Two units at 24.99 with two discount allocations and 23% VAT included in the price."""
    body = payload("orders_create")
    line = body["line_items"][2]
    line["quantity"] = 2
    line["discount_allocations"] = [
        {
            "amount": "5.00",
            "amount_set": {
                "shop_money": {"amount": "5.00", "currency_code": "USD"},
                "presentment_money": {"amount": "5.00", "currency_code": "USD"},
            },
            "discount_application_index": 0,
        },
        {
            "amount": "2.50",
            "amount_set": {
                "shop_money": {"amount": "2.50", "currency_code": "USD"},
                "presentment_money": {"amount": "2.50", "currency_code": "USD"},
            },
            "discount_application_index": 1,
        },
    ]
    line["tax_lines"] = [
        {
            "price": "8.37",
            "rate": 0.23,
            "title": "VAT",
            "price_set": {
                "shop_money": {"amount": "8.37", "currency_code": "USD"},
                "presentment_money": {"amount": "8.37", "currency_code": "USD"},
            },
        }
    ]
    body["taxes_included"] = True
    o = shopify.normalize("orders/updated", body).data
    assert isinstance(o, OrderData)
    item = o.order.line("890123456789012345")
    assert item.quantity == 2
    assert item.subtotal == Money("49.98", "USD")
    assert item.discount == Money("7.50", "USD")
    assert item.tax == Money("8.37", "USD")
    assert o.order.prices_include_tax is True
    assert item.paid(prices_include_tax=True) == Money("42.48", "USD")


def test_presentment_currency_is_what_the_customer_paid(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    body = payload("orders_create")
    body["presentment_currency"] = "PLN"
    body["total_price_set"]["presentment_money"] = {"amount": "1620.00", "currency_code": "PLN"}
    for line in body["line_items"]:
        line["price_set"]["presentment_money"] = {"amount": "100.00", "currency_code": "PLN"}
    for ship in body["shipping_lines"]:
        ship["price_set"]["presentment_money"] = {"amount": "20.00", "currency_code": "PLN"}
    o = shopify.normalize("orders/create", body).data
    assert isinstance(o, OrderData)
    assert o.order.currency == "PLN"
    assert o.order.total == Money("1620.00", "PLN")
    assert o.order.line_items[0].subtotal == Money("100.00", "PLN")


@pytest.mark.parametrize(
    ("topic", "event"),
    [
        ("orders/updated", EventType.ORDER_UPSERTED),
        ("orders/paid", EventType.ORDER_UPSERTED),
        ("orders/fulfilled", EventType.ORDER_UPSERTED),
        ("orders/cancelled", EventType.ORDER_CANCELLED),
    ],
)
def test_order_topics_share_the_order_shape(
    shopify: ShopifyPlatform, payload: Callable[[str], Any], topic: str, event: EventType
) -> None:
    result = shopify.normalize(topic, payload("orders_create"))
    assert result.type is event
    assert result.shop_resource_id == "820982911946154508"
    assert isinstance(result.data, OrderData)


def test_orders_paid_takes_the_payment_time_from_the_update(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    body = payload("orders_create")
    body.update(financial_status="paid", cancelled_at=None, updated_at="2022-01-03T09:15:00+01:00")
    o = shopify.normalize("orders/paid", body).data
    assert isinstance(o, OrderData)
    assert o.order.paid_at is not None and o.order.paid_at.isoformat() == "2022-01-03T09:15:00+01:00"
    o2 = shopify.normalize("orders/updated", body).data
    assert isinstance(o2, OrderData)
    assert (
        o2.order.paid_at is not None and o2.order.paid_at.isoformat() == "2021-12-31T19:00:00-05:00"
    )  # processed_at


def test_an_order_with_fulfillments_and_refunds(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    body = payload("orders_create")
    body["fulfillments"] = [
        {
            "id": 255858046,
            "order_id": 820982911946154508,
            "status": "success",
            "created_at": "2022-01-02T10:00:00-05:00",
            "updated_at": "2022-01-05T14:30:00-05:00",
            "shipment_status": "delivered",
            "tracking_company": "UPS",
            "tracking_number": "1Z2345",
            "line_items": [{"id": 487817672276298554, "quantity": 1}],
        },
        {
            "id": 255858047,
            "order_id": 820982911946154508,
            "status": "cancelled",
            "created_at": "2022-01-02T10:00:00-05:00",
            "line_items": [{"id": 789012345678901234, "quantity": 1}],
        },
    ]
    body["refunds"] = [payload("refunds_create")]
    o = shopify.normalize("orders/updated", body).data
    assert isinstance(o, OrderData)
    assert len(o.order.shipments) == 1  # the cancelled fulfillment carried nothing
    shipment = o.order.shipments[0]
    assert shipment.id == "255858046"
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.line_quantities == {"487817672276298554": 1}
    assert (
        shipment.delivered_at is not None and shipment.delivered_at.isoformat() == "2022-01-05T14:30:00-05:00"
    )
    assert o.order.delivered_at() == shipment.delivered_at
    assert [r.id for r in o.order.refunds] == ["890088186047892319"]
    assert o.order.refunded == Money("85.00", "USD")


def test_orders_delete_is_just_the_id(shopify: ShopifyPlatform) -> None:
    event = shopify.normalize("orders/delete", json.loads('{"id": 820982911946154508}'))
    assert event.type is EventType.ORDER_DELETED
    assert event.data == ResourceRef(resource="order", id="820982911946154508")


# -- refunds and fulfillments -------------------------------------------------------------------


def test_refunds_create_sample(shopify: ShopifyPlatform, payload: Callable[[str], Any]) -> None:
    event = shopify.normalize("refunds/create", payload("refunds_create"))
    assert event.type is EventType.REFUND_CREATED
    assert event.shop_resource_id == "890088186047892319"
    assert isinstance(event.data, RefundData)
    refund = event.data.refund
    assert refund.order_id == "820982911946154508"
    assert refund.amount == Money("85.00", "USD")  # the two successful refund transactions, 75 + 10
    assert refund.reason == "Things were damaged"
    assert refund.effect_key is None  # made in the shop admin, not by us
    assert refund.line_quantities == {
        "487817672276298554": 1,
        "789012345678901234": 1,
        "890123456789012345": 1,
        "976318377106520349": 1,
        "315789986012684393": 1,
    }


def test_a_refund_we_made_carries_its_effect_key_back(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    body = payload("refunds_create")
    body["note"] = "Odstąpienie od umowy [aftersales:case-PL-2026-0042:refund:1]"
    refund = shopify.normalize("refunds/create", body).data
    assert isinstance(refund, RefundData)
    assert refund.refund.effect_key == "case-PL-2026-0042:refund:1"
    assert refund.refund.reason == "Odstąpienie od umowy"


def test_failed_refund_transactions_do_not_count(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    body = payload("refunds_create")
    body["transactions"][1]["status"] = "failure"
    refund = shopify.normalize("refunds/create", body).data
    assert isinstance(refund, RefundData)
    assert refund.refund.amount == Money("75.00", "USD")


@pytest.mark.parametrize("topic", ["fulfillments/create", "fulfillments/update"])
def test_fulfillment_topics(shopify: ShopifyPlatform, topic: str) -> None:
    body = {
        "id": 4955466268911213,
        "order_id": 820982911946154508,
        "status": "success",
        "created_at": "2022-01-02T10:00:00-05:00",
        "updated_at": "2022-01-03T08:00:00-05:00",
        "shipment_status": "in_transit",
        "tracking_company": "InPost",
        "tracking_number": "620000011111222233334444",
        "tracking_numbers": ["620000011111222233334444"],
        "line_items": [{"id": 487817672276298554, "quantity": 1}, {"id": 976318377106520349, "quantity": 1}],
        "admin_graphql_api_id": "gid://shopify/Fulfillment/4955466268911213",
    }
    event = shopify.normalize(topic, body)
    assert event.type is EventType.FULFILLMENT_UPSERTED
    assert event.shop_resource_id == "4955466268911213"
    assert isinstance(event.data, FulfillmentData)
    assert event.data.order_id == "820982911946154508"
    shipment = event.data.shipment
    assert shipment.status is ShipmentStatus.IN_TRANSIT
    assert shipment.tracking_number == "620000011111222233334444"
    assert shipment.carrier == "InPost"
    assert shipment.line_quantities == {"487817672276298554": 1, "976318377106520349": 1}


def test_a_cancelled_fulfillment_is_reported_as_failed(shopify: ShopifyPlatform) -> None:
    body = {
        "id": 123456,
        "order_id": 820982911946154508,
        "status": "cancelled",
        "created_at": "2022-01-02T10:00:00-05:00",
        "line_items": [],
    }
    event = shopify.normalize("fulfillments/update", body)
    assert isinstance(event.data, FulfillmentData)
    assert event.data.shipment.status is ShipmentStatus.FAILED


# -- returns and reverse logistics --------------------------------------------------------------


def test_returns_request_sample(shopify: ShopifyPlatform, payload: Callable[[str], Any]) -> None:
    event = shopify.normalize("returns/request", payload("returns_request"))
    assert event.type is EventType.RETURN_REQUESTED
    assert event.shop_resource_id == RETURN_ID
    assert isinstance(event.data, ReturnData)
    assert event.data.order_id == "4783296544821"
    assert event.data.status == "requested"
    assert event.data.lines == []


def test_returns_request_with_lines_maps_them_to_order_lines(shopify: ShopifyPlatform) -> None:
    event = shopify.normalize("returns/request", returns_body("requested"))
    assert isinstance(event.data, ReturnData)
    (line,) = event.data.lines
    assert line.id == "6200524949"
    assert line.line_item_id == "487817672276298554"
    assert line.fulfillment_line_item_id == "10736341352597"
    assert line.quantity == 1
    assert line.reason == "size_too_small"
    assert line.note == "Za małe o jeden rozmiar"
    assert event.data.name == "#1001-R1"


@pytest.mark.parametrize(
    ("topic", "body", "event_type", "status", "order_id"),
    [
        ("returns/approve", returns_body("open"), EventType.RETURN_APPROVED, "open", "4783296544821"),
        # the reference samples of these three carry only order_id
        (
            "returns/close",
            {
                "admin_graphql_api_id": "gid://shopify/Return/123134564567890",
                "id": 123134564567890,
                "order_id": 4783296544821,
                "status": "closed",
            },
            EventType.RETURN_CLOSED,
            "closed",
            "4783296544821",
        ),
        (
            "returns/cancel",
            {
                "admin_graphql_api_id": "gid://shopify/Return/123134564567890",
                "id": 123134564567890,
                "order_id": 4783296544821,
                "status": "canceled",
            },
            EventType.RETURN_CANCELLED,
            "canceled",
            "4783296544821",
        ),
        (
            "returns/reopen",
            {
                "admin_graphql_api_id": "gid://shopify/Return/123134564567890",
                "id": 123134564567890,
                "order_id": 4783296544821,
                "status": "open",
            },
            EventType.RETURN_REOPENED,
            "open",
            "4783296544821",
        ),
    ],
)
def test_return_state_topics(
    shopify: ShopifyPlatform,
    topic: str,
    body: dict[str, Any],
    event_type: EventType,
    status: str,
    order_id: str,
) -> None:
    event = shopify.normalize(topic, body)
    assert event.type is event_type
    assert event.shop_resource_id == RETURN_ID
    assert isinstance(event.data, ReturnData)
    assert event.data.status == status
    assert event.data.order_id == order_id


def test_returns_decline_carries_the_reason_but_no_order(shopify: ShopifyPlatform) -> None:
    body = {
        "admin_graphql_api_id": "gid://shopify/Return/123134564567890",
        "decline": {
            "note": "As discussed on the phone, the 30-day return window has ended.",
            "reason": "return_period_ended",
        },
        "id": 123134564567890,
        "status": "declined",
    }
    event = shopify.normalize("returns/decline", body)
    assert event.type is EventType.RETURN_DECLINED
    assert isinstance(event.data, ReturnData)
    assert event.data.decline_reason == "return_period_ended"
    assert event.data.order_id is None


def test_returns_update_only_says_the_return_changed(shopify: ShopifyPlatform) -> None:
    body = {
        "admin_graphql_api_id": "gid://shopify/Return/123134564567890",
        "restocking_fees": {"removals": [], "updates": []},
        "return_line_items": {
            "removals": [{"admin_graphql_api_id": "gid://shopify/ReturnLineItem/987654321", "delta": 2}]
        },
        "return_shipping_fees": {"removals": [], "updates": []},
    }
    event = shopify.normalize("returns/update", body)
    assert event.type is EventType.RETURN_UPDATED
    assert event.shop_resource_id == RETURN_ID
    assert event.data == ResourceRef(resource="return", id=RETURN_ID)


def test_a_return_label_attached_gives_the_tracking_of_the_parcel_back(shopify: ShopifyPlatform) -> None:
    body = {
        "admin_graphql_api_id": "gid://shopify/ReverseDelivery/9080907654321",
        "id": 9080907654321,
        "return": {"admin_graphql_api_id": "gid://shopify/Return/123134564567890", "id": 123134564567890},
        "shipping_deliverable": {
            "label": {
                "created_at": "2026-05-04T10:00:00Z",
                "public_file_url": "https://cdn.example/label.pdf",
            },
            "tracking": {"carrier_name": "USPS", "tracking_number": "123345345", "tracking_url": None},
        },
    }
    event = shopify.normalize("reverse_deliveries/attach_deliverable", body)
    assert event.type is EventType.REVERSE_LOGISTICS_UPDATED
    assert event.shop_resource_id == "9080907654321"
    assert isinstance(event.data, ReverseLogisticsData)
    assert event.data.return_id == RETURN_ID
    assert event.data.shipment is not None
    assert event.data.shipment.tracking_number == "123345345"
    assert event.data.shipment.carrier == "USPS"
    assert event.data.label_url == "https://cdn.example/label.pdf"


def test_dispositions_of_returned_units(shopify: ShopifyPlatform) -> None:
    body = {
        "admin_graphql_api_id": "gid://shopify/ReverseFulfillmentOrder/11111111",
        "dispositions": [
            {
                "location": {"admin_graphql_api_id": "gid://shopify/Location/3333333", "id": 3333333},
                "quantity": 1,
                "reverse_delivery_line_item": None,
                "reverse_fulfillment_order_line_item": {
                    "admin_graphql_api_id": "gid://shopify/ReverseFulfillmentOrderLineItem/2222222",
                    "id": 2222222,
                },
                "type": "restocked",
            },
            {
                "location": None,
                "quantity": 1,
                "reverse_delivery_line_item": None,
                "reverse_fulfillment_order_line_item": {
                    "admin_graphql_api_id": "gid://shopify/ReverseFulfillmentOrderLineItem/2222223",
                    "id": 2222223,
                },
                "type": "missing",
            },
        ],
        "id": 11111111,
        "total_dispositions": 2,
    }
    event = shopify.normalize("reverse_fulfillment_orders/dispose", body)
    assert event.shop_resource_id == "11111111"
    assert isinstance(event.data, ReverseLogisticsData)
    assert event.data.reverse_fulfillment_order_id == "11111111"
    assert [(d.line_id, d.quantity, d.type, d.location_id) for d in event.data.dispositions] == [
        ("2222222", 1, "restocked", "3333333"),
        ("2222223", 1, "missing", None),
    ]


# -- stock, products, app ---------------------------------------------------------------------


def test_variants_in_stock_sample(shopify: ShopifyPlatform, payload: Callable[[str], Any]) -> None:
    event = shopify.normalize("variants/in_stock", payload("variants_in_stock"))
    assert event.type is EventType.STOCK_CHANGED
    assert event.shop_resource_id == "642667041472713922"
    assert isinstance(event.data, StockData)
    (level,) = event.data.levels
    assert (level.product_id, level.variant_id, level.available, level.in_stock) == (
        "788032119674292922",
        "642667041472713922",
        75,
        True,
    )
    assert event.data.name == "Small"


def test_variants_out_of_stock_has_the_same_shape(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    body = payload("variants_in_stock")
    body.update(inventory_quantity=0, old_inventory_quantity=1)
    event = shopify.normalize("variants/out_of_stock", body)
    assert isinstance(event.data, StockData)
    assert event.data.levels[0].in_stock is False
    assert event.data.levels[0].available == 0


def test_inventory_level_update_names_the_inventory_item(shopify: ShopifyPlatform) -> None:
    body = json.loads(
        '{"admin_graphql_api_id": "gid://shopify/InventoryLevel/24826418?inventory_item_id=271878346596884015",'
        ' "available": 4, "inventory_item_id": 271878346596884015, "location_id": 24826418,'
        ' "updated_at": "2021-12-31T19:00:00-05:00"}'
    )
    event = shopify.normalize("inventory_levels/update", body)
    assert event.type is EventType.STOCK_CHANGED
    assert event.shop_resource_id == "271878346596884015"
    assert event.data == ResourceRef(resource="inventory_item", id="271878346596884015")


def test_products_update_with_variants(shopify: ShopifyPlatform, payload: Callable[[str], Any]) -> None:
    small = payload("variants_in_stock")
    large = {
        **copy.deepcopy(small),
        "id": 757650484644203962,
        "title": "Large",
        "inventory_quantity": 0,
        "sku": "TS-L",
    }
    body = {
        "id": 788032119674292922,
        "admin_graphql_api_id": "gid://shopify/Product/788032119674292922",
        "title": "Example T-Shirt",
        "updated_at": "2021-12-31T19:00:00-05:00",
        "variants": [small, large],
    }
    event = shopify.normalize("products/update", body)
    assert event.type is EventType.PRODUCT_UPSERTED
    assert event.shop_resource_id == "788032119674292922"
    assert isinstance(event.data, StockData)
    assert event.data.name == "Example T-Shirt"
    assert [(lv.variant_id, lv.available, lv.in_stock) for lv in event.data.levels] == [
        ("642667041472713922", 75, True),
        ("757650484644203962", 0, False),
    ]


def test_products_update_with_only_variant_gids_asks_for_a_re_read(shopify: ShopifyPlatform) -> None:
    body = {
        "id": 788032119674292922,
        "title": "Example T-Shirt",
        "updated_at": "2021-12-31T19:00:00-05:00",
        "variant_gids": [
            {
                "admin_graphql_api_id": "gid://shopify/ProductVariant/642667041472713922",
                "updated_at": "2021-12-31T00:00:00.000Z",
            }
        ],
    }
    event = shopify.normalize("products/update", body)
    assert event.data == ResourceRef(resource="product", id="788032119674292922")


def test_app_uninstalled_names_the_shop(shopify: ShopifyPlatform) -> None:
    event = shopify.normalize(
        "app/uninstalled", {"id": 548380009, "name": "Super Toys", "domain": None, "myshopify_domain": None}
    )
    assert event.type is EventType.APP_UNINSTALLED
    assert event.data == ResourceRef(resource="shop", id="548380009")


def test_every_topic_in_the_table_is_normalized_by_these_tests() -> None:
    """Guards the table: a topic added without a test here fails."""
    tested = {
        "orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/cancelled", "orders/delete",
        "refunds/create", "fulfillments/create", "fulfillments/update",
        "returns/request", "returns/approve", "returns/decline", "returns/close", "returns/cancel", "returns/reopen", "returns/update",
        "reverse_deliveries/attach_deliverable", "reverse_fulfillment_orders/dispose",
        "variants/in_stock", "variants/out_of_stock", "inventory_levels/update", "products/update", "app/uninstalled",
    }  # fmt: skip
    assert set(TOPICS) == tested


# -- bad input ----------------------------------------------------------------------------------


def test_an_unknown_topic_is_refused(shopify: ShopifyPlatform) -> None:
    with pytest.raises(UnknownTopic, match="carts/create"):
        shopify.normalize("carts/create", {"id": 1})


@pytest.mark.parametrize(
    ("topic", "mutate", "message"),
    [
        ("orders/create", lambda b: b.pop("id"), "order.id is missing"),
        ("orders/create", lambda b: b.update(id=8.209829119461545e17), "floating-point"),
        ("orders/create", lambda b: b.update(line_items={"id": 1}), "line_items must be a JSON array"),
        ("orders/create", lambda b: b["line_items"][0].update(quantity="one"), r"line_items\[0\].quantity"),
        (
            "orders/create",
            lambda b: b["line_items"][0]["price_set"]["presentment_money"].update(amount="89.999"),
            "more decimal places",
        ),
        ("orders/create", lambda b: b.update(created_at="2021-12-31T19:00:00"), "no UTC offset"),
        ("orders/create", lambda b: b.update(currency=None, presentment_currency=None), "currency"),
        ("refunds/create", lambda b: b.pop("order_id"), "refund.order_id"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(
    shopify: ShopifyPlatform,
    payload: Callable[[str], Any],
    topic: str,
    mutate: Callable[[dict[str, Any]], Any],
    message: str,
) -> None:
    body = payload(topic.replace("/", "_"))
    mutate(body)
    with pytest.raises(MalformedPayload, match=message):
        shopify.normalize(topic, body)


@pytest.mark.parametrize("body", [[], "text", None, 42])
def test_a_body_that_is_not_an_object_is_malformed(shopify: ShopifyPlatform, body: Any) -> None:
    with pytest.raises(MalformedPayload, match="must be a JSON object"):
        shopify.normalize("orders/create", body)


def test_a_return_without_an_id_is_malformed(shopify: ShopifyPlatform) -> None:
    with pytest.raises(MalformedPayload, match="neither 'id' nor 'admin_graphql_api_id'"):
        shopify.normalize("returns/close", {"status": "closed"})


def test_an_id_larger_than_a_float_can_hold_survives(
    shopify: ShopifyPlatform, payload: Callable[[str], Any]
) -> None:
    body = payload("orders_create")
    body["id"] = BIG_ORDER
    event = shopify.normalize("orders/create", body)
    assert int(float(BIG_ORDER)) != BIG_ORDER  # a float cannot hold it ...
    assert event.shop_resource_id == "7205759403792793599"  # ... the event does
    assert isinstance(event.data, OrderData)
    assert event.data.order.id == "7205759403792793599"


# -- the command line ----------------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    """``aftersales`` in-process (the installed Typer app), stdout and stderr apart."""
    from typer.testing import CliRunner

    from aftersales.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("topic", "fixture", "resource"),
    [
        ("orders/create", "orders_create", "820982911946154508"),
        ("refunds/create", "refunds_create", "890088186047892319"),
        ("returns/request", "returns_request", "123134564567890"),
        ("variants/in_stock", "variants_in_stock", "642667041472713922"),
    ],
)
def test_the_normalize_command_prints_exact_ids(topic: str, fixture: str, resource: str) -> None:
    code, out, err = run_cli(
        "webhook", "normalize", "--platform", "shopify", "--topic", topic, str(DATA / f"{fixture}.json")
    )
    assert code == 0, err
    event = json.loads(out)
    assert event["platform"] == "shopify"
    assert event["topic"] == topic
    assert event["shop_resource_id"] == resource
    assert resource in out


def test_the_installed_command_runs_the_plugin_end_to_end() -> None:
    """The real console script, in its own process: the entry point is found and loaded."""
    result = subprocess.run(
        [
            AFTERSALES,
            "webhook",
            "normalize",
            "--platform",
            "shopify",
            "--topic",
            "orders/create",
            str(DATA / "orders_create.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["shop_resource_id"] == "820982911946154508"


def test_the_normalize_command_explains_a_malformed_body(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"id": 1, "line_items": "nope", "currency": "USD", "created_at": "2021-12-31T19:00:00-05:00"}'
    )
    code, _, err = run_cli(
        "webhook", "normalize", "--platform", "shopify", "--topic", "orders/create", str(bad)
    )
    assert code == 1
    assert "line_items must be a JSON array" in err
