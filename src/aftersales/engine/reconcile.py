"""Order reconciliation: poll the shop for what webhooks missed (DESIGN §3, §10).

WooCommerce never retries a failed webhook and disables one after five failures; Shopify
gives up after 8 tries in 4 hours. So every shop with credentials has a durable timer
(``engine.reconcile_orders``) that asks the platform for orders changed since the last sync
(``ShopClient.list_orders_changed_since``, paged by the plugin) and feeds each one into the
SAME pipeline as webhooks: an inbox row whose body is the normalized
:class:`~aftersales.domain.DomainEvent` (topic :data:`RECONCILE_TOPIC`, source ``reconcile``).
The inbox's unique ``(shop_id, dedupe_key)`` — order id + the platform's modification time —
makes a re-poll of the same change a no-op; a change that also came by webhook is processed
again, which the workflows tolerate because everything they write is keyed.

The cursor (``shops.sync["orders"]``) moves to the newest modification time seen, minus an
overlap, so an order saved during the poll is not skipped. The HTTP reads happen inside the
timer's step (as ``ctx.fetch_order`` does), bounded by the plugin's timeouts.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select

from aftersales.domain import DomainEvent, EventType, Order, OrderData
from aftersales.engine.api import StepContext, TimerInfo, registry
from aftersales.store.models import InboxItem, Shop, Timer

log = structlog.get_logger("aftersales.engine.reconcile")

RECONCILE_TOPIC = "aftersales/order.reconciled"
"""Inbox topic of a reconciled order; its body is the DomainEvent JSON, not platform JSON."""
TIMER_KIND = "engine.reconcile_orders"
DEFAULT_INTERVAL = timedelta(minutes=15)
FIRST_LOOKBACK = timedelta(days=1)
OVERLAP = timedelta(minutes=5)


def timer_id(shop_id: str, due_at: datetime) -> str:
    """One id per cycle: a firing timer cannot re-arm its own id (it is marked fired after the step)."""
    return f"reconcile:orders:{shop_id}:{due_at.strftime('%Y%m%dT%H%M%S')}"


def dedupe_key(order: Order) -> str:
    changed = order.updated_at.isoformat() if order.updated_at else None
    if changed is None:  # no modification time: the content itself is the version
        changed = hashlib.sha256(order.model_dump_json().encode()).hexdigest()[:32]
    return f"reconcile:order:{order.id}:{changed}"


def reconcile_orders(ctx: StepContext, since: datetime | None = None) -> dict[str, Any]:
    """Queue every order changed since the cursor (or ``since``); returns what was found."""
    client = ctx.platform_client()
    if client is None:
        return {"shop": ctx.shop_id, "orders": 0, "queued": 0, "reason": "no platform credentials"}
    session = ctx.session
    shop = session.get(Shop, ctx.shop_id)
    assert shop is not None
    now = ctx.now()
    cursor_raw = (shop.sync or {}).get("orders")
    cursor = since or (datetime.fromisoformat(cursor_raw) - OVERLAP if cursor_raw else now - FIRST_LOOKBACK)
    seen = queued = 0
    newest = cursor
    for order in client.list_orders_changed_since(cursor):
        seen += 1
        if order.updated_at and order.updated_at > newest:
            newest = order.updated_at
        key = dedupe_key(order)
        exists = session.scalar(
            select(InboxItem.id).where(InboxItem.shop_id == shop.id, InboxItem.dedupe_key == key)
        )
        if exists is not None:
            continue
        event = DomainEvent(
            platform=shop.platform,
            topic=RECONCILE_TOPIC,
            type=EventType.ORDER_UPSERTED,
            shop_resource_id=order.id,
            occurred_at=order.updated_at,
            data=OrderData(order=order),
        )
        session.add(
            InboxItem(
                shop_id=shop.id,
                platform=shop.platform,
                topic=RECONCILE_TOPIC,
                dedupe_key=key,
                body=event.model_dump_json().encode(),
                source="reconcile",
                state="pending",
                attempts=0,
                received_at=now,
            )
        )
        queued += 1
    shop.sync = {**(shop.sync or {}), "orders": max(newest, now - OVERLAP).isoformat()}
    log.info("orders_reconciled", shop_id=shop.id, orders=seen, queued=queued, since=cursor.isoformat())
    return {"shop": shop.id, "orders": seen, "queued": queued, "since": cursor.isoformat()}


@registry.on_timer(TIMER_KIND)
def on_reconcile_due(ctx: StepContext, timer: TimerInfo) -> None:
    reconcile_orders(ctx)
    interval = timedelta(
        seconds=float(timer.payload.get("interval_seconds", DEFAULT_INTERVAL.total_seconds()))
    )
    due = ctx.now() + interval
    ctx.schedule(timer_id(ctx.shop_id, due), TIMER_KIND, due, payload=timer.payload)


@registry.command("orders.reconcile")
def reconcile_command(ctx: StepContext, *, since: str | None = None) -> dict[str, Any]:
    return reconcile_orders(ctx, datetime.fromisoformat(since) if since else None)


def arm(ctx: StepContext, interval: timedelta = DEFAULT_INTERVAL) -> bool:
    """Start the periodic reconciliation of this shop unless a timer is already armed."""
    pending = ctx.session.scalar(
        select(Timer.id).where(
            Timer.shop_id == ctx.shop_id, Timer.kind == TIMER_KIND, Timer.state == "pending"
        )
    )
    if pending is not None:
        return False
    due = ctx.now() + interval
    ctx.schedule(
        timer_id(ctx.shop_id, due), TIMER_KIND, due, payload={"interval_seconds": interval.total_seconds()}
    )
    return True


@registry.command("orders.arm_reconciliation")
def arm_command(ctx: StepContext, *, interval_seconds: float | None = None) -> dict[str, Any]:
    interval = timedelta(seconds=interval_seconds) if interval_seconds else DEFAULT_INTERVAL
    return {"shop": ctx.shop_id, "armed": arm(ctx, interval)}
