"""The merchant's monthly view of the guarantee: was it kept, what did it cost, why was it broken.

The month is a cohort of *promises*: every order whose promised dispatch day (``dispatch_by``,
a local date of the shop) falls in the month. Reading by promised day rather than by payment
or payout date keeps each order in exactly one month and puts an order's lateness and its
payout in the same line of the report, even when the payout happens on the 1st of the next
month. The on-time rate counts only orders that were measured (on time or late): pending,
excluded and cancelled orders say nothing about the warehouse.

Payout cost is read from the effects ledger (money actually asked of the platform); a payout
whose effect failed is counted separately, as it cost nothing but still needs a person.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.store.models import Effect
from aftersales.store.models import Promise as PromiseRow
from aftersales.workflows.guarantee.ledger import effect_amount
from aftersales.workflows.guarantee.payout import month_bounds

__all__ = ["GuaranteeReport", "guarantee_report"]

TOP_REASONS = 5


@dataclass
class GuaranteeReport:
    shop_id: str
    month: str
    orders: int = 0
    """Orders with a promise whose dispatch day falls in the month."""
    covered: int = 0
    """Orders the guarantee applied to (not excluded)."""
    pending: int = 0
    on_time: int = 0
    late: int = 0
    excluded: int = 0
    cancelled: int = 0
    payouts: int = 0
    payouts_pending: int = 0
    """Of ``payouts``: not yet confirmed by the platform."""
    payouts_failed: int = 0
    late_unpaid: int = 0
    """Late orders with no payout (a cap was reached, the order was excluded when paying...)."""
    cost: dict[str, Decimal] = field(default_factory=dict)
    late_reasons: list[tuple[str, int]] = field(default_factory=list)
    excluded_reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def on_time_percent(self) -> float | None:
        measured = self.on_time + self.late
        return None if measured == 0 else round(100 * self.on_time / measured, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "shop": self.shop_id,
            "month": self.month,
            "orders_under_promise": self.orders,
            "covered": self.covered,
            "pending": self.pending,
            "on_time": self.on_time,
            "late": self.late,
            "on_time_percent": self.on_time_percent,
            "excluded": self.excluded,
            "cancelled": self.cancelled,
            "payouts": {
                "count": self.payouts,
                "pending": self.payouts_pending,
                "failed": self.payouts_failed,
                "cost": {cur: str(amount) for cur, amount in sorted(self.cost.items())},
            },
            "late_without_payout": self.late_unpaid,
            "top_late_reasons": [{"reason": r, "orders": n} for r, n in self.late_reasons],
            "excluded_by_reason": [{"reason": r, "orders": n} for r, n in self.excluded_reasons],
        }


def guarantee_report(session: Session, shop_id: str, month: str) -> GuaranteeReport:
    """The report of ``shop_id`` for ``month`` (``YYYY-MM``; ValueError when malformed)."""
    first, after = month_bounds(month)
    report = GuaranteeReport(shop_id=shop_id, month=first.strftime("%Y-%m"))
    rows = list(
        session.scalars(
            select(PromiseRow).where(
                PromiseRow.shop_id == shop_id,
                PromiseRow.dispatch_by >= first,
                PromiseRow.dispatch_by < after,
            )
        )
    )
    keys = [row.payout_effect_key for row in rows if row.payout_effect_key]
    effects = (
        {e.effect_key: e for e in session.scalars(select(Effect).where(Effect.effect_key.in_(keys)))}
        if keys
        else {}
    )
    late_reasons: Counter[str] = Counter()
    excluded_reasons: Counter[str] = Counter()
    for row in rows:
        report.orders += 1
        outcome = row.outcome
        if outcome == "pending":
            report.pending += 1
        elif outcome == "on_time":
            report.on_time += 1
        elif outcome == "late":
            report.late += 1
            late_reasons[row.late_reason or "late (no reason recorded)"] += 1
        elif outcome == "excluded":
            report.excluded += 1
            excluded_reasons[row.excluded_reason or "excluded (no reason recorded)"] += 1
        elif outcome == "cancelled":
            report.cancelled += 1
        if outcome != "excluded":
            report.covered += 1
        effect = effects.get(row.payout_effect_key or "")
        if effect is None:
            if outcome == "late":
                report.late_unpaid += 1
            continue
        if effect.state == "failed":
            report.payouts_failed += 1
            continue
        report.payouts += 1
        if effect.state != "confirmed":
            report.payouts_pending += 1
        amount = effect_amount(effect)
        if amount is not None:
            report.cost[amount.currency] = report.cost.get(amount.currency, Decimal(0)) + amount.amount
    report.late_reasons = _ranked(late_reasons)[:TOP_REASONS]
    report.excluded_reasons = _ranked(excluded_reasons)
    return report


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))
