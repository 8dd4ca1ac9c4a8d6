"""What is due now: the rows the sweeper re-enqueues and ``run_until_idle`` processes.

The engine's tables are the durable record of work; the queue only says who does it next.
So anything that should happen can be found from the rows alone — which is what makes a
missed enqueue, a dead process or a retry after backoff harmless:

- inbox items ``pending`` (first attempt: received more than ``grace`` ago, so the ingress's
  own enqueue is given its chance; a retry: ``processed_at`` + backoff has passed);
- timers ``pending`` with ``due_at`` reached (a retry: ``fired_at`` + backoff has passed);
- effects ``intended`` (after ``grace``) or ``unknown`` (after backoff), and ``sent`` ones
  older than the lease (their executor died mid-call);
- outbox messages ``pending`` with ``next_attempt_at`` reached.

Each list is ordered oldest first and capped at ``limit`` per pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aftersales.engine.settings import EngineSettings
from aftersales.store.models import Effect, InboxItem, OutboxMessage, Timer


@dataclass(frozen=True)
class Due:
    kind: str
    """inbox | timer | effect | outbox."""
    ref: str
    dedupe: str
    """The queue deduplication id: one queued job per piece of work at a time."""


def due_work(
    session: Session, now: datetime, settings: EngineSettings, *, grace: float, limit: int
) -> list[Due]:
    return [
        *due_inbox(session, now, settings, grace=grace, limit=limit),
        *due_timers(session, now, settings, limit=limit),
        *due_effects(session, now, settings, grace=grace, limit=limit),
        *due_messages(session, now, limit=limit),
    ]


def due_inbox(
    session: Session, now: datetime, settings: EngineSettings, *, grace: float, limit: int
) -> list[Due]:
    fresh_before = now - timedelta(seconds=grace)
    rows = session.execute(
        select(InboxItem.id, InboxItem.attempts, InboxItem.processed_at)
        .where(
            InboxItem.state == "pending",
            or_(
                (InboxItem.processed_at.is_(None)) & (InboxItem.received_at <= fresh_before),
                InboxItem.processed_at <= now - settings.backoff(1),
            ),
        )
        .order_by(InboxItem.id)
        .limit(limit)
    ).all()
    return [
        Due("inbox", str(row.id), f"inbox:{row.id}")
        for row in rows
        if row.processed_at is None or row.processed_at + settings.backoff(row.attempts) <= now
    ]


def due_timers(session: Session, now: datetime, settings: EngineSettings, *, limit: int) -> list[Due]:
    rows = session.execute(
        select(Timer.id, Timer.due_at, Timer.attempts, Timer.fired_at)
        .where(Timer.state == "pending", Timer.due_at <= now)
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
    ).all()
    return [
        Due("timer", row.id, timer_dedupe(row.id, row.due_at))
        for row in rows
        if row.attempts == 0 or row.fired_at is None or row.fired_at + settings.backoff(row.attempts) <= now
    ]


def timer_dedupe(timer_id: str, due_at: datetime) -> str:
    """Per due time, so a timer moved earlier is not held back by a delayed job for the old time."""
    return f"timer:{timer_id}:{int(due_at.timestamp())}"


def due_effects(
    session: Session, now: datetime, settings: EngineSettings, *, grace: float, limit: int
) -> list[Due]:
    rows = session.execute(
        select(Effect.effect_key, Effect.state, Effect.attempts, Effect.updated_at)
        .where(
            Effect.state.in_(("intended", "unknown", "sent")),
            Effect.attempts < settings.max_effect_attempts,
            Effect.updated_at <= now - timedelta(seconds=min(grace, settings.retry_base)),
        )
        .order_by(Effect.updated_at, Effect.effect_key)
        .limit(limit)
    ).all()
    due: list[Due] = []
    for row in rows:
        if row.state == "sent":
            ready = row.updated_at + timedelta(seconds=settings.effect_lease) <= now
        elif row.attempts == 0:
            ready = row.updated_at + timedelta(seconds=grace) <= now
        else:
            ready = row.updated_at + settings.backoff(row.attempts) <= now
        if ready:
            due.append(Due("effect", row.effect_key, f"effect:{row.effect_key}"))
    return due


def due_messages(session: Session, now: datetime, *, limit: int) -> list[Due]:
    rows = session.execute(
        select(OutboxMessage.id)
        .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    return [Due("outbox", str(row.id), f"outbox:{row.id}") for row in rows]
