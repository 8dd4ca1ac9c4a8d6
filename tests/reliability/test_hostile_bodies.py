"""Thousands of malformed, truncated, oversized, unsigned and mis-signed requests: none gets in.

Each request is drawn from a catalogue of what reaches a public webhook URL — scanners, broken
proxies, a shop with a rotated secret, a sender cut off mid-body, someone probing for a parser
bug — for a WooCommerce and a Shopify shop, and sent over real sockets from eight threads. Each
kind has the one answer the ingress contract (DESIGN §10) gives it:

- no or wrong signature (other secret, other body, truncated body, garbage, empty) → 401;
- correctly signed but not JSON (truncated, binary, not UTF-8, empty, nested too deep for the
  parser) or without a topic → 400;
- over the 1 MiB cap, declared or chunked without a length → 413;
- a shop or platform that does not exist → 404.

Afterwards: no answer was 5xx, nothing reached the inbox, the delivery log holds every request
with the outcome of its kind, and the service is still well: ``/healthz`` and ``/readyz`` answer
200 and a valid delivery is accepted. SQLite only: no refused request reaches the inbox insert
(the one statement that differs on PostgreSQL), and the delivery log's insert is the same Core
statement on both. A correctly signed, deeply nested JSON body is left out of
the catalogue: the ingress answers it 503 and fails its batch neighbours (see
``test_ingress_bugs.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections import Counter
from collections.abc import Callable
from random import Random
from typing import Any, ClassVar

import httpx
import pytest

from aftersales.store.models import Delivery, InboxItem

pytestmark = pytest.mark.reliability

WOO_SHOP = "rel-hostile-woo"
SHOPIFY_SHOP = "rel-hostile-shopify"
WOO_SECRET = "rel-hostile-woo-secret-0123"
SHOPIFY_SECRET = "rel-hostile-shopify-secret-0123"
CAP = 1024 * 1024

ORDER = json.dumps(
    {"id": 4242, "number": "4242", "status": "processing", "currency": "PLN", "total": "29.35",
     "date_modified_gmt": "2026-05-04T10:00:00", "line_items": [], "billing": {"email": "a@example.com"}}
).encode()  # fmt: skip


def _sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Catalogue:
    """Draws hostile requests; ``kind → (expected status, expected delivery-log outcome)``."""

    EXPECTED: ClassVar[dict[str, tuple[int, str]]] = {
        "unsigned": (401, "bad_signature"),
        "other_secret": (401, "bad_signature"),
        "signature_of_other_body": (401, "bad_signature"),
        "truncated_body": (401, "bad_signature"),
        "garbage_signature": (401, "bad_signature"),
        "empty_signature": (401, "bad_signature"),
        "unsigned_binary": (401, "bad_signature"),
        "unsigned_nested": (401, "bad_signature"),
        "signed_truncated_json": (400, "malformed"),
        "signed_binary": (400, "malformed"),
        "signed_not_utf8": (400, "malformed"),
        "signed_empty": (400, "malformed"),
        "signed_no_topic": (400, "malformed"),
        "signed_nested": (400, "malformed"),
        "oversized": (413, "too_large"),
        "oversized_chunked": (413, "too_large"),
        "unknown_shop": (404, "unknown_shop"),
        "unknown_platform": (404, "unknown_platform"),
    }
    RARE: ClassVar[dict[str, float]] = {"oversized": 0.01, "oversized_chunked": 0.01}
    """Share of these kinds (each sends a megabyte); the others share the rest evenly."""

    def __init__(self, rng: Random, post: Any) -> None:
        self.rng = rng
        self.post = post
        self.delivery = 0
        common = [k for k in self.EXPECTED if k not in self.RARE]
        rest = 1.0 - sum(self.RARE.values())
        self.kinds = [*self.RARE, *common]
        self.weights = [*self.RARE.values(), *[rest / len(common)] * len(common)]

    def draw(self) -> tuple[str, Any]:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        platform = self.rng.choice(["woocommerce", "shopify"])
        return kind, self.build(kind, platform)

    def _headers(
        self, platform: str, body: bytes, signature: str | None, topic: str | None
    ) -> dict[str, str]:
        self.delivery += 1
        if platform == "woocommerce":
            headers = {"X-WC-Webhook-ID": "3", "X-WC-Webhook-Delivery-ID": str(self.delivery),
                       "X-WC-Webhook-Source": "https://shop.example/"}  # fmt: skip
            if topic:
                headers["X-WC-Webhook-Topic"] = topic
            if signature is not None:
                headers["X-WC-Webhook-Signature"] = signature
        else:
            headers = {
                "X-Shopify-Webhook-Id": f"hostile-{self.delivery}",
                "X-Shopify-Shop-Domain": "shop.myshopify.com",
            }
            if topic:
                headers["X-Shopify-Topic"] = topic
            if signature is not None:
                headers["X-Shopify-Hmac-Sha256"] = signature
        headers["Content-Type"] = "application/json"
        return headers

    def build(self, kind: str, platform: str) -> Any:
        rng = self.rng
        shop, secret = (WOO_SHOP, WOO_SECRET) if platform == "woocommerce" else (SHOPIFY_SHOP, SHOPIFY_SECRET)
        topic = "order.updated" if platform == "woocommerce" else "orders/updated"
        body, signature, chunked, path = ORDER, _sign(secret, ORDER), False, f"/webhooks/{platform}/{shop}"
        cut = rng.randrange(1, len(ORDER) - 1)
        if kind == "unsigned":
            signature = None
        elif kind == "other_secret":
            signature = _sign(secret + "-old", body)
        elif kind == "signature_of_other_body":
            signature = _sign(secret, body + b" ")
        elif kind == "truncated_body":
            body = ORDER[:cut]  # signed over the whole body, cut off on the way
        elif kind == "garbage_signature":
            signature = rng.choice(
                ["x", "====", "not base64 at all!", "A" * 10_000, base64.b64encode(os.urandom(32)).decode()]
            )
        elif kind == "empty_signature":
            signature = ""
        elif kind == "unsigned_binary":
            body, signature = os.urandom(rng.randrange(1, 4096)), None
        elif kind == "unsigned_nested":
            depth = rng.randrange(1000, 200_000)
            body, signature = b"[" * depth + b"]" * depth, None
        elif kind == "signed_truncated_json":
            body = ORDER[:cut]
            signature = _sign(secret, body)
        elif kind == "signed_binary":
            body = b"\x00\xff" + os.urandom(rng.randrange(1, 2048))
            signature = _sign(secret, body)
        elif kind == "signed_not_utf8":
            body = ORDER.replace(b"processing", b"proc\xe9ssing")
            signature = _sign(secret, body)
        elif kind == "signed_empty":
            body, signature = b"", _sign(secret, b"")
        elif kind == "signed_nested":
            depth = rng.randrange(5_000, 200_000)
            body = b"[" * depth + b"]" * depth
            signature = _sign(secret, body)
        elif kind == "signed_no_topic":
            topic = ""
        elif kind in ("oversized", "oversized_chunked"):
            body = b'{"id": 1, "pad": "' + b"x" * (CAP + rng.randrange(1, 65536)) + b'"}'
            signature, chunked = _sign(secret, body), kind == "oversized_chunked"
        elif kind == "unknown_shop":
            path = f"/webhooks/{platform}/no-such-shop"
        elif kind == "unknown_platform":
            path = f"/webhooks/magento/{shop}"
        return self.post(path, body, self._headers(platform, body, signature, topic), chunked=chunked)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_hostile_requests_are_refused_recorded_and_harmless(
    backend: Any,
    service: Any,
    sizes: Any,
    rng: Random,
    sender: Any,
    woo_delivery: Callable[..., dict[str, str]],
) -> None:
    service.add_shop(WOO_SHOP, platform="woocommerce", secret=WOO_SECRET, credentials={})
    service.add_shop(SHOPIFY_SHOP, platform="shopify", secret=SHOPIFY_SECRET, credentials={})
    catalogue = Catalogue(rng, sender.Post)
    drawn = [catalogue.draw() for _ in range(sizes.bad_bodies)]
    answers = sender(service.url, [post for _, post in drawn])

    broken = [(kind, a.error) for (kind, _), a in zip(drawn, answers, strict=True) if a.status == 0]
    assert broken == [], broken[:5]
    server_errors = Counter(kind for (kind, _), a in zip(drawn, answers, strict=True) if a.status >= 500)
    assert server_errors == Counter()
    wrong = Counter(
        (kind, a.status)
        for (kind, _), a in zip(drawn, answers, strict=True)
        if a.status != Catalogue.EXPECTED[kind][0]
    )
    assert wrong == Counter()

    assert service.count(InboxItem) == 0
    expected = Counter(Catalogue.EXPECTED[kind][1] for kind, _ in drawn)
    assert Counter(service.deliveries()) == expected
    assert service.count(Delivery) == sizes.bad_bodies
    print(f"{sizes.bad_bodies} hostile requests: {dict(sorted(Counter(k for k, _ in drawn).items()))}")

    # still well: alive, ready, and taking a valid delivery as if nothing happened
    assert httpx.get(f"{service.url}/healthz", timeout=10).status_code == 200
    ready = httpx.get(f"{service.url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    headers = woo_delivery(WOO_SECRET, ORDER, topic="order.updated", webhook_id=3, delivery_id=1, source="x")
    valid = httpx.post(
        f"{service.url}/webhooks/woocommerce/{WOO_SHOP}", content=ORDER, headers=headers, timeout=10
    )
    assert (valid.status_code, valid.json()["status"]) == (200, "accepted")
    assert service.count(InboxItem) == 1
