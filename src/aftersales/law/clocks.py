"""Statutory clocks: the last day of each consumer-law period, with a trace of how it was found.

How a period is counted (the same everywhere in the EU, and in Poland's civil code):

1. The event's date is the shop's *local* date of the instant (a delivery at 00:30 in Warsaw
   on 29 March is a 29 March delivery even though it is 28 March in UTC).
2. The day of the event is not counted (art. 111 § 2 k.c.; Regulation 1182/71 art. 3(1)):
   a 14-day period from a 1 May delivery ends on 15 May.
3. Periods in months or years end on the day with the same date; when that date does not
   exist in the last month, on the last day of that month (art. 112 k.c.; Regulation
   1182/71 art. 3(2)(c)).
4. When the last day is a Saturday, a Sunday or a public holiday, the period ends on the
   next working day (art. 115 k.c.; Regulation 1182/71 art. 3(4)).
5. A period ends with the expiry of the last hour of its last day: ``Deadline.ends_at`` is the
   first instant after it, in the shop's time zone (what a durable timer waits for).

Whether rule 4 also moves the *merchant's own* deadlines (the refund after a withdrawal,
the answer to a complaint) — the choice made here: **yes, the legal last day is shifted**.
Art. 115 k.c. applies to every "termin do wykonania czynności" — a refund or an answer is
such an act — and Regulation 1182/71 governs every period of Directive 2011/83/EU, refund
included, by the Directive's recital 41. STYLE.md's own example agrees ("a withdrawal
received on 23 December is refundable until 7 January": 6 January is Epiphany). Because a
court could read a merchant's duty more strictly, every :class:`Deadline` also carries
``calendar_last_day`` (before any shift); workflows escalate against that earlier day, so
the shift is only ever a safety margin, never relied upon.

Shop closures never move a legal deadline: the clocks use the jurisdiction's legal calendar
(weekends + public holidays), not the shop's.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from aftersales.calendar import BusinessCalendar, aware, end_of_local_day, resolve_timezone
from aftersales.law.profiles import JurisdictionProfile, get_profile

__all__ = [
    "Deadline",
    "add_months",
    "complaint_answer_last_day",
    "complaint_liability_ends",
    "deadline_ends_at",
    "guarantee_action_last_day",
    "legal_calendar",
    "refund_last_day",
    "shop_timezone",
    "withdrawal_last_day",
]


class Deadline(BaseModel):
    """The last day of a statutory period, the instant it ends and why."""

    model_config = ConfigDict(frozen=True)

    clock: str
    """Which period: withdrawal, refund, complaint_answer, complaint_liability, guarantee_action."""
    last_day: date
    """The legal last day, in the shop's local calendar (after any weekend/holiday shift)."""
    calendar_last_day: date
    """The last day before any shift: the conservative target for the merchant's own acts."""
    ends_at: datetime
    """First instant after ``last_day`` in the shop's time zone; acts before it are in time."""
    timezone: str
    jurisdiction: str
    rule: str
    trace: tuple[str, ...]


def deadline_ends_at(day: date, timezone: str | ZoneInfo) -> datetime:
    """End of local ``day`` as an aware datetime (the instant a durable timer should fire)."""
    return end_of_local_day(day, timezone)


def legal_calendar(
    profile: str | JurisdictionProfile, timezone: str | ZoneInfo | None = None
) -> BusinessCalendar:
    """Working days for statutory periods: no Saturdays, Sundays or public holidays; no shop closures."""
    prof = get_profile(profile)
    return BusinessCalendar(prof.holiday_country, shop_timezone(prof, timezone))


def add_months(day: date, months: int) -> date:
    """Same date ``months`` later, or the last day of that month when the date does not exist.

    Hand-written because the rule is the law's (art. 112 k.c.; Regulation 1182/71
    art. 3(2)(c)), not dateutil's, and it is four lines.
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _stdlib_calendar.monthrange(year, month)[1]))


# -- the clocks -------------------------------------------------------------------------------------


def withdrawal_last_day(
    delivered_at: datetime | Sequence[datetime],
    *,
    informed: bool = True,
    informed_at: datetime | None = None,
    profile: str | JurisdictionProfile = "PL",
    timezone: str | ZoneInfo | None = None,
) -> Deadline:
    """Last day a consumer may send a withdrawal statement for a distance contract for goods.

    14 days from taking possession of the goods; for an order delivered in several shipments
    (several items or lots), from taking possession of the *last* one. When the consumer was
    not informed of the right, the window ends 12 months after the end of the initial one;
    when the information arrives (``informed_at``) within those 12 months, 14 days after that
    day instead (art. 29 u.p.k.; Directive 2011/83/EU art. 10). The 12 months are counted
    from the *shifted* end of the initial window: the later of the two readings, so the shop
    never refuses a withdrawal it might owe. The statement is in time if *sent* before
    ``ends_at`` (Directive 2011/83/EU art. 11(2)).
    """
    prof, zone, cal = _setup(profile, timezone)
    deliveries = [delivered_at] if isinstance(delivered_at, datetime) else list(delivered_at)
    if not deliveries:
        raise ValueError("withdrawal window: at least one delivery datetime is needed")
    for moment in deliveries:
        aware(moment, "delivered_at")
    trace: list[str] = []
    last_delivery = max(deliveries)
    start = cal.local_date(last_delivery)
    if len(deliveries) > 1:
        trace.append(
            f"order delivered in {len(deliveries)} shipments: the window runs from taking possession "
            f"of the last one, {last_delivery.isoformat()} = {_day(start)} in {zone.key}"
        )
    else:
        trace.append(
            f"goods delivered {last_delivery.isoformat()} = {_day(start)} in {zone.key} (shop's local date)"
        )
    raw_end = start + timedelta(days=prof.withdrawal_days)
    trace.append(
        f"window of {prof.withdrawal_days} days from delivery ({prof.withdrawal_rule}), "
        f"day of delivery not counted ({prof.counting_rule}) → {_day(raw_end)}"
    )
    end = _shift(raw_end, cal, prof, trace)
    calendar_end = raw_end
    if not informed:
        base = end
        extended_raw = add_months(base, prof.not_informed_extension_months)
        trace.append(
            f"consumer not informed of the right of withdrawal: the window ends "
            f"{prof.not_informed_extension_months} months after the initial window ({prof.not_informed_rule}) "
            f"→ {_day(extended_raw)}"
        )
        calendar_end = extended_raw
        end = _shift(extended_raw, cal, prof, trace)
        if informed_at is not None:
            told = cal.local_date(aware(informed_at, "informed_at"))
            if told <= extended_raw:
                late_raw = told + timedelta(days=prof.withdrawal_days)
                trace.append(
                    f"information given late, on {_day(told)}: the window ends {prof.withdrawal_days} days "
                    f"after that day ({prof.not_informed_rule}) → {_day(late_raw)}"
                )
                late_end = _shift(late_raw, cal, prof, trace)
                if late_end < base:
                    trace.append(f"never earlier than the initial window: {_day(base)}")
                    late_end, late_raw = base, raw_end
                end, calendar_end = late_end, late_raw
            else:
                trace.append(f"information given on {_day(told)}, after the 12 months: it changes nothing")
    elif informed_at is not None:
        raise ValueError(
            "informed_at only applies when the consumer was not informed at delivery (informed=False)"
        )
    return _deadline(
        "withdrawal", end, calendar_end, zone, prof, prof.withdrawal_rule, trace, "a statement sent"
    )


def refund_last_day(
    withdrawal_at: datetime,
    *,
    goods_back_at: datetime | None = None,
    profile: str | JurisdictionProfile = "PL",
    timezone: str | ZoneInfo | None = None,
) -> Deadline:
    """Last day to refund after a withdrawal statement was received.

    14 days from receiving the statement (art. 32 ust. 1 u.p.k.; Directive 2011/83/EU
    art. 13(1)). The trader may withhold the refund until the goods are back or the consumer
    proves dispatch, whichever comes first (art. 32 ust. 3 u.p.k.; art. 13(3)). When that
    moment (``goods_back_at``) falls after the 14-day last day, the refund is due on that very
    day: the withholding right ends, the deadline has passed, so there is no further grace.
    """
    prof, zone, cal = _setup(profile, timezone)
    received = cal.local_date(aware(withdrawal_at, "withdrawal_at"))
    trace = [f"withdrawal statement received {withdrawal_at.isoformat()} = {_day(received)} in {zone.key}"]
    raw_end = received + timedelta(days=prof.refund_days)
    trace.append(
        f"refund due within {prof.refund_days} days of receiving the statement ({prof.refund_rule}), "
        f"day of receipt not counted ({prof.counting_rule}) → {_day(raw_end)}"
    )
    end = _shift(raw_end, cal, prof, trace)
    trace.append(
        "the refund may be withheld until the goods are back or proof of their dispatch arrives, "
        f"whichever comes first ({prof.refund_withholding_rule})"
    )
    calendar_end = raw_end
    if goods_back_at is not None:
        back = cal.local_date(aware(goods_back_at, "goods_back_at"))
        if back > end:
            trace.append(
                f"goods or proof of dispatch arrived on {_day(back)}, after the {prof.refund_days} days: "
                "the refund is due that same day"
            )
            end = calendar_end = back
        else:
            trace.append(f"goods or proof of dispatch arrived on {_day(back)}: the deadline stands")
    return _deadline("refund", end, calendar_end, zone, prof, prof.refund_rule, trace, "a refund made")


def complaint_answer_last_day(
    complaint_at: datetime,
    *,
    profile: str | JurisdictionProfile = "PL",
    timezone: str | ZoneInfo | None = None,
) -> Deadline:
    """Last day the trader's answer to a complaint must reach the consumer.

    14 calendar days from receiving the complaint in Poland (art. 7a u.p.k.), after which the
    complaint is deemed accepted; 30 days in the CZ and SK profiles. The clock stops when the
    answer *reaches* the consumer (a declaration takes effect on receipt, art. 61 k.c.), so
    the workflow sends it on a durable medium well before ``ends_at``.
    """
    prof, zone, cal = _setup(profile, timezone)
    received = cal.local_date(aware(complaint_at, "complaint_at"))
    trace = [f"complaint received {complaint_at.isoformat()} = {_day(received)} in {zone.key}"]
    raw_end = received + timedelta(days=prof.complaint_answer_days)
    trace.append(
        f"answer within {prof.complaint_answer_days} calendar days ({prof.complaint_answer_rule}), "
        f"day of receipt not counted ({prof.counting_rule}) → {_day(raw_end)}"
    )
    end = _shift(raw_end, cal, prof, trace)
    if prof.code == "PL":
        trace.append(
            "no answer reaching the consumer by then = the complaint is deemed accepted (art. 7a ust. 2 u.p.k.)"
        )
    return _deadline(
        "complaint_answer",
        end,
        calendar_end=raw_end,
        zone=zone,
        prof=prof,
        rule=prof.complaint_answer_rule,
        trace=trace,
        actor="an answer received",
    )


def complaint_liability_ends(
    delivered_at: datetime,
    *,
    profile: str | JurisdictionProfile = "PL",
    timezone: str | ZoneInfo | None = None,
) -> Deadline:
    """Last day a lack of conformity must *appear* for the trader to be liable: 2 years from delivery.

    Not shifted to a working day: this is not a period for doing anything but the span in
    which a defect must become apparent (art. 43c ust. 1 u.p.k.; Directive 2019/771
    art. 10(1)). The complaint itself may be made later (limitation rules apply), so a
    workflow must not reject a complaint only because it arrives after this day.
    """
    prof, zone, cal = _setup(profile, timezone)
    start = cal.local_date(aware(delivered_at, "delivered_at"))
    trace = [f"goods delivered {delivered_at.isoformat()} = {_day(start)} in {zone.key}"]
    end = add_months(start, 12 * prof.complaint_liability_years)
    trace.append(
        f"liability for lack of conformity appearing within {prof.complaint_liability_years} years "
        f"of delivery ({prof.complaint_liability_rule}) → {_day(end)}; not moved to a working day "
        "(a span for a defect to appear, not a period for an act)"
    )
    return _deadline(
        "complaint_liability",
        end,
        calendar_end=end,
        zone=zone,
        prof=prof,
        rule=prof.complaint_liability_rule,
        trace=trace,
        actor="a defect appearing",
    )


def guarantee_action_last_day(
    received_at: datetime,
    *,
    term_days: int | None = None,
    profile: str | JurisdictionProfile = "PL",
    timezone: str | ZoneInfo | None = None,
) -> Deadline:
    """Last day the guarantor must perform under a commercial guarantee (gwarancja).

    The guarantee's own term when it states one (``term_days``), else 14 days from the day
    the guarantor received the item (art. 580 § 1 k.c.). Shifted like every period for an act.
    """
    prof, zone, cal = _setup(profile, timezone)
    if term_days is not None and term_days < 1:
        raise ValueError(f"a guarantee term must be at least 1 day, got {term_days}")
    received = cal.local_date(aware(received_at, "received_at"))
    trace = [f"item received by the guarantor {received_at.isoformat()} = {_day(received)} in {zone.key}"]
    days = term_days if term_days is not None else prof.guarantee_default_days
    rule = "the guarantee's own terms" if term_days is not None else prof.guarantee_default_rule
    raw_end = received + timedelta(days=days)
    trace.append(f"perform within {days} days ({rule}), day of receipt not counted → {_day(raw_end)}")
    end = _shift(raw_end, cal, prof, trace)
    return _deadline(
        "guarantee_action",
        end,
        calendar_end=raw_end,
        zone=zone,
        prof=prof,
        rule=rule,
        trace=trace,
        actor="performance",
    )


# -- internals ---------------------------------------------------------------------------------------


def shop_timezone(profile: str | JurisdictionProfile, timezone: str | ZoneInfo | None = None) -> ZoneInfo:
    """The shop's zone: the one given, else the jurisdiction's (an error where it has several, e.g. EU)."""
    prof = get_profile(profile)
    if timezone is not None:
        return resolve_timezone(timezone)
    if prof.default_timezone is None:
        raise ValueError(
            f"jurisdiction {prof.code} spans several time zones: give the shop's time zone "
            "(e.g. --timezone Europe/Berlin)"
        )
    return resolve_timezone(prof.default_timezone)


def _setup(
    profile: str | JurisdictionProfile, timezone: str | ZoneInfo | None
) -> tuple[JurisdictionProfile, ZoneInfo, BusinessCalendar]:
    prof = get_profile(profile)
    zone = shop_timezone(prof, timezone)
    return prof, zone, BusinessCalendar(prof.holiday_country, zone)


def _day(day: date) -> str:
    return BusinessCalendar.describe(day)


def _shift(day: date, cal: BusinessCalendar, prof: JurisdictionProfile, trace: list[str]) -> date:
    """Move a last day off Saturdays, Sundays and public holidays, explaining each step."""
    current = day
    while not cal.is_business_day(current):
        trace.append(f"{_day(current)} is not a working day ({cal.closed_reason(current)})")
        current += timedelta(days=1)
    if current != day:
        trace.append(f"→ the last day moves to the next working day, {_day(current)} ({prof.shift_rule})")
    return current


def _deadline(
    clock: str,
    end: date,
    calendar_end: date,
    zone: ZoneInfo,
    prof: JurisdictionProfile,
    rule: str,
    trace: list[str],
    actor: str,
) -> Deadline:
    ends_at = end_of_local_day(end, zone)
    trace.append(
        f"{clock.replace('_', ' ')} last day {end.isoformat()}: {actor} before {ends_at.isoformat()} ({zone.key}) is in time"
    )
    return Deadline(
        clock=clock,
        last_day=end,
        calendar_last_day=calendar_end,
        ends_at=ends_at,
        timezone=zone.key,
        jurisdiction=prof.code,
        rule=rule,
        trace=tuple(trace),
    )
