"""Refund pricing: the calculator (pure), its quote, and the platform refund built from it.

A workflow prices a case in two passes: ``quote_refund(order, lines, case_type)`` first, the
plugins' ``aftersales_refund_adjustments(case, quote)`` proposals next, then
``quote_refund(..., deductions=proposals)`` again, which keeps only what the law allows and lists
the rest in ``refused_deductions``; ``to_refund_request(quote, effect_key, ...)`` is what the
ledger sends. A :class:`QuoteError` means no money moves: its ``reason`` goes on the case.
"""

from aftersales.money.calculator import quote_refund
from aftersales.money.deductions import ReturnShippingTerms
from aftersales.money.quote import AppliedDeduction, QuoteError, QuoteLine, RefundQuote, RefusedDeduction
from aftersales.money.request import to_refund_request

__all__ = [
    "AppliedDeduction",
    "QuoteError",
    "QuoteLine",
    "RefundQuote",
    "RefusedDeduction",
    "ReturnShippingTerms",
    "quote_refund",
    "to_refund_request",
]
