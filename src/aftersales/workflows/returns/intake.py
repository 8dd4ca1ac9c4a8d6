"""Opening a case: a withdrawal statement, a return request, a goodwill refund, a platform return.

Everything a request needs is checked before anything is written (the order exists for this
e-mail, the lines belong to it, no more units than are still returnable, amounts in the
order's currency and within what is left of the payment). A bad request from a person gets
the reason back and leaves no trace; a bad request from a platform (a Shopify return) becomes
a ``rejected`` case with the reason, because the platform already holds it and the merchant
must see why it was refused.

Intake is idempotent: the same ``(source, source_ref)`` returns the existing case (the
engine's ``open_case``), and a case that already left ``requested`` is returned as it is, so
a double-clicked form or a redelivered webhook never opens or decides anything twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from aftersales.domain import Authorization, Case, CaseLine, CaseType, Customer, Money, Order
from aftersales.money import QuoteError
from aftersales.store.models import CaseRow  # the intake-key lookup (the engine API has no such query)
from aftersales.workflows.returns import notices
from aftersales.workflows.returns.authorization import approve, authorize
from aftersales.workflows.returns.clocks import windows
from aftersales.workflows.returns.eligibility import (
    WITHDRAWAL_WINDOW,
    InvalidRequest,
    RequestedLine,
    inside,
    returnable_units,
    validate_request,
)
from aftersales.workflows.returns.flow import (
    PLATFORM,
    fire,
    refresh_deadlines,
    schedule_refund_clocks,
    shop_law,
    stamp_statement,
)
from aftersales.workflows.returns.refunds import GOODWILL_AMOUNT, PLATFORM_RETURN, NeedsPerson, price
from aftersales.workflows.returns.states import ReturnEvent, ReturnStatus

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext


def find_by_intake(ctx: StepContext, source: str, source_ref: str | None) -> Case | None:
    """The case a request with this intake key opened before (a resent form, a redelivered webhook).

    Checked before validation: the first request's units are taken by its own case, so the
    same request validated again would look like "too many units".
    """
    if source_ref is None:
        return None
    case_id = ctx.session.scalars(
        select(CaseRow.id).where(
            CaseRow.shop_id == ctx.shop_id, CaseRow.source == source, CaseRow.source_ref == source_ref
        )
    ).first()
    return ctx.load_case(case_id) if case_id is not None else None


def whole_order(order: Order, cases: Sequence[Case]) -> list[RequestedLine]:
    """Every unit still returnable: a withdrawal from the whole contract names no lines."""
    free = returnable_units(order, cases)
    return [RequestedLine(line_item_id=line_id, quantity=qty) for line_id, qty in free.items() if qty > 0]


def _data(order: Order, statement_at: datetime, extra: dict[str, Any] | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "order_number": order.number,
        "line_names": {line.id: line.name for line in order.line_items},
    }
    stamp_statement(data, statement_at)
    data.update(extra or {})
    return data


def open_request(
    ctx: StepContext,
    case_type: CaseType,
    order: Order,
    requested: Sequence[RequestedLine],
    *,
    customer: Customer,
    actor: str,
    source: str,
    source_ref: str | None = None,
    statement_at: datetime | None = None,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Case:
    """Validate, open, acknowledge and decide a withdrawal or return request (one transaction)."""
    existing = find_by_intake(ctx, source, source_ref)
    if existing is not None:
        return existing
    cases = ctx.cases_for_order(order.id)
    wanted = list(requested) or whole_order(order, cases)
    if not wanted:
        raise InvalidRequest(f"every unit of order {order.number} is already returned or refunded")
    lines = validate_request(order, wanted, cases)
    at = statement_at or ctx.now()
    case = ctx.open_case(
        type=case_type,
        status=ReturnStatus.REQUESTED.value,
        order_id=order.id,
        customer=customer,
        lines=lines,
        reason=reason,
        source=source,
        source_ref=source_ref,
        data=_data(order, at, extra),
    )
    if case.status != ReturnStatus.REQUESTED:
        return case  # the same request again: already decided
    refresh_deadlines(ctx, case, order)
    ctx.save_case(case)
    if case_type is CaseType.WITHDRAWAL:
        schedule_refund_clocks(ctx, case)
        notices.send_withdrawal_receipt(ctx, case)
    return authorize(ctx, case, order, actor=actor)


def statutory_type(ctx: StepContext, order: Order, at: datetime) -> CaseType:
    """A platform return sent inside the statutory window (or before delivery) is a withdrawal."""
    ends = windows(order, shop_law(ctx))
    return CaseType.RETURN if inside(ends, WITHDRAWAL_WINDOW, at) is False else CaseType.WITHDRAWAL


PLATFORM_SOURCE = "platform"


def platform_source_ref(return_id: str) -> str:
    """The intake key of a platform return: a redelivered ``returns/request`` finds its case."""
    return f"return:{return_id}"


def open_platform_return(
    ctx: StepContext,
    order: Order,
    return_id: str,
    requested: Sequence[RequestedLine],
    *,
    unresolved: int,
    at: datetime,
) -> Case:
    """A return that a platform (Shopify) already holds: opened even when it is bad, to say why."""
    source_ref = platform_source_ref(return_id)
    extra = {PLATFORM_RETURN: return_id}
    customer = order.customer
    case_type = statutory_type(ctx, order, at)
    problem: str | None = None
    if unresolved:
        problem = f"{unresolved} line(s) of platform return {return_id} name no order line"
    elif not requested:
        problem = f"platform return {return_id} names no order lines"
    if problem is None:
        try:
            return open_request(
                ctx,
                case_type,
                order,
                requested,
                customer=customer,
                actor=PLATFORM,
                source=PLATFORM_SOURCE,
                source_ref=source_ref,
                statement_at=at,
                extra=extra,
            )
        except InvalidRequest as exc:
            return _open_rejected(ctx, case_type, order, source_ref, at, extra, exc.reason, decline=True)
    return _open_rejected(ctx, case_type, order, source_ref, at, extra, problem, decline=False)


def _open_rejected(
    ctx: StepContext,
    case_type: CaseType,
    order: Order,
    source_ref: str,
    at: datetime,
    extra: dict[str, Any],
    reason: str,
    *,
    decline: bool,
) -> Case:
    """Record a platform request we cannot take as asked: rejected (bad lines) or for a person (unreadable)."""
    case = ctx.open_case(
        type=case_type,
        status=ReturnStatus.REQUESTED.value,
        order_id=order.id,
        customer=order.customer,
        lines=[],
        reason=reason,
        source=PLATFORM_SOURCE,
        source_ref=source_ref,
        data=_data(order, at, extra),
    )
    if case.status != ReturnStatus.REQUESTED:
        return case
    refresh_deadlines(ctx, case, order)
    if decline:
        return fire(ctx, case, ReturnEvent.REJECT, actor=PLATFORM, reason=reason)
    return fire(ctx, case, ReturnEvent.REVIEW, actor=PLATFORM, reason=reason)


def open_goodwill(
    ctx: StepContext,
    order: Order,
    *,
    reason: str,
    amount: Money | None,
    requested: Sequence[RequestedLine],
    actor: str,
    source_ref: str | None = None,
) -> Case:
    """A refund without goods, decided by the merchant: priced first, so a bad amount writes nothing."""
    if not reason.strip():
        raise InvalidRequest(
            "a goodwill refund needs a reason (it is shown to the customer and kept on the case)"
        )
    if amount is None and not requested:
        raise InvalidRequest("a goodwill refund needs an amount or order lines")
    if amount is not None:
        if amount.currency != order.currency:
            raise InvalidRequest(
                f"the amount is in {amount.currency} but order {order.number} is in {order.currency}"
            )
        if amount.is_negative() or amount.is_zero():
            raise InvalidRequest(f"a goodwill amount must be more than 0, got {amount}")
    cases = ctx.cases_for_order(order.id)
    lines = validate_request(order, requested, cases, goods_required=False) if requested else []
    for line in lines:
        line.authorization = Authorization.APPROVED
    extra = {GOODWILL_AMOUNT: str(amount.amount)} if amount is not None else {}
    at = ctx.now()
    _preview(ctx, order, cases, lines, extra, at)
    case = ctx.open_case(
        type=CaseType.GOODWILL,
        status=ReturnStatus.REQUESTED.value,
        order_id=order.id,
        customer=order.customer,
        lines=lines,
        reason=reason,
        source="api",
        source_ref=source_ref,
        data=_data(order, at, extra),
    )
    if case.status != ReturnStatus.REQUESTED:
        return case
    return approve(ctx, case, actor=actor, reason=reason)


def _preview(
    ctx: StepContext,
    order: Order,
    cases: list[Case],
    lines: list[CaseLine],
    extra: dict[str, Any],
    at: datetime,
) -> None:
    """Price the goodwill refund before opening anything: over the payment or a bad amount → refused."""
    draft = Case(
        id="preview",
        number="preview",
        shop_id=ctx.shop_id,
        type=CaseType.GOODWILL,
        status=ReturnStatus.APPROVED.value,
        order_id=order.id,
        lines=[line.model_copy() for line in lines],
        opened_at=at,
        data=dict(extra),
    )
    try:
        quote = price(ctx, draft, order, cases)
    except QuoteError as exc:
        raise InvalidRequest(exc.reason) from exc
    except NeedsPerson as exc:
        raise InvalidRequest(exc.reason) from exc
    if not quote.cut_to_captured.is_zero():
        raise InvalidRequest(
            f"only {quote.refundable_before} of order {order.number}'s payment is left to refund, "
            f"{quote.subtotal} asked"
        )
