"""GDPR export/erasure of one address, tracked links, conversions and the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from aftersales.domain import Customer, FinancialStatus, LineItem, Money, Order, Platform
from aftersales.store.models import Conversion, OutboxMessage, RestockMessage, SubscriptionRow
from aftersales.workflows.restock import (
    Source,
    UnsubscribeOutcome,
    attribute_order,
    erase_address,
    export_address,
    mark_sent,
    observe_stock,
    record_click,
    restock_report,
    run_wave,
    subscribe,
    unsubscribe,
)

SHOP = "shop-1"
T0 = datetime(2026, 5, 4, 10, tzinfo=UTC)
RESTOCKED = T0 + timedelta(days=1)


def _alert_everyone(world: Any, count: int) -> tuple[int, list[str]]:
    world.sold_out("V1")
    buyers = world.confirmed("V1", count)
    level = world.shelf.put("P1", "V1", 10)
    episode = observe_stock(
        world.session, SHOP, level, source=Source.WEBHOOK, now=RESTOCKED, rules=world.rules
    )
    assert episode.opened is not None
    run_wave(world.session, episode.opened, 1, RESTOCKED, world.rules, world.ports)
    return episode.opened, buyers


def _message(world: Any, email: str) -> RestockMessage:
    return world.session.scalars(
        select(RestockMessage)
        .join(SubscriptionRow, SubscriptionRow.id == RestockMessage.subscription_id)
        .where(SubscriptionRow.email == email)
    ).one()


def _order(
    order_id: str, email: str, placed: datetime, *, variant: str = "V1", paid: str = "199.00", **kw: Any
) -> Order:
    zero = Money("0", "PLN")
    return Order(
        id=order_id,
        number=f"#{order_id}",
        platform=Platform.WOOCOMMERCE,
        currency="PLN",
        created_at=placed,
        customer=Customer(email=email),
        prices_include_tax=True,
        line_items=[
            LineItem(
                id="L1",
                product_id="P1",
                variant_id=variant,
                quantity=1,
                subtotal=Money(paid, "PLN"),
                discount=zero,
                tax=zero,
            ),
        ],
        total=Money(paid, "PLN"),
        financial_status=kw.pop("financial_status", FinancialStatus.PAID),
        **kw,
    )


def test_a_click_is_recorded_once_and_leads_to_the_product(world: Any) -> None:
    _episode, buyers = _alert_everyone(world, 2)
    token = _message(world, buyers[0]).token
    first = record_click(world.session, token, RESTOCKED + timedelta(minutes=5), world.rules)
    again = record_click(world.session, token, RESTOCKED + timedelta(minutes=9), world.rules)
    assert first.url == "https://shop.example/?post_type=product&p=P1" and first.first
    assert again.url == first.url and not again.first
    assert _message(world, buyers[0]).clicked_at == RESTOCKED + timedelta(minutes=5)
    assert _message(world, buyers[1]).clicked_at is None
    assert record_click(world.session, "no-such-token", RESTOCKED, world.rules).url is None


def test_orders_within_the_window_are_direct_when_clicked_and_assisted_otherwise(world: Any) -> None:
    episode, buyers = _alert_everyone(world, 4)
    for email in buyers:
        sub = world.session.scalars(select(SubscriptionRow.id).where(SubscriptionRow.email == email)).one()
        mark_sent(world.session, sub, episode, RESTOCKED + timedelta(minutes=1))
    record_click(world.session, _message(world, buyers[0]).token, RESTOCKED + timedelta(hours=1), world.rules)

    direct = attribute_order(
        world.session, SHOP, _order("1001", buyers[0].upper(), RESTOCKED + timedelta(hours=2)), world.rules
    )
    assisted = attribute_order(
        world.session, SHOP, _order("1002", buyers[1], RESTOCKED + timedelta(days=6)), world.rules
    )
    too_late = attribute_order(
        world.session, SHOP, _order("1003", buyers[2], RESTOCKED + timedelta(days=8)), world.rules
    )
    other_variant = attribute_order(
        world.session,
        SHOP,
        _order("1004", buyers[3], RESTOCKED + timedelta(hours=1), variant="V9"),
        world.rules,
    )
    stranger = attribute_order(world.session, SHOP, _order("1005", "x@example.com", RESTOCKED), world.rules)
    assert [(a.kind, str(a.amount)) for a in direct] == [("direct", "199.00")]
    assert [a.kind for a in assisted] == ["assisted"]
    assert too_late == other_variant == stranger == []

    # orders/updated re-delivers the order: still one conversion; then it is cancelled.
    attribute_order(
        world.session, SHOP, _order("1001", buyers[0], RESTOCKED + timedelta(hours=2)), world.rules
    )
    assert world.session.scalar(select(func.count()).select_from(Conversion)) == 2
    report = {r.variant_id: r for r in restock_report(world.session, SHOP)}["V1"]
    assert (report.queued, report.sent, report.clicked, report.converted) == (4, 4, 1, 2)
    assert (report.direct, report.assisted, report.waiting) == (1, 1, 0)
    assert report.revenue == {"PLN": Decimal("398.00")}
    assert report.name == "Red shoes" and report.episodes == 1

    cancelled = _order(
        "1002", buyers[1], RESTOCKED + timedelta(days=6), cancelled_at=RESTOCKED + timedelta(days=7)
    )
    assert attribute_order(world.session, SHOP, cancelled, world.rules) == []
    assert world.session.scalar(select(func.count()).select_from(Conversion)) == 1


def test_export_returns_everything_about_the_address_and_erasure_removes_it(world: Any) -> None:
    episode, buyers = _alert_everyone(world, 3)
    anna = buyers[1]
    world.sold_out("V2", product="P2")
    subscribe(
        world.session, SHOP, "V2", anna, "203.0.113.9", "pl", "v2", RESTOCKED, world.rules, world.tokens
    )
    record_click(world.session, _message(world, anna).token, RESTOCKED + timedelta(minutes=3), world.rules)
    attribute_order(world.session, SHOP, _order("2001", anna, RESTOCKED + timedelta(hours=1)), world.rules)

    data = export_address(world.session, SHOP, anna.upper())
    assert data["email"] == anna
    assert [(s["variant_id"], s["status"]) for s in data["subscriptions"]] == [
        ("V1", "notified"),
        ("V2", "pending"),
    ]
    consent = data["subscriptions"][0]["consent"]
    assert consent["wording_version"] == "v1" and consent["ip"] and consent["confirmed_at"]
    assert "nonce" not in str(data)
    assert [(m["episode_id"], m["wave"], m["clicked_at"] is not None) for m in data["messages"]] == [
        (episode, 1, True)
    ]
    assert [(c["order_id"], c["kind"]) for c in data["conversions"]] == [("2001", "direct")]
    assert [e["template"] for e in data["emails"]] == ["restock_alert"]
    assert "Red shoes" in data["emails"][0]["subject"]

    sub_ids = [
        s.id for s in world.session.scalars(select(SubscriptionRow).where(SubscriptionRow.email == anna))
    ]
    erased = erase_address(world.session, SHOP, anna)
    assert (erased.subscriptions, erased.messages_anonymized, erased.conversions_anonymized) == (2, 1, 1)
    assert erased.outbox_deleted == 1
    empty = export_address(world.session, SHOP, anna)
    assert empty["subscriptions"] == empty["messages"] == empty["conversions"] == empty["emails"] == []
    assert world.session.scalar(select(func.count()).where(OutboxMessage.recipient == anna)) == 0
    # The statistics survive, unlinked; the other subscribers are untouched.
    report = {r.variant_id: r for r in restock_report(world.session, SHOP)}["V1"]
    assert (report.queued, report.clicked, report.converted) == (3, 1, 1)
    assert world.session.scalar(select(func.count()).select_from(SubscriptionRow)) == 2
    # Links in the erased person's old e-mails answer like forged ones.
    stale = world.tokens.unsubscribe_token(sub_ids[0], everything=True)
    assert unsubscribe(world.session, stale, RESTOCKED, world.tokens).outcome is UnsubscribeOutcome.INVALID
