"""Attribution: which orders the alerts brought in.

Each alert carries its own tracked link (``restock_messages.token``); following it records
``clicked_at`` and redirects to the product. An order of the alerted variant by the
subscriber's address within ``attribution_days`` of the alert is a conversion:

- **direct** when the subscriber clicked the alert's link before ordering;
- **assisted** when they ordered without clicking (they read the alert and went to the shop).

Orders are re-delivered many times (every ``orders/updated``); a conversion is keyed by
(shop, order, subscription) and rewritten, not added again. A cancelled, voided or fully
refunded order takes its conversions back out of the revenue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from aftersales.domain import FinancialStatus, Order
from aftersales.store.models import Conversion, RestockEpisode, RestockMessage, SubscriptionRow
from aftersales.workflows.restock.rules import RestockRules
from aftersales.workflows.restock.subscriptions import normalize_email

DIRECT = "direct"
ASSISTED = "assisted"

_NOT_REVENUE = frozenset({FinancialStatus.VOIDED, FinancialStatus.REFUNDED})


@dataclass(frozen=True)
class ClickResult:
    url: str | None
    """Where to redirect; None for an unknown token (the page then shows the shop's home)."""
    first: bool = False
    """The first click on this alert."""


def record_click(session: Session, token: str, now: datetime, rules: RestockRules) -> ClickResult:
    """The tracked link was followed: remember the first click, say where to go.

    A GET is right here (unlike confirmation): a link checker that follows it only makes a
    click look direct, it subscribes or cancels nothing.
    """
    if not token or len(token) > 64:
        return ClickResult(None)
    row = session.execute(
        select(
            RestockMessage.id, RestockMessage.clicked_at, RestockEpisode.product_id, RestockEpisode.variant_id
        )
        .join(RestockEpisode, RestockEpisode.id == RestockMessage.episode_id)
        .where(RestockMessage.token == token)
    ).first()
    if row is None:
        return ClickResult(rules.shop_url)
    message_id, clicked_at, product_id, variant_id = row
    first = False
    if clicked_at is None:
        done = session.execute(
            update(RestockMessage)
            .where(RestockMessage.id == message_id, RestockMessage.clicked_at.is_(None))
            .values(clicked_at=now)
            .execution_options(synchronize_session=False)
        )
        first = bool(getattr(done, "rowcount", 0))
    return ClickResult(rules.product_url(product_id, variant_id), first)


@dataclass(frozen=True)
class Attributed:
    subscription_id: int
    variant_id: str
    kind: str
    amount: Decimal
    currency: str


def _counts_as_revenue(order: Order) -> bool | None:
    """True: count it; False: take it back out; None: not yet (awaiting payment)."""
    if order.cancelled_at is not None or order.financial_status in _NOT_REVENUE:
        return False
    if order.financial_status is FinancialStatus.PENDING:
        return None
    return True


def attribute_order(session: Session, shop_id: str, order: Order, rules: RestockRules) -> list[Attributed]:
    """Record (or withdraw) the conversions of one order; returns what is attributed now."""
    verdict = _counts_as_revenue(order)
    if verdict is False:
        session.execute(
            delete(Conversion)
            .where(Conversion.shop_id == shop_id, Conversion.order_id == order.id)
            .execution_options(synchronize_session=False)
        )
        return []
    address = normalize_email(order.customer.email) if order.customer.email else None
    if verdict is None or address is None:
        return []

    amounts: dict[str, Decimal] = {}
    for line in order.line_items:
        key = line.variant_id or line.product_id
        if key is None or line.quantity == 0:
            continue
        amounts[key] = amounts.get(key, Decimal(0)) + line.paid(order.prices_include_tax).amount
    if not amounts:
        return []

    placed = order.created_at
    earliest = placed - timedelta(days=rules.attribution_days)
    alerted_at = func.coalesce(RestockMessage.sent_at, RestockMessage.queued_at)
    rows = session.execute(
        select(
            SubscriptionRow.id,
            SubscriptionRow.variant_id,
            RestockMessage.id,
            RestockMessage.clicked_at,
            alerted_at,
        )
        .join(RestockMessage, RestockMessage.subscription_id == SubscriptionRow.id)
        .where(
            SubscriptionRow.shop_id == shop_id,
            SubscriptionRow.email == address,
            SubscriptionRow.variant_id.in_(list(amounts)),
            alerted_at <= placed,
            alerted_at >= earliest,
        )
        .order_by(RestockMessage.id)
    ).all()
    newest: dict[int, tuple[str, int, datetime | None]] = {}
    for sub_id, variant_id, message_id, clicked_at, _at in rows:
        newest[sub_id] = (variant_id, message_id, clicked_at)  # later alerts (episodes) win

    existing = {
        c.subscription_id: c
        for c in session.scalars(
            select(Conversion).where(Conversion.shop_id == shop_id, Conversion.order_id == order.id)
        )
    }
    result: list[Attributed] = []
    for sub_id, (variant_id, message_id, clicked_at) in newest.items():
        kind = DIRECT if clicked_at is not None and clicked_at <= placed else ASSISTED
        amount = amounts[variant_id]
        conv = existing.get(sub_id)
        if conv is None:
            session.add(
                Conversion(
                    shop_id=shop_id,
                    subscription_id=sub_id,
                    message_id=message_id,
                    variant_id=variant_id,
                    order_id=order.id,
                    amount=str(amount),
                    currency=order.currency,
                    kind=kind,
                    at=placed,
                )
            )
        else:
            conv.amount, conv.currency, conv.kind, conv.message_id = (
                str(amount),
                order.currency,
                kind,
                message_id,
            )
        result.append(Attributed(sub_id, variant_id, kind, amount, order.currency))
    session.flush()
    return result


def mark_sent(session: Session, subscription_id: int, episode_id: int, at: datetime) -> bool:
    """The channel accepted the alert (the outbox told us): the report's "sent" and the attribution
    window start here."""
    done = session.execute(
        update(RestockMessage)
        .where(
            RestockMessage.subscription_id == subscription_id,
            RestockMessage.episode_id == episode_id,
            RestockMessage.sent_at.is_(None),
        )
        .values(sent_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(done, "rowcount", 0))
