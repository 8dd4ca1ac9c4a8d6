"""A worker runtime in this process (DBOS on SQLite): a webhook goes inbox → queue → handler →
ledger → the WooCommerce fake over HTTP, by the ingress's enqueue and by the sweeper alike."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from aftersales.domain import CaseType, DomainEvent, EventType, Money, OrderData
from aftersales.engine.api import EffectInfo, StepContext, registry
from aftersales.engine.runtime import Runtime
from aftersales.engine.settings import EngineSettings
from aftersales.platforms import RefundRequest
from aftersales.store import cases as case_store
from aftersales.store.db import make_engine
from aftersales.store.models import EngineExecutor, InboxItem, Shop

woocommerce_testing = pytest.importorskip("aftersales_woocommerce.testing")


@pytest.fixture
def fake() -> Iterator[Any]:
    shop = woocommerce_testing.FakeWooCommerce(consumer_key="ck_test", consumer_secret="cs_test")
    shop.start()
    yield shop
    shop.stop()


@pytest.fixture
def worker(sqlite_url: str, fake: Any) -> Iterator[Runtime]:
    with registry.isolated() as handlers:

        @handlers.on_event(EventType.ORDER_UPSERTED)
        def refund_new_orders(ctx: StepContext, event: DomainEvent) -> None:
            assert isinstance(event.data, OrderData)
            order = event.data.order
            case = ctx.open_case(
                type=CaseType.GOODWILL,
                status="refunding",
                order_id=order.id,
                source="platform",
                source_ref=order.id,
            )
            key = f"refund:{case.id}"
            request = RefundRequest(effect_key=key, order_id=order.id, amount=Money("2.00", order.currency))
            ctx.request_effect(key, "refund", request, case_id=case.id)

        @handlers.on_effect("refund")
        def settled(ctx: StepContext, effect: EffectInfo) -> None:
            case = ctx.load_case(str(effect.case_id))
            if case is not None and case.status == "refunding":
                ctx.transition(case, "settled", event="refund_confirmed")

        settings = EngineSettings(sweep_interval=0.2, grace=0.5, heartbeat_interval=0.5, dead_after=5)
        rt = Runtime(sqlite_url, workflows=(), settings=settings).launch()
        with rt.transaction() as session:
            session.add(
                Shop(
                    id="wc",
                    platform="woocommerce",
                    credentials=fake.credentials().model_dump(mode="json"),
                    created_at=rt.clock.now(),
                )
            )
        try:
            yield rt
        finally:
            rt.shutdown()


def record(rt: Runtime, order: dict[str, Any], key: str) -> int:
    with rt.transaction() as session:
        item = InboxItem(
            shop_id="wc",
            platform="woocommerce",
            topic="order.updated",
            dedupe_key=key,
            body=json.dumps(order).encode(),
            received_at=rt.clock.now(),
        )
        session.add(item)
        session.flush()
        return item.id


def wait_until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def settled(rt: Runtime, order_id: str) -> bool:
    with rt.read_session() as session:
        return [c.status for c in case_store.list_cases(session, order_id=order_id)] == ["settled"]


def test_a_webhook_is_processed_through_the_queue_and_by_the_sweeper(worker: Runtime, fake: Any) -> None:
    first = fake.add_order(woocommerce_testing.sample_order(id=501), webhook=False)
    second = fake.add_order(woocommerce_testing.sample_order(id=502), webhook=False)
    stale_body = {**first, "status": "pending"}  # the shop has moved on since this body was sent

    inbox_id = record(worker, stale_body, "501@1")
    asyncio.run(worker.submit_inbox_async(inbox_id))  # what the web ingress does after its commit
    wait_until(lambda: settled(worker, "501"))

    record(worker, second, "502@1")  # its enqueue was lost: the sweeper finds the row
    wait_until(lambda: settled(worker, "502"))

    assert [len(fake.refunds(501)), len(fake.refunds(502))] == [1, 1]
    assert ("GET", "/wp-json/wc/v3/orders/501") in fake.requests  # refetched, not trusted
    with worker.read_session() as session:
        states = set(session.scalars(select(InboxItem.state)))
        assert states == {"done"}
        order = session.execute(select(InboxItem.id)).all()
        assert len(order) == 2


def test_one_worker_runtime_per_process_and_a_clean_stop_frees_the_id(
    worker: Runtime, sqlite_url: str
) -> None:
    with pytest.raises(RuntimeError, match="already launched"):
        Runtime(sqlite_url, workflows=(), executor_id="second").launch()
    executor_id = worker.executor_id
    worker.shutdown()
    with worker.read_session() as session:
        row = session.get(EngineExecutor, executor_id)
        assert row is not None and row.state == "stopped"
        second = session.get(EngineExecutor, "second")
        assert second is not None and second.state == "stopped"  # released when its launch failed


def test_jobs_stranded_under_a_dead_executor_are_recovered_even_if_its_taker_died(
    worker: Runtime, fake: Any
) -> None:
    """A taker marked the executor dead, then died before asking DBOS to hand its jobs back: the
    next worker's heartbeat still recovers them (the sweeper alone could not: its deduplicated
    enqueue returns the stuck job)."""
    from dbos import DBOSClient

    from aftersales.engine.durable import APP_NAME, QUEUE

    durable = worker._durable
    assert durable is not None
    client = DBOSClient(
        system_database_url=durable.system_url, dbos_system_schema=durable.schema, application_name=APP_NAME
    )
    queue = client.retrieve_queue(QUEUE)
    assert queue is not None
    queue.set_worker_concurrency(0)  # hold the queue while the scene is set
    order = fake.add_order(woocommerce_testing.sample_order(id=777), webhook=False)
    inbox_id = record(worker, order, "777@1")
    worker.submit_inbox(inbox_id)
    system = make_engine(durable.system_url)
    with system.begin() as conn:  # the ghost executor took the job and died with it
        conn.execute(
            text(
                "UPDATE workflow_status SET status = 'PENDING', executor_id = 'ghost' WHERE deduplication_id = :d"
            ),
            {"d": f"inbox:{inbox_id}"},
        )
    system.dispose()
    with worker.transaction() as session:  # ...and its taker died right after the dead mark
        now = datetime.now(UTC)
        session.add(
            EngineExecutor(
                id="ghost",
                host="elsewhere",
                pid=1,
                incarnation="x",
                state="dead",
                started_at=now,
                heartbeat_at=now,
            )
        )
    queue.set_worker_concurrency(worker.settings.concurrency)
    client.destroy()
    wait_until(lambda: settled(worker, "777"))
    assert len(fake.refunds(777)) == 1
