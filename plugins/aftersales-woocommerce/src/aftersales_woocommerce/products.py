"""wc/v3 products and variations → the domain's :class:`~aftersales.domain.StockLevel`.

Back-in-stock subscriptions are keyed by the thing a customer can buy: a simple product, or
one variation of a variable product. WooCommerce quirks settled here:

- ``stock_quantity`` means something only when ``manage_stock`` is true; otherwise the shop
  tracks a status alone, and ``available`` is None (unknown count).
- A variation may say ``manage_stock: "parent"``: its units are the parent's. The variation's
  own ``stock_quantity`` then mirrors the parent's, so it is still reported.
- Only ``instock`` counts as in stock. ``onbackorder`` is purchasable but ships later, which is
  not what a back-in-stock subscriber waits for.
- A variable product's own payload carries no per-variation stock (only the ids); when stock is
  managed on the parent it is reported as the parent's level, otherwise there is nothing to say
  until the variations themselves are read.
"""

from __future__ import annotations

from aftersales.domain import StockLevel
from aftersales_woocommerce.payloads import WcProduct


def _available(product: WcProduct) -> int | None:
    if product.manage_stock is True or product.manage_stock == "parent":
        return product.stock_quantity
    return None


def stock_level(product: WcProduct, parent_id: int | None = None) -> StockLevel:
    """The level of one purchasable thing. ``parent_id`` is needed when the payload lacks it
    (the variations endpoint of older WooCommerce versions omits ``parent_id``)."""
    is_variation = product.type == "variation" or parent_id is not None
    parent = parent_id or product.parent_id
    if is_variation:
        if not parent:
            raise ValueError("parent_id: a variation must name its parent product")
        return StockLevel(
            product_id=str(parent),
            variant_id=str(product.id),
            sku=product.sku or None,
            available=_available(product),
            in_stock=product.stock_status == "instock",
        )
    return StockLevel(
        product_id=str(product.id),
        variant_id=None,
        sku=product.sku or None,
        available=_available(product),
        in_stock=product.stock_status == "instock",
    )


def stock_levels(product: WcProduct) -> list[StockLevel]:
    """Levels a product webhook body tells about (see the module docstring for variable products)."""
    if product.type == "variable" and product.manage_stock is not True:
        return []
    return [stock_level(product)]
