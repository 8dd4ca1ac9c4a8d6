"""The withdrawal function (Art. 11a of Directive 2011/83/EU as amended by 2023/2673, from 19 June 2026).

The law asks for a function labelled "withdraw from contract" (or as unambiguous) that lets the
consumer make or confirm their statement — who they are, which contract, where the
confirmation goes — and then a *confirmation* function labelled "confirm withdrawal"; on
confirmation the trader acknowledges receipt, with the statement's content and the date and
time of its submission, on a durable medium, without undue delay.

Here that is:

1. the order page's **Withdraw from contract** button opens ``…/withdraw``: the goods it
   covers (everything still returnable is preselected), the name and the e-mail address the
   confirmation goes to;
2. **Continue** shows the statement as it will be recorded, with **Confirm withdrawal**; the
   statement travels as a signed token (nothing in it can be edited between the steps) with a
   random request id, so a double click or a reload records one statement;
3. on confirmation the returns workflow's ``returns.request_withdrawal`` records it — the
   statement's time is the engine's "now" — and sends the receipt e-mail (the durable medium);
   the customer lands on the case's status page, which shows the recorded date and time.
"""

from __future__ import annotations

import uuid

from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from aftersales.web.api.customer import idempotency_key, opened_answer
from aftersales.web.api.service import CommandRefused, ServiceRuntime, run_command
from aftersales.web.links import secret_key
from aftersales.web.pages import labels
from aftersales.web.pages.orders import OrderVisit, chosen_units, order_visit, status_location
from aftersales.web.pages.render import Endpoint, read_form

STATEMENT_MAX_AGE = 3600
"""A review page left open longer than an hour asks for the selection again."""
_SALT = "aftersales.withdrawal-statement.v1"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt=_SALT)


def _statement(found: OrderVisit, units: dict[str, int]) -> str:
    assert found.visit.shop is not None
    whole = all(units.get(line.id, 0) == line.returnable for line in found.view.lines)
    return str(
        _serializer().dumps(
            {
                "s": found.visit.shop.id,
                "o": found.view.order.id,
                "u": {} if whole else units,
                "r": uuid.uuid4().hex,
            }
        )
    )


def _read_statement(found: OrderVisit, token: str) -> tuple[dict[str, int], str] | None:
    """``(units, request id)`` of a statement signed for this shop and order; ``{}`` = whole contract."""
    assert found.visit.shop is not None
    try:
        data = _serializer().loads(token, max_age=STATEMENT_MAX_AGE)
    except BadData:
        return None
    if (
        not isinstance(data, dict)
        or data.get("s") != found.visit.shop.id
        or data.get("o") != found.view.order.id
    ):
        return None
    units, request_id = data.get("u"), data.get("r")
    if not isinstance(units, dict) or not isinstance(request_id, str):
        return None
    return {str(k): int(v) for k, v in units.items()}, request_id


def withdrawal_page(runtime: ServiceRuntime) -> Endpoint:
    """Step 1 (GET: the form) and its POST (the review page with the confirmation button)."""

    async def page(request: Request) -> Response:
        found = await order_visit(request, runtime)
        if isinstance(found, Response):
            return found
        visit = found.visit
        if request.method == "GET":
            return found.page("withdraw.html", selected={})
        form = await read_form(request)
        if form is None:
            return visit.problem(403, labels.TITLES["csrf"], labels.TITLES["csrf_detail"])
        units = chosen_units(found.view, form)
        if not units:
            return found.page(
                "withdraw.html", 422, selected={}, error=visit.text(labels.TITLES["nothing_chosen"])
            )
        names = {line.id: line.name for line in found.view.lines}
        chosen = [{"name": names[line_id], "quantity": qty} for line_id, qty in units.items()]
        return found.page("withdraw_review.html", chosen=chosen, statement=_statement(found, units))

    return page


def confirm_withdrawal(runtime: ServiceRuntime) -> Endpoint:
    """Step 2's POST: record the statement through the returns workflow, then show its status page."""

    async def confirm(request: Request) -> Response:
        found = await order_visit(request, runtime)
        if isinstance(found, Response):
            return found
        visit, order = found.visit, found.view.order
        assert visit.shop is not None
        form = await read_form(request)
        if form is None:
            return visit.problem(403, labels.TITLES["csrf"], labels.TITLES["csrf_detail"])
        statement = _read_statement(found, str(form.get("statement", "")))
        if statement is None:
            return visit.problem(400, labels.TITLES["expired_pass"], labels.TITLES["expired_pass_detail"])
        units, request_id = statement
        try:
            summary = await run_command(
                runtime,
                "returns.request_withdrawal",
                visit.shop.id,
                order_number=order.number,
                email=order.customer.email or "",
                lines=[{"line_item_id": k, "quantity": v} for k, v in units.items()],
                request_id=idempotency_key("web", order.id, request_id),
                locale=visit.lang,
            )
        except CommandRefused as refused:
            return found.page(
                "withdraw.html",
                refused.status,
                selected=units,
                error=f"{visit.text(labels.TITLES['refused'])}: {refused.reason}",
            )
        opened = await opened_answer(runtime, visit.shop.id, summary)
        return visit.redirect(status_location(opened.status_token, withdrawn="1"))

    return confirm
