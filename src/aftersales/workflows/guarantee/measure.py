"""Was the promise kept? Pure judgement of one order against its frozen terms.

What is measured (``guarantee.measured_on``):

- ``dispatch``: the first hand-over to the carrier — the earliest ``dispatched_at`` of a
  shipment that is not cancelled (Shopify: the fulfillment's ``created_at``; WooCommerce:
  the tracking item's ``date_shipped`` or the order's completion). The *first* hand-over
  counts, not the last parcel: an order with a digital line or a gift-wrap line never
  "fully" ships, and a rule that waited for every unit would pay those orders out forever.
  A partial hand-over is what the customer sees as "my order left the shop".
- ``delivery``: the first delivery attempt — ``first_attempt_at``, else ``delivered_at``
  (a parcel delivered at the first try has no separate attempt).

When: a moment strictly before the deadline — the first instant after the promised local day
in the shop's zone (:func:`aftersales.calendar.end_of_local_day`) — is on time, so 23:59:59
local on ``dispatch_by`` is on time and 00:00:00 the next day is late, on DST days too.

Force majeure (``guarantee.force_majeure_days``): a day the merchant declares (a carrier strike,
a flood) stops the handling clock like an unplanned closure: every declared business day from
day 0 up to the (moved) promised day moves the promised day one business day later. A declared
day after the promised day does not excuse an order that was already late before it. An order
kept only thanks to such days is recorded as *excluded* (reason: force majeure), not as on time,
so the merchant's on-time rate does not flatter the shop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from aftersales.calendar import BusinessCalendar, aware
from aftersales.domain import Shipment, ShipmentStatus
from aftersales.workflows.guarantee.terms import MeasuredOn, PromiseTerms

__all__ = ["Measurement", "Verdict", "excused_deadline", "judge", "measure"]

_DAY = BusinessCalendar.describe


@dataclass(frozen=True)
class Measurement:
    """The event that keeps (or breaks) the promise, with a sentence saying where it came from."""

    at: datetime
    shipment_id: str
    source: str


@dataclass(frozen=True)
class Verdict:
    """The judgement of one order; ``outcome`` is None while it is too early to say."""

    outcome: Literal["on_time", "late", "excluded"] | None
    reason: str | None
    """Short and stable (the report groups by it): "dispatched 2 business days late"."""
    trace: tuple[str, ...]
    deadline: datetime | None
    """The instant that counted, force majeure included (a timer waits for it while pending)."""
    measured: Measurement | None = None
    promised: date | None = None
    """The promised local day, moved by force majeure when declared."""


def _shipment_moment(shipment: Shipment, measured_on: MeasuredOn) -> tuple[datetime, str] | None:
    if shipment.status == ShipmentStatus.FAILED:
        return None
    if measured_on == "dispatch":
        if shipment.dispatched_at is None or shipment.status == ShipmentStatus.PENDING:
            return None
        what = "handed to the carrier"
        if shipment.carrier:
            what += f" ({shipment.carrier}"
            what += f", tracking {shipment.tracking_number})" if shipment.tracking_number else ")"
        elif shipment.tracking_number:
            what += f" (tracking {shipment.tracking_number})"
        return shipment.dispatched_at, what
    if shipment.first_attempt_at is not None:
        return shipment.first_attempt_at, "first delivery attempt"
    if shipment.delivered_at is not None:
        return shipment.delivered_at, "delivered at the first attempt"
    return None


def measure(shipments: Iterable[Shipment], measured_on: MeasuredOn) -> Measurement | None:
    """The earliest measured event across ``shipments`` (None: nothing has happened yet)."""
    best: Measurement | None = None
    for shipment in shipments:
        found = _shipment_moment(shipment, measured_on)
        if found is None:
            continue
        at, what = found
        aware(at, f"shipment {shipment.id} time")
        if best is None or at < best.at:
            best = Measurement(at=at, shipment_id=shipment.id, source=f"shipment {shipment.id} {what}")
    return best


def excused_deadline(
    terms: PromiseTerms, calendar: BusinessCalendar, force_majeure: Iterable[date]
) -> tuple[date | None, list[date]]:
    """The promised day moved by declared force-majeure days, and the days that moved it."""
    promised = terms.promised_day
    if promised is None:
        return None, []
    declared = sorted(set(force_majeure))
    counted: list[date] = []
    moved = promised
    changed = True
    while changed:
        changed = False
        for day in declared:
            if day in counted or not (terms.day_zero <= day <= moved) or not calendar.is_business_day(day):
                continue
            counted.append(day)
            moved = calendar.next_business_day(moved)
            while moved in declared:
                moved = calendar.next_business_day(moved)
            changed = True
    return moved, sorted(counted)


def _lateness(calendar: BusinessCalendar, promised: date, local_day: date) -> str:
    days = calendar.business_days_between(promised, local_day)
    if days <= 0:
        return "on a non-business day after the promised day"
    return f"{days} business day{'s' if days != 1 else ''} late"


def judge(
    terms: PromiseTerms,
    measurement: Measurement | None,
    *,
    now: datetime,
    calendar: BusinessCalendar,
    force_majeure: Sequence[date] = (),
) -> Verdict:
    """Judge the order: on time, late, excused by force majeure, or not yet decidable.

    ``calendar`` is the shop calendar (dispatch) or the carrier calendar (delivery), in the
    promise's time zone. ``now`` decides "not done by the deadline" when nothing was measured.
    """
    aware(now, "now")
    event = "dispatched" if terms.measured_on == "dispatch" else "first delivery attempt"
    promised = terms.promised_day
    deadline = terms.deadline
    if promised is None or deadline is None:
        return Verdict(
            outcome="excluded",
            reason="no delivery promise (no transit time for the order's zone)",
            trace=("measured on delivery, but the promise has no delivery date: nothing to keep",),
            deadline=None,
            measured=measurement,
        )
    moved, counted = excused_deadline(terms, calendar, force_majeure)
    assert moved is not None
    excused_until = calendar.end_of_day(moved)
    trace: list[str] = []
    if counted:
        trace.append(
            "force majeure declared on "
            + ", ".join(_DAY(d) for d in counted)
            + f": the promised day moves from {_DAY(promised)} to {_DAY(moved)}"
        )

    if measurement is None:
        if now < excused_until:
            return Verdict(None, None, tuple(trace), excused_until, promised=moved)
        what = "not dispatched" if terms.measured_on == "dispatch" else "no delivery attempt"
        trace.append(f"{what} by {excused_until.isoformat()} (end of {_DAY(moved)} in {terms.timezone})")
        return Verdict("late", f"{what} by the promised day", tuple(trace), excused_until, promised=moved)

    local = calendar.local_datetime(measurement.at)
    seen = (
        f"{measurement.source} at {measurement.at.isoformat()} = {_DAY(local.date())} "
        f"{local:%H:%M:%S} in {terms.timezone}"
    )
    if measurement.at < deadline:
        trace.append(f"{seen}, before {deadline.isoformat()} (end of {_DAY(promised)}): on time")
        return Verdict("on_time", None, tuple(trace), deadline, measurement, promised)
    if measurement.at < excused_until:
        trace.append(
            f"{seen}: after {_DAY(promised)} but before {excused_until.isoformat()}, the end of the day "
            "force majeure moved the promise to: excused, no payout"
        )
        return Verdict(
            "excluded",
            "force majeure declared by the merchant",
            tuple(trace),
            excused_until,
            measurement,
            moved,
        )
    late_by = _lateness(calendar, moved, local.date())
    trace.append(f"{seen}, not before {excused_until.isoformat()} (end of {_DAY(moved)}): {late_by}")
    return Verdict("late", f"{event} {late_by}", tuple(trace), excused_until, measurement, moved)
