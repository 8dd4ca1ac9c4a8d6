"""Orders as the engine sees them, whatever the platform.

Amounts follow one convention so the refund calculator never guesses:
``LineItem.subtotal`` is quantity × unit price before discounts, ``discount`` the line's share
of all discounts, ``tax`` the tax on what was actually charged; ``paid`` is what the customer
paid for the line. When ``Order.prices_include_tax`` is true the tax is already inside
``subtotal`` (Shopify's ``taxes_included``), so it is not added again.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, computed_field, model_validator

from aftersales.domain._base import AwareDatetime, DomainModel, PlatformId
from aftersales.domain.money import CurrencyMismatch, Money, total


class Platform(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    FAKE = "fake"


class Customer(DomainModel):
    id: PlatformId | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    locale: str | None = None


class LineItem(DomainModel):
    id: PlatformId
    product_id: PlatformId | None = None
    variant_id: PlatformId | None = None
    sku: str | None = None
    name: str = ""
    quantity: int = Field(ge=0)
    subtotal: Money
    discount: Money
    tax: Money
    tags: list[str] = Field(default_factory=list)
    category: str | None = None

    def paid(self, prices_include_tax: bool) -> Money:
        """What the customer paid for this line (all units)."""
        net = self.subtotal - self.discount
        return net if prices_include_tax else net + self.tax


class ShippingLine(DomainModel):
    id: PlatformId
    title: str = ""
    price: Money
    discount: Money
    tax: Money
    standard: bool = True
    """Whether this is a standard (cheapest) delivery; the law refunds only the cheapest standard one."""


class ShipmentStatus(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    IN_TRANSIT = "in_transit"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    DELIVERED = "delivered"
    FAILED = "failed"


class Shipment(DomainModel):
    """A fulfillment: some units handed to a carrier, maybe delivered."""

    id: PlatformId
    line_quantities: dict[str, int] = Field(default_factory=dict)
    status: ShipmentStatus = ShipmentStatus.PENDING
    tracking_number: str | None = None
    carrier: str | None = None
    dispatched_at: AwareDatetime | None = None
    first_attempt_at: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None


class RefundRecord(DomainModel):
    """A refund that exists at the platform, made by us (``effect_key`` set) or in the shop admin."""

    id: PlatformId
    order_id: PlatformId
    amount: Money
    created_at: AwareDatetime | None = None
    reason: str | None = None
    effect_key: str | None = None
    line_quantities: dict[str, int] = Field(default_factory=dict)


class FinancialStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    OTHER = "other"


class Order(DomainModel):
    id: PlatformId
    number: str
    platform: Platform
    currency: str
    created_at: AwareDatetime
    paid_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    customer: Customer = Field(default_factory=Customer)
    prices_include_tax: bool = False
    line_items: list[LineItem]
    shipping_lines: list[ShippingLine] = Field(default_factory=list)
    shipments: list[Shipment] = Field(default_factory=list)
    refunds: list[RefundRecord] = Field(default_factory=list)
    total: Money
    """What the customer was charged for the whole order (the capture)."""
    financial_status: FinancialStatus = FinancialStatus.OTHER
    payment_method: str | None = None
    sales_channel: str | None = None
    tags: list[str] = Field(default_factory=list)
    status: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: object) -> object:
        """Accept our own dumps: ``refunded`` is computed (from ``refunds``), never an input."""
        if isinstance(data, dict) and "refunded" in data:
            data = {k: v for k, v in data.items() if k != "refunded"}
        return data

    @model_validator(mode="after")
    def _one_currency(self) -> Order:
        amounts: list[Money] = [self.total]
        for line in self.line_items:
            amounts += [line.subtotal, line.discount, line.tax]
        for ship in self.shipping_lines:
            amounts += [ship.price, ship.discount, ship.tax]
        amounts += [r.amount for r in self.refunds]
        for m in amounts:
            if m.currency != self.currency:
                raise CurrencyMismatch(
                    f"order {self.id} is in {self.currency} but has an amount in {m.currency}"
                )
        return self

    def line(self, line_id: str) -> LineItem:
        for line in self.line_items:
            if line.id == line_id:
                return line
        raise KeyError(f"line {line_id} is not part of order {self.number} ({self.id})")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def refunded(self) -> Money:
        """Everything refunded so far at the platform (ours and the shop admin's)."""
        return total((r.amount for r in self.refunds), self.currency)

    @property
    def refundable(self) -> Money:
        return self.total - self.refunded

    def delivered_at(self) -> AwareDatetime | None:
        """When the customer took possession of the last shipment (the withdrawal clock starts then).

        None until every shipment that carries goods is delivered.
        """
        carrying = [s for s in self.shipments if s.status != ShipmentStatus.FAILED]
        if not carrying or any(s.delivered_at is None for s in carrying):
            return None
        return max(s.delivered_at for s in carrying if s.delivered_at is not None)
