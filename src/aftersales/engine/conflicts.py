"""Which database errors mean "run the step again" rather than "the step is wrong".

Two workers that touch the same case, counter or inbox row at once are normal on PostgreSQL:
one wins, the other sees a compare-and-set miss, a unique-key race, a serialization failure
or a deadlock victim; on SQLite a writer can outlast the busy timeout. None of these says
anything about the handler's code, so the step is simply run again on fresh data a few times
before it counts as a failed attempt (which backs off and is eventually recorded as failed).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from aftersales.engine._info import CaseConflict
from aftersales.engine.numbers import CounterContention

T = TypeVar("T")

CONFLICT_TRIES = 4

_PG_RETRY_CODES = frozenset({"40001", "40P01", "55P03"})
"""serialization_failure, deadlock_detected, lock_not_available."""


def is_conflict(exc: BaseException) -> bool:
    if isinstance(exc, CaseConflict | CounterContention | StaleDataError | IntegrityError):
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        if "database is locked" in text or "database table is locked" in text:
            return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code in _PG_RETRY_CODES:
            return True
    return False


def retry_conflicts(step: Callable[[], T], *, tries: int = CONFLICT_TRIES) -> T:
    """Run ``step``; on a conflict run it again (with a short jittered pause) up to ``tries`` times."""
    for attempt in range(1, tries + 1):
        try:
            return step()
        except Exception as exc:
            if attempt == tries or not is_conflict(exc):
                raise
            time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
