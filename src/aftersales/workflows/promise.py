"""The shipping promise: by which day an order is handed to the carrier (and delivered).

Pure: no database, no clock, no platform. The guarantee workflow snapshots the result on the
order when it is paid; the same inputs always give the same promise, which is what makes a
"dispatched on time or 50 zł back" guarantee auditable.

The rule (DESIGN §8):

1. *Day 0* is the local date of payment if the shop received it on a business day before
   the cut-off (shop time zone), else the next business day. "Before" is strict: paid at
   11:59:59 with a 12:00 cut-off ships today; paid at 12:00:00 does not.
2. ``dispatch_by`` = day 0 + ``handling_business_days`` business days (shop calendar:
   weekends, public holidays of the promise calendar, the shop's closures). Zero handling
   days = dispatch on day 0 itself.
3. Payment window (optional): the promise shown at checkout binds only if payment follows
   the order within N minutes; then day 0 is computed from the *order* time (what the
   customer was promised). A later payment gives a non-binding promise counted from payment.
4. Peak season (optional): extra handling days when day 0 falls inside a declared span.
5. Delivery (optional): ``deliver_by`` = ``dispatch_by`` + the zone's transit days, counted
   in the *carrier's* business days (weekends and public holidays; the shop's closures do
   not stop a courier).

Every step appends a sentence to ``trace``; the customer-facing status page and the payout
decision both show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

from aftersales.calendar import BusinessCalendar, aware
from aftersales.policy.fields import parse_clock_time
from aftersales.policy.schema import PeakSeason, Policy

__all__ = ["Promise", "compute_promise", "promise_for_policy"]

_HHMM = Annotated[time, PlainSerializer(lambda v: v.strftime("%H:%M"), return_type=str)]


class Promise(BaseModel):
    """A computed shipping promise, immutable once snapshotted on the order."""

    model_config = ConfigDict(frozen=True)

    dispatch_by: date
    """Local date by which the order must be handed to the carrier."""
    dispatch_deadline: datetime
    """First instant after ``dispatch_by`` in the shop's time zone: a hand-over before it is on time."""
    deliver_by: date | None = None
    """Local date of the delivery promise, when a transit time is known for the zone."""
    delivery_deadline: datetime | None = None
    binding: bool
    """False when payment came outside the payment window: shown, but no payout when late."""
    day_zero: date
    """The business day the handling clock starts on."""
    clock_started_at: datetime
    """The instant the promise is counted from (payment, or the order within the payment window)."""
    timezone: str
    calendar: str
    """Whose public holidays count ("PL", or "EU" = weekends only)."""
    cutoff: _HHMM
    handling_business_days: int
    trace: tuple[str, ...]


def compute_promise(
    *,
    paid_at: datetime,
    calendar: BusinessCalendar,
    cutoff: time | str,
    handling_business_days: int,
    ordered_at: datetime | None = None,
    payment_window_minutes: int | None = None,
    peak: Sequence[PeakSeason] = (),
    transit_days: int | None = None,
    carrier_calendar: BusinessCalendar | None = None,
    zone: str | None = None,
) -> Promise:
    """Compute the promise for one order (see the module docstring for the rule).

    ``calendar`` is the shop's shipping calendar (with closures); ``carrier_calendar``
    defaults to the same calendar without closures. Raises ``ValueError`` for naive
    datetimes, a cut-off that is not a time of day, negative handling or transit days, or a
    payment window without the order time.
    """
    aware(paid_at, "paid_at")
    if ordered_at is not None:
        aware(ordered_at, "ordered_at")
    cut = parse_clock_time(cutoff)
    if isinstance(handling_business_days, bool) or handling_business_days < 0:
        raise ValueError(f"handling business days must be 0 or more, got {handling_business_days}")
    if transit_days is not None and transit_days < 0:
        raise ValueError(f"transit days must be 0 or more, got {transit_days}")
    if payment_window_minutes is not None and payment_window_minutes < 1:
        raise ValueError(f"the payment window must be at least 1 minute, got {payment_window_minutes}")

    tz = calendar.timezone
    trace: list[str] = []
    binding = True
    start = paid_at
    trace.append(f"paid {paid_at.isoformat()} = {_local(calendar, paid_at)} in {tz.key}")
    if payment_window_minutes is not None:
        if ordered_at is None:
            raise ValueError(
                f"a {payment_window_minutes}-minute payment window needs the order time (ordered_at)"
            )
        delay = paid_at - ordered_at
        minutes = max(delay, timedelta(0)).total_seconds() / 60
        if delay <= timedelta(minutes=payment_window_minutes):
            start = min(ordered_at, paid_at)
            trace.append(
                f"ordered {ordered_at.isoformat()} = {_local(calendar, ordered_at)}; paid {minutes:.0f} min later, "
                f"within the {payment_window_minutes}-minute payment window: the promise shown at checkout binds "
                "and is counted from the order"
            )
        else:
            binding = False
            trace.append(
                f"ordered {ordered_at.isoformat()} = {_local(calendar, ordered_at)}; paid {minutes:.0f} min later, "
                f"outside the {payment_window_minutes}-minute payment window: the promise does not bind "
                "(no payout if late) and is counted from the payment"
            )
    elif ordered_at is not None:
        trace.append("no payment window: the promise is counted from the payment")

    local = calendar.local_datetime(start)
    local_day = local.date()
    reason = calendar.closed_reason(local_day)
    clock = local.strftime("%H:%M:%S")
    if reason is not None:
        day_zero = calendar.next_business_day(local_day)
        trace.append(
            f"{_day(local_day)} is not a business day ({reason}) → day 0 is the next business day, {_day(day_zero)}"
        )
    elif local.time() < cut:
        day_zero = local_day
        trace.append(
            f"{_day(local_day)} is a business day and {clock} is before the {cut:%H:%M} cut-off → day 0 is that day"
        )
    else:
        day_zero = calendar.next_business_day(local_day)
        trace.append(
            f"{clock} is not before the {cut:%H:%M} cut-off → day 0 is the next business day, {_day(day_zero)}"
        )
        _explain_skips(calendar, local_day, day_zero, trace)

    handling = handling_business_days
    extra = max((p.extra_handling_days for p in peak if p.start <= day_zero <= p.end), default=0)
    if extra:
        handling += extra
        span = next(p for p in peak if p.start <= day_zero <= p.end and p.extra_handling_days == extra)
        trace.append(
            f"peak season {span.start.isoformat()}–{span.end.isoformat()}: +{extra} handling business "
            f"day{'s' if extra != 1 else ''} ({handling} in total)"
        )

    dispatch_by = calendar.add_business_days(day_zero, handling)
    if handling == 0:
        trace.append(f"0 handling business days → dispatch by day 0, {_day(dispatch_by)}")
    else:
        trace.append(
            f"+{handling} handling business day{'s' if handling != 1 else ''} after day 0 → "
            f"dispatch by {_day(dispatch_by)}"
        )
        _explain_skips(calendar, day_zero, dispatch_by, trace)
    dispatch_deadline = calendar.end_of_day(dispatch_by)
    trace.append(f"on time if handed to the carrier before {dispatch_deadline.isoformat()}")

    deliver_by: date | None = None
    delivery_deadline: datetime | None = None
    if transit_days is not None:
        carrier = carrier_calendar or calendar.without_closures()
        deliver_by = carrier.add_business_days(dispatch_by, transit_days)
        where = f" to zone {zone}" if zone else ""
        trace.append(
            f"carrier transit{where}: {transit_days} business day{'s' if transit_days != 1 else ''} "
            f"(weekends and public holidays, not shop closures) → deliver by {_day(deliver_by)}"
        )
        delivery_deadline = carrier.end_of_day(deliver_by)
    elif zone:
        trace.append(f"no transit time known for zone {zone}: no delivery promise")

    if not binding:
        trace.append("promise not binding: shown to the customer, but lateness pays nothing")
    return Promise(
        dispatch_by=dispatch_by,
        dispatch_deadline=dispatch_deadline,
        deliver_by=deliver_by,
        delivery_deadline=delivery_deadline,
        binding=binding,
        day_zero=day_zero,
        clock_started_at=start,
        timezone=tz.key,
        calendar=calendar.holiday_country or "EU",
        cutoff=cut,
        handling_business_days=handling,
        trace=tuple(trace),
    )


def promise_for_policy(
    policy: Policy,
    *,
    paid_at: datetime,
    ordered_at: datetime | None = None,
    shipping_zone: str | None = None,
) -> Promise:
    """The promise under a shop's policy (``guarantee.promise``, closures, transit table)."""
    settings = policy.guarantee.promise
    transit = policy.guarantee.transit_days.get(shipping_zone) if shipping_zone else None
    calendar = policy.shop_calendar()
    return compute_promise(
        paid_at=paid_at,
        ordered_at=ordered_at,
        calendar=calendar,
        cutoff=settings.cutoff,
        handling_business_days=settings.handling_business_days,
        payment_window_minutes=settings.payment_window_minutes,
        peak=settings.peak,
        transit_days=transit,
        carrier_calendar=calendar.without_closures(),
        zone=shipping_zone,
    )


def _day(day: date) -> str:
    return BusinessCalendar.describe(day)


def _local(calendar: BusinessCalendar, moment: datetime) -> str:
    local = calendar.local_datetime(moment)
    return f"{_day(local.date())} {local:%H:%M:%S}"


def _explain_skips(calendar: BusinessCalendar, after: date, until: date, trace: list[str]) -> None:
    """Name the non-business days jumped over between ``after`` and ``until`` (exclusive)."""
    skipped = []
    current = after + timedelta(days=1)
    while current < until:
        reason = calendar.closed_reason(current)
        if reason is not None:
            skipped.append(f"{current.isoformat()} ({reason})")
        current += timedelta(days=1)
    if skipped:
        trace.append("not business days, skipped: " + "; ".join(skipped))
