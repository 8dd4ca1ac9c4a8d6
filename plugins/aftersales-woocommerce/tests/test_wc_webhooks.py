"""Webhook envelope, signature and normalization against the wc/v3 sample payloads."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest

from aftersales.domain import EventType, FinancialStatus, Money, ShipmentStatus
from aftersales.platforms import MalformedPayload, PlatformAdapter, UnknownTopic
from aftersales.plugins import load_plugins
from aftersales_woocommerce.plugin import WooCommercePlatform

ADAPTER = WooCommercePlatform()


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def delivery_headers(
    body: bytes, secret: str, *, topic: str = "order.updated", delivery: str = "d1"
) -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(body, secret),
        "X-WC-Webhook-ID": "31",
        "X-WC-Webhook-Delivery-ID": delivery,
    }


def test_the_plugin_registers_the_adapter_through_its_entry_point() -> None:
    adapter = load_plugins().platform("woocommerce")
    assert isinstance(adapter, PlatformAdapter)
    assert adapter.name == "woocommerce"
    assert set(adapter.topics()) >= {
        "order.created",
        "order.updated",
        "order.deleted",
        "order.restored",
        "product.created",
        "product.updated",
        "product.deleted",
    }


# -- signature ----------------------------------------------------------------------------------


def test_a_body_signed_with_the_secret_verifies(order_json: dict[str, Any]) -> None:
    body = json.dumps(order_json).encode()
    assert ADAPTER.verify(body, delivery_headers(body, "s3cret"), ["s3cret"])


def test_a_tampered_body_does_not_verify(order_json: dict[str, Any]) -> None:
    body = json.dumps(order_json).encode()
    headers = delivery_headers(body, "s3cret")
    tampered = body.replace(b'"29.35"', b'"2935.00"')
    assert tampered != body
    assert not ADAPTER.verify(tampered, headers, ["s3cret"])


def test_a_body_signed_with_another_secret_does_not_verify(order_json: dict[str, Any]) -> None:
    body = json.dumps(order_json).encode()
    assert not ADAPTER.verify(body, delivery_headers(body, "other"), ["s3cret"])


def test_rotation_accepts_the_old_and_the_new_secret(order_json: dict[str, Any]) -> None:
    body = json.dumps(order_json).encode()
    secrets = ["new-secret", "old-secret"]
    assert ADAPTER.verify(body, delivery_headers(body, "old-secret"), secrets)
    assert ADAPTER.verify(body, delivery_headers(body, "new-secret"), secrets)
    assert not ADAPTER.verify(body, delivery_headers(body, "retired-secret"), secrets)


def test_a_missing_signature_does_not_verify(order_json: dict[str, Any]) -> None:
    body = json.dumps(order_json).encode()
    headers = delivery_headers(body, "s3cret")
    del headers["X-WC-Webhook-Signature"]
    assert not ADAPTER.verify(body, headers, ["s3cret"])


def test_header_names_are_case_insensitive(order_json: dict[str, Any]) -> None:
    body = json.dumps(order_json).encode()
    headers = {k.lower(): v for k, v in delivery_headers(body, "s3cret").items()}
    assert ADAPTER.verify(body, headers, ["s3cret"])
    assert ADAPTER.envelope(body, headers).topic == "order.updated"


# -- envelope -----------------------------------------------------------------------------------


def test_the_activation_ping_is_recognized_and_needs_no_signature() -> None:
    env = ADAPTER.envelope(b"webhook_id=31", {"Content-Type": "application/x-www-form-urlencoded"})
    assert env.is_ping
    assert env.topic is None
    assert env.dedupe_key is None


def test_a_signed_delivery_is_not_a_ping(order_json: dict[str, Any]) -> None:
    body = json.dumps(order_json).encode()
    env = ADAPTER.envelope(body, delivery_headers(body, "s"))
    assert not env.is_ping
    assert env.topic == "order.updated"
    assert env.event_id == "d1"
    assert env.source == "https://shop.example/"


def test_re_sends_of_one_change_share_the_dedupe_key_though_delivery_ids_differ(
    order_json: dict[str, Any],
) -> None:
    body = json.dumps(order_json).encode()
    first = ADAPTER.envelope(body, delivery_headers(body, "s", delivery="1001"))
    again = ADAPTER.envelope(body, delivery_headers(body, "s", delivery="1002"))
    assert first.event_id != again.event_id
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key is not None
    assert "727" in first.dedupe_key
    assert "2017-03-22T19:28:08" in first.dedupe_key


def test_a_later_change_of_the_same_order_gets_a_new_key(order_json: dict[str, Any]) -> None:
    body = json.dumps(order_json).encode()
    changed = copy.deepcopy(order_json)
    changed["date_modified_gmt"] = "2017-03-22T19:30:00"
    body2 = json.dumps(changed).encode()
    key1 = ADAPTER.envelope(body, delivery_headers(body, "s")).dedupe_key
    key2 = ADAPTER.envelope(body2, delivery_headers(body2, "s")).dedupe_key
    assert key1 != key2


def test_an_order_and_a_product_with_the_same_id_do_not_collide(
    order_json: dict[str, Any], product_json: dict[str, Any]
) -> None:
    product = dict(product_json, id=727, date_modified_gmt=order_json["date_modified_gmt"])
    ob = json.dumps(order_json).encode()
    pb = json.dumps(product).encode()
    okey = ADAPTER.envelope(ob, delivery_headers(ob, "s", topic="order.updated")).dedupe_key
    pkey = ADAPTER.envelope(pb, delivery_headers(pb, "s", topic="product.updated")).dedupe_key
    assert okey != pkey


def test_deleted_bodies_dedupe_across_re_sends() -> None:
    body = b'{"id":727}'
    first = ADAPTER.envelope(body, delivery_headers(body, "s", topic="order.deleted", delivery="1"))
    again = ADAPTER.envelope(body, delivery_headers(body, "s", topic="order.deleted", delivery="2"))
    other = ADAPTER.envelope(b'{"id":728}', delivery_headers(b'{"id":728}', "s", topic="order.deleted"))
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key != other.dedupe_key


def test_a_body_without_a_modification_date_dedupes_on_its_exact_bytes() -> None:
    body = b'{"id":5,"status":"processing"}'
    key = ADAPTER.envelope(body, delivery_headers(body, "s")).dedupe_key
    assert key == ADAPTER.envelope(body, delivery_headers(body, "s", delivery="x")).dedupe_key
    other = b'{"id":5,"status":"completed"}'
    assert key != ADAPTER.envelope(other, delivery_headers(other, "s")).dedupe_key


# -- normalization: orders ----------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["order.created", "order.updated", "order.restored"])
def test_order_topics_become_order_upserted_with_exact_ids(topic: str, order_json: dict[str, Any]) -> None:
    event = ADAPTER.normalize(topic, order_json)
    assert event.type == EventType.ORDER_UPSERTED
    assert event.shop_resource_id == "727"
    assert event.topic == topic
    assert event.occurred_at is not None
    assert event.occurred_at.isoformat() == "2017-03-22T19:28:08+00:00"
    assert event.data.kind == "order"


def test_the_sample_order_maps_onto_the_domain(order_json: dict[str, Any]) -> None:
    event = ADAPTER.normalize("order.created", order_json)
    assert event.data.kind == "order"
    order = event.data.order
    assert order.id == "727"
    assert order.number == "727"
    assert order.currency == "USD"
    assert order.created_at.isoformat() == "2017-03-22T19:28:02+00:00"
    assert order.paid_at is not None
    assert order.paid_at.isoformat() == "2017-03-22T19:28:08+00:00"
    assert order.total == Money("29.35", "USD")
    assert order.customer.email == "john.doe@example.com"
    assert order.customer.name == "John Doe"
    assert order.customer.id is None  # customer_id 0 = guest
    assert order.financial_status == FinancialStatus.PAID
    assert order.payment_method == "bacs"
    assert order.prices_include_tax is False
    first, second = order.line_items
    assert (first.id, first.product_id, first.variant_id, first.quantity) == ("315", "93", None, 2)
    assert first.subtotal == Money("6.00", "USD")
    assert first.discount == Money("0.00", "USD")
    assert first.tax == Money("0.45", "USD")
    assert (second.id, second.product_id, second.variant_id, second.sku) == ("316", "22", "23", "Bar3")
    assert second.name == "Ship Your Idea – Color: Black, Size: M Test"  # &ndash; unescaped
    assert second.tax == Money("0.90", "USD")
    (ship,) = order.shipping_lines
    assert (ship.id, ship.title, ship.price) == ("317", "Flat Rate", Money("10.00", "USD"))
    # what the customer paid adds up to the capture
    paid = sum((line.paid(order.prices_include_tax).amount for line in order.line_items), Decimal(0))
    assert paid + ship.price.amount + ship.tax.amount == order.total.amount
    assert order.refunds == []
    assert order.shipments == []


def test_discounts_are_the_difference_between_subtotal_and_total(order_json: dict[str, Any]) -> None:
    order_json["line_items"][0]["total"] = "5.00"
    order = ADAPTER.normalize("order.updated", order_json).data.order  # type: ignore[union-attr]
    assert order.line_items[0].discount == Money("1.00", "USD")


def test_refunds_listed_in_the_order_become_positive_refund_records(order_json: dict[str, Any]) -> None:
    order_json["refunds"] = [
        {"id": 801, "reason": "damaged", "total": "-10.00"},
        {"id": 800, "reason": "", "total": "-2.35"},
    ]
    order = ADAPTER.normalize("order.updated", order_json).data.order  # type: ignore[union-attr]
    assert [(r.id, r.order_id, r.amount) for r in order.refunds] == [
        ("801", "727", Money("10.00", "USD")),
        ("800", "727", Money("2.35", "USD")),
    ]
    assert order.refunds[0].reason == "damaged"
    assert order.refunded == Money("12.35", "USD")
    assert order.financial_status == FinancialStatus.PARTIALLY_REFUNDED


def test_a_cancelled_order_becomes_order_cancelled(order_json: dict[str, Any]) -> None:
    order_json["status"] = "cancelled"
    order_json["date_paid_gmt"] = None
    event = ADAPTER.normalize("order.updated", order_json)
    assert event.type == EventType.ORDER_CANCELLED
    order = event.data.order  # type: ignore[union-attr]
    assert order.cancelled_at is not None
    assert order.financial_status == FinancialStatus.VOIDED


def test_a_completed_order_is_dispatched_and_tracking_meta_is_read(order_json: dict[str, Any]) -> None:
    order_json["status"] = "completed"
    order_json["date_completed_gmt"] = "2017-03-23T10:00:00"
    order = ADAPTER.normalize("order.updated", order_json).data.order  # type: ignore[union-attr]
    (shipment,) = order.shipments
    assert shipment.status == ShipmentStatus.DISPATCHED
    assert shipment.dispatched_at is not None
    assert shipment.dispatched_at.isoformat() == "2017-03-23T10:00:00+00:00"
    assert shipment.line_quantities == {"315": 2, "316": 1}

    order_json["meta_data"].append(
        {
            "id": 99,
            "key": "_wc_shipment_tracking_items",
            "value": [
                {
                    "tracking_provider": "inpost",
                    "tracking_number": "6200123",
                    "date_shipped": "1490263200",
                    "tracking_id": "abc",
                }
            ],
        }
    )
    order = ADAPTER.normalize("order.updated", order_json).data.order  # type: ignore[union-attr]
    (shipment,) = order.shipments
    assert (shipment.id, shipment.carrier, shipment.tracking_number) == ("abc", "inpost", "6200123")


def test_an_order_deleted_body_is_just_its_id() -> None:
    event = ADAPTER.normalize("order.deleted", {"id": 727})
    assert event.type == EventType.ORDER_DELETED
    assert event.shop_resource_id == "727"
    assert event.data.kind == "ref"
    assert (event.data.resource, event.data.id) == ("order", "727")


# -- normalization: products --------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["product.created", "product.updated"])
def test_a_simple_product_becomes_product_upserted(topic: str, product_json: dict[str, Any]) -> None:
    event = ADAPTER.normalize(topic, product_json)
    assert event.type == EventType.PRODUCT_UPSERTED
    assert event.shop_resource_id == "794"
    assert event.data.kind == "stock"
    (level,) = event.data.levels
    assert (level.product_id, level.variant_id, level.available, level.in_stock) == ("794", None, None, True)
    assert level.variant_key == "794"


def test_a_variation_names_its_parent_and_carries_managed_stock(variation_json: dict[str, Any]) -> None:
    event = ADAPTER.normalize("product.updated", variation_json)
    assert event.shop_resource_id == "23"
    (level,) = event.data.levels  # type: ignore[union-attr]
    assert (level.product_id, level.variant_id, level.sku) == ("22", "23", "Bar3")
    assert (level.available, level.in_stock) == (7, True)
    assert level.variant_key == "23"


def test_an_out_of_stock_variation_is_not_in_stock(variation_json: dict[str, Any]) -> None:
    variation_json.update(stock_quantity=0, stock_status="outofstock")
    (level,) = ADAPTER.normalize("product.updated", variation_json).data.levels  # type: ignore[union-attr]
    assert (level.available, level.in_stock) == (0, False)
    variation_json.update(stock_quantity=None, stock_status="onbackorder", manage_stock=False)
    (level,) = ADAPTER.normalize("product.updated", variation_json).data.levels  # type: ignore[union-attr]
    assert (level.available, level.in_stock) == (None, False)


def test_a_variation_inheriting_parent_stock_reports_the_quantity(variation_json: dict[str, Any]) -> None:
    variation_json.update(manage_stock="parent", stock_quantity=3)
    (level,) = ADAPTER.normalize("product.updated", variation_json).data.levels  # type: ignore[union-attr]
    assert level.available == 3


def test_a_variable_parent_without_own_stock_has_no_levels(product_json: dict[str, Any]) -> None:
    product_json.update(id=22, type="variable", variations=[23, 24])
    event = ADAPTER.normalize("product.updated", product_json)
    assert event.shop_resource_id == "22"
    assert event.data.levels == []  # type: ignore[union-attr]


def test_a_product_deleted_body_is_just_its_id() -> None:
    event = ADAPTER.normalize("product.deleted", {"id": 794})
    assert event.type == EventType.PRODUCT_DELETED
    assert (event.data.resource, event.data.id) == ("product", "794")  # type: ignore[union-attr]


# -- bad input ----------------------------------------------------------------------------------


def test_an_unknown_topic_is_refused(order_json: dict[str, Any]) -> None:
    with pytest.raises(UnknownTopic, match=r"coupon\.created"):
        ADAPTER.normalize("coupon.created", order_json)
    with pytest.raises(UnknownTopic):
        ADAPTER.normalize("orders/create", order_json)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.pop("id"), "id: Field required"),
        (lambda o: o.update(id="seven"), "id"),
        (lambda o: o.update(id=7.0), "ids must be integers"),
        (lambda o: o["line_items"][0].update(quantity="two"), "line_items.0.quantity"),
        (lambda o: o.update(total=29.35), "total"),
        (lambda o: o.update(line_items="none"), "line_items"),
        (lambda o: o.update(date_created_gmt="yesterday"), "date_created_gmt"),
        (lambda o: o.update(currency="XXY"), "currency"),
    ],
)
def test_a_malformed_order_body_names_the_problem(
    order_json: dict[str, Any], mutate: Any, message: str
) -> None:
    mutate(order_json)
    with pytest.raises(MalformedPayload, match=message):
        ADAPTER.normalize("order.updated", order_json)


def test_bodies_that_are_not_objects_are_malformed() -> None:
    with pytest.raises(MalformedPayload, match="JSON object"):
        ADAPTER.normalize("order.created", [1, 2])
    with pytest.raises(MalformedPayload, match="integer 'id'"):
        ADAPTER.normalize("order.deleted", {"id": None})
    with pytest.raises(MalformedPayload, match="parent"):
        ADAPTER.normalize("product.updated", {"id": 23, "type": "variation"})
