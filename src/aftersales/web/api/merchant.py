"""The merchant API: a shop's cases, the actions a person takes on them, and the reports.

Every path names the shop (``/api/v1/shops/{shop_id}/...``) and every request carries one of
that shop's keys; a key of another shop gets 403 and a case number of another shop is simply
not found (404) — a merchant's integration never sees another merchant's customers.

Actions are the workflows' commands, with the key's label as the actor in the case's event
log (``merchant:<label>``); the answer is the case as it is after the command committed.
Which command depends on the case: ``approve`` / ``decline`` / ``receive`` / ``inspect`` are
the returns workflow's for withdrawals, returns and goodwill cases; a complaint is decided
with ``answer`` (the remedy ladder, art. 43d-43e u.p.k.) and its goods are received with the
complaints workflow's ``item_received``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
from starlette.responses import Response

from aftersales.domain import Case, CaseType
from aftersales.engine.orders import load_order
from aftersales.web.api import schemas
from aftersales.web.api.cases import find_for_merchant, list_for_merchant, merchant_detail
from aftersales.web.api.operations import Call, Operation, answer, error
from aftersales.web.api.service import CommandRefused, active_shop, reading, run_command
from aftersales.workflows.guarantee.report import guarantee_report
from aftersales.workflows.restock.report import restock_report

BASE = "/api/v1/shops/{shop_id}"
RETURN_TYPES = frozenset({CaseType.WITHDRAWAL, CaseType.RETURN, CaseType.GOODWILL})
COMPLAINT_TYPES = frozenset({CaseType.COMPLAINT, CaseType.WARRANTY})


def _actor(call: Call) -> str:
    return call.owner.actor if call.owner is not None else "merchant"


async def _case(call: Call) -> Case:
    shop_id, number = call.path["shop_id"], call.path["case_number"]

    def find() -> Case | None:
        with reading(call.runtime) as session:
            return find_for_merchant(session, shop_id, number)

    case = await anyio.to_thread.run_sync(find)
    if case is None:
        raise CommandRefused(404, f"no case {number}")
    return case


async def _detail(call: Call, number: str, status: int = 200) -> Response:
    shop_id = call.path["shop_id"]

    def read() -> schemas.CaseDetail | None:
        with reading(call.runtime) as session:
            case = find_for_merchant(session, shop_id, number)
            return merchant_detail(session, case) if case is not None else None

    detail = await anyio.to_thread.run_sync(read)
    if detail is None:
        return error(404, f"no case {number}")
    return answer(detail, status)


def _require(case: Case, types: frozenset[CaseType], action: str) -> None:
    if case.type not in types:
        hint = " (answer a complaint with /answer)" if case.type in COMPLAINT_TYPES else ""
        raise CommandRefused(422, f"{action} does not apply to a {case.type.value} case{hint}")


# -- reading ------------------------------------------------------------------------------------------


async def list_cases(call: Call) -> Response:
    query: schemas.CaseQuery = call.query
    shop_id = call.path["shop_id"]

    def read() -> schemas.CaseList:
        with reading(call.runtime) as session:
            return list_for_merchant(session, shop_id, query)

    return answer(await anyio.to_thread.run_sync(read))


async def get_case(call: Call) -> Response:
    return await _detail(call, call.path["case_number"])


# -- actions --------------------------------------------------------------------------------------------


async def approve_case(call: Call) -> Response:
    case = await _case(call)
    _require(case, RETURN_TYPES, "approve")
    body: schemas.ApproveBody = call.body
    await run_command(
        call.runtime,
        "returns.approve",
        case.shop_id,
        case_number=case.number,
        actor=_actor(call),
        decline=body.decline,
        note=body.note,
    )
    return await _detail(call, case.number)


async def decline_case(call: Call) -> Response:
    case = await _case(call)
    _require(case, RETURN_TYPES, "decline")
    body: schemas.DeclineBody = call.body
    await run_command(
        call.runtime,
        "returns.decline",
        case.shop_id,
        case_number=case.number,
        actor=_actor(call),
        reason=body.reason,
    )
    return await _detail(call, case.number)


async def receive_case(call: Call) -> Response:
    case = await _case(call)
    body: schemas.ReceiveBody = call.body
    if case.type in COMPLAINT_TYPES:
        if body.lines is not None:
            raise CommandRefused(422, "a complaint's goods are received whole: send no lines")
        await run_command(
            call.runtime,
            "complaints.item_received",
            case.shop_id,
            case_number=case.number,
            actor=_actor(call),
        )
        return await _detail(call, case.number)
    _require(case, RETURN_TYPES, "receive")
    lines = None if body.lines is None else [line.model_dump(exclude_none=True) for line in body.lines]
    await run_command(
        call.runtime,
        "returns.receive",
        case.shop_id,
        case_number=case.number,
        actor=_actor(call),
        lines=lines,
    )
    return await _detail(call, case.number)


async def inspect_case(call: Call) -> Response:
    case = await _case(call)
    _require(case, RETURN_TYPES, "inspect")
    body: schemas.InspectBody = call.body
    await run_command(
        call.runtime,
        "returns.inspect",
        case.shop_id,
        case_number=case.number,
        actor=_actor(call),
        lines=[line.model_dump() for line in body.lines],
    )
    return await _detail(call, case.number)


async def answer_complaint(call: Call) -> Response:
    case = await _case(call)
    _require(case, COMPLAINT_TYPES, "answer")
    body: schemas.AnswerBody = call.body
    payload: dict[str, Any] = body.model_dump(exclude_none=True)
    await run_command(
        call.runtime,
        "complaints.answer",
        case.shop_id,
        case_number=case.number,
        actor=_actor(call),
        **payload,
    )
    return await _detail(call, case.number)


async def goodwill_refund(call: Call) -> Response:
    body: schemas.GoodwillBody = call.body
    shop_id = call.path["shop_id"]

    def known_order() -> bool:
        with reading(call.runtime) as session:
            return load_order(session, shop_id, body.order_id) is not None

    if not await anyio.to_thread.run_sync(known_order):
        return error(404, f"no order {body.order_id} is known for this shop")
    request_id = body.request_id or call.request.headers.get("idempotency-key") or None
    summary = await run_command(
        call.runtime,
        "returns.goodwill_refund",
        shop_id,
        order_id=body.order_id,
        reason=body.reason,
        amount=body.amount,
        currency=body.currency,
        lines=[line.model_dump() for line in body.lines],
        actor=_actor(call),
        request_id=request_id[:200] if request_id else None,
    )
    return await _detail(call, str(summary["case_number"]), status=201)


# -- reports ---------------------------------------------------------------------------------------------


async def guarantee_report_view(call: Call) -> Response:
    query: schemas.MonthQuery = call.query
    shop_id = call.path["shop_id"]

    def read() -> dict[str, Any] | None:
        with reading(call.runtime) as session:
            shop = active_shop(session, shop_id)
            if shop is None:
                return None
            month = query.month
            if month is None:
                zone = ZoneInfo(call.runtime.policy_for(shop).shop.timezone)
                month = datetime.now(zone).strftime("%Y-%m")
            try:
                return guarantee_report(session, shop_id, month).as_dict()
            except ValueError as exc:  # a month the calendar does not have (0000-01)
                raise CommandRefused(422, str(exc)) from None

    report = await anyio.to_thread.run_sync(read)
    if report is None:
        return error(404, "no such shop")
    return answer(schemas.GuaranteeReportAnswer.model_validate(report))


async def restock_report_view(call: Call) -> Response:
    shop_id = call.path["shop_id"]

    def read() -> list[dict[str, Any]]:
        with reading(call.runtime) as session:
            return [row.as_dict() for row in restock_report(session, shop_id)]

    rows = await anyio.to_thread.run_sync(read)
    return answer(schemas.RestockReportAnswer.model_validate({"variants": rows}))


CASE = f"{BASE}/cases/{{case_number}}"
_CASE_ERRORS = (404, 409, 422)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        f"{BASE}/cases",
        list_cases,
        "List and filter the shop's cases (newest first, paged)",
        "merchant",
        answer=schemas.CaseList,
        query=schemas.CaseQuery,
        merchant=True,
    ),
    Operation(
        "GET", CASE, get_case, "A case with its full timeline", "merchant", schemas.CaseDetail, merchant=True
    ),
    Operation(
        "POST",
        f"{CASE}/approve",
        approve_case,
        "Approve a return or withdrawal in review (optionally declining some units)",
        "merchant",
        schemas.CaseDetail,
        body=schemas.ApproveBody,
        merchant=True,
        errors=_CASE_ERRORS,
    ),
    Operation(
        "POST",
        f"{CASE}/decline",
        decline_case,
        "Decline a return (a statutory withdrawal inside its window cannot be declined)",
        "merchant",
        schemas.CaseDetail,
        body=schemas.DeclineBody,
        merchant=True,
        errors=_CASE_ERRORS,
    ),
    Operation(
        "POST",
        f"{CASE}/receive",
        receive_case,
        "The goods of a return or complaint arrived",
        "merchant",
        schemas.CaseDetail,
        body=schemas.ReceiveBody,
        merchant=True,
        errors=_CASE_ERRORS,
    ),
    Operation(
        "POST",
        f"{CASE}/inspect",
        inspect_case,
        "Disposition of received units (restock, not restocked, repair)",
        "merchant",
        schemas.CaseDetail,
        body=schemas.InspectBody,
        merchant=True,
        errors=_CASE_ERRORS,
    ),
    Operation(
        "POST",
        f"{CASE}/answer",
        answer_complaint,
        "Answer a complaint (stops the 14-day clock once it reaches the customer)",
        "merchant",
        schemas.CaseDetail,
        body=schemas.AnswerBody,
        merchant=True,
        errors=_CASE_ERRORS,
    ),
    Operation(
        "POST",
        f"{BASE}/goodwill-refunds",
        goodwill_refund,
        "Refund without goods, with a reason (idempotent by request_id or Idempotency-Key)",
        "merchant",
        schemas.CaseDetail,
        status=201,
        body=schemas.GoodwillBody,
        merchant=True,
        errors=(404, 409, 422),
    ),
    Operation(
        "GET",
        f"{BASE}/reports/guarantee",
        guarantee_report_view,
        "Shipping guarantee: promises kept, payouts and their cost for a month",
        "reports",
        schemas.GuaranteeReportAnswer,
        query=schemas.MonthQuery,
        merchant=True,
    ),
    Operation(
        "GET",
        f"{BASE}/reports/restock",
        restock_report_view,
        "Back in stock: demand, alerts sent, clicks, conversions and revenue per variant",
        "reports",
        schemas.RestockReportAnswer,
        merchant=True,
    ),
)
