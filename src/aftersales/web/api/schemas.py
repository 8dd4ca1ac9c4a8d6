"""Request and answer models of the JSON APIs (their JSON Schemas make ``/openapi.json``).

Bodies refuse unknown fields (a typo is an error, not an ignored wish). Money travels as
decimal strings, never floats (DESIGN §5). The workflows validate again with their own
payload models; these models exist so that a client learns the shape from the document and
gets a 422 naming the field before anything reaches the engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from aftersales.web.api.operations import ApiModel

CaseTypeName = Literal["withdrawal", "return", "goodwill", "complaint", "warranty", "guarantee_payout"]


def amount_field() -> Any:
    """An optional decimal amount as a string (``12.50``): never a float."""
    return Field(default=None, pattern=r"^\d{1,12}(\.\d{1,2})?$")


def text_field() -> Any:
    return Field(min_length=1, max_length=4000)


def token_field() -> Any:
    return Field(min_length=1, max_length=2000)


def locale_field() -> Any:
    """``pl``, ``en``, ``pl-PL``...: the language of the messages the request causes."""
    return Field(default=None, pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?$")


# -- shared -------------------------------------------------------------------------------------------


class LineQuantity(ApiModel):
    line_item_id: str = Field(min_length=1, max_length=128)
    quantity: int = Field(default=1, ge=1, le=10_000)


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    status: str
    reason: str | None = None
    actor: str | None = None
    """Merchant view only (customers do not see who did it)."""
    customer_visible: bool | None = None


class CaseLineAnswer(BaseModel):
    line_item_id: str
    name: str | None = None
    quantity: int
    authorization: str
    logistics: str
    disposition: str
    settlement: str


class CaseStatusAnswer(BaseModel):
    """What the signed status link shows: the case and its customer-visible history."""

    case_number: str
    type: str
    status: str
    order_number: str | None = None
    opened_at: datetime
    statement_at: datetime | None = None
    """For a withdrawal: when the statement was received (the receipt's date and time)."""
    deadlines: dict[str, datetime] = Field(default_factory=dict)
    refund_total: str | None = None
    currency: str | None = None
    lines: list[CaseLineAnswer] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)


class Opened(BaseModel):
    """A case a customer request opened (or found again for the same ``request_id``)."""

    case_number: str
    type: str
    status: str
    status_token: str
    status_url: str


# -- customer -----------------------------------------------------------------------------------------


class LookupBody(ApiModel):
    order_number: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=320)


class OrderLineAnswer(BaseModel):
    line_item_id: str
    name: str
    quantity: int
    returnable: int


class OrderCaseAnswer(BaseModel):
    case_number: str
    type: str
    status: str
    status_token: str


class OrderAnswer(BaseModel):
    order_id: str
    order_number: str
    created_at: datetime
    delivered_at: datetime | None = None
    currency: str
    total: str
    lines: list[OrderLineAnswer]
    cases: list[OrderCaseAnswer]


class LookupAnswer(BaseModel):
    order_pass: str
    """Carry this to the return and withdrawal operations; valid for two hours."""
    order: OrderAnswer


class ReturnLine(LineQuantity):
    reason: Literal["changed_mind", "wrong_size", "damaged", "not_as_described", "other"] | None = None


class ReturnBody(ApiModel):
    order_pass: str = token_field()
    lines: list[ReturnLine] = Field(min_length=1, max_length=200)
    request_id: str | None = Field(default=None, min_length=1, max_length=200)
    """Idempotency: the same id returns the same case."""
    locale: str | None = locale_field()


class WithdrawalBody(ApiModel):
    """The statement of withdrawal (Art. 11a CRD): the client shows the two steps, then sends this."""

    order_pass: str = token_field()
    lines: list[LineQuantity] = Field(default_factory=list, max_length=200)
    """Empty: withdrawal from the whole contract."""
    confirmed: Literal[True] = Field(
        description="The customer pressed the confirmation button of the withdrawal function."
    )
    request_id: str | None = Field(default=None, min_length=1, max_length=200)
    locale: str | None = locale_field()


class AttachmentBody(ApiModel):
    filename: str = Field(default="attachment", max_length=255)
    content_type: str | None = Field(default=None, max_length=100)
    content_base64: str = Field(min_length=1)


class ComplaintBody(ApiModel):
    email: str = Field(min_length=3, max_length=320)
    description: str = Field(min_length=1, max_length=20_000)
    order_number: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=50)
    product: str | None = Field(default=None, max_length=300)
    remedy: Literal["repair", "replace", "price_reduction", "withdraw"] | None = None
    lines: list[LineQuantity] = Field(default_factory=list, max_length=200)
    request_id: str | None = Field(default=None, min_length=1, max_length=200)
    locale: str | None = locale_field()
    attachments: list[AttachmentBody] = Field(default_factory=list, max_length=5)


class SubscribeBody(ApiModel):
    variant_id: str = Field(min_length=1, max_length=128)
    email: str = Field(min_length=3, max_length=320)
    product_id: str | None = Field(default=None, min_length=1, max_length=128)
    locale: str | None = locale_field()


class TokenBody(ApiModel):
    token: str = token_field()


class RestockAnswer(BaseModel):
    outcome: str
    message: str


# -- merchant -----------------------------------------------------------------------------------------


class CaseQuery(ApiModel):
    type: CaseTypeName | None = None
    status: str | None = Field(default=None, pattern=r"^[a-z_]{1,48}$")
    order_id: str | None = Field(default=None, min_length=1, max_length=128)
    opened_from: AwareDatetime | None = None
    """Cases opened at or after this moment (ISO 8601 with a time zone)."""
    opened_to: AwareDatetime | None = None
    """Cases opened before this moment."""
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class CaseSummary(BaseModel):
    case_number: str
    type: str
    status: str
    order_id: str | None = None
    customer_email: str | None = None
    source: str
    opened_at: datetime
    updated_at: datetime


class CaseList(BaseModel):
    cases: list[CaseSummary]
    limit: int
    offset: int
    total: int
    next_offset: int | None = None


class AttachmentAnswer(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str


class CaseDetail(CaseSummary):
    customer: dict[str, Any]
    reason: str | None = None
    deadlines: dict[str, datetime] = Field(default_factory=dict)
    refund_total: str | None = None
    currency: str | None = None
    lines: list[CaseLineAnswer]
    data: dict[str, Any]
    status_url: str
    """The customer's signed status link (to quote in a reply)."""
    attachments: list[AttachmentAnswer] = Field(default_factory=list)
    timeline: list[TimelineEntry]


class ApproveBody(ApiModel):
    decline: dict[str, int] = Field(default_factory=dict)
    """Units to decline per order line while approving the rest."""
    note: str | None = Field(default=None, max_length=4000)


class DeclineBody(ApiModel):
    reason: str = text_field()


class ReceiveLine(LineQuantity):
    outcome: Literal["received", "wrong_item"] = "received"
    disposition: Literal["restock", "not_restocked", "repair"] | None = None


class ReceiveBody(ApiModel):
    lines: list[ReceiveLine] | None = Field(default=None, max_length=200)
    """Omitted: every unit still expected arrived as it should."""


class InspectLine(LineQuantity):
    disposition: Literal["restock", "not_restocked", "repair"]


class InspectBody(ApiModel):
    lines: list[InspectLine] = Field(min_length=1, max_length=200)


class AnswerBody(ApiModel):
    """The trader's answer to a complaint (art. 7a u.p.k.: within 14 days, or deemed accepted)."""

    decision: Literal["accept", "switch", "refuse_remedies", "reject"]
    text: str = text_field()
    remedy: Literal["repair", "replace", "price_reduction", "withdraw"] | None = None
    because: Literal["impossible", "disproportionate", "insignificant", "ground_disputed"] | None = None
    price_reduction: str | None = amount_field()


class GoodwillBody(ApiModel):
    order_id: str = Field(min_length=1, max_length=128)
    reason: str = text_field()
    amount: str | None = amount_field()
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    lines: list[LineQuantity] = Field(default_factory=list, max_length=200)
    request_id: str | None = Field(default=None, min_length=1, max_length=200)


class MonthQuery(ApiModel):
    month: str | None = Field(default=None, pattern=r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$")
    """``YYYY-MM``; default: the current month in the shop's time zone."""


class Reason(BaseModel):
    reason: str
    orders: int


class PayoutsAnswer(BaseModel):
    count: int
    pending: int
    failed: int
    cost: dict[str, str]


class GuaranteeReportAnswer(BaseModel):
    shop: str
    month: str
    orders_under_promise: int
    covered: int
    pending: int
    on_time: int
    late: int
    on_time_percent: float | None = None
    excluded: int
    cancelled: int
    payouts: PayoutsAnswer
    late_without_payout: int
    top_late_reasons: list[Reason]
    excluded_by_reason: list[Reason]


class VariantAnswer(BaseModel):
    shop_id: str
    variant_id: str
    name: str
    state: str | None = None
    waiting: int
    pending: int
    episodes: int
    queued: int
    sent: int
    clicked: int
    converted: int
    direct: int
    assisted: int
    revenue: dict[str, str]


class RestockReportAnswer(BaseModel):
    variants: list[VariantAnswer]
