"""From a priced quote to the refund the platform adapter sends.

The platforms want the refund's parts to add up: WooCommerce records ``refund_total`` and
``refund_tax`` per line next to the refund's ``amount``, Shopify checks line items against the
transaction. So when the quote's total is below its priced items (deductions, the cap at what
is left of the capture), the difference is spread over the lines and the delivery in whole
minor units (:func:`aftersales.domain.allocate`), and each tax share follows its amount.
"""

from __future__ import annotations

from collections.abc import Collection

from aftersales.domain import Money, allocate
from aftersales.money.quote import QuoteError, RefundQuote
from aftersales.platforms import RefundLine, RefundRequest


def _scaled_tax(amount: Money, of: Money, tax: Money) -> Money:
    if amount == of or of.is_zero():
        return tax if amount == of else Money.zero(tax.currency)
    return Money.rounded(tax.amount * amount.amount / of.amount, tax.currency)


def to_refund_request(
    quote: RefundQuote,
    effect_key: str,
    order_id: str,
    reason: str,
    *,
    notify_customer: bool = True,
    move_money: bool = True,
    restock: bool | Collection[str] = False,
) -> RefundRequest:
    """The :class:`RefundRequest` for ``quote``; ``effect_key`` makes it idempotent at the platform.

    ``restock``: True to put every refunded unit back in stock, or the ids of the lines to restock.
    Raises :class:`QuoteError` for a quote of another order or a refund of nothing.
    """
    if not effect_key.strip():
        raise QuoteError("a refund needs an effect key (it is what makes it happen only once)")
    if str(order_id) != quote.order_id:
        raise QuoteError(f"the quote is for order {quote.order_id}, not {order_id}")
    if quote.total.is_zero():
        raise QuoteError("the refund comes to 0; there is nothing to send to the platform")
    cur = quote.currency
    parts = [line.amount for line in quote.lines] + [
        quote.shipping,
        quote.fees,
        quote.compensation,
        quote.remainder_taken,
    ]
    lowered = quote.subtotal - quote.total
    shares = (
        allocate(lowered, [p.minor for p in parts])
        if not lowered.is_zero()
        else [Money.zero(cur)] * len(parts)
    )
    lines: list[RefundLine] = []
    for line, share in zip(quote.lines, shares, strict=False):
        amount = line.amount - share
        lines.append(
            RefundLine(
                line_item_id=line.line_item_id,
                quantity=line.quantity,
                amount=amount,
                tax=_scaled_tax(amount, line.amount, line.tax),
                restock=restock if isinstance(restock, bool) else line.line_item_id in restock,
            )
        )
    shipping = quote.shipping - shares[len(quote.lines)]
    return RefundRequest(
        effect_key=effect_key,
        order_id=quote.order_id,
        amount=quote.total,
        lines=tuple(lines),
        shipping=None if shipping.is_zero() else shipping,
        reason=reason,
        notify_customer=notify_customer,
        move_money=move_money,
    )
