"""The whole service on real sockets: uvicorn on a free port, the engine inline, a fake shop, SMTP.

``service`` is two shops (``sklep`` and ``inny``) on one :class:`Runtime` (SQLite file, a
:class:`ManualClock` at Monday 2 March 2026, 10:00 in Warsaw, every workflow imported) behind
``create_app`` served by uvicorn. Orders come from a :class:`FakeWooCommerce` shop over HTTP
the way production gets them (an inbox row, then the engine re-reads the order from the shop);
refunds go to the fake through the effects ledger; e-mail goes to the ``smtp_sink`` server.
The engine runs inline: a test calls ``service.run()`` where a worker would have picked the
work up, so each test reads as a scenario.

The API tests (``tests/integration/api``) load this module too (``--import-mode=importlib``
forbids importing a conftest by name), so both suites run against one harness.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.store.migrate import upgrade
from aftersales.store.models import InboxItem, Shop
from aftersales.testing import SmtpSink
from aftersales.testing.server import LiveServer as _LiveServer
from aftersales.web.api.keys import create_key
from aftersales.web.app import create_app
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP = "sklep"
OTHER = "inny"
EMAIL = "john.doe@example.com"
PRODUCT, VARIATION = 500, 501

POLICY = """
shop: {{name: {name}, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}}
returns:
  window_days: 30
  refund_trigger: on_receipt
  auto_approve: {{max_value: "100.00", reasons: [changed_mind, wrong_size]}}
notifications:
  from_address: "{name} <sklep@example.pl>"
  merchant_address: obsluga@example.pl
"""

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


@dataclass
class Service:
    """The running service, its engine, the fake shop and the mail sink."""

    runtime: Runtime
    clock: ManualClock
    shop: FakeWooCommerce
    sink: SmtpSink
    url: str
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _catalog: set[int] = field(default_factory=set)
    csrf = staticmethod(csrf_token)

    def client(self, language: str = "en", **kwargs: Any) -> httpx.Client:
        """A browser-like client (keeps cookies, asks for ``language``) on the live server; close it after use."""
        headers = {"Accept-Language": language, **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.url, timeout=15, headers=headers, **kwargs)

    def run(self) -> dict[str, int]:
        """Let the engine do what a worker would now (effects, e-mails, timers)."""
        return self.runtime.run_until_idle(timeout=30)

    def add_order(self, shop_id: str = SHOP, **overrides: Any) -> dict[str, Any]:
        """A paid PLN order at the fake shop, delivered to the engine as a verified webhook would be."""
        order = self.shop.add_order(sample_order(currency="PLN", **overrides), webhook=False)
        self.deliver("order.updated", order, shop_id)
        return order

    def deliver(self, topic: str, body: dict[str, Any], shop_id: str = SHOP) -> None:
        """A webhook body recorded in the inbox as the ingress would, then the engine runs."""
        with self.runtime.transaction() as session:
            session.add(
                InboxItem(
                    shop_id=shop_id,
                    platform="woocommerce",
                    topic=topic,
                    dedupe_key=f"test-{next(self._ids)}",
                    body=json.dumps(body).encode(),
                    received_at=self.clock.now(),
                )
            )
        self.run()

    def variant_stock(self, units: int, *, product: int = PRODUCT, variation: int = VARIATION) -> None:
        """The shop's stock of the boots in size 42 changes and the shop tells us."""
        if product not in self._catalog:
            self._catalog.add(product)
            self.shop.add_product(
                {"id": product, "name": "Buty trekkingowe", "type": "variable"}, webhook=False
            )
            self.shop.add_variation(product, {"id": variation, "name": "Buty trekkingowe 42"}, webhook=False)
        self.shop.set_stock(product, variation, units, webhook=False)
        self.deliver("product.updated", self.shop.product(product, variation))

    def api_key(self, shop_id: str = SHOP, label: str = "tests") -> str:
        with self.runtime.transaction() as session:
            return create_key(session, shop_id, label, self.clock.now()).key

    def lookup(
        self, client: httpx.Client, number: str, email: str = EMAIL, shop_id: str = SHOP
    ) -> httpx.Response:
        """Fill in the order lookup form like a browser (GET for the cookie and token, then POST)."""
        form = client.get(f"/s/{shop_id}/")
        return client.post(
            f"/s/{shop_id}/",
            data={"csrf_token": csrf_token(form.text), "order_number": number, "email": email},
        )

    def order_page_path(self, client: httpx.Client, number: str, shop_id: str = SHOP) -> str:
        found = self.lookup(client, number, shop_id=shop_id)
        assert found.status_code == 303, found.text
        return str(found.headers["location"])

    def case_row_count(self) -> int:
        from aftersales.store.models import CaseRow

        with self.runtime.read_session() as session:
            return len(list(session.scalars(select(CaseRow.id))))


def _register(runtime: Runtime, shop_id: str, name: str, credentials: dict[str, Any]) -> None:
    with runtime.transaction() as session:
        session.add(
            Shop(
                id=shop_id,
                platform="woocommerce",
                webhook_secrets=[f"whsec-{shop_id}-0123456789"],
                credentials=credentials,
                policy_yaml=POLICY.format(name=name),
                active=True,
                created_at=START,
            )
        )


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head per run; each test copies it (migrating takes a second)."""
    path = tmp_path_factory.mktemp("pages-template") / "aftersales.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def service(
    tmp_path: Path, migrated_template: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Service]:
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "pages-tests-secret-key-0123456789abcdef")
    monkeypatch.setenv("AFTERSALES_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "aftersales.db"
    shutil.copyfile(migrated_template, path)
    clock = ManualClock(START)
    with FakeWooCommerce(clock=clock.now) as shop:
        runtime = Runtime(f"sqlite:///{path}", clock=clock).launch(worker=False, migrate_schema=False)
        credentials = shop.credentials().model_dump(mode="json", exclude_none=True)
        _register(runtime, SHOP, "Sklep Testowy", credentials)
        _register(runtime, OTHER, "Inny Sklep", credentials)
        try:
            with LiveServer(create_app(runtime)) as server:
                monkeypatch.setenv("AFTERSALES_PUBLIC_URL", server.url)
                yield Service(runtime=runtime, clock=clock, shop=shop, sink=smtp_sink, url=server.url)
        finally:
            runtime.shutdown()


class LiveServer(_LiveServer):
    """The pages app runs without its lifespan (the runtime is launched by the fixtures)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app, lifespan="off")
