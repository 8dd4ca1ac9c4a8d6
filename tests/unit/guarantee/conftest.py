"""Orders, policies and promises for the guarantee unit tests, as a Polish shop describes them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pytest

from aftersales.domain import (
    Customer,
    FinancialStatus,
    LineItem,
    Money,
    Order,
    Platform,
    Shipment,
    ShipmentStatus,
    ShippingLine,
)
from aftersales.policy import default_policy
from aftersales.policy.schema import Policy

PolicyFactory = Callable[..., Policy]
OrderFactory = Callable[..., Order]


def pln(value: str) -> Money:
    return Money(value, "PLN")


@pytest.fixture
def make_policy() -> PolicyFactory:
    """A PL shop in Warsaw with the guarantee on: 12:00 cut-off, 1 handling day, 50 zł refund."""

    def build(**guarantee: Any) -> Policy:
        section: dict[str, Any] = {"enabled": True, "payout": {"amount": "50.00"}}
        section.update(guarantee)
        return default_policy("Sklep", "PL", guarantee=section)

    return build


@pytest.fixture
def make_order() -> OrderFactory:
    """A paid order of one 200 zł item with 15 zł delivery, unless told otherwise."""

    def build(
        *,
        order_id: str = "1001",
        paid_at: str = "2026-11-30T10:00:00+01:00",
        shipping: str = "15.00",
        shipments: Sequence[Shipment] = (),
        channel: str | None = "checkout",
        payment: str | None = "przelewy24",
        tags: Sequence[str] = (),
        line_tags: Sequence[str] = (),
        email: str = "Anna@Example.PL",
        status: FinancialStatus = FinancialStatus.PAID,
        cancelled_at: str | None = None,
    ) -> Order:
        goods = pln("200.00")
        ship = pln(shipping or "0")
        return Order(
            id=order_id,
            number=f"#{order_id}",
            platform=Platform.FAKE,
            currency="PLN",
            created_at=datetime.fromisoformat(paid_at),
            paid_at=datetime.fromisoformat(paid_at) if status is not FinancialStatus.PENDING else None,
            cancelled_at=datetime.fromisoformat(cancelled_at) if cancelled_at else None,
            customer=Customer(email=email, name="Anna Nowak"),
            prices_include_tax=True,
            line_items=[
                LineItem(
                    id="L1",
                    name="Kubek",
                    quantity=1,
                    subtotal=goods,
                    discount=pln("0"),
                    tax=pln("37.40"),
                    tags=list(line_tags),
                )
            ],
            shipping_lines=[
                ShippingLine(id="S1", title="Kurier", price=ship, discount=pln("0"), tax=pln("0"))
            ]
            if shipping
            else [],
            shipments=list(shipments),
            total=goods + ship,
            financial_status=status,
            payment_method=payment,
            sales_channel=channel,
            tags=list(tags),
        )

    return build


def _shipped(
    at: str, *, shipment_id: str = "F1", status: ShipmentStatus = ShipmentStatus.DISPATCHED
) -> Shipment:
    return Shipment(
        id=shipment_id,
        status=status,
        carrier="InPost",
        tracking_number="TRK1",
        dispatched_at=datetime.fromisoformat(at),
    )


@pytest.fixture
def shipped() -> Callable[..., Shipment]:
    """A parcel handed to InPost at a given instant."""
    return _shipped
