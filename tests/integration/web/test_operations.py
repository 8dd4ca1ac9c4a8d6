"""Operations endpoints and logs: health, readiness, Prometheus metrics, no secret in a log line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from aftersales.web.logs import configure_logging

ORDER = b'{"id": 727, "status": "processing"}'


def test_healthz_answers_200(live: Any) -> None:
    assert httpx.get(f"{live.url}/healthz").status_code == 200


def test_readyz_is_200_at_the_migration_head_and_503_behind_it(
    live: Any, sessions: sessionmaker[Session]
) -> None:
    ok = httpx.get(f"{live.url}/readyz")
    assert ok.status_code == 200
    assert ok.json()["checks"] == {"database": "ok", "schema": "ok"}

    # a deploy whose code is newer than the database: not ready until 'aftersales db upgrade'
    with sessions() as session, session.begin():
        session.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    behind = httpx.get(f"{live.url}/readyz")
    assert behind.status_code == 503
    assert "0000_older" in behind.json()["checks"]["schema"]


def test_metrics_count_deliveries_by_outcome_and_show_queue_depths(sender: Any, live: Any) -> None:
    sender.signed("shop-a", ORDER, webhook_id="m-1")
    sender.signed("shop-a", ORDER, webhook_id="m-1")
    sender.post("shop-a", ORDER, secret="wrong-secret-000000", webhook_id="m-2")
    sender.post("shop-a", ORDER, secret="x", platform="nosuch")

    body = httpx.get(f"{live.url}/metrics").text
    assert 'aftersales_webhook_deliveries_total{outcome="accepted",platform="acme"} 1.0' in body
    assert 'aftersales_webhook_deliveries_total{outcome="duplicate",platform="acme"} 1.0' in body
    assert 'aftersales_webhook_deliveries_total{outcome="bad_signature",platform="acme"} 1.0' in body
    # a made-up platform in the URL does not create a label value per attacker's whim
    assert 'outcome="unknown_platform",platform="unknown"' in body
    assert 'aftersales_webhook_ack_seconds_count{platform="acme"} 3.0' in body
    assert 'aftersales_inbox_items{state="pending"} 1.0' in body
    assert "aftersales_store_up 1.0" in body
    assert "# TYPE aftersales_effects gauge" in body
    assert "# TYPE aftersales_outbox_messages gauge" in body


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    yield stream
    structlog.reset_defaults()


def test_log_lines_are_json_and_never_carry_a_secret_or_signature(
    json_logs: io.StringIO, sender: Any, shops: dict[str, str], kit: Any
) -> None:
    signed = kit.acme_headers(ORDER, shops["shop-a"], "log-1") | {"Authorization": "Bearer tok-123456"}
    sender.post("shop-a", ORDER, headers=signed)
    sender.post("shop-a", ORDER, headers=signed)
    sender.post("shop-b", ORDER, secret=shops["shop-a"], webhook_id="log-2")
    sender.post("shop-a", b"not json", secret=shops["shop-a"], webhook_id="log-3")

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    webhook_lines = [line for line in lines if line["event"] == "webhook"]
    assert [line["outcome"] for line in webhook_lines] == [
        "accepted",
        "duplicate",
        "bad_signature",
        "malformed",
    ]
    assert all({"platform", "shop_id", "status", "ms", "timestamp"} <= line.keys() for line in webhook_lines)
    everything = json_logs.getvalue()
    for secret in (*shops.values(), signed["X-Acme-Signature"], "tok-123456"):
        assert secret not in everything


def test_a_field_named_like_a_secret_is_redacted_by_the_logger(json_logs: io.StringIO) -> None:
    structlog.get_logger("t").info("oops", webhook_secret="hunter2-secret", token="abc", shop_id="s1")
    line = json.loads(json_logs.getvalue())
    assert line["webhook_secret"] == "[redacted]"
    assert line["token"] == "[redacted]"
    assert line["shop_id"] == "s1"
