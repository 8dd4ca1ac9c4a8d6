"""The engine clock: every legal deadline, timer and backoff is measured against it.

Production runs :class:`SystemClock`. Tests and the demo run :class:`ManualClock`, so "14 days
later" is one ``advance(timedelta(days=14))`` and a timer that fell due while the worker was
down is a deterministic scenario rather than a sleep. Only liveness (heartbeats, leases of an
effect in flight) uses the wall clock, because it is about processes, not about the law.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, time-zone aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the clock needs an aware datetime (e.g. 2026-05-01T12:00:00+02:00)")
    return value.astimezone(UTC)


class ManualClock:
    """A clock that moves only when told to; thread-safe, never goes backwards by accident."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (must not be negative) and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"a clock does not go backwards (advance by {delta})")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, dt: datetime) -> datetime:
        """Jump to ``dt`` (backwards too: tests of a wrong server clock need it)."""
        with self._lock:
            self._now = _aware(dt)
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
