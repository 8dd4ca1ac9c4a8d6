"""Back-in-stock pages: the subscribe form, the double opt-in, unsubscribing, the tracked link.

DESIGN §9: a confirmation happens only on a POST from the page (a GET only shows the button —
mail scanners and link checkers open every link in a message); the answer to a subscription
is the same whether or not the address was known; unsubscribing works with one click from
the mail client (RFC 8058: ``POST`` with ``List-Unsubscribe=One-Click``, no page, no cookie)
and from a page with a button. Every action is the restock workflow's command; the shop of a
link is learnt from its signed token (:mod:`aftersales.web.api.restock`).
"""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from aftersales.store.models import Shop
from aftersales.web.api.restock import shop_of_alert_token, shop_of_restock_token
from aftersales.web.api.service import ServiceRuntime, active_shop, reading, run_command
from aftersales.web.pages import csrf, labels
from aftersales.web.pages.i18n import N_
from aftersales.web.pages.render import Endpoint, Visit, posted_form, read_form, shop_visit

OUTCOMES = {
    "accepted": N_(
        "Thank you. If this address can receive alerts for this product, we will write to it: check your inbox to confirm."
    ),
    "invalid_email": N_("Please enter a valid e-mail address."),
    "unavailable": N_("Alerts are not available for this product."),
    "rate_limited": N_("Too many requests. Please try again later."),
    "confirmed": N_("Your alert is confirmed. We will write when the product is back."),
    "unsubscribed": N_("You will not receive these alerts any more."),
    "invalid": N_("This link is not valid any more. You can ask for an alert again on the product page."),
}
_STATUS = {"invalid_email": 422, "unavailable": 422, "rate_limited": 429, "invalid": 404}


def _message(visit: Visit, outcome: str) -> str:
    return visit.text(OUTCOMES.get(outcome, OUTCOMES["invalid"]))


def subscribe_page(runtime: ServiceRuntime) -> Endpoint:
    async def page(request: Request) -> Response:
        visit = await shop_visit(request, runtime)
        if isinstance(visit, Response):
            return visit
        assert visit.shop is not None
        source: Any = request.query_params
        if request.method == "POST":
            source = await read_form(request)
            if source is None:
                return visit.problem(403, labels.TITLES["csrf"], labels.TITLES["csrf_detail"])
        variant_id = str(source.get("variant_id") or source.get("variant") or "")[:128]
        product_id = str(source.get("product_id") or source.get("product") or "")[:128]
        if not variant_id:
            return visit.problem(404, labels.TITLES["no_shop"])
        context: dict[str, Any] = {
            "variant_id": variant_id,
            "product_id": product_id,
            "done": False,
            "message": "",
        }
        if request.method == "GET":
            return visit.page("restock_subscribe.html", **context)
        result = await run_command(
            runtime,
            "restock.subscribe",
            visit.shop.id,
            variant_id=variant_id,
            product_id=product_id or None,
            email=str(source.get("email", ""))[:320],
            ip=request.client.host if request.client else None,
            locale=visit.lang,
            wording_version="page-v1",
        )
        outcome = str(result.get("outcome"))
        context.update(done=outcome != "invalid_email", message=_message(visit, outcome))
        error = _message(visit, outcome) if outcome == "invalid_email" else None
        return visit.page("restock_subscribe.html", _STATUS.get(outcome, 200), error=error, **context)

    return page


async def _token_visit(request: Request, runtime: ServiceRuntime) -> tuple[Visit, str | None]:
    token = str(request.path_params["token"])
    shop_id = await anyio.to_thread.run_sync(shop_of_restock_token, runtime, token)

    def load() -> Shop | None:
        with reading(runtime) as session:
            return active_shop(session, shop_id) if shop_id else None

    shop = await anyio.to_thread.run_sync(load)
    return Visit.start(request, runtime, shop), shop.id if shop is not None else None


def _action_page(
    runtime: ServiceRuntime, command: str, heading: str, explanation: str, button: str, *, one_click: bool
) -> Endpoint:
    async def page(request: Request) -> Response:
        visit, shop_id = await _token_visit(request, runtime)
        token = str(request.path_params["token"])
        texts: dict[str, Any] = {
            "heading": visit.text(heading),
            "explanation": visit.text(explanation),
            "button": visit.text(button),
        }
        if shop_id is None:
            return visit.page("restock_action.html", 404, message=_message(visit, "invalid"), **texts)
        if request.method == "GET":
            return visit.page("restock_action.html", message=None, **texts)
        form = await posted_form(request)
        if one_click and form.get("List-Unsubscribe") == "One-Click" and csrf.FIELD not in form:
            result = await run_command(runtime, command, shop_id, token=token)
            status = 200 if result.get("outcome") != "invalid" else 404
            return PlainTextResponse(_message(visit, str(result.get("outcome"))), status_code=status)
        if not csrf.valid(request, form.get(csrf.FIELD)):
            return visit.problem(403, labels.TITLES["csrf"], labels.TITLES["csrf_detail"])
        extra = (
            {"ip": request.client.host if request.client else None} if command == "restock.confirm" else {}
        )
        result = await run_command(runtime, command, shop_id, token=token, **extra)
        outcome = str(result.get("outcome"))
        return visit.page(
            "restock_action.html", _STATUS.get(outcome, 200), message=_message(visit, outcome), **texts
        )

    return page


def confirm_page(runtime: ServiceRuntime) -> Endpoint:
    return _action_page(
        runtime,
        "restock.confirm",
        N_("Confirm your back-in-stock alert"),
        N_("Press the button to confirm that you want one e-mail when the product is back."),
        N_("Confirm my alert"),
        one_click=False,
    )


def unsubscribe_page(runtime: ServiceRuntime) -> Endpoint:
    return _action_page(
        runtime,
        "restock.unsubscribe",
        N_("Stop back-in-stock e-mails"),
        N_("Press the button and we will not send you these alerts any more."),
        N_("Unsubscribe"),
        one_click=True,
    )


def click_page(runtime: ServiceRuntime) -> Endpoint:
    """The tracked link of an alert: count the click, go to the product (a URL the operator configured)."""

    async def page(request: Request) -> Response:
        token = str(request.path_params["token"])
        shop_id = await anyio.to_thread.run_sync(shop_of_alert_token, runtime, token)
        if shop_id is None:
            return Visit.start(request, runtime, None).problem(
                404, labels.TITLES["no_link"], labels.TITLES["no_link_detail"]
            )
        result = await run_command(runtime, "restock.click", shop_id, token=token)
        target = result.get("url")
        if isinstance(target, str) and target.startswith(("https://", "http://")):
            return RedirectResponse(target, status_code=303)
        return RedirectResponse(f"/s/{shop_id}/", status_code=303)

    return page
