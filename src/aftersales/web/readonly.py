"""Read-only database access for the operations endpoints.

The store begins every SQLite transaction with ``BEGIN IMMEDIATE`` (a writer's lock, so
read-modify-write steps cannot deadlock). A metrics scrape or a readiness probe only reads,
and must not queue behind the ingest writer for that lock: it opens a deferred transaction,
which in WAL mode reads a snapshot without waiting for anyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker


@contextmanager
def read_only(sessions: sessionmaker[Session]) -> Iterator[Connection]:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the runtime's sessionmaker must be bound to an Engine")
    with bind.connect() as connection:
        yield connection.execution_options(sqlite_begin="DEFERRED")
