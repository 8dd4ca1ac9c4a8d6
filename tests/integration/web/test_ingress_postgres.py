"""The ingress on PostgreSQL (scale-out): same answers, and concurrent re-sends of one webhook
still make exactly one inbox row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from aftersales.store.db import make_engine, session_factory
from aftersales.store.models import Delivery, InboxItem
from aftersales.web.app import create_app

pytestmark = pytest.mark.postgres

ORDER = json.dumps({"id": 5550001, "status": "processing"}).encode()


@pytest.fixture
def pg_sessions(migrated_pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_pg_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def pg_live(
    kit: Any, pg_sessions: sessionmaker[Session], plugins: Any, secret_key_env: None
) -> Iterator[Any]:
    kit.add_shop(pg_sessions, "shop-a", ["secret-of-shop-a-0123456789"])
    runtime = kit.RecordingRuntime(sessions=pg_sessions, plugins=plugins)
    with kit.LiveServer(create_app(runtime)) as server:
        yield server


def test_accepted_duplicate_and_refused_on_postgresql(
    pg_live: Any, pg_sessions: sessionmaker[Session], kit: Any
) -> None:
    url = f"{pg_live.url}/webhooks/acme/shop-a"
    signed = kit.acme_headers(ORDER, "secret-of-shop-a-0123456789", "pg-1")
    assert httpx.post(url, content=ORDER, headers=signed).status_code == 200
    assert httpx.post(url, content=ORDER, headers=signed).json()["status"] == "already received"
    assert (
        httpx.post(url, content=ORDER, headers=kit.acme_headers(ORDER, "wrong-secret", "pg-2")).status_code
        == 401
    )
    assert (
        httpx.post(
            url, content=b"{", headers=kit.acme_headers(b"{", "secret-of-shop-a-0123456789", "pg-3")
        ).status_code
        == 400
    )
    with pg_sessions() as session:
        assert [r.dedupe_key for r in session.scalars(select(InboxItem))] == ["pg-1"]
        outcomes = [d.outcome for d in session.scalars(select(Delivery).order_by(Delivery.id))]
    assert outcomes == ["accepted", "duplicate", "bad_signature", "malformed"]


def test_concurrent_resends_of_one_webhook_make_one_inbox_row(
    pg_live: Any, pg_sessions: sessionmaker[Session], kit: Any
) -> None:
    url = f"{pg_live.url}/webhooks/acme/shop-a"
    signed = kit.acme_headers(ORDER, "secret-of-shop-a-0123456789", "pg-race")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda _: httpx.post(url, content=ORDER, headers=signed).status_code, range(16))
        )
    assert statuses == [200] * 16
    with pg_sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboxItem)) == 1
        outcomes = sorted(d.outcome for d in session.scalars(select(Delivery)))
    assert outcomes == ["accepted"] + ["duplicate"] * 15
