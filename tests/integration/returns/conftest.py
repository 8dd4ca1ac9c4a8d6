"""The real engine (inline runtime on SQLite, ManualClock) and fake shops over HTTP.

``shop`` is a WooCommerce shop (the fake wc/v3 REST API), ``shopify`` a Shopify shop (the fake
Admin GraphQL API, which knows returns). Orders reach the engine the way they do in production:
a webhook body lands in the inbox and the engine refetches the order from the shop before any
handler runs. Refunds go through the effects ledger to the fake shop, where they are counted.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.domain import Case
from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.platforms import StoreCredentials
from aftersales.plugins import load_plugins
from aftersales.store.cases import find_case
from aftersales.store.migrate import upgrade
from aftersales.store.models import CaseEvent, CaseRow, Effect, InboxItem, OutboxMessage, Shop, Timer
from aftersales.testing import SmtpSink
from aftersales_shopify.testing import FakeShopify
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""Monday 2 March 2026, 10:00 in Warsaw."""
SHOP = "sklep"
EMAIL = "john.doe@example.com"
MERCHANT = "obsluga@example.pl"
WEBHOOK_SECRET = "whsec-returns-0123456789"

POLICY = """
shop: {{name: Sklep, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}}
returns:
  window_days: 30
  refund_trigger: {trigger}
  auto_approve: {{max_value: "100.00", reasons: [changed_mind, wrong_size, size_too_small]}}
  restocking_fee: {{amount: "10.00"}}
notifications:
  from_address: "Sklep <sklep@example.pl>"
  merchant_address: "{merchant}"
"""


@dataclass
class Harness:
    """One shop on the real engine, talking to a fake shop over HTTP."""

    rt: Runtime
    clock: ManualClock
    fake: Any
    """``FakeWooCommerce`` or ``FakeShopify``."""
    platform: str
    _ids: Iterator[int]

    # -- the shop ----------------------------------------------------------------------------
    def add_order(self, **overrides: Any) -> dict[str, Any]:
        """A paid PLN order (the wc/v3 sample: 2 × 'Woo Single #1', 1 × 'Ship Your Idea', delivery 10.00)."""
        order = self.fake.add_order(sample_order(currency="PLN", **overrides), webhook=False)
        self.deliver("order.updated", order)
        return order

    def deliver(self, topic: str, body: dict[str, Any]) -> None:
        """A signed webhook accepted by the ingress: an inbox row, then the engine runs."""
        with self.rt.transaction() as session:
            session.add(
                InboxItem(
                    shop_id=SHOP,
                    platform=self.platform,
                    topic=topic,
                    dedupe_key=f"test-{next(self._ids)}",
                    body=json.dumps(body).encode(),
                    received_at=self.clock.now(),
                )
            )
        self.run()

    def run(self) -> dict[str, int]:
        return self.rt.run_until_idle(timeout=30)

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.run()

    def command(self, name: str, **payload: Any) -> dict[str, Any]:
        result = self.rt.execute_command(f"returns.{name}", SHOP, **payload)
        self.run()
        return result

    # -- what happened -------------------------------------------------------------------------
    def count(self, model: type[Any], **where: Any) -> int:
        with self.rt.read_session() as session:
            query = select(model).filter_by(**where)
            return len(list(session.scalars(query)))

    def load(self, number: str) -> Case:
        with self.rt.read_session() as session:
            case = find_case(session, number, SHOP)
            assert case is not None
            return case

    def case(self, number: str) -> CaseRow:
        with self.rt.read_session() as session:
            row = session.scalars(select(CaseRow).where(CaseRow.number == number)).one()
            session.expunge(row)
            return row

    def events(self, number: str) -> list[tuple[str, str | None, str]]:
        with self.rt.read_session() as session:
            case_id = session.scalars(select(CaseRow.id).where(CaseRow.number == number)).one()
            rows = session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            )
            return [(e.event, e.from_status, e.to_status) for e in rows]

    def messages(self, template: str | None = None, to: str | None = None) -> list[OutboxMessage]:
        with self.rt.read_session() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if template is not None:
                query = query.where(OutboxMessage.template == template)
            if to is not None:
                query = query.where(OutboxMessage.recipient == to)
            rows = list(session.scalars(query))
            for row in rows:
                session.expunge(row)
            return rows

    def effects(self, kind: str = "refund") -> list[Effect]:
        with self.rt.read_session() as session:
            rows = list(
                session.scalars(select(Effect).where(Effect.kind == kind).order_by(Effect.created_at))
            )
            for row in rows:
                session.expunge(row)
            return rows

    def timers(self, case_number: str) -> dict[str, tuple[datetime, str]]:
        row = self.case(case_number)
        with self.rt.read_session() as session:
            timers = session.scalars(select(Timer).where(Timer.case_id == row.id))
            return {t.kind: (t.due_at, t.state) for t in timers}

    def refunds_at_shop(self, order_id: int) -> list[dict[str, Any]]:
        return self.fake.refunds(order_id)


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head per run; each test copies it (migrating takes a second)."""
    path = tmp_path_factory.mktemp("returns-template") / "aftersales.db"
    upgrade(f"sqlite:///{path}")
    return path


def make_runtime(
    tmp_path: Path,
    migrated: Path,
    platform: str,
    credentials: StoreCredentials,
    clock: ManualClock,
    trigger: str,
    extra_plugins: list[object],
) -> Runtime:
    """The engine on a fresh copy of the migrated database, with the shop registered."""
    path = tmp_path / "aftersales.db"
    shutil.copyfile(migrated, path)
    rt = Runtime(
        f"sqlite:///{path}",
        clock=clock,
        plugins=load_plugins(extra=extra_plugins),
        workflows=("aftersales.workflows.returns",),
    )
    rt.launch(worker=False, migrate_schema=False)
    with rt.transaction() as session:
        session.add(
            Shop(
                id=SHOP,
                platform=platform,
                webhook_secrets=[WEBHOOK_SECRET],
                credentials=credentials.model_dump(mode="json", exclude_none=True),
                policy_yaml=POLICY.format(trigger=trigger, merchant=MERCHANT),
                active=True,
                created_at=clock.now(),
            )
        )
    return rt


@pytest.fixture
def refund_trigger() -> str:
    """Override in a test module (or with ``pytest.mark.parametrize``) to change the policy."""
    return "on_receipt"


@pytest.fixture
def extra_plugins() -> list[object]:
    """Plugins a test adds to the built-in ones (e.g. a failing eligibility hook)."""
    return []


@pytest.fixture
def status_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message carries a signed status link; sign with a test key, never a file in the tree."""
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "returns-tests-status-links-key")


@pytest.fixture
def shop(
    tmp_path: Path,
    migrated: Path,
    refund_trigger: str,
    extra_plugins: list[object],
    smtp_sink: SmtpSink,
    status_links: None,
) -> Iterator[Harness]:
    clock = ManualClock(START)
    with FakeWooCommerce(clock=clock.now) as fake:
        rt = make_runtime(
            tmp_path, migrated, "woocommerce", fake.credentials(), clock, refund_trigger, extra_plugins
        )
        try:
            yield Harness(rt=rt, clock=clock, fake=fake, platform="woocommerce", _ids=itertools.count(1))
        finally:
            rt.shutdown()


@pytest.fixture
def shopify(
    tmp_path: Path,
    migrated: Path,
    refund_trigger: str,
    extra_plugins: list[object],
    smtp_sink: SmtpSink,
    status_links: None,
) -> Iterator[Harness]:
    clock = ManualClock(START)
    with FakeShopify(token="shpat_returns") as fake:
        rt = make_runtime(
            tmp_path, migrated, "shopify", fake.credentials(), clock, refund_trigger, extra_plugins
        )
        try:
            yield Harness(rt=rt, clock=clock, fake=fake, platform="shopify", _ids=itertools.count(1))
        finally:
            rt.shutdown()
