"""The real engine (inline runtime, ManualClock), the real WooCommerce plugin against its fake
shop over HTTP, and the real e-mail channel delivering to an aiosmtpd sink.

Webhook bodies are put in the inbox the way the ingress records them (the variation's JSON
under ``product.updated``); everything after that is production code: normalization, the
restock handlers, stock re-reads over HTTP, Jinja rendering, the outbox sender and SMTP.
"""

from __future__ import annotations

import importlib
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.engine.clock import ManualClock
from aftersales.engine.registry import registry
from aftersales.engine.runtime import Runtime
from aftersales.engine.settings import EngineSettings
from aftersales.plugins import load_plugins
from aftersales.store.models import InboxItem, Shop
from aftersales.testing import SmtpSink
from aftersales.workflows.restock import handlers
from aftersales_woocommerce.testing import FakeWooCommerce

START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
"""Monday 4 May 2026, 10:00 in Warsaw (outside the default quiet hours 21:00-08:00)."""
PRODUCT, VARIATION = 500, 501
SHOP = "sklep"

POLICY = """
shop: {name: Sklep Testowy, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}
restock:
  double_opt_in: true
  wave: {per_unit: 3, interval: 1h, recheck_stock: true}
notifications:
  from_address: "Sklep <sklep@example.pl>"
"""


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    return part.get_content() if part is not None else ""


def link(message: EmailMessage, path: str) -> str:
    """The token of the first link to ``path`` in the plain-text part."""
    found = re.search(re.escape(path) + r"([A-Za-z0-9_.\-]+)", body(message))
    assert found, f"no {path} link in {body(message)!r}"
    return found.group(1)


class Harness:
    def __init__(self, rt: Runtime, shop: FakeWooCommerce, sink: SmtpSink, clock: ManualClock) -> None:
        self.rt, self.shop, self.sink, self.clock = rt, shop, sink, clock
        self._ids = itertools.count(1)

    # -- the platform -----------------------------------------------------------------------------
    def stock(self, units: int, *, webhook: bool = True) -> None:
        """The shop's stock of the variation changes; with ``webhook`` the shop tells us."""
        self.shop.set_stock(PRODUCT, VARIATION, units, webhook=False)
        if webhook:
            self.deliver("product.updated", self.shop.product(PRODUCT, VARIATION))

    def deliver(self, topic: str, body: dict[str, Any], *, delivery: str | None = None) -> None:
        with self.rt.transaction() as session:
            session.add(
                InboxItem(
                    shop_id=SHOP,
                    platform="woocommerce",
                    topic=topic,
                    dedupe_key=delivery or f"wc-{next(self._ids)}",
                    body=json.dumps(body).encode(),
                    source="webhook",
                    state="pending",
                    received_at=self.clock.now(),
                )
            )
        self.rt.run_until_idle()

    # -- customers ------------------------------------------------------------------------------------
    def command(self, name: str, **payload: Any) -> dict[str, Any]:
        result = self.rt.execute_command(name, SHOP, **payload)
        self.rt.run_until_idle()
        return result

    def subscribe_and_confirm(self, email: str) -> None:
        """The whole double opt-in: the form, the e-mail, the confirm page's POST."""
        before = len(self.sink.to(email))
        answer = self.command("restock.subscribe", variant_id=str(VARIATION), email=email, ip="203.0.113.5",
                              locale="pl", wording_version="form-v1", product_id=str(PRODUCT))  # fmt: skip
        assert answer["outcome"] == "accepted"
        mails = self.sink.to(email)
        assert len(mails) == before + 1, f"no confirmation e-mail for {email}"
        token = link(mails[-1], "/restock/confirm/")
        assert self.command("restock.confirm", token=token, ip="203.0.113.5")["outcome"] == "confirmed"

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)
        self.rt.run_until_idle()

    def alerts(self) -> list[EmailMessage]:
        return [m for m in self.sink.messages if "/restock/go/" in body(m)]

    start = START
    body = staticmethod(body)
    link = staticmethod(link)


@pytest.fixture
def restock_only() -> Iterator[None]:
    """Only the restock handlers, registered afresh from the real module."""
    with registry.isolated():
        importlib.reload(handlers)
        yield


@pytest.fixture
def harness(
    sqlite_url: str, restock_only: None, monkeypatch: pytest.MonkeyPatch, smtp_sink: SmtpSink
) -> Iterator[Harness]:
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "restock-tests-secret-key")
    monkeypatch.setenv("AFTERSALES_PUBLIC_URL", "https://alerts.example")
    monkeypatch.setenv("AFTERSALES_MAIL_FROM", "alerts@example.pl")
    clock = ManualClock(START)
    with FakeWooCommerce(deliver_webhooks=False, clock=clock.now) as shop:
        shop.add_product({"id": PRODUCT, "name": "Buty trekkingowe", "type": "variable"}, webhook=False)
        shop.add_variation(PRODUCT, {"id": VARIATION, "name": "Buty trekkingowe 42"}, webhook=False)
        plugins = load_plugins()
        rt = Runtime(
            sqlite_url, clock=clock, plugins=plugins, settings=EngineSettings(grace=0.0), workflows=()
        ).launch(worker=False)
        try:
            with rt.transaction() as session:
                session.add(
                    Shop(
                        id=SHOP,
                        platform="woocommerce",
                        webhook_secrets=[],
                        credentials=shop.credentials().model_dump(mode="json"),
                        policy_yaml=POLICY,
                        created_at=START,
                    )
                )
            yield Harness(rt, shop, smtp_sink, clock)
        finally:
            rt.shutdown()


def shop_row(rt: Runtime) -> Shop:
    with rt.read_session() as session:
        return session.scalars(select(Shop).where(Shop.id == SHOP)).one()
