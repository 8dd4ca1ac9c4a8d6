"""Domain models refuse what would make a legal deadline or an id wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from aftersales.domain import LineItem, Money, Order, Platform, Shipment, ShipmentStatus


def _line(currency: str = "PLN") -> LineItem:
    return LineItem(
        id=315,  # type: ignore[arg-type]
        quantity=1,
        subtotal=Money("10.00", currency),
        discount=Money.zero(currency),
        tax=Money.zero(currency),
    )


def _order(**kw: object) -> Order:
    data: dict[str, object] = {
        "id": 820982911946154508,
        "number": "#1001",
        "platform": Platform.SHOPIFY,
        "currency": "PLN",
        "created_at": datetime(2026, 5, 1, 10, tzinfo=UTC),
        "line_items": [_line()],
        "total": Money("10.00", "PLN"),
    }
    data.update(kw)
    return Order.model_validate(data)


def test_a_naive_datetime_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="time zone offset"):
        _order(created_at=datetime(2026, 5, 1, 10))


def test_64_bit_ids_stay_exact_strings() -> None:
    order = _order()
    assert order.id == "820982911946154508"
    assert order.line_items[0].id == "315"


def test_a_float_id_is_refused() -> None:
    with pytest.raises(ValidationError, match="never floats"):
        _order(id=8.2e17)


def test_an_order_in_two_currencies_is_refused() -> None:
    with pytest.raises(ValidationError, match="has an amount in EUR"):
        _order(line_items=[_line("EUR")])


def test_the_withdrawal_clock_starts_at_the_last_delivery() -> None:
    first = datetime(2026, 5, 4, 9, tzinfo=UTC)
    last = first + timedelta(days=3)
    order = _order(
        shipments=[
            Shipment(id="a", status=ShipmentStatus.DELIVERED, delivered_at=first),
            Shipment(id="b", status=ShipmentStatus.DELIVERED, delivered_at=last),
        ]
    )
    assert order.delivered_at() == last
    pending = _order(
        shipments=[Shipment(id="a", status=ShipmentStatus.DELIVERED, delivered_at=first), Shipment(id="b")]
    )
    assert pending.delivered_at() is None


def test_unknown_fields_are_errors() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        _order(colour="red")
