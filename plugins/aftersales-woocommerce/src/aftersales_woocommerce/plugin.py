"""Entry point (group ``aftersales``, name ``woocommerce``): registers the WooCommerce adapter."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aftersales import hookimpl
from aftersales.domain import DomainEvent
from aftersales.platforms import PlatformAdapter, StoreCredentials, WebhookEnvelope
from aftersales_woocommerce import webhooks
from aftersales_woocommerce.client import WooCommerceClient
from aftersales_woocommerce.rest import RetryPolicy, WooCommerceRest
from aftersales_woocommerce.subscriptions import ensure_webhooks


class WooCommercePlatform:
    """The WooCommerce platform adapter (stateless; one instance serves every shop).

    ``retry`` overrides the retry policy of every client it builds (tests use short delays);
    by default each shop's credentials may carry ``retry_attempts``/``retry_base_delay``/
    ``retry_max_delay`` extras, else :class:`RetryPolicy` defaults apply.
    """

    name = "woocommerce"

    def __init__(self, *, retry: RetryPolicy | None = None) -> None:
        self.retry = retry

    def topics(self) -> Sequence[str]:
        return webhooks.TOPICS

    def envelope(self, body: bytes, headers: Mapping[str, str]) -> WebhookEnvelope:
        return webhooks.envelope(body, headers)

    def verify(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> bool:
        return webhooks.verify(body, headers, secrets)

    def normalize(self, topic: str, payload: Any) -> DomainEvent:
        return webhooks.normalize(topic, payload)

    def client(self, credentials: StoreCredentials) -> WooCommerceClient:
        return WooCommerceClient(credentials, retry=self.retry)

    def ensure_webhooks(
        self, credentials: StoreCredentials, address: str, secret: str | None
    ) -> list[dict[str, Any]]:
        return ensure_webhooks(WooCommerceRest(credentials, retry=self.retry), address, secret)


@hookimpl
def aftersales_register_platforms(register: Callable[[PlatformAdapter], None]) -> None:
    register(WooCommercePlatform())
