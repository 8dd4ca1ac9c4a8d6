"""A fake Shopify Admin GraphQL API for tests: a real HTTP server on 127.0.0.1, not a mock.

It answers ``POST /admin/api/<version>/graphql.json`` like the real API does:

* checks ``X-Shopify-Access-Token`` (401 otherwise) and the API version in the path (404);
* parses and **validates every document against the bundled Admin schema** (2026-07), answering
  GraphQL errors (HTTP 200, as Shopify does) for invalid documents or variables;
* executes it with graphql-core over in-memory state built from Shopify's documented shapes
  (``add_order`` takes a REST/webhook order such as ``orders_create.json``);
* charges the documented query cost against a leaky bucket and answers ``THROTTLED`` inside an
  HTTP 200 with ``extensions.cost.throttleStatus`` when the bucket is short, exactly like the
  fixture ``graphql_throttled_response.json``; rejects single queries over 1000 points;
* honours ``@idempotent(key:)`` on ``refundCreate`` (same key → the first refund, never a
  second one) and requires it from API 2026-04, as Shopify does;
* on demand: throttles (``throttle_next``), fails with a status (``fail_next``), or runs an
  operation and then drops the connection without answering (``lose_next_response``).

Usage::

    with FakeShopify(token="shpat_test") as fake:
        fake.add_order(json.loads(Path("orders_create.json").read_text()))
        client = ShopifyPlatform().client(fake.credentials())
        ...
        assert len(fake.refunds("820982911946154508")) == 1
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute_sync,
    parse,
    validate,
)

from aftersales.platforms import StoreCredentials
from aftersales_shopify.admin_schema import SCHEMA_VERSION, admin_schema
from aftersales_shopify.testing._cost import MAX_QUERY_COST, actual_cost, requested_cost
from aftersales_shopify.testing._state import ShopState, gid, numeric

__all__ = ["FakeShopify"]


@dataclass
class _Injection:
    kind: str  # "fail" | "lose"
    times: int
    operation: str | None = None
    status: int = 502

    def matches(self, names: tuple[str, str]) -> bool:
        return self.operation is None or self.operation in names


class _Bucket:
    """Shopify's leaky bucket: ``restore_rate`` points per second up to ``size``."""

    def __init__(self, size: float, restore_rate: float) -> None:
        self.size = size
        self.restore_rate = restore_rate
        self.available = size
        self._at = time.monotonic()

    def refill(self) -> None:
        moment = time.monotonic()
        self.available = min(self.size, self.available + (moment - self._at) * self.restore_rate)
        self._at = moment

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": float(self.size),
            "currentlyAvailable": float(int(self.available)),
            "restoreRate": float(self.restore_rate),
        }


class FakeShopify:
    """One fake shop. ``start()`` returns its base URL; use as a context manager in tests."""

    def __init__(
        self,
        token: str = "shpat_test",  # noqa: S107  (the fake shop's own test token)
        api_version: str = SCHEMA_VERSION,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        shop_domain: str = "fake-shop.myshopify.com",
        bucket_size: float = 1000.0,
        restore_rate: float = 100.0,
    ) -> None:
        self.token = token
        self.api_version = api_version
        self.host = host
        self.port = port
        self.shop_domain = shop_domain
        self.state = ShopState(shop_domain=shop_domain)
        self.bucket = _Bucket(bucket_size, restore_rate)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        """(operation name, variables) of every request received, valid or not, answered or not."""
        self.executed: list[str] = []
        """Operation names actually run against the shop's state."""
        self.throttled = 0
        """How many requests were answered THROTTLED."""
        self._injections: list[_Injection] = []
        self._forced_throttles = 0
        self._control = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        admin_schema(SCHEMA_VERSION)  # build once, before the first request

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            return self.url
        fake = self

        class Handler(_Handler):
            shop = fake

        self._server = _Server((self.host, self.port), Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-shopify", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._control:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._connections.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeShopify:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/admin/api/{self.api_version}/graphql.json"

    def credentials(self, **extra: Any) -> StoreCredentials:
        """Credentials pointing the plugin at this fake (fast backoff so tests stay quick)."""
        values: dict[str, Any] = {
            "url": self.url,
            "token": self.token,
            "api_version": self.api_version,
            "timeout_seconds": 5.0,
            "shop_domain": self.shop_domain,
            "backoff_seconds": 0.02,
        }
        values.update(extra)
        return StoreCredentials(**values)

    # -- shop data --------------------------------------------------------------------------------

    def add_order(
        self, order: Mapping[str, Any], *, transactions: list[Mapping[str, Any]] | None = None
    ) -> str:
        """A REST/webhook-shaped order (e.g. ``orders_create.json``) becomes part of the shop.

        Paid orders get one successful SALE for ``total_price`` on the last of
        ``payment_gateway_names`` unless ``transactions`` (GraphQL-like dicts: kind, status,
        gateway, amount) are given. Returns the order's numeric id.
        """
        with self.state.lock:
            return self.state.add_order(order, transactions)

    def set_stock(
        self,
        variant_id: str | int,
        quantity: int | None,
        *,
        product_id: str | int | None = None,
        sku: str | None = None,
    ) -> None:
        """Create or update a variant's stock (``None`` = not tracked); ``updatedAt`` moves to now."""
        with self.state.lock:
            self.state.set_stock(variant_id, quantity, product_id=product_id, sku=sku)

    def stock(self, variant_id: str | int) -> int | None:
        with self.state.lock:
            return self.state.variants[gid("ProductVariant", variant_id)].get("inventoryQuantity")

    def add_return(
        self,
        order_id: str | int,
        lines: list[tuple[str | int, int]],
        *,
        status: str = "REQUESTED",
        return_id: str | int | None = None,
    ) -> str:
        """A customer's return of ``[(line item id, quantity)]``; returns the return's numeric id."""
        with self.state.lock:
            return self.state.add_return(order_id, lines, status=status.upper(), return_id=return_id)

    def returns(self, order_id: str | int | None = None) -> list[dict[str, Any]]:
        """Returns as the shop sees them: id, status, decline, lines with processed quantities."""
        with self.state.lock:
            result = []
            for r in self.state.returns.values():
                if order_id is not None and r["order"]["id"] != gid("Order", order_id):
                    continue
                result.append(
                    {
                        "id": numeric(r["id"]),
                        "order_id": numeric(r["order"]["id"]),
                        "status": r["status"],
                        "decline": dict(r["decline"]) if r["decline"] else None,
                        "lines": [
                            {
                                "id": numeric(n["id"]),
                                "line_item_id": numeric(n["fulfillmentLineItem"]["lineItem"]["id"]),
                                "quantity": n["quantity"],
                                "processed": n["processedQuantity"],
                            }
                            for n in r["returnLineItems"].nodes
                        ],
                    }
                )
            return result

    def refunds(self, order_id: str | int) -> list[dict[str, Any]]:
        """Refunds of the order, as the shop saw them (amounts as Decimal)."""
        with self.state.lock:
            order = self.state.orders.get(gid("Order", order_id))
            if order is None:
                return []
            return [
                {
                    "id": numeric(r["id"]),
                    "note": r["note"],
                    "amount": Decimal(r["totalRefundedSet"]["presentmentMoney"]["amount"]),
                    "currency": r["totalRefundedSet"]["presentmentMoney"]["currencyCode"],
                    "idempotency_key": self.state.refund_keys.get(r["id"]),
                    "lines": [
                        {
                            "line_item_id": numeric(n["lineItem"]["id"]),
                            "quantity": n["quantity"],
                            "restock_type": n["restockType"],
                            "location_id": numeric(n["location"]["id"]) if n["location"] else None,
                        }
                        for n in r["refundLineItems"].nodes
                    ],
                    "transactions": [
                        {
                            "amount": Decimal(t["amountSet"]["presentmentMoney"]["amount"]),
                            "gateway": t["gateway"],
                            "kind": t["kind"],
                            "parent_id": numeric(t["parentTransaction"]["id"])
                            if t["parentTransaction"]
                            else None,
                        }
                        for t in r["transactions"].nodes
                    ],
                }
                for r in order["refunds"].items
            ]

    def order_note(self, order_id: str | int) -> str | None:
        with self.state.lock:
            return self.state.orders[gid("Order", order_id)].get("note")

    def touch_order(self, order_id: str | int, updated_at: str) -> None:
        """Set an order's ``updatedAt`` (ISO 8601) to place it in a reconciliation window."""
        with self.state.lock:
            self.state.orders[gid("Order", order_id)]["updatedAt"] = updated_at

    def webhook_subscriptions(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                {"id": numeric(w["id"]), "topic": w["topic"], "uri": w["uri"]}
                for w in self.state.webhooks.values()
            ]

    # -- failure injection ------------------------------------------------------------------------

    def throttle_next(self, times: int = 1) -> None:
        """Answer the next ``times`` requests THROTTLED, draining the bucket (restores at the rate)."""
        with self._control:
            self._forced_throttles += times

    def fail_next(self, status: int = 502, times: int = 1, *, operation: str | None = None) -> None:
        """Answer the next ``times`` (matching) requests with HTTP ``status`` without running them."""
        with self._control:
            self._injections.append(_Injection("fail", times, operation, status))

    def lose_next_response(self, operation: str | None = None, times: int = 1) -> None:
        """Run the next (matching) operation, then close the connection without answering.

        ``operation`` matches the document's operation name or its root field (``refundCreate``).
        """
        with self._control:
            self._injections.append(_Injection("lose", times, operation))

    def _take(self, kind: str, names: tuple[str, str]) -> _Injection | None:
        with self._control:
            for inj in self._injections:
                if inj.kind == kind and inj.times > 0 and inj.matches(names):
                    inj.times -= 1
                    if inj.times == 0:
                        self._injections.remove(inj)
                    return inj
        return None

    # -- one request ------------------------------------------------------------------------------

    def handle(self, path: str, headers: Mapping[str, str], raw: bytes) -> tuple[int, dict[str, Any] | None]:
        """(HTTP status, JSON body); body None = drop the connection without an answer."""
        if path.split("?")[0] != f"/admin/api/{self.api_version}/graphql.json":
            return 404, {"errors": "Not Found"}
        if headers.get("x-shopify-access-token") != self.token:
            return 401, {
                "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
            }
        try:
            body = json.loads(raw)
            query = body["query"]
            variables = body.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}
        schema = admin_schema(SCHEMA_VERSION)
        try:
            document, errors = _checked(query)
        except GraphQLError as exc:
            self.requests.append(("<unparsable>", variables))
            return 200, {"errors": [_formatted(exc, "GRAPHQL_PARSE_FAILED")]}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        op = next(
            (o for o in operations if o.name and o.name.value == body.get("operationName")),
            operations[0] if operations else None,
        )
        op_name = op.name.value if op is not None and op.name else "<anonymous>"
        root_field = getattr(getattr(op.selection_set.selections[0], "name", None), "value", "") if op else ""
        names = (op_name, root_field)
        self.requests.append((op_name, variables))
        if errors:
            return 200, {"errors": [_formatted(e, "GRAPHQL_VALIDATION_FAILED") for e in errors]}
        failure = self._take("fail", names)
        if failure is not None:
            return failure.status, {"errors": f"fake shop: injected HTTP {failure.status}"}
        cost = requested_cost(schema, document, variables, op_name if op and op.name else None)
        if cost > MAX_QUERY_COST:
            return 200, {
                "errors": [
                    {
                        "message": f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).",
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST},
                    }
                ]
            }
        with self._control:
            self.bucket.refill()
            if self._forced_throttles > 0:
                self._forced_throttles -= 1
                self.bucket.available = 0.0
            if self.bucket.available < cost:
                self.throttled += 1
                return 200, {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": cost,
                            "actualQueryCost": None,
                            "throttleStatus": self.bucket.status(),
                        }
                    },
                }
            self.bucket.available -= cost
        is_mutation = op is not None and op.operation is OperationType.MUTATION
        with self.state.lock:
            root = self.state.mutation_root(self.api_version) if is_mutation else self.state.query_root()
            result = execute_sync(
                schema,
                document,
                root_value=root,
                variable_values=variables,
                operation_name=body.get("operationName"),
            )
            if result.data is not None or not result.errors:
                self.executed.append(op_name)
            answer: dict[str, Any] = {}
            if result.errors:
                answer["errors"] = [_formatted(e, None) for e in result.errors]
            if result.data is not None or not result.errors:
                answer["data"] = result.data
            text = json.dumps(answer, default=str)
        spent = 10 if is_mutation else min(cost, actual_cost(result.data))
        with self._control:
            self.bucket.available = min(self.bucket.size, self.bucket.available + (cost - spent))
            status = self.bucket.status()
        answer = json.loads(text)
        answer["extensions"] = {
            "cost": {"requestedQueryCost": cost, "actualQueryCost": spent, "throttleStatus": status}
        }
        if self._take("lose", names) is not None:
            return 200, None
        return 200, answer


@lru_cache(maxsize=512)
def _checked(query: str) -> tuple[DocumentNode, tuple[GraphQLError, ...]]:
    """Parse and validate once per distinct document text (the plugin sends the same few)."""
    document = parse(query)
    return document, tuple(validate(admin_schema(SCHEMA_VERSION), document))


def _formatted(error: GraphQLError, code: str | None) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    if code is not None:
        formatted["extensions"] = {**(formatted.get("extensions") or {}), "code": code}
    return formatted


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: FakeShopify


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    shop: FakeShopify

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY the body waits for the
        # client's delayed ACK (~40 ms per request on Linux).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.shop._control:
            self.shop._connections.add(self.connection)

    def finish(self) -> None:
        with self.shop._control:
            self.shop._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, body = self.shop.handle(self.path, headers, raw)
        except Exception as exc:  # an unexpected fake-shop bug: answer 500 so the test sees it
            status, body = (
                500,
                {
                    "errors": [
                        {
                            "message": f"fake shop error: {type(exc).__name__}: {exc}",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                        }
                    ]
                },
            )
        if body is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        data = json.dumps(body).encode()
        self.send_response(
            status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else None
        )
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        data = b'{"errors":"Not Found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
