"""CSRF protection for every form POST: a signed double-submit cookie (OWASP's recommended variant).

The browser gets a random value in a cookie (``HttpOnly``, ``SameSite=Lax``); each form
carries ``HMAC(server key, cookie value)`` in a hidden field. A POST passes only when the two
belong together. Another site can make a browser *send* our cookie with a cross-site form
(Lax cookies are not even sent on cross-site POSTs, which is the first line), but it can
neither read the cookie nor compute the HMAC without the server key — and because the field
is signed, a subdomain that can plant a cookie still cannot plant a matching field.

Hand-written (thirty lines of ``hmac``) because the customer pages have no sessions to hang
a token on, and the Starlette CSRF middlewares on PyPI check a header that only JavaScript
can set, while these pages work without any script.

The only POST without this token is RFC 8058's one-click unsubscribe, which a mail client
sends without any page; its signed unsubscribe token is the authorization there, and an
attacker who could forge the request would still have to know that token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from aftersales.web.links import secret_key

COOKIE = "aftersales_csrf"
FIELD = "csrf_token"
_SALT = b"aftersales.pages.csrf.v1|"


def _mac(cookie: str) -> str:
    return hmac.new(secret_key().encode(), _SALT + cookie.encode(), hashlib.sha256).hexdigest()


def cookie_value(request: Request) -> tuple[str, bool]:
    """``(value, is_new)``: the visitor's CSRF cookie, or a fresh one to set on the answer."""
    existing = request.cookies.get(COOKIE, "")
    if 32 <= len(existing) <= 128 and existing.isascii():
        return existing, False
    return secrets.token_urlsafe(32), True


def form_token(cookie: str) -> str:
    return _mac(cookie)


def valid(request: Request, submitted: object) -> bool:
    """Whether a POST's hidden field matches the cookie it came with."""
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(_mac(cookie), submitted)


def set_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
