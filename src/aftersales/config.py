"""Process configuration: where the database is, how logs look.

Every command that touches the database takes ``--db URL``; without it the environment
variable ``AFTERSALES_DB`` is used, else an SQLite file in the working directory
(DESIGN §13), so the embedded mode needs no configuration at all.
"""

from __future__ import annotations

import os

DEFAULT_DB_URL = "sqlite:///./aftersales.db"
DB_ENV = "AFTERSALES_DB"


def resolve_db_url(cli_value: str | None = None) -> str:
    """The database URL from the flag, else ``$AFTERSALES_DB``, else ``sqlite:///./aftersales.db``."""
    if cli_value:
        return cli_value
    return os.environ.get(DB_ENV) or DEFAULT_DB_URL
