"""First response in business hours: the clock runs only while the desk is open."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.calendar import BusinessCalendar
from aftersales.workflows.complaints.sla import OpeningHours, add_business_hours, priority

WAW = ZoneInfo("Europe/Warsaw")
DESK = OpeningHours(BusinessCalendar("PL", WAW), time(9, 0), time(17, 0))


def test_inside_opening_hours_the_clock_simply_runs() -> None:
    start = datetime(2026, 5, 4, 10, 0, tzinfo=WAW)  # Monday
    assert add_business_hours(start, 3, DESK) == datetime(2026, 5, 4, 13, 0, tzinfo=WAW)


def test_hours_left_at_closing_carry_over_to_the_next_morning() -> None:
    start = datetime(2026, 5, 4, 15, 0, tzinfo=WAW)
    assert add_business_hours(start, 4, DESK) == datetime(2026, 5, 5, 11, 0, tzinfo=WAW)


def test_a_friday_evening_complaint_waits_for_monday() -> None:
    start = datetime(2026, 5, 8, 20, 0, tzinfo=WAW)  # Friday evening
    assert add_business_hours(start, 1, DESK) == datetime(2026, 5, 11, 10, 0, tzinfo=WAW)


def test_public_holidays_and_shop_closures_do_not_count() -> None:
    # Thursday 30 April 2026 16:00, 24 h: 1 May holiday, weekend, Sunday 3 May holiday; 4 May a closure
    desk = OpeningHours(
        BusinessCalendar("PL", WAW, closures=[datetime(2026, 5, 4).date()]), time(9), time(17)
    )
    start = datetime(2026, 4, 30, 16, 0, tzinfo=WAW)
    # 1 h on 30 April, 8 h on 5, 6 May → 17 h; 7 more hours on 7 May → 16:00
    assert add_business_hours(start, 24, desk) == datetime(2026, 5, 7, 16, 0, tzinfo=WAW)


def test_zero_hours_at_night_is_the_next_opening() -> None:
    start = datetime(2026, 5, 4, 22, 0, tzinfo=WAW)
    assert add_business_hours(start, 0, DESK) == datetime(2026, 5, 5, 9, 0, tzinfo=WAW)


def test_the_dst_night_does_not_stretch_a_business_day() -> None:
    start = datetime(2026, 3, 27, 16, 0, tzinfo=WAW)  # Friday; clocks go forward on Sunday 29 March
    assert add_business_hours(start, 2, DESK) == datetime(2026, 3, 30, 10, 0, tzinfo=WAW)


def _open_time_between(a: datetime, b: datetime) -> timedelta:
    total = timedelta(0)
    day = DESK.calendar.local_date(a)
    while True:
        window = DESK.window(day)
        if window is not None:
            lo, hi = max(window[0], a.astimezone(UTC)), min(window[1], b.astimezone(UTC))
            if hi > lo:
                total += hi - lo
        if datetime.combine(day, time(0), tzinfo=WAW) > b:
            return total
        day += timedelta(days=1)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=1, max_value=60 * 80),
)
def test_exactly_the_asked_open_time_lies_between_start_and_due(start: datetime, minutes: int) -> None:
    due = add_business_hours(start, timedelta(minutes=minutes), DESK)
    assert due > start
    assert _open_time_between(start, due) == timedelta(minutes=minutes)
    assert DESK.is_open(due - timedelta(microseconds=1))


def test_priority_reasons() -> None:
    received = datetime(2026, 5, 4, 22, 0, tzinfo=WAW)
    rank = priority(
        received_at=received,
        opening=DESK,
        earlier_complaints=[received - timedelta(days=40)],
        value=Decimal("2499.00"),
        deemed_at=received + timedelta(days=14),
    )
    assert rank.reasons == ("repeat", "high_value", "after_hours")
    assert rank.level == 3
    calm = priority(
        received_at=datetime(2026, 5, 4, 10, 0, tzinfo=WAW),
        opening=DESK,
        earlier_complaints=[received - timedelta(days=800)],
        value=Decimal("20"),
        deemed_at=received + timedelta(days=14),
    )
    assert calm.level == 0
