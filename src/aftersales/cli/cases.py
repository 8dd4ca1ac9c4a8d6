"""``aftersales cases``: what operators look at — the cases, their state and their history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.domain import Case
from aftersales.store import cases as case_store
from aftersales.store import migrate
from aftersales.store.db import DatabaseUnavailable, check_connection, make_engine, session_factory

app = typer.Typer(help="List and inspect cases.", no_args_is_help=True)

ShopOption = Annotated[str | None, typer.Option("--shop", help="Only this shop's cases.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    url = db_url(db)
    engine = make_engine(url)
    try:
        check_connection(engine)
        if migrate.current(url) is None:
            fail("the database has no schema yet: run `aftersales db upgrade` (or start the service)")
        with session_factory(engine)() as session:
            yield session
    except DatabaseUnavailable as exc:
        fail(str(exc))
    finally:
        engine.dispose()


def summary(case: Case) -> dict[str, Any]:
    return {
        "number": case.number,
        "shop_id": case.shop_id,
        "type": case.type.value,
        "status": case.status,
        "order_id": case.order_id,
        "customer_email": case.customer.email,
        "opened_at": case.opened_at.isoformat(),
        "version": case.version,
    }


@app.command("list")
def list_cases(
    db: DbOption = None,
    shop: ShopOption = None,
    status: Annotated[str | None, typer.Option("--status", help="Only cases in this status.")] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="Only this case type (withdrawal, complaint...).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List cases, newest first."""
    with _session(db) as session:
        found = case_store.list_cases(session, shop_id=shop, status=status, type=type, limit=limit)
    if as_json:
        print_json([summary(case) for case in found])
        return
    table = Table("number", "shop", "type", "status", "order", "customer", "opened")
    for case in found:
        table.add_row(
            case.number,
            case.shop_id,
            case.type.value,
            case.status,
            case.order_id or "",
            case.customer.email or "",
            case.opened_at.strftime("%Y-%m-%d %H:%M"),
        )
    Console().print(table)


@app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="The case number, e.g. W-2026-000001.")],
    db: DbOption = None,
    shop: ShopOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one case with its lines and its event timeline."""
    with _session(db) as session:
        try:
            case = case_store.find_case(session, number, shop)
        except LookupError as exc:
            fail(str(exc))
        if case is None:
            fail(f"no case {number}" + (f" in shop {shop}" if shop else ""))
        timeline = case_store.timeline(session, case.id)
    if as_json:
        print_json({**case.model_dump(mode="json"), "timeline": [entry.to_json() for entry in timeline]})
        return
    console = Console()
    console.print(f"[bold]{case.number}[/bold]  {case.type.value}  status [bold]{case.status}[/bold]")
    console.print(f"shop {case.shop_id}  order {case.order_id or '-'}  customer {case.customer.email or '-'}")
    console.print(f"opened {case.opened_at.isoformat()}  version {case.version}")
    if case.reason:
        console.print(f"reason: {case.reason}")
    if case.lines:
        lines = Table("line", "qty", "authorization", "logistics", "disposition", "settlement")
        for line in case.lines:
            lines.add_row(
                line.line_item_id,
                str(line.quantity),
                line.authorization.value,
                line.logistics.value,
                line.disposition.value,
                line.settlement.value,
            )
        console.print(lines)
    events = Table("at", "event", "from", "to", "actor", "reason")
    for entry in timeline:
        events.add_row(
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.event,
            entry.from_status or "",
            entry.to_status,
            entry.actor,
            entry.reason or "",
        )
    console.print(events)


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    root.add_typer(app, name="cases")
