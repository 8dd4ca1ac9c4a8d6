"""Executor identity, heartbeats and takeover of a dead executor's workflows.

DBOS resumes the workflows a process left unfinished when a process *with the same executor
id* starts again. Two pitfalls follow, both measured with dbos 3.4:

- two live processes with one id (the default ``local``) both claim the same pending
  workflows after a restart, and a step ran twice on PostgreSQL; so every process holds a
  unique id, claimed in ``engine_executors`` by compare-and-set, and a start with an id a
  live process holds is refused;
- an id that never comes back (a machine scaled away) would leave its workflows pending
  forever; so every worker heartbeats, and a worker that finds another's heartbeat older
  than ``dead_after`` marks it ``dead`` (compare-and-set: one taker) and asks DBOS to
  re-enqueue that executor's pending workflows for any worker to run.

The id is stable across restarts of the same slot (``--executor-id``, ``$AFTERSALES_EXECUTOR_ID``,
or the first free ``<host>-<n>``), which is what lets a restarted process pick up its own
work at once. A process on the same host whose pid no longer exists is dead without waiting
for its heartbeat to age — the usual case after ``kill -9`` and a restart.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from aftersales.store.models import EngineExecutor

MAX_SLOTS = 1000


class ExecutorIdInUse(RuntimeError):
    """A live process holds the requested executor id."""


def wall_now() -> datetime:
    return datetime.now(UTC)


def hostname() -> str:
    return socket.gethostname() or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _tx(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session, session.begin():
        yield session


def _free(row: EngineExecutor, *, host: str, dead_after: float, now: datetime) -> bool:
    if row.state != "alive":
        return True
    if row.host == host and row.pid != os.getpid() and not _pid_alive(row.pid):
        return True
    return row.heartbeat_at < now - timedelta(seconds=dead_after)


def _try_claim(
    sessions: sessionmaker[Session], executor_id: str, incarnation: str, *, dead_after: float
) -> bool | EngineExecutor:
    """True when claimed; the holding row when a live process has it."""
    host, pid, now = hostname(), os.getpid(), wall_now()
    try:
        with _tx(sessions) as session:
            row = session.get(EngineExecutor, executor_id, with_for_update=True)
            if row is None:
                session.add(
                    EngineExecutor(
                        id=executor_id,
                        host=host,
                        pid=pid,
                        incarnation=incarnation,
                        state="alive",
                        started_at=now,
                        heartbeat_at=now,
                    )
                )
                return True
            if not _free(row, host=host, dead_after=dead_after, now=now):
                session.expunge(row)
                return row
            done = session.execute(
                update(EngineExecutor)
                .where(EngineExecutor.id == executor_id, EngineExecutor.incarnation == row.incarnation)
                .values(
                    host=host,
                    pid=pid,
                    incarnation=incarnation,
                    state="alive",
                    started_at=now,
                    heartbeat_at=now,
                    taken_over_by=None,
                )
                .execution_options(synchronize_session=False)
            )
            return getattr(done, "rowcount", 0) == 1
    except IntegrityError:
        return False  # another process inserted it a moment ago


def claim(
    sessions: sessionmaker[Session], requested: str | None, incarnation: str, *, dead_after: float
) -> str:
    """Claim ``requested`` (or the first free ``<host>-<n>``) for this process; return the id."""
    if requested:
        got = _try_claim(sessions, requested, incarnation, dead_after=dead_after)
        if got is True:
            return requested
        holder = f" by pid {got.pid} on {got.host}" if isinstance(got, EngineExecutor) else ""
        raise ExecutorIdInUse(
            f"executor id {requested!r} is held{holder}; give each worker its own --executor-id "
            f"(or wait {dead_after:.0f} s after a crash on another machine)"
        )
    base = hostname()
    for slot in range(1, MAX_SLOTS + 1):
        candidate = f"{base}-{slot}"
        if _try_claim(sessions, candidate, incarnation, dead_after=dead_after) is True:
            return candidate
    raise ExecutorIdInUse(f"no free executor slot on {base} among {MAX_SLOTS}")


def heartbeat(sessions: sessionmaker[Session], executor_id: str, incarnation: str) -> bool:
    """Refresh our heartbeat; False when another process has claimed our id since."""
    with _tx(sessions) as session:
        done = session.execute(
            update(EngineExecutor)
            .where(EngineExecutor.id == executor_id, EngineExecutor.incarnation == incarnation)
            .values(heartbeat_at=wall_now(), state="alive", taken_over_by=None)
            .execution_options(synchronize_session=False)
        )
        return getattr(done, "rowcount", 0) == 1


def release(sessions: sessionmaker[Session], executor_id: str, incarnation: str) -> None:
    """Clean shutdown: the id is free for the next start at once."""
    with _tx(sessions) as session:
        session.execute(
            update(EngineExecutor)
            .where(EngineExecutor.id == executor_id, EngineExecutor.incarnation == incarnation)
            .values(state="stopped", heartbeat_at=wall_now())
            .execution_options(synchronize_session=False)
        )


def claim_dead(sessions: sessionmaker[Session], me: str, *, dead_after: float) -> list[str]:
    """Mark executors that stopped heartbeating (or shut down) as dead, taken over by ``me``.

    Returns the ids this call won (compare-and-set on the incarnation: of several workers
    noticing the same death, one takes it over).
    """
    now = wall_now()
    host = hostname()
    with _tx(sessions) as session:
        rows = list(
            session.scalars(
                select(EngineExecutor).where(EngineExecutor.id != me, EngineExecutor.state != "dead")
            )
        )
        candidates = [
            (row.id, row.incarnation) for row in rows if _free(row, host=host, dead_after=dead_after, now=now)
        ]
    won: list[str] = []
    for executor_id, incarnation in candidates:
        with _tx(sessions) as session:
            done = session.execute(
                update(EngineExecutor)
                .where(
                    EngineExecutor.id == executor_id,
                    EngineExecutor.incarnation == incarnation,
                    EngineExecutor.state != "dead",
                )
                .values(state="dead", taken_over_by=me)
                .execution_options(synchronize_session=False)
            )
            if getattr(done, "rowcount", 0) == 1:
                won.append(executor_id)
    return won


def dead_ids(sessions: sessionmaker[Session], limit: int = 50) -> list[str]:
    """Executors marked dead, most recently seen first: whose pending work must be handed back.

    Recovery is repeated for every dead executor, not only at the moment one is declared dead:
    a taker killed between the dead mark and the recovery (or a recovery that failed) must not
    leave the dead executor's jobs pending for ever — nothing else would ever pick them up.
    """
    with sessions() as session:
        return list(
            session.scalars(
                select(EngineExecutor.id)
                .where(EngineExecutor.state == "dead")
                .order_by(EngineExecutor.heartbeat_at.desc())
                .limit(limit)
            )
        )
