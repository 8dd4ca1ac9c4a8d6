"""The complaint clocks as a merchant would describe them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aftersales.policy import Policy, default_policy
from aftersales.workflows.complaints.clock import answer_clock, coverage, guarantee_deadline, reminder_times

WAW = ZoneInfo("Europe/Warsaw")
PL = default_policy("Sklep", "PL")


def test_a_complaint_received_on_4_may_must_be_answered_by_18_may() -> None:
    clock = answer_clock(datetime(2026, 5, 4, 10, 0, tzinfo=WAW), PL)
    assert clock.legal.last_day == date(2026, 5, 18)
    assert clock.answer_by == date(2026, 5, 18)
    assert clock.deemed_at == datetime(2026, 5, 19, 0, 0, tzinfo=WAW)


def test_a_deadline_on_a_holiday_moves_but_reminders_aim_at_the_calendar_day() -> None:
    # received 22 April 2026: 14 days = 6 May (Wednesday) — no shift; received 17 April: 1 May (holiday)
    received = datetime(2026, 4, 17, 12, 0, tzinfo=WAW)
    clock = answer_clock(received, PL)
    assert clock.legal.calendar_last_day == date(2026, 5, 1)
    assert clock.legal.last_day == date(2026, 5, 4)  # 1 May holiday, 2-3 May weekend/holiday
    days = [day for day, _ in reminder_times(received, clock, PL)]
    assert days == [10, 13]


def test_a_faster_promise_is_told_to_the_customer_but_the_law_decides_deemed_acceptance() -> None:
    policy = default_policy("Sklep", "PL", complaints={"answer_within_days": 7, "reminder_days": [3, 5]})
    clock = answer_clock(datetime(2026, 5, 4, 10, 0, tzinfo=WAW), policy)
    assert clock.answer_by == date(2026, 5, 11)
    assert clock.legal.last_day == date(2026, 5, 18)


def test_reminders_come_at_opening_time_on_day_10_and_13() -> None:
    received = datetime(2026, 5, 4, 15, 30, tzinfo=WAW)
    clock = answer_clock(received, PL)
    times = reminder_times(received, clock, PL)
    assert times == [
        (10, datetime(2026, 5, 14, 9, 0, tzinfo=WAW)),
        (13, datetime(2026, 5, 17, 9, 0, tzinfo=WAW)),
    ]


def test_a_reminder_after_the_deadline_is_dropped() -> None:
    # the policy checks refuse such a file; the clock still never schedules a useless reminder
    policy = Policy.model_validate(
        {**PL.model_dump(mode="json", by_alias=True), "complaints": {"reminder_days": [3, 14, 20]}}
    )
    received = datetime(2026, 5, 4, 10, 0, tzinfo=WAW)
    assert [d for d, _ in reminder_times(received, answer_clock(received, policy), policy)] == [3, 14]


def test_a_defect_within_two_years_is_covered_and_presumed_to_have_existed() -> None:
    delivered = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    cover = coverage(delivered, datetime(2026, 6, 1, 8, 0, tzinfo=UTC), PL)
    assert cover.covered and cover.basis == "statutory"
    assert cover.ends_on == date(2026, 6, 1)
    assert "presumed" in cover.detail


def test_a_defect_after_two_years_is_not_covered_without_a_guarantee() -> None:
    delivered = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    cover = coverage(delivered, datetime(2026, 6, 2, 8, 0, tzinfo=UTC), PL)
    assert not cover.covered and cover.basis == "none"
    assert "2026-06-01" in cover.detail


def test_the_shops_five_year_guarantee_covers_a_laptop_after_two_years() -> None:
    policy = default_policy("Sklep", "PL", complaints={"warranty": {"laptops": {"months": 60}}})
    delivered = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    noticed = datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
    assert coverage(delivered, noticed, policy, category="laptops").basis == "guarantee"
    assert coverage(delivered, noticed, policy, category="kettles").basis == "none"


def test_goods_not_delivered_yet_are_covered() -> None:
    assert coverage(None, datetime(2030, 1, 1, tzinfo=UTC), PL).covered


def test_a_guarantee_without_a_term_gives_the_guarantor_14_days_from_receiving_the_item() -> None:
    deadline = guarantee_deadline(datetime(2026, 5, 4, 10, 0, tzinfo=WAW), PL)
    assert deadline.last_day == date(2026, 5, 18)
    assert "580" in deadline.rule
