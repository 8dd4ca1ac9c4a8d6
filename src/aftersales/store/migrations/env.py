"""Alembic environment: the schema is :data:`aftersales.store.models.Base.metadata`.

Run through :mod:`aftersales.store.migrate` (``aftersales db upgrade``), which passes an open
connection in ``config.attributes["connection"]`` (holding the PostgreSQL advisory lock that
keeps two processes from migrating at once); the plain ``alembic`` command works too, with
``sqlalchemy.url`` set. Only tables of our metadata are compared, so DBOS's own tables (its
system schema) never show up as "removed" in an autogenerate diff.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from aftersales.store.db import is_sqlite, make_engine
from aftersales.store.models import Base

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table":
        return name in target_metadata.tables
    return True


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode copies the table instead
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        include_name=include_name,
        literal_binds=True,
        render_as_batch=bool(url and is_sqlite(url)),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or use `aftersales db upgrade --db URL`")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
