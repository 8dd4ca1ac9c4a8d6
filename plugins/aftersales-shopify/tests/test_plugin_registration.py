"""The distribution registers its adapter through the ``aftersales`` entry point group."""

from __future__ import annotations

from aftersales.platforms import PlatformAdapter, ShopClient
from aftersales.plugins import load_plugins
from aftersales_shopify import ShopifyPlatform
from aftersales_shopify.testing import FakeShopify


def test_the_entry_point_registers_the_shopify_platform() -> None:
    adapter = load_plugins().platform("shopify")
    assert isinstance(adapter, ShopifyPlatform)
    assert isinstance(adapter, PlatformAdapter)
    assert adapter.name == "shopify"
    assert "orders/create" in adapter.topics()


def test_the_client_satisfies_the_shop_client_contract(fake: FakeShopify) -> None:
    client = ShopifyPlatform().client(fake.credentials())
    assert isinstance(client, ShopClient)
    client.close()
