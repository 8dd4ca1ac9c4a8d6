"""Liveness and readiness: ``/healthz`` says the process answers, ``/readyz`` that it can work.

Ready means the database answers and its schema is the one this code expects (Alembic at
head), so a load balancer does not send webhooks to a process that would answer 503 to
each of them, e.g. during a deploy that has not run ``aftersales db upgrade`` yet.
"""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aftersales.store.migrate import MIGRATIONS, alembic_config
from aftersales.store.models import Base
from aftersales.web.readonly import read_only


def _expected_heads() -> set[str] | None:
    """Head revisions shipped with this code; None when no migration scripts are installed."""
    if not (MIGRATIONS / "env.py").exists():
        return None
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def readiness(sessions: sessionmaker[Session]) -> tuple[bool, dict[str, Any]]:
    """``(ready, checks)`` — the checks are safe to show (no URL, no credentials)."""
    checks: dict[str, Any] = {}
    try:
        with read_only(sessions) as connection:
            connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
            expected = _expected_heads()
            if expected is None:
                # no migration scripts shipped: the schema was made from the models directly
                missing = sorted(set(Base.metadata.tables) - set(inspect(connection).get_table_names()))
                checks["schema"] = "ok" if not missing else f"missing tables: {', '.join(missing)}"
            else:
                current = set(MigrationContext.configure(connection).get_current_heads())
                checks["schema"] = (
                    "ok"
                    if current == expected
                    else f"at {sorted(current) or 'no revision'}, code expects {sorted(expected)}"
                )
    except SQLAlchemyError as exc:
        checks.setdefault("database", f"unavailable: {type(exc).__name__}")
        checks.setdefault("schema", "unknown")
    ready = checks.get("database") == "ok" and checks.get("schema") == "ok"
    return ready, checks
