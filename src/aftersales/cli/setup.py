"""``aftersales woocommerce setup`` and ``aftersales shopify setup``: connect a shop in one step.

Each stores the shop's API credentials and asks the platform plugin to create (or repair)
the webhook subscriptions pointing at this service's ``/webhooks/<platform>/<shop>`` route,
then prints one line per topic (created, updated or unchanged), so running it twice is safe.

The webhook secret differs per platform, which is why the two commands differ:

- **WooCommerce** lets the API caller choose each webhook's secret, so ``setup`` registers an
  unknown shop itself with a freshly generated secret and hands the newest stored secret to
  every subscription it creates;
- **Shopify** signs every webhook with the app's client secret, which the API cannot set; the
  shop must be registered first (``aftersales shop add ID --platform shopify
  --webhook-secret <client secret>``).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.cli.shop import SHOP_ID, open_store
from aftersales.platforms import PlatformError, StoreCredentials
from aftersales.plugins import PluginError, load_plugins
from aftersales.store.models import Shop
from aftersales.web.links import public_base_url

woocommerce_app = typer.Typer(help="WooCommerce shops.", no_args_is_help=True)
shopify_app = typer.Typer(help="Shopify shops.", no_args_is_help=True)

AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address", help="Public base URL of this service (default: $AFTERSALES_PUBLIC_URL, else localhost)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


def _setup(
    *,
    platform: str,
    shop_id: str,
    credentials: dict[str, Any],
    address: str | None,
    create_secret: bool,
    as_json: bool,
    db: str | None,
) -> None:
    if not SHOP_ID.match(shop_id):
        fail(f"invalid shop id {shop_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
    try:
        adapter = load_plugins().platform(platform)
    except PluginError as exc:
        fail(str(exc))
    sessions = open_store(db_url(db))
    created = False
    with sessions() as session, session.begin():
        shop = session.get(Shop, shop_id)
        if shop is None:
            if not create_secret:
                fail(
                    f"no shop {shop_id!r}: register it first with 'aftersales shop add {shop_id} "
                    f"--platform {platform} --webhook-secret <the app's client secret>'"
                )
            shop = Shop(
                id=shop_id,
                platform=platform,
                webhook_secrets=[secrets.token_urlsafe(32)],
                credentials={},
                sync={},
                active=True,
                created_at=datetime.now(UTC),
            )
            session.add(shop)
            created = True
        elif shop.platform != platform:
            fail(f"shop {shop_id!r} is a {shop.platform} shop, not {platform}")
        shop.credentials = {**(shop.credentials or {}), **credentials}
        stored = dict(shop.credentials)
        webhook_secret = str(shop.webhook_secrets[0]) if shop.webhook_secrets else None
    route = f"{(address or public_base_url()).rstrip('/')}/webhooks/{platform}/{shop_id}"
    try:
        records = adapter.ensure_webhooks(StoreCredentials(**stored), route, webhook_secret)
    except PlatformError as exc:
        fail(f"{platform} refused the webhook setup: {exc}")
    if as_json:
        print_json(
            {"shop": shop_id, "platform": platform, "address": route, "created": created, "webhooks": records}
        )
        return
    if created:
        typer.echo(f"registered shop {shop_id} ({platform}) with a generated webhook secret")
    typer.echo(f"webhooks of {shop_id} -> {route}")
    for record in records:
        typer.echo(
            f"  {record.get('topic', '?'):<28} {record.get('action', '?'):<10} id={record.get('id', '?')}"
        )


@woocommerce_app.command("setup")
def woocommerce_setup(
    shop: Annotated[str, typer.Option("--shop", help="Shop id (registered if new).")],
    url: Annotated[str, typer.Option("--url", help="The WooCommerce site URL.")],
    key: Annotated[str, typer.Option("--key", help="REST API consumer key (ck_...).")],
    secret: Annotated[str, typer.Option("--secret", help="REST API consumer secret (cs_...).")],
    address: AddressOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Store the REST API keys and create the shop's webhooks to this service."""
    _setup(
        platform="woocommerce",
        shop_id=shop,
        credentials={"url": url, "key": key, "secret": secret},
        address=address,
        create_secret=True,
        as_json=as_json,
        db=db,
    )


@shopify_app.command("setup")
def shopify_setup(
    shop: Annotated[str, typer.Option("--shop", help="Shop id (registered with 'shop add').")],
    domain: Annotated[str, typer.Option("--domain", help="The shop's domain, e.g. example.myshopify.com.")],
    token: Annotated[str, typer.Option("--token", help="Admin API access token.")],
    address: AddressOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Store the Admin API token and create the shop's webhook subscriptions to this service."""
    domain = domain.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    _setup(
        platform="shopify",
        shop_id=shop,
        credentials={"url": f"https://{domain}", "token": token},
        address=address,
        create_secret=False,
        as_json=as_json,
        db=db,
    )


def register(root: typer.Typer) -> None:
    """Add ``aftersales woocommerce setup`` and ``aftersales shopify setup`` to the root app."""
    root.add_typer(woocommerce_app, name="woocommerce")
    root.add_typer(shopify_app, name="shopify")
