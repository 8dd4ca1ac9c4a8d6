"""Typed records that decision hooks return (never ad-hoc dicts the core must guess about)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from aftersales.domain import Money


class Eligibility(BaseModel):
    """Whether a return/withdrawal may go ahead, and whether it needs a person."""

    model_config = ConfigDict(frozen=True)

    eligible: bool
    auto_approve: bool = False
    reasons: tuple[str, ...] = ()
    """Human-readable, stored on the case and shown to the merchant (and the customer when declined)."""


class DeductionKind(StrEnum):
    RETURN_SHIPPING = "return_shipping"
    RESTOCKING_FEE = "restocking_fee"
    DIMINISHED_VALUE = "diminished_value"


class Deduction(BaseModel):
    """Money kept back from a refund. The core refuses kinds the law forbids for the case type."""

    model_config = ConfigDict(frozen=True)

    kind: DeductionKind
    amount: Money
    reason: str


class Remedy(StrEnum):
    REPAIR = "repair"
    REPLACE = "replace"
    PRICE_REDUCTION = "price_reduction"
    WITHDRAW = "withdraw"


class ComplaintDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    accept: bool
    remedy: Remedy | None = None
    reason: str
    price_reduction: Money | None = None


class GuaranteeExclusion(BaseModel):
    """Why an order is outside the shipping guarantee (marketplace, instalments, force majeure...)."""

    model_config = ConfigDict(frozen=True)

    reason: str


class PickupOrder(BaseModel):
    """A courier pick-up requested at the shop's cost (complaints: art. 43d ust. 2-3 u.p.k.)."""

    model_config = ConfigDict(frozen=True)

    reference: str
    carrier: str
    details: dict[str, str] = Field(default_factory=dict)
