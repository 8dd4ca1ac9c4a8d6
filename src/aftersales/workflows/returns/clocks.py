"""The dates a return case lives by, computed from the law's clocks and the shop's policy.

Every date here becomes either a ``Case.deadlines`` entry (shown on the status page, read by
the eligibility rules) or a durable timer (a row with ``due_at`` that survives restarts):

- ``withdrawal_window`` — end of the statutory window: 14 days from taking possession of the
  LAST shipment, +12 months when the consumer was not informed of the right
  (:func:`aftersales.law.withdrawal_last_day`);
- ``return_window`` — end of the shop's commercial window (``returns.window_days`` from the
  same delivery), never before the statutory one: the policy may exceed the law, not undercut it;
- ``goods_due`` — the consumer sends the goods back within 14 days of the statement
  (art. 34 ust. 1 u.p.k. / Directive 2011/83/EU art. 14(1));
- ``refund_due`` — the refund is due within 14 days of receiving the statement
  (:func:`aftersales.law.refund_last_day`); the merchant is warned a few working days before
  the *unshifted* last day (the conservative reading, see :mod:`aftersales.law.clocks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from aftersales.calendar import BusinessCalendar
from aftersales.domain import Order, ShipmentStatus
from aftersales.law import Deadline, get_profile, legal_calendar, refund_last_day, withdrawal_last_day
from aftersales.policy.schema import Policy
from aftersales.workflows.returns.eligibility import RETURN_WINDOW, WITHDRAWAL_WINDOW

GOODS_DUE = "goods_due"
REQUEST_EXPIRY = "request_expiry"
REFUND_DUE = "refund_due"
REFUND_ESCALATION = "refund_escalation"

ESCALATE_WORKING_DAYS_BEFORE = 2
"""Working days between the merchant's warning and the (unshifted) last day to refund."""
EXPIRY_GRACE_DAYS = 7
"""Days of post after the goods were due before a commercial return without goods may expire."""
ESCALATION_HOUR = time(8, 0)
"""Local time of day the merchant is warned (a working morning, not midnight)."""


@dataclass(frozen=True)
class ShopLaw:
    """What the clocks need from the shop's policy: whose law, which time zone, which windows."""

    jurisdiction: str = "PL"
    timezone: str | None = None
    window_days: int = 14
    goods_due_days: int = 14
    request_expiry_days: int = 30
    informed_of_withdrawal: bool = True
    """False when the shop did not inform the consumer of the right: +12 months (art. 29 u.p.k.)."""

    @classmethod
    def from_policy(cls, policy: Policy, *, informed_of_withdrawal: bool = True) -> ShopLaw:
        returns = policy.returns
        return cls(
            jurisdiction=policy.shop.jurisdiction,
            timezone=policy.shop.timezone,
            window_days=returns.window_days,
            goods_due_days=returns.goods_due_days,
            request_expiry_days=returns.request_expiry_days,
            informed_of_withdrawal=informed_of_withdrawal,
        )


def delivery_moments(order: Order) -> list[datetime] | None:
    """Deliveries of the shipments that carry goods; None until the last one is delivered.

    The withdrawal window of a multi-shipment order starts with the LAST delivery
    (art. 27 u.p.k.), so an order with one shipment still on its way has no window yet.
    """
    if order.delivered_at() is None:
        return None
    return [
        s.delivered_at
        for s in order.shipments
        if s.delivered_at is not None and s.status is not ShipmentStatus.FAILED
    ]


def windows(order: Order, law: ShopLaw) -> dict[str, datetime]:
    """``withdrawal_window`` and ``return_window`` ends (instants), or {} before delivery."""
    deliveries = delivery_moments(order)
    if not deliveries:
        return {}
    statutory = withdrawal_last_day(
        deliveries, informed=law.informed_of_withdrawal, profile=law.jurisdiction, timezone=law.timezone
    )
    cal = legal_calendar(law.jurisdiction, law.timezone)
    start = cal.local_date(max(deliveries))
    commercial = cal.end_of_day(start + timedelta(days=law.window_days))
    return {WITHDRAWAL_WINDOW: statutory.ends_at, RETURN_WINDOW: max(commercial, statutory.ends_at)}


def goods_due(statement_at: datetime, law: ShopLaw) -> datetime:
    """End of the day by which the consumer must have SENT the goods back.

    14 days from the statement by law (art. 34 ust. 1 u.p.k.); a policy may give more, never less.
    """
    prof = get_profile(law.jurisdiction)
    cal = legal_calendar(prof, law.timezone)
    days = max(prof.goods_return_days, law.goods_due_days)
    return cal.end_of_day(cal.local_date(statement_at) + timedelta(days=days))


def request_expiry(statement_at: datetime, law: ShopLaw) -> datetime:
    """When an approved commercial return whose goods never came is given up.

    ``returns.request_expiry_days`` after the request, and never before the goods are due
    plus a week of post (a parcel sent on the last day is still on time).
    """
    cal = legal_calendar(law.jurisdiction, law.timezone)
    by_policy = cal.end_of_day(cal.local_date(statement_at) + timedelta(days=law.request_expiry_days))
    return max(by_policy, goods_due(statement_at, law) + timedelta(days=EXPIRY_GRACE_DAYS))


def refund_deadline(statement_at: datetime, law: ShopLaw, goods_back_at: datetime | None = None) -> Deadline:
    """The statutory refund deadline after a withdrawal statement (with its trace)."""
    return refund_last_day(
        statement_at, goods_back_at=goods_back_at, profile=law.jurisdiction, timezone=law.timezone
    )


def _working_days_before(cal: BusinessCalendar, day: date, n: int) -> date:
    """The working day ``n`` working days before ``day`` (the law counts forward only; we warn early)."""
    current = day
    found = 0
    while found < n:
        current -= timedelta(days=1)
        if cal.is_business_day(current):
            found += 1
    return current


def refund_escalation_at(deadline: Deadline, law: ShopLaw) -> datetime:
    """Morning of the working day a few working days before the unshifted last day to refund."""
    cal = legal_calendar(law.jurisdiction, deadline.timezone)
    day = _working_days_before(cal, deadline.calendar_last_day, ESCALATE_WORKING_DAYS_BEFORE)
    return datetime.combine(day, ESCALATION_HOUR, tzinfo=cal.timezone)


def refund_due_at(deadline: Deadline) -> datetime:
    """Start of the (unshifted) last day: the engine pays out then if the law no longer lets it wait."""
    cal = legal_calendar(deadline.jurisdiction, deadline.timezone)
    return cal.end_of_day(deadline.calendar_last_day - timedelta(days=1))
