"""Shared database fixtures: a fresh SQLite file or a PostgreSQL schema of its own per test.

- ``sqlite_url``: ``sqlite:///<tmp>/aftersales.db``, empty (``migrated_sqlite_url``: at head);
- ``pg_url``: the PostgreSQL at 127.0.0.1:5432 (database ``test``, user ``postgres``, or
  ``$AFTERSALES_TEST_PG``) with a schema made for this test through ``search_path``
  (``migrated_pg_url``: at head). The schema and the DBOS schema beside it
  (``<schema>_dbos``) are dropped afterwards, so parallel and repeated runs never collide.
  Tests using it are skipped, with the reason, only when no server answers;
- ``db_url``: parametrized over both (mark the test ``postgres`` yourself if it needs it);
- ``manual_clock``: a :class:`~aftersales.engine.clock.ManualClock` at Monday 2026-05-04 10:00 UTC.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aftersales.engine.clock import ManualClock
from aftersales.store.migrate import upgrade

PG_ENV = "AFTERSALES_TEST_PG"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    return os.environ.get(PG_ENV) or DEFAULT_PG


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``options=-csearch_path=<schema>`` (the tables of this URL live in ``schema``)."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The base URL of a PostgreSQL that answers, else skip (with the reason)."""
    url = pg_base_url()
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"no PostgreSQL answers at {make_url(url).render_as_string()}: {exc}")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_server)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(postgres_server, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_dbos" CASCADE'))
        engine.dispose()


@pytest.fixture
def migrated_pg_url(pg_url: str) -> str:
    upgrade(pg_url)
    return pg_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'aftersales.db'}"


@pytest.fixture
def migrated_sqlite_url(sqlite_url: str) -> str:
    upgrade(sqlite_url)
    return sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (the PostgreSQL one in a schema of its own)."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    url = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))
