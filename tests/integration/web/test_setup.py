"""``aftersales woocommerce setup`` against a fake WooCommerce shop that speaks HTTP, then the
shop's own signed webhooks arriving at the live ingress — the whole connection, end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from aftersales.cli import app
from aftersales.plugins import load_plugins
from aftersales.store.models import InboxItem, Shop
from aftersales.web.app import create_app
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order


@pytest.fixture
def woo_shop() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(consumer_key="ck_live", consumer_secret="cs_live") as fake:
        yield fake


@pytest.fixture
def service(kit: Any, sessions: sessionmaker[Session], secret_key_env: None) -> Iterator[Any]:
    runtime = kit.RecordingRuntime(sessions=sessions, plugins=load_plugins())
    with kit.LiveServer(create_app(runtime)) as server:
        yield server


def setup(db_url: str, fake: FakeWooCommerce, address: str, *extra: str) -> Any:
    args = ["woocommerce", "setup", "--shop", "woo", "--url", fake.url, "--key", "ck_live"]
    args += ["--secret", "cs_live", "--address", address, "--db", db_url, *extra]
    return CliRunner().invoke(app, args)


def test_setup_connects_a_new_shop_and_its_webhooks_arrive_signed(
    db_url: str, woo_shop: FakeWooCommerce, service: Any, sessions: sessionmaker[Session]
) -> None:
    result = setup(db_url, woo_shop, service.url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["created"] is True
    assert report["address"] == f"{service.url}/webhooks/woocommerce/woo"
    assert {r["action"] for r in report["webhooks"]} == {"created"}
    assert {r["topic"] for r in report["webhooks"]} >= {"order.created", "order.updated", "product.updated"}

    with sessions() as session:
        shop = session.get(Shop, "woo")
        assert shop is not None and shop.platform == "woocommerce"
        assert shop.credentials == {"url": woo_shop.url, "key": "ck_live", "secret": "cs_live"}
        [secret] = shop.webhook_secrets
    hooks = woo_shop.webhooks()
    assert {h["delivery_url"] for h in hooks} == {report["address"]}
    assert {h["secret"] for h in hooks} == {secret}
    assert secret not in result.output

    # WooCommerce pings a new webhook, then sends real changes signed with the secret we chose
    assert woo_shop.ping(hooks[0]["id"]).ok
    order = woo_shop.add_order(sample_order())
    woo_shop.wait_for_deliveries()
    assert [d.status for d in woo_shop.deliveries if d.topic == "order.created"] == [200]
    with sessions() as session:
        [item] = session.scalars(select(InboxItem)).all()
    assert (item.shop_id, item.topic, item.state) == ("woo", "order.created", "pending")
    assert json.loads(item.body)["id"] == order["id"]


def test_setup_twice_changes_nothing(db_url: str, woo_shop: FakeWooCommerce, service: Any) -> None:
    first = json.loads(setup(db_url, woo_shop, service.url, "--json").stdout)
    again = setup(db_url, woo_shop, service.url, "--json")
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert second["created"] is False
    assert {r["action"] for r in second["webhooks"]} == {"unchanged"}
    assert [r["id"] for r in second["webhooks"]] == [r["id"] for r in first["webhooks"]]
    assert len(woo_shop.webhooks()) == len(first["webhooks"])


def test_shopify_setup_needs_the_shop_registered_with_the_apps_client_secret(db_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["shopify", "setup", "--shop", "sh", "--domain", "x.myshopify.com", "--token", "t", "--db", db_url],
    )
    assert result.exit_code == 1
    assert "register it first" in result.output


def test_setup_refuses_a_shop_of_another_platform(
    db_url: str, woo_shop: FakeWooCommerce, kit: Any, sessions: Any
) -> None:
    kit.add_shop(sessions, "woo", ["secret-of-shop-a-0123456789"], platform="shopify")
    result = setup(db_url, woo_shop, "http://127.0.0.1:9")
    assert result.exit_code == 1 and "is a shopify shop" in result.output
