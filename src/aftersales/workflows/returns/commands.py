"""Commands the web pages, the merchant API and the CLI call: one registered function each.

A command runs in one engine transaction. Its payload is validated by a pydantic model
first (unknown keys, wrong types and float money are refused with the field's name), then
the domain rules run; an :class:`InvalidRequest` reaches the caller with its reason and
leaves nothing written. The answer is a small JSON summary of the case.

==============================  =========  ============================================
command                         who        what
==============================  =========  ============================================
returns.request_withdrawal      customer   statutory withdrawal (the EU withdrawal button)
returns.request_return          customer   commercial return under the shop's window
returns.goodwill_refund         merchant   refund without goods; a reason is required
returns.approve / .decline      merchant   decide a case in the manual review queue
returns.mark_in_transit         customer   proof of dispatch (tracking number)
returns.receive                 merchant   goods at the warehouse, per unit
returns.inspect                 merchant   disposition per unit (restock, not restocked, repair)
returns.mark_lost               merchant   the carrier lost the parcel
returns.settle                  merchant   refund now (refund_trigger: manual, or after review)
returns.cancel                  customer   take a request back before money moved
==============================  =========  ============================================
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aftersales.domain import Case, CaseType, Customer, Disposition, Money
from aftersales.engine.api import StepContext, registry
from aftersales.workflows.returns import progress
from aftersales.workflows.returns.eligibility import InvalidRequest, RequestedLine
from aftersales.workflows.returns.flow import CUSTOMER
from aftersales.workflows.returns.intake import open_goodwill, open_request
from aftersales.workflows.returns.refunds import authoritative_order


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineRequest(_Payload):
    line_item_id: str = Field(min_length=1)
    quantity: int = 1
    reason: str | None = None


class RequestPayload(_Payload):
    order_number: str = Field(min_length=1)
    email: str = Field(min_length=3)
    lines: list[LineRequest] = Field(default_factory=list)
    """Empty for a withdrawal from the whole order."""
    request_id: str | None = None
    """The form's idempotency token: the same token returns the same case."""
    locale: str | None = None


class GoodwillPayload(_Payload):
    order_id: str = Field(min_length=1)
    reason: str
    amount: str | None = None
    currency: str | None = None
    lines: list[LineRequest] = Field(default_factory=list)
    actor: str = "merchant"
    request_id: str | None = None


class CasePayload(_Payload):
    case_number: str = Field(min_length=1)
    actor: str = "merchant"
    email: str | None = None
    """When a customer acts: the e-mail the case was opened with (a light check of who is asking)."""


class ApprovePayload(CasePayload):
    decline: dict[str, int] = Field(default_factory=dict)
    """Units to decline per order line while approving the rest."""
    note: str | None = None


class DeclinePayload(CasePayload):
    reason: str


class TransitPayload(CasePayload):
    tracking_number: str
    carrier: str | None = None
    lines: dict[str, int] | None = None


class ReceiveLine(_Payload):
    line_item_id: str
    quantity: int = 1
    outcome: Literal["received", "wrong_item"] = "received"
    disposition: Disposition | None = None


class ReceivePayload(CasePayload):
    lines: list[ReceiveLine] | None = None
    """None: every unit still expected arrived as it should."""


class InspectLine(_Payload):
    line_item_id: str
    quantity: int = 1
    disposition: Literal["restock", "not_restocked", "repair"]


class InspectPayload(CasePayload):
    lines: list[InspectLine]


class LostPayload(CasePayload):
    reason: str | None = None


class SettlePayload(CasePayload):
    force: bool = False
    note: str | None = None


class CancelPayload(CasePayload):
    reason: str | None = None


P = TypeVar("P", bound=_Payload)


def _parse(model: type[P], payload: dict[str, Any]) -> P:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidRequest(f"invalid request: {problems}") from None


def summary(case: Case) -> dict[str, Any]:
    """What a caller learns about the case (no internal data)."""
    reasons = case.data.get("eligibility")
    return {
        "case_id": case.id,
        "case_number": case.number,
        "type": case.type.value,
        "status": case.status,
        "order_id": case.order_id,
        "reason": case.reason,
        "reasons": list(reasons.get("reasons", [])) if isinstance(reasons, dict) else [],
        "lines": [
            {
                "line_item_id": line.line_item_id,
                "quantity": line.quantity,
                "authorization": line.authorization.value,
                "logistics": line.logistics.value,
                "disposition": line.disposition.value,
                "settlement": line.settlement.value,
            }
            for line in case.lines
        ],
        "deadlines": {key: value.isoformat() for key, value in case.deadlines.items()},
        "refund_total": None if case.refund_total is None else str(case.refund_total.amount),
        "currency": None if case.refund_total is None else case.refund_total.currency,
    }


def _case(ctx: StepContext, payload: CasePayload) -> Case:
    case = ctx.find_case(payload.case_number)
    if case is None or case.type not in (CaseType.WITHDRAWAL, CaseType.RETURN, CaseType.GOODWILL):
        raise InvalidRequest(f"no return case {payload.case_number}")
    if payload.email is not None and (case.customer.email or "").lower() != payload.email.strip().lower():
        raise InvalidRequest(f"no return case {payload.case_number} for this e-mail address")
    return case


def _customer_request(ctx: StepContext, case_type: CaseType, payload: dict[str, Any]) -> dict[str, Any]:
    request = _parse(RequestPayload, payload)
    found = ctx.find_order(request.order_number, request.email)
    if found is None:
        raise InvalidRequest(f"no order {request.order_number} for this e-mail address")
    order = authoritative_order(ctx, found.id)
    customer = Customer(
        id=order.customer.id,
        email=request.email.strip(),
        name=order.customer.name,
        phone=order.customer.phone,
        locale=request.locale or order.customer.locale,
    )
    case = open_request(
        ctx,
        case_type,
        order,
        [
            RequestedLine(line_item_id=i.line_item_id, quantity=i.quantity, reason=i.reason)
            for i in request.lines
        ],
        customer=customer,
        actor=CUSTOMER,
        source="web",
        source_ref=request.request_id,
    )
    return summary(case)


@registry.command("returns.request_withdrawal")
def request_withdrawal(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """The withdrawal function's confirmed step: the statement's time is now, the receipt goes by e-mail."""
    return _customer_request(ctx, CaseType.WITHDRAWAL, payload)


@registry.command("returns.request_return")
def request_return(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """A commercial return (inside the statutory window it is priced as the withdrawal it is)."""
    return _customer_request(ctx, CaseType.RETURN, payload)


@registry.command("returns.goodwill_refund")
def goodwill_refund(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(GoodwillPayload, payload)
    order = authoritative_order(ctx, request.order_id)
    amount: Money | None = None
    if request.amount is not None:
        try:
            amount = Money(request.amount, request.currency or order.currency)
        except ValidationError as exc:
            raise InvalidRequest(f"invalid amount {request.amount!r}: {exc.errors()[0]['msg']}") from None
    case = open_goodwill(
        ctx,
        order,
        reason=request.reason,
        amount=amount,
        requested=[RequestedLine(line_item_id=i.line_item_id, quantity=i.quantity) for i in request.lines],
        actor=request.actor,
        source_ref=request.request_id,
    )
    return summary(case)


@registry.command("returns.approve")
def approve(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(ApprovePayload, payload)
    case = _case(ctx, request)
    return summary(
        progress.merchant_approve(
            ctx, case, actor=request.actor, decline_units=request.decline, note=request.note
        )
    )


@registry.command("returns.decline")
def decline(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(DeclinePayload, payload)
    return summary(
        progress.merchant_decline(ctx, _case(ctx, request), actor=request.actor, reason=request.reason)
    )


@registry.command("returns.mark_in_transit")
def mark_in_transit(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(TransitPayload, payload)
    case = progress.mark_in_transit(
        ctx,
        _case(ctx, request),
        actor=request.actor,
        tracking_number=request.tracking_number,
        carrier=request.carrier,
        units=request.lines,
    )
    return summary(case)


@registry.command("returns.receive")
def receive(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(ReceivePayload, payload)
    received: dict[str, int] | None = None
    wrong: dict[str, int] | None = None
    disposition: dict[str, Disposition] = {}
    if request.lines is not None:
        received, wrong = {}, {}
        for line in request.lines:
            target = received if line.outcome == "received" else wrong
            target[line.line_item_id] = target.get(line.line_item_id, 0) + line.quantity
            if line.disposition is not None:
                disposition[line.line_item_id] = line.disposition
    case = progress.receive(
        ctx,
        _case(ctx, request),
        actor=request.actor,
        received=received or None,
        wrong_item=wrong or None,
        disposition=disposition,
    )
    return summary(case)


@registry.command("returns.inspect")
def inspect(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(InspectPayload, payload)
    grouped: dict[str, dict[str, int]] = {}
    for line in request.lines:
        per_line = grouped.setdefault(line.disposition, {})
        per_line[line.line_item_id] = per_line.get(line.line_item_id, 0) + line.quantity
    return summary(progress.inspect(ctx, _case(ctx, request), actor=request.actor, disposition=grouped))


@registry.command("returns.mark_lost")
def mark_lost(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(LostPayload, payload)
    return summary(progress.mark_lost(ctx, _case(ctx, request), actor=request.actor, reason=request.reason))


@registry.command("returns.settle")
def settle(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(SettlePayload, payload)
    case = progress.settle(
        ctx, _case(ctx, request), actor=request.actor, force=request.force, note=request.note
    )
    return summary(case)


@registry.command("returns.cancel")
def cancel(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(CancelPayload, payload)
    return summary(progress.cancel(ctx, _case(ctx, request), actor=request.actor, reason=request.reason))
