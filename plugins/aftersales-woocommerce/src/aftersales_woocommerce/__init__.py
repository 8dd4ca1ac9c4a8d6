"""WooCommerce platform plugin for aftersales (REST API wc/v3 through the ``woocommerce`` package).

The plugin is found through the entry point group ``aftersales`` (name ``woocommerce``). The
fake shop for tests and demos is :mod:`aftersales_woocommerce.testing`.
"""

from aftersales_woocommerce.client import WooCommerceClient
from aftersales_woocommerce.plugin import WooCommercePlatform
from aftersales_woocommerce.rest import RetryPolicy

__version__ = "0.1.0"

__all__ = ["RetryPolicy", "WooCommerceClient", "WooCommercePlatform", "__version__"]
