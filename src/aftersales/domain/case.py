"""Cases: one customer request about one order, with per-unit lines on four axes.

The four axes come from Solidus' return items: whether a unit is authorized, where the
goods are, what happens to them, and how the money is settled. Keeping them separate
lets a case be "approved, goods in transit, refund pending" without inventing a combined
state for every combination. The case-level ``status`` is the workflow's own state machine
(each workflow module defines its ``StrEnum`` and transition table).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from aftersales.domain._base import AwareDatetime, DomainModel, PlatformId
from aftersales.domain.money import Money
from aftersales.domain.order import Customer


class CaseType(StrEnum):
    WITHDRAWAL = "withdrawal"
    """Statutory withdrawal (14 days, no reason needed, no approval inside the window)."""
    RETURN = "return"
    """Commercial return under the shop's own, longer window."""
    GOODWILL = "goodwill"
    """A refund without goods, with a required reason."""
    COMPLAINT = "complaint"
    """Non-conformity with the contract (statutory liability, 2 years)."""
    WARRANTY = "warranty"
    """A commercial guarantee (the guarantor's own terms)."""
    GUARANTEE_PAYOUT = "guarantee_payout"
    """Shipping-guarantee compensation for a late dispatch or delivery."""


class Authorization(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    MANUAL_REVIEW = "manual_review"


class Logistics(StrEnum):
    NOT_REQUIRED = "not_required"
    AWAITING = "awaiting"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    LOST = "lost"
    WRONG_ITEM = "wrong_item"


class Disposition(StrEnum):
    UNDECIDED = "undecided"
    RESTOCK = "restock"
    NOT_RESTOCKED = "not_restocked"
    REPAIR = "repair"


class Settlement(StrEnum):
    NONE = "none"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REPLACEMENT = "replacement"
    VOUCHER = "voucher"


class CaseLine(DomainModel):
    """One unit (quantity is 1 unless the workflow groups identical units) of one order line."""

    line_item_id: PlatformId
    quantity: int = Field(default=1, ge=1)
    reason: str | None = None
    authorization: Authorization = Authorization.PENDING
    logistics: Logistics = Logistics.AWAITING
    disposition: Disposition = Disposition.UNDECIDED
    settlement: Settlement = Settlement.NONE


class Case(DomainModel):
    id: str
    number: str
    """Human-readable, per shop (e.g. ``R-2026-000042``); what customers quote in e-mails."""
    shop_id: str
    type: CaseType
    status: str
    order_id: PlatformId | None = None
    customer: Customer = Field(default_factory=Customer)
    lines: list[CaseLine] = Field(default_factory=list)
    reason: str | None = None
    opened_at: AwareDatetime
    deadlines: dict[str, AwareDatetime] = Field(default_factory=dict)
    refund_total: Money | None = None
    data: dict[str, object] = Field(default_factory=dict)
    version: int = 0
