"""Security headers on every page and API answer (a small ASGI middleware, per route).

- ``Content-Security-Policy``: pages load only our own stylesheet and images, run no script,
  post forms only to us and cannot be framed (clickjacking a "confirm withdrawal" button is the
  attack this stops); the API answers JSON that nothing should render at all.
- ``Referrer-Policy: no-referrer``: status links and order passes are capabilities in the URL;
  a click from the status page to the shop must not hand them over in ``Referer``.
- ``Cache-Control: no-store``: order details and case histories are personal data that shared
  caches and the back button of a shared computer must not keep.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (older browsers),
  ``Cross-Origin-Opener-Policy`` and a restrictive ``Permissions-Policy``.

Per route rather than app-wide: the webhook ingress is tuned for throughput and answers
machines, not browsers.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"

_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class SecurityHeaders:
    """Adds the headers above to each response (keeps any the endpoint set itself)."""

    def __init__(self, app: ASGIApp, *, csp: str, cache: str = "no-store") -> None:
        self.app = app
        self.headers = {**_COMMON, "Content-Security-Policy": csp, "Cache-Control": cache}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
