"""GDPR access (art. 15) and erasure (art. 17) for one e-mail address's back-in-stock data.

Export returns everything the restock feature stores about the address at one shop:
subscriptions with their consent records, the alerts sent (and whether they were opened
through the tracked link), the orders attributed to them, and the e-mails in the outbox.

Erasure deletes the subscriptions and the address's restock e-mails, and anonymizes what
the shop's statistics still need: an alert row keeps its wave and click time, a conversion
its order and amount, but neither points at a subscription any more. The pointer becomes
the row's own id negated rather than NULL (the columns are NOT NULL, and a freed
subscription id may be reused by SQLite for a new subscriber, who must not inherit the
erased person's "already alerted in this episode" rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from aftersales.store.models import (
    Conversion,
    OutboxMessage,
    RestockEpisode,
    RestockMessage,
    SubscriptionRow,
)
from aftersales.workflows.restock.subscriptions import ALERT_TEMPLATE, CONFIRM_TEMPLATE, normalize_email

RESTOCK_TEMPLATES = (ALERT_TEMPLATE, CONFIRM_TEMPLATE)


@dataclass(frozen=True)
class ErasureReport:
    subscriptions: int
    messages_anonymized: int
    conversions_anonymized: int
    outbox_deleted: int


def _address(email: str) -> str:
    return normalize_email(email) or email.strip().lower()


def _subscription_ids(session: Session, shop_id: str, address: str) -> list[int]:
    return list(
        session.scalars(
            select(SubscriptionRow.id).where(
                SubscriptionRow.shop_id == shop_id, SubscriptionRow.email == address
            )
        )
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_address(session: Session, shop_id: str, email: str) -> dict[str, Any]:
    """Everything stored about ``email`` by the restock feature at ``shop_id``, as JSON-ready data."""
    address = _address(email)
    subs = list(
        session.scalars(
            select(SubscriptionRow)
            .where(SubscriptionRow.shop_id == shop_id, SubscriptionRow.email == address)
            .order_by(SubscriptionRow.id)
        )
    )
    ids = [s.id for s in subs]
    variant_of = {s.id: s.variant_id for s in subs}
    subscriptions = []
    for s in subs:
        consent = dict(s.consent or {})
        confirmation = dict(consent.pop("confirmation", None) or {})
        subscriptions.append(
            {
                "variant_id": s.variant_id,
                "product_id": s.product_id,
                "channel": s.channel,
                "locale": s.locale,
                "status": s.status,
                "created_at": _iso(s.created_at),
                "confirmed_at": _iso(s.confirmed_at),
                "unsubscribed_at": _iso(s.unsubscribed_at),
                "consent": {
                    "at": consent.get("at"),
                    "ip": consent.get("ip"),
                    "wording_version": consent.get("wording_version"),
                    "double_opt_in": consent.get("double_opt_in"),
                    "confirmed_at": confirmation.get("confirmed_at"),
                    "confirmed_from_ip": confirmation.get("ip"),
                    "confirmation_sent_at": confirmation.get("sent_at"),
                },
            }
        )
    messages = []
    conversions = []
    if ids:
        rows = session.execute(
            select(RestockMessage, RestockEpisode.started_at)
            .join(RestockEpisode, RestockEpisode.id == RestockMessage.episode_id)
            .where(RestockMessage.subscription_id.in_(ids))
            .order_by(RestockMessage.id)
        ).all()
        for msg, started in rows:
            messages.append(
                {
                    "variant_id": variant_of[msg.subscription_id],
                    "episode_id": msg.episode_id,
                    "restocked_at": _iso(started),
                    "wave": msg.wave,
                    "queued_at": _iso(msg.queued_at),
                    "sent_at": _iso(msg.sent_at),
                    "clicked_at": _iso(msg.clicked_at),
                }
            )
        for conv in session.scalars(
            select(Conversion).where(Conversion.subscription_id.in_(ids)).order_by(Conversion.id)
        ):
            conversions.append(
                {
                    "variant_id": conv.variant_id,
                    "order_id": conv.order_id,
                    "amount": conv.amount,
                    "currency": conv.currency,
                    "kind": conv.kind,
                    "at": _iso(conv.at),
                }
            )
    outbox = [
        {
            "template": o.template,
            "state": o.state,
            "created_at": _iso(o.created_at),
            "sent_at": _iso(o.sent_at),
            "subject": (o.message or {}).get("subject"),
            "text": (o.message or {}).get("text"),
        }
        for o in session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.shop_id == shop_id,
                OutboxMessage.recipient == address,
                OutboxMessage.template.in_(RESTOCK_TEMPLATES),
            )
            .order_by(OutboxMessage.id)
        )
    ]
    return {
        "email": address,
        "shop_id": shop_id,
        "subscriptions": subscriptions,
        "messages": messages,
        "conversions": conversions,
        "emails": outbox,
    }


def erase_address(session: Session, shop_id: str, email: str) -> ErasureReport:
    """Erase ``email``'s restock data at ``shop_id`` (see the module docstring for what stays, unlinked)."""
    address = _address(email)
    ids = _subscription_ids(session, shop_id, address)
    messages = conversions = 0
    if ids:
        res = session.execute(
            update(RestockMessage)
            .where(RestockMessage.subscription_id.in_(ids))
            .values(subscription_id=-RestockMessage.id)
            .execution_options(synchronize_session=False)
        )
        messages = int(getattr(res, "rowcount", 0) or 0)
        res = session.execute(
            update(Conversion)
            .where(Conversion.subscription_id.in_(ids))
            .values(subscription_id=-Conversion.id, message_id=None)
            .execution_options(synchronize_session=False)
        )
        conversions = int(getattr(res, "rowcount", 0) or 0)
        session.execute(
            delete(SubscriptionRow)
            .where(SubscriptionRow.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    res = session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.shop_id == shop_id,
            OutboxMessage.recipient == address,
            OutboxMessage.template.in_(RESTOCK_TEMPLATES),
        )
        .execution_options(synchronize_session=False)
    )
    outbox = int(getattr(res, "rowcount", 0) or 0)
    session.expire_all()
    return ErasureReport(
        subscriptions=len(ids),
        messages_anonymized=messages,
        conversions_anonymized=conversions,
        outbox_deleted=outbox,
    )
