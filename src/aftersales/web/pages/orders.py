"""Finding an order, the order page, and a commercial return request.

``/s/{shop}/`` asks for the order number and e-mail (a neutral answer when they do not match,
429 after repeated failures); a match leads, by a 303, to ``/s/{shop}/orders/{order_pass}``,
the order with its returnable units, the customer's requests about it and the three things
they can do: withdraw from the contract, return items, report a defect.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from aftersales.web.api.customer import idempotency_key, look_up, opened_answer
from aftersales.web.api.lookup import OrderView, issue_pass, order_view, read_pass
from aftersales.web.api.service import CommandRefused, ServiceRuntime, reading, run_command
from aftersales.web.pages import labels
from aftersales.web.pages.render import Endpoint, Visit, read_form, shop_visit

_REASONS = {code for code, _ in labels.RETURN_REASONS}


@dataclass
class OrderVisit:
    visit: Visit
    view: OrderView
    order_pass: str

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        return self.visit.page(template, status, view=self.view, order_pass=self.order_pass, **context)


async def order_visit(request: Request, runtime: ServiceRuntime) -> OrderVisit | Response:
    """The visit of an order page: the shop, and the order its pass names (or a "look it up again" page)."""
    visit = await shop_visit(request, runtime)
    if isinstance(visit, Response):
        return visit
    assert visit.shop is not None
    shop_id = visit.shop.id
    order_pass = str(request.path_params["order_pass"])

    def load() -> OrderView | None:
        with reading(runtime) as session:
            order = read_pass(session, shop_id, order_pass)
            return order_view(session, shop_id, order) if order is not None else None

    view = await anyio.to_thread.run_sync(load)
    if view is None:
        return visit.problem(404, labels.TITLES["expired_pass"], labels.TITLES["expired_pass_detail"])
    return OrderVisit(visit, view, order_pass)


def chosen_units(view: OrderView, form: Mapping[str, Any]) -> dict[str, int]:
    """``qty_<line id>`` fields as units per line, capped at what is still returnable."""
    units: dict[str, int] = {}
    for line in view.lines:
        raw = str(form.get(f"qty_{line.id}", "0")).strip()
        quantity = int(raw) if raw.isdigit() and len(raw) < 6 else 0
        if quantity > 0:
            units[line.id] = min(quantity, line.returnable)
    return {k: v for k, v in units.items() if v > 0}


def status_location(token: str, **flags: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in flags.items())
    return f"/status/{token}" + (f"?{query}" if query else "")


# -- endpoints ------------------------------------------------------------------------------------------


def lookup_page(runtime: ServiceRuntime) -> Endpoint:
    async def page(request: Request) -> Response:
        visit = await shop_visit(request, runtime)
        if isinstance(visit, Response):
            return visit
        assert visit.shop is not None
        if request.method == "GET":
            return visit.page("lookup.html", order_number="", email="")
        form = await read_form(request)
        if form is None:
            return visit.problem(403, labels.TITLES["csrf"], labels.TITLES["csrf_detail"])
        number = str(form.get("order_number", ""))[:64]
        email = str(form.get("email", ""))[:320]
        client = request.client.host if request.client else "unknown"
        try:
            order = await look_up(runtime, visit.shop.id, number, email, client)
        except CommandRefused as refused:
            if refused.status == 429:
                return visit.problem(429, labels.TITLES["too_many"], labels.TITLES["too_many_detail"])
            return visit.page(
                "lookup.html",
                status=404,
                order_number=number,
                email=email,
                error=visit.text(labels.TITLES["not_found_order"]),
            )
        return visit.redirect(f"/s/{visit.shop.id}/orders/{issue_pass(visit.shop.id, order)}")

    return page


def order_page(runtime: ServiceRuntime) -> Endpoint:
    async def page(request: Request) -> Response:
        found = await order_visit(request, runtime)
        if isinstance(found, Response):
            return found
        return found.page(
            "order.html",
            delivered=found.view.order.delivered_at(),
            type_labels=labels.TYPES,
            status_labels=labels.STATUSES,
        )

    return page


def return_page(runtime: ServiceRuntime) -> Endpoint:
    async def page(request: Request) -> Response:
        found = await order_visit(request, runtime)
        if isinstance(found, Response):
            return found
        visit, view = found.visit, found.view
        assert visit.shop is not None

        def form_page(status: int = 200, **extra: Any) -> Response:
            context: dict[str, Any] = {
                "selected": {},
                "reason": "changed_mind",
                "reasons": labels.RETURN_REASONS,
                "request_id": uuid.uuid4().hex,
            }
            context.update(extra)
            return found.page("return.html", status, **context)

        if request.method == "GET":
            return form_page()
        form = await read_form(request)
        if form is None:
            return visit.problem(403, labels.TITLES["csrf"], labels.TITLES["csrf_detail"])
        units = chosen_units(view, form)
        reason = str(form.get("reason", ""))
        reason = reason if reason in _REASONS else "other"
        request_id = str(form.get("request_id", ""))[:64] or uuid.uuid4().hex
        if not units:
            return form_page(
                422, reason=reason, request_id=request_id, error=visit.text(labels.TITLES["nothing_chosen"])
            )
        try:
            summary = await run_command(
                runtime,
                "returns.request_return",
                visit.shop.id,
                order_number=view.order.number,
                email=view.order.customer.email or "",
                lines=[{"line_item_id": k, "quantity": v, "reason": reason} for k, v in units.items()],
                request_id=idempotency_key("web", view.order.id, request_id),
                locale=visit.lang,
            )
        except CommandRefused as refused:
            if refused.status == 404:
                return visit.problem(404, labels.TITLES["no_shop"])
            return form_page(
                refused.status,
                selected=units,
                reason=reason,
                request_id=request_id,
                error=f"{visit.text(labels.TITLES['refused'])}: {refused.reason}",
            )
        opened = await opened_answer(runtime, visit.shop.id, summary)
        return visit.redirect(status_location(opened.status_token, opened="1"))

    return page
