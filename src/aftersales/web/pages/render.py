"""Rendering a page for one visit: language, shop, time zone, CSRF token, cookies.

A :class:`Visit` is made per request once the shop is known. Templates get ``lang``,
``timezone`` (the shop's, for dates), ``shop_name``, ``csrf_token`` and ``switch`` (links to
the same page in the other languages); they are autoescaped and use ``StrictUndefined``, so a
missing value is a failing test, not a blank "received on" line on a legal receipt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from aftersales.store.models import Shop
from aftersales.web.api.service import ServiceRuntime, active_shop, reading
from aftersales.web.pages import csrf, i18n, labels
from aftersales.workflows.complaints.attachments import MAX_FILES

Endpoint = Callable[[Request], Awaitable[Response]]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("aftersales.web.pages", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined] # added by the i18n extension
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.filters.update(i18n.FILTERS)
    return env


ENV = _environment()


@dataclass
class Visit:
    request: Request
    runtime: ServiceRuntime
    shop: Shop | None
    lang: str
    timezone: str
    shop_name: str
    csrf_cookie: str
    new_cookie: bool

    @classmethod
    def start(
        cls, request: Request, runtime: ServiceRuntime, shop: Shop | None, *, prefer: str | None = None
    ) -> Visit:
        """``prefer``: a language the visitor is known to use (the case's), before the browser's."""
        policy = runtime.policy_for(shop) if shop is not None else None
        shop_language = getattr(policy, "language", None) if policy is not None else None
        lang = i18n.choose_language(
            request.query_params.get("lang"),
            request.cookies.get(i18n.COOKIE),
            None if prefer else request.headers.get("accept-language"),
            prefer or shop_language,
        )
        cookie, new = csrf.cookie_value(request)
        return cls(
            request=request,
            runtime=runtime,
            shop=shop,
            lang=lang,
            timezone=policy.shop.timezone if policy is not None else "UTC",
            shop_name=(policy.shop.name if policy is not None else "") or (shop.id if shop else ""),
            csrf_cookie=cookie,
            new_cookie=new,
        )

    def text(self, message: str) -> str:
        """``message`` in the visit's language (catalog messages; anything else is shown as is)."""
        return i18n.translate(self.lang, message)

    def _finish(self, response: Response) -> Response:
        if self.new_cookie:
            csrf.set_cookie(response, self.request, self.csrf_cookie)
        chosen = self.request.query_params.get("lang")
        if chosen and chosen == self.lang:
            response.set_cookie(i18n.COOKIE, self.lang, samesite="lax", max_age=365 * 24 * 3600, path="/")
        return response

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        base = {
            "lang": self.lang,
            "timezone": self.timezone,
            "shop_name": self.shop_name,
            "shop_id": self.shop.id if self.shop is not None else None,
            "csrf_field": csrf.FIELD,
            "csrf_token": csrf.form_token(self.csrf_cookie),
            "switch": {
                code: f"{self.request.url.path}?lang={code}" for code in i18n.LANGUAGES if code != self.lang
            },
            "error": None,
            "notice": None,
        }
        html = ENV.get_template(template).render({**base, **context})
        return self._finish(HTMLResponse(html, status_code=status))

    def redirect(self, location: str) -> Response:
        """303 See Other: a POST's answer is a page the browser can reload safely."""
        return self._finish(RedirectResponse(location, status_code=303))

    def problem(self, status: int, title: str, detail: str | None = None) -> Response:
        """An error page; ``title`` and ``detail`` are catalog messages (or plain text shown as is)."""
        return self.page(
            "problem.html",
            status=status,
            title=self.text(title),
            detail=self.text(detail) if detail else None,
        )


async def shop_visit(request: Request, runtime: ServiceRuntime) -> Visit | Response:
    """The visit of the shop named in the path, or a 404 page for an unknown or inactive shop."""
    shop_id = str(request.path_params.get("shop_id", ""))

    def load() -> Shop | None:
        with reading(runtime) as session:
            return active_shop(session, shop_id)

    shop = await anyio.to_thread.run_sync(load)
    if shop is None:
        return Visit.start(request, runtime, None).problem(404, labels.TITLES["no_shop"])
    return Visit.start(request, runtime, shop)


async def posted_form(request: Request) -> FormData:
    """The posted form (empty when the body is not a form), with limits on its parts."""
    return await request.form(max_files=MAX_FILES * 2, max_fields=500, max_part_size=128 * 1024)


async def read_form(request: Request) -> FormData | None:
    """The posted form; None when its CSRF token does not match the visitor's cookie."""
    form = await posted_form(request)
    return form if csrf.valid(request, form.get(csrf.FIELD)) else None
