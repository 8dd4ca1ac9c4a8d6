"""``aftersales db``: schema migrations (Alembic scripts shipped in the package).

``aftersales serve`` and ``aftersales worker`` migrate on start, so this is for deploys that
migrate as a separate step, for inspection and for rolling back.
"""

from __future__ import annotations

from typing import Annotated

import typer

from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.store import migrate
from aftersales.store.db import DatabaseUnavailable, redact

app = typer.Typer(help="Database schema: upgrade, downgrade, current revision.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    db: DbOption = None,
    revision: Annotated[str, typer.Option("--revision", help="Target revision.")] = "head",
) -> None:
    """Bring the database schema up to the newest revision (or --revision)."""
    url = db_url(db)
    try:
        migrate.upgrade(url, revision)
        now = migrate.current(url)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    typer.echo(f"{redact(url)} is at revision {now}")


@app.command("downgrade")
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes every table.")],
    db: DbOption = None,
) -> None:
    """Take the database schema down to REVISION."""
    url = db_url(db)
    try:
        migrate.downgrade(url, revision)
        now = migrate.current(url)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    typer.echo(f"{redact(url)} is at revision {now or 'base'}")


@app.command("current")
def current(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the database's revision and the newest one this code ships."""
    url = db_url(db)
    try:
        now = migrate.current(url)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    head = migrate.head()
    if as_json:
        print_json({"current": now, "head": head, "up_to_date": now == head})
        return
    typer.echo(f"current: {now or 'none (empty database)'}\nhead:    {head}")


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    root.add_typer(app, name="db")
