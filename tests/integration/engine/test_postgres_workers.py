"""Scale-out on PostgreSQL: several worker processes share one database and each job runs once.

Each job is a timer whose handler leaves an unkeyed marker row (two executions would leave
two) and asks for one note at the shop (the WooCommerce fake over HTTP; notes have no lookup,
so a double execution would show up as a second note with the same text).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from aftersales.domain import CaseType
from aftersales.engine.context import StepContext
from aftersales.engine.runtime import Runtime
from aftersales.store.models import CaseRow, Effect, Shop, Timer

woocommerce_testing = pytest.importorskip("aftersales_woocommerce.testing")

pytestmark = pytest.mark.postgres


@pytest.fixture
def fake() -> Iterator[Any]:
    shop = woocommerce_testing.FakeWooCommerce(consumer_key="ck_test", consumer_secret="cs_test")
    shop.start()
    yield shop
    shop.stop()


def add_shop(rt: Runtime, fake: Any, orders: int) -> list[str]:
    ids = [
        str(fake.add_order(woocommerce_testing.sample_order(id=7000 + n), webhook=False)["id"])
        for n in range(orders)
    ]
    with rt.transaction() as session:
        session.add(
            Shop(
                id="pg-shop",
                platform="woocommerce",
                credentials=fake.credentials(timeout_seconds=10).model_dump(mode="json"),
                created_at=rt.clock.now(),
            )
        )
    return ids


def count(rt: Runtime, query: Any) -> int:
    with rt.read_session() as session:
        return int(session.scalar(query) or 0)


def notes(fake: Any, orders: list[str]) -> Counter[str]:
    return Counter(note["note"] for order in orders for note in fake.notes(order))


def test_two_workers_process_a_thousand_jobs_exactly_once(
    pg_url: str, fake: Any, start_worker: Callable[..., Any], wait: Callable[..., Any]
) -> None:
    jobs = 1000
    rt = Runtime(pg_url, workflows=()).launch(worker=False)
    orders = add_shop(rt, fake, 10)
    now = datetime.now(UTC)
    with rt.transaction() as session:
        session.execute(
            insert(Timer),
            [
                {
                    "id": f"job:{n:04d}",
                    "shop_id": "pg-shop",
                    "kind": "enginetest.job",
                    "due_at": now,
                    "payload": {"order_id": orders[n % len(orders)]},
                    "state": "pending",
                    "created_at": now,
                    "attempts": 0,
                }
                for n in range(jobs)
            ],
        )
    workers = (start_worker(pg_url, "pg-a"), start_worker(pg_url, "pg-b"))
    wait(
        "every note at the shop",
        lambda: (
            sum(notes(fake, orders).values()) >= jobs
            and count(rt, select(func.count()).select_from(Effect).where(Effect.state == "confirmed")) == jobs
        ),
        timeout=120,
        workers=workers,
    )
    for worker in workers:
        assert worker.stop() == 0

    assert count(rt, select(func.count()).select_from(Timer).where(Timer.state == "fired")) == jobs
    with rt.read_session() as session:
        marks = [
            dict(p) for p in session.scalars(select(Timer.payload).where(Timer.kind == "enginetest.never"))
        ]
    assert Counter(mark["job"] for mark in marks) == {f"job:{n:04d}": 1 for n in range(jobs)}
    assert len({mark["pid"] for mark in marks}) == 2, "both workers took jobs"
    seen = notes(fake, orders)
    assert len(seen) == jobs and set(seen.values()) == {1}
    rt.shutdown()


@pytest.mark.crash
def test_a_dead_workers_jobs_are_taken_over_and_no_refund_is_paid_twice(
    pg_url: str, fake: Any, start_worker: Callable[..., Any], wait: Callable[..., Any]
) -> None:
    """Worker A is killed for good mid-refunds; B sees its heartbeat stop, takes its workflows
    over and settles every case — the refunds A made are found by the lookup, not repeated."""
    cases = 40
    rt = Runtime(pg_url, workflows=()).launch(worker=False)
    orders = add_shop(rt, fake, cases)
    with rt.transaction() as session:
        shop = session.get(Shop, "pg-shop")
        assert shop is not None
        ctx = StepContext(session, rt, shop)
        for order in orders:
            case = ctx.open_case(
                type=CaseType.RETURN, status="approved", order_id=order, data={"suite": "engine-it"}
            )
            ctx.schedule(
                f"refund:{case.id}",
                "enginetest.refund",
                ctx.now(),
                case_id=case.id,
                payload={"amount": "1.00"},
            )
    fake.delay_next(1.0, path_prefix="/wp-json/wc/v3/orders/", method="POST", times=cases)

    def refunds() -> int:
        return sum(len(fake.refunds(order)) for order in orders)

    a = start_worker(pg_url, "pg-a")
    wait("A's first refunds", lambda: refunds() >= 4, timeout=60, workers=(a,))
    b = start_worker(pg_url, "pg-b")
    a.kill()
    wait(
        "every case settled by B",
        lambda: (
            count(rt, select(func.count()).select_from(CaseRow).where(CaseRow.status == "settled")) == cases
        ),
        timeout=90,
        workers=(b,),
    )
    assert b.stop() == 0
    assert {order: len(fake.refunds(order)) for order in orders} == dict.fromkeys(orders, 1)
    with rt.read_session() as session:
        effects = list(session.scalars(select(Effect)))
    assert [e.state for e in effects] == ["confirmed"] * cases
    assert "executors_taken_over" in b.output()  # A's pending workflows were re-enqueued for B
    rt.shutdown()
