"""ensure_webhooks against the fake shop, and the fake's real webhook deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aftersales_woocommerce import RetryPolicy
from aftersales_woocommerce.plugin import WooCommercePlatform
from aftersales_woocommerce.testing import FakeWooCommerce, sample_order
from aftersales_woocommerce.webhooks import TOPICS

Receiver = Any  # the ``receiver`` fixture (conftest.py): a real HTTP endpoint recording deliveries
ADAPTER = WooCommercePlatform(retry=RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01))
ADDRESS = "https://aftersales.example/webhooks/woocommerce/shop-1"


def writes(fake: FakeWooCommerce) -> list[tuple[str, str]]:
    return [(m, p) for m, p in fake.requests if m in ("POST", "PUT", "DELETE")]


def test_setup_creates_one_active_webhook_per_topic(fake: FakeWooCommerce) -> None:
    records = ADAPTER.ensure_webhooks(fake.credentials(), ADDRESS, "whsec-1")
    assert [r["topic"] for r in records] == list(TOPICS)
    assert {r["action"] for r in records} == {"created"}
    hooks = {h["topic"]: h for h in fake.webhooks()}
    assert set(hooks) == set(TOPICS)
    for record in records:
        hook = hooks[record["topic"]]
        assert str(hook["id"]) == record["id"]
        assert (hook["delivery_url"], hook["secret"], hook["status"]) == (ADDRESS, "whsec-1", "active")
        assert hook["name"].startswith("aftersales ")


def test_a_second_run_changes_nothing(fake: FakeWooCommerce) -> None:
    first = ADAPTER.ensure_webhooks(fake.credentials(), ADDRESS, "whsec-1")
    before = len(writes(fake))
    second = ADAPTER.ensure_webhooks(fake.credentials(), ADDRESS, "whsec-1")
    assert {r["action"] for r in second} == {"unchanged"}
    assert [r["id"] for r in second] == [r["id"] for r in first]
    assert len(writes(fake)) == before  # no POST or PUT at all
    assert len(fake.webhooks()) == len(TOPICS)


def test_a_rotated_secret_is_written_to_every_webhook(fake: FakeWooCommerce) -> None:
    ADAPTER.ensure_webhooks(fake.credentials(), ADDRESS, "whsec-1")
    records = ADAPTER.ensure_webhooks(fake.credentials(), ADDRESS, "whsec-2")
    assert {r["action"] for r in records} == {"updated"}
    assert {h["secret"] for h in fake.webhooks()} == {"whsec-2"}
    assert {r["action"] for r in ADAPTER.ensure_webhooks(fake.credentials(), ADDRESS, "whsec-2")} == {
        "unchanged"
    }


def test_a_new_address_moves_our_webhooks_and_leaves_other_apps_alone(fake: FakeWooCommerce) -> None:
    other = fake.add_webhook("order.updated", "https://erp.example/hook", "erp-secret", name="ERP sync")
    ADAPTER.ensure_webhooks(fake.credentials(), ADDRESS, "whsec-1")
    new_address = "https://new.example/webhooks/woocommerce/shop-1"
    records = ADAPTER.ensure_webhooks(fake.credentials(), new_address, "whsec-1")
    assert {r["action"] for r in records} == {"updated"}
    hooks = fake.webhooks()
    ours = [h for h in hooks if h["id"] != other["id"]]
    assert {h["delivery_url"] for h in ours} == {new_address}
    (erp,) = [h for h in hooks if h["id"] == other["id"]]
    assert (erp["delivery_url"], erp["secret"], erp["name"]) == (
        "https://erp.example/hook",
        "erp-secret",
        "ERP sync",
    )


def test_a_webhook_disabled_by_failures_is_reactivated(fake: FakeWooCommerce, receiver: Receiver) -> None:
    ADAPTER.ensure_webhooks(fake.credentials(), receiver.url, "whsec-1")
    receiver.status = 500
    order = fake.add_order(sample_order())
    for status in ("processing", "on-hold", "processing", "on-hold", "processing", "on-hold"):
        fake.update_order(order["id"], status=status)
    hooks = {h["topic"]: h for h in fake.webhooks()}
    assert hooks["order.updated"]["status"] == "disabled"  # 6 consecutive failures > 5
    assert hooks["order.created"]["status"] == "active"  # 1 failure only
    receiver.status = 200
    records = {
        r["topic"]: r["action"] for r in ADAPTER.ensure_webhooks(fake.credentials(), receiver.url, "whsec-1")
    }
    assert records["order.updated"] == "updated"
    assert records["order.created"] == "unchanged"
    assert {h["topic"]: h["status"] for h in fake.webhooks()}["order.updated"] == "active"


# -- deliveries ---------------------------------------------------------------------------------


def test_changes_are_delivered_signed_and_normalize_with_exact_ids(
    fake: FakeWooCommerce, receiver: Receiver
) -> None:
    ADAPTER.ensure_webhooks(fake.credentials(), receiver.url, "whsec-1")
    fake.add_order(sample_order())
    fake.update_order(727, status="completed")
    topics = [r.headers["X-WC-Webhook-Topic"] for r in receiver.received]
    assert topics == ["order.created", "order.updated"]
    for delivery in receiver.received:
        assert ADAPTER.verify(delivery.body, delivery.headers, ["whsec-1"])
        assert not ADAPTER.verify(delivery.body, delivery.headers, ["whsec-other"])
        assert b"\\/" in delivery.body  # WordPress escapes slashes; the signature covers these bytes
        envelope = ADAPTER.envelope(delivery.body, delivery.headers)
        assert envelope.topic is not None
        event = ADAPTER.normalize(envelope.topic, json.loads(delivery.body))
        assert event.shop_resource_id == "727"
    created, updated = (ADAPTER.envelope(r.body, r.headers).dedupe_key for r in receiver.received)
    assert created != updated


def test_a_redelivery_has_a_new_delivery_id_and_the_same_dedupe_key(
    fake: FakeWooCommerce, receiver: Receiver
) -> None:
    ADAPTER.ensure_webhooks(fake.credentials(), receiver.url, "whsec-1")
    fake.update_order(fake.add_order(sample_order(), webhook=False)["id"], status="completed")
    (first,) = fake.deliveries
    second = fake.redeliver(first)
    assert first.ok and second.ok
    a, b = receiver.received
    assert a.headers["X-WC-Webhook-Delivery-ID"] != b.headers["X-WC-Webhook-Delivery-ID"]
    env_a = ADAPTER.envelope(a.body, a.headers)
    env_b = ADAPTER.envelope(b.body, b.headers)
    assert env_a.dedupe_key == env_b.dedupe_key
    assert env_a.event_id != env_b.event_id


def test_the_activation_ping_is_an_unsigned_form_body(fake: FakeWooCommerce, receiver: Receiver) -> None:
    hook = fake.add_webhook("order.created", receiver.url, "whsec-1")
    delivery = fake.ping(hook["id"])
    assert delivery.ok
    (received,) = receiver.received
    assert received.body == f"webhook_id={hook['id']}".encode()
    assert "X-WC-Webhook-Signature" not in received.headers
    assert ADAPTER.envelope(received.body, received.headers).is_ping


def test_a_refund_through_the_api_is_announced_as_order_updated(
    fake: FakeWooCommerce, receiver: Receiver
) -> None:
    ADAPTER.ensure_webhooks(fake.credentials(), receiver.url, "whsec-1")
    fake.add_order(sample_order(), webhook=False)
    client = ADAPTER.client(fake.credentials())
    client.rest.request("POST", "orders/727/refunds", data={"amount": "29.35"})
    fake.wait_for_deliveries()
    (delivery,) = receiver.received
    assert delivery.headers["X-WC-Webhook-Topic"] == "order.updated"
    event = ADAPTER.normalize("order.updated", json.loads(delivery.body))
    order = event.data.order  # type: ignore[union-attr]
    assert order.status == "refunded"
    assert [r.amount.amount for r in order.refunds] == [order.total.amount]


def test_a_change_made_without_webhook_reaches_nobody(fake: FakeWooCommerce, receiver: Receiver) -> None:
    ADAPTER.ensure_webhooks(fake.credentials(), receiver.url, "whsec-1")
    fake.add_order(sample_order(), webhook=False)
    fake.wait_for_deliveries()
    assert receiver.received == []
    orders = list(
        ADAPTER.client(fake.credentials()).list_orders_changed_since(datetime(2000, 1, 1, tzinfo=UTC))
    )
    assert [o.id for o in orders] == ["727"]  # reconciliation finds what no webhook announced
