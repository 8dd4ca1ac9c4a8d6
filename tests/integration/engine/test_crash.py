"""Kill -9 a worker in the middle of automated refunds; after the restart every case is settled,
the shop saw exactly one refund per case, and a timer that fell due during the downtime fired once.

The shop is the WooCommerce fake over real HTTP, answering every refund late (the refund is
made first, then the answer waits), so the kill lands between "the shop made the refund" and
"the ledger recorded it" — the window the ledger's lookup exists for.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.domain import CaseType, Customer
from aftersales.engine.context import StepContext
from aftersales.engine.runtime import Runtime
from aftersales.store.models import CaseRow, Effect, Shop, Timer

woocommerce_testing = pytest.importorskip("aftersales_woocommerce.testing")

CASES = 8
SUITE = "engine-it"


@pytest.fixture
def fake() -> Iterator[Any]:
    shop = woocommerce_testing.FakeWooCommerce(consumer_key="ck_test", consumer_secret="cs_test")
    shop.start()
    yield shop
    shop.stop()


def setup_cases(rt: Runtime, fake: Any) -> list[str]:
    """A shop, CASES approved cases on orders at the fake, and a refund timer due now for each."""
    orders = [
        fake.add_order(woocommerce_testing.sample_order(id=9000 + n), webhook=False) for n in range(CASES)
    ]
    with rt.transaction() as session:
        shop = Shop(
            id="crash-shop",
            platform="woocommerce",
            credentials=fake.credentials(timeout_seconds=5).model_dump(mode="json"),
            created_at=rt.clock.now(),
        )
        session.add(shop)
        session.flush()
        ctx = StepContext(session, rt, shop)
        ids = []
        for order in orders:
            case = ctx.open_case(
                type=CaseType.RETURN,
                status="approved",
                order_id=str(order["id"]),
                customer=Customer(email="ann@example.com"),
                data={"suite": SUITE},
            )
            ctx.schedule(
                f"refund:{case.id}",
                "enginetest.refund",
                ctx.now(),
                case_id=case.id,
                payload={"amount": "1.00"},
            )
            ids.append(str(order["id"]))
    return ids


def schedule_mark(rt: Runtime, timer_id: str, due_in: timedelta) -> None:
    with rt.transaction() as session:
        shop = session.get(Shop, "crash-shop")
        assert shop is not None
        StepContext(session, rt, shop).schedule(timer_id, "enginetest.mark", rt.clock.now() + due_in)


def count(rt: Runtime, query: Any) -> int:
    with rt.read_session() as session:
        return int(session.scalar(query) or 0)


@pytest.mark.crash
def test_kill_9_mid_refunds_then_restart_pays_each_case_exactly_once(
    sqlite_url: str, fake: Any, start_worker: Callable[..., Any], wait: Callable[..., Any]
) -> None:
    rt = Runtime(sqlite_url, workflows=()).launch(worker=False)
    orders = setup_cases(rt, fake)
    # every refund is made at once but answered 1 s later: the kill lands inside that window
    fake.delay_next(1.0, path_prefix="/wp-json/wc/v3/orders/", method="POST", times=CASES)

    def refunds_at_shop() -> int:
        return sum(len(fake.refunds(order)) for order in orders)

    def sent() -> int:
        return count(rt, select(func.count()).select_from(Effect).where(Effect.state == "sent"))

    first = start_worker(sqlite_url, "crash-worker", concurrency=4)
    wait(
        "refunds made at the shop but not yet answered",
        lambda: refunds_at_shop() >= 2 and sent() >= 2,
        timeout=60,
        workers=(first,),
    )
    schedule_mark(rt, "during-downtime", timedelta(seconds=1.5))
    first.kill()
    killed_at = time.monotonic()

    in_flight = sent()
    settled = count(rt, select(func.count()).select_from(CaseRow).where(CaseRow.status == "settled"))
    assert in_flight >= 1, "the kill should land while refunds are in flight"
    assert settled < CASES

    time.sleep(max(0.0, 2.0 - (time.monotonic() - killed_at)))  # the timer falls due while nobody runs
    second = start_worker(sqlite_url, "crash-worker", concurrency=4)
    wait(
        "every case to be settled",
        lambda: (
            count(rt, select(func.count()).select_from(CaseRow).where(CaseRow.status == "settled")) == CASES
        ),
        timeout=60,
        workers=(second,),
    )
    wait(
        "the downtime timer to fire",
        lambda: count(
            rt,
            select(func.count())
            .select_from(Timer)
            .where(Timer.state == "fired", Timer.id == "during-downtime"),
        ),
        timeout=30,
        workers=(second,),
    )
    time.sleep(1.0)  # room for a duplicate to show up, if there were one
    assert second.stop() == 0

    per_order = {order: fake.refunds(order) for order in orders}
    assert {order: len(refunds) for order, refunds in per_order.items()} == dict.fromkeys(orders, 1)
    keys = Counter(
        meta["value"]
        for refunds in per_order.values()
        for refund in refunds
        for meta in refund.get("meta_data", [])
        if "effect" in str(meta.get("key", ""))
    )
    assert len(keys) == CASES and set(keys.values()) == {1}
    with rt.read_session() as session:
        effects = list(session.scalars(select(Effect)))
    assert [e.state for e in effects] == ["confirmed"] * CASES
    # the refunds the dead worker had made were found at the shop, not made again
    assert any((e.result or {}).get("found_by_lookup") for e in effects)
    marks = count(rt, select(func.count()).select_from(CaseRow).where(CaseRow.status == "marked"))
    assert marks == 1, "a timer due during the downtime fires exactly once after the restart"
    rt.shutdown()
