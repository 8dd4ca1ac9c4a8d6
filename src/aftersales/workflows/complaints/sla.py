"""First-response SLA in business hours, and the priority of a new complaint (pure).

Half of customers expect an answer within 3 hours and a quarter within 1 hour, but a desk
is open only on business days between its opening hours. So the first-response clock counts
*business* hours: it runs while the desk is open (``complaints.business_hours`` on the shop
calendar: weekends, public holidays and the shop's own closures excluded, in the shop's time
zone) and stands still otherwise. A complaint that arrives at night goes to the *after-hours*
queue: its clock starts at the next opening.

Hand-written because the shop calendar (``aftersales.calendar``) already answers "is this a
business day"; what is left is walking opening windows, which is a loop over days. Arithmetic
is done on UTC instants, so a DST change at night never stretches or shrinks an opening window.

Priorities (higher first, a list of reasons on the case):

- ``repeat`` — the customer complained before (within :data:`REPEAT_WINDOW`): a second bad
  experience weighs far more than a first;
- ``high_value`` — the goods concerned cost at least :data:`HIGH_VALUE` in the shop's currency;
- ``after_hours`` — received while the desk was closed: first in the morning queue;
- ``deadline_near`` — less than two days of the statutory answer period were left when the
  complaint reached the desk (e.g. a complaint that waited in a spam folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from aftersales.calendar import BusinessCalendar

__all__ = [
    "HIGH_VALUE",
    "REPEAT_WINDOW",
    "OpeningHours",
    "Priority",
    "add_business_hours",
    "priority",
]

HIGH_VALUE = Decimal("1000")
"""Goods at or above this amount (in the shop's currency) are a high-value complaint."""
REPEAT_WINDOW = timedelta(days=365)
"""An earlier complaint by the same customer within this span makes the new one a repeat."""
_MAX_DAYS = 3660


@dataclass(frozen=True)
class OpeningHours:
    """The desk's business days (a shop calendar) and daily opening window."""

    calendar: BusinessCalendar
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("opening hours must end after they start")

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The opening window of local ``day`` as UTC instants, or None when the desk is closed."""
        if not self.calendar.is_business_day(day):
            return None
        zone = self.calendar.timezone
        opens = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
        return opens, closes

    def is_open(self, at: datetime) -> bool:
        window = self.window(self.calendar.local_date(at))
        return window is not None and window[0] <= at.astimezone(UTC) < window[1]

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself while open, else the next opening instant."""
        moment = at.astimezone(UTC)
        day = self.calendar.local_date(at)
        for _ in range(_MAX_DAYS):
            window = self.window(day)
            if window is not None and moment < window[1]:
                return max(moment, window[0])
            day += timedelta(days=1)
        raise ValueError("the desk is never open in the next ten years: check the shop calendar")


def add_business_hours(start: datetime, hours: float | int | timedelta, opening: OpeningHours) -> datetime:
    """The instant ``hours`` of open desk time after ``start`` (aware, in the shop's zone).

    Zero hours from a closed moment is the next opening: a first response "within 0 hours"
    still cannot come before someone is there.
    """
    remaining = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
    if remaining < timedelta(0):
        raise ValueError(f"business hours to add must be 0 or more, got {hours}")
    moment = opening.next_opening(start)
    day = opening.calendar.local_date(moment)
    for _ in range(_MAX_DAYS):
        window = opening.window(day)
        if window is not None and moment < window[1]:
            moment = max(moment, window[0])
            available = window[1] - moment
            if remaining <= available:
                return (moment + remaining).astimezone(opening.calendar.timezone)
            remaining -= available
        day += timedelta(days=1)
        moment = max(moment, datetime.combine(day, time(0), tzinfo=opening.calendar.timezone).astimezone(UTC))
    raise ValueError("the desk is never open long enough in the next ten years: check the shop calendar")


@dataclass(frozen=True)
class Priority:
    level: int
    """0 normal; each reason adds one (the merchant queue sorts by it, highest first)."""
    reasons: tuple[str, ...]


def priority(
    *,
    received_at: datetime,
    opening: OpeningHours,
    earlier_complaints: list[datetime],
    value: Decimal | None,
    deemed_at: datetime,
) -> Priority:
    """The priority of a new complaint and why."""
    reasons: list[str] = []
    if any(received_at - REPEAT_WINDOW <= at <= received_at for at in earlier_complaints):
        reasons.append("repeat")
    if value is not None and value >= HIGH_VALUE:
        reasons.append("high_value")
    if not opening.is_open(received_at):
        reasons.append("after_hours")
    if deemed_at - received_at < timedelta(days=2):
        reasons.append("deadline_near")
    return Priority(level=len(reasons), reasons=tuple(reasons))
