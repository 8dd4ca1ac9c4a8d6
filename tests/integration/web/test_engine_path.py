"""The whole way in, with the real engine: a fake WooCommerce shop connected by
``aftersales woocommerce setup`` sends a signed order webhook to the live service; the engine
(inline runtime) processes the inbox row and keeps the refetched order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aftersales.cli import app
from aftersales.engine.runtime import Runtime
from aftersales.plugins import load_plugins
from aftersales.store.models import InboxItem, OrderSnapshot
from aftersales.web.app import create_app
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order


@pytest.fixture
def runtime(db_url: str) -> Iterator[Runtime]:
    rt = Runtime(db_url, plugins=load_plugins()).launch(worker=False)
    yield rt
    rt.shutdown()


def test_a_shop_webhook_becomes_an_order_the_engine_knows(
    db_url: str, runtime: Runtime, kit: Any, secret_key_env: None
) -> None:
    with FakeWooCommerce() as shop, kit.LiveServer(create_app(runtime)) as service:
        credentials = ["--url", shop.url, "--key", shop.consumer_key, "--secret", shop.consumer_secret]
        setup = CliRunner().invoke(
            app,
            ["woocommerce", "setup", "--shop", "woo", *credentials, "--address", service.url, "--db", db_url],
        )
        assert setup.exit_code == 0, setup.output
        order = shop.add_order(sample_order(currency="PLN"))
        shop.wait_for_deliveries()
        assert [d.status for d in shop.deliveries if d.topic == "order.created"] == [200]

        runtime.run_until_idle()

    with runtime.sessions() as session:
        [item] = session.scalars(select(InboxItem)).all()
        assert item.state == "done", item.error
        snapshot = session.get(OrderSnapshot, ("woo", str(order["id"])))
    assert snapshot is not None
    assert snapshot.number == str(order["number"])
