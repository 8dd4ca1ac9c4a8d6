"""The result of pricing a refund: what the customer gets back, and why, step by step.

A :class:`RefundQuote` is a value: frozen, computed by :func:`aftersales.money.calculator.quote_refund`
from an order and a request, never edited afterwards. Workflows store it on the case, plugins
read it in ``aftersales_refund_adjustments``, the merchant previews it with
``aftersales refund quote``; the money that actually moves is :func:`to_refund_request` of it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from aftersales.decisions import DeductionKind
from aftersales.domain import CaseType, Money


class QuoteError(ValueError):
    """A refund that cannot be priced as asked (too many units, a foreign line, nothing left...).

    ``reason`` is one sentence a workflow stores on the case and shows the merchant; no money
    moves and nothing is half-done when this is raised.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QuoteLine(BaseModel):
    """The refund for ``quantity`` units of one order line, before any deduction.

    ``first_unit`` is the 0-based index of the first unit refunded here among the line's units:
    units are priced one by one (see :func:`aftersales.domain.allocate`), earlier cases took the
    units before it, so the units of a line returned over several cases add up to exactly what
    was paid for the line.
    """

    model_config = ConfigDict(frozen=True)

    line_item_id: str
    name: str = ""
    quantity: int
    first_unit: int
    amount: Money
    """Tax included: what the customer paid for these units."""
    tax: Money
    """The tax share of ``amount``."""
    net: Money
    """``amount`` minus ``tax``."""


class AppliedDeduction(BaseModel):
    """A deduction the law allows for this case, kept back from the refund."""

    model_config = ConfigDict(frozen=True)

    kind: DeductionKind
    requested: Money
    amount: Money
    """What is actually kept back: ``requested`` capped so the refund never goes negative."""
    reason: str


class RefusedDeduction(BaseModel):
    """A deduction that was proposed but is not allowed, with the rule it would break."""

    model_config = ConfigDict(frozen=True)

    kind: DeductionKind
    amount: Money
    reason: str
    """The reason the proposer gave."""
    refused_because: str
    """The legal (or policy) reason it was refused."""


class RefundQuote(BaseModel):
    """A priced refund for one request against one order.

    Amounts: ``lines`` + ``shipping`` + ``fees`` + ``compensation`` + ``remainder_taken`` = ``subtotal``;
    ``subtotal`` − ``cut_to_captured`` − Σ ``deductions`` = ``total``;
    ``refundable_before`` − ``total`` = ``remaining``. ``total`` never exceeds
    ``refundable_before`` (the capture minus every refund already made, in the shop admin too).
    """

    model_config = ConfigDict(frozen=True)

    order_id: str
    case_type: CaseType
    jurisdiction: str
    currency: str
    lines: tuple[QuoteLine, ...] = ()
    shipping: Money
    """Delivery cost refunded (only on a whole-order withdrawal; at most the cheapest standard delivery)."""
    shipping_tax: Money
    fees: Money
    """Order charges outside lines and delivery (a payment fee) refunded on a whole-order withdrawal."""
    compensation: Money
    """An amount not tied to units: a goodwill gesture, a guarantee payout, a price reduction."""
    remainder_taken: Money
    """What the refund completing an order takes beyond its priced items (rounding residue, amounts
    an earlier refund left behind), so the last refund leaves nothing of the capture behind."""
    subtotal: Money
    cut_to_captured: Money
    """How much ``subtotal`` was lowered so the refund stays within what is left of the capture."""
    deductions: tuple[AppliedDeduction, ...] = ()
    refused_deductions: tuple[RefusedDeduction, ...] = ()
    total: Money
    refundable_before: Money
    remaining: Money
    completes_order: bool
    """After this refund every unit is refunded and nothing refundable is left out (the last refund)."""
    trace: tuple[str, ...] = ()

    @property
    def deducted(self) -> Money:
        result = Money.zero(self.currency)
        for deduction in self.deductions:
            result = result + deduction.amount
        return result

    def to_json(self) -> dict[str, Any]:
        """The quote as plain JSON: amounts as exact decimal strings, the currency once."""

        def s(m: Money) -> str:
            return str(m.amount)

        return {
            "order_id": self.order_id,
            "case_type": self.case_type.value,
            "jurisdiction": self.jurisdiction,
            "currency": self.currency,
            "total": s(self.total),
            "lines": [
                {
                    "line_item_id": line.line_item_id,
                    "name": line.name,
                    "quantity": line.quantity,
                    "amount": s(line.amount),
                    "tax": s(line.tax),
                    "net": s(line.net),
                }
                for line in self.lines
            ],
            "shipping": s(self.shipping),
            "shipping_tax": s(self.shipping_tax),
            "fees": s(self.fees),
            "compensation": s(self.compensation),
            "remainder_taken": s(self.remainder_taken),
            "subtotal": s(self.subtotal),
            "cut_to_captured": s(self.cut_to_captured),
            "deductions": [
                {"kind": d.kind.value, "requested": s(d.requested), "amount": s(d.amount), "reason": d.reason}
                for d in self.deductions
            ],
            "refused_deductions": [
                {
                    "kind": d.kind.value,
                    "amount": s(d.amount),
                    "reason": d.reason,
                    "refused_because": d.refused_because,
                }
                for d in self.refused_deductions
            ],
            "refundable_before": s(self.refundable_before),
            "remaining": s(self.remaining),
            "completes_order": self.completes_order,
            "trace": list(self.trace),
        }
