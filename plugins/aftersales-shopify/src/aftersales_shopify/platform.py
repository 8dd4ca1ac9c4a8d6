"""The Shopify :class:`~aftersales.platforms.PlatformAdapter`: webhooks in, a shop client out.

Stateless: it reads Shopify's webhook headers, checks signatures, turns bodies into domain
events (:mod:`aftersales_shopify.webhooks`) and builds a :class:`ShopifyShopClient` per shop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aftersales.domain import DomainEvent
from aftersales.platforms import StoreCredentials, WebhookEnvelope, header, hmac_sha256_base64_matches
from aftersales_shopify.shop_client import ShopifyShopClient
from aftersales_shopify.webhooks import TOPICS, normalize


class ShopifyPlatform:
    """Shopify webhooks (``X-Shopify-*`` headers, base64 HMAC-SHA256) and the Admin GraphQL API."""

    name = "shopify"

    def topics(self) -> Sequence[str]:
        return list(TOPICS)

    def envelope(self, body: bytes, headers: Mapping[str, str]) -> WebhookEnvelope:
        """Shopify re-sends a failed delivery with the same ``X-Shopify-Webhook-Id``: the dedupe key.

        ``X-Shopify-Event-Id`` names the change (shared by the subscriptions it fans out to),
        ``X-Shopify-Triggered-At`` when it happened, ``X-Shopify-Shop-Domain`` which shop sent it.
        """
        return WebhookEnvelope(
            topic=header(headers, "X-Shopify-Topic"),
            dedupe_key=header(headers, "X-Shopify-Webhook-Id"),
            event_id=header(headers, "X-Shopify-Event-Id"),
            triggered_at=header(headers, "X-Shopify-Triggered-At"),
            source=header(headers, "X-Shopify-Shop-Domain"),
        )

    def verify(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> bool:
        """``X-Shopify-Hmac-Sha256`` is base64 HMAC-SHA256 of the raw body with the app's secret."""
        return hmac_sha256_base64_matches(body, header(headers, "X-Shopify-Hmac-Sha256"), secrets)

    def normalize(self, topic: str, payload: Any) -> DomainEvent:
        return normalize(topic, payload)

    def client(self, credentials: StoreCredentials) -> ShopifyShopClient:
        return ShopifyShopClient.from_credentials(credentials)

    def ensure_webhooks(
        self, credentials: StoreCredentials, address: str, secret: str | None
    ) -> list[dict[str, Any]]:
        """Subscribe every topic in :data:`~aftersales_shopify.webhooks.TOPICS` to ``address``.

        ``secret`` is not sent: Shopify signs every webhook with the app's client secret, which
        is the secret to register for the shop (``aftersales shop add --webhook-secret``).
        """
        client = self.client(credentials)
        try:
            return client.ensure_webhooks(address)
        finally:
            client.close()
