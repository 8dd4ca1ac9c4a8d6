"""``aftersales restock``: back-in-stock demand and results, housekeeping and GDPR requests.

- ``restock report [--shop S] [--json]`` — per variant: who is waiting (demand), alerts
  queued/sent, clicks, conversions (direct/assisted) and revenue;
- ``restock export EMAIL --shop S`` — everything stored about an address (GDPR art. 15);
- ``restock erase EMAIL --shop S --yes`` — erase it (art. 17), statistics kept unlinked;
- ``restock expire [--shop S]`` — drop unconfirmed and stale subscriptions now (the worker
  does it daily too);
- ``restock reconcile --shop S [--since T]`` — ask the shop for stock changed since T (default:
  the stored cursor) and treat restocks found like webhooks: episodes open and their first
  waves are queued for the worker to send (the worker reconciles every 15 minutes itself).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.store.models import Shop
from aftersales.workflows.restock import erase_address, expire, export_address, restock_report
from aftersales.workflows.restock.rules import RestockRules

app = typer.Typer(
    help="Back-in-stock alerts: demand, results, housekeeping, GDPR requests.", no_args_is_help=True
)

ShopOption = Annotated[str | None, typer.Option("--shop", help="Only this shop (default: every shop).")]
RequiredShop = Annotated[str, typer.Option("--shop", help="The shop the address subscribed at.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def _sessions(db: str | None) -> Session:
    from aftersales.cli.shop import open_store  # creates or migrates the schema like every command

    return open_store(db_url(db))()


def _rules(session: Session, shop_id: str) -> RestockRules:
    from aftersales.policy import PolicyError, default_policy, parse_policy

    shop = session.get(Shop, shop_id)
    if shop is None:
        fail(f"no shop {shop_id!r} (see 'aftersales shop list')")
    try:
        policy = parse_policy(shop.policy_yaml, shop.policy_path or shop_id) if shop.policy_yaml else None
    except PolicyError as exc:
        fail(f"shop {shop_id!r} has an invalid policy: {exc}")
    return RestockRules.from_policy(policy or default_policy(shop_id))


@app.command("report")
def report(shop: ShopOption = None, json_out: JsonOption = False, db: DbOption = None) -> None:
    """Demand, alerts sent, clicks, conversions and revenue per variant."""
    with _sessions(db) as session:
        rows = restock_report(session, shop)
    if json_out:
        print_json({"variants": [r.as_dict() for r in rows]})
        return
    if not rows:
        typer.echo("No back-in-stock subscriptions or restocks yet.")
        return
    table = Table(title="Back-in-stock")
    numbers = (
        "waiting",
        "pending",
        "restocks",
        "sent/queued",
        "clicked",
        "orders (direct/assisted)",
        "revenue",
    )
    for column in ("shop", "variant", "product", "stock", *numbers):
        table.add_column(column, justify="right" if column in numbers else "left")
    for r in rows:
        revenue = ", ".join(f"{amount} {cur}" for cur, amount in sorted(r.revenue.items())) or "-"
        table.add_row(
            r.shop_id,
            r.variant_id,
            r.name or "-",
            r.state or "-",
            str(r.waiting),
            str(r.pending),
            str(r.episodes),
            f"{r.sent}/{r.queued}",
            str(r.clicked),
            f"{r.converted} ({r.direct}/{r.assisted})",
            revenue,
        )
    # Piped output (a file, a pager, a test) gets the whole table rather than 80 squeezed columns.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@app.command("export")
def export(email: str, shop: RequiredShop, db: DbOption = None) -> None:
    """Everything stored about EMAIL's back-in-stock alerts at the shop, as JSON (GDPR art. 15)."""
    with _sessions(db) as session:
        print_json(export_address(session, shop, email))


@app.command("erase")
def erase(
    email: str,
    shop: RequiredShop,
    yes: Annotated[bool, typer.Option("--yes", help="Really erase (there is no undo).")] = False,
    db: DbOption = None,
) -> None:
    """Erase EMAIL's subscriptions and e-mails at the shop (GDPR art. 17); statistics stay, unlinked."""
    if not yes:
        fail("erasure cannot be undone: repeat with --yes")
    with _sessions(db) as session, session.begin():
        done = erase_address(session, shop, email)
    print_json(
        {
            "subscriptions": done.subscriptions,
            "messages_anonymized": done.messages_anonymized,
            "conversions_anonymized": done.conversions_anonymized,
            "emails_deleted": done.outbox_deleted,
        }
    )


@app.command("expire")
def expire_now(shop: ShopOption = None, db: DbOption = None) -> None:
    """Delete unconfirmed and expire stale subscriptions now, by each shop's policy."""
    now = datetime.now(UTC)
    out = {}
    with _sessions(db) as session:
        with session.begin():
            shops = [shop] if shop else list(session.scalars(select(Shop.id).order_by(Shop.id)))
        for shop_id in shops:
            with session.begin():
                done = expire(session, shop_id, now, _rules(session, shop_id))
            out[shop_id] = {"unconfirmed": done.unconfirmed, "stale": done.stale}
    print_json(out)


@app.command("reconcile")
def reconcile(
    shop: RequiredShop,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO time (default: where the last run stopped).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Find restocks whose webhooks never arrived (WooCommerce does not retry) and alert for them."""
    from aftersales.engine.runtime import Runtime
    from aftersales.platforms import PlatformError

    if since is not None:
        try:
            parsed = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since must be an ISO date-time such as 2026-05-04T10:00:00+00:00, got {since!r}")
        if parsed.tzinfo is None:
            fail("--since needs a time zone offset (e.g. +00:00)")
    runtime = Runtime(db_url(db)).launch(worker=False)
    try:
        result = runtime.execute_command("restock.reconcile", shop, since=since)
    except PlatformError as exc:
        fail(f"the shop did not answer: {exc}")
    except LookupError as exc:
        fail(str(exc))
    finally:
        runtime.shutdown()
    print_json(result)


def register(root: typer.Typer) -> None:
    """Add ``aftersales restock ...`` to the root app."""
    root.add_typer(app, name="restock")
