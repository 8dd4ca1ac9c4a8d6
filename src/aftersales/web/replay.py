"""Replay of a stored webhook delivery (``aftersales replay DELIVERY_ID``).

Two cases, because WooCommerce never re-sends what it once failed to deliver:

- an **accepted** (or duplicate) delivery has an inbox row: it is set back to ``pending`` so
  the engine processes it again. Processing is idempotent (the ledger, the case's source
  reference), so a replay can repair a bug fixed since, never double a refund;
- a **refused** delivery (bad signature, unknown shop, a plugin that could not read it) is
  checked again with today's shop registry and secrets; if it passes now — typically after
  the merchant fixed a mistyped secret — it is recorded in the inbox as the ingress would
  have, with ``source = "replay"``, and the delivery row points at it.

A ping, a body over the cap (only its first bytes were kept) or a body that still does not
verify is left alone and the reason is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from aftersales.plugins import Plugins
from aftersales.store.models import Delivery, InboxItem, Shop
from aftersales.web.ingress import (
    Outcome,
    envelope_problem,
    insert_inbox,
    parse_problem,
    reverify,
    safe_envelope,
)


@dataclass(frozen=True)
class ReplayResult:
    delivery_id: int
    action: str
    """``requeued`` | ``recorded`` | ``already_recorded`` | ``refused``."""
    detail: str
    inbox_id: int | None = None

    @property
    def queued(self) -> bool:
        return self.action in ("requeued", "recorded")


class DeliveryNotFound(LookupError):
    pass


def replay_delivery(sessions: sessionmaker[Session], plugins: Plugins, delivery_id: int) -> ReplayResult:
    with sessions() as session, session.begin():
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise DeliveryNotFound(f"no delivery {delivery_id}")
        if delivery.inbox_id is not None:
            return _requeue(session, delivery)
        return _retry_refused(session, plugins, delivery)


def _requeue(session: Session, delivery: Delivery) -> ReplayResult:
    item = session.get(InboxItem, delivery.inbox_id)
    if item is None:
        return ReplayResult(delivery.id, "refused", f"inbox row {delivery.inbox_id} no longer exists")
    previous = item.state
    # a manual replay starts afresh: no backoff, a full budget of attempts
    item.state = "pending"
    item.error = None
    item.attempts = 0
    item.processed_at = None
    return ReplayResult(
        delivery.id,
        "requeued",
        f"inbox row {item.id} ({item.topic}, shop {item.shop_id}) set from {previous} back to pending",
        inbox_id=item.id,
    )


def _retry_refused(session: Session, plugins: Plugins, delivery: Delivery) -> ReplayResult:
    def refused(why: str) -> ReplayResult:
        return ReplayResult(delivery.id, "refused", why)

    if delivery.outcome == Outcome.PING.value:
        return refused("a ping carries no event")
    if delivery.outcome == Outcome.TOO_LARGE.value:
        return refused("the body was over the size cap; only its first bytes were kept")
    if delivery.outcome == Outcome.ERROR.value and delivery.body is None:
        return refused("the database was unavailable; the platform's retry carries the event")
    body = delivery.body
    if body is None:
        return refused("no body was kept for this delivery")
    adapter = plugins.platforms().get(delivery.platform)
    if adapter is None:
        return refused(f"no platform plugin named {delivery.platform!r} is loaded")
    shop = session.get(Shop, delivery.shop_id) if delivery.shop_id else None
    if shop is None or shop.platform != delivery.platform:
        return refused(f"shop {delivery.shop_id!r} is not registered on {delivery.platform}")
    headers = reverify(adapter, body, delivery.headers or {}, [str(s) for s in shop.webhook_secrets or []])
    if headers is None:
        return refused("the signature still does not match any of the shop's webhook secrets")
    envelope, envelope_error = safe_envelope(adapter, body, headers)
    problem = parse_problem(body) or envelope_problem(envelope, envelope_error)
    if problem is not None or envelope is None:
        return refused(f"the body is still not acceptable: {problem}")
    inbox_id, created = insert_inbox(
        session.connection(),
        shop_id=shop.id,
        platform=delivery.platform,
        envelope=envelope,
        body=body,
        source="replay",
        # when it really arrived (also makes it due at once for the engine's sweeper)
        received_at=delivery.received_at,
    )
    delivery.inbox_id = inbox_id
    if not created:
        return ReplayResult(
            delivery.id,
            "already_recorded",
            f"the same event is already inbox row {inbox_id} (dedupe key {envelope.dedupe_key})",
            inbox_id=inbox_id,
        )
    return ReplayResult(
        delivery.id,
        "recorded",
        f"verified with the shop's current secrets and recorded as inbox row {inbox_id} ({envelope.topic})",
        inbox_id=inbox_id,
    )
