"""The JSON APIs: the customer API (orders, returns, withdrawals, complaints, back in stock,
case status) and the merchant API (cases, actions, reports), described at ``/openapi.json``.

``api_routes(runtime)`` gives the routes :func:`aftersales.web.app.create_app` mounts. A
runtime that cannot run commands (the ingress benchmark's stand-in) gets none.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from aftersales.web.api import customer, merchant
from aftersales.web.api.headers import API_CSP, SecurityHeaders
from aftersales.web.api.operations import Operation, openapi_document, routes
from aftersales.web.api.service import ServiceRuntime
from aftersales.web.runtime import IngressRuntime

__all__ = ["OPERATIONS", "api_routes", "openapi"]

OPERATIONS: tuple[Operation, ...] = (*customer.OPERATIONS, *merchant.OPERATIONS)


def _version() -> str:
    try:
        return version("aftersales")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0"


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`OPERATIONS`."""
    return openapi_document(OPERATIONS, title="aftersales API", version=_version())


def api_routes(runtime: IngressRuntime) -> list[BaseRoute]:
    if not isinstance(runtime, ServiceRuntime):
        return []
    document = openapi()

    async def openapi_json(_request: Request) -> Response:
        return JSONResponse(document)

    secured = [Middleware(SecurityHeaders, csp=API_CSP)]
    return [
        Route("/openapi.json", openapi_json, methods=["GET"], middleware=secured),
        *routes(runtime, OPERATIONS, secured),
    ]
