"""Connections: one SQLAlchemy engine per database URL, tuned per dialect.

SQLite (the embedded default) runs in WAL mode with a busy timeout so the web ingress and
the worker in one process do not fail each other with "database is locked". Every
transaction starts with ``BEGIN IMMEDIATE``: SQLite's default deferred transaction takes the
write lock only at its first write, and a transaction that read first and then wants to write
after another writer committed fails at once with SQLITE_BUSY (the busy timeout does not
apply to a lock upgrade). Taking the lock up front turns that race into an orderly wait.
Readers that must not wait for writers open a connection with the execution option
``sqlite_begin="DEFERRED"`` (WAL lets them read beside the writer).

PostgreSQL uses psycopg 3 (``postgresql://`` URLs are mapped to ``postgresql+psycopg://``).
A URL may carry ``?options=-csearch_path%3Dmyschema`` to keep the tables in a schema of
their own (the tests give every test its own schema this way).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened; commands exit non-zero with this message."""


def normalize_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


_SEARCH_PATH = re.compile(r"search_path\s*=\s*([^\s,]+)")


def search_path_schema(url: str) -> str | None:
    """The first schema of a PostgreSQL URL's ``options=-csearch_path=...``, if it sets one."""
    parsed: URL = make_url(url)
    options = parsed.query.get("options")
    if options is None:
        return None
    joined = " ".join(options) if isinstance(options, tuple) else options
    found = _SEARCH_PATH.search(unquote(joined))
    return found.group(1).strip('"') if found else None


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event below (pysqlite would otherwise
    # issue its own deferred BEGIN before the first write).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, **kwargs)


def check_connection(engine: Engine) -> None:
    """Open one connection and run ``SELECT 1``; :class:`DatabaseUnavailable` says why not.

    Called before anything else at start, so a database that is down gives one clear line and
    a non-zero exit within the connect timeout (5 s on PostgreSQL) instead of a hang or a
    traceback from deep inside a migration.
    """
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        detail = reason[0] if reason else type(exc).__name__
        raise DatabaseUnavailable(f"cannot reach the database {redact(str(engine.url))}: {detail}") from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session
