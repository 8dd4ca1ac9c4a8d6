"""A fake WooCommerce shop that speaks real HTTP, for tests and the demo.

``FakeWooCommerce`` runs a ``ThreadingHTTPServer`` on 127.0.0.1 in a background thread and
implements the wc/v3 endpoints the plugin uses, with the documented request/response shapes
(built from the samples in ``aftersales_woocommerce/samples``, copied from the WooCommerce REST
API docs). Clients talk to it exactly as to a shop: through the ``woocommerce`` package, with
OAuth 1.0a signatures over plain HTTP (verified here as WooCommerce verifies them).

Why stdlib ``http.server`` and not an ASGI app: the failure modes need control of the socket —
"perform the refund, then drop the connection without an answer" is a ``shutdown()`` on the raw
connection, which an ASGI server does not offer.

Behaviour worth knowing:

- Refunds keep the order consistent: the order's ``refunds`` array, the remaining refundable
  amount (a refund above it is refused with ``woocommerce_rest_cannot_create_order_refund`` and
  HTTP 500, as WooCommerce does), per-line refunded quantities, status ``refunded`` when nothing
  is left, restocking when ``api_restock`` is true. It is stricter than WooCommerce on line ids
  and quantities (WooCommerce silently ignores unknown lines).
- ``fail_next`` answers an error *without* doing anything; ``lose_next_response`` does the work
  and then drops the connection; ``delay_next`` does the work and answers late.
- Webhooks registered through the API (or :meth:`add_webhook`) are delivered for real, signed
  with their secret, with WooCommerce's headers, on a background thread; the test-side mutators
  (:meth:`add_order`...) wait for their deliveries. A webhook is disabled after more than 5
  consecutive failed deliveries, as WooCommerce does. Pass ``webhook=False`` to change state
  without telling anyone (the "missed webhook" that reconciliation must find).
- ``date_modified_gmt`` has WooCommerce's one-second resolution but never repeats for one
  resource here (a second change in the same second moves it one second on), so tests that
  dedupe on it are deterministic.
- Lenient where it does not matter: Basic auth is accepted over plain HTTP too.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from aftersales.domain.money import minor_units
from aftersales.platforms import StoreCredentials

API_PREFIX = "/wp-json/wc/v3"
WEBHOOK_TOPICS = frozenset(
    f"{resource}.{event}"
    for resource in ("order", "product", "customer", "coupon")
    for event in ("created", "updated", "deleted", "restored")
)
MAX_DELIVERY_FAILURES = 5
"""WooCommerce disables a webhook when its consecutive failures exceed this."""


# -- samples ------------------------------------------------------------------------------------


def _sample(name: str) -> dict[str, Any]:
    text = resources.files("aftersales_woocommerce").joinpath("samples", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def sample_order(**overrides: Any) -> dict[str, Any]:
    """The wc/v3 "Retrieve an order" example (id 727, USD 29.35, two lines, flat-rate shipping)."""
    order = _sample("rest_v3_order_retrieve.json")
    order.update(copy.deepcopy(overrides))
    return order


def sample_product(**overrides: Any) -> dict[str, Any]:
    """The wc/v3 "Retrieve a product" example (simple product 794, stock not managed)."""
    product = _sample("rest_v3_product_retrieve.json")
    product.update(copy.deepcopy(overrides))
    return product


def sample_variation(parent_id: int = 22, variation_id: int = 23, **overrides: Any) -> dict[str, Any]:
    """A variation as the products endpoint shows it (``type: variation`` + ``parent_id``)."""
    variation: dict[str, Any] = {
        "id": variation_id,
        "parent_id": parent_id,
        "name": "Ship Your Idea - Black, M",
        "type": "variation",
        "status": "publish",
        "sku": "Bar3",
        "price": "12.00",
        "regular_price": "12.00",
        "sale_price": "",
        "manage_stock": True,
        "stock_quantity": 0,
        "stock_status": "outofstock",
        "backorders": "no",
        "attributes": [
            {"id": 6, "name": "Color", "option": "Black"},
            {"id": 0, "name": "size", "option": "M"},
        ],
        "meta_data": [],
    }
    variation.update(copy.deepcopy(overrides))
    return variation


# -- records ------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """One webhook delivery attempt made by the fake (what the receiver saw)."""

    webhook_id: int
    topic: str
    delivery_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Rule:
    times: int
    path_prefix: str | None
    method: str | None
    status: int = 500
    seconds: float = 0.0
    retry_after: float | None = None
    code: str | None = None
    message: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.times <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)


@dataclass
class _RefundPart:
    kind: str
    """``line_item`` or ``shipping``."""
    item: dict[str, Any]
    net: Decimal
    taxes: dict[int, Decimal]
    qty: int

    @property
    def tax(self) -> Decimal:
        return sum(self.taxes.values(), Decimal(0))


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.data = data

    def reply(self) -> _Reply:
        return _Reply(
            self.status,
            {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}},
        )


_DEFAULT_FAILURES: dict[int, tuple[str, str]] = {
    400: ("rest_invalid_param", "Invalid parameter(s)."),
    401: ("woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match."),
    403: ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    404: ("rest_no_route", "No route was found matching the URL and request method."),
    429: ("woocommerce_rest_too_many_requests", "Too many requests. Please slow down."),
    500: ("internal_server_error", "There has been a critical error on this website."),
}


def _php_json(payload: Any) -> bytes:
    """JSON as WordPress's ``wp_json_encode`` writes it (compact, ``\\/`` and ``\\uXXXX`` escapes):
    the signature is over these exact bytes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


def _rfc3986(text: str) -> str:
    return quote(text, safe="~")


# -- the fake -----------------------------------------------------------------------------------


class FakeWooCommerce:
    """A WooCommerce shop in memory behind a real HTTP server (see the module docstring)."""

    def __init__(
        self,
        consumer_key: str = "ck_test",
        consumer_secret: str = "cs_test",  # noqa: S107 - a fake shop's test key
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
        manual_gateways: Iterable[str] = (),
        deliver_webhooks: bool = True,
        delivery_timeout: float = 5.0,
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.host = host
        self.port = port
        self._clock = clock or (lambda: datetime.now(UTC))
        self.manual_gateways = frozenset(manual_gateways)
        """Payment methods that cannot refund through the API (``bacs``, ``cod``... in a real shop):
        ``api_refund: true`` on their orders is refused as WooCommerce refuses it."""
        self.deliver_webhooks = deliver_webhooks
        self.delivery_timeout = delivery_timeout
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every API request received, in order."""
        self.bodies: list[tuple[str, str, Any]] = []
        """(method, path, parsed JSON body) of every API request that carried a body."""
        self.deliveries: list[Delivery] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1000)
        self._orders: dict[int, dict[str, Any]] = {}
        self._refunds: dict[int, list[dict[str, Any]]] = {}
        self._notes: dict[int, list[dict[str, Any]]] = {}
        self._products: dict[int, dict[str, Any]] = {}
        self._variations: dict[int, dict[int, dict[str, Any]]] = {}
        self._webhooks: dict[int, dict[str, Any]] = {}
        self._modified: dict[str, datetime] = {}
        self._nonces: set[str] = set()
        self._fail: list[_Rule] = []
        self._lose: list[_Rule] = []
        self._delay: list[_Rule] = []
        self._garble: list[_Rule] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._outbox: queue.Queue[tuple[int, str, bytes] | None] = queue.Queue()
        self._sender: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            return self.url
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-woocommerce", daemon=True
        )
        self._thread.start()
        self._sender = threading.Thread(target=self._send_loop, name="fake-woocommerce-webhooks", daemon=True)
        self._sender.start()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._outbox.put(None)
        if self._sender is not None:
            self._sender.join(timeout=self.delivery_timeout + 1)
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        self._sender = None

    def __enter__(self) -> FakeWooCommerce:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeWooCommerce is not started; call start() first")
        return f"http://{self.host}:{self.port}"

    def credentials(self, url: str | None = None, **extra: Any) -> StoreCredentials:
        """Credentials for this shop, with short timeouts and retry delays (tests stay fast)."""
        values: dict[str, Any] = {
            "url": url or self.url,
            "key": self.consumer_key,
            "secret": self.consumer_secret,
            "timeout_seconds": 2.0,
            "retry_attempts": 4,
            "retry_base_delay": 0.01,
            "retry_max_delay": 0.05,
        }
        values.update(extra)
        return StoreCredentials(**values)

    # -- clock and ids -------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the fake's clock must return aware datetimes")
        return now.astimezone(UTC).replace(microsecond=0)

    def _bump(self, key: str) -> str:
        """A new ``date_modified_gmt`` for resource ``key``, strictly after its previous one."""
        now = self._now()
        previous = self._modified.get(key)
        if previous is not None and now <= previous:
            now = previous + timedelta(seconds=1)
        self._modified[key] = now
        return _fmt(now)

    def _new_id(self) -> int:
        return next(self._ids)

    def _reserve(self, wanted: Any) -> int:
        if wanted is None:
            return self._new_id()
        value = int(wanted)
        current = next(self._ids)
        self._ids = itertools.count(max(current, value + 1))
        return value

    # -- orders ----------------------------------------------------------------------------------

    def add_order(self, order: dict[str, Any], *, webhook: bool = True) -> dict[str, Any]:
        """Add a wc/v3 order (e.g. :func:`sample_order`); missing bookkeeping fields are filled in."""
        with self._lock:
            data = copy.deepcopy(order)
            oid = self._reserve(data.get("id"))
            data["id"] = oid
            data.setdefault("number", str(oid))
            data.setdefault("status", "processing")
            data.setdefault("currency", "PLN")
            data.setdefault("line_items", [])
            data.setdefault("shipping_lines", [])
            data.setdefault("meta_data", [])
            data.setdefault("refunds", [])
            data.setdefault("total", "0.00")
            now = _fmt(self._now())
            for key in ("date_created", "date_created_gmt"):
                data.setdefault(key, now)
            modified = data.get("date_modified_gmt")
            if isinstance(modified, str) and modified:
                self._modified[f"order:{oid}"] = datetime.fromisoformat(modified).replace(tzinfo=UTC)
            else:
                data["date_modified_gmt"] = self._bump(f"order:{oid}")
            data.setdefault("date_modified", data["date_modified_gmt"])
            data["_links"] = {
                "self": [{"href": f"{self._site()}{API_PREFIX}/orders/{oid}"}],
                "collection": [{"href": f"{self._site()}{API_PREFIX}/orders"}],
            }
            self._orders[oid] = data
            self._refunds.setdefault(oid, [])
            self._notes.setdefault(oid, [])
            result = copy.deepcopy(data)
        if webhook:
            self._emit("order.created", oid, wait=True)
        return result

    def update_order(self, order_id: int | str, *, webhook: bool = True, **changes: Any) -> dict[str, Any]:
        """Change top-level fields of an order (``status="completed"``...); bumps ``date_modified_gmt``."""
        oid = int(order_id)
        with self._lock:
            data = self._order(oid)
            data.update(copy.deepcopy(changes))
            self._touch_order(data)
            result = copy.deepcopy(data)
        if webhook:
            self._emit("order.updated", oid, wait=True)
        return result

    def delete_order(self, order_id: int | str, *, webhook: bool = True) -> None:
        oid = int(order_id)
        with self._lock:
            self._order(oid)
            del self._orders[oid]
        if webhook:
            self._emit("order.deleted", oid, wait=True, body={"id": oid})

    def order(self, order_id: int | str) -> dict[str, Any]:
        """The order as the API shows it now."""
        with self._lock:
            return copy.deepcopy(self._order(int(order_id)))

    def refunds(self, order_id: int | str) -> list[dict[str, Any]]:
        """Refunds created through the API on this order (what the shop saw), oldest first."""
        with self._lock:
            return copy.deepcopy(self._refunds.get(int(order_id), []))

    def notes(self, order_id: int | str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._notes.get(int(order_id), []))

    def _order(self, oid: int) -> dict[str, Any]:
        try:
            return self._orders[oid]
        except KeyError:
            raise _ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.") from None

    def _touch_order(self, data: dict[str, Any]) -> None:
        stamp = self._bump(f"order:{data['id']}")
        data["date_modified_gmt"] = stamp
        data["date_modified"] = stamp

    # -- products --------------------------------------------------------------------------------

    def add_product(self, product: dict[str, Any], *, webhook: bool = True) -> dict[str, Any]:
        with self._lock:
            data = copy.deepcopy(product)
            pid = self._reserve(data.get("id"))
            data["id"] = pid
            data.setdefault("type", "simple")
            data.setdefault("parent_id", 0)
            data.setdefault("variations", [])
            data.setdefault("manage_stock", False)
            data.setdefault("stock_quantity", None)
            data.setdefault("stock_status", "instock")
            data["date_modified_gmt"] = self._bump(f"product:{pid}")
            data["date_modified"] = data["date_modified_gmt"]
            self._products[pid] = data
            self._variations.setdefault(pid, {})
            result = copy.deepcopy(data)
        if webhook:
            self._emit("product.created", pid, wait=True)
        return result

    def add_variation(
        self, product_id: int | str, variation: dict[str, Any], *, webhook: bool = True
    ) -> dict[str, Any]:
        pid = int(product_id)
        with self._lock:
            parent = self._product(pid)
            data = copy.deepcopy(variation)
            vid = self._reserve(data.get("id"))
            data.update({"id": vid, "parent_id": pid, "type": "variation"})
            data.setdefault("manage_stock", False)
            data.setdefault("stock_quantity", None)
            data.setdefault("stock_status", "instock")
            data["date_modified_gmt"] = self._bump(f"product:{vid}")
            data["date_modified"] = data["date_modified_gmt"]
            self._variations.setdefault(pid, {})[vid] = data
            parent["type"] = "variable"
            if vid not in parent["variations"]:
                parent["variations"].append(vid)
            result = copy.deepcopy(data)
        if webhook:
            self._emit("product.created", vid, wait=True)
        return result

    def set_stock(
        self, product_id: int | str, variation_id: int | str | None, quantity: int, *, webhook: bool = True
    ) -> dict[str, Any]:
        """Set managed stock; WooCommerce's deferred parent sync re-saves the parent of a variation."""
        pid = int(product_id)
        with self._lock:
            target = self._stock_target(pid, None if variation_id is None else int(variation_id))
            self._apply_stock(target, quantity)
            result = copy.deepcopy(target)
            changed = [int(target["id"])] + ([pid] if variation_id is not None else [])
        if webhook:
            for rid in changed:
                self._emit("product.updated", rid, wait=True)
        return result

    def product(self, product_id: int | str, variation_id: int | str | None = None) -> dict[str, Any]:
        with self._lock:
            pid = int(product_id)
            if variation_id is None:
                return copy.deepcopy(self._product(pid))
            return copy.deepcopy(self._variation(pid, int(variation_id)))

    def _stock_target(self, pid: int, vid: int | None) -> dict[str, Any]:
        return self._product(pid) if vid is None else self._variation(pid, vid)

    def _apply_stock(self, target: dict[str, Any], quantity: int) -> None:
        target["manage_stock"] = True
        target["stock_quantity"] = quantity
        target["stock_status"] = "instock" if quantity > 0 else "outofstock"
        target["date_modified_gmt"] = self._bump(f"product:{target['id']}")
        target["date_modified"] = target["date_modified_gmt"]
        parent_id = int(target.get("parent_id") or 0)
        if parent_id and parent_id in self._products:
            parent = self._products[parent_id]
            parent["date_modified_gmt"] = self._bump(f"product:{parent_id}")
            parent["date_modified"] = parent["date_modified_gmt"]

    def _product(self, pid: int) -> dict[str, Any]:
        try:
            return self._products[pid]
        except KeyError:
            raise _ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.") from None

    def _variation(self, pid: int, vid: int) -> dict[str, Any]:
        self._product(pid)
        try:
            return self._variations[pid][vid]
        except KeyError:
            raise _ApiError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.") from None

    def _any_product(self, rid: int) -> dict[str, Any]:
        """A product or a variation by its own id (the products endpoint answers for both)."""
        if rid in self._products:
            return self._products[rid]
        for variations in self._variations.values():
            if rid in variations:
                return variations[rid]
        raise _ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")

    # -- webhooks --------------------------------------------------------------------------------

    def add_webhook(
        self,
        topic: str,
        delivery_url: str,
        secret: str | None = None,
        *,
        status: str = "active",
        name: str = "",
    ) -> dict[str, Any]:
        with self._lock:
            hook = self._create_webhook(
                {
                    "topic": topic,
                    "delivery_url": delivery_url,
                    "secret": secret,
                    "status": status,
                    "name": name,
                }
            )
            return copy.deepcopy(hook)

    def webhooks(self) -> list[dict[str, Any]]:
        """Registered webhooks including their secrets and failure counts (the API hides secrets)."""
        with self._lock:
            return [copy.deepcopy(h) for h in self._webhooks.values()]

    def ping(self, webhook_id: int | str) -> Delivery:
        """Send WooCommerce's activation ping (unsigned form body ``webhook_id=N``)."""
        with self._lock:
            hook = copy.deepcopy(self._webhooks[int(webhook_id)])
        return self._post_delivery(hook, "", f"webhook_id={hook['id']}".encode(), ping=True)

    def redeliver(self, delivery: Delivery) -> Delivery:
        """Send the same body again (a new delivery id, as WooCommerce does on every send)."""
        with self._lock:
            hook = copy.deepcopy(self._webhooks[delivery.webhook_id])
        return self._post_delivery(hook, delivery.topic, delivery.body)

    def wait_for_deliveries(self) -> None:
        """Block until every queued webhook delivery has been attempted."""
        self._outbox.join()

    def _create_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        topic = body.get("topic")
        if not isinstance(topic, str) or not (topic in WEBHOOK_TOPICS or topic.startswith("action.")):
            raise _ApiError(
                400, "woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid."
            )
        url = body.get("delivery_url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise _ApiError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): delivery_url",
                params={"delivery_url": "Invalid URL."},
            )
        wid = self._new_id()
        now = _fmt(self._now())
        resource, _, event = topic.partition(".")
        hook: dict[str, Any] = {
            "id": wid,
            "name": body.get("name") or f"Webhook created on {now}",
            "status": body.get("status") or "active",
            "topic": topic,
            "resource": resource,
            "event": event,
            "hooks": [],
            "delivery_url": url,
            "secret": body.get("secret") or hashlib.md5(b"1|admin").hexdigest(),  # noqa: S324 - WooCommerce's default
            "failure_count": 0,
            "date_created": now,
            "date_created_gmt": now,
            "date_modified": now,
            "date_modified_gmt": now,
        }
        self._webhooks[wid] = hook
        return hook

    def _public_webhook(self, hook: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in hook.items() if k not in ("secret", "failure_count")}
        shown["_links"] = {"self": [{"href": f"{self._site()}{API_PREFIX}/webhooks/{hook['id']}"}]}
        return shown

    def _emit(
        self, topic: str, resource_id: int, *, wait: bool = False, body: dict[str, Any] | None = None
    ) -> None:
        """Queue deliveries of ``topic`` for ``resource_id`` to every active subscription."""
        if not self.deliver_webhooks or self._server is None:
            return
        with self._lock:
            hooks = [
                h["id"] for h in self._webhooks.values() if h["topic"] == topic and h["status"] == "active"
            ]
            if not hooks:
                return
            if body is None:
                resource = topic.split(".", 1)[0]
                body = self._resource_json(resource, resource_id)
            payload = _php_json(body)
        for wid in hooks:
            self._outbox.put((wid, topic, payload))
        if wait:
            self._outbox.join()

    def _resource_json(self, resource: str, rid: int) -> dict[str, Any]:
        if resource == "order":
            return copy.deepcopy(self._order(rid))
        return copy.deepcopy(self._any_product(rid))

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            try:
                if item is None:
                    return
                wid, topic, body = item
                with self._lock:
                    hook = copy.deepcopy(self._webhooks.get(wid))
                if hook is not None and hook["status"] == "active":
                    self._post_delivery(hook, topic, body)
            finally:
                self._outbox.task_done()

    def _post_delivery(
        self, hook: dict[str, Any], topic: str, body: bytes, *, ping: bool = False
    ) -> Delivery:
        with self._lock:
            delivery_id = str(self._new_id())
        if ping:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        else:
            resource, _, event = topic.partition(".")
            signature = base64.b64encode(
                hmac.new(hook["secret"].encode(), body, hashlib.sha256).digest()
            ).decode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "WooCommerce/9.0.0 Hookshot (WordPress/6.5)",
                "X-WC-Webhook-Source": f"{self._site()}/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": signature,
                "X-WC-Webhook-ID": str(hook["id"]),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
        delivery = Delivery(
            webhook_id=int(hook["id"]),
            topic=topic,
            delivery_id=delivery_id,
            url=hook["delivery_url"],
            headers=headers,
            body=body,
        )
        try:
            response = requests.post(
                hook["delivery_url"], data=body, headers=headers, timeout=self.delivery_timeout
            )
            delivery.status = response.status_code
        except requests.RequestException as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.deliveries.append(delivery)
            live = self._webhooks.get(int(hook["id"]))
            if live is not None and not ping:
                if delivery.ok:
                    live["failure_count"] = 0
                else:
                    live["failure_count"] += 1
                    if live["failure_count"] > MAX_DELIVERY_FAILURES:
                        live["status"] = "disabled"
        return delivery

    # -- failure modes ---------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        times: int = 1,
        path_prefix: str | None = None,
        *,
        method: str | None = None,
        retry_after: float | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``times`` matching requests get ``status`` without being processed.

        429 carries ``Retry-After`` (1 second unless ``retry_after`` says otherwise); 502/503/504
        answer with an HTML page like a proxy would; others with WooCommerce's error JSON.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._fail.append(
                _Rule(
                    times,
                    path_prefix,
                    method,
                    status=status,
                    retry_after=retry_after,
                    code=code,
                    message=message,
                )
            )

    def lose_next_response(
        self, path_prefix: str | None = f"{API_PREFIX}/orders/", method: str | None = "POST", times: int = 1
    ) -> None:
        """The next matching requests are processed, then the connection is dropped unanswered."""
        with self._lock:
            self._lose.append(_Rule(times, path_prefix, method))

    def delay_next(
        self, seconds: float, path_prefix: str | None = None, *, method: str | None = None, times: int = 1
    ) -> None:
        """The next matching requests are processed, then answered after ``seconds``."""
        with self._lock:
            self._delay.append(_Rule(times, path_prefix, method, seconds=seconds))

    def garble_next(
        self,
        prefix: str = "<br />\n<b>Deprecated</b>:  Function create_function() is deprecated in "
        "<b>/var/www/wp-content/plugins/old/old.php</b> on line <b>12</b><br />\n",
        path_prefix: str | None = None,
        *,
        method: str | None = None,
        times: int = 1,
    ) -> None:
        """The next matching requests are processed, and their JSON answer comes after ``prefix``
        (a PHP notice, as WordPress prints them with ``WP_DEBUG_DISPLAY``). An empty ``prefix``
        sends an empty body instead of the JSON."""
        with self._lock:
            self._garble.append(_Rule(times, path_prefix, method, message=prefix))

    @staticmethod
    def _take(rules: list[_Rule], method: str, path: str) -> _Rule | None:
        for rule in rules:
            if rule.matches(method, path):
                rule.times -= 1
                return rule
        return None

    # -- HTTP dispatch ---------------------------------------------------------------------------

    def _site(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _handle(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        path = split.path
        method = handler.command
        query = dict(parse_qsl(split.query, keep_blank_values=True))  # PHP: the last duplicate wins
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((method, path))
            if raw_body:
                try:
                    self.bodies.append((method, path, json.loads(raw_body)))
                except ValueError:
                    self.bodies.append((method, path, raw_body))
            fail = self._take(self._fail, method, path)
            lose = self._take(self._lose, method, path) if fail is None else None
            delay = self._take(self._delay, method, path) if fail is None else None
            garble = self._take(self._garble, method, path) if fail is None else None
        if fail is not None:
            reply = self._failure_reply(fail)
        else:
            try:
                self._authenticate(handler, method, path, query)
                with self._lock:
                    reply = self._route(method, path, query, raw_body)
            except _ApiError as exc:
                reply = exc.reply()
        if lose is not None:
            handler.drop()
            return
        if garble is not None and reply.raw is None:
            reply.raw = garble.message.encode() + json.dumps(reply.body).encode() if garble.message else b""
            reply.headers.setdefault("Content-Type", "application/json; charset=UTF-8")
        if delay is not None:
            time.sleep(delay.seconds)
        handler.answer(reply)

    def _failure_reply(self, rule: _Rule) -> _Reply:
        headers: dict[str, str] = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = (
                str(int(rule.retry_after)) if float(rule.retry_after).is_integer() else str(rule.retry_after)
            )
        if rule.status in (502, 503, 504) and rule.code is None:
            page = f"<html><head><title>{rule.status}</title></head><body>upstream error</body></html>"
            headers["Content-Type"] = "text/html"
            return _Reply(rule.status, raw=page.encode(), headers=headers)
        code, message = _DEFAULT_FAILURES.get(rule.status, ("internal_server_error", "Error."))
        body = {
            "code": rule.code or code,
            "message": rule.message or message,
            "data": {"status": rule.status},
        }
        return _Reply(rule.status, body, headers)

    def _authenticate(self, handler: _Handler, method: str, path: str, query: dict[str, str]) -> None:
        """WooCommerce's REST authentication: OAuth 1.0a over HTTP, Basic or query keys otherwise."""
        if "oauth_signature" in query:
            self._check_oauth(method, path, query)
            return
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                key, secret = "", ""
            self._check_keys(key, secret)
            return
        if "consumer_key" in query:
            self._check_keys(query.get("consumer_key", ""), query.get("consumer_secret", ""))
            return
        raise _ApiError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")

    def _check_keys(self, key: str, secret: str) -> None:
        if not hmac.compare_digest(key, self.consumer_key):
            raise _ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if not hmac.compare_digest(secret, self.consumer_secret):
            raise _ApiError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")

    def _check_oauth(self, method: str, path: str, query: dict[str, str]) -> None:
        params = dict(query)
        if not hmac.compare_digest(params.get("oauth_consumer_key", ""), self.consumer_key):
            raise _ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        algorithm = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}.get(
            params.get("oauth_signature_method", "")
        )
        if algorithm is None:
            raise _ApiError(
                401,
                "woocommerce_rest_authentication_error",
                "Invalid signature - signature method is invalid.",
            )
        try:
            stamp = int(params.get("oauth_timestamp", ""))
        except ValueError:
            stamp = 0
        if stamp < time.time() - 15 * 60:
            raise _ApiError(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
        given = params.pop("oauth_signature").replace(" ", "+")
        pairs = sorted(params.items())
        joined = "%26".join(_rfc3986(f"{_rfc3986(k)}={_rfc3986(v)}") for k, v in pairs)
        base = f"{method}&{_rfc3986(self._site() + path)}&{joined}"
        expected = base64.b64encode(
            hmac.new(f"{self.consumer_secret}&".encode(), base.encode(), algorithm).digest()
        ).decode()
        if not hmac.compare_digest(expected, given):
            raise _ApiError(
                401,
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
            )
        nonce = params.get("oauth_nonce", "")
        with self._lock:
            if nonce in self._nonces:
                raise _ApiError(
                    401,
                    "woocommerce_rest_authentication_error",
                    "Invalid nonce - nonce has already been used.",
                )
            self._nonces.add(nonce)

    _ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
        ("GET", re.compile(r"/orders"), "_list_orders"),
        ("GET", re.compile(r"/orders/(\d+)"), "_get_order"),
        ("GET", re.compile(r"/orders/(\d+)/refunds"), "_list_refunds"),
        ("POST", re.compile(r"/orders/(\d+)/refunds"), "_create_refund"),
        ("GET", re.compile(r"/orders/(\d+)/refunds/(\d+)"), "_get_refund"),
        ("GET", re.compile(r"/orders/(\d+)/notes"), "_list_notes"),
        ("POST", re.compile(r"/orders/(\d+)/notes"), "_create_note"),
        ("GET", re.compile(r"/products"), "_list_products"),
        ("GET", re.compile(r"/products/(\d+)"), "_get_product"),
        ("GET", re.compile(r"/products/(\d+)/variations"), "_list_variations"),
        ("GET", re.compile(r"/products/(\d+)/variations/(\d+)"), "_get_variation"),
        ("GET", re.compile(r"/webhooks"), "_list_webhooks"),
        ("POST", re.compile(r"/webhooks"), "_post_webhook"),
        ("GET", re.compile(r"/webhooks/(\d+)"), "_get_webhook"),
        ("PUT", re.compile(r"/webhooks/(\d+)"), "_put_webhook"),
        ("POST", re.compile(r"/webhooks/(\d+)"), "_put_webhook"),
        ("DELETE", re.compile(r"/webhooks/(\d+)"), "_delete_webhook"),
    )

    def _route(self, method: str, path: str, query: dict[str, str], raw_body: bytes) -> _Reply:
        if not path.startswith(API_PREFIX):
            raise _ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")
        rest = path[len(API_PREFIX) :].rstrip("/")
        for verb, pattern, name in self._ROUTES:
            match = pattern.fullmatch(rest)
            if match and verb == method:
                body: Any = None
                if raw_body:
                    try:
                        body = json.loads(raw_body)
                    except ValueError:
                        raise _ApiError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
                args = [int(g) for g in match.groups()]
                reply: _Reply = getattr(self, name)(*args, query=query, body=body)
                return reply
        raise _ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    # -- collection helpers ----------------------------------------------------------------------

    @staticmethod
    def _page(items: list[dict[str, Any]], query: dict[str, str]) -> _Reply:
        try:
            per_page = int(query.get("per_page", "10"))
            page = int(query.get("page", "1"))
        except ValueError:
            raise _ApiError(400, "rest_invalid_param", "Invalid parameter(s): per_page, page") from None
        if not 1 <= per_page <= 100:
            raise _ApiError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"},
            )
        if page < 1:
            raise _ApiError(400, "rest_invalid_param", "Invalid parameter(s): page")
        total = len(items)
        pages = (total + per_page - 1) // per_page
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        return _Reply(200, [copy.deepcopy(i) for i in chunk], headers)

    @staticmethod
    def _filter_dates(items: Iterable[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
        # The fake's site time zone is UTC, so dates_are_gmt changes nothing here.
        bounds = []
        for param, field_name, after in (
            ("modified_after", "date_modified_gmt", True),
            ("modified_before", "date_modified_gmt", False),
            ("after", "date_created_gmt", True),
            ("before", "date_created_gmt", False),
        ):
            if param in query:
                try:
                    bound = _parse_query_date(query[param])
                except ValueError:
                    raise _ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {param}") from None
                bounds.append((field_name, bound, after))
        result = []
        for item in items:
            keep = True
            for field_name, bound, after in bounds:
                value = item.get(field_name)
                if not value:
                    keep = False
                    break
                moment = _parse_query_date(str(value))
                if (after and not moment > bound) or (not after and not moment < bound):
                    keep = False
                    break
            if keep:
                result.append(item)
        return result

    @staticmethod
    def _sort(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
        orderby = query.get("orderby", "date")
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "id": lambda i: int(i["id"]),
            "date": lambda i: (str(i.get("date_created_gmt") or ""), int(i["id"])),
            "modified": lambda i: (str(i.get("date_modified_gmt") or ""), int(i["id"])),
            "include": lambda i: int(i["id"]),
        }
        if orderby not in keys:
            raise _ApiError(400, "rest_invalid_param", "Invalid parameter(s): orderby")
        return sorted(items, key=keys[orderby], reverse=query.get("order", "desc") == "desc")

    # -- order endpoints -------------------------------------------------------------------------

    def _list_orders(self, *, query: dict[str, str], body: Any) -> _Reply:
        items = list(self._orders.values())
        status = query.get("status", "any")
        if status != "any":
            wanted = set(status.split(","))
            items = [o for o in items if o.get("status") in wanted]
        if "include" in query:
            ids = {int(x) for x in query["include"].split(",") if x.strip().isdigit()}
            items = [o for o in items if int(o["id"]) in ids]
        return self._page(self._sort(self._filter_dates(items, query), query), query)

    def _get_order(self, oid: int, *, query: dict[str, str], body: Any) -> _Reply:
        return _Reply(200, copy.deepcopy(self._order(oid)))

    def _list_refunds(self, oid: int, *, query: dict[str, str], body: Any) -> _Reply:
        self._order(oid)
        refunds = sorted(self._refunds.get(oid, []), key=lambda r: int(r["id"]), reverse=True)
        return self._page(refunds, query)

    def _get_refund(self, oid: int, rid: int, *, query: dict[str, str], body: Any) -> _Reply:
        self._order(oid)
        for refund in self._refunds.get(oid, []):
            if int(refund["id"]) == rid:
                return _Reply(200, copy.deepcopy(refund))
        raise _ApiError(404, "woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.")

    def _create_refund(self, oid: int, *, query: dict[str, str], body: Any) -> _Reply:
        if oid not in self._orders:
            raise _ApiError(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
        order = self._orders[oid]
        body = body if isinstance(body, dict) else {}
        currency = str(order["currency"])
        digits = minor_units(currency)
        refund_lines = self._refund_lines(order, body.get("line_items") or [], digits)
        if body.get("amount") in (None, ""):
            amount = sum((part.net + part.tax for part in refund_lines), Decimal(0))
        else:
            amount = _decimal(body.get("amount"), "amount")
        if amount < 0:
            raise _ApiError(
                400, "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero."
            )
        already = sum((_decimal(r["amount"], "amount") for r in self._refunds[oid]), Decimal(0))
        remaining = _decimal(order.get("total"), "total") - already
        if amount > remaining:
            raise _ApiError(500, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
        api_refund = body.get("api_refund", True) is not False
        if api_refund and order.get("payment_method") in self.manual_gateways:
            raise _ApiError(
                500, "woocommerce_rest_cannot_create_order_refund", "Payment gateway does not support refunds"
            )
        api_restock = body.get("api_restock", True) is not False
        rid = self._new_id()
        now = _fmt(self._now())
        meta = [
            {"id": self._new_id(), "key": str(m.get("key")), "value": m.get("value")}
            for m in (body.get("meta_data") or [])
            if isinstance(m, dict) and m.get("key")
        ]
        product_lines: list[dict[str, Any]] = []
        shipping_lines: list[dict[str, Any]] = []
        for part in refund_lines:
            shown = self._refund_item(part, digits)
            (product_lines if part.kind == "line_item" else shipping_lines).append(shown)
            if part.kind == "line_item" and api_restock and part.qty:
                self._restock(part.item, part.qty)
        refund = {
            "id": rid,
            "date_created": now,
            "date_created_gmt": now,
            "amount": _money(amount, digits),
            "reason": str(body.get("reason") or ""),
            "refunded_by": 1,
            "refunded_payment": api_refund,
            "meta_data": meta,
            "line_items": product_lines,
            "shipping_lines": shipping_lines,
            "tax_lines": [],
            "fee_lines": [],
            "_links": {
                "self": [{"href": f"{self._site()}{API_PREFIX}/orders/{oid}/refunds/{rid}"}],
                "collection": [{"href": f"{self._site()}{API_PREFIX}/orders/{oid}/refunds"}],
                "up": [{"href": f"{self._site()}{API_PREFIX}/orders/{oid}"}],
            },
        }
        self._refunds[oid].append(refund)
        order["refunds"].insert(
            0, {"id": rid, "reason": refund["reason"], "total": "-" + _money(amount, digits)}
        )
        if remaining - amount == 0:
            order["status"] = "refunded"
        self._touch_order(order)
        self._emit("order.updated", oid)
        return _Reply(201, copy.deepcopy(refund))

    def _refund_lines(self, order: dict[str, Any], lines: Any, digits: int) -> list[_RefundPart]:
        if not isinstance(lines, list):
            raise _ApiError(400, "rest_invalid_param", "Invalid parameter(s): line_items")
        items = {int(i["id"]): ("line_item", i) for i in order.get("line_items", [])}
        items.update({int(s["id"]): ("shipping", s) for s in order.get("shipping_lines", [])})
        refunded_qty: dict[int, int] = {}
        for refund in self._refunds.get(int(order["id"]), []):
            for line in refund["line_items"]:
                source = _refunded_item(line)
                if source is not None:
                    refunded_qty[source] = refunded_qty.get(source, 0) + abs(int(line["quantity"]))
        result: list[_RefundPart] = []
        for raw in lines:
            if not isinstance(raw, dict) or "id" not in raw:
                raise _ApiError(
                    400, "rest_invalid_param", "Invalid parameter(s): line_items (each needs an id)"
                )
            item_id = int(raw["id"])
            if item_id not in items:
                raise _ApiError(
                    500,
                    "woocommerce_rest_cannot_create_order_refund",
                    f"Line {item_id} is not part of order {order['id']} (the fake is stricter than WooCommerce).",
                )
            kind, item = items[item_id]
            qty = int(raw.get("quantity") or raw.get("qty") or 0)
            if kind == "line_item" and qty > int(item["quantity"]) - refunded_qty.get(item_id, 0):
                raise _ApiError(
                    500,
                    "woocommerce_rest_cannot_create_order_refund",
                    f"Cannot refund {qty} of line {item_id}: only "
                    f"{int(item['quantity']) - refunded_qty.get(item_id, 0)} left (the fake is stricter than WooCommerce).",
                )
            net = _decimal(raw.get("refund_total") or "0", "refund_total")
            known_rates = {int(t["id"]) for t in item.get("taxes", []) if isinstance(t, dict) and "id" in t}
            taxes: dict[int, Decimal] = {}
            for share in raw.get("refund_tax") or []:
                if not isinstance(share, dict) or "id" not in share:
                    raise _ApiError(
                        400, "rest_invalid_param", "Invalid parameter(s): refund_tax (each needs an id)"
                    )
                rate = int(share["id"])
                if rate not in known_rates:
                    raise _ApiError(
                        500,
                        "woocommerce_rest_cannot_create_order_refund",
                        f"Tax rate {rate} is not charged on line {item_id} (the fake is stricter than WooCommerce).",
                    )
                taxes[rate] = taxes.get(rate, Decimal(0)) + _decimal(
                    share.get("refund_total") or "0", "refund_tax"
                )
            result.append(_RefundPart(kind, item, net, taxes, qty))
        return result

    def _refund_item(self, part: _RefundPart, digits: int) -> dict[str, Any]:
        item, net, tax = part.item, part.net, part.tax
        taxes = [
            {"id": rate, "total": _money(-value, digits), "subtotal": _money(-value, digits)}
            for rate, value in part.taxes.items()
        ]
        meta = [
            {
                "id": self._new_id(),
                "key": "_refunded_item_id",
                "value": str(item["id"]),
                "display_key": "_refunded_item_id",
                "display_value": str(item["id"]),
            }
        ]
        if part.kind == "shipping":
            return {
                "id": self._new_id(),
                "method_title": item.get("method_title", ""),
                "method_id": item.get("method_id", ""),
                "total": _money(-net, digits),
                "total_tax": _money(-tax, digits),
                "taxes": taxes,
                "meta_data": meta,
            }
        return {
            "id": self._new_id(),
            "name": item.get("name", ""),
            "product_id": item.get("product_id", 0),
            "variation_id": item.get("variation_id", 0),
            "quantity": -part.qty,
            "tax_class": item.get("tax_class", ""),
            "subtotal": _money(-net, digits),
            "subtotal_tax": _money(-tax, digits),
            "total": _money(-net, digits),
            "total_tax": _money(-tax, digits),
            "taxes": taxes,
            "meta_data": meta,
            "sku": item.get("sku", ""),
            "price": item.get("price", 0),
            "refund_total": float(net),
        }

    def _restock(self, item: dict[str, Any], qty: int) -> None:
        pid = int(item.get("product_id") or 0)
        vid = int(item.get("variation_id") or 0)
        try:
            target = self._variation(pid, vid) if vid else self._product(pid)
        except _ApiError:
            return  # the product is not in the fake's catalogue
        if target.get("manage_stock") is True:
            self._apply_stock(target, int(target.get("stock_quantity") or 0) + qty)

    def _list_notes(self, oid: int, *, query: dict[str, str], body: Any) -> _Reply:
        self._order(oid)
        notes = sorted(self._notes.get(oid, []), key=lambda n: int(n["id"]), reverse=True)
        kind = query.get("type", "any")
        if kind == "customer":
            notes = [n for n in notes if n["customer_note"]]
        elif kind == "internal":
            notes = [n for n in notes if not n["customer_note"]]
        return _Reply(200, copy.deepcopy(notes))

    def _create_note(self, oid: int, *, query: dict[str, str], body: Any) -> _Reply:
        self._order(oid)
        if not isinstance(body, dict) or not isinstance(body.get("note"), str) or not body["note"]:
            raise _ApiError(400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"])
        now = _fmt(self._now())
        note = {
            "id": self._new_id(),
            "author": "WooCommerce",
            "date_created": now,
            "date_created_gmt": now,
            "note": body["note"],
            "customer_note": bool(body.get("customer_note", False)),
        }
        self._notes.setdefault(oid, []).append(note)
        return _Reply(201, copy.deepcopy(note))

    # -- product endpoints -----------------------------------------------------------------------

    def _list_products(self, *, query: dict[str, str], body: Any) -> _Reply:
        items = list(self._products.values())
        if "type" in query:
            items = [p for p in items if p.get("type") == query["type"]]
        if "include" in query:
            ids = {int(x) for x in query["include"].split(",") if x.strip().isdigit()}
            items = [p for p in items if int(p["id"]) in ids]
        return self._page(self._sort(self._filter_dates(items, query), query), query)

    def _get_product(self, pid: int, *, query: dict[str, str], body: Any) -> _Reply:
        return _Reply(200, copy.deepcopy(self._any_product(pid)))

    def _list_variations(self, pid: int, *, query: dict[str, str], body: Any) -> _Reply:
        self._product(pid)
        items = list(self._variations.get(pid, {}).values())
        return self._page(self._sort(self._filter_dates(items, query), query), query)

    def _get_variation(self, pid: int, vid: int, *, query: dict[str, str], body: Any) -> _Reply:
        return _Reply(200, copy.deepcopy(self._variation(pid, vid)))

    # -- webhook endpoints -----------------------------------------------------------------------

    def _list_webhooks(self, *, query: dict[str, str], body: Any) -> _Reply:
        items = [self._public_webhook(h) for h in sorted(self._webhooks.values(), key=lambda h: int(h["id"]))]
        status = query.get("status", "all")
        if status != "all":
            items = [h for h in items if h["status"] == status]
        return self._page(items, query)

    def _post_webhook(self, *, query: dict[str, str], body: Any) -> _Reply:
        hook = self._create_webhook(body if isinstance(body, dict) else {})
        return _Reply(201, self._public_webhook(hook))

    def _webhook(self, wid: int) -> dict[str, Any]:
        try:
            return self._webhooks[wid]
        except KeyError:
            raise _ApiError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.") from None

    def _get_webhook(self, wid: int, *, query: dict[str, str], body: Any) -> _Reply:
        return _Reply(200, self._public_webhook(self._webhook(wid)))

    def _put_webhook(self, wid: int, *, query: dict[str, str], body: Any) -> _Reply:
        hook = self._webhook(wid)
        changes = body if isinstance(body, dict) else {}
        for key in ("name", "status", "delivery_url", "secret"):
            if key in changes and changes[key] is not None:
                hook[key] = changes[key]
        if "topic" in changes:
            topic = changes["topic"]
            if not isinstance(topic, str) or topic not in WEBHOOK_TOPICS:
                raise _ApiError(400, "woocommerce_rest_webhook_invalid_topic", "Webhook topic must be valid.")
            hook["topic"] = topic
            hook["resource"], _, hook["event"] = topic.partition(".")
        if changes.get("status") == "active":
            hook["failure_count"] = 0
        now = _fmt(self._now())
        hook["date_modified"] = hook["date_modified_gmt"] = now
        return _Reply(200, self._public_webhook(hook))

    def _delete_webhook(self, wid: int, *, query: dict[str, str], body: Any) -> _Reply:
        hook = self._webhook(wid)
        if query.get("force") not in ("true", "1"):
            raise _ApiError(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
        del self._webhooks[wid]
        return _Reply(200, self._public_webhook(hook))

    # -- iteration helpers for tests -------------------------------------------------------------

    def orders(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            items = [copy.deepcopy(o) for o in self._orders.values()]
        yield from items


class _Handler(BaseHTTPRequestHandler):
    owner: FakeWooCommerce
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def do_GET(self) -> None:
        self.owner._handle(self)

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: the fake's request log is ``FakeWooCommerce.requests``."""

    def answer(self, reply: _Reply) -> None:
        if reply.raw is not None:
            data = reply.raw
        else:
            data = json.dumps(reply.body).encode()
            reply.headers.setdefault("Content-Type", "application/json; charset=UTF-8")
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (a timeout test); nothing to do

    def drop(self) -> None:
        """Close the connection without a byte of answer (a response lost on the way back)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# -- small helpers ----------------------------------------------------------------------------------


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _parse_query_date(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _decimal(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from None


def _money(value: Decimal, digits: int) -> str:
    return str(value.quantize(Decimal(1).scaleb(-digits)))


def _refunded_item(line: dict[str, Any]) -> int | None:
    for meta in line.get("meta_data", []):
        if meta.get("key") == "_refunded_item_id":
            return int(meta["value"])
    return None


__all__ = [
    "Delivery",
    "FakeWooCommerce",
    "sample_order",
    "sample_product",
    "sample_variation",
]
