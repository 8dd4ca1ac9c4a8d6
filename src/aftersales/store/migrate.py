"""Schema migrations (Alembic), shipped inside the package so an installed wheel can migrate.

``upgrade(url)`` is what ``aftersales db upgrade`` and every engine start run; it is safe to
call from several processes at once: on PostgreSQL the migration holds an advisory lock (the
second process waits, then finds the schema at head), on SQLite the ``BEGIN IMMEDIATE`` of
:mod:`aftersales.store.db` serializes the two. A schema named in the URL's ``search_path``
is created when missing, so a fresh schema needs no manual step.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from aftersales.store.db import check_connection, make_engine, normalize_url, search_path_schema

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_LOCK_KEY = 0x6166_7465_7273  # "afters": one advisory lock id for every aftersales migration


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # configparser interpolation: a literal % in a password must be doubled
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def head() -> str:
    """The newest revision shipped with this code."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migration scripts have {len(heads)} heads; expected one")
    return heads[0]


def current(url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    engine = make_engine(url)
    try:
        check_connection(engine)
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _run(url: str, revision: str, *, up: bool) -> None:
    engine = make_engine(url)
    try:
        check_connection(engine)
        with engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                _prepare_postgres(conn, url)
            config = alembic_config(url)
            config.attributes["connection"] = conn
            try:
                if up:
                    command.upgrade(config, revision)
                else:
                    command.downgrade(config, revision)
                conn.commit()
            finally:
                if postgres:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                    conn.commit()
    finally:
        engine.dispose()


def _prepare_postgres(conn: Connection, url: str) -> None:
    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
    schema = search_path_schema(url)
    if schema:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    conn.commit()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (default: the newest)."""
    _run(url, revision, up=True)


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` down to ``revision`` (``base`` removes every table)."""
    _run(url, revision, up=False)
