"""Shopify platform plugin for aftersales: webhooks, Admin GraphQL client and a fake shop for tests.

Public surface: :class:`ShopifyPlatform` (the adapter the plugin registers),
:class:`ShopifyShopClient` (one shop's API), :data:`DEFAULT_API_VERSION`. The fake shop lives in
:mod:`aftersales_shopify.testing`.
"""

from aftersales_shopify.admin_api import DEFAULT_API_VERSION, AdminGraphQL, RetryPolicy
from aftersales_shopify.admin_schema import SCHEMA_VERSION
from aftersales_shopify.platform import ShopifyPlatform
from aftersales_shopify.shop_client import ShopifyShopClient

__all__ = [
    "DEFAULT_API_VERSION",
    "SCHEMA_VERSION",
    "AdminGraphQL",
    "RetryPolicy",
    "ShopifyPlatform",
    "ShopifyShopClient",
]
