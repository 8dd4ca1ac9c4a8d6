"""``aftersales deliveries list`` and ``aftersales replay``: the webhook delivery log.

Every request to the ingress is in the log, accepted or not, with signatures, tokens and
cookies redacted (:mod:`aftersales.web.deliverylog`). ``replay`` re-queues an accepted
delivery or re-checks a refused one (:mod:`aftersales.web.replay`).
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.cli.shop import open_store
from aftersales.plugins import PluginError, load_plugins
from aftersales.store.models import Delivery
from aftersales.web.deliverylog import delivery_summary
from aftersales.web.ingress import SIGNATURE_DIGESTS
from aftersales.web.replay import DeliveryNotFound, replay_delivery

app = typer.Typer(help="The webhook delivery log (headers redacted).", no_args_is_help=True)


@app.command("list")
def list_deliveries(
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    shop: Annotated[str | None, typer.Option("--shop", help="Only this shop.")] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="accepted, duplicate, ping, bad_signature, malformed, ...")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest N deliveries.")] = 50,
    db: DbOption = None,
) -> None:
    """List webhook deliveries, newest first."""
    sessions = open_store(db_url(db))
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if shop is not None:
        query = query.where(Delivery.shop_id == shop)
    if outcome is not None:
        query = query.where(Delivery.outcome == outcome)
    with sessions() as session:
        rows = [delivery_summary(d) for d in session.scalars(query)]
    for row in rows:
        row["headers"] = {k: v for k, v in row["headers"].items() if k != SIGNATURE_DIGESTS}
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no deliveries")
        return
    for row in rows:
        typer.echo(
            f"{row['id']:>6}  {row['received_at'][:19]}  {row['status_code']}  {row['outcome']:<16} "
            f"{row['platform']}/{row['shop_id'] or '-'}  {row['topic'] or '-'}  {row['body_size']} B"
            + (f"  inbox={row['inbox_id']}" if row["inbox_id"] else "")
            + (f"  ({row['error']})" if row["error"] else "")
        )


def replay(
    delivery_id: Annotated[int, typer.Argument(metavar="DELIVERY_ID", help="An id from 'deliveries list'.")],
    db: DbOption = None,
) -> None:
    """Re-run a stored webhook delivery: re-queue it, or re-verify a refused one."""
    sessions = open_store(db_url(db))
    try:
        plugins = load_plugins()
    except PluginError as exc:
        fail(str(exc))
    try:
        result = replay_delivery(sessions, plugins, delivery_id)
    except DeliveryNotFound as exc:
        fail(str(exc))
    typer.echo(f"delivery {result.delivery_id}: {result.action}: {result.detail}")
    if not result.queued and result.action != "already_recorded":
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    """Add ``aftersales deliveries ...`` and ``aftersales replay`` to the root app."""
    root.add_typer(app, name="deliveries")
    root.command("replay")(replay)
