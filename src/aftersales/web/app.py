"""The ASGI application (Starlette, served by uvicorn): ``create_app(runtime)``.

Routes (DESIGN §13 keeps the first two stable):

- ``POST /webhooks/{platform}/{shop_id}`` — the ingress (:mod:`aftersales.web.ingress`);
- ``GET /healthz`` — 200 while the process answers;
- ``GET /readyz`` — 200 when the database answers and the schema is at head, else 503;
- ``GET /metrics`` — Prometheus text format (:mod:`aftersales.web.metrics`).

The app gets everything through the engine's runtime (sessions, plugins, clock, enqueue), so
``aftersales serve`` and the tests build it the same way.
"""

from __future__ import annotations

import anyio
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aftersales.builtin import outbound_webhooks
from aftersales.web.api import api_routes
from aftersales.web.health import readiness
from aftersales.web.ingress import webhook_endpoint
from aftersales.web.links import secret_key
from aftersales.web.logs import configure_logging
from aftersales.web.metrics import WebMetrics
from aftersales.web.pages import page_routes
from aftersales.web.runtime import IngressRuntime
from aftersales.web.settings import WebSettings


def create_app(runtime: IngressRuntime, *, settings: WebSettings | None = None) -> Starlette:
    """Build the service for ``runtime`` (the engine's ``Runtime`` or anything shaped like it)."""
    if not structlog.is_configured():
        configure_logging()
    settings = settings or WebSettings.from_env()
    # generated and stored now if absent, so the first message's status link and the page
    # that opens it use the same key
    secret_key()
    # the outbound-events plugin queues into, and signs from, this process's database
    outbound_webhooks.bind(runtime.sessions, runtime.clock.now)
    metrics = WebMetrics(runtime.sessions)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        ready, checks = await anyio.to_thread.run_sync(readiness, runtime.sessions)
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics_endpoint(_request: Request) -> Response:
        body = await anyio.to_thread.run_sync(generate_latest, metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route(
            "/webhooks/{platform}/{shop_id}",
            webhook_endpoint(runtime, settings, metrics),
            methods=["POST"],
            name="webhook",
        ),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *page_routes(runtime),  # customer pages and status links (aftersales.web.pages)
        *api_routes(runtime),  # customer + merchant JSON APIs, /openapi.json (aftersales.web.api)
    ]
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.state.settings = settings
    return app
