"""Order snapshots: the newest authoritative copy of each platform order.

Webhooks arrive late, twice and out of order (Shopify retries for hours; two ``order.updated``
deliveries may swap places), so a body is never trusted to be the current order: the engine
re-reads the order from the shop and keeps a snapshot only when it is at least as new as the
one stored (by the platform's own ``updated_at``). An older copy arriving later is ignored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales.domain import Order
from aftersales.store.models import OrderSnapshot


def load_order(session: Session, shop_id: str, order_id: str) -> Order | None:
    row = session.get(OrderSnapshot, (shop_id, str(order_id)))
    return Order.model_validate(row.data) if row is not None else None


def store_order(session: Session, shop_id: str, order: Order, now: datetime) -> bool:
    """Upsert the snapshot of ``order``; False (and nothing written) when the stored one is newer."""
    row = session.get(OrderSnapshot, (shop_id, order.id), with_for_update=True)
    data = order.model_dump(mode="json")
    if row is None:
        session.add(
            OrderSnapshot(
                shop_id=shop_id,
                order_id=order.id,
                number=order.number,
                customer_email=(order.customer.email or "").lower() or None,
                data=data,
                platform_updated_at=order.updated_at,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        return True
    if (
        row.platform_updated_at is not None
        and order.updated_at is not None
        and order.updated_at < row.platform_updated_at
    ):
        return False
    row.number = order.number
    row.customer_email = (order.customer.email or "").lower() or None
    row.data = data
    row.platform_updated_at = order.updated_at or row.platform_updated_at
    row.updated_at = now
    return True


def find_order(session: Session, shop_id: str, number: str, email: str) -> Order | None:
    """The order a customer identifies by its number and their e-mail (both must match).

    The number is compared without a leading ``#`` (Shopify shows ``#1001``, customers type
    either), the e-mail case-insensitively.
    """
    wanted = number.strip().lstrip("#")
    candidates = {wanted, f"#{wanted}"}
    row = session.scalars(
        select(OrderSnapshot)
        .where(
            OrderSnapshot.shop_id == shop_id,
            OrderSnapshot.number.in_(candidates),
            func.lower(OrderSnapshot.customer_email) == email.strip().lower(),
        )
        .limit(1)
    ).first()
    return Order.model_validate(row.data) if row is not None else None
