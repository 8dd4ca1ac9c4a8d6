"""The dates a return lives by: windows from the last delivery, goods due, refund escalation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aftersales.domain import Order
from aftersales.workflows.returns.clocks import (
    ShopLaw,
    goods_due,
    refund_deadline,
    refund_due_at,
    refund_escalation_at,
    request_expiry,
    windows,
)
from aftersales.workflows.returns.eligibility import RETURN_WINDOW, WITHDRAWAL_WINDOW

OrderFactory = Callable[..., Order]
WARSAW = ZoneInfo("Europe/Warsaw")
PL = ShopLaw(jurisdiction="PL", timezone="Europe/Warsaw", window_days=30, request_expiry_days=20)


def local(moment: datetime) -> datetime:
    return moment.astimezone(WARSAW)


def test_no_window_before_the_goods_are_delivered(make_order: OrderFactory) -> None:
    assert windows(make_order(delivered=[None]), PL) == {}


def test_a_multi_shipment_order_counts_from_the_last_delivery(make_order: OrderFactory) -> None:
    first, last = datetime(2026, 3, 2, 12, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC)
    ends = windows(make_order(delivered=[first, last]), PL)
    # 9 March + 14 days = 23 March (Monday); the window closes at midnight Warsaw time
    assert local(ends[WITHDRAWAL_WINDOW]) == datetime(2026, 3, 24, tzinfo=WARSAW)


def test_one_shipment_still_travelling_means_no_window_yet(make_order: OrderFactory) -> None:
    assert windows(make_order(delivered=[datetime(2026, 3, 2, 12, tzinfo=UTC), None]), PL) == {}


def test_a_window_ending_on_a_saturday_moves_to_monday(make_order: OrderFactory) -> None:
    # delivered Saturday 28 Feb 2026 → 14 March is a Saturday → Monday 16 March
    ends = windows(make_order(delivered=[datetime(2026, 2, 28, 10, tzinfo=UTC)]), PL)
    assert local(ends[WITHDRAWAL_WINDOW]).date() == date(2026, 3, 17)


def test_not_informed_of_the_right_adds_twelve_months(make_order: OrderFactory) -> None:
    law = ShopLaw(jurisdiction="PL", timezone="Europe/Warsaw", informed_of_withdrawal=False)
    ends = windows(make_order(delivered=[datetime(2026, 3, 2, 12, tzinfo=UTC)]), law)
    # initial window ends 16 March 2026; +12 months = 16 March 2027 (Tuesday)
    assert local(ends[WITHDRAWAL_WINDOW]) == datetime(2027, 3, 17, tzinfo=WARSAW)


def test_the_shops_window_may_exceed_but_never_undercut_the_law(make_order: OrderFactory) -> None:
    order = make_order(delivered=[datetime(2026, 2, 28, 10, tzinfo=UTC)])
    longer = windows(order, PL)
    assert local(longer[RETURN_WINDOW]) == datetime(2026, 3, 31, tzinfo=WARSAW)
    shorter = windows(order, ShopLaw(jurisdiction="PL", timezone="Europe/Warsaw", window_days=7))
    assert shorter[RETURN_WINDOW] == shorter[WITHDRAWAL_WINDOW]


def test_goods_are_due_fourteen_days_after_the_statement_and_then_expire() -> None:
    statement = datetime(2026, 3, 5, 10, tzinfo=UTC)
    assert local(goods_due(statement, PL)) == datetime(2026, 3, 20, tzinfo=WARSAW)
    assert local(request_expiry(statement, PL)) == datetime(2026, 3, 27, tzinfo=WARSAW)


def test_a_withdrawal_received_on_23_december_is_escalated_before_the_unshifted_last_day() -> None:
    statement = datetime(2026, 12, 23, 10, tzinfo=UTC)
    deadline = refund_deadline(statement, PL)
    assert deadline.last_day == date(2027, 1, 7)  # 6 January is Epiphany
    assert deadline.calendar_last_day == date(2027, 1, 6)
    # warned two working days before 6 January: Monday 4 January, 08:00 in Warsaw
    assert refund_escalation_at(deadline, PL) == datetime(2027, 1, 4, 8, tzinfo=WARSAW)
    # and paid out (when the law no longer lets the shop wait) as 6 January begins
    assert local(refund_due_at(deadline)) == datetime(2027, 1, 6, tzinfo=WARSAW)


def test_escalation_skips_easter_monday() -> None:
    # statement Wednesday 25 March 2026 → last day Wednesday 8 April; 6 April is Easter Monday
    deadline = refund_deadline(datetime(2026, 3, 25, 9, tzinfo=UTC), PL)
    assert deadline.calendar_last_day == date(2026, 4, 8)
    assert refund_escalation_at(deadline, PL) == datetime(2026, 4, 3, 8, tzinfo=WARSAW)
    assert refund_escalation_at(deadline, PL) < refund_due_at(deadline) < deadline.ends_at


def test_the_policy_may_give_more_time_for_the_goods_never_less() -> None:
    statement = datetime(2026, 3, 5, 10, tzinfo=UTC)
    generous = ShopLaw(jurisdiction="PL", timezone="Europe/Warsaw", goods_due_days=21, request_expiry_days=40)
    stingy = ShopLaw(jurisdiction="PL", timezone="Europe/Warsaw", goods_due_days=7)
    assert local(goods_due(statement, generous)) == datetime(2026, 3, 27, tzinfo=WARSAW)
    assert local(goods_due(statement, stingy)) == datetime(2026, 3, 20, tzinfo=WARSAW)
    assert local(request_expiry(statement, generous)) == datetime(2026, 4, 15, tzinfo=WARSAW)
