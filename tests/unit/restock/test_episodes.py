"""Restock detection: the same restock reported by several webhooks and the reconciler is one episode."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from aftersales.domain import StockLevel
from aftersales.store.models import RestockEpisode
from aftersales.workflows.restock import Availability, Source, availability, observe_stock

SHOP = "shop-1"
T0 = datetime(2026, 5, 4, 10, tzinfo=UTC)


def level(available: int, *, variant: str | None = "V1", product: str = "P1") -> StockLevel:
    return StockLevel(product_id=product, variant_id=variant, available=available, in_stock=available > 0)


def episodes(world: Any, variant: str = "V1") -> list[tuple[str, str]]:
    rows = world.session.scalars(
        select(RestockEpisode).where(RestockEpisode.variant_id == variant).order_by(RestockEpisode.id)
    )
    return [(r.state, r.detected_by) for r in rows]


def test_a_restock_reported_by_webhook_and_reconciliation_opens_one_episode(world: Any) -> None:
    t0 = T0
    world.sold_out("V1", at=t0)
    world.confirmed("V1", 2, start=t0)
    first = observe_stock(
        world.session, SHOP, level(5), source=Source.WEBHOOK, now=t0 + timedelta(hours=1), rules=world.rules
    )
    # Shopify's second topic for the same change, then the reconciler's poll.
    second = observe_stock(
        world.session, SHOP, level(5), source=Source.WEBHOOK, now=t0 + timedelta(hours=1), rules=world.rules
    )
    third = observe_stock(
        world.session, SHOP, level(4), source=Source.RECONCILE, now=t0 + timedelta(hours=2), rules=world.rules
    )
    assert first.opened is not None
    assert second.opened is None and third.opened is None
    assert episodes(world) == [("open", "webhook")]
    assert availability(world.session, SHOP, "V1") is Availability.IN_STOCK

    gone = observe_stock(
        world.session, SHOP, level(0), source=Source.RECONCILE, now=t0 + timedelta(hours=3), rules=world.rules
    )
    assert gone.ended == first.opened
    assert episodes(world) == [("sold_out", "webhook"), ("waiting", "reconcile")]
    assert availability(world.session, SHOP, "V1") is Availability.OUT_OF_STOCK

    back = observe_stock(
        world.session, SHOP, level(9), source=Source.RECONCILE, now=t0 + timedelta(days=1), rules=world.rules
    )
    assert back.opened is not None and back.opened != first.opened
    assert episodes(world) == [("sold_out", "webhook"), ("open", "reconcile")]


def test_a_delayed_in_stock_webhook_does_not_reopen_a_sold_out_variant(world: Any) -> None:
    t0 = T0
    world.sold_out("V1", at=t0)
    world.confirmed("V1", 1, start=t0)
    observe_stock(
        world.session,
        SHOP,
        level(3),
        source=Source.WEBHOOK,
        now=t0,
        rules=world.rules,
        observed_at=t0 + timedelta(minutes=10),
    )
    observe_stock(
        world.session,
        SHOP,
        level(0),
        source=Source.WEBHOOK,
        now=t0,
        rules=world.rules,
        observed_at=t0 + timedelta(minutes=20),
    )
    late = observe_stock(
        world.session,
        SHOP,
        level(3),
        source=Source.WEBHOOK,
        now=t0 + timedelta(minutes=30),
        rules=world.rules,
        observed_at=t0 + timedelta(minutes=11),
    )
    assert late.stale and late.opened is None
    assert episodes(world) == [("sold_out", "webhook"), ("waiting", "webhook")]


def test_a_restock_below_the_minimum_is_not_announced(world: Any) -> None:
    t0 = T0
    world.rules = replace(world.rules, min_stock=5)
    world.sold_out("V1", at=t0)
    world.confirmed("V1", 1, start=t0)
    small = observe_stock(world.session, SHOP, level(2), source=Source.WEBHOOK, now=t0, rules=world.rules)
    assert small.opened is None
    assert availability(world.session, SHOP, "V1") is Availability.OUT_OF_STOCK
    enough = observe_stock(world.session, SHOP, level(5), source=Source.WEBHOOK, now=t0, rules=world.rules)
    assert enough.opened is not None


def test_a_variant_first_seen_in_stock_is_not_tracked_until_it_sells_out(world: Any) -> None:
    t0 = T0
    seen = observe_stock(world.session, SHOP, level(7), source=Source.RECONCILE, now=t0, rules=world.rules)
    assert seen.opened is None and episodes(world) == []
    assert availability(world.session, SHOP, "V1") is Availability.UNKNOWN
    # A simple product (no variants) is keyed by its product id.
    observe_stock(
        world.session,
        SHOP,
        level(0, variant=None, product="P9"),
        source=Source.WEBHOOK,
        now=t0,
        rules=world.rules,
        name="Mug",
    )
    assert availability(world.session, SHOP, "P9") is Availability.OUT_OF_STOCK
    row = world.session.scalars(select(RestockEpisode).where(RestockEpisode.variant_id == "P9")).one()
    assert row.data == {"name": "Mug"} and row.product_id == "P9"
