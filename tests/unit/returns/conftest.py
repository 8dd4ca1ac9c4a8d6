"""Orders and cases for the returns unit tests, built the way a merchant would describe them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from aftersales.domain import (
    Case,
    CaseLine,
    CaseType,
    LineItem,
    Money,
    Order,
    Platform,
    RefundRecord,
    Shipment,
    ShipmentStatus,
)

OrderFactory = Callable[..., Order]
CaseFactory = Callable[..., Case]


def _pln(value: str) -> Money:
    return Money(value, "PLN")


@pytest.fixture
def make_order() -> OrderFactory:
    """An order of a 2-unit shirt (2 × 100 PLN) and a 1-unit mug (50 PLN) unless told otherwise."""

    def build(
        *,
        lines: Sequence[tuple[str, int, str]] = (("L1", 2, "200.00"), ("L2", 1, "50.00")),
        delivered: Sequence[datetime | None] = (datetime(2026, 3, 2, 12, tzinfo=UTC),),
        refunds: Sequence[RefundRecord] = (),
        tags: Sequence[str] = (),
        line_tags: dict[str, list[str]] | None = None,
        number: str = "1001",
    ) -> Order:
        items = [
            LineItem(
                id=line_id,
                name=f"item {line_id}",
                quantity=qty,
                subtotal=_pln(paid),
                discount=_pln("0"),
                tax=_pln("0"),
                tags=(line_tags or {}).get(line_id, []),
            )
            for line_id, qty, paid in lines
        ]
        shipments = [
            Shipment(
                id=f"S{i}",
                status=ShipmentStatus.DELIVERED if at else ShipmentStatus.IN_TRANSIT,
                delivered_at=at,
            )
            for i, at in enumerate(delivered)
        ]
        grand = sum((it.subtotal.amount for it in items), start=_pln("0").amount)
        return Order(
            id="O1",
            number=number,
            platform=Platform.FAKE,
            currency="PLN",
            created_at=datetime(2026, 2, 27, 9, tzinfo=UTC),
            prices_include_tax=True,
            line_items=items,
            shipments=shipments,
            refunds=list(refunds),
            total=_pln(str(grand)),
            tags=list(tags),
        )

    return build


@pytest.fixture
def make_case() -> CaseFactory:
    counter = iter(range(1, 10_000))

    def build(
        case_type: CaseType = CaseType.WITHDRAWAL,
        *,
        lines: Sequence[tuple[str, str | None]] = (("L1", None),),
        status: str = "requested",
        deadlines: dict[str, datetime] | None = None,
        statement_at: datetime | None = None,
        data: dict[str, Any] | None = None,
    ) -> Case:
        n = next(counter)
        extra: dict[str, object] = dict(data or {})
        if statement_at is not None:
            extra["statement_at"] = statement_at.isoformat()
        return Case(
            id=f"c{n}",
            number=f"R-2026-{n:06d}",
            shop_id="shop",
            type=case_type,
            status=status,
            order_id="O1",
            lines=[CaseLine(line_item_id=line_id, reason=reason) for line_id, reason in lines],
            opened_at=statement_at or datetime(2026, 3, 5, 10, tzinfo=UTC),
            deadlines=deadlines or {},
            data=extra,
        )

    return build
