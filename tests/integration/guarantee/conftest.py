"""The real engine (inline runtime, ManualClock, SQLite) with an in-memory platform.

``MemShop`` holds orders and implements the :class:`~aftersales.platforms.ShopClient` contract
(refunds, notes, platform actions), so every payout the ledger makes can be counted. Its adapter
understands three webhook bodies: ``{"order": ...}`` (``order.updated``, ``order.cancelled``)
and ``{"order_id": ..., "shipment": ...}`` (``fulfillment``). Only the guarantee's handlers are
registered (the real module, re-imported into an isolated registry), plus the built-in
exclusion plugin; messages go to a recording ``email`` channel.
"""

from __future__ import annotations

import importlib
import itertools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from aftersales import hookimpl
from aftersales.domain import (
    Customer,
    DomainEvent,
    EventType,
    FinancialStatus,
    FulfillmentData,
    LineItem,
    Money,
    Order,
    OrderData,
    Platform,
    RefundRecord,
    Shipment,
    ShipmentStatus,
    ShippingLine,
    StockLevel,
)
from aftersales.engine.clock import ManualClock
from aftersales.engine.registry import registry
from aftersales.engine.runtime import Runtime
from aftersales.engine.settings import EngineSettings
from aftersales.notify.message import DeliveryReceipt, Message
from aftersales.platforms import (
    MalformedPayload,
    NotFound,
    RefundRequest,
    RejectedByPlatform,
    StoreCredentials,
    UnknownTopic,
    WebhookEnvelope,
)
from aftersales.plugins import Plugins, load_plugins
from aftersales.store.models import InboxItem, Shop
from aftersales.workflows.guarantee import handlers

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
"""Monday 30 November 2026, 10:00 in Warsaw."""

POLICY = """
shop: {{name: Sklep, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}}
guarantee:
  enabled: true
  promise: {{cutoff: "12:00", handling_business_days: 1}}
  measured_on: dispatch
  payout: {{amount: "50.00", method: {method}, kind: fixed}}
  exclude: {{channels: [marketplace], payment_methods: [instalments], tags: [preorder]}}
  caps: {caps}
  force_majeure_days: {force_majeure}
notifications:
  from_address: "Sklep <sklep@example.pl>"
"""


@dataclass
class MemShop:
    orders: dict[str, Order] = field(default_factory=dict)
    refunds: list[RefundRequest] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    actions: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    vouchers: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refunds_of(self, order_id: str) -> list[RefundRequest]:
        return [r for r in self.refunds if r.order_id == order_id]


class MemClient:
    def __init__(self, shop: MemShop) -> None:
        self.shop = shop

    def fetch_order(self, order_id: str) -> Order:
        try:
            return self.shop.orders[order_id]
        except KeyError:
            raise NotFound(f"order {order_id}") from None

    def list_orders_changed_since(self, since: datetime) -> Iterator[Order]:
        return iter(self.shop.orders.values())

    def list_refunds(self, order_id: str) -> list[RefundRecord]:
        return []

    def find_refund(self, order_id: str, effect_key: str) -> RefundRecord | None:
        return None

    def create_refund(self, request: RefundRequest) -> RefundRecord:
        with self.shop.lock:
            self.shop.refunds.append(request)
            return RefundRecord(
                id=str(len(self.shop.refunds)),
                order_id=request.order_id,
                amount=request.amount,
                effect_key=request.effect_key,
            )

    def add_note(self, order_id: str, text: str, *, customer_visible: bool) -> None:
        self.shop.notes.append((order_id, text))

    def read_stock(self, product_id: str, variant_id: str | None) -> StockLevel:
        raise NotImplementedError

    def list_stock_changed_since(self, since: datetime) -> Iterator[StockLevel]:
        return iter(())

    def platform_action(self, action: str, params: Mapping[str, Any], effect_key: str) -> dict[str, Any]:
        if not self.shop.vouchers:
            raise RejectedByPlatform(f"unknown action {action!r}")
        self.shop.actions.append((action, dict(params), effect_key))
        return {"code": f"SORRY-{len(self.shop.actions)}"}


class MemAdapter:
    name = "fake"

    def __init__(self, shop: MemShop) -> None:
        self.shop = shop

    def topics(self) -> Sequence[str]:
        return ("order.updated", "order.cancelled", "fulfillment")

    def envelope(self, body: bytes, headers: Mapping[str, str]) -> WebhookEnvelope:
        return WebhookEnvelope(topic=headers.get("topic"), dedupe_key=headers.get("id"))

    def verify(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> bool:
        return True

    def normalize(self, topic: str, payload: Any) -> DomainEvent:
        if not isinstance(payload, dict):
            raise MalformedPayload("not an object")
        if topic in ("order.updated", "order.cancelled"):
            order = Order.model_validate(payload["order"])
            kind = EventType.ORDER_UPSERTED if topic == "order.updated" else EventType.ORDER_CANCELLED
            return DomainEvent(
                platform=Platform.FAKE,
                topic=topic,
                type=kind,
                shop_resource_id=order.id,
                data=OrderData(order=order),
            )
        if topic == "fulfillment":
            shipment = Shipment.model_validate(payload["shipment"])
            return DomainEvent(
                platform=Platform.FAKE,
                topic=topic,
                type=EventType.FULFILLMENT_UPSERTED,
                shop_resource_id=shipment.id,
                data=FulfillmentData(order_id=str(payload["order_id"]), shipment=shipment),
            )
        raise UnknownTopic(topic)

    def client(self, credentials: StoreCredentials) -> MemClient:
        return MemClient(self.shop)

    def ensure_webhooks(
        self, credentials: StoreCredentials, address: str, secret: str | None
    ) -> list[dict[str, Any]]:
        return []


class Mailbox:
    name = "email"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> DeliveryReceipt:
        self.sent.append(message)
        return DeliveryReceipt(channel=self.name, accepted=True, message_id=f"<{len(self.sent)}@test>")


class PlatformPlugin:
    def __init__(self, shop: MemShop, mailbox: Mailbox) -> None:
        self.shop, self.mailbox = shop, mailbox

    @hookimpl
    def aftersales_register_platforms(self, register: Any) -> None:
        register(MemAdapter(self.shop))

    @hookimpl
    def aftersales_register_channels(self, register: Any) -> None:
        register(self.mailbox)


def pln(value: str) -> Money:
    return Money(value, "PLN")


def make_order(
    order_id: str = "1001",
    *,
    paid_at: datetime = START,
    email: str = "anna@example.pl",
    channel: str = "web",
    shipments: Sequence[Shipment] = (),
    cancelled: bool = False,
    updated: datetime | None = None,
) -> Order:
    return Order(
        id=order_id,
        number=f"#{order_id}",
        platform=Platform.FAKE,
        currency="PLN",
        created_at=paid_at,
        paid_at=paid_at,
        updated_at=updated or paid_at,
        cancelled_at=updated or paid_at if cancelled else None,
        status="cancelled" if cancelled else "paid",
        customer=Customer(email=email, name="Anna Nowak", locale="pl"),
        prices_include_tax=True,
        line_items=[
            LineItem(
                id="L1", name="Kubek", quantity=2, subtotal=pln("200.00"), discount=pln("0"), tax=pln("37.40")
            )
        ],
        shipping_lines=[
            ShippingLine(id="S1", title="Kurier", price=pln("15.00"), discount=pln("0"), tax=pln("0"))
        ],
        shipments=list(shipments),
        total=pln("215.00"),
        financial_status=FinancialStatus.PAID,
        payment_method="przelewy24",
        sales_channel=channel,
    )


def parcel(at: datetime, shipment_id: str = "F1") -> Shipment:
    return Shipment(
        id=shipment_id,
        status=ShipmentStatus.DISPATCHED,
        carrier="InPost",
        tracking_number="TRK-1",
        dispatched_at=at,
    )


class Harness:
    """Webhooks into the inbox, the clock, and the engine run to idle."""

    def __init__(self, rt: Runtime, shop: MemShop, mailbox: Mailbox, clock: ManualClock) -> None:
        self.rt, self.shop, self.mailbox, self.clock = rt, shop, mailbox, clock
        self._ids = itertools.count(1)

    def webhook(self, topic: str, body: dict[str, Any], *, delivery: str | None = None) -> None:
        with self.rt.transaction() as session:
            session.add(
                InboxItem(
                    shop_id="sklep",
                    platform="fake",
                    topic=topic,
                    dedupe_key=delivery or f"d-{next(self._ids)}",
                    body=json.dumps(body).encode(),
                    source="webhook",
                    state="pending",
                    received_at=self.clock.now(),
                )
            )
        self.rt.run_until_idle()

    def order(self, order: Order) -> None:
        """The shop has ``order`` now and says so (the engine re-reads it, as in production)."""
        self.shop.orders[order.id] = order
        self.webhook("order.updated", {"order": order.model_dump(mode="json")})

    def cancel(self, order: Order) -> None:
        self.shop.orders[order.id] = order
        self.webhook("order.cancelled", {"order": order.model_dump(mode="json")})

    def fulfil(self, order_id: str, shipment: Shipment, *, delivery: str | None = None) -> None:
        self.webhook(
            "fulfillment",
            {"order_id": order_id, "shipment": shipment.model_dump(mode="json")},
            delivery=delivery,
        )

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)
        self.rt.run_until_idle()

    def inbox_states(self) -> list[str]:
        with self.rt.read_session() as session:
            return list(session.scalars(select(InboxItem.state).order_by(InboxItem.id)))


@pytest.fixture
def memshop() -> MemShop:
    return MemShop()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def plugins(memshop: MemShop, mailbox: Mailbox) -> Plugins:
    return load_plugins(
        entrypoints=False,
        builtins=("aftersales.builtin.guarantee_exclusion",),
        extra=[PlatformPlugin(memshop, mailbox)],
    )


@pytest.fixture
def guarantee_only() -> Iterator[None]:
    """Only the guarantee's handlers, registered afresh from the real module."""
    with registry.isolated():
        importlib.reload(handlers)
        yield


@pytest.fixture
def make_harness(
    sqlite_url: str,
    plugins: Plugins,
    memshop: MemShop,
    mailbox: Mailbox,
    guarantee_only: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """``make_harness(method="refund", caps="{}", force_majeure="[]", url=None)``: a shop and a runtime
    (on a fresh SQLite file unless ``url`` names another database)."""
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "guarantee-tests-secret-key")
    made: list[Runtime] = []

    def make(
        method: str = "refund", caps: str = "{}", force_majeure: str = "[]", url: str | None = None
    ) -> Harness:
        clock = ManualClock(START)
        rt = Runtime(
            url or sqlite_url, clock=clock, plugins=plugins, settings=EngineSettings(grace=0.0), workflows=()
        ).launch(worker=False)
        made.append(rt)
        with rt.transaction() as session:
            session.add(
                Shop(
                    id="sklep",
                    platform="fake",
                    webhook_secrets=[],
                    credentials={"url": "memory://"},
                    policy_yaml=POLICY.format(method=method, caps=caps, force_majeure=force_majeure),
                    created_at=START,
                )
            )
        return Harness(rt, memshop, mailbox, clock)

    yield make
    for rt in made:
        rt.shutdown()


@pytest.fixture
def kit() -> SimpleNamespace:
    return SimpleNamespace(make_order=make_order, parcel=parcel, start=START)
