"""Shopify orders → the domain :class:`~aftersales.domain.Order`, from either shape Shopify speaks.

* webhooks (``orders/*``) send the REST representation (``line_items``, ``price_set``, ...);
* ``fetch_order`` reads GraphQL (``lineItems``, ``originalUnitPriceSet``, ...).

Both map onto the domain's amount convention (see ``aftersales.domain.order``): a line's
``subtotal`` is unit price × quantity before discounts, ``discount`` the sum of its discount
allocations, ``tax`` the sum of its tax lines; ``prices_include_tax`` is Shopify's
``taxes_included``. Amounts are the **presentment** money (the currency the customer paid in):
the law gives back what the customer paid, and ``refundCreate`` takes presentment amounts.

Ids are the numeric ids as strings (``"820982911946154508"``); GIDs are rebuilt from them when
calling the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aftersales.domain import (
    Customer,
    FinancialStatus,
    LineItem,
    Money,
    Order,
    Platform,
    RefundRecord,
    Shipment,
    ShipmentStatus,
    ShippingLine,
    total,
)
from aftersales.platforms import MalformedPayload
from aftersales_shopify._values import (
    exact_id,
    gql_money,
    items,
    money,
    nested,
    obj,
    optional_id,
    required,
    rest_money_set,
    timestamp,
)
from aftersales_shopify.refunds import refund_from_webhook

_FINANCIAL = {
    "pending": FinancialStatus.PENDING,
    "paid": FinancialStatus.PAID,
    "partially_refunded": FinancialStatus.PARTIALLY_REFUNDED,
    "refunded": FinancialStatus.REFUNDED,
    "voided": FinancialStatus.VOIDED,
}

# REST fulfillment ``shipment_status`` / GraphQL ``displayStatus`` → where the parcel is.
_SHIPMENT = {
    "label_printed": ShipmentStatus.PENDING,
    "label_purchased": ShipmentStatus.PENDING,
    "label_voided": ShipmentStatus.PENDING,
    "submitted": ShipmentStatus.PENDING,
    "confirmed": ShipmentStatus.DISPATCHED,
    "fulfilled": ShipmentStatus.DISPATCHED,
    "marked_as_fulfilled": ShipmentStatus.DISPATCHED,
    "ready_for_pickup": ShipmentStatus.DISPATCHED,
    "carrier_picked_up": ShipmentStatus.IN_TRANSIT,
    "in_transit": ShipmentStatus.IN_TRANSIT,
    "out_for_delivery": ShipmentStatus.IN_TRANSIT,
    "delayed": ShipmentStatus.IN_TRANSIT,
    "attempted_delivery": ShipmentStatus.DELIVERY_ATTEMPTED,
    "delivered": ShipmentStatus.DELIVERED,
    "picked_up": ShipmentStatus.DELIVERED,
    "failure": ShipmentStatus.FAILED,
    "not_delivered": ShipmentStatus.FAILED,
}


def split_tags(value: Any) -> list[str]:
    """REST sends ``"tag1, tag2"``, GraphQL a list; both become a list of trimmed tags."""
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return [t.strip() for t in value if t.strip()]
    raise MalformedPayload(f"tags must be a comma-separated string or a list of strings, got {value!r}")


def _status(cancelled_at: datetime | None, closed_at: datetime | None) -> str:
    if cancelled_at is not None:
        return "cancelled"
    return "closed" if closed_at is not None else "open"


# -- REST / webhook shape -----------------------------------------------------------------------


def order_from_webhook(payload: Any, *, topic: str = "orders/updated") -> Order:
    """A REST-shaped order (the body of ``orders/create|updated|paid|cancelled|fulfilled``)."""
    p = obj(payload, "order")
    order_id = exact_id(p.get("id"), "order.id")
    currency = p.get("presentment_currency") or p.get("currency")
    if not isinstance(currency, str):
        raise MalformedPayload("order has no 'currency'")
    created_at = timestamp(required(p, "created_at", "order"), "order.created_at")
    assert created_at is not None
    cancelled_at = timestamp(p.get("cancelled_at"), "order.cancelled_at")
    updated_at = timestamp(p.get("updated_at"), "order.updated_at")
    financial = p.get("financial_status")
    lines = [
        _rest_line(obj(raw, f"order.line_items[{i}]"), i)
        for i, raw in enumerate(items(p.get("line_items"), "order.line_items"))
    ]
    if "total_price_set" in p:
        charged = rest_money_set(p["total_price_set"], "order.total_price_set")
    else:
        charged = money(required(p, "total_price", "order"), currency, "order.total_price")
    gateways = [
        g for g in items(p.get("payment_gateway_names"), "order.payment_gateway_names") if isinstance(g, str)
    ]
    refunds = [
        refund_from_webhook(obj(raw, f"order.refunds[{i}]"), currency=charged.currency)
        for i, raw in enumerate(items(p.get("refunds"), "order.refunds"))
    ]
    return Order(
        id=order_id,
        number=str(p.get("name") or p.get("order_number") or order_id),
        platform=Platform.SHOPIFY,
        currency=charged.currency,
        created_at=created_at,
        paid_at=_rest_paid_at(p, topic, financial, updated_at),
        cancelled_at=cancelled_at,
        updated_at=updated_at,
        customer=_rest_customer(p),
        prices_include_tax=bool(p.get("taxes_included")),
        line_items=lines,
        shipping_lines=[
            _rest_shipping(obj(raw, f"order.shipping_lines[{i}]"), i)
            for i, raw in enumerate(items(p.get("shipping_lines"), "order.shipping_lines"))
            if not (isinstance(raw, Mapping) and raw.get("is_removed"))
        ],
        shipments=[
            s
            for i, raw in enumerate(items(p.get("fulfillments"), "order.fulfillments"))
            if (s := shipment_from_webhook(obj(raw, f"order.fulfillments[{i}]"))) is not None
        ],
        refunds=refunds,
        total=charged,
        financial_status=_FINANCIAL.get(str(financial), FinancialStatus.OTHER),
        payment_method=", ".join(gateways) or None,
        sales_channel=p.get("source_name") if isinstance(p.get("source_name"), str) else None,
        tags=split_tags(p.get("tags")),
        status=_status(cancelled_at, timestamp(p.get("closed_at"), "order.closed_at")),
    )


def _rest_paid_at(
    p: Mapping[str, Any], topic: str, financial: Any, updated_at: datetime | None
) -> datetime | None:
    """When the customer paid. The REST order carries no payment time, so:

    * ``orders/paid`` is sent when payment completes: ``updated_at`` is that moment (for a card
      paid at checkout it equals the processing time, for a bank transfer the day it arrived);
    * any other topic of a paid order: ``processed_at`` (payment at checkout, the common case).

    ``fetch_order`` reads the exact time from the successful SALE/CAPTURE transaction.
    """
    if topic == "orders/paid" and updated_at is not None:
        return updated_at
    if financial in ("paid", "partially_refunded", "refunded"):
        return timestamp(p.get("processed_at"), "order.processed_at") or timestamp(
            p.get("created_at"), "order.created_at"
        )
    return None


def _rest_customer(p: Mapping[str, Any]) -> Customer:
    c = nested(p, "customer")
    name = " ".join(str(c[k]) for k in ("first_name", "last_name") if c.get(k)) or None
    email = p.get("email") or p.get("contact_email") or c.get("email")
    return Customer(
        id=optional_id(c.get("id"), "order.customer.id"),
        email=email or None,
        name=name,
        phone=p.get("phone") or c.get("phone") or None,
        locale=p.get("customer_locale") or None,
    )


def _sum_sets(entries: Sequence[Any], key: str, currency: str, where: str) -> Money:
    return total(
        (
            rest_money_set(obj(e, f"{where}[{i}]").get(key), f"{where}[{i}].{key}")
            for i, e in enumerate(entries)
        ),
        currency,
    )


def _rest_line(line: Mapping[str, Any], i: int) -> LineItem:
    where = f"order.line_items[{i}]"
    quantity = line.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise MalformedPayload(f"{where}.quantity must be a whole number, got {quantity!r}")
    unit = rest_money_set(required(line, "price_set", where), f"{where}.price_set")
    discounts = items(line.get("discount_allocations"), f"{where}.discount_allocations")
    taxes = items(line.get("tax_lines"), f"{where}.tax_lines")
    return LineItem(
        id=exact_id(line.get("id"), f"{where}.id"),
        product_id=optional_id(line.get("product_id"), f"{where}.product_id"),
        variant_id=optional_id(line.get("variant_id"), f"{where}.variant_id"),
        sku=line.get("sku") or None,
        name=str(line.get("name") or line.get("title") or ""),
        quantity=quantity,
        subtotal=unit * quantity,
        discount=_sum_sets(discounts, "amount_set", unit.currency, f"{where}.discount_allocations"),
        tax=_sum_sets(taxes, "price_set", unit.currency, f"{where}.tax_lines"),
    )


def _rest_shipping(line: Mapping[str, Any], i: int) -> ShippingLine:
    where = f"order.shipping_lines[{i}]"
    price = rest_money_set(required(line, "price_set", where), f"{where}.price_set")
    return ShippingLine(
        id=exact_id(line.get("id"), f"{where}.id"),
        title=str(line.get("title") or ""),
        price=price,
        discount=_sum_sets(
            items(line.get("discount_allocations"), where),
            "amount_set",
            price.currency,
            f"{where}.discount_allocations",
        ),
        tax=_sum_sets(items(line.get("tax_lines"), where), "price_set", price.currency, f"{where}.tax_lines"),
    )


def shipment_from_webhook(f: Mapping[str, Any]) -> Shipment | None:
    """A REST fulfillment (``fulfillments/*`` body or an order's ``fulfillments[]``).

    Cancelled fulfillments carried no goods and are dropped (None). REST gives no delivery
    time: a ``delivered`` fulfillment's ``updated_at`` is when the carrier event was recorded,
    which ``fetch_order`` replaces with GraphQL's exact ``deliveredAt``.
    """
    if f.get("status") == "cancelled":
        return None
    shipment_status = str(f.get("shipment_status") or "")
    if f.get("status") in ("failure", "error"):
        status = ShipmentStatus.FAILED
    elif shipment_status:
        status = _SHIPMENT.get(shipment_status, ShipmentStatus.DISPATCHED)
    else:
        status = ShipmentStatus.DISPATCHED if f.get("status") == "success" else ShipmentStatus.PENDING
    updated = timestamp(f.get("updated_at"), "fulfillment.updated_at")
    quantities: dict[str, int] = {}
    for i, raw in enumerate(items(f.get("line_items"), "fulfillment.line_items")):
        line = obj(raw, f"fulfillment.line_items[{i}]")
        line_id = exact_id(line.get("id"), f"fulfillment.line_items[{i}].id")
        qty = line.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int):
            raise MalformedPayload(f"fulfillment.line_items[{i}].quantity must be a whole number")
        quantities[line_id] = quantities.get(line_id, 0) + qty
    numbers = f.get("tracking_numbers") if isinstance(f.get("tracking_numbers"), list) else []
    return Shipment(
        id=exact_id(f.get("id"), "fulfillment.id"),
        line_quantities=quantities,
        status=status,
        tracking_number=f.get("tracking_number") or (numbers[0] if numbers else None),
        carrier=f.get("tracking_company") or None,
        dispatched_at=timestamp(f.get("created_at"), "fulfillment.created_at"),
        first_attempt_at=updated if status is ShipmentStatus.DELIVERY_ATTEMPTED else None,
        delivered_at=updated if status is ShipmentStatus.DELIVERED else None,
    )


# -- GraphQL shape ----------------------------------------------------------------------------


def order_from_graphql(
    node: Mapping[str, Any],
    *,
    line_items: list[Mapping[str, Any]],
    fulfillments: list[Mapping[str, Any]],
    refunds: list[RefundRecord],
) -> Order:
    """An order read with OrderFetch (+ all line-item pages), OrderFulfillments and OrderRefunds."""
    order_id = exact_id(node["id"], "order.id")
    charged = gql_money(node["totalPriceSet"], "order.totalPriceSet")
    cancelled_at = timestamp(node.get("cancelledAt"), "order.cancelledAt")
    created_at = timestamp(node["createdAt"], "order.createdAt")
    assert created_at is not None
    customer = node.get("customer") or {}
    name = " ".join(str(customer[k]) for k in ("firstName", "lastName") if customer.get(k)) or None
    return Order(
        id=order_id,
        number=str(node["name"]),
        platform=Platform.SHOPIFY,
        currency=charged.currency,
        created_at=created_at,
        paid_at=_gql_paid_at(node.get("transactions") or []),
        cancelled_at=cancelled_at,
        updated_at=timestamp(node.get("updatedAt"), "order.updatedAt"),
        customer=Customer(
            id=exact_id(customer["id"], "order.customer.id") if customer.get("id") else None,
            email=node.get("email"),
            name=name,
            phone=node.get("phone"),
            locale=node.get("customerLocale"),
        ),
        prices_include_tax=bool(node.get("taxesIncluded")),
        line_items=[_gql_line(line) for line in line_items],
        shipping_lines=[_gql_shipping(s) for s in node.get("shippingLines", {}).get("nodes", [])],
        shipments=[s for f in fulfillments if (s := shipment_from_graphql(f)) is not None],
        refunds=refunds,
        total=charged,
        financial_status=_FINANCIAL.get(
            str(node.get("displayFinancialStatus") or "").lower(), FinancialStatus.OTHER
        ),
        payment_method=", ".join(node.get("paymentGatewayNames") or []) or None,
        sales_channel=node.get("sourceName"),
        tags=split_tags(node.get("tags")),
        status=_status(cancelled_at, timestamp(node.get("closedAt"), "order.closedAt")),
    )


def _gql_paid_at(transactions: list[Mapping[str, Any]]) -> datetime | None:
    """The first successful SALE or CAPTURE: the moment the money was taken."""
    times = [
        timestamp(tx.get("processedAt") or tx.get("createdAt"), "transaction.processedAt")
        for tx in transactions
        if tx.get("kind") in ("SALE", "CAPTURE") and tx.get("status") == "SUCCESS"
    ]
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _gql_sum(entries: list[Mapping[str, Any]], key: str, currency: str, where: str) -> Money:
    return total((gql_money(e[key], where) for e in entries), currency)


def _gql_line(line: Mapping[str, Any]) -> LineItem:
    unit = gql_money(line["originalUnitPriceSet"], "lineItem.originalUnitPriceSet")
    quantity = int(line["quantity"])
    return LineItem(
        id=exact_id(line["id"], "lineItem.id"),
        product_id=exact_id(line["product"]["id"], "lineItem.product.id") if line.get("product") else None,
        variant_id=exact_id(line["variant"]["id"], "lineItem.variant.id") if line.get("variant") else None,
        sku=line.get("sku") or None,
        name=str(line.get("name") or ""),
        quantity=quantity,
        subtotal=unit * quantity,
        discount=_gql_sum(
            line.get("discountAllocations") or [],
            "allocatedAmountSet",
            unit.currency,
            "lineItem.discountAllocations",
        ),
        tax=_gql_sum(line.get("taxLines") or [], "priceSet", unit.currency, "lineItem.taxLines"),
    )


def _gql_shipping(line: Mapping[str, Any]) -> ShippingLine:
    price = gql_money(line["originalPriceSet"], "shippingLine.originalPriceSet")
    return ShippingLine(
        id=exact_id(line["id"], "shippingLine.id"),
        title=str(line.get("title") or ""),
        price=price,
        discount=_gql_sum(
            line.get("discountAllocations") or [],
            "allocatedAmountSet",
            price.currency,
            "shippingLine.discountAllocations",
        ),
        tax=_gql_sum(line.get("taxLines") or [], "priceSet", price.currency, "shippingLine.taxLines"),
    )


def shipment_from_graphql(f: Mapping[str, Any]) -> Shipment | None:
    """A ``Fulfillment`` from OrderFulfillments (its line items already paged in)."""
    if f.get("status") == "CANCELLED":
        return None
    display = str(f.get("displayStatus") or "").lower()
    if f.get("status") in ("ERROR", "FAILURE"):
        status = ShipmentStatus.FAILED
    else:
        status = _SHIPMENT.get(display, ShipmentStatus.DISPATCHED)
    quantities: dict[str, int] = {}
    for item in f.get("fulfillmentLineItems", {}).get("nodes", []):
        line_id = exact_id(item["lineItem"]["id"], "fulfillmentLineItem.lineItem.id")
        quantities[line_id] = quantities.get(line_id, 0) + int(item.get("quantity") or 0)
    tracking = (f.get("trackingInfo") or [{}])[0] if f.get("trackingInfo") else {}
    delivered = timestamp(f.get("deliveredAt"), "fulfillment.deliveredAt")
    return Shipment(
        id=exact_id(f["id"], "fulfillment.id"),
        line_quantities=quantities,
        status=ShipmentStatus.DELIVERED
        if delivered is not None and status is not ShipmentStatus.FAILED
        else status,
        tracking_number=tracking.get("number"),
        carrier=tracking.get("company"),
        dispatched_at=timestamp(f.get("createdAt"), "fulfillment.createdAt"),
        first_attempt_at=timestamp(f.get("updatedAt"), "fulfillment.updatedAt")
        if status is ShipmentStatus.DELIVERY_ATTEMPTED
        else None,
        delivered_at=delivered,
    )
