"""The complaint's clocks, computed (pure): the statutory answer, reminders, liability, guarantee.

- **Answer** (art. 7a u.p.k.): 14 calendar days from receiving the complaint, on any channel;
  silence means the complaint is *deemed accepted*. The clock stops only when the answer
  reaches the consumer — that is the workflow's business (the outbox's delivery receipt);
  here is only *when* it runs out. The deemed acceptance fires at ``Deadline.ends_at`` (after
  the weekend/holiday shift of art. 115 k.c.): firing earlier would take from the trader time
  the law gives it. The merchant, however, is reminded against the *unshifted* last day, so
  the shift is never relied upon.
- **Shop's promise**: a policy may promise a faster answer (``answer_within_days`` below the
  statutory number); that date is what the customer is told, never a reason to deem the
  complaint accepted earlier than the law does.
- **Reminders** to the merchant on the policy's ``reminder_days`` (e.g. day 10 and day 13),
  at the opening hour of the complaints desk on that local day, and only before the deadline.
- **Liability** (art. 43c u.p.k.): a lack of conformity that *appears* within 2 years of
  delivery; one that appears within that span is presumed to have existed at delivery, so the
  consumer proves nothing about its origin. The complaint itself may be made later.
- **Commercial guarantee** (art. 577 ff. k.c.): the shop's own terms per product category;
  with no term for the guarantor's action, 14 days from receiving the item (art. 580 § 1 k.c.).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from aftersales.calendar import end_of_local_day
from aftersales.law import (
    Deadline,
    add_months,
    complaint_answer_last_day,
    complaint_liability_ends,
    guarantee_action_last_day,
)
from aftersales.policy.schema import Policy, Warranty

__all__ = [
    "AnswerClock",
    "Coverage",
    "answer_clock",
    "coverage",
    "guarantee_deadline",
    "reminder_times",
    "warranty_for",
]


@dataclass(frozen=True)
class AnswerClock:
    """When the answer is legally due, and what the shop promised."""

    legal: Deadline
    """The statutory deadline: deemed acceptance at ``legal.ends_at``."""
    promised: Deadline
    """The date the customer is told (the shop's own, never later than the law's)."""

    @property
    def deemed_at(self) -> datetime:
        return self.legal.ends_at

    @property
    def answer_by(self) -> date:
        return self.promised.last_day


def answer_clock(received_at: datetime, policy: Policy) -> AnswerClock:
    """The answer clock of a complaint received at ``received_at`` in the policy's shop."""
    profile = policy.profile
    legal = complaint_answer_last_day(received_at, profile=profile, timezone=policy.zone)
    promised = legal
    if policy.complaints.answer_within_days < profile.complaint_answer_days:
        faster = replace(profile, complaint_answer_days=policy.complaints.answer_within_days)
        promised = complaint_answer_last_day(received_at, profile=faster, timezone=policy.zone)
    return AnswerClock(legal=legal, promised=promised)


def reminder_times(received_at: datetime, clock: AnswerClock, policy: Policy) -> list[tuple[int, datetime]]:
    """``(day, instant)`` of each merchant reminder that falls before the unshifted last day ends.

    Day N is the Nth local day after receipt (the day of receipt is day 0, as the law counts);
    the reminder goes out when the desk opens that day. A reminder day on or after the
    statutory last day is dropped: it would arrive too late to help.
    """
    zone = policy.zone
    received = received_at.astimezone(zone).date()
    opening: time = policy.complaints.business_hours.start
    last_useful = end_of_local_day(clock.legal.calendar_last_day, zone)
    out: list[tuple[int, datetime]] = []
    for day in sorted(set(policy.complaints.reminder_days)):
        local_day = received + timedelta(days=day)
        at = datetime.combine(local_day, opening, tzinfo=zone)
        if received_at < at < last_useful:
            out.append((day, at))
    return out


@dataclass(frozen=True)
class Coverage:
    """Whether the statutory liability (or a commercial guarantee) covers a defect."""

    covered: bool
    basis: str
    """``statutory`` (art. 43c), ``guarantee`` (the shop's warranty) or ``none``."""
    ends_on: date | None
    detail: str
    rule: str


def warranty_for(category: str | None, policy: Policy) -> Warranty | None:
    """The shop's commercial guarantee for a product category (or its ``default``), if any."""
    table = policy.complaints.warranty
    if category and category in table:
        return table[category]
    return table.get("default")


def coverage(
    delivered_at: datetime | None,
    noticed_at: datetime,
    policy: Policy,
    *,
    category: str | None = None,
) -> Coverage:
    """Does the law (or the shop's guarantee) cover a defect noticed at ``noticed_at``?

    Unknown delivery (the order has no delivered shipment on record): covered — the 2 years
    cannot have started before delivery, so nothing can have run out.
    """
    if delivered_at is None:
        return Coverage(
            True,
            "statutory",
            None,
            "the goods have no recorded delivery yet: the 2-year liability has not started running out",
            policy.profile.complaint_liability_rule,
        )
    liability = complaint_liability_ends(delivered_at, profile=policy.profile, timezone=policy.zone)
    noticed = noticed_at.astimezone(policy.zone).date()
    if noticed <= liability.last_day:
        return Coverage(
            True,
            "statutory",
            liability.last_day,
            f"defect noticed on {noticed.isoformat()}, within the liability for lack of conformity that "
            f"ends on {liability.last_day.isoformat()}; it is presumed to have existed at delivery",
            liability.rule,
        )
    warranty = warranty_for(category, policy)
    if warranty is not None:
        delivered = delivered_at.astimezone(policy.zone).date()
        ends = add_months(delivered, warranty.months)
        if noticed <= ends:
            terms = f" (terms: {warranty.terms})" if warranty.terms else ""
            return Coverage(
                True,
                "guarantee",
                ends,
                f"the statutory liability ended on {liability.last_day.isoformat()}, but the shop's "
                f"{warranty.months}-month guarantee covers the defect until {ends.isoformat()}{terms}",
                "commercial guarantee (art. 577 k.c.)",
            )
    return Coverage(
        False,
        "none",
        liability.last_day,
        f"the defect was noticed on {noticed.isoformat()}, after the liability for lack of conformity "
        f"ended on {liability.last_day.isoformat()} (2 years from delivery)"
        + ("" if warranty is None else " and after the shop's guarantee ended"),
        liability.rule,
    )


def guarantee_deadline(item_received_at: datetime, policy: Policy) -> Deadline:
    """When the guarantor must act under the shop's guarantee: 14 days from receiving the item.

    The policy's guarantee records its length and where its terms are, not an action term,
    so the statutory default applies (art. 580 § 1 k.c.).
    """
    return guarantee_action_last_day(item_received_at, profile=policy.profile, timezone=policy.zone)
