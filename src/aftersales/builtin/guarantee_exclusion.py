"""Built-in ``aftersales_guarantee_exclusion``: the policy's ``guarantee.exclude`` lists.

Registered first, so it answers last: a plugin that answers first (``tryfirst`` or registered
later) overrides it. Matching is by name, forgiving of how platforms spell them: case, spaces
and hyphens are ignored (``Cash on Delivery`` = ``cash-on-delivery`` = ``cash_on_delivery``).

- ``channels``: the order's sales channel (Shopify ``source_name`` such as ``web`` or a
  marketplace app's name; WooCommerce ``created_via`` such as ``checkout`` or ``admin``);
- ``payment_methods``: any of the order's payment methods (Shopify lists every gateway of the
  order, joined by ", "; WooCommerce has one ``payment_method`` id such as ``cod``);
- ``tags``: an order tag or a tag of any of its lines (a pre-order product excludes the order).

Why these exclusions exist at all: an order the shop does not ship itself (marketplace
fulfilment), or one whose payment is not final when it is placed (instalments approved days
later, cash on delivery), cannot be held to a clock that starts at payment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from aftersales import hookimpl
from aftersales.decisions import GuaranteeExclusion
from aftersales.domain import Order, Shipment
from aftersales.policy.schema import Policy

_SEPARATORS = re.compile(r"[\s_\-]+")


def _norm(name: str) -> str:
    return _SEPARATORS.sub("_", name.strip().casefold()).strip("_")


def _first_match(values: Iterable[str], excluded: Iterable[str]) -> str | None:
    wanted = {_norm(item): item for item in excluded if item.strip()}
    for value in values:
        if _norm(value) in wanted:
            return value
    return None


@hookimpl
def aftersales_guarantee_exclusion(
    order: Order, shipment: Shipment | None, policy: Policy
) -> GuaranteeExclusion | None:
    """The first ``guarantee.exclude`` rule the order falls under, else None."""
    rules = policy.guarantee.exclude
    if order.sales_channel:
        hit = _first_match([order.sales_channel], rules.channels)
        if hit is not None:
            return GuaranteeExclusion(reason=f"sales channel {hit!r} is excluded from the guarantee")
    if order.payment_method:
        methods = [m for m in order.payment_method.split(",") if m.strip()]
        hit = _first_match([m.strip() for m in methods], rules.payment_methods)
        if hit is not None:
            return GuaranteeExclusion(reason=f"payment method {hit!r} is excluded from the guarantee")
    hit = _first_match(order.tags, rules.tags)
    if hit is not None:
        return GuaranteeExclusion(reason=f"order tag {hit!r} is excluded from the guarantee")
    for line in order.line_items:
        hit = _first_match(line.tags, rules.tags)
        if hit is not None:
            # the reason names the rule, not the product, so the report can count it
            return GuaranteeExclusion(reason=f"product tag {hit!r} is excluded from the guarantee")
    return None
