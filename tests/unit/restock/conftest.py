"""A real SQLite file with the schema, a shop's restock rules, and a shelf that answers stock reads.

The shelf stands in for ``ShopClient.read_stock`` (a function the wave calls, not a mocked
client library): tests put units on it and take them off between waves. Alerts are
rendered by a small template here; the production one lives in ``aftersales.notify``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aftersales.domain import StockLevel
from aftersales.notify.compose import compose_message
from aftersales.notify.message import Message
from aftersales.platforms import NotFound
from aftersales.store.db import make_engine, session_factory
from aftersales.store.models import Base, SubscriptionRow
from aftersales.workflows.restock import (
    RestockRules,
    RestockTokens,
    Source,
    WavePorts,
    confirm,
    observe_stock,
    subscribe,
)

SHOP = "shop-1"
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
"""A Monday, 12:00 in Warsaw: outside the default quiet hours."""


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'restock.db'}")
    Base.metadata.create_all(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s, s.begin():
        yield s


@pytest.fixture
def rules() -> RestockRules:
    return RestockRules(
        double_opt_in=True,
        per_unit=3,
        interval=timedelta(hours=1),
        timezone="Europe/Warsaw",
        public_url="https://alerts.example",
        product_url_template="https://shop.example/?post_type=product&p={product_id}",
        shop_name="Example",
    )


@pytest.fixture
def tokens() -> RestockTokens:
    return RestockTokens("server-secret-for-tests")


@dataclass
class Shelf:
    """What the platform says when asked for stock; unknown products are 404s."""

    levels: dict[tuple[str, str | None], StockLevel] = field(default_factory=dict)
    reads: int = 0

    def put(self, product: str, variant: str | None, available: int) -> StockLevel:
        level = StockLevel(
            product_id=product, variant_id=variant, available=available, in_stock=available > 0
        )
        self.levels[(product, variant)] = level
        return level

    def read_stock(self, product_id: str, variant_id: str | None) -> StockLevel:
        self.reads += 1
        try:
            return self.levels[(product_id, variant_id)]
        except KeyError:
            raise NotFound(f"no product {product_id}/{variant_id}", status=404) from None


@pytest.fixture
def shelf() -> Shelf:
    return Shelf()


@dataclass
class Timers:
    scheduled: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)

    def schedule(self, timer_id: str, due_at: datetime, payload: dict[str, Any]) -> None:
        self.scheduled.append((timer_id, due_at, payload))


@pytest.fixture
def timers() -> Timers:
    return Timers()


def render_alert(*, to: str, locale: str, context: Mapping[str, Any]) -> Message:
    """The production composer (Jinja templates of ``aftersales.notify``)."""
    return compose_message(shop_id=SHOP, template="restock_alert", to=to, locale=locale, context=context)


@pytest.fixture
def ports(shelf: Shelf, timers: Timers, tokens: RestockTokens) -> WavePorts:
    return WavePorts(
        render=render_alert, schedule=timers.schedule, tokens=tokens, read_stock=shelf.read_stock
    )


@dataclass
class World:
    """One shop's back-in-stock state in one transaction, with the verbs the scenarios use."""

    session: Session
    rules: RestockRules
    tokens: RestockTokens
    shelf: Shelf
    timers: Timers
    ports: WavePorts

    def sold_out(self, variant: str, product: str = "P1", at: datetime = T0) -> None:
        """The platform reports the variant out of stock (so visitors may subscribe)."""
        observe_stock(
            self.session,
            SHOP,
            StockLevel(product_id=product, variant_id=variant, available=0, in_stock=False),
            source=Source.WEBHOOK,
            now=at,
            rules=self.rules,
            name="Red shoes",
        )

    def confirmed(
        self, variant: str, count: int, *, start: datetime = T0, product: str = "P1", prefix: str = "buyer"
    ) -> list[str]:
        """``count`` addresses subscribed and confirmed one minute apart (FIFO order = list order)."""
        emails = []
        for i in range(count):
            at = start + timedelta(minutes=i)
            email = f"{prefix}{i:05d}@example.com"
            result = subscribe(
                self.session, SHOP, variant, email, f"10.{i // 62500}.{i // 250 % 250}.{i % 250}", "pl", "v1",
                at, self.rules, self.tokens, product_id=product,
            )  # fmt: skip
            assert result.confirmation is not None, result
            outcome = confirm(
                self.session, result.confirmation.token, "10.9.9.9", at, self.rules, self.tokens
            )
            assert outcome.outcome == "confirmed"
            emails.append(email)
        return emails

    def status(self, email: str, variant: str) -> str:
        return self.session.scalars(
            select(SubscriptionRow.status).where(
                SubscriptionRow.email == email, SubscriptionRow.variant_id == variant
            )
        ).one()


@pytest.fixture
def world(
    session: Session,
    rules: RestockRules,
    tokens: RestockTokens,
    shelf: Shelf,
    timers: Timers,
    ports: WavePorts,
) -> World:
    return World(session, rules, tokens, shelf, timers, ports)
