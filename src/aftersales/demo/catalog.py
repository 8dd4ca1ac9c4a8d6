"""Orders for the fake shops, in each platform's own documented shape.

WooCommerce orders follow the wc/v3 "Retrieve an order" example; Shopify orders follow the
REST shape of an ``orders/create`` webhook body (which is also what
:meth:`aftersales_shopify.testing.FakeShopify.add_order` takes). The demo's customers and
products are invented; ids come from the fakes or from a per-run counter, so nothing here
is a result the summary could print.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Item:
    name: str
    price: Decimal
    """Unit price as charged, tax included (consumer prices in PL and the EU are gross)."""
    quantity: int = 1
    sku: str = ""
    product_type: str = ""


@dataclass(frozen=True)
class Buyer:
    first_name: str
    last_name: str
    email: str
    locale: str


def _wc_time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if moment is not None else None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def woo_order(
    buyer: Buyer,
    items: list[Item],
    *,
    currency: str,
    shipping: Decimal,
    paid_at: datetime,
    completed_at: datetime | None,
    line_ids: int,
) -> dict[str, Any]:
    """A paid WooCommerce order; ``completed`` (handed to the carrier) when ``completed_at`` is set."""
    lines = []
    for offset, item in enumerate(items):
        total = item.price * item.quantity
        lines.append(
            {
                "id": line_ids + offset,
                "name": item.name,
                "product_id": line_ids + 100 + offset,
                "variation_id": 0,
                "quantity": item.quantity,
                "tax_class": "",
                "subtotal": f"{total:.2f}",
                "subtotal_tax": "0.00",
                "total": f"{total:.2f}",
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
                "sku": item.sku,
                "price": float(item.price),
            }
        )
    goods = sum((item.price * item.quantity for item in items), Decimal(0))
    return {
        "status": "completed" if completed_at is not None else "processing",
        "currency": currency,
        "prices_include_tax": True,
        "date_created_gmt": _wc_time(paid_at),
        "date_paid_gmt": _wc_time(paid_at),
        "date_completed_gmt": _wc_time(completed_at),
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": f"{shipping:.2f}",
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": f"{goods + shipping:.2f}",
        "total_tax": "0.00",
        "customer_id": 0,
        "billing": {
            "first_name": buyer.first_name,
            "last_name": buyer.last_name,
            "email": buyer.email,
            "country": "DE",
        },
        "shipping": {"first_name": buyer.first_name, "last_name": buyer.last_name, "country": "DE"},
        "payment_method": "stripe",
        "payment_method_title": "Credit card (Stripe)",
        "transaction_id": f"ch_{line_ids}",
        "line_items": lines,
        "shipping_lines": [
            {
                "id": line_ids + len(items),
                "method_title": "DHL Paket",
                "method_id": "flat_rate",
                "total": f"{shipping:.2f}",
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
            }
        ],
        "meta_data": [],
    }


def _bag(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": f"{amount:.2f}", "currency_code": currency}
    return {"shop_money": dict(money), "presentment_money": dict(money)}


def shopify_order(
    buyer: Buyer,
    items: list[Item],
    *,
    order_id: int,
    number: int,
    currency: str,
    shipping: Decimal,
    paid_at: datetime,
    delivered_at: datetime | None = None,
    dispatched_at: datetime | None = None,
) -> dict[str, Any]:
    """A paid Shopify order (REST/webhook shape); fulfilled and delivered when the times are given."""
    lines = []
    for offset, item in enumerate(items):
        lines.append(
            {
                "id": order_id + 1 + offset,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{order_id + 1 + offset}",
                "name": item.name,
                "title": item.name,
                "product_id": order_id + 100 + offset,
                "variant_id": order_id + 200 + offset,
                "product_type": item.product_type,
                "quantity": item.quantity,
                "current_quantity": item.quantity,
                "price": f"{item.price:.2f}",
                "price_set": _bag(item.price, currency),
                "sku": item.sku,
                "requires_shipping": True,
                "taxable": True,
                "tax_lines": [],
                "discount_allocations": [],
            }
        )
    goods = sum((item.price * item.quantity for item in items), Decimal(0))
    total = goods + shipping
    fulfillments: list[dict[str, Any]] = []
    if dispatched_at is not None:
        fulfillments.append(
            {
                "id": order_id + 50,
                "order_id": order_id,
                "status": "success",
                "shipment_status": "delivered" if delivered_at is not None else "in_transit",
                "created_at": _iso(dispatched_at),
                "updated_at": _iso(delivered_at or dispatched_at),
                "delivered_at": _iso(delivered_at),
                "tracking_company": "InPost",
                "tracking_number": f"6{order_id % 10**12:023d}",
                "line_items": [{"id": line["id"], "quantity": line["quantity"]} for line in lines],
            }
        )
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "number": number,
        "order_number": number,
        "email": buyer.email,
        "contact_email": buyer.email,
        "customer_locale": buyer.locale,
        "created_at": _iso(paid_at),
        "processed_at": _iso(paid_at),
        "updated_at": _iso(delivered_at or dispatched_at or paid_at),
        "cancelled_at": None,
        "closed_at": None,
        "currency": currency,
        "presentment_currency": currency,
        "financial_status": "paid",
        "fulfillment_status": "fulfilled" if fulfillments else None,
        "taxes_included": True,
        "source_name": "web",
        "tags": "",
        "payment_gateway_names": ["przelewy24"],
        "total_price": f"{total:.2f}",
        "total_price_set": _bag(total, currency),
        "subtotal_price": f"{goods:.2f}",
        "total_tax": "0.00",
        "customer": {
            "id": order_id + 900,
            "email": buyer.email,
            "first_name": buyer.first_name,
            "last_name": buyer.last_name,
        },
        "line_items": lines,
        "shipping_lines": [
            {
                "id": order_id + 40,
                "title": "Kurier InPost",
                "code": "inpost",
                "price": f"{shipping:.2f}",
                "price_set": _bag(shipping, currency),
                "discounted_price": f"{shipping:.2f}",
                "discounted_price_set": _bag(shipping, currency),
                "is_removed": False,
                "tax_lines": [],
                "discount_allocations": [],
            }
        ],
        "fulfillments": fulfillments,
        "refunds": [],
    }
