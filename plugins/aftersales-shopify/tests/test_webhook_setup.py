"""``aftersales shopify setup`` subscribes the shop's webhooks, idempotently."""

from __future__ import annotations

from aftersales_shopify import ShopifyPlatform
from aftersales_shopify.testing import FakeShopify
from aftersales_shopify.webhooks import TOPICS

ADDRESS = "https://aftersales.example.com/webhooks/shopify/shop-1"


def test_every_topic_is_subscribed_once(fake: FakeShopify) -> None:
    results = ShopifyPlatform().ensure_webhooks(fake.credentials(), ADDRESS, "ignored")
    assert [r["topic"] for r in results] == list(TOPICS)
    assert {r["action"] for r in results} == {"created"}
    subs = fake.webhook_subscriptions()
    assert sorted(s["topic"] for s in subs) == sorted(t.graphql_enum for t in TOPICS.values())
    assert {s["uri"] for s in subs} == {ADDRESS}
    assert {r["id"] for r in results} == {s["id"] for s in subs}


def test_running_setup_again_changes_nothing(fake: FakeShopify) -> None:
    platform = ShopifyPlatform()
    platform.ensure_webhooks(fake.credentials(), ADDRESS, None)
    before = fake.webhook_subscriptions()
    again = platform.ensure_webhooks(fake.credentials(), ADDRESS, None)
    assert {r["action"] for r in again} == {"unchanged"}
    assert fake.webhook_subscriptions() == before
    assert "WebhookSubscriptionCreate" not in [name for name, _ in fake.requests[len(TOPICS) + 1 :]]


def test_a_new_address_moves_the_subscriptions_instead_of_adding_more(fake: FakeShopify) -> None:
    platform = ShopifyPlatform()
    platform.ensure_webhooks(fake.credentials(), ADDRESS, None)
    moved = platform.ensure_webhooks(
        fake.credentials(), "https://new.example.com/webhooks/shopify/shop-1", None
    )
    assert {r["action"] for r in moved} == {"updated"}
    subs = fake.webhook_subscriptions()
    assert len(subs) == len(TOPICS)
    assert {s["uri"] for s in subs} == {"https://new.example.com/webhooks/shopify/shop-1"}


def test_a_partly_subscribed_shop_is_completed(fake: FakeShopify) -> None:
    platform = ShopifyPlatform()
    first = platform.ensure_webhooks(fake.credentials(), ADDRESS, None)
    gone = first[0]["id"]
    del fake.state.webhooks[f"gid://shopify/WebhookSubscription/{gone}"]
    results = platform.ensure_webhooks(fake.credentials(), ADDRESS, None)
    assert [r["action"] for r in results].count("created") == 1
    assert results[0]["action"] == "created"
    assert len(fake.webhook_subscriptions()) == len(TOPICS)
