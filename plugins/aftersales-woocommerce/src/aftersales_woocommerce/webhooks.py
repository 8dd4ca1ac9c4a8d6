"""WooCommerce webhook deliveries: envelope (topic, dedupe key, ping), signature, meaning.

What WooCommerce sends (DESIGN §10): a POST with the resource as JSON and the headers
``X-WC-Webhook-Topic`` (``order.updated``), ``X-WC-Webhook-Resource``, ``X-WC-Webhook-Event``,
``X-WC-Webhook-Signature`` (base64 HMAC-SHA256 of the exact body with the webhook's secret),
``X-WC-Webhook-ID`` (the subscription), ``X-WC-Webhook-Delivery-ID`` and ``X-WC-Webhook-Source``.

Quirks handled here:

- **Activation ping.** When a webhook is created or activated WooCommerce posts the form body
  ``webhook_id=N`` with no topic and no signature. It must get a 200 or WooCommerce counts a
  failure; it carries nothing to process.
- **Dedupe key.** ``X-WC-Webhook-Delivery-ID`` is new on every send, so it cannot recognize a
  re-send of the same change. The key is the subscription + resource + ``date_modified_gmt``
  of the body: the same change of the same resource always yields the same key. Deletion
  bodies are just ``{"id": N}`` (no modification date), so their key is the subscription +
  resource + ``deleted``: a deletion is final, re-sends collapse onto it. A body without
  ``date_modified_gmt`` falls back to a hash of its exact bytes (identical re-sends still dedupe).
- **Order of arrival is not the order of changes**, and WooCommerce never retries a failed
  delivery: the engine refetches and reconciles by polling; nothing here relies on order.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from aftersales.domain import (
    DomainEvent,
    EventType,
    OrderData,
    Platform,
    ResourceRef,
    StockData,
)
from aftersales.platforms import (
    MalformedPayload,
    UnknownTopic,
    WebhookEnvelope,
    header,
    hmac_sha256_base64_matches,
)
from aftersales_woocommerce.orders import to_order
from aftersales_woocommerce.payloads import WcOrder, WcProduct, describe
from aftersales_woocommerce.products import stock_levels

ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
PRODUCT_TOPICS = ("product.created", "product.updated", "product.deleted", "product.restored")
TOPICS: tuple[str, ...] = ORDER_TOPICS + PRODUCT_TOPICS
"""Every topic :func:`normalize` understands, and the subscriptions ``ensure_webhooks`` keeps."""

TOPIC_HEADER = "X-WC-Webhook-Topic"
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
WEBHOOK_ID_HEADER = "X-WC-Webhook-ID"
DELIVERY_ID_HEADER = "X-WC-Webhook-Delivery-ID"
SOURCE_HEADER = "X-WC-Webhook-Source"

_PING = re.compile(rb"^\s*webhook_id=(\d+)\s*$")


def ping_webhook_id(body: bytes) -> str | None:
    """The webhook id of an activation ping body (``webhook_id=12``), else None."""
    match = _PING.match(body)
    return match.group(1).decode() if match else None


def _resource_key(body: bytes) -> tuple[str, str]:
    """(resource id, version) from the body for the dedupe key; never raises."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if isinstance(payload, dict):
        rid = payload.get("id")
        # Only a plausible post id goes into the key (the envelope is read before the signature
        # is checked, so the body may be anything; the inbox caps the key's length).
        rid_text = str(rid).strip() if isinstance(rid, int | str) and not isinstance(rid, bool) else "?"
        if not rid_text.isdigit() or len(rid_text) > 20:
            rid_text = "?"
        modified = payload.get("date_modified_gmt")
        if isinstance(modified, str) and modified:
            return rid_text, modified
        if set(payload) == {"id"}:
            return rid_text, "deleted"
        return rid_text, "sha256:" + hashlib.sha256(body).hexdigest()
    return "?", "sha256:" + hashlib.sha256(body).hexdigest()


def envelope(body: bytes, headers: Mapping[str, str]) -> WebhookEnvelope:
    topic = header(headers, TOPIC_HEADER)
    signature = header(headers, SIGNATURE_HEADER)
    ping_id = ping_webhook_id(body)
    source = header(headers, SOURCE_HEADER)
    delivery = header(headers, DELIVERY_ID_HEADER)
    if ping_id is not None and not topic and not signature:
        return WebhookEnvelope(topic=None, dedupe_key=None, is_ping=True, event_id=delivery, source=source)
    webhook_id = header(headers, WEBHOOK_ID_HEADER) or "-"
    resource = topic.split(".", 1)[0] if topic else "-"
    rid, version = _resource_key(body)
    key = f"woocommerce:{webhook_id}:{resource}:{rid}:{version}"
    return WebhookEnvelope(topic=topic, dedupe_key=key, is_ping=False, event_id=delivery, source=source)


def verify(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> bool:
    return hmac_sha256_base64_matches(body, header(headers, SIGNATURE_HEADER), secrets)


def _ref(topic: str, resource: str, payload: Any, event_type: EventType) -> DomainEvent:
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{topic} body must be a JSON object, got {type(payload).__name__}")
    rid = payload.get("id")
    if isinstance(rid, bool) or not isinstance(rid, int | str) or not str(rid).strip().isdigit():
        raise MalformedPayload(f"{topic} body needs an integer 'id', got {rid!r}")
    return DomainEvent(
        platform=Platform.WOOCOMMERCE,
        topic=topic,
        type=event_type,
        shop_resource_id=str(rid).strip(),
        data=ResourceRef(resource=resource, id=str(rid).strip()),
    )


def _parse(model: type[WcOrder] | type[WcProduct], topic: str, payload: Any) -> Any:
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{topic} body must be a JSON object, got {type(payload).__name__}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise MalformedPayload(f"{topic}: {describe(exc)}") from None


def normalize(topic: str, payload: Any) -> DomainEvent:
    """The domain event for a webhook body. Raises UnknownTopic / MalformedPayload."""
    if topic not in TOPICS:
        raise UnknownTopic(f"WooCommerce topic {topic!r} is not handled; known: {', '.join(TOPICS)}")
    if topic == "order.deleted":
        return _ref(topic, "order", payload, EventType.ORDER_DELETED)
    if topic == "product.deleted":
        return _ref(topic, "product", payload, EventType.PRODUCT_DELETED)
    if topic in ORDER_TOPICS:
        wc_order: WcOrder = _parse(WcOrder, topic, payload)
        try:
            order = to_order(wc_order)
        except ValueError as exc:  # pydantic ValidationError and CurrencyMismatch are ValueErrors
            raise MalformedPayload(f"{topic}: {exc}") from None
        return DomainEvent(
            platform=Platform.WOOCOMMERCE,
            topic=topic,
            type=EventType.ORDER_CANCELLED if wc_order.status == "cancelled" else EventType.ORDER_UPSERTED,
            shop_resource_id=str(wc_order.id),
            occurred_at=wc_order.date_modified_gmt,
            data=OrderData(order=order),
        )
    product: WcProduct = _parse(WcProduct, topic, payload)
    try:
        levels = stock_levels(product)
    except ValueError as exc:
        raise MalformedPayload(f"{topic}: {exc}") from None
    return DomainEvent(
        platform=Platform.WOOCOMMERCE,
        topic=topic,
        type=EventType.PRODUCT_UPSERTED,
        shop_resource_id=str(product.id),
        occurred_at=product.date_modified_gmt,
        data=StockData(name=html.unescape(product.name) if product.name else None, levels=levels),
    )
