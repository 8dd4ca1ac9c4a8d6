"""The shipping promise, as a Polish shop with a 12:00 cut-off lives it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.calendar import BusinessCalendar, UnknownTimezone
from aftersales.policy import load_policy
from aftersales.policy.schema import PeakSeason
from aftersales.workflows.promise import Promise, compute_promise, promise_for_policy

WARSAW = "Europe/Warsaw"
PL = BusinessCalendar("PL", WARSAW)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def promise(
    paid: str, handling: int = 1, cutoff: str = "12:00", calendar: BusinessCalendar = PL, **kw: object
) -> Promise:
    return compute_promise(
        paid_at=at(paid), calendar=calendar, cutoff=cutoff, handling_business_days=handling, **kw
    )  # type: ignore[arg-type]


SCENARIOS = [
    # (scenario, paid at, handling days, day 0, dispatch by)
    (
        "paid Monday 10:00, one handling day: Tuesday",
        "2026-11-30T10:00:00+01:00",
        1,
        "2026-11-30",
        "2026-12-01",
    ),
    (
        "paid on 1 May (holiday, Friday), same-day handling: Monday 4 May",
        "2026-05-01T10:00:00+02:00",
        0,
        "2026-05-04",
        "2026-05-04",
    ),
    (
        "paid at 11:59:59, before the cut-off: ships today",
        "2026-06-01T11:59:59+02:00",
        0,
        "2026-06-01",
        "2026-06-01",
    ),
    (
        "paid at 11:59:59.999999: still before",
        "2026-06-01T11:59:59.999999+02:00",
        0,
        "2026-06-01",
        "2026-06-01",
    ),
    (
        "paid at 12:00:00 sharp: not before the cut-off",
        "2026-06-01T12:00:00+02:00",
        0,
        "2026-06-02",
        "2026-06-02",
    ),
    (
        "paid Friday afternoon: day 0 Monday, dispatch Tuesday",
        "2026-06-12T15:00:00+02:00",
        1,
        "2026-06-15",
        "2026-06-16",
    ),
    ("paid Saturday morning: day 0 Monday", "2026-06-13T09:00:00+02:00", 0, "2026-06-15", "2026-06-15"),
    (
        "paid Sunday before noon: day 0 Monday, +2 days Wednesday",
        "2026-06-14T09:00:00+02:00",
        2,
        "2026-06-15",
        "2026-06-17",
    ),
    (
        "paid Good Friday afternoon: past Easter Monday",
        "2026-04-03T13:00:00+02:00",
        1,
        "2026-04-07",
        "2026-04-08",
    ),
    (
        "paid the Thursday before Easter, morning: handling skips Easter",
        "2026-04-02T09:00:00+02:00",
        2,
        "2026-04-02",
        "2026-04-07",
    ),
    (
        "paid the day before Corpus Christi, afternoon",
        "2026-06-03T12:30:00+02:00",
        1,
        "2026-06-05",
        "2026-06-08",
    ),
    ("paid on Corpus Christi morning", "2026-06-04T09:00:00+02:00", 0, "2026-06-05", "2026-06-05"),
    (
        "paid the Friday before All Saints' Monday (2027), afternoon",
        "2027-10-29T13:00:00+02:00",
        1,
        "2027-11-02",
        "2027-11-03",
    ),
    (
        "paid the day before Independence Day, afternoon",
        "2026-11-10T14:00:00+01:00",
        1,
        "2026-11-12",
        "2026-11-13",
    ),
    (
        "paid 23 December morning: dispatch after Christmas",
        "2026-12-23T11:00:00+01:00",
        1,
        "2026-12-23",
        "2026-12-28",
    ),
    (
        "paid 23 December afternoon: day 0 is 28 December",
        "2026-12-23T13:00:00+01:00",
        1,
        "2026-12-28",
        "2026-12-29",
    ),
    ("paid on Christmas Eve", "2026-12-24T09:00:00+01:00", 0, "2026-12-28", "2026-12-28"),
    (
        "paid New Year's Eve afternoon: past 1 January and the weekend",
        "2026-12-31T15:00:00+01:00",
        0,
        "2027-01-04",
        "2027-01-04",
    ),
    (
        "10:30 UTC on the Monday after clocks go forward is 12:30 in Warsaw",
        "2026-03-30T10:30:00+00:00",
        0,
        "2026-03-31",
        "2026-03-31",
    ),
    (
        "10:30 UTC on the Friday before is 11:30 in Warsaw",
        "2026-03-27T10:30:00+00:00",
        0,
        "2026-03-27",
        "2026-03-27",
    ),
    (
        "10:30 UTC the Friday before clocks go back is 12:30 in Warsaw",
        "2026-10-23T10:30:00+00:00",
        0,
        "2026-10-26",
        "2026-10-26",
    ),
    (
        "10:30 UTC the Monday after clocks go back is 11:30 in Warsaw",
        "2026-10-26T10:30:00+00:00",
        0,
        "2026-10-26",
        "2026-10-26",
    ),
    (
        "22:30 UTC on 30 April is 1 May (holiday) in Warsaw",
        "2026-04-30T22:30:00+00:00",
        0,
        "2026-05-04",
        "2026-05-04",
    ),
    (
        "paid in New York on Monday morning, already afternoon in Warsaw",
        "2026-06-01T08:00:00-04:00",
        0,
        "2026-06-02",
        "2026-06-02",
    ),
]


@pytest.mark.parametrize(
    ("paid", "handling", "day_zero", "dispatch_by"),
    [pytest.param(p, h, z, d, id=s) for s, p, h, z, d in SCENARIOS],
)
def test_dispatch_by(paid: str, handling: int, day_zero: str, dispatch_by: str) -> None:
    result = promise(paid, handling)
    assert result.day_zero.isoformat() == day_zero
    assert result.dispatch_by.isoformat() == dispatch_by
    assert result.binding


def test_the_trace_explains_the_holidays_it_skipped() -> None:
    result = promise("2026-12-23T13:00:00+01:00", 1)
    text = "\n".join(result.trace)
    assert "13:00:00 is not before the 12:00 cut-off" in text
    assert "2026-12-24 (public holiday: Christmas Eve)" in text
    assert "2026-12-26 (Saturday, public holiday: Second Day of Christmas)" in text
    assert "dispatch by 2026-12-29 (Tuesday)" in text


def test_the_deadline_is_the_end_of_the_promised_day_in_shop_time() -> None:
    result = promise("2026-03-27T10:00:00+01:00", 1)  # dispatch Monday 30 March, after the DST change
    assert result.dispatch_by == date(2026, 3, 30)
    assert result.dispatch_deadline.isoformat() == "2026-03-31T00:00:00+02:00"


def test_a_closed_warehouse_pushes_the_promise_but_not_the_courier() -> None:
    stocktaking = BusinessCalendar("PL", WARSAW, closures=[date(2026, 8, d) for d in range(10, 15)])
    result = promise("2026-08-07T13:00:00+02:00", 1, calendar=stocktaking, transit_days=1, zone="PL")
    # Friday afternoon → Monday 10..Friday 14 closed, Saturday 15 August is Assumption → day 0 Monday 17.
    assert result.day_zero == date(2026, 8, 17)
    assert result.dispatch_by == date(2026, 8, 18)
    assert result.deliver_by == date(2026, 8, 19)
    assert any("shop closure" in line for line in result.trace)


def test_carrier_transit_ignores_shop_closures() -> None:
    closed_monday = BusinessCalendar("PL", WARSAW, closures=[date(2026, 6, 8)])
    result = promise("2026-06-05T09:00:00+02:00", 0, calendar=closed_monday, transit_days=1)
    assert result.dispatch_by == date(2026, 6, 5)
    assert result.deliver_by == date(2026, 6, 8)  # the courier works on the shop's closed Monday


def test_peak_season_adds_handling_days() -> None:
    black_friday = PeakSeason.model_validate(
        {"from": "2026-11-27", "to": "2026-12-07", "extra_handling_days": 1}
    )
    result = promise("2026-11-30T10:00:00+01:00", 1, peak=[black_friday])
    assert result.dispatch_by == date(2026, 12, 2)
    assert result.handling_business_days == 2
    assert any("peak season" in line for line in result.trace)
    outside = promise("2026-12-08T10:00:00+01:00", 1, peak=[black_friday])
    assert outside.dispatch_by == date(2026, 12, 9)


def test_payment_within_the_window_keeps_the_promise_made_at_checkout() -> None:
    # Ordered 11:50 (before the cut-off), paid 12:10: within 30 minutes, day 0 is today.
    result = promise(
        "2026-06-01T12:10:00+02:00", 0, ordered_at=at("2026-06-01T11:50:00+02:00"), payment_window_minutes=30
    )
    assert result.binding
    assert result.dispatch_by == date(2026, 6, 1)
    assert result.clock_started_at == at("2026-06-01T11:50:00+02:00")


def test_a_late_payment_gives_a_non_binding_promise_from_the_payment() -> None:
    result = promise(
        "2026-06-01T12:10:00+02:00", 0, ordered_at=at("2026-06-01T11:00:00+02:00"), payment_window_minutes=30
    )
    assert not result.binding
    assert result.dispatch_by == date(2026, 6, 2)
    assert any("outside the 30-minute payment window" in line for line in result.trace)


def test_a_payment_window_needs_the_order_time() -> None:
    with pytest.raises(ValueError, match="needs the order time"):
        promise("2026-06-01T12:10:00+02:00", 0, payment_window_minutes=30)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"paid_at": datetime(2026, 6, 1, 10, 0)}, ValueError, "no UTC offset"),
        ({"ordered_at": datetime(2026, 6, 1, 9, 0)}, ValueError, "no UTC offset"),
        ({"cutoff": "25:00"}, ValueError, "between 00:00 and 23:59"),
        ({"cutoff": "12:60"}, ValueError, "between 00:00 and 23:59"),
        ({"cutoff": "noon"}, ValueError, "HH:MM"),
        ({"handling_business_days": -1}, ValueError, "0 or more"),
        ({"transit_days": -2}, ValueError, "0 or more"),
    ],
)
def test_bad_input_is_refused_clearly(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {
        "paid_at": at("2026-06-01T10:00:00+02:00"),
        "calendar": PL,
        "cutoff": "12:00",
        "handling_business_days": 1,
    }
    args.update(kwargs)
    with pytest.raises(error, match=message):
        compute_promise(**args)  # type: ignore[arg-type]


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(UnknownTimezone):
        BusinessCalendar("PL", "Europe/Krakow")


def test_the_promise_under_the_example_policy() -> None:
    policy = load_policy(EXAMPLES / "pl-shop.yaml")
    result = promise_for_policy(
        policy,
        paid_at=at("2026-06-01T10:05:00+02:00"),
        ordered_at=at("2026-06-01T10:00:00+02:00"),
        shipping_zone="PL",
    )
    assert (result.dispatch_by, result.deliver_by, result.binding) == (
        date(2026, 6, 2),
        date(2026, 6, 3),
        True,
    )
    assert result.cutoff == time(12, 0)
    unknown_zone = promise_for_policy(
        policy,
        paid_at=at("2026-06-01T10:05:00+02:00"),
        ordered_at=at("2026-06-01T10:00:00+02:00"),
        shipping_zone="US",
    )
    assert unknown_zone.deliver_by is None
    assert any("no transit time known for zone US" in line for line in unknown_zone.trace)


def test_a_promise_serialises_for_the_order_snapshot() -> None:
    data = promise("2026-11-30T10:00:00+01:00", 1).model_dump(mode="json")
    assert data["dispatch_by"] == "2026-12-01"
    assert data["cutoff"] == "12:00"
    assert Promise.model_validate(data) == promise("2026-11-30T10:00:00+01:00", 1)


# -- properties -------------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(instants, st.integers(min_value=0, max_value=10), st.times())
def test_dispatch_day_is_a_business_day_on_or_after_the_payment(
    paid: datetime, handling: int, cut: time
) -> None:
    result = compute_promise(
        paid_at=paid,
        calendar=PL,
        cutoff=cut.replace(second=0, microsecond=0),
        handling_business_days=handling,
    )
    assert PL.is_business_day(result.dispatch_by)
    assert PL.is_business_day(result.day_zero)
    assert result.dispatch_by >= PL.local_date(paid)
    assert PL.business_days_between(result.day_zero, result.dispatch_by) == handling


@settings(max_examples=300, deadline=None)
@given(instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)), st.integers(0, 5))
def test_paying_later_never_promises_earlier(paid: datetime, delay: timedelta, handling: int) -> None:
    first = compute_promise(paid_at=paid, calendar=PL, cutoff="12:00", handling_business_days=handling)
    later = compute_promise(
        paid_at=paid + delay, calendar=PL, cutoff="12:00", handling_business_days=handling
    )
    assert first.dispatch_by <= later.dispatch_by
