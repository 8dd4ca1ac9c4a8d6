"""Statutory clocks, written as the scenarios a Polish merchant meets at the counter.

Every row says what happened and when, and the last day the law gives; the comments say
which day off moved it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from aftersales.law import (
    add_months,
    complaint_answer_last_day,
    complaint_liability_ends,
    deadline_ends_at,
    get_profile,
    guarantee_action_last_day,
    refund_last_day,
    withdrawal_last_day,
)
from aftersales.law.profiles import UnknownJurisdiction


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- withdrawal window --------------------------------------------------------------------------------

WITHDRAWAL_SCENARIOS = [
    # (scenario, delivered at, last day to withdraw)
    (
        "goods delivered on 1 May (a holiday) count from that day: 15 May",
        "2026-05-01T12:00:00+02:00",
        "2026-05-15",
    ),
    (
        "a 12 December delivery ends on Boxing Day, a Saturday: moves past Sunday",
        "2026-12-12T12:00:00+01:00",
        "2026-12-28",
    ),
    (
        "a delivery on 10 December ends on Christmas Eve, a holiday from 2025",
        "2026-12-10T15:00:00+01:00",
        "2026-12-28",
    ),
    ("in 2024 Christmas Eve was still a working day", "2024-12-10T15:00:00+01:00", "2024-12-24"),
    (
        "over the year end: 1 January is a Friday holiday, then a weekend",
        "2026-12-18T10:00:00+01:00",
        "2027-01-04",
    ),
    ("a 23 December delivery ends on Epiphany (6 January)", "2026-12-23T10:00:00+01:00", "2027-01-07"),
    ("ending on Easter Monday moves to Tuesday", "2026-03-23T10:00:00+01:00", "2026-04-07"),
    ("ending on Easter Sunday skips Easter Monday too", "2026-03-22T10:00:00+01:00", "2026-04-07"),
    ("ending on Corpus Christi (Thursday) moves to Friday", "2026-05-21T10:00:00+02:00", "2026-06-05"),
    ("ending on All Saints' Day (Monday 1 November 2027)", "2027-10-18T10:00:00+02:00", "2027-11-02"),
    ("ending on Independence Day (Wednesday 11 November)", "2026-10-28T10:00:00+01:00", "2026-11-12"),
    ("ending on 1 May (Friday): past the weekend and 3 May", "2026-04-17T10:00:00+02:00", "2026-05-04"),
    (
        "delivered 00:30 on the night clocks go forward: a 29 March delivery",
        "2026-03-29T00:30:00+01:00",
        "2026-04-13",
    ),
    ("the same instant written in UTC gives the same local day", "2026-03-28T23:30:00+00:00", "2026-04-13"),
    ("delivered 00:30 on the night clocks go back (25 October)", "2026-10-25T00:30:00+02:00", "2026-11-09"),
    ("22:30 UTC on 1 May is already 2 May in Warsaw", "2026-05-01T22:30:00+00:00", "2026-05-18"),
    ("21:59:59 UTC on 1 May is still 1 May in Warsaw", "2026-05-01T21:59:59+00:00", "2026-05-15"),
    (
        "a delivery recorded in another zone is placed on Warsaw's calendar",
        "2026-05-01T18:30:00-04:00",
        "2026-05-18",
    ),
]


@pytest.mark.parametrize(
    ("delivered", "last_day"),
    [pytest.param(d, ld, id=s) for s, d, ld in WITHDRAWAL_SCENARIOS],
)
def test_withdrawal_last_day(delivered: str, last_day: str) -> None:
    assert withdrawal_last_day(at(delivered)).last_day.isoformat() == last_day


def test_a_multi_shipment_order_counts_from_the_last_parcel() -> None:
    # The laptop came on 1 May, its bag on 6 May: the window runs from 6 May, whatever the order.
    result = withdrawal_last_day([at("2026-05-06T09:00:00+02:00"), at("2026-05-01T12:00:00+02:00")])
    assert result.last_day == date(2026, 5, 20)
    assert "2 shipments" in result.trace[0]
    assert "last one" in result.trace[0]


def test_a_holiday_shift_is_explained_step_by_step() -> None:
    result = withdrawal_last_day(at("2026-12-12T12:00:00+01:00"))
    text = "\n".join(result.trace)
    assert (
        "2026-12-26 (Saturday) is not a working day (Saturday, public holiday: Second Day of Christmas)"
        in text
    )
    assert "2026-12-27 (Sunday) is not a working day (Sunday)" in text
    assert "art. 115 k.c." in text
    assert "art. 27 u.p.k." in text
    assert result.calendar_last_day == date(2026, 12, 26)


def test_the_window_ends_at_midnight_shop_time() -> None:
    result = withdrawal_last_day(at("2026-05-01T12:00:00+02:00"))
    assert result.ends_at.isoformat() == "2026-05-16T00:00:00+02:00"
    assert result.timezone == "Europe/Warsaw"
    assert result.jurisdiction == "PL"


def test_a_consumer_never_told_of_the_right_gets_twelve_more_months() -> None:
    # 15 May 2026 + 12 months = Saturday 15 May 2027; Sunday 16 May is Pentecost → Monday 17 May.
    result = withdrawal_last_day(at("2026-05-01T12:00:00+02:00"), informed=False)
    assert result.last_day == date(2027, 5, 17)
    assert any("not informed" in line and "art. 29 u.p.k." in line for line in result.trace)


def test_twelve_months_run_from_the_shifted_end_of_the_first_window() -> None:
    # First window ends Monday 28 December 2026 (after Christmas); + 12 months = Tuesday 28 December 2027.
    assert withdrawal_last_day(at("2026-12-12T12:00:00+01:00"), informed=False).last_day == date(2027, 12, 28)


def test_information_given_late_gives_fourteen_days_from_then() -> None:
    result = withdrawal_last_day(
        at("2026-05-01T12:00:00+02:00"), informed=False, informed_at=at("2026-07-01T09:00:00+02:00")
    )
    assert result.last_day == date(2026, 7, 15)


def test_late_information_never_shortens_the_first_window() -> None:
    result = withdrawal_last_day(
        at("2026-05-01T12:00:00+02:00"), informed=False, informed_at=at("2026-05-01T13:00:00+02:00")
    )
    assert result.last_day == date(2026, 5, 15)


def test_informed_at_needs_not_informed() -> None:
    with pytest.raises(ValueError, match="informed=False"):
        withdrawal_last_day(at("2026-05-01T12:00:00+02:00"), informed_at=at("2026-05-02T12:00:00+02:00"))


def test_naive_deliveries_and_no_delivery_are_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        withdrawal_last_day(datetime(2026, 5, 1, 12, 0))
    with pytest.raises(ValueError, match="at least one delivery"):
        withdrawal_last_day([])


def test_eu_default_shifts_only_for_weekends() -> None:
    # Christmas Eve is a working day under the EU default (no common holidays), unlike Poland.
    delivered = at("2026-12-10T15:00:00+01:00")
    assert withdrawal_last_day(delivered, profile="EU", timezone="Europe/Berlin").last_day == date(
        2026, 12, 24
    )
    assert withdrawal_last_day(delivered, profile="PL").last_day == date(2026, 12, 28)
    # ... but Saturday 26 December still moves to Monday.
    eu = withdrawal_last_day(at("2026-12-12T12:00:00+01:00"), profile="EU", timezone="Europe/Berlin")
    assert eu.last_day == date(2026, 12, 28)
    assert "Regulation 1182/71 art. 3(4)" in "\n".join(eu.trace)


def test_eu_needs_a_time_zone_and_unknown_jurisdictions_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        withdrawal_last_day(at("2026-12-12T12:00:00+01:00"), profile="EU")
    with pytest.raises(UnknownJurisdiction, match="PL, EU"):
        withdrawal_last_day(at("2026-12-12T12:00:00+01:00"), profile="XX")


# -- refund after withdrawal ----------------------------------------------------------------------------

REFUND_SCENARIOS = [
    (
        "a withdrawal received on 23 December is refundable until 7 January",
        "2026-12-23T10:00:00+01:00",
        "2027-01-07",
    ),
    ("a withdrawal received on 1 April: 15 April, no shift", "2026-04-01T10:00:00+02:00", "2026-04-15"),
    (
        "a withdrawal received on 23 March: Easter Monday moves it to 7 April",
        "2026-03-23T10:00:00+01:00",
        "2026-04-07",
    ),
    (
        "received at 23:30 UTC on 10 December = 11 December in Warsaw",
        "2026-12-10T23:30:00+00:00",
        "2026-12-28",
    ),
]


@pytest.mark.parametrize(("received", "last_day"), [pytest.param(r, d, id=s) for s, r, d in REFUND_SCENARIOS])
def test_refund_last_day(received: str, last_day: str) -> None:
    assert refund_last_day(at(received)).last_day.isoformat() == last_day


def test_the_unshifted_refund_day_is_kept_as_the_safe_target() -> None:
    result = refund_last_day(at("2026-12-23T10:00:00+01:00"))
    assert result.calendar_last_day == date(2027, 1, 6)
    assert result.last_day == date(2027, 1, 7)
    assert any("Epiphany" in line for line in result.trace)
    assert any("art. 32 ust. 3 u.p.k." in line for line in result.trace)


def test_goods_back_after_the_fourteen_days_make_the_refund_due_that_day() -> None:
    late = refund_last_day(at("2026-05-04T10:00:00+02:00"), goods_back_at=at("2026-05-25T09:00:00+02:00"))
    assert late.last_day == date(2026, 5, 25)
    early = refund_last_day(at("2026-05-04T10:00:00+02:00"), goods_back_at=at("2026-05-08T09:00:00+02:00"))
    assert early.last_day == date(2026, 5, 18)


# -- complaints --------------------------------------------------------------------------------------------

COMPLAINT_SCENARIOS = [
    (
        "a complaint of 28 October must be answered by 12 November (11 Nov holiday)",
        "PL",
        "2026-10-28T10:00:00+01:00",
        "2026-11-12",
    ),
    (
        "a complaint of 20 May: 3 June, the day before Corpus Christi",
        "PL",
        "2026-05-20T10:00:00+02:00",
        "2026-06-03",
    ),
    (
        "a complaint of 21 May lands on Corpus Christi: 5 June",
        "PL",
        "2026-05-21T10:00:00+02:00",
        "2026-06-05",
    ),
    (
        "a complaint of 12 December: Boxing Day Saturday → 28 December",
        "PL",
        "2026-12-12T10:00:00+01:00",
        "2026-12-28",
    ),
    ("received 01:30 on the night clocks go forward", "PL", "2026-03-29T01:30:00+01:00", "2026-04-13"),
    ("Czech shops have 30 days: 1 June → 1 July", "CZ", "2026-06-01T10:00:00+02:00", "2026-07-01"),
    (
        "Czech 30 days ending on Cyril and Methodius, then Jan Hus Day",
        "CZ",
        "2026-06-05T10:00:00+02:00",
        "2026-07-07",
    ),
    ("Slovak shops have 30 days too", "SK", "2026-06-01T10:00:00+02:00", "2026-07-01"),
]


@pytest.mark.parametrize(
    ("jurisdiction", "received", "last_day"),
    [pytest.param(j, r, d, id=s) for s, j, r, d in COMPLAINT_SCENARIOS],
)
def test_complaint_answer_last_day(jurisdiction: str, received: str, last_day: str) -> None:
    assert complaint_answer_last_day(at(received), profile=jurisdiction).last_day.isoformat() == last_day


def test_a_polish_complaint_left_unanswered_is_deemed_accepted() -> None:
    result = complaint_answer_last_day(at("2026-10-28T10:00:00+01:00"))
    assert any("deemed accepted" in line for line in result.trace)
    assert "art. 7a u.p.k." in result.rule


def test_liability_for_non_conformity_lasts_two_years_and_is_not_shifted() -> None:
    # 1 May 2028 is a Monday holiday; the span is not a period for an act, so it stays.
    result = complaint_liability_ends(at("2026-05-01T12:00:00+02:00"))
    assert result.last_day == date(2028, 5, 1)
    leap = complaint_liability_ends(at("2028-02-29T12:00:00+01:00"))
    assert leap.last_day == date(2030, 2, 28)


def test_a_guarantee_without_a_term_gives_fourteen_days_from_receipt() -> None:
    assert guarantee_action_last_day(at("2026-12-10T10:00:00+01:00")).last_day == date(2026, 12, 28)
    assert guarantee_action_last_day(at("2026-12-10T10:00:00+01:00"), term_days=30).last_day == date(
        2027, 1, 11
    )
    with pytest.raises(ValueError, match="at least 1 day"):
        guarantee_action_last_day(at("2026-12-10T10:00:00+01:00"), term_days=0)


# -- helpers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 5, 15), 12, date(2027, 5, 15)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 11, 30), 1, date(2026, 12, 30)),
    ],
)
def test_months_end_on_the_same_date_or_the_last_day_of_the_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


def test_deadline_ends_at_is_an_aware_instant_across_dst() -> None:
    before = deadline_ends_at(date(2026, 3, 28), "Europe/Warsaw")
    after = deadline_ends_at(date(2026, 3, 29), "Europe/Warsaw")
    assert before.utcoffset() == timedelta(hours=1)
    assert after.utcoffset() == timedelta(hours=2)
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=23)


def test_profiles_carry_their_numbers_and_sources() -> None:
    pl, cz, eu = get_profile("pl"), get_profile("CZ"), get_profile("EU")
    assert (pl.withdrawal_days, pl.complaint_answer_days, pl.default_timezone) == (14, 14, "Europe/Warsaw")
    assert cz.complaint_answer_days == 30
    assert eu.holiday_country is None
    assert get_profile("DE").holiday_country == "DE"
