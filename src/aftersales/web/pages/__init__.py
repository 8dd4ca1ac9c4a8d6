"""The customer pages: server-rendered HTML (Jinja2), Polish and English, no JavaScript.

=============================================  =====================================================
``/s/{shop}/``                                 find an order by number + e-mail (GET form, POST)
``/s/{shop}/orders/{pass}``                    the order, its requests, what the customer can do
``/s/{shop}/orders/{pass}/return``             a commercial return (lines, quantities, reason)
``/s/{shop}/orders/{pass}/withdraw``           the withdrawal function, step 1 (Art. 11a CRD)
``/s/{shop}/orders/{pass}/withdraw/confirm``   step 2: "Confirm withdrawal" records the statement
``/s/{shop}/complaint``                        the complaint form with photos (multipart)
``/s/{shop}/restock/subscribe``                a back-in-stock alert for ``?variant_id=``
``/restock/confirm/{token}``                   double opt-in: a button; the POST confirms
``/restock/unsubscribe/{token}``               a button, and the RFC 8058 one-click POST
``/restock/go/{token}``                        an alert's tracked link
``/status/{token}``                            the case and its history (the signed link in messages)
``/assets/pages.css``                          the stylesheet
=============================================  =====================================================

Every form POST carries a CSRF token (:mod:`.csrf`); every answer carries the security
headers of :mod:`aftersales.web.api.headers`. ``page_routes(runtime)`` gives the routes
:func:`aftersales.web.app.create_app` mounts (none for a runtime that cannot run commands).
"""

from __future__ import annotations

from importlib import resources

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aftersales.web.api.headers import PAGE_CSP, SecurityHeaders
from aftersales.web.api.service import ServiceRuntime
from aftersales.web.pages import complaints, orders, restock, status, withdrawal
from aftersales.web.pages.render import Endpoint
from aftersales.web.runtime import IngressRuntime

__all__ = ["page_routes"]

FORM_BODY = 256 * 1024
"""Body cap of the forms without files (413 above it)."""

_CSS = resources.files("aftersales.web.pages").joinpath("static", "pages.css").read_bytes()


async def stylesheet(_request: Request) -> Response:
    return Response(_CSS, media_type="text/css; charset=utf-8")


def page_routes(runtime: IngressRuntime) -> list[BaseRoute]:
    if not isinstance(runtime, ServiceRuntime):
        return []
    secured = [Middleware(SecurityHeaders, csp=PAGE_CSP)]
    both = ["GET", "POST"]

    def page(path: str, endpoint: Endpoint, methods: list[str], max_body: int = FORM_BODY) -> Route:
        return Route(path, endpoint, methods=methods, middleware=secured, max_body_size=max_body)

    shop = "/s/{shop_id}"
    order = f"{shop}/orders/{{order_pass}}"
    return [
        page(f"{shop}/", orders.lookup_page(runtime), both),
        page(shop, orders.lookup_page(runtime), ["GET"]),
        page(order, orders.order_page(runtime), ["GET"]),
        page(f"{order}/return", orders.return_page(runtime), both),
        page(f"{order}/withdraw", withdrawal.withdrawal_page(runtime), both),
        page(f"{order}/withdraw/confirm", withdrawal.confirm_withdrawal(runtime), ["POST"]),
        page(f"{shop}/complaint", complaints.complaint_page(runtime), both, complaints.MAX_BODY),
        page(f"{shop}/restock/subscribe", restock.subscribe_page(runtime), both),
        page("/restock/confirm/{token}", restock.confirm_page(runtime), both),
        page("/restock/unsubscribe/{token}", restock.unsubscribe_page(runtime), both),
        page("/restock/go/{token}", restock.click_page(runtime), ["GET"]),
        page("/status/{token}", status.status_page(runtime), both),
        Route(
            "/assets/pages.css",
            stylesheet,
            methods=["GET"],
            middleware=[Middleware(SecurityHeaders, csp=PAGE_CSP, cache="public, max-age=3600")],
        ),
    ]
