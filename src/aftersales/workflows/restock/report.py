"""``aftersales restock report``: per variant, who is waiting and what the alerts brought in.

Counts are grouped in SQL (a million subscriptions are never loaded); revenue is summed in
Python with ``Decimal`` per currency, because amounts are stored as exact decimal strings
and SQL's SUM over them would go through floats.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales.domain import SubscriptionStatus
from aftersales.store.models import Conversion, RestockEpisode, RestockMessage, SubscriptionRow
from aftersales.workflows.restock.episodes import EpisodeState


@dataclass
class VariantReport:
    shop_id: str
    variant_id: str
    name: str = ""
    state: str | None = None
    """The variant's tracked stock state (the newest episode row's state)."""
    waiting: int = 0
    """Demand: confirmed subscribers still in line."""
    pending: int = 0
    """Subscriptions waiting for their double opt-in."""
    episodes: int = 0
    queued: int = 0
    sent: int = 0
    clicked: int = 0
    converted: int = 0
    direct: int = 0
    assisted: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "shop_id": self.shop_id,
            "variant_id": self.variant_id,
            "name": self.name,
            "state": self.state,
            "waiting": self.waiting,
            "pending": self.pending,
            "episodes": self.episodes,
            "queued": self.queued,
            "sent": self.sent,
            "clicked": self.clicked,
            "converted": self.converted,
            "direct": self.direct,
            "assisted": self.assisted,
            "revenue": {cur: str(amount) for cur, amount in sorted(self.revenue.items())},
        }


def restock_report(session: Session, shop_id: str | None = None) -> list[VariantReport]:
    """One row per variant that has subscriptions or episodes, most waiting first."""
    rows: dict[tuple[str, str], VariantReport] = {}

    def at(shop: str, variant: str) -> VariantReport:
        key = (shop, variant)
        if key not in rows:
            rows[key] = VariantReport(shop, variant)
        return rows[key]

    def scoped(stmt: Any, column: Any) -> Any:
        return stmt.where(column == shop_id) if shop_id is not None else stmt

    subs = scoped(
        select(SubscriptionRow.shop_id, SubscriptionRow.variant_id, SubscriptionRow.status, func.count())
        .where(
            SubscriptionRow.status.in_([SubscriptionStatus.CONFIRMED.value, SubscriptionStatus.PENDING.value])
        )
        .group_by(SubscriptionRow.shop_id, SubscriptionRow.variant_id, SubscriptionRow.status),
        SubscriptionRow.shop_id,
    )
    for shop, variant, status, count in session.execute(subs):
        report = at(shop, variant)
        if status == SubscriptionStatus.CONFIRMED.value:
            report.waiting = int(count)
        else:
            report.pending = int(count)

    newest = scoped(
        select(func.max(RestockEpisode.id).label("latest_id")).group_by(
            RestockEpisode.shop_id, RestockEpisode.variant_id
        ),
        RestockEpisode.shop_id,
    ).subquery()
    latest = session.execute(
        select(
            RestockEpisode.shop_id, RestockEpisode.variant_id, RestockEpisode.state, RestockEpisode.data
        ).join(newest, RestockEpisode.id == newest.c.latest_id)
    )
    for shop, variant, state, data in latest:
        report = at(shop, variant)
        report.state = state
        report.name = str((data or {}).get("name") or "")

    episodes = scoped(
        select(RestockEpisode.shop_id, RestockEpisode.variant_id, func.count())
        .where(RestockEpisode.state != EpisodeState.WAITING.value)
        .group_by(RestockEpisode.shop_id, RestockEpisode.variant_id),
        RestockEpisode.shop_id,
    )
    for shop, variant, count in session.execute(episodes):
        at(shop, variant).episodes = int(count)

    messages = scoped(
        select(
            RestockEpisode.shop_id,
            RestockEpisode.variant_id,
            func.count(),
            func.count(RestockMessage.sent_at),
            func.count(RestockMessage.clicked_at),
        )
        .join(RestockEpisode, RestockEpisode.id == RestockMessage.episode_id)
        .group_by(RestockEpisode.shop_id, RestockEpisode.variant_id),
        RestockEpisode.shop_id,
    )
    for shop, variant, queued, sent, clicked in session.execute(messages):
        report = at(shop, variant)
        report.queued, report.sent, report.clicked = int(queued), int(sent), int(clicked)

    conversions = scoped(
        select(
            Conversion.shop_id, Conversion.variant_id, Conversion.kind, Conversion.currency, Conversion.amount
        ),
        Conversion.shop_id,
    )
    revenue: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for shop, variant, kind, currency, amount in session.execute(conversions):
        report = at(shop, variant)
        report.converted += 1
        if kind == "direct":
            report.direct += 1
        else:
            report.assisted += 1
        totals = revenue[(shop, variant)]
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(amount)
    for key, totals in revenue.items():
        rows[key].revenue = totals

    return sorted(rows.values(), key=lambda r: (-r.waiting, r.shop_id, r.variant_id))
