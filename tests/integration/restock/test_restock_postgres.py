"""Races the scale-out deployment has (several workers, one PostgreSQL), run for real.

A webhook and a reconciliation poll for the same restock handled at the same moment by two
workers open one episode; two workers firing the same wave write one set of alerts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from aftersales.domain import StockLevel
from aftersales.notify.compose import compose_message
from aftersales.notify.message import Message
from aftersales.store.db import make_engine, session_factory
from aftersales.store.models import OutboxMessage, RestockEpisode, RestockMessage, SubscriptionRow
from aftersales.workflows.restock import (
    RestockRules,
    RestockTokens,
    Source,
    SubscribeOutcome,
    WavePorts,
    WaveStatus,
    observe_stock,
    run_wave,
    subscribe,
)

pytestmark = pytest.mark.postgres

SHOP = "pg-shop"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
RULES = RestockRules(public_url="https://alerts.example", timezone="Europe/Warsaw", quiet_hours=None)


@pytest.fixture
def sessions(migrated_pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_pg_url, pool_size=6)
    yield session_factory(engine)
    engine.dispose()


def level(units: int) -> StockLevel:
    return StockLevel(product_id="P1", variant_id="V1", available=units, in_stock=units > 0)


def together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def _render(*, to: str, locale: str, context: Any) -> Message:
    return compose_message(shop_id=SHOP, template="restock_alert", to=to, locale=locale, context=context)


def _queue(sessions: sessionmaker[Session], count: int) -> None:
    with sessions.begin() as s:
        observe_stock(s, SHOP, level(0), source=Source.WEBHOOK, now=T0, rules=RULES, name="Red shoes")
        if not count:
            return
        s.execute(
            insert(SubscriptionRow),
            [
                {
                    "shop_id": SHOP,
                    "variant_id": "V1",
                    "email": f"pg{i:05d}@example.com",
                    "locale": "pl",
                    "status": "confirmed",
                    "created_at": T0,
                    "confirmed_at": T0 + timedelta(seconds=i // 10),
                }
                for i in range(count)
            ],
        )


def test_a_webhook_and_a_reconciliation_racing_open_one_episode(sessions: sessionmaker[Session]) -> None:
    _queue(sessions, 5)
    now = T0 + timedelta(hours=1)

    def report(i: int) -> int | None:
        with sessions.begin() as s:
            source = Source.WEBHOOK if i % 2 else Source.RECONCILE
            return observe_stock(s, SHOP, level(3), source=source, now=now, rules=RULES).opened

    opened = [o for o in together(4, report) if o is not None]
    assert len(opened) == 1
    with sessions() as s:
        states = list(s.scalars(select(RestockEpisode.state).order_by(RestockEpisode.id)))
    assert states == ["open"]


def test_two_workers_firing_the_same_wave_write_one_set_of_alerts(sessions: sessionmaker[Session]) -> None:
    _queue(sessions, 2500)
    now = T0 + timedelta(hours=1)
    with sessions.begin() as s:
        episode = observe_stock(s, SHOP, level(700), source=Source.WEBHOOK, now=now, rules=RULES).opened
    assert episode is not None
    tokens = RestockTokens("pg-secret")

    def fire(i: int) -> WaveStatus:
        ports = WavePorts(render=_render, schedule=lambda *a: None, tokens=tokens, chunk=400)
        with sessions.begin() as s:
            return run_wave(s, episode, 1, now, RULES, ports).status

    statuses = sorted(together(2, fire))
    assert statuses == [WaveStatus.SENT, WaveStatus.SKIPPED]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RestockMessage)) == 2100
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2100
        first = list(s.scalars(select(OutboxMessage.recipient).order_by(OutboxMessage.id).limit(3)))
        assert first == ["pg00000@example.com", "pg00001@example.com", "pg00002@example.com"]
        waiting = s.scalar(
            select(func.count()).select_from(SubscriptionRow).where(SubscriptionRow.status == "confirmed")
        )
        assert waiting == 400


def test_the_ip_rate_limit_holds_across_concurrent_requests(sessions: sessionmaker[Session]) -> None:
    _queue(sessions, 0)
    limited = RestockRules(subscribe_limit_per_ip_hour=5, double_opt_in=False)
    tokens = RestockTokens("pg-secret")

    def attempt(i: int) -> SubscribeOutcome:
        with sessions.begin() as s:
            return subscribe(
                s, SHOP, "V1", f"flood{i}@example.com", "198.51.100.7", "pl", "v1", T0, limited, tokens
            )

    outcomes = together(6, attempt) + together(6, lambda i: attempt(i + 6))
    assert sum(1 for o in outcomes if o.outcome is SubscribeOutcome.ACCEPTED) == 5
    assert sum(1 for o in outcomes if o.outcome is SubscribeOutcome.RATE_LIMITED) == 7
