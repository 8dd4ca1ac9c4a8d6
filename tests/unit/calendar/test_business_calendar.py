"""Business days as a Polish (or EU) merchant counts them: weekdays minus holidays minus closures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.calendar import BusinessCalendar, UnknownTimezone, end_of_local_day

WARSAW = "Europe/Warsaw"
PL = BusinessCalendar("PL", WARSAW)


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2026, 1, 1), "New Year's Day"),
        (date(2026, 1, 6), "Epiphany"),
        (date(2026, 4, 6), "Easter Monday"),
        (date(2026, 5, 1), "National Day"),
        (date(2026, 6, 4), "Corpus Christi"),
        (date(2026, 8, 15), "Assumption Day"),
        (date(2026, 11, 1), "All Saints' Day"),
        (date(2026, 11, 11), "National Independence Day"),
        (date(2025, 12, 24), "Christmas Eve"),
        (date(2026, 12, 24), "Christmas Eve"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 26), "Second Day of Christmas"),
    ],
)
def test_polish_public_holidays_are_not_business_days(day: date, holiday: str) -> None:
    assert not PL.is_business_day(day)
    assert holiday in (PL.holiday_name(day) or "")


def test_christmas_eve_became_a_day_off_only_in_2025() -> None:
    # The act of 6 December 2024 amending the act on days off work: 24 December is a holiday from 2025.
    assert PL.is_business_day(date(2024, 12, 24))
    assert not PL.is_business_day(date(2025, 12, 24))


def test_moving_feasts_follow_easter() -> None:
    assert PL.holiday_name(date(2027, 3, 29)) == "Easter Monday"
    assert PL.holiday_name(date(2027, 5, 27)) == "Corpus Christi"
    assert PL.is_business_day(date(2026, 4, 3))  # Good Friday is an ordinary working day in Poland


def test_a_shop_closure_stops_shipping_but_not_the_legal_calendar() -> None:
    stocktaking = date(2026, 8, 12)
    shop = BusinessCalendar("PL", WARSAW, closures=[stocktaking])
    assert not shop.is_business_day(stocktaking)
    assert shop.closed_reason(stocktaking) == "shop closure"
    assert shop.without_closures().is_business_day(stocktaking)


def test_reasons_name_every_cause() -> None:
    assert PL.closed_reason(date(2026, 12, 26)) == "Saturday, public holiday: Second Day of Christmas"
    assert PL.closed_reason(date(2026, 12, 28)) is None


def test_the_eu_default_knows_only_weekends() -> None:
    eu = BusinessCalendar("EU", "Europe/Berlin")
    assert eu.is_business_day(date(2026, 12, 24))
    assert eu.is_business_day(date(2026, 12, 25))
    assert not eu.is_business_day(date(2026, 12, 26))


def test_other_member_states_use_their_own_holidays() -> None:
    czech = BusinessCalendar("CZ", "Europe/Prague")
    assert not czech.is_business_day(date(2026, 7, 6))  # Jan Hus Day
    assert PL.is_business_day(date(2026, 7, 6))


def test_next_and_add_business_days_over_christmas() -> None:
    assert PL.next_business_day(date(2026, 12, 23)) == date(2026, 12, 28)
    assert PL.add_business_days(date(2026, 12, 23), 0) == date(2026, 12, 23)
    assert PL.add_business_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    assert PL.add_business_days(date(2026, 12, 23), 3) == date(2026, 12, 30)
    assert PL.add_business_days(date(2026, 12, 26), 0) == date(2026, 12, 28)
    assert PL.business_days_between(date(2026, 12, 23), date(2026, 12, 30)) == 3


def test_counting_backwards_is_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        PL.add_business_days(date(2026, 5, 4), -1)


def test_local_date_is_the_shops_date_not_utc() -> None:
    # 22:30 UTC on 30 April is 00:30 on 1 May in Warsaw (CEST, +02:00).
    assert PL.local_date(datetime(2026, 4, 30, 22, 30, tzinfo=UTC)) == date(2026, 5, 1)
    assert PL.local_date(datetime(2026, 4, 30, 21, 59, 59, tzinfo=UTC)) == date(2026, 4, 30)
    # In winter (CET, +01:00) the day turns at 23:00 UTC.
    assert PL.local_date(datetime(2026, 12, 23, 23, 0, tzinfo=UTC)) == date(2026, 12, 24)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        PL.local_date(datetime(2026, 5, 1, 12, 0))


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(UnknownTimezone, match="Europe/Warsaw"):
        BusinessCalendar("PL", "Europe/Warszawa")


def test_unknown_holiday_country_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no public-holiday calendar"):
        BusinessCalendar("XX", WARSAW)


def test_end_of_day_across_dst_changes() -> None:
    # 29 March 2026: clocks go forward in Warsaw, the day has 23 hours.
    start = end_of_local_day(date(2026, 3, 28), WARSAW)
    end = end_of_local_day(date(2026, 3, 29), WARSAW)
    assert start.isoformat() == "2026-03-29T00:00:00+01:00"
    assert end.isoformat() == "2026-03-30T00:00:00+02:00"
    # (Python subtracts same-zone datetimes by wall clock, so compare real instants in UTC.)
    assert utc(end) - utc(start) == timedelta(hours=23)
    # 25 October 2026: clocks go back, 25 hours.
    assert utc(end_of_local_day(date(2026, 10, 25), WARSAW)) - utc(
        end_of_local_day(date(2026, 10, 24), WARSAW)
    ) == timedelta(hours=25)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# -- properties ---------------------------------------------------------------------------------------

CALENDARS = [
    BusinessCalendar("PL", WARSAW),
    BusinessCalendar("EU", "Europe/Berlin"),
    BusinessCalendar("CZ", "Europe/Prague"),
    BusinessCalendar("PL", WARSAW, closures=[date(2026, 8, d) for d in range(10, 15)] + [date(2026, 12, 31)]),
]
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
counts = st.integers(min_value=0, max_value=40)
calendars = st.sampled_from(CALENDARS)


@settings(max_examples=300, deadline=None)
@given(calendars, days, counts)
def test_adding_business_days_always_lands_on_a_business_day(
    cal: BusinessCalendar, day: date, n: int
) -> None:
    result = cal.add_business_days(day, n)
    assert cal.is_business_day(result)
    assert result >= day
    if n >= 1:
        assert result > day
        assert cal.business_days_between(day, result) == n


@settings(max_examples=300, deadline=None)
@given(calendars, days, counts)
def test_adding_more_business_days_never_gives_an_earlier_day(
    cal: BusinessCalendar, day: date, n: int
) -> None:
    assert cal.add_business_days(day, n) <= cal.add_business_days(day, n + 1)
    if n >= 1:
        assert cal.add_business_days(day, n) < cal.add_business_days(day, n + 1)


@settings(max_examples=300, deadline=None)
@given(calendars, days, days, counts)
def test_a_later_start_never_gives_an_earlier_day(cal: BusinessCalendar, a: date, b: date, n: int) -> None:
    first, second = min(a, b), max(a, b)
    assert cal.add_business_days(first, n) <= cal.add_business_days(second, n)
