"""Human-readable case numbers: ``W-2026-000042``, per shop, per case type, per year.

Customers quote the number in e-mails and on the phone, so it is short, typed by kind and
never reused. The sequence lives in the ``counters`` table and is advanced by compare-and-set
(``UPDATE ... SET value = n + 1 WHERE value = n``) inside the caller's transaction: on
PostgreSQL with many workers two transactions that read the same ``n`` cannot both win (the
loser's UPDATE matches no row and it reads again), and a rolled-back step gives its number
back. The first number of a sequence is an INSERT, which the primary key makes
race-free the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aftersales.domain import CaseType
from aftersales.store.models import Counter

PREFIXES: dict[str, str] = {
    CaseType.WITHDRAWAL.value: "W",
    CaseType.RETURN.value: "R",
    CaseType.GOODWILL.value: "GW",
    CaseType.COMPLAINT.value: "C",
    CaseType.WARRANTY.value: "WR",
    CaseType.GUARANTEE_PAYOUT.value: "G",
}
"""Number prefix per case type; a type not listed uses its first letter, upper-cased."""

_ATTEMPTS = 50


class CounterContention(RuntimeError):
    """Compare-and-set kept losing (pathological contention); the step is retried as a whole."""


def prefix_for(case_type: str) -> str:
    return PREFIXES.get(case_type, case_type[:1].upper() or "X")


def next_value(session: Session, shop_id: str, name: str) -> int:
    """Advance the counter ``(shop_id, name)`` by one and return the new value."""
    for _ in range(_ATTEMPTS):
        seen = session.execute(
            select(Counter.value).where(Counter.shop_id == shop_id, Counter.name == name)
        ).scalar_one_or_none()
        if seen is None:
            try:
                with session.begin_nested():
                    session.execute(insert(Counter).values(shop_id=shop_id, name=name, value=1))
                return 1
            except IntegrityError:
                continue  # another transaction created it first: read it and compare-and-set
        done = session.execute(
            update(Counter)
            .where(Counter.shop_id == shop_id, Counter.name == name, Counter.value == seen)
            .values(value=seen + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) == 1:
            return seen + 1
    raise CounterContention(f"counter {shop_id}/{name} kept changing under {_ATTEMPTS} attempts")


def allocate_case_number(session: Session, shop_id: str, case_type: str, at: datetime) -> str:
    """The next number for a case of ``case_type`` opened at ``at`` (the year is ``at``'s, UTC)."""
    prefix = prefix_for(case_type)
    year = at.year
    value = next_value(session, shop_id, f"case:{prefix}:{year}")
    return f"{prefix}-{year}-{value:06d}"
