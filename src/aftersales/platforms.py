"""The contract between the core and a platform plugin (WooCommerce, Shopify, anyone's own).

A plugin registers one :class:`PlatformAdapter` through ``aftersales_register_platforms``.
The adapter is stateless and knows nothing of the store: it verifies and parses webhooks,
and builds a :class:`ShopClient` for one shop's credentials. Only the engine calls the
client's effectful methods (refunds, notes), always with an effect key from the ledger.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from aftersales.domain import DomainEvent, Money, Order, RefundRecord, StockLevel

# -- errors ---------------------------------------------------------------------------------------


class PlatformError(Exception):
    """A platform call failed. ``code`` is the platform's own error code when it gave one."""

    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class TransientPlatformError(PlatformError):
    """Worth retrying later: 429, 5xx, throttling, connection reset, timeout before sending."""

    retryable = True


class OutcomeUnknown(PlatformError):
    """The request may or may not have taken effect (timeout or lost response after sending).

    The ledger must look the effect up (``find_refund``) before any retry.
    """

    retryable = True


class AuthenticationFailed(PlatformError):
    """Credentials were rejected (401/403)."""


class NotFound(PlatformError):
    """The resource does not exist at the platform (404)."""


class RejectedByPlatform(PlatformError):
    """The platform refused the request for a business reason (validation, userErrors)."""


class UnknownTopic(ValueError):
    """A webhook topic this platform plugin does not handle."""


class MalformedPayload(ValueError):
    """A webhook body that is not what the topic promises (bad JSON, missing id, wrong types)."""


# -- webhook envelope -------------------------------------------------------------------------


class WebhookEnvelope(BaseModel):
    """What the ingress learns from the headers and the raw body, before any parsing of meaning."""

    model_config = ConfigDict(frozen=True)

    topic: str | None
    dedupe_key: str | None
    """Stable across re-sends of the same change; the inbox's UNIQUE key (None for pings)."""
    is_ping: bool = False
    """A platform health check (WooCommerce's unsigned ``webhook_id=N``): answer 200, do nothing."""
    event_id: str | None = None
    triggered_at: str | None = None
    source: str | None = None


class RefundLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_item_id: str
    quantity: int = Field(ge=0)
    amount: Money
    """Refund for these units, tax included."""
    tax: Money
    """The tax share of ``amount`` (platforms that split refunds by tax need it)."""
    restock: bool = False


class RefundRequest(BaseModel):
    """A refund the engine wants; ``effect_key`` makes it idempotent at the platform."""

    model_config = ConfigDict(frozen=True)

    effect_key: str
    order_id: str
    amount: Money
    lines: tuple[RefundLine, ...] = ()
    shipping: Money | None = None
    reason: str = ""
    notify_customer: bool = True
    move_money: bool = True
    """Ask the payment gateway to pay the money back (WooCommerce ``api_refund``)."""


class StoreCredentials(BaseModel):
    """A shop's platform credentials, as registered with ``aftersales shop add``."""

    model_config = ConfigDict(frozen=True, extra="allow")

    url: str | None = None
    """Base URL of the shop API (WooCommerce site URL; Shopify ``https://DOMAIN``)."""
    key: str | None = None
    secret: str | None = None
    token: str | None = None
    api_version: str | None = None
    timeout_seconds: float = 10.0


# -- the adapter ------------------------------------------------------------------------------


@runtime_checkable
class ShopClient(Protocol):
    """One shop's API. Every method is synchronous and raises :class:`PlatformError` subclasses."""

    def fetch_order(self, order_id: str) -> Order: ...

    def list_orders_changed_since(self, since: datetime) -> Iterator[Order]: ...

    def list_refunds(self, order_id: str) -> list[RefundRecord]: ...

    def find_refund(self, order_id: str, effect_key: str) -> RefundRecord | None:
        """The refund made for ``effect_key``, if the platform has it (crash recovery)."""
        ...

    def create_refund(self, request: RefundRequest) -> RefundRecord: ...

    def add_note(self, order_id: str, text: str, *, customer_visible: bool) -> None: ...

    def read_stock(self, product_id: str, variant_id: str | None) -> StockLevel: ...

    def list_stock_changed_since(self, since: datetime) -> Iterator[StockLevel]:
        """Stock of products/variants modified since ``since`` (reconciliation of restocks)."""
        ...

    def platform_action(self, action: str, params: Mapping[str, Any], effect_key: str) -> dict[str, Any]:
        """A platform-specific effect, e.g. Shopify ``return.approve``; raises RejectedByPlatform
        for an action the platform does not know."""
        ...


@runtime_checkable
class PlatformAdapter(Protocol):
    name: str
    """The platform's name in routes and CLI flags (``shopify``, ``woocommerce``)."""

    def topics(self) -> Sequence[str]:
        """Every webhook topic :meth:`normalize` understands."""
        ...

    def envelope(self, body: bytes, headers: Mapping[str, str]) -> WebhookEnvelope:
        """Read topic, dedupe key and ping-ness from headers and body (no signature check)."""
        ...

    def verify(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> bool:
        """True when the body is signed by one of ``secrets`` (constant-time compare)."""
        ...

    def normalize(self, topic: str, payload: Any) -> DomainEvent:
        """Turn a webhook body (parsed JSON) into a domain event.

        Raises :class:`UnknownTopic` or :class:`MalformedPayload`.
        """
        ...

    def client(self, credentials: StoreCredentials) -> ShopClient: ...

    def ensure_webhooks(
        self, credentials: StoreCredentials, address: str, secret: str | None
    ) -> list[dict[str, Any]]:
        """Create or update the shop's webhook subscriptions to ``address``, idempotently.

        Returns one record per topic: ``{"topic", "id", "action": created|updated|unchanged}``.
        """
        ...


def hmac_sha256_base64_matches(body: bytes, signature: str | None, secrets: Iterable[str]) -> bool:
    """Base64 HMAC-SHA256 of the exact bytes against each secret, compared in constant time.

    Both Shopify (``X-Shopify-Hmac-Sha256``) and WooCommerce (``X-WC-Webhook-Signature``) sign
    this way. Several secrets allow rotation. Every secret is tried even after a match so the
    time taken does not tell which one matched.
    """
    if not signature:
        return False
    given = signature.strip().encode("ascii", errors="replace")
    ok = False
    for secret in secrets:
        expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
        ok = hmac.compare_digest(expected, given) or ok
    return ok


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup for plain dicts (Starlette's Headers is already insensitive)."""
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, val in headers.items():
        if key.lower() == lower:
            return val
    return None
