"""Guarantee payouts as the effects ledger records them: the key, and what was paid this month.

One payout per order is the ledger's own rule: the effect key is ``guarantee:{shop}:{order}``
and the ledger refuses a second effect with the same key, so a fulfillment webhook delivered
twice, a timer firing beside a late webhook, or a step re-run after a crash all meet the same
row. The caps read the same rows: every guarantee effect of the shop that has not *failed*
counts (``intended`` and ``sent`` too — money on its way is money spent), in the calendar
month of its creation in the shop's time zone.

A refund effect carries its amount in the ledger's ``amount`` column; a voucher is a
``platform_action`` (``voucher.issue``) whose amount is in its request parameters.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales.domain import Money
from aftersales.store.models import Effect
from aftersales.store.models import Promise as PromiseRow
from aftersales.workflows.guarantee.payout import PayoutHistory, month_bounds

__all__ = [
    "VOUCHER_ACTION",
    "effect_amount",
    "month_of",
    "payout_history",
    "payout_key",
    "payout_prefix",
    "utc_bounds",
]

VOUCHER_ACTION = "voucher.issue"
"""The ``platform_action`` a voucher payout asks the shop's platform plugin to perform."""


def payout_prefix(shop_id: str) -> str:
    return f"guarantee:{shop_id}:"


def payout_key(shop_id: str, order_id: str) -> str:
    """The one effect key a payout of this order can ever have."""
    return f"{payout_prefix(shop_id)}{order_id}"


def month_of(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m")


def utc_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local calendar month starts and ends (end excluded)."""
    first, after = month_bounds(month)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(ZoneInfo("UTC"))

    return start_of(first), start_of(after)


def effect_amount(row: Effect) -> Money | None:
    """What a guarantee effect pays: the ledger's amount, else a voucher's request parameters."""
    if row.amount is not None and row.currency:
        return Money(row.amount, row.currency)
    params: Any = (row.request or {}).get("params") or {}
    amount, currency = params.get("amount"), params.get("currency")
    if amount is None or not currency:
        return None
    return Money(Decimal(str(amount)), str(currency))


def _sum(rows: list[Effect], currency: str) -> Money:
    result = Money.zero(currency)
    for row in rows:
        amount = effect_amount(row)
        if amount is not None and amount.currency == currency:
            result = result + amount
    return result


def payout_history(
    session: Session,
    shop_id: str,
    *,
    customer_email: str | None,
    now: datetime,
    zone: ZoneInfo,
    currency: str,
    exclude_key: str | None = None,
) -> PayoutHistory:
    """The guarantee payouts (not failed) of this calendar month: the customer's and the shop's."""
    month = month_of(now, zone)
    start, end = utc_bounds(month, zone)
    base = select(Effect).where(
        Effect.shop_id == shop_id,
        Effect.effect_key.startswith(payout_prefix(shop_id), autoescape=True),
        Effect.kind.in_(("refund", "platform_action")),
        Effect.state != "failed",
        Effect.created_at >= start,
        Effect.created_at < end,
    )
    if exclude_key is not None:
        base = base.where(Effect.effect_key != exclude_key)
    shop_rows = list(session.scalars(base))
    customer = Money.zero(currency)
    if customer_email:
        keys = select(PromiseRow.payout_effect_key).where(
            PromiseRow.shop_id == shop_id,
            func.lower(PromiseRow.customer_email) == customer_email.strip().lower(),
            PromiseRow.payout_effect_key.is_not(None),
        )
        theirs = set(session.scalars(keys))
        customer = _sum([row for row in shop_rows if row.effect_key in theirs], currency)
    return PayoutHistory(month=month, customer=customer, shop=_sum(shop_rows, currency))
