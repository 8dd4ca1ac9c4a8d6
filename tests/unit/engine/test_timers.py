"""Durable timers: a legal clock fires once when due — also when it fell due during downtime."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.domain import CaseType
from aftersales.engine.api import Registry, StepContext, TimerInfo
from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.store.models import CaseRow, Timer


@pytest.fixture
def fired(handlers: Registry) -> list[TimerInfo]:
    seen: list[TimerInfo] = []

    @handlers.command("test.schedule")
    def schedule(
        ctx: StepContext, *, timer_id: str, due: str, kind: str = "test.refund_due"
    ) -> dict[str, Any]:
        ctx.schedule(timer_id, kind, datetime.fromisoformat(due), payload={"why": "art. 32"})
        return {}

    @handlers.command("test.cancel")
    def cancel(ctx: StepContext, *, timer_id: str) -> dict[str, Any]:
        return {"cancelled": ctx.cancel_timer(timer_id)}

    @handlers.on_timer("test.refund_due")
    def on_due(ctx: StepContext, timer: TimerInfo) -> None:
        seen.append(timer)

    return seen


def timer(rt: Runtime, timer_id: str) -> Timer:
    with rt.read_session() as session:
        row = session.get(Timer, timer_id)
        assert row is not None
        return row


def test_a_timer_fires_once_when_the_clock_reaches_it(
    runtime: Runtime, fired: list[TimerInfo], manual_clock: ManualClock
) -> None:
    due = manual_clock.now() + timedelta(days=14)
    runtime.execute_command("test.schedule", "shop-1", timer_id="case:1:refund_due", due=due.isoformat())
    runtime.run_until_idle()
    manual_clock.advance(timedelta(days=13, hours=23))
    runtime.run_until_idle()
    assert fired == []

    manual_clock.advance(timedelta(hours=1))
    runtime.run_until_idle()
    runtime.run_until_idle()
    assert [(t.id, t.due_at, t.payload) for t in fired] == [("case:1:refund_due", due, {"why": "art. 32"})]
    row = timer(runtime, "case:1:refund_due")
    assert (row.state, row.fired_at) == ("fired", manual_clock.now())
    assert runtime.run_job("timer", "case:1:refund_due") == "skipped"


def test_a_timer_due_while_every_worker_was_down_fires_once_after_the_restart(
    make_runtime: Any,
    sqlite_url: str,
    fired: list[TimerInfo],
    manual_clock: ManualClock,
    kit: SimpleNamespace,
) -> None:
    before = make_runtime(sqlite_url)
    kit.add_shop(before)
    due = manual_clock.now() + timedelta(days=14)
    before.execute_command("test.schedule", "shop-1", timer_id="case:2:refund_due", due=due.isoformat())
    before.shutdown()

    manual_clock.advance(timedelta(days=20))  # the service was down over the deadline
    after = make_runtime(sqlite_url)
    after.run_until_idle()
    again = make_runtime(sqlite_url)
    again.run_until_idle()

    assert [t.id for t in fired] == ["case:2:refund_due"]
    assert fired[0].fired_at == due + timedelta(days=6)


def test_scheduling_again_moves_a_pending_timer_but_never_rearms_a_fired_one(
    runtime: Runtime, fired: list[TimerInfo], manual_clock: ManualClock
) -> None:
    start = manual_clock.now()
    runtime.execute_command(
        "test.schedule", "shop-1", timer_id="t", due=(start + timedelta(days=5)).isoformat()
    )
    runtime.execute_command(
        "test.schedule", "shop-1", timer_id="t", due=(start + timedelta(days=2)).isoformat()
    )
    manual_clock.advance(timedelta(days=2))
    runtime.run_until_idle()
    assert len(fired) == 1

    runtime.execute_command(
        "test.schedule", "shop-1", timer_id="t", due=(start + timedelta(days=3)).isoformat()
    )
    manual_clock.advance(timedelta(days=2))
    runtime.run_until_idle()
    assert len(fired) == 1
    assert timer(runtime, "t").due_at == start + timedelta(days=2)


def test_a_cancelled_timer_never_fires(
    runtime: Runtime, fired: list[TimerInfo], manual_clock: ManualClock
) -> None:
    runtime.execute_command("test.schedule", "shop-1", timer_id="c", due=manual_clock.now().isoformat())
    assert runtime.execute_command("test.cancel", "shop-1", timer_id="c") == {"cancelled": True}
    assert runtime.execute_command("test.cancel", "shop-1", timer_id="c") == {"cancelled": False}
    runtime.run_until_idle()
    assert fired == []
    assert timer(runtime, "c").state == "cancelled"


def test_a_failing_timer_handler_is_retried_with_backoff_then_failed_with_its_error(
    runtime: Runtime, handlers: Registry, manual_clock: ManualClock
) -> None:
    calls: list[datetime] = []

    @handlers.command("test.schedule")
    def schedule(ctx: StepContext) -> dict[str, Any]:
        ctx.schedule("broken", "test.broken", ctx.now())
        return {}

    @handlers.on_timer("test.broken")
    def broken(ctx: StepContext, timer: TimerInfo) -> None:
        calls.append(ctx.now())
        ctx.schedule("side-effect", "test.other", ctx.now())  # rolled back with the failure
        raise RuntimeError("policy file is missing")

    runtime.execute_command("test.schedule", "shop-1")
    runtime.run_until_idle()
    row = timer(runtime, "broken")
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.error == "RuntimeError: policy file is missing"
    runtime.run_until_idle()
    assert len(calls) == 1  # backing off
    for attempt in (1, 2):
        manual_clock.advance(runtime.settings.backoff(attempt))
        runtime.run_until_idle()
    row = timer(runtime, "broken")
    assert (row.state, row.attempts, len(calls)) == ("failed", 3, 3)
    with runtime.read_session() as session:
        assert session.get(Timer, "side-effect") is None


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_racing_workers_fire_a_timer_once(
    db: str, request: pytest.FixtureRequest, make_runtime: Any, handlers: Registry, kit: SimpleNamespace
) -> None:
    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url")
    rt = make_runtime(url)
    kit.add_shop(rt)

    @handlers.command("test.opened")
    def opened(ctx: StepContext) -> dict[str, Any]:
        for n in range(20):
            ctx.schedule(f"race:{n}", "test.race", ctx.now())
        return {}

    @handlers.on_timer("test.race")
    def on_race(ctx: StepContext, timer: TimerInfo) -> None:
        # a second firing would open a second case: the source ref is new every time
        ctx.open_case(type=CaseType.COMPLAINT, status="deemed", source="timer", source_ref=uuid.uuid4().hex)

    rt.execute_command("test.opened", "shop-1")
    threads = [
        threading.Thread(target=lambda: [rt.run_job("timer", f"race:{n}") for n in range(20)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with rt.read_session() as session:
        assert session.scalar(select(func.count()).select_from(CaseRow)) == 20
        assert session.scalar(select(func.count()).select_from(Timer).where(Timer.state == "fired")) == 20
