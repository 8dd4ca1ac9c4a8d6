"""The few dialect-specific statements the restock workflow needs (SQLite and PostgreSQL).

Both dialects support ``INSERT ... ON CONFLICT``; SQLAlchemy spells it per dialect, so the
choice is made here once. These upserts are what make the workflow safe across processes:
a per-IP counter increments atomically, a per-variant lock row serializes the "is this a
new restock?" decision, and a duplicate alert row is skipped by its UNIQUE key instead of
failing the wave.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aftersales.store.models import Base, Counter


def _insert(session: Session, entity: Any) -> Any:
    """``INSERT`` for this dialect (``on_conflict_*`` are dialect constructs)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(entity)
    if name == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"the restock workflow supports SQLite and PostgreSQL, not {name}")


def insert_ignoring_duplicates(
    session: Session, entity: type[Base], rows: Sequence[dict[str, Any]], *, returning: bool = False
) -> list[int]:
    """Insert ``rows`` in one batched statement; rows that hit a UNIQUE key are skipped.

    With ``returning`` the ids of the rows actually inserted come back (``INSERT ...
    RETURNING`` in SQLAlchemy's batched "insertmanyvalues" form, on SQLite and PostgreSQL).
    """
    if not rows:
        return []
    # Core, on the session's connection (the same transaction): the ORM's bulk path would
    # add per-row bookkeeping, and with RETURNING it costs more than the INSERT itself.
    table: Any = entity.__table__
    stmt = _insert(session, table).on_conflict_do_nothing()
    connection = session.connection()
    if not returning:
        connection.execute(stmt, list(rows))
        return []
    key = table.primary_key.columns[0]
    return [int(v) for v in connection.execute(stmt.returning(key), list(rows)).scalars()]


def bump_counter(session: Session, shop_id: str, name: str) -> int:
    """Add one to ``counters(shop_id, name)`` atomically and return the new value.

    On PostgreSQL the upsert also holds the row lock until the transaction ends, which is
    what :func:`lock_variant` relies on; on SQLite the first write takes the database lock.
    """
    stmt = (
        _insert(session, Counter)
        .values(shop_id=shop_id, name=name, value=1)
        .on_conflict_do_update(index_elements=["shop_id", "name"], set_={"value": Counter.value + 1})
        .returning(Counter.value)
    )
    return int(session.execute(stmt).scalar_one())


def lock_variant(session: Session, shop_id: str, variant_id: str) -> None:
    """Serialize stock decisions for one variant across processes until the transaction ends.

    A webhook and a reconciliation run may report the same restock at the same moment; both
    would see "waiting" and open an episode each. The counter row is the lock both must take
    first (there is no row to lock before the variant's first episode exists).
    """
    digest = hashlib.sha256(variant_id.encode()).hexdigest()[:40]
    bump_counter(session, shop_id, f"restock:v:{digest}")
