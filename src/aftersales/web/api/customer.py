"""The customer API: what the pages do, as JSON, for a shop's own storefront or app.

No account and no key: a customer proves who they are by the order number and e-mail (the
lookup answers an *order pass*), by the signed status link every message carries, or by the
signed token of a back-in-stock e-mail. The withdrawal operation records the statement of
withdrawal (Art. 11a of Directive 2011/83/EU, from 19 June 2026); the client must show the
two steps the law asks for — a "withdraw from contract" button, then a confirmation — and
send ``"confirmed": true`` from the second. The receipt on a durable medium (an e-mail with
the date and time of the statement) is sent by the returns workflow.
"""

from __future__ import annotations

import hashlib
from typing import Any

import anyio
from starlette.responses import Response

from aftersales.domain import Order
from aftersales.store.cases import get_case
from aftersales.web.api import schemas
from aftersales.web.api.cases import case_from_token, customer_status, token_for, url_for
from aftersales.web.api.lookup import (
    LookupLimit,
    TooManyAttempts,
    issue_pass,
    lookup_order,
    order_view,
    read_pass,
)
from aftersales.web.api.operations import Call, Operation, answer, error
from aftersales.web.api.restock import shop_of_restock_token
from aftersales.web.api.service import CommandRefused, ServiceRuntime, active_shop, reading, run_command
from aftersales.workflows.complaints.attachments import MAX_BYTES, MAX_FILES

BASE = "/api/v1/shops/{shop_id}"
MAX_COMPLAINT_BODY = MAX_FILES * MAX_BYTES * 4 // 3 + 64 * 1024
"""Five photos of 10 MiB each, base64-encoded, plus the text."""


def idempotency_key(channel: str, owner: str, request_id: str | None) -> str | None:
    """The intake key of a client's ``request_id``, scoped to its order (or e-mail address).

    A repeated key returns the case it opened first, status link included; scoping it to the
    order the pass proves keeps one customer's key from ever finding another customer's case.
    """
    if not request_id:
        return None
    scope = hashlib.sha256(owner.encode()).hexdigest()[:16]
    return f"{channel}:{scope}:{request_id}"[:200]


async def _require_shop(runtime: ServiceRuntime, shop_id: str) -> None:
    def exists() -> bool:
        with reading(runtime) as session:
            return active_shop(session, shop_id) is not None

    if not await anyio.to_thread.run_sync(exists):
        raise CommandRefused(404, "no such shop")


async def opened_answer(runtime: ServiceRuntime, shop_id: str, summary: dict[str, Any]) -> schemas.Opened:
    """The case a command opened, with its signed status link."""

    def read() -> schemas.Opened:
        with reading(runtime) as session:
            case = get_case(session, shop_id, str(summary["case_id"]))
            if case is None:  # committed by the command a moment ago
                raise LookupError(f"case {summary['case_id']} vanished")
            return schemas.Opened(
                case_number=case.number,
                type=case.type.value,
                status=case.status,
                status_token=token_for(case),
                status_url=url_for(case),
            )

    return await anyio.to_thread.run_sync(read)


async def find_order_by_pass(runtime: ServiceRuntime, shop_id: str, order_pass: str) -> Order:
    def read() -> Order | None:
        with reading(runtime) as session:
            return read_pass(session, shop_id, order_pass)

    order = await anyio.to_thread.run_sync(read)
    if order is None:
        raise CommandRefused(404, "the order pass is not valid (look the order up again)")
    return order


async def look_up(runtime: ServiceRuntime, shop_id: str, number: str, email: str, client: str) -> Order:
    """The order for number + e-mail: 404 (neutral) when they do not match, 429 past the limit."""
    await _require_shop(runtime, shop_id)
    limit = LookupLimit.from_env()
    now = runtime.clock.now()

    def find() -> Order | None:
        with runtime.sessions() as session, session.begin():
            return lookup_order(session, shop_id, number, email, client=client, now=now, limit=limit)

    try:
        order = await anyio.to_thread.run_sync(find)
    except TooManyAttempts:
        raise CommandRefused(429, "too many attempts; please try again later") from None
    if order is None:
        raise CommandRefused(404, "no order matches this number and e-mail address")
    return order


# -- operations -------------------------------------------------------------------------------------


async def lookup(call: Call) -> Response:
    body: schemas.LookupBody = call.body
    shop_id = call.path["shop_id"]
    order = await look_up(call.runtime, shop_id, body.order_number, body.email, call.client)

    def view() -> dict[str, Any]:
        with reading(call.runtime) as session:
            return order_view(session, shop_id, order).as_json()

    data = await anyio.to_thread.run_sync(view)
    return answer(
        schemas.LookupAnswer(order_pass=issue_pass(shop_id, order), order=schemas.OrderAnswer(**data))
    )


async def _customer_request(call: Call, command: str, lines: list[dict[str, Any]]) -> Response:
    body: schemas.ReturnBody | schemas.WithdrawalBody = call.body
    shop_id = call.path["shop_id"]
    await _require_shop(call.runtime, shop_id)
    order = await find_order_by_pass(call.runtime, shop_id, body.order_pass)
    summary = await run_command(
        call.runtime,
        command,
        shop_id,
        order_number=order.number,
        email=order.customer.email or "",
        lines=lines,
        request_id=idempotency_key("api", order.id, body.request_id),
        locale=body.locale,
    )
    return answer(await opened_answer(call.runtime, shop_id, summary), 201)


async def request_return(call: Call) -> Response:
    body: schemas.ReturnBody = call.body
    return await _customer_request(
        call, "returns.request_return", [line.model_dump(exclude_none=True) for line in body.lines]
    )


async def withdraw(call: Call) -> Response:
    body: schemas.WithdrawalBody = call.body
    return await _customer_request(
        call, "returns.request_withdrawal", [line.model_dump() for line in body.lines]
    )


async def submit_complaint(call: Call) -> Response:
    body: schemas.ComplaintBody = call.body
    shop_id = call.path["shop_id"]
    await _require_shop(call.runtime, shop_id)
    payload = body.model_dump(exclude_none=True)
    if body.request_id:
        payload["request_id"] = idempotency_key("api", body.email.strip().lower(), body.request_id)
    summary = await run_command(call.runtime, "complaints.submit", shop_id, channel="api", **payload)
    return answer(await opened_answer(call.runtime, shop_id, summary), 201)


async def subscribe(call: Call) -> Response:
    body: schemas.SubscribeBody = call.body
    shop_id = call.path["shop_id"]
    await _require_shop(call.runtime, shop_id)
    result = await run_command(
        call.runtime,
        "restock.subscribe",
        shop_id,
        variant_id=body.variant_id,
        email=body.email,
        product_id=body.product_id,
        locale=body.locale,
        ip=call.client,
        wording_version="api-v1",
    )
    if result.get("outcome") == "rate_limited":
        return error(429, str(result.get("message") or "too many requests"))
    return answer(schemas.RestockAnswer(outcome=str(result["outcome"]), message=str(result["message"])), 202)


async def _restock_token(call: Call, command: str, **extra: Any) -> Response:
    body: schemas.TokenBody = call.body
    shop_id = await anyio.to_thread.run_sync(shop_of_restock_token, call.runtime, body.token)
    if shop_id is None:
        return error(404, "This link is not valid.")
    result = await run_command(call.runtime, command, shop_id, token=body.token, **extra)
    if result.get("outcome") == "invalid":
        return error(404, str(result.get("message") or "This link is not valid."))
    return answer(schemas.RestockAnswer(outcome=str(result["outcome"]), message=str(result["message"])))


async def confirm_subscription(call: Call) -> Response:
    return await _restock_token(call, "restock.confirm", ip=call.client)


async def unsubscribe(call: Call) -> Response:
    return await _restock_token(call, "restock.unsubscribe")


async def case_status(call: Call) -> Response:
    token = call.path["token"]

    def read() -> schemas.CaseStatusAnswer | None:
        with reading(call.runtime) as session:
            case = case_from_token(session, token)
            return customer_status(session, case) if case is not None else None

    status = await anyio.to_thread.run_sync(read)
    if status is None:
        return error(404, "this status link is not valid")
    return answer(status)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        f"{BASE}/orders/lookup",
        lookup,
        "Find an order by its number and the customer's e-mail (neutral 404; 429 after repeated failures)",
        "customer",
        schemas.LookupAnswer,
        body=schemas.LookupBody,
        errors=(404, 429),
    ),
    Operation(
        "POST",
        f"{BASE}/returns",
        request_return,
        "Request a commercial return of some units (with a reason per line)",
        "customer",
        schemas.Opened,
        status=201,
        body=schemas.ReturnBody,
        errors=(404, 409, 422),
    ),
    Operation(
        "POST",
        f"{BASE}/withdrawals",
        withdraw,
        "Record a statement of withdrawal from the contract (the EU withdrawal function's confirmation)",
        "customer",
        schemas.Opened,
        status=201,
        body=schemas.WithdrawalBody,
        errors=(404, 409, 422),
    ),
    Operation(
        "POST",
        f"{BASE}/complaints",
        submit_complaint,
        "Submit a complaint with photos or PDFs (base64, at most 5 files of 10 MiB)",
        "customer",
        schemas.Opened,
        status=201,
        body=schemas.ComplaintBody,
        errors=(404, 409, 422),
        max_body=MAX_COMPLAINT_BODY,
    ),
    Operation(
        "POST",
        f"{BASE}/restock/subscriptions",
        subscribe,
        "Ask for a back-in-stock e-mail (double opt-in; the answer never says whether the address was known)",
        "customer",
        schemas.RestockAnswer,
        status=202,
        body=schemas.SubscribeBody,
        errors=(404, 422, 429),
    ),
    Operation(
        "POST",
        "/api/v1/restock/confirm",
        confirm_subscription,
        "Confirm a back-in-stock subscription with the token from its e-mail",
        "customer",
        schemas.RestockAnswer,
        body=schemas.TokenBody,
        errors=(404, 422),
    ),
    Operation(
        "POST",
        "/api/v1/restock/unsubscribe",
        unsubscribe,
        "Stop back-in-stock e-mails with the token from any of them",
        "customer",
        schemas.RestockAnswer,
        body=schemas.TokenBody,
        errors=(404, 422),
    ),
    Operation(
        "GET",
        "/api/v1/status/{token}",
        case_status,
        "A case's status and customer-visible timeline, by the signed link in every message",
        "customer",
        schemas.CaseStatusAnswer,
    ),
)
