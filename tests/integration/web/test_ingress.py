"""The webhook route over a real socket: every answer a shop can get, and what is kept of it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from aftersales.store.db import make_engine, session_factory
from aftersales.store.models import Delivery, InboxItem
from aftersales.web.app import create_app
from aftersales.web.settings import WebSettings


def _sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


ORDER = json.dumps({"id": 820982911946154508, "status": "processing", "total": "29.35"}).encode()


def inbox(sessions: sessionmaker[Session]) -> list[InboxItem]:
    with sessions() as session:
        return list(session.scalars(select(InboxItem).order_by(InboxItem.id)))


def deliveries(sessions: sessionmaker[Session]) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_a_signed_delivery_is_recorded_once_and_handed_to_the_engine(
    kit: Any, sender: Any, sessions: sessionmaker[Session], runtime: Any
) -> None:
    response = sender.signed("shop-a", ORDER, webhook_id="wh-100")

    assert response.status_code == 200
    [row] = inbox(sessions)
    assert (row.shop_id, row.platform, row.topic, row.dedupe_key) == (
        "shop-a",
        "acme",
        "order.updated",
        "wh-100",
    )
    assert row.body == ORDER
    assert row.state == "pending"
    [logged] = deliveries(sessions)
    assert (logged.outcome, logged.status_code, logged.inbox_id) == ("accepted", 200, row.id)
    assert response.json()["delivery_id"] == logged.id
    kit.wait_until(lambda: runtime.submitted == [row.id])


def test_a_resent_webhook_is_acknowledged_and_changes_nothing(
    kit: Any, sender: Any, sessions: sessionmaker[Session], runtime: Any
) -> None:
    first = sender.signed("shop-a", ORDER, webhook_id="wh-7")
    again = sender.signed("shop-a", ORDER, webhook_id="wh-7")

    assert (first.status_code, again.status_code) == (200, 200)
    [row] = inbox(sessions)
    assert [d.outcome for d in deliveries(sessions)] == ["accepted", "duplicate"]
    assert deliveries(sessions)[1].inbox_id == row.id
    kit.wait_until(lambda: runtime.submitted == [row.id])


def test_the_same_webhook_id_in_two_shops_is_two_deliveries(
    sender: Any, sessions: sessionmaker[Session]
) -> None:
    assert sender.signed("shop-a", ORDER, webhook_id="wh-1").status_code == 200
    assert sender.signed("shop-b", ORDER, webhook_id="wh-1").status_code == 200
    assert sorted(r.shop_id for r in inbox(sessions)) == ["shop-a", "shop-b"]


def test_the_activation_ping_gets_200_unsigned_and_queues_nothing(
    sender: Any, sessions: sessionmaker[Session]
) -> None:
    response = sender.post(
        "shop-a",
        b"webhook_id=42",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert inbox(sessions) == []
    assert [d.outcome for d in deliveries(sessions)] == ["ping"]


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "Zm9yZ2Vk",
        _sign(ORDER, "a-guessed-secret"),
        _sign(ORDER + b" ", "secret-of-shop-a-0123456789"),
    ],
    ids=["missing", "empty", "garbage", "wrong-secret", "other-bytes"],
)
def test_a_bad_or_missing_signature_is_401_and_not_queued(
    kit: Any, sender: Any, sessions: sessionmaker[Session], signature: str | None
) -> None:
    headers = kit.acme_headers(ORDER, None, "wh-9")
    if signature is not None:
        headers["X-Acme-Signature"] = signature
    response = sender.post("shop-a", ORDER, headers=headers)
    assert response.status_code == 401
    assert inbox(sessions) == []
    [logged] = deliveries(sessions)
    assert (logged.outcome, logged.status_code) == ("bad_signature", 401)
    assert logged.body == ORDER, "a refused delivery is kept for inspection and replay"


def test_a_shops_secret_never_authorizes_another_shops_route(
    sender: Any, sessions: sessionmaker[Session], shops: dict[str, str]
) -> None:
    response = sender.post("shop-b", ORDER, secret=shops["shop-a"], webhook_id="wh-x")
    assert response.status_code == 401
    assert inbox(sessions) == []


def test_every_rotated_secret_is_accepted(kit: Any, sender: Any, sessions: sessionmaker[Session]) -> None:
    kit.add_shop(sessions, "shop-r", ["old-secret-abcdefgh", "new-secret-ijklmnop"])
    assert sender.post("shop-r", ORDER, secret="old-secret-abcdefgh", webhook_id="1").status_code == 200
    assert sender.post("shop-r", ORDER, secret="new-secret-ijklmnop", webhook_id="2").status_code == 200
    assert (
        sender.post("shop-r", ORDER, secret="secret-of-shop-a-0123456789", webhook_id="3").status_code == 401
    )


def test_unknown_shop_platform_or_a_shop_on_another_platform_is_404(
    kit: Any, sender: Any, sessions: sessionmaker[Session], shops: dict[str, str]
) -> None:
    kit.add_shop(sessions, "woo-shop", [shops["shop-a"]], platform="woocommerce")
    assert sender.post("no-such-shop", ORDER, secret=shops["shop-a"]).status_code == 404
    assert sender.post("shop-a", ORDER, secret=shops["shop-a"], platform="nosuch").status_code == 404
    assert sender.post("woo-shop", ORDER, secret=shops["shop-a"]).status_code == 404
    assert inbox(sessions) == []
    assert [d.outcome for d in deliveries(sessions)] == ["unknown_shop", "unknown_platform", "unknown_shop"]


def test_a_signed_body_that_is_not_json_is_400_and_kept(sender: Any, sessions: sessionmaker[Session]) -> None:
    body = b'{"id": 1, "broken": '
    response = sender.signed("shop-a", body)
    assert response.status_code == 400
    assert inbox(sessions) == []
    [logged] = deliveries(sessions)
    assert (logged.outcome, logged.body) == ("malformed", body)
    assert logged.error is not None and "JSON" in logged.error


def test_a_signed_body_without_a_webhook_id_is_400(kit: Any, sender: Any, shops: dict[str, str]) -> None:
    headers = kit.acme_headers(ORDER, shops["shop-a"], "ignored")
    del headers["X-Acme-Webhook-Id"]
    assert sender.post("shop-a", ORDER, headers=headers).status_code == 400


def test_a_body_over_the_cap_is_413_by_declared_length(
    sender: Any, sessions: sessionmaker[Session], shops: dict[str, str]
) -> None:
    body = b"x" * (64 * 1024 + 1)
    response = sender.post("shop-a", body, secret=shops["shop-a"])
    assert response.status_code == 413
    [logged] = deliveries(sessions)
    assert (logged.outcome, logged.body_size) == ("too_large", len(body))


def test_a_chunked_body_over_the_cap_is_413_without_content_length(
    sender: Any, sessions: sessionmaker[Session]
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"y" * 4096  # 400 KiB in total, no Content-Length

    response = sender.client.post("/webhooks/acme/shop-a", content=chunks(), headers={"X-Acme-Topic": "t"})
    assert response.status_code == 413
    [logged] = deliveries(sessions)
    assert logged.outcome == "too_large"
    assert logged.body is not None and len(logged.body) == 64 * 1024, "kept up to the cap, no more"
    assert inbox(sessions) == []


def test_the_delivery_log_redacts_signatures_tokens_and_cookies(
    kit: Any, sender: Any, sessions: sessionmaker[Session], shops: dict[str, str]
) -> None:
    headers = kit.acme_headers(ORDER, shops["shop-a"], "wh-r")
    headers |= {"Authorization": "Bearer s3cr3t-token", "Cookie": "session=abc123", "X-Request-Id": "req-1"}
    assert sender.post("shop-a", ORDER, headers=headers).status_code == 200
    [logged] = deliveries(sessions)
    stored = json.dumps(logged.headers)
    assert logged.headers["x-acme-signature"] == "[redacted]"
    assert logged.headers["authorization"] == "[redacted]"
    assert logged.headers["cookie"] == "[redacted]"
    assert logged.headers["x-request-id"] == "req-1"
    for secret_value in (headers["X-Acme-Signature"], "s3cr3t-token", "abc123", shops["shop-a"]):
        assert secret_value not in stored


def test_non_post_methods_are_refused_without_a_server_error(sender: Any) -> None:
    assert sender.client.get("/webhooks/acme/shop-a").status_code == 405


# -- the database cannot take the delivery -> 503, not acknowledged ----------------------------


@pytest.fixture
def full_disk_runtime(kit: Any, db_url: str, runtime: Any) -> Iterator[Any]:
    """Sessions on a database that has no room for one more page (SQLite's own "disk full")."""
    engine = make_engine(db_url)

    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    yield kit.RecordingRuntime(sessions=session_factory(engine), plugins=runtime.plugins)
    engine.dispose()


def test_a_full_disk_is_503_and_nothing_is_acknowledged(
    kit: Any,
    full_disk_runtime: Any,
    shops: dict[str, str],
    sessions: sessionmaker[Session],
    secret_key_env: None,
) -> None:

    body = json.dumps({"id": 1, "padding": "z" * 50_000}).encode()
    with kit.LiveServer(create_app(full_disk_runtime)) as server:
        response = httpx.post(
            f"{server.url}/webhooks/acme/shop-a",
            content=body,
            headers=kit.acme_headers(body, shops["shop-a"], "wh-full"),
        )
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert inbox(sessions) == []
    assert full_disk_runtime.submitted == []


def test_a_database_locked_too_long_is_503_and_the_retry_is_accepted_once(
    kit: Any,
    db_url: str,
    runtime: Any,
    shops: dict[str, str],
    sessions: sessionmaker[Session],
    tmp_path: Path,
    secret_key_env: None,
) -> None:

    app = create_app(runtime, settings=WebSettings(db_timeout_seconds=0.5))
    lock = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    released = threading.Event()
    with kit.LiveServer(app) as server:
        lock.execute("BEGIN EXCLUSIVE")
        try:
            locked = httpx.post(
                f"{server.url}/webhooks/acme/shop-a",
                content=ORDER,
                headers=kit.acme_headers(ORDER, shops["shop-a"], "wh-lock"),
                timeout=10,
            )
        finally:
            lock.execute("COMMIT")
            released.set()
        assert locked.status_code == 503
        # the platform retries; the abandoned write may land meanwhile: still exactly one row
        retry = httpx.post(
            f"{server.url}/webhooks/acme/shop-a",
            content=ORDER,
            headers=kit.acme_headers(ORDER, shops["shop-a"], "wh-lock"),
            timeout=10,
        )
    lock.close()
    assert retry.status_code == 200
    assert [r.dedupe_key for r in inbox(sessions)] == ["wh-lock"]
