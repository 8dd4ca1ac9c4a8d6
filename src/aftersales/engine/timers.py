"""Durable timers: a 14-day legal clock is a row with ``due_at``, not a sleeping process.

A timer fires when the engine clock reaches ``due_at``: the sweeper finds it (every few
seconds, and at once when a worker starts, so a timer that fell due while every worker was
down fires right after the restart), and a timer due within minutes is also enqueued with a
DBOS delay so it fires on time rather than at the next sweep. Either way the firing itself is
one transaction: lock the row, check it is still pending and due, run the handlers of its
kind, mark it ``fired``. Two workers (or a delayed enqueue and a sweep) racing for the same
timer serialize on the row; the second finds it fired. So it fires exactly once.

A firing whose handler raises is rolled back and retried with backoff (``fired_at`` keeps the
time of the last attempt while the timer is pending); after ``max_attempts`` the timer is
``failed`` with the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from aftersales.engine._info import TimerInfo
from aftersales.engine.conflicts import retry_conflicts
from aftersales.engine.context import AfterCommit, StepContext
from aftersales.engine.registry import registry
from aftersales.store.models import Shop, Timer

if TYPE_CHECKING:
    from aftersales.engine.runtime import Runtime

log = structlog.get_logger("aftersales.engine.timers")


def fire_timer(rt: Runtime, timer_id: str) -> str:
    """Fire one timer; returns ``fired``, ``early`` (not due yet), ``retry``, ``failed`` or ``skipped``."""
    try:
        return retry_conflicts(lambda: _fire(rt, timer_id))
    except Exception as exc:
        return _record_failure(rt, timer_id, exc)


def _fire(rt: Runtime, timer_id: str) -> str:
    after = AfterCommit()
    with rt.transaction() as session:
        row = session.get(Timer, timer_id, with_for_update=True)
        if row is None or row.state != "pending":
            return "skipped"
        now = rt.clock.now()
        if row.due_at > now:
            return "early"
        shop = session.get(Shop, row.shop_id)
        if shop is None:
            row.state, row.error = "failed", f"shop {row.shop_id} is not registered"
            return "failed"
        info = TimerInfo(
            id=row.id,
            kind=row.kind,
            shop_id=row.shop_id,
            case_id=row.case_id,
            due_at=row.due_at,
            fired_at=now,
            payload=dict(row.payload or {}),
        )
        ctx = StepContext(session, rt, shop, after=after)
        for handler in registry.timer_handlers(row.kind):
            handler(ctx, info)
        row.state = "fired"
        row.fired_at = now
        row.error = None
    rt.after_commit(after)
    return "fired"


def _record_failure(rt: Runtime, timer_id: str, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"

    def write() -> str:
        with rt.transaction() as session:
            row = session.get(Timer, timer_id, with_for_update=True)
            if row is None or row.state != "pending":
                return "skipped"
            row.attempts += 1
            row.error = error
            row.fired_at = rt.clock.now()
            if row.attempts >= rt.settings.max_attempts:
                row.state = "failed"
            outcome = "failed" if row.state == "failed" else "retry"
        log.error("timer_attempt_failed", timer_id=timer_id, outcome=outcome, error=error)
        return outcome

    return retry_conflicts(write)
