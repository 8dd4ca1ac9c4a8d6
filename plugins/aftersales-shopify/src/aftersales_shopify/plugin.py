"""Entry point ``shopify`` in the ``aftersales`` group: registers the Shopify platform adapter."""

from __future__ import annotations

from collections.abc import Callable

from aftersales import hookimpl
from aftersales.platforms import PlatformAdapter
from aftersales_shopify.platform import ShopifyPlatform


@hookimpl
def aftersales_register_platforms(register: Callable[[PlatformAdapter], None]) -> None:
    register(ShopifyPlatform())
