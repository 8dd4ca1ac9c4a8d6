"""Inbox processing: normalize, refetch the authoritative order, dispatch, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from aftersales.domain import DomainEvent, EventType, Order, OrderData
from aftersales.engine.api import Registry, StepContext
from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.store.models import Effect, InboxItem, OrderSnapshot


def record(
    rt: Runtime, body: bytes, *, topic: str = "order.updated", key: str = "d1", shop: str = "shop-1"
) -> int:
    """What the web ingress writes for a verified delivery."""
    with rt.transaction() as session:
        item = InboxItem(
            shop_id=shop,
            platform="fake",
            topic=topic,
            dedupe_key=key,
            body=body,
            received_at=rt.clock.now(),
        )
        session.add(item)
        session.flush()
        return item.id


def inbox(rt: Runtime, inbox_id: int) -> InboxItem:
    with rt.read_session() as session:
        row = session.get(InboxItem, inbox_id)
        assert row is not None
        return row


@pytest.fixture
def seen(handlers: Registry) -> list[Order]:
    orders: list[Order] = []

    @handlers.on_event(EventType.ORDER_UPSERTED)
    def on_order(ctx: StepContext, event: DomainEvent) -> None:
        assert isinstance(event.data, OrderData)
        orders.append(event.data.order)
        # handlers are idempotent through keys: a redo finds the effect already recorded
        ctx.request_effect(
            f"note:{event.data.order.id}", "note", {"order_id": event.data.order.id, "text": "seen"}
        )

    return orders


def test_an_order_webhook_is_refetched_stored_and_dispatched_once(
    runtime: Runtime, memshop: Any, seen: list[Order], kit: SimpleNamespace
) -> None:
    stale = kit.make_order("100", total="100.00", updated=datetime(2026, 4, 21, tzinfo=UTC))
    fresh = kit.make_order(
        "100", total="100.00", updated=datetime(2026, 4, 22, tzinfo=UTC), email="new@example.com"
    )
    memshop.orders["100"] = fresh
    item = record(runtime, kit.webhook_body(stale))
    runtime.submit_inbox(item)  # inline: a no-op, the rows are the record
    runtime.run_until_idle()

    assert [o.customer.email for o in seen] == ["new@example.com"]
    assert memshop.calls == ["fetch_order", "add_note"]
    row = inbox(runtime, item)
    assert (row.state, row.attempts, row.error) == ("done", 1, None)
    with runtime.read_session() as session:
        snapshot = session.get(OrderSnapshot, ("shop-1", "100"))
        assert snapshot is not None
        assert (snapshot.number, snapshot.customer_email) == ("#100", "new@example.com")
    assert runtime.run_job("inbox", str(item)) == "skipped"


def test_a_late_older_copy_never_overwrites_a_newer_snapshot(
    make_runtime: Any, sqlite_url: str, seen: list[Order], kit: SimpleNamespace
) -> None:
    rt = make_runtime(sqlite_url)
    kit.add_shop(rt, credentials=False)  # nothing to refetch from: the body is all we have
    newer = kit.make_order("7", updated=datetime(2026, 4, 22, tzinfo=UTC), email="newer@example.com")
    older = kit.make_order("7", updated=datetime(2026, 4, 21, tzinfo=UTC), email="older@example.com")
    record(rt, kit.webhook_body(newer), key="a")
    record(rt, kit.webhook_body(older), key="b")
    rt.run_until_idle()

    assert [o.customer.email for o in seen] == ["newer@example.com", "newer@example.com"]
    with rt.read_session() as session:
        snapshot = session.get(OrderSnapshot, ("shop-1", "7"))
        assert snapshot is not None and snapshot.customer_email == "newer@example.com"


def test_a_failing_handler_is_retried_with_backoff_then_failed_with_the_error(
    runtime: Runtime, handlers: Registry, manual_clock: ManualClock, memshop: Any, kit: SimpleNamespace
) -> None:
    memshop.orders["5"] = kit.make_order("5")

    @handlers.on_event(EventType.ORDER_UPSERTED)
    def broken(ctx: StepContext, event: DomainEvent) -> None:
        ctx.request_effect("note:5", "note", {"order_id": "5", "text": "x"})
        raise ValueError("bad policy")

    item = record(runtime, kit.webhook_body(memshop.orders["5"]))
    runtime.run_until_idle()
    row = inbox(runtime, item)
    assert (row.state, row.attempts, row.error) == ("pending", 1, "ValueError: bad policy")
    for attempt in (1, 2):
        manual_clock.advance(runtime.settings.backoff(attempt))
        runtime.run_until_idle()
    row = inbox(runtime, item)
    assert (row.state, row.attempts) == ("failed", 3)
    with runtime.read_session() as session:
        assert session.get(Effect, "note:5") is None  # every attempt was rolled back whole


def test_unknown_topics_are_ignored_and_garbage_fails_at_once(runtime: Runtime, seen: list[Order]) -> None:
    ignored = record(runtime, b"{}", topic="coupon.created", key="c")
    garbage = record(runtime, b"<html>", key="g")
    wrong = record(runtime, b'{"id": 1}', key="w")
    runtime.run_until_idle()
    assert inbox(runtime, ignored).state == "ignored"
    assert inbox(runtime, garbage).state == "failed"
    assert "not JSON" in (inbox(runtime, garbage).error or "")
    assert inbox(runtime, wrong).state == "failed"
    assert "malformed" in (inbox(runtime, wrong).error or "")
    assert seen == []


def test_a_deleted_order_is_dispatched_from_the_body(
    runtime: Runtime, memshop: Any, seen: list[Order], kit: SimpleNamespace
) -> None:
    record(runtime, kit.webhook_body(kit.make_order("404")))
    runtime.run_until_idle()
    assert [o.id for o in seen] == ["404"]


def test_the_sweeper_leaves_fresh_items_to_their_own_enqueue(
    runtime: Runtime, manual_clock: ManualClock, kit: SimpleNamespace
) -> None:
    item = record(runtime, kit.webhook_body(kit.make_order("1")))
    assert [d.ref for d in runtime.due() if d.kind == "inbox"] == []
    manual_clock.advance(timedelta(seconds=runtime.settings.grace))
    assert [(d.kind, d.ref, d.dedupe) for d in runtime.due()] == [("inbox", str(item), f"inbox:{item}")]
