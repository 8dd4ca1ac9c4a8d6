"""Webhook signatures and envelopes: Shopify signs the exact body bytes with the app secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from aftersales_shopify import ShopifyPlatform

BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
SECRET = "whsec_current"


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def shopify() -> ShopifyPlatform:
    return ShopifyPlatform()


def test_a_body_signed_with_the_app_secret_is_accepted(shopify: ShopifyPlatform) -> None:
    assert shopify.verify(BODY, {"X-Shopify-Hmac-Sha256": sign(BODY, SECRET)}, [SECRET])


def test_a_body_changed_after_signing_is_rejected(shopify: ShopifyPlatform) -> None:
    tampered = BODY.replace(b"820982911946154508", b"820982911946154509")
    assert not shopify.verify(tampered, {"X-Shopify-Hmac-Sha256": sign(BODY, SECRET)}, [SECRET])


def test_re_serialised_json_no_longer_matches(shopify: ShopifyPlatform) -> None:
    """The signature covers the raw bytes, so parsing and re-dumping the body breaks it."""
    reformatted = b'{"id": 820982911946154508, "email": "jon@example.com"}'
    assert not shopify.verify(reformatted, {"X-Shopify-Hmac-Sha256": sign(BODY, SECRET)}, [SECRET])


def test_a_signature_made_with_another_secret_is_rejected(shopify: ShopifyPlatform) -> None:
    assert not shopify.verify(BODY, {"X-Shopify-Hmac-Sha256": sign(BODY, "someone-else")}, [SECRET])


def test_during_secret_rotation_both_old_and_new_secrets_are_accepted(shopify: ShopifyPlatform) -> None:
    secrets = ["whsec_new", SECRET]
    assert shopify.verify(BODY, {"X-Shopify-Hmac-Sha256": sign(BODY, SECRET)}, secrets)
    assert shopify.verify(BODY, {"X-Shopify-Hmac-Sha256": sign(BODY, "whsec_new")}, secrets)
    assert not shopify.verify(BODY, {"X-Shopify-Hmac-Sha256": sign(BODY, "whsec_retired")}, secrets)


@pytest.mark.parametrize(
    "headers", [{}, {"X-Shopify-Hmac-Sha256": ""}, {"X-Shopify-Hmac-Sha256": "not base64 at all"}]
)
def test_a_missing_or_garbled_signature_is_rejected(
    shopify: ShopifyPlatform, headers: dict[str, str]
) -> None:
    assert not shopify.verify(BODY, headers, [SECRET])


def test_no_configured_secret_accepts_nothing(shopify: ShopifyPlatform) -> None:
    assert not shopify.verify(BODY, {"X-Shopify-Hmac-Sha256": sign(BODY, SECRET)}, [])


def test_header_names_are_case_insensitive(shopify: ShopifyPlatform) -> None:
    assert shopify.verify(BODY, {"x-shopify-hmac-sha256": sign(BODY, SECRET)}, [SECRET])


def test_the_envelope_dedupes_on_the_webhook_id(shopify: ShopifyPlatform) -> None:
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": sign(BODY, SECRET),
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2023-03-29T18:00:27.877041743Z",
        "X-Shopify-API-Version": "2026-07",
    }
    envelope = shopify.envelope(BODY, headers)
    assert envelope.topic == "orders/create"
    assert envelope.dedupe_key == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert envelope.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert envelope.triggered_at == "2023-03-29T18:00:27.877041743Z"
    assert envelope.source == "example.myshopify.com"
    assert not envelope.is_ping


def test_an_envelope_without_shopify_headers_has_nothing_to_dedupe_on(shopify: ShopifyPlatform) -> None:
    envelope = shopify.envelope(BODY, {})
    assert envelope.topic is None
    assert envelope.dedupe_key is None
