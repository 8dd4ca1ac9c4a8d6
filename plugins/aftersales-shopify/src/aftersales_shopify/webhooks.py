"""Shopify webhook topics → domain events.

One table (:data:`TOPICS`) says, for every topic the plugin subscribes to, which domain event
it becomes and how its body is read. ``shop_resource_id`` is always the id of the resource the
topic is named after (the order for ``orders/*``, the refund for ``refunds/create``, the return
for ``returns/*``, the variant for ``variants/*``...), as Shopify's exact numeric id.

Payload shapes are Shopify's webhook reference samples (API 2026-07). Some are minimal and say
less than one would hope, and the events say exactly that much, no more:

* ``returns/decline`` carries no order id, ``returns/cancel|close|reopen`` only ``order_id``;
* ``returns/update`` carries only the changes (line removals, fee edits): it becomes a
  ``return.updated`` event with a :class:`~aftersales.domain.ResourceRef` to re-read the return;
* ``inventory_levels/update`` names an inventory item and a location, not a variant: it becomes
  ``stock.changed`` with a ``ResourceRef("inventory_item", ...)``; ``variants/in_stock`` is the
  precise restock signal;
* ``reverse_fulfillment_orders/dispose`` names the reverse fulfillment order, not the return.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aftersales.domain import (
    DomainEvent,
    EventData,
    EventType,
    FulfillmentData,
    OrderData,
    Platform,
    RefundData,
    ResourceRef,
    ReturnData,
    ReturnDisposition,
    ReturnLine,
    ReverseLogisticsData,
    Shipment,
    ShipmentStatus,
    StockData,
    StockLevel,
)
from aftersales.platforms import MalformedPayload, UnknownTopic
from aftersales_shopify._values import exact_id, items, nested, obj, optional_id, resource_id, timestamp
from aftersales_shopify.orders import order_from_webhook, shipment_from_webhook
from aftersales_shopify.refunds import refund_from_webhook

Normalized = tuple[str, EventData, datetime | None]
"""(shop_resource_id, data, occurred_at)"""


@dataclass(frozen=True)
class Topic:
    name: str
    event: EventType
    read: Callable[[str, Mapping[str, Any]], Normalized]

    @property
    def graphql_enum(self) -> str:
        """The ``WebhookSubscriptionTopic`` value (``orders/create`` → ``ORDERS_CREATE``)."""
        return self.name.upper().replace("/", "_")


# -- orders, refunds, fulfillments --------------------------------------------------------------


def _order(topic: str, p: Mapping[str, Any]) -> Normalized:
    order = order_from_webhook(p, topic=topic)
    return order.id, OrderData(order=order), order.updated_at or order.created_at


def _order_deleted(topic: str, p: Mapping[str, Any]) -> Normalized:
    order_id = resource_id(p, "order")
    return order_id, ResourceRef(resource="order", id=order_id), None


def _refund(topic: str, p: Mapping[str, Any]) -> Normalized:
    refund = refund_from_webhook(p)
    occurred = timestamp(p.get("processed_at"), "refund.processed_at") or refund.created_at
    return refund.id, RefundData(refund=refund), occurred


def _fulfillment(topic: str, p: Mapping[str, Any]) -> Normalized:
    shipment = shipment_from_webhook(p)
    if shipment is None:  # cancelled: no goods travel; FAILED keeps it out of delivery clocks
        shipment = Shipment(
            id=exact_id(p.get("id"), "fulfillment.id"),
            status=ShipmentStatus.FAILED,
            dispatched_at=timestamp(p.get("created_at"), "fulfillment.created_at"),
        )
    order_id = exact_id(p.get("order_id"), "fulfillment.order_id")
    occurred = timestamp(p.get("updated_at"), "fulfillment.updated_at")
    return shipment.id, FulfillmentData(order_id=order_id, shipment=shipment), occurred


# -- returns and reverse logistics --------------------------------------------------------------

_RETURN_STATUS_BY_TOPIC = {
    "returns/request": "requested",
    "returns/approve": "open",
    "returns/decline": "declined",
    "returns/close": "closed",
    "returns/cancel": "canceled",
    "returns/reopen": "open",
}


def _return_line(raw: Any, i: int) -> ReturnLine:
    where = f"return.return_line_items[{i}]"
    line = obj(raw, where)
    fli = nested(line, "fulfillment_line_item")
    order_line = nested(fli, "line_item")
    quantity = line.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise MalformedPayload(f"{where}.quantity must be a whole number, got {quantity!r}")
    notes = [
        n
        for n in (line.get("customer_note"), line.get("return_reason_note"))
        if isinstance(n, str) and n.strip()
    ]
    return ReturnLine(
        id=resource_id(line, where),
        line_item_id=optional_id(order_line.get("id"), f"{where}.fulfillment_line_item.line_item.id"),
        fulfillment_line_item_id=optional_id(fli.get("id"), f"{where}.fulfillment_line_item.id"),
        quantity=quantity,
        reason=line.get("return_reason") or None,
        note=" / ".join(notes) or None,
    )


def _return(topic: str, p: Mapping[str, Any]) -> Normalized:
    return_id = resource_id(p, "return")
    if topic == "returns/update":
        return return_id, ResourceRef(resource="return", id=return_id), None
    order = p.get("order")
    if isinstance(order, Mapping):
        order_id: str | None = resource_id(order, "return.order")
    else:
        order_id = optional_id(p.get("order_id"), "return.order_id")
    decline = nested(p, "decline")
    status = p.get("status") or _RETURN_STATUS_BY_TOPIC[topic]
    data = ReturnData(
        return_id=return_id,
        order_id=order_id,
        name=p.get("name") or None,
        status=str(status).lower(),
        lines=[
            _return_line(raw, i)
            for i, raw in enumerate(items(p.get("return_line_items"), "return.return_line_items"))
        ],
        decline_reason=decline.get("reason") or None,
    )
    return return_id, data, None


def _reverse_delivery(topic: str, p: Mapping[str, Any]) -> Normalized:
    delivery_id = resource_id(p, "reverse_delivery")
    ret = p.get("return")
    deliverable = nested(p, "shipping_deliverable")
    tracking = nested(deliverable, "tracking")
    label = nested(deliverable, "label")
    shipment = Shipment(
        id=delivery_id,
        status=ShipmentStatus.PENDING,
        tracking_number=tracking.get("tracking_number") or None,
        carrier=tracking.get("carrier_name") or None,
    )
    data = ReverseLogisticsData(
        return_id=resource_id(ret, "reverse_delivery.return") if isinstance(ret, Mapping) else None,
        shipment=shipment,
        label_url=label.get("public_file_url") or None,
    )
    return delivery_id, data, timestamp(label.get("created_at"), "reverse_delivery.label.created_at")


def _reverse_fulfillment_order(topic: str, p: Mapping[str, Any]) -> Normalized:
    rfo_id = resource_id(p, "reverse_fulfillment_order")
    dispositions = []
    for i, raw in enumerate(items(p.get("dispositions"), "reverse_fulfillment_order.dispositions")):
        where = f"reverse_fulfillment_order.dispositions[{i}]"
        d = obj(raw, where)
        line = d.get("reverse_fulfillment_order_line_item")
        location = d.get("location")
        quantity = d.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise MalformedPayload(f"{where}.quantity must be a whole number, got {quantity!r}")
        dispositions.append(
            ReturnDisposition(
                line_id=resource_id(obj(line, f"{where}.reverse_fulfillment_order_line_item"), where),
                quantity=quantity,
                type=str(d.get("type") or "unknown").lower(),
                location_id=resource_id(location, f"{where}.location")
                if isinstance(location, Mapping)
                else None,
            )
        )
    data = ReverseLogisticsData(reverse_fulfillment_order_id=rfo_id, dispositions=dispositions)
    return rfo_id, data, None


# -- stock and products ---------------------------------------------------------------------


def _variant_level(v: Mapping[str, Any], where: str, *, in_stock: bool | None = None) -> StockLevel:
    quantity = v.get("inventory_quantity")
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)):
        raise MalformedPayload(f"{where}.inventory_quantity must be a whole number, got {quantity!r}")
    if in_stock is None:
        in_stock = quantity is None or quantity > 0 or v.get("inventory_policy") == "continue"
    return StockLevel(
        product_id=exact_id(v.get("product_id"), f"{where}.product_id"),
        variant_id=resource_id(v, where),
        sku=v.get("sku") or None,
        available=quantity,
        in_stock=in_stock,
    )


def _variant_stock(topic: str, p: Mapping[str, Any]) -> Normalized:
    """``variants/in_stock|out_of_stock``: the topic itself says which (inventory_quantity may lag)."""
    level = _variant_level(p, "variant", in_stock=topic == "variants/in_stock")
    assert level.variant_id is not None
    occurred = timestamp(p.get("updated_at"), "variant.updated_at")
    return level.variant_id, StockData(name=p.get("title") or None, levels=[level]), occurred


def _inventory_level(topic: str, p: Mapping[str, Any]) -> Normalized:
    item_id = exact_id(p.get("inventory_item_id"), "inventory_level.inventory_item_id")
    occurred = timestamp(p.get("updated_at"), "inventory_level.updated_at")
    return item_id, ResourceRef(resource="inventory_item", id=item_id), occurred


def _product(topic: str, p: Mapping[str, Any]) -> Normalized:
    """Stock per variant when the body lists ``variants``; newer bodies carry only
    ``variant_gids`` (ids and times, no stock): then a reference to re-read the product."""
    product_id = resource_id(p, "product")
    occurred = timestamp(p.get("updated_at"), "product.updated_at")
    if p.get("variants") is None:
        return product_id, ResourceRef(resource="product", id=product_id), occurred
    levels = []
    for i, raw in enumerate(items(p.get("variants"), "product.variants")):
        variant = dict(obj(raw, f"product.variants[{i}]"))
        variant.setdefault("product_id", product_id)
        levels.append(_variant_level(variant, f"product.variants[{i}]"))
    return product_id, StockData(name=p.get("title") or None, levels=levels), occurred


def _app_uninstalled(topic: str, p: Mapping[str, Any]) -> Normalized:
    shop_id = resource_id(p, "shop")
    return shop_id, ResourceRef(resource="shop", id=shop_id), None


_TABLE = [
    Topic("orders/create", EventType.ORDER_UPSERTED, _order),
    Topic("orders/updated", EventType.ORDER_UPSERTED, _order),
    Topic("orders/paid", EventType.ORDER_UPSERTED, _order),
    Topic("orders/fulfilled", EventType.ORDER_UPSERTED, _order),
    Topic("orders/cancelled", EventType.ORDER_CANCELLED, _order),
    Topic("orders/delete", EventType.ORDER_DELETED, _order_deleted),
    Topic("refunds/create", EventType.REFUND_CREATED, _refund),
    Topic("fulfillments/create", EventType.FULFILLMENT_UPSERTED, _fulfillment),
    Topic("fulfillments/update", EventType.FULFILLMENT_UPSERTED, _fulfillment),
    Topic("returns/request", EventType.RETURN_REQUESTED, _return),
    Topic("returns/approve", EventType.RETURN_APPROVED, _return),
    Topic("returns/decline", EventType.RETURN_DECLINED, _return),
    Topic("returns/close", EventType.RETURN_CLOSED, _return),
    Topic("returns/cancel", EventType.RETURN_CANCELLED, _return),
    Topic("returns/reopen", EventType.RETURN_REOPENED, _return),
    Topic("returns/update", EventType.RETURN_UPDATED, _return),
    Topic("reverse_deliveries/attach_deliverable", EventType.REVERSE_LOGISTICS_UPDATED, _reverse_delivery),
    Topic(
        "reverse_fulfillment_orders/dispose", EventType.REVERSE_LOGISTICS_UPDATED, _reverse_fulfillment_order
    ),
    Topic("variants/in_stock", EventType.STOCK_CHANGED, _variant_stock),
    Topic("variants/out_of_stock", EventType.STOCK_CHANGED, _variant_stock),
    Topic("inventory_levels/update", EventType.STOCK_CHANGED, _inventory_level),
    Topic("products/update", EventType.PRODUCT_UPSERTED, _product),
    Topic("app/uninstalled", EventType.APP_UNINSTALLED, _app_uninstalled),
]

TOPICS: dict[str, Topic] = {t.name: t for t in _TABLE}
"""Every webhook topic the plugin handles (and subscribes to), by Shopify's topic name."""


def normalize(topic: str, payload: Any) -> DomainEvent:
    """The domain event for one webhook body; :class:`UnknownTopic` / :class:`MalformedPayload` otherwise."""
    spec = TOPICS.get(topic)
    if spec is None:
        raise UnknownTopic(f"Shopify topic {topic!r} is not handled; known topics: {', '.join(TOPICS)}")
    body = obj(payload, f"{topic} body")
    try:
        resource, data, occurred = spec.read(topic, body)
    except MalformedPayload:
        raise
    except (ValueError, TypeError, KeyError) as exc:  # a domain validation error is a malformed payload here
        raise MalformedPayload(f"{topic}: {exc}") from exc
    return DomainEvent(
        platform=Platform.SHOPIFY,
        topic=topic,
        type=spec.event,
        shop_resource_id=resource,
        occurred_at=occurred,
        data=data,
    )
