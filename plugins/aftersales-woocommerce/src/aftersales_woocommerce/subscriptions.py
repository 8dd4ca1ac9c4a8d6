"""Keep a shop's webhook subscriptions pointed at aftersales (``aftersales woocommerce setup``).

Idempotent by design: run it as often as you like; a second run changes nothing.

- Existing webhooks are read (``GET /webhooks``, all pages). For each topic, ours is the one
  with that topic whose ``delivery_url`` is the address, else one whose name starts with
  ``aftersales `` (an older address of ours, which is then moved). Other apps' webhooks are
  never touched.
- WooCommerce never returns a webhook's ``secret`` (it is write-only), so a secret change
  cannot be seen by reading. The name carries a short fingerprint of the secret
  (``aftersales order.created #1a2b3c4d``: 32 bits of a SHA-256 of a high-entropy secret, which
  tells nothing useful about it); a different fingerprint means the secret must be rewritten.
- A webhook WooCommerce has ``disabled`` (after more than 5 consecutive failed deliveries) or a
  merchant ``paused`` is set ``active`` again: missed deliveries are recovered by reconciliation.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aftersales_woocommerce.payloads import WcWebhook
from aftersales_woocommerce.rest import WooCommerceRest
from aftersales_woocommerce.webhooks import TOPICS

NAME_PREFIX = "aftersales "


def secret_fingerprint(secret: str | None) -> str:
    if not secret:
        return "nosecret"
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def webhook_name(topic: str, secret: str | None) -> str:
    return f"{NAME_PREFIX}{topic} #{secret_fingerprint(secret)}"


def _ours(candidates: list[WcWebhook], address: str) -> WcWebhook | None:
    exact = [w for w in candidates if w.delivery_url == address]
    if exact:
        return min(exact, key=lambda w: w.id)
    named = [w for w in candidates if w.name.startswith(NAME_PREFIX)]
    return min(named, key=lambda w: w.id) if named else None


def ensure_webhooks(
    rest: WooCommerceRest, address: str, secret: str | None, topics: tuple[str, ...] = TOPICS
) -> list[dict[str, Any]]:
    """Create or update one active webhook per topic to ``address``; one record per topic."""
    existing: list[WcWebhook] = []
    for item in rest.paginate("webhooks", what="list webhooks"):
        try:
            existing.append(WcWebhook.model_validate(item))
        except ValueError:
            continue  # a webhook we cannot read is not ours to manage
    records: list[dict[str, Any]] = []
    for topic in topics:
        name = webhook_name(topic, secret)
        hook = _ours([w for w in existing if w.topic == topic], address)
        if hook is None:
            body: dict[str, Any] = {
                "name": name,
                "topic": topic,
                "delivery_url": address,
                "status": "active",
            }
            if secret:
                body["secret"] = secret
            created = rest.request("POST", "webhooks", data=body, what=f"create webhook {topic}").json()
            records.append({"topic": topic, "id": str(created.get("id")), "action": "created"})
            continue
        changes: dict[str, Any] = {}
        if hook.delivery_url != address:
            changes["delivery_url"] = address
        if hook.status != "active":
            changes["status"] = "active"
        if hook.name != name:
            changes["name"] = name
            if secret:
                changes["secret"] = secret
        if changes:
            rest.request("PUT", f"webhooks/{hook.id}", data=changes, what=f"update webhook {topic}")
            records.append({"topic": topic, "id": str(hook.id), "action": "updated"})
        else:
            records.append({"topic": topic, "id": str(hook.id), "action": "unchanged"})
    return records
