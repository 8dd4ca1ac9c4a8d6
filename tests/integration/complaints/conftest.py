"""A complaints desk on a real engine: inline runtime, SQLite file, fake WooCommerce over HTTP, SMTP sink.

``desk`` is one shop (``sklep``) on a :class:`~aftersales.engine.runtime.Runtime` that runs
inline (``run_until_idle``) with a :class:`ManualClock` at Monday 4 May 2026, 10:00 UTC (noon
in Warsaw). Its platform is a :class:`FakeWooCommerce` shop over HTTP, and e-mail goes to the
``smtp_sink`` aiosmtpd server, so every refund and every message in these tests crossed a
real socket. Attachments go to the test's temporary directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from aftersales import hookimpl
from aftersales.domain import Case, Order
from aftersales.engine.clock import ManualClock
from aftersales.engine.orders import store_order
from aftersales.engine.runtime import Runtime
from aftersales.engine.settings import EngineSettings
from aftersales.plugins import load_plugins
from aftersales.store.cases import find_case, timeline
from aftersales.store.migrate import upgrade
from aftersales.store.models import Effect, OutboxMessage, Shop
from aftersales.testing import SmtpSink
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order

SHOP = "sklep"
CUSTOMER = "john.doe@example.com"
MERCHANT = "reklamacje@sklep.example"

POLICY = f"""
shop: {{name: Sklep Testowy, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}}
complaints:
  reminder_days: [10, 13]
  loaner_for_categories: [laptops]
  repair_days: {{default: 14, laptops: 5}}
  warranty: {{laptops: {{months: 60, terms: "https://sklep.example/gwarancja"}}}}
  first_response_hours: 8
  business_hours: {{start: "09:00", end: "17:00"}}
notifications:
  from_address: "Sklep Testowy <sklep@sklep.example>"
  merchant_address: {MERCHANT}
"""


@dataclass
class Observed:
    transitions: list[tuple[str, str, str, str]] = field(default_factory=list)


class Observer:
    def __init__(self, observed: Observed) -> None:
        self.observed = observed

    @hookimpl
    def aftersales_case_transition(self, case: Case, old: str, new: str, event: str) -> None:
        self.observed.transitions.append((case.number, old, new, event))


@dataclass
class Desk:
    runtime: Runtime
    clock: ManualClock
    shop: FakeWooCommerce
    sink: SmtpSink
    observed: Observed
    order_id: str

    def cmd(self, name: str, **payload: Any) -> dict[str, Any]:
        return self.runtime.execute_command(name, SHOP, **payload)

    def run(self) -> dict[str, int]:
        return self.runtime.run_until_idle(timeout=30)

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))
        self.run()

    def until(self, moment: Any) -> None:
        self.clock.set(moment)
        self.run()

    def case(self, number: str) -> Case:
        with self.runtime.transaction() as session:
            case = find_case(session, number, SHOP)
        assert case is not None
        return case

    def events(self, number: str, *, visible_only: bool = False) -> list[str]:
        case = self.case(number)
        with self.runtime.transaction() as session:
            return [e.event for e in timeline(session, case.id, customer_visible_only=visible_only)]

    def outbox(self, template: str | None = None) -> list[OutboxMessage]:
        with self.runtime.transaction() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if template is not None:
                query = query.where(OutboxMessage.template == template)
            rows = list(session.scalars(query))
            session.expunge_all()
            return rows

    def effects(self) -> list[Effect]:
        with self.runtime.transaction() as session:
            rows = list(session.scalars(select(Effect)))
            session.expunge_all()
            return rows

    def mails_to(self, address: str, subject_part: str = "") -> list[Any]:
        return [
            m for m in self.sink.messages if address in str(m["To"]) and subject_part in str(m["Subject"])
        ]

    def store(self, order: Order) -> None:
        with self.runtime.transaction() as session:
            store_order(session, SHOP, order, self.clock.now())


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file at the schema's head; each test copies it (migrating per test is the slow part)."""
    path = tmp_path_factory.mktemp("complaints-template") / "aftersales.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def desk(
    migrated_template: Path,
    manual_clock: ManualClock,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Desk]:
    database = tmp_path / "aftersales.db"
    shutil.copyfile(migrated_template, database)
    sqlite_url = f"sqlite:///{database}"
    monkeypatch.setenv("AFTERSALES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "complaints-test-secret")
    observed = Observed()
    plugins = load_plugins(extra=[Observer(observed)])
    with FakeWooCommerce(deliver_webhooks=False) as wc:
        order = wc.add_order(sample_order(currency="PLN", status="completed"), webhook=False)
        runtime = Runtime(
            sqlite_url,
            clock=manual_clock,
            plugins=plugins,
            settings=EngineSettings(retry_base=1.0, max_attempts=3, max_effect_attempts=3, grace=0.0),
        ).launch(worker=False)
        with runtime.transaction() as session:
            session.add(
                Shop(
                    id=SHOP,
                    platform="woocommerce",
                    credentials=wc.credentials().model_dump(mode="json"),
                    policy_yaml=POLICY,
                    created_at=manual_clock.now(),
                )
            )
        try:
            yield Desk(runtime, manual_clock, wc, smtp_sink, observed, str(order["id"]))
        finally:
            runtime.shutdown()


def delivered_order(
    order_id: str,
    *,
    delivered_at: datetime,
    category: str | None = None,
    email: str = CUSTOMER,
    price: str = "3499.00",
    name: str = "Laptop Pro 14",
) -> Order:
    """An order snapshot whose goods were delivered at ``delivered_at`` (the liability clock starts then)."""
    money = lambda amount: {"amount": amount, "currency": "PLN"}  # noqa: E731
    return Order.model_validate(
        {
            "id": order_id,
            "number": order_id,
            "platform": "woocommerce",
            "currency": "PLN",
            "created_at": (delivered_at - timedelta(days=3)).isoformat(),
            "updated_at": delivered_at.isoformat(),
            "customer": {"email": email, "name": "John Doe"},
            "prices_include_tax": True,
            "financial_status": "paid",
            "line_items": [
                {
                    "id": f"{order_id}-1",
                    "name": name,
                    "quantity": 1,
                    "subtotal": money(price),
                    "discount": money("0"),
                    "tax": money("0"),
                    "category": category,
                }
            ],
            "shipments": [
                {"id": f"{order_id}-s", "status": "delivered", "delivered_at": delivered_at.isoformat()}
            ],
            "total": money(price),
        }
    )


@pytest.fixture
def kit() -> SimpleNamespace:
    """Helpers for test modules (they cannot import conftest under --import-mode=importlib)."""
    return SimpleNamespace(delivered_order=delivered_order, SHOP=SHOP, CUSTOMER=CUSTOMER, MERCHANT=MERCHANT)


@pytest.fixture
def files() -> SimpleNamespace:
    return SimpleNamespace(
        jpeg=b"\xff\xd8\xff\xe0" + b"\x10" * 2048,
        png=b"\x89PNG\r\n\x1a\n" + b"\x11" * 2048,
        pdf=b"%PDF-1.7\n" + b"\x12" * 2048,
    )
