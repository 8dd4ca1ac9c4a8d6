"""wc/v3 orders and refunds → the domain's :class:`~aftersales.domain.Order` and ``RefundRecord``.

WooCommerce specifics this mapping settles once, so the refund calculator never guesses:

- Line ``subtotal``/``total`` are always *excluding* tax in the REST API, whatever the shop's
  "prices entered with tax" setting (``prices_include_tax`` only says how the merchant typed the
  prices). The domain's ``prices_include_tax`` means "tax is inside ``subtotal``", so it is
  always False here: ``subtotal`` = line subtotal, ``discount`` = subtotal − total (coupons are
  already spread over the lines by WooCommerce), ``tax`` = ``total_tax``.
- Dates: only the ``*_gmt`` fields are read, as UTC.
- Refunds listed in the order (``refunds: [{"id", "reason", "total": "-10.00"}]``) carry a
  negative total; the domain keeps positive refund amounts.
- WooCommerce has no fulfillments. A ``completed`` order is treated as handed to the carrier at
  ``date_completed_gmt``; tracking numbers come from the Shipment Tracking extension's order meta
  ``_wc_shipment_tracking_items`` when present. Delivery is never known from WooCommerce itself.
- A cancelled order has no cancellation timestamp; its last modification time stands in.
- The store's "number of decimals" setting may exceed the currency's minor unit (4 decimals on a
  USD shop); such amounts are rounded half-up to the currency, which is what the gateway charged.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import Decimal
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
)
from aftersales_woocommerce.payloads import WcOrder, WcRefund

EFFECT_KEY_META = "_aftersales_effect_key"
"""Refund meta key carrying the engine's effect key (WooCommerce has no idempotency keys)."""

SHIPMENT_TRACKING_META = "_wc_shipment_tracking_items"
LANGUAGE_META_KEYS = ("wpml_language", "_wpml_language", "trp_language")


def money(value: Decimal, currency: str) -> Money:
    """Exact when the value fits the currency, else rounded half-up (see module docstring)."""
    return Money.rounded(value, currency)


def _financial_status(wc: WcOrder, refunded: Decimal) -> FinancialStatus:
    if wc.status == "refunded":
        return FinancialStatus.REFUNDED
    if refunded > 0:
        return FinancialStatus.REFUNDED if refunded >= wc.total else FinancialStatus.PARTIALLY_REFUNDED
    if wc.status in ("pending", "on-hold", "checkout-draft"):
        return FinancialStatus.PENDING
    if wc.status in ("processing", "completed"):
        return FinancialStatus.PAID
    if wc.status == "cancelled":
        return FinancialStatus.VOIDED if wc.date_paid_gmt is None else FinancialStatus.OTHER
    return FinancialStatus.PAID if wc.date_paid_gmt is not None else FinancialStatus.OTHER


def _shipments(wc: WcOrder) -> list[Shipment]:
    all_lines = {str(line.id): line.quantity for line in wc.line_items}
    tracking = wc.meta(SHIPMENT_TRACKING_META)
    shipments: list[Shipment] = []
    if isinstance(tracking, list) and tracking:
        for index, item in enumerate(tracking):
            if not isinstance(item, dict):
                continue
            shipped = item.get("date_shipped")
            dispatched_at = None
            if isinstance(shipped, int | str) and str(shipped).strip().isdigit():
                dispatched_at = datetime.fromtimestamp(int(str(shipped).strip()), tz=UTC)
            carrier = item.get("tracking_provider") or item.get("custom_tracking_provider") or None
            shipments.append(
                Shipment(
                    id=str(item.get("tracking_id") or f"{wc.id}-tracking-{index}"),
                    # One parcel carries the whole order; with several the split is not recorded.
                    line_quantities=all_lines if len(tracking) == 1 else {},
                    status=ShipmentStatus.DISPATCHED,
                    tracking_number=str(item["tracking_number"]) if item.get("tracking_number") else None,
                    carrier=str(carrier) if carrier else None,
                    dispatched_at=dispatched_at or wc.date_completed_gmt,
                )
            )
        return shipments
    if wc.status == "completed":
        shipments.append(
            Shipment(
                id=f"{wc.id}-completed",
                line_quantities=all_lines,
                status=ShipmentStatus.DISPATCHED,
                dispatched_at=wc.date_completed_gmt or wc.date_modified_gmt,
            )
        )
    return shipments


def _locale(wc: WcOrder) -> str | None:
    for key in LANGUAGE_META_KEYS:
        value = wc.meta(key)
        if isinstance(value, str) and value:
            return value
    return None


def to_order(wc: WcOrder) -> Order:
    """The domain order for a wc/v3 order (webhook body or ``GET /orders/<id>``)."""
    cur = wc.currency
    if wc.date_created_gmt is None:
        raise ValueError("date_created_gmt: the order has no creation date")
    lines = [
        LineItem(
            id=str(line.id),
            product_id=str(line.product_id) if line.product_id else None,
            variant_id=str(line.variation_id) if line.variation_id else None,
            sku=line.sku or None,
            name=html.unescape(line.name),
            quantity=line.quantity,
            subtotal=money(line.subtotal, cur),
            discount=money(line.subtotal - line.total, cur),
            tax=money(line.total_tax, cur),
        )
        for line in wc.line_items
    ]
    shipping = [
        ShippingLine(
            id=str(ship.id),
            title=html.unescape(ship.method_title),
            price=money(ship.total, cur),
            discount=Money.zero(cur),
            tax=money(ship.total_tax, cur),
        )
        for ship in wc.shipping_lines
    ]
    refunds = [
        RefundRecord(
            id=str(ref.id),
            order_id=str(wc.id),
            amount=money(abs(ref.total), cur),
            reason=ref.reason or None,
        )
        for ref in wc.refunds
    ]
    refunded = sum((abs(r.total) for r in wc.refunds), Decimal(0))
    name = f"{wc.billing.first_name} {wc.billing.last_name}".strip()
    return Order(
        id=str(wc.id),
        number=wc.number or str(wc.id),
        platform=Platform.WOOCOMMERCE,
        currency=cur,
        created_at=wc.date_created_gmt,
        paid_at=wc.date_paid_gmt,
        cancelled_at=(wc.date_modified_gmt or wc.date_created_gmt) if wc.status == "cancelled" else None,
        updated_at=wc.date_modified_gmt,
        customer=Customer(
            id=str(wc.customer_id) if wc.customer_id else None,
            email=wc.billing.email or None,
            name=name or None,
            phone=wc.billing.phone or None,
            locale=_locale(wc),
        ),
        prices_include_tax=False,
        line_items=lines,
        shipping_lines=shipping,
        shipments=_shipments(wc),
        refunds=refunds,
        total=money(wc.total, cur),
        financial_status=_financial_status(wc, refunded),
        payment_method=wc.payment_method or None,
        sales_channel=wc.created_via or None,
        status=wc.status,
    )


def to_refund_record(refund: WcRefund, order_id: str, currency: str) -> RefundRecord:
    """A refund from ``/orders/<id>/refunds``; ``effect_key`` is set when the engine made it."""
    marker: Any = refund.meta(EFFECT_KEY_META)
    quantities: dict[str, int] = {}
    for line in refund.line_items:
        item_id = line.refunded_item_id()
        if item_id is None or line.quantity == 0:
            continue
        quantities[item_id] = quantities.get(item_id, 0) + abs(line.quantity)
    return RefundRecord(
        id=str(refund.id),
        order_id=order_id,
        amount=money(abs(refund.amount), currency),
        created_at=refund.date_created_gmt,
        reason=refund.reason or None,
        effect_key=str(marker) if marker not in (None, "") else None,
        line_quantities=quantities,
    )
