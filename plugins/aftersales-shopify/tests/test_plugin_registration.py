"""The distribution registers its adapter through the ``aftersales`` entry point group."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.platforms import (
    AuthenticationFailed,
    PlatformAdapter,
    PlatformError,
    ShopClient,
    StoreCredentials,
)
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


def test_credentials_as_shop_add_stores_them_reach_the_shop(fake: FakeShopify, paid_order: Any) -> None:
    """Only ``url`` and ``token`` (what ``aftersales shop add --url --token`` keeps)."""
    fake.add_order(paid_order())
    client = ShopifyPlatform().client(StoreCredentials(url=fake.url, token=fake.token))
    assert client.api.url == f"{fake.url}/admin/api/2026-07/graphql.json"
    assert client.fetch_order("820982911946154508").number == "#9999"
    client.close()


def test_a_myshopify_url_is_used_over_https_whatever_scheme_was_given() -> None:
    client = ShopifyPlatform().client(StoreCredentials(url="http://my-shop.myshopify.com", token="t"))
    assert client.api.url == "https://my-shop.myshopify.com/admin/api/2026-07/graphql.json"
    client.close()
    bare = ShopifyPlatform().client(
        StoreCredentials(url="my-shop.myshopify.com", token="t", api_version="2026-04")
    )
    assert bare.api.url == "https://my-shop.myshopify.com/admin/api/2026-04/graphql.json"
    bare.close()


def test_credentials_without_a_url_or_token_are_refused() -> None:
    with pytest.raises(PlatformError, match="shop URL"):
        ShopifyPlatform().client(StoreCredentials(token="t"))
    with pytest.raises(AuthenticationFailed):
        ShopifyPlatform().client(StoreCredentials(url="https://my-shop.myshopify.com"))
