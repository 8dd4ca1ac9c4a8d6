"""Domain events: what a platform webhook (or a reconciliation poll) means to the engine.

A platform plugin turns ``(topic, payload)`` into one :class:`DomainEvent`; everything
downstream works on these and never on platform JSON. ``shop_resource_id`` is the
platform's own id of the order/product/return as an exact string.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from aftersales.domain._base import AwareDatetime, DomainModel, PlatformId
from aftersales.domain.order import Order, Platform, RefundRecord, Shipment


class EventType(StrEnum):
    ORDER_UPSERTED = "order.upserted"
    ORDER_DELETED = "order.deleted"
    ORDER_CANCELLED = "order.cancelled"
    PRODUCT_UPSERTED = "product.upserted"
    PRODUCT_DELETED = "product.deleted"
    STOCK_CHANGED = "stock.changed"
    REFUND_CREATED = "refund.created"
    FULFILLMENT_UPSERTED = "fulfillment.upserted"
    RETURN_REQUESTED = "return.requested"
    RETURN_APPROVED = "return.approved"
    RETURN_DECLINED = "return.declined"
    RETURN_CLOSED = "return.closed"
    RETURN_CANCELLED = "return.cancelled"
    RETURN_REOPENED = "return.reopened"
    RETURN_UPDATED = "return.updated"
    REVERSE_LOGISTICS_UPDATED = "reverse_logistics.updated"
    APP_UNINSTALLED = "app.uninstalled"


class StockLevel(DomainModel):
    product_id: PlatformId
    variant_id: PlatformId | None = None
    """None for a simple product (the product is its own variant)."""
    sku: str | None = None
    available: int | None = None
    """Units available to sell; None when the platform does not track stock for it."""
    in_stock: bool

    @property
    def variant_key(self) -> str:
        """The id subscriptions are keyed by: the variant, or the product for simple products."""
        return self.variant_id or self.product_id


class OrderData(DomainModel):
    kind: Literal["order"] = "order"
    order: Order


class ResourceRef(DomainModel):
    """Only the id survives (deleted resources, uninstall)."""

    kind: Literal["ref"] = "ref"
    resource: str
    id: PlatformId


class StockData(DomainModel):
    kind: Literal["stock"] = "stock"
    name: str | None = None
    levels: list[StockLevel]


class RefundData(DomainModel):
    kind: Literal["refund"] = "refund"
    refund: RefundRecord


class FulfillmentData(DomainModel):
    kind: Literal["fulfillment"] = "fulfillment"
    order_id: PlatformId
    shipment: Shipment


class ReturnLine(DomainModel):
    id: PlatformId
    line_item_id: PlatformId | None = None
    """The order line (Shopify: the fulfillment line item's line item) when the payload says it."""
    fulfillment_line_item_id: PlatformId | None = None
    quantity: int = Field(ge=0)
    reason: str | None = None
    note: str | None = None


DEFECT_REASONS = frozenset({"defective", "not_as_described"})
"""Return reasons that mean non-conformity: such lines are a complaint (statutory liability), not a return."""


def is_defect_reason(reason: str | None) -> bool:
    return (reason or "").strip().lower() in DEFECT_REASONS


class ReturnData(DomainModel):
    kind: Literal["return"] = "return"
    return_id: PlatformId
    order_id: PlatformId | None = None
    """None when the topic's payload does not carry it (Shopify ``returns/decline`` sends only the
    return): find the case by ``return_id``."""
    name: str | None = None
    status: str
    lines: list[ReturnLine] = Field(default_factory=list)
    decline_reason: str | None = None


class ReturnDisposition(DomainModel):
    """What the shop did with returned units once they arrived (restocked, missing, ...)."""

    line_id: PlatformId
    """The platform's line of the reverse shipment (Shopify: reverse fulfillment order line item)."""
    quantity: int = Field(ge=0)
    type: str
    """``restocked``, ``processing_required``, ``not_restocked`` or ``missing`` (Shopify's values)."""
    location_id: PlatformId | None = None


class ReverseLogisticsData(DomainModel):
    """The goods travelling back: a return label/tracking attached, or units received and disposed.

    Under Art. 32(4) of the Polish consumer rights act the trader may withhold the refund until the
    goods are back or the consumer proves they were sent: a tracking number is that proof.
    """

    kind: Literal["reverse_logistics"] = "reverse_logistics"
    return_id: PlatformId | None = None
    reverse_fulfillment_order_id: PlatformId | None = None
    shipment: Shipment | None = None
    """The parcel back to the shop (id = the platform's reverse delivery), with tracking when known."""
    label_url: str | None = None
    dispositions: list[ReturnDisposition] = Field(default_factory=list)


EventData = Annotated[
    OrderData | ResourceRef | StockData | RefundData | FulfillmentData | ReturnData | ReverseLogisticsData,
    Field(discriminator="kind"),
]


class DomainEvent(DomainModel):
    platform: Platform
    topic: str
    type: EventType
    shop_resource_id: PlatformId
    occurred_at: AwareDatetime | None = None
    data: EventData
