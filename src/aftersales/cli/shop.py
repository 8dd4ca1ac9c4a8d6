"""``aftersales shop``: the registry of shops this service answers for.

A shop is an id (the last segment of its webhook URL), a platform, the webhook secrets that
sign its deliveries (several, so a secret can be rotated without losing a webhook in between)
and its platform credentials. Secrets are write-only from here: no command prints them and
the listing shows only how many there are.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.notify.outbound import generate_secret, validate_secret
from aftersales.platforms import StoreCredentials
from aftersales.plugins import PluginError, load_plugins
from aftersales.policy import PolicyError, load_policy
from aftersales.store.db import DatabaseUnavailable, make_engine, session_factory
from aftersales.store.migrate import upgrade
from aftersales.store.models import OutboundEndpoint, Shop

app = typer.Typer(help="Register shops and their webhook secrets.", no_args_is_help=True)

SHOP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Shop ids are URL path segments (``/webhooks/{platform}/{shop_id}``)."""


def open_store(url: str) -> sessionmaker[Session]:
    """Sessions on ``url`` with the schema migrated to head (created on a fresh database).

    Runs the engine's Alembic migrations, so a shop registered before the first
    ``aftersales serve`` lands in the schema the service expects.
    """
    try:
        upgrade(url)
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        fail(f"cannot open the database: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return session_factory(make_engine(url))


def read_secret(value: str) -> str:
    """``-`` reads the secret from standard input, so it need not appear in the process list."""
    secret = sys.stdin.readline().strip() if value == "-" else value.strip()
    if len(secret) < 8:
        fail("a webhook secret must have at least 8 characters")
    return secret


def _validate_policy(path: Path) -> str:
    """The policy file's text, once it loads; its problems are printed as FILE:LINE:COL lines."""
    try:
        load_policy(path)
    except PolicyError as exc:
        fail(f"invalid policy:\n{exc}")
    return path.read_text(encoding="utf-8")


def _credentials(url: str | None, key: str | None, secret: str | None, token: str | None) -> dict[str, Any]:
    given = {"url": url, "key": key, "secret": secret, "token": token}
    creds = StoreCredentials(**{k: v for k, v in given.items() if v is not None})
    return creds.model_dump(exclude_none=True, exclude_defaults=True)


def shop_summary(shop: Shop) -> dict[str, Any]:
    """What may be shown of a shop: never a secret, only which credentials are set."""
    return {
        "id": shop.id,
        "platform": shop.platform,
        "active": shop.active,
        "webhook_secrets": len(shop.webhook_secrets or []),
        "credentials": sorted(k for k, v in (shop.credentials or {}).items() if v),
        "policy": shop.policy_path,
        "webhook_path": f"/webhooks/{shop.platform}/{shop.id}",
        "created_at": shop.created_at.isoformat(),
    }


@app.command("add")
def add(
    shop_id: Annotated[str, typer.Argument(metavar="ID", help="Shop id: letters, digits, '.', '_', '-'.")],
    platform: Annotated[str, typer.Option("--platform", help="shopify | woocommerce (a loaded plugin).")],
    webhook_secret: Annotated[
        list[str],
        typer.Option(
            "--webhook-secret", help="Secret that signs the shop's webhooks; repeat to rotate; '-' = stdin."
        ),
    ],
    url: Annotated[str | None, typer.Option("--url", help="Shop API base URL.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="API key (WooCommerce consumer key).")] = None,
    secret: Annotated[
        str | None, typer.Option("--secret", help="API secret (WooCommerce consumer secret).")
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="Access token (Shopify Admin API).")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="The shop's policy YAML.")] = None,
    db: DbOption = None,
) -> None:
    """Register a shop. Its webhooks go to /webhooks/PLATFORM/ID."""
    if not SHOP_ID.match(shop_id):
        fail(f"invalid shop id {shop_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
    try:
        load_plugins().platform(platform)
    except PluginError as exc:
        fail(str(exc))
    secrets = [read_secret(s) for s in webhook_secret]
    policy_text = _validate_policy(policy) if policy is not None else None
    credentials = _credentials(url, key, secret, token)
    sessions = open_store(db_url(db))
    with sessions() as session, session.begin():
        if session.get(Shop, shop_id) is not None:
            fail(
                f"shop {shop_id!r} is already registered (use 'aftersales shop rotate-secret' to change secrets)"
            )
        session.add(
            Shop(
                id=shop_id,
                platform=platform,
                webhook_secrets=list(dict.fromkeys(secrets)),
                credentials=credentials,
                policy_yaml=policy_text,
                policy_path=str(policy.resolve()) if policy is not None else None,
                sync={},
                active=True,
                created_at=datetime.now(UTC),
            )
        )
    typer.echo(
        f"registered shop {shop_id} ({platform}): point its webhooks at /webhooks/{platform}/{shop_id}; "
        f"{len(set(secrets))} webhook secret(s) stored"
    )


@app.command("list")
def list_shops(
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    db: DbOption = None,
) -> None:
    """List registered shops (secrets are never shown)."""
    sessions = open_store(db_url(db))
    with sessions() as session:
        rows = [shop_summary(s) for s in session.scalars(select(Shop).order_by(Shop.id))]
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no shops registered")
        return
    for row in rows:
        creds = ",".join(row["credentials"]) or "-"
        typer.echo(
            f"{row['id']:<24} {row['platform']:<12} {'active' if row['active'] else 'inactive':<8} "
            f"secrets={row['webhook_secrets']} credentials={creds} {row['webhook_path']}"
        )


@app.command("rotate-secret")
def rotate_secret(
    shop_id: Annotated[str, typer.Argument(metavar="ID")],
    new_secret: Annotated[str, typer.Option("--secret", help="The new webhook secret; '-' reads stdin.")],
    retire_old: Annotated[
        bool, typer.Option("--retire-old", help="Drop every other secret (after the platform switched).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Add a webhook secret (both old and new verify until --retire-old)."""
    fresh = read_secret(new_secret)
    sessions = open_store(db_url(db))
    with sessions() as session, session.begin():
        shop = session.get(Shop, shop_id)
        if shop is None:
            fail(f"no shop {shop_id!r}")
        kept = [] if retire_old else [s for s in shop.webhook_secrets or [] if s != fresh]
        shop.webhook_secrets = [fresh, *kept]
        count = len(shop.webhook_secrets)
    typer.echo(f"shop {shop_id}: {count} webhook secret(s) now verify deliveries")


@app.command("endpoint-add")
def endpoint_add(
    shop_id: Annotated[str, typer.Argument(metavar="ID")],
    url: Annotated[str, typer.Argument(metavar="URL", help="The merchant's receiver (https://...).")],
    secret: Annotated[
        str | None, typer.Option("--secret", help="Your own whsec_... secret; generated when omitted.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Send every case transition of the shop to URL as a signed Standard Webhooks event.

    The secret is printed once, here, because the receiver needs it to verify signatures.
    """
    if not url.startswith(("https://", "http://")):
        fail("the endpoint URL must start with https:// (or http:// for a local receiver)")
    try:
        chosen = validate_secret(secret) if secret else generate_secret()
    except ValueError as exc:
        fail(str(exc))
    sessions = open_store(db_url(db))
    with sessions() as session, session.begin():
        if session.get(Shop, shop_id) is None:
            fail(f"no shop {shop_id!r}")
        endpoint = OutboundEndpoint(
            shop_id=shop_id, url=url, secret=chosen, active=True, created_at=datetime.now(UTC)
        )
        session.add(endpoint)
        session.flush()
        endpoint_id = endpoint.id
    typer.echo(f"endpoint {endpoint_id} for shop {shop_id}: {url}")
    if secret is None:
        typer.echo(f"signing secret (shown once, keep it for your receiver): {chosen}")


@app.command("endpoint-list")
def endpoint_list(
    shop_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    db: DbOption = None,
) -> None:
    """List the shop's outbound event endpoints (secrets are not shown)."""
    sessions = open_store(db_url(db))
    with sessions() as session:
        rows = [
            {"id": e.id, "url": e.url, "active": e.active, "created_at": e.created_at.isoformat()}
            for e in session.scalars(
                select(OutboundEndpoint)
                .where(OutboundEndpoint.shop_id == shop_id)
                .order_by(OutboundEndpoint.id)
            )
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['id']:>4}  {'active' if row['active'] else 'inactive':<8}  {row['url']}")


# -- API keys for the merchant API -------------------------------------------------------------

api_key_app = typer.Typer(
    help="Per-shop API keys for the merchant API (Authorization: Bearer KEY).", no_args_is_help=True
)
app.add_typer(api_key_app, name="api-key")


@api_key_app.command("create")
def api_key_create(
    shop_id: Annotated[str, typer.Argument(metavar="ID")],
    label: Annotated[str, typer.Option("--label", help="Who uses the key; recorded as the actor.")] = "",
    db: DbOption = None,
) -> None:
    """Issue a key for the shop. It is printed once, here: only its hash is stored."""
    from aftersales.web.api.keys import create_key

    sessions = open_store(db_url(db))
    with sessions() as session, session.begin():
        if session.get(Shop, shop_id) is None:
            fail(f"no shop {shop_id!r}")
        issued = create_key(session, shop_id, label, datetime.now(UTC))
    typer.echo(f"API key {issued.id} for shop {shop_id} (shown once, store it now):", err=True)
    typer.echo(issued.key)


@api_key_app.command("list")
def api_key_list(
    shop_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    db: DbOption = None,
) -> None:
    """List the shop's keys: id, label, creation time, fingerprint (never the key)."""
    from aftersales.web.api.keys import list_keys

    sessions = open_store(db_url(db))
    with sessions() as session:
        if session.get(Shop, shop_id) is None:
            fail(f"no shop {shop_id!r}")
        rows = list_keys(session, shop_id)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo(f"shop {shop_id} has no API keys")
    for row in rows:
        typer.echo(f"{row['id']:>4}  {row['fingerprint']}  {row['created_at']}  {row['label']}")


@api_key_app.command("revoke")
def api_key_revoke(
    shop_id: Annotated[str, typer.Argument(metavar="ID")],
    key_id: Annotated[int, typer.Argument(metavar="KEY_ID", help="The id from 'api-key list'.")],
    db: DbOption = None,
) -> None:
    """Revoke a key: the next request with it is answered 401."""
    from aftersales.web.api.keys import revoke_key

    sessions = open_store(db_url(db))
    with sessions() as session, session.begin():
        if not revoke_key(session, shop_id, key_id):
            fail(f"shop {shop_id!r} has no API key {key_id}")
    typer.echo(f"API key {key_id} of shop {shop_id} revoked")


def register(root: typer.Typer) -> None:
    """Add ``aftersales shop ...`` to the root app."""
    root.add_typer(app, name="shop")
