"""An in-memory platform (``memshop``) and an inline runtime over a real SQLite file or PostgreSQL.

``MemShop`` implements the :class:`~aftersales.platforms.ShopClient` protocol with a list of
refunds and notes, so the ledger's decisions (call, look up, give up) can be counted. It is
the platform contract, not a fake of any client library; the crash test runs against the
WooCommerce fake over HTTP instead. Failures are scripted: ``fail_next("create_refund",
OutcomeUnknown(...), effect_first=True)`` makes the next refund happen and then lose its
answer, exactly what a timeout after sending looks like.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from aftersales import hookimpl
from aftersales.domain import DomainEvent, EventType, Money, Order, OrderData, RefundRecord, StockLevel
from aftersales.engine.clock import ManualClock
from aftersales.engine.registry import Registry, registry
from aftersales.engine.runtime import Runtime
from aftersales.engine.settings import EngineSettings
from aftersales.notify.message import DeliveryReceipt, Message
from aftersales.platforms import (
    MalformedPayload,
    NotFound,
    RefundRequest,
    StoreCredentials,
    UnknownTopic,
    WebhookEnvelope,
)
from aftersales.plugins import Plugins, load_plugins
from aftersales.store.models import Shop


def make_order(
    order_id: str, *, total: str = "100.00", updated: datetime | None = None, email: str = "ann@example.com"
) -> Order:
    return Order.model_validate(
        {
            "id": order_id,
            "number": f"#{order_id}",
            "platform": "fake",
            "currency": "PLN",
            "created_at": "2026-04-20T10:00:00+00:00",
            "updated_at": (updated or datetime(2026, 4, 21, tzinfo=UTC)).isoformat(),
            "customer": {"email": email},
            "line_items": [
                {
                    "id": "1",
                    "name": "Kettle",
                    "quantity": 1,
                    "subtotal": {"amount": total, "currency": "PLN"},
                    "discount": {"amount": "0", "currency": "PLN"},
                    "tax": {"amount": "0", "currency": "PLN"},
                }
            ],
            "total": {"amount": total, "currency": "PLN"},
        }
    )


@dataclass
class MemShop:
    """The shop's side: what it holds and every call it received."""

    orders: dict[str, Order] = field(default_factory=dict)
    refunds: list[RefundRecord] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    failures: list[tuple[str, Exception, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, method: str, error: Exception, *, effect_first: bool = False) -> None:
        """The next call of ``method`` raises ``error``; with ``effect_first`` after doing its work."""
        self.failures.append((method, error, effect_first))

    def _failure(self, method: str) -> tuple[Exception, bool] | None:
        for index, (name, error, first) in enumerate(self.failures):
            if name == method:
                del self.failures[index]
                return error, first
        return None

    def created(self, order_id: str) -> list[RefundRecord]:
        return [r for r in self.refunds if r.order_id == order_id]


class MemClient:
    def __init__(self, shop: MemShop) -> None:
        self.shop = shop

    def _enter(self, method: str) -> tuple[Exception, bool] | None:
        with self.shop.lock:
            self.shop.calls.append(method)
            failure = self.shop._failure(method)
        if failure is not None and not failure[1]:
            raise failure[0]
        return failure

    def fetch_order(self, order_id: str) -> Order:
        self._enter("fetch_order")
        try:
            return self.shop.orders[order_id]
        except KeyError:
            raise NotFound(f"order {order_id}") from None

    def list_orders_changed_since(self, since: datetime) -> Iterator[Order]:
        return iter(self.shop.orders.values())

    def list_refunds(self, order_id: str) -> list[RefundRecord]:
        return self.shop.created(order_id)

    def find_refund(self, order_id: str, effect_key: str) -> RefundRecord | None:
        self._enter("find_refund")
        for refund in self.shop.created(order_id):
            if refund.effect_key == effect_key:
                return refund
        return None

    def create_refund(self, request: RefundRequest) -> RefundRecord:
        failure = self._enter("create_refund")
        with self.shop.lock:
            record = RefundRecord(
                id=str(len(self.shop.refunds) + 1),
                order_id=request.order_id,
                amount=request.amount,
                effect_key=request.effect_key,
            )
            self.shop.refunds.append(record)
        if failure is not None:
            raise failure[0]
        return record

    def add_note(self, order_id: str, text: str, *, customer_visible: bool) -> None:
        failure = self._enter("add_note")
        self.shop.notes.append((order_id, text))
        if failure is not None:
            raise failure[0]

    def read_stock(self, product_id: str, variant_id: str | None) -> StockLevel:
        raise NotImplementedError

    def list_stock_changed_since(self, since: datetime) -> Iterator[StockLevel]:
        return iter(())

    def platform_action(self, action: str, params: Mapping[str, Any], effect_key: str) -> dict[str, Any]:
        failure = self._enter("platform_action")
        self.shop.actions.append((action, effect_key))
        if failure is not None:
            raise failure[0]
        return {"action": action, "ok": True}


class MemAdapter:
    """Webhook bodies are ``{"order": {...}}`` (topic ``order.updated``) or ``{"ref": id}`` (``order.deleted``)."""

    name = "fake"

    def __init__(self, shop: MemShop) -> None:
        self.shop = shop

    def topics(self) -> Sequence[str]:
        return ("order.updated", "order.deleted")

    def envelope(self, body: bytes, headers: Mapping[str, str]) -> WebhookEnvelope:
        return WebhookEnvelope(topic=headers.get("topic"), dedupe_key=headers.get("id"))

    def verify(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> bool:
        return True

    def normalize(self, topic: str, payload: Any) -> DomainEvent:
        if topic == "order.updated":
            if not isinstance(payload, dict) or "order" not in payload:
                raise MalformedPayload("no order")
            order = Order.model_validate(payload["order"])
            return DomainEvent(
                platform="fake",
                topic=topic,
                type=EventType.ORDER_UPSERTED,
                shop_resource_id=order.id,
                data=OrderData(order=order),
            )
        raise UnknownTopic(topic)

    def client(self, credentials: StoreCredentials) -> MemClient:
        return MemClient(self.shop)

    def ensure_webhooks(
        self, credentials: StoreCredentials, address: str, secret: str | None
    ) -> list[dict[str, Any]]:
        return []


class RecordingChannel:
    name = "test"

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.refuse: list[Exception] = []

    def send(self, message: Message) -> DeliveryReceipt:
        if self.refuse:
            raise self.refuse.pop(0)
        self.sent.append(message)
        return DeliveryReceipt(channel=self.name, accepted=True, message_id=f"<{len(self.sent)}@test>")


@dataclass
class Observed:
    transitions: list[tuple[str, str, str, str]] = field(default_factory=list)
    effects: list[dict[str, object]] = field(default_factory=list)


class EnginePlugin:
    def __init__(self, shop: MemShop, channel: RecordingChannel, observed: Observed) -> None:
        self.shop, self.channel, self.observed = shop, channel, observed

    @hookimpl
    def aftersales_register_platforms(self, register: Any) -> None:
        register(MemAdapter(self.shop))

    @hookimpl
    def aftersales_register_channels(self, register: Any) -> None:
        register(self.channel)

    @hookimpl
    def aftersales_case_transition(self, case: Any, old: str, new: str, event: str) -> None:
        self.observed.transitions.append((case.number, old, new, event))

    @hookimpl
    def aftersales_effect_done(self, effect: dict[str, object]) -> None:
        self.observed.effects.append(effect)


@pytest.fixture
def memshop() -> MemShop:
    return MemShop()


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def observed() -> Observed:
    return Observed()


@pytest.fixture
def plugins(memshop: MemShop, channel: RecordingChannel, observed: Observed) -> Plugins:
    return load_plugins(entrypoints=False, builtins=(), extra=[EnginePlugin(memshop, channel, observed)])


@pytest.fixture
def handlers() -> Iterator[Registry]:
    """The global registry, emptied for this test (the real workflows' handlers stay out of it)."""
    with registry.isolated() as isolated:
        yield isolated


SETTINGS = EngineSettings(retry_base=10.0, max_attempts=3, max_effect_attempts=4, grace=30.0)


@pytest.fixture
def make_runtime(plugins: Plugins, manual_clock: ManualClock, handlers: Registry) -> Iterator[Any]:
    """``make_runtime(url)``: an inline runtime (no DBOS) on ``url``, shut down after the test."""
    made: list[Runtime] = []

    def make(url: str, **kwargs: Any) -> Runtime:
        kwargs.setdefault("clock", manual_clock)
        kwargs.setdefault("plugins", plugins)
        kwargs.setdefault("settings", SETTINGS)
        runtime = Runtime(url, workflows=(), **kwargs).launch(worker=False)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.shutdown()


@pytest.fixture
def runtime(make_runtime: Any, sqlite_url: str) -> Runtime:
    rt: Runtime = make_runtime(sqlite_url)
    add_shop(rt)
    return rt


def add_shop(rt: Runtime, shop_id: str = "shop-1", *, credentials: bool = True) -> None:
    with rt.transaction() as session:
        session.add(
            Shop(
                id=shop_id,
                platform="fake",
                credentials={"url": "memory://"} if credentials else {},
                created_at=rt.clock.now(),
            )
        )


def refund_request(key: str, order_id: str = "100", amount: str = "10.00") -> RefundRequest:
    return RefundRequest(
        effect_key=key, order_id=order_id, amount=Money(Decimal(amount), "PLN"), reason="test"
    )


def webhook_body(order: Order) -> bytes:
    return json.dumps({"order": order.model_dump(mode="json")}).encode()


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above (test modules cannot import conftest under --import-mode=importlib)."""
    return SimpleNamespace(
        make_order=make_order,
        add_shop=add_shop,
        refund_request=refund_request,
        webhook_body=webhook_body,
    )
