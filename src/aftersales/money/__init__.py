"""Refund pricing: the calculator (pure), its quote, and the platform refund built from it."""

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
