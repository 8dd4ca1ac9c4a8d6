"""Reconciliation: an order whose webhook never came is found by polling the shop, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.engine.clock import ManualClock
from aftersales.engine.reconcile import RECONCILE_TOPIC, TIMER_KIND
from aftersales.engine.runtime import Runtime
from aftersales.store.models import InboxItem, OrderSnapshot, Shop, Timer
from aftersales_woocommerce import testing as woocommerce_testing

SHOP = "recon-shop"


@pytest.fixture
def fake() -> Iterator[Any]:
    with woocommerce_testing.FakeWooCommerce() as shop:
        yield shop


@pytest.fixture
def runtime(sqlite_url: str, fake: Any) -> Iterator[Runtime]:
    rt = Runtime(sqlite_url, clock=ManualClock(datetime(2026, 11, 23, 9, tzinfo=UTC)), workflows=())
    rt.launch(worker=False)
    with rt.transaction() as session:
        session.add(
            Shop(
                id=SHOP,
                platform="woocommerce",
                credentials=fake.credentials(timeout_seconds=5).model_dump(mode="json"),
                created_at=rt.clock.now(),
            )
        )
    yield rt
    rt.shutdown()


def _stored_orders(rt: Runtime) -> list[str]:
    with rt.read_session() as session:
        return sorted(session.scalars(select(OrderSnapshot.order_id).where(OrderSnapshot.shop_id == SHOP)))


def test_an_order_whose_webhook_was_never_sent_is_found_and_processed_once(runtime: Runtime, fake: Any) -> None:
    fake.add_order(woocommerce_testing.sample_order(id=5001, number="5001"), webhook=False)
    assert _stored_orders(runtime) == []

    found = runtime.execute_command("orders.reconcile", SHOP, since="2000-01-01T00:00:00+00:00")
    assert (found["orders"], found["queued"]) == (1, 1)
    runtime.run_until_idle()
    assert _stored_orders(runtime) == ["5001"]

    again = runtime.execute_command("orders.reconcile", SHOP, since="2000-01-01T00:00:00+00:00")
    assert (again["orders"], again["queued"]) == (1, 0)  # the same change is never queued twice
    with runtime.read_session() as session:
        rows = list(session.scalars(select(InboxItem).where(InboxItem.topic == RECONCILE_TOPIC)))
        assert [(r.source, r.state) for r in rows] == [("reconcile", "done")]


def test_the_periodic_timer_polls_from_the_last_sync_and_rearms_itself(runtime: Runtime, fake: Any) -> None:
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    assert runtime.execute_command("orders.arm_reconciliation", SHOP, interval_seconds=600)["armed"] is True
    assert runtime.execute_command("orders.arm_reconciliation", SHOP, interval_seconds=600)["armed"] is False
    # changed after the timer was armed, in the shop's clock (the sample's own date is 2017)
    fake.add_order(
        woocommerce_testing.sample_order(id=5002, number="5002", date_modified_gmt="2026-11-23T09:05:00"),
        webhook=False,
    )
    clock.advance(timedelta(minutes=11))
    runtime.run_until_idle()
    assert _stored_orders(runtime) == ["5002"]
    with runtime.read_session() as session:
        timers = list(session.scalars(select(Timer).where(Timer.kind == TIMER_KIND).order_by(Timer.due_at)))
        assert [t.state for t in timers] == ["fired", "pending"]
        assert timers[1].due_at == clock.now() + timedelta(minutes=10)
