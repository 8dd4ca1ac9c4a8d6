"""Migrations: up, down and up again on SQLite and PostgreSQL, and they match the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from aftersales.store.db import make_engine
from aftersales.store.migrate import current, downgrade, head, upgrade
from aftersales.store.models import Base


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def differences(url: str) -> list[Any]:
    """What ``alembic revision --autogenerate`` would write: nothing, if the scripts are complete."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, type_, _parents: (
                        type_ != "table" or name in Base.metadata.tables
                    ),
                },
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_the_schema_goes_up_down_and_up_again(db_url: str) -> None:
    assert current(db_url) is None
    upgrade(db_url)
    assert current(db_url) == head()
    assert tables(db_url) == set(Base.metadata.tables)
    upgrade(db_url)  # idempotent: every start runs it
    downgrade(db_url, "base")
    assert current(db_url) is None
    assert tables(db_url) == set()
    upgrade(db_url)
    assert tables(db_url) == set(Base.metadata.tables)


def test_the_migrations_match_the_models(db_url: str) -> None:
    upgrade(db_url)
    assert differences(db_url) == []
