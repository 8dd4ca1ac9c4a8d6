"""``aftersales restock``: back-in-stock demand and results, housekeeping and GDPR requests.

- ``restock report [--shop S] [--json]`` — per variant: who is waiting (demand), alerts
  queued/sent, clicks, conversions (direct/assisted) and revenue;
- ``restock export EMAIL --shop S`` — everything stored about an address (GDPR art. 15);
- ``restock erase EMAIL --shop S --yes`` — erase it (art. 17), statistics kept unlinked;
- ``restock expire [--shop S]`` — drop unconfirmed and stale subscriptions now (the worker
  does it daily too).
"""

from __future__ import annotations

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
    for column in (
        "shop",
        "variant",
        "product",
        "stock",
        "waiting",
        "pending",
        "restocks",
        "sent",
        "clicked",
    ):
        table.add_column(
            column, justify="right" if column in {"waiting", "pending", "sent", "clicked"} else "left"
        )
    table.add_column("converted (direct/assisted)", justify="right")
    table.add_column("revenue", justify="right")
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
    Console().print(table)


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


def register(root: typer.Typer) -> None:
    """Add ``aftersales restock ...`` to the root app."""
    root.add_typer(app, name="restock")
