"""Who may return what: quantities across several returns, windows, exclusions, auto-approval."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from aftersales.decisions import Eligibility
from aftersales.domain import Case, CaseType, Logistics, Money, Order, RefundRecord
from aftersales.workflows.returns.eligibility import (
    RETURN_WINDOW,
    WITHDRAWAL_WINDOW,
    InvalidRequest,
    RequestedLine,
    ReturnRules,
    apply_statutory_floor,
    decide,
    returnable_units,
    units_value,
    validate_request,
)

OrderFactory = Callable[..., Order]
CaseFactory = Callable[..., Case]

STATUTORY_END = datetime(2026, 3, 16, 23, tzinfo=UTC)  # the first instant after 16 March in Warsaw
COMMERCIAL_END = datetime(2026, 4, 1, 22, tzinfo=UTC)  # ... after 1 April (summer time)
WINDOWS = {WITHDRAWAL_WINDOW: STATUTORY_END, RETURN_WINDOW: COMMERCIAL_END}
RULES = ReturnRules(
    window_days=30,
    excluded_tags=frozenset({"final-sale", "hygiene-opened"}),
    auto_approve_max_value=Money("150.00", "PLN"),
    auto_approve_reasons=frozenset({"changed_mind", "wrong_size"}),
    timezone="Europe/Warsaw",
)


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=UTC)


# -- quantities ---------------------------------------------------------------------------------


def test_each_unit_becomes_its_own_case_line(make_order: OrderFactory) -> None:
    lines = validate_request(
        make_order(), [RequestedLine(line_item_id="L1", quantity=2, reason="wrong_size")], []
    )
    assert [(line.line_item_id, line.quantity, line.reason) for line in lines] == [
        ("L1", 1, "wrong_size")
    ] * 2
    assert all(line.logistics is Logistics.AWAITING for line in lines)


def test_goodwill_lines_need_no_goods(make_order: OrderFactory) -> None:
    lines = validate_request(make_order(), [RequestedLine(line_item_id="L2")], [], goods_required=False)
    assert lines[0].logistics is Logistics.NOT_REQUIRED


def test_more_units_than_bought_is_refused_with_the_numbers(make_order: OrderFactory) -> None:
    with pytest.raises(
        InvalidRequest, match=r"3 unit\(s\) of 'item L1'.*only 2 can still be returned \(bought 2"
    ):
        validate_request(make_order(), [RequestedLine(line_item_id="L1", quantity=3)], [])


def test_the_same_line_twice_in_one_request_counts_once_per_unit(make_order: OrderFactory) -> None:
    with pytest.raises(InvalidRequest, match="only 2"):
        validate_request(
            make_order(),
            [RequestedLine(line_item_id="L1", quantity=2), RequestedLine(line_item_id="L1", quantity=1)],
            [],
        )


def test_a_line_from_another_order_is_refused(make_order: OrderFactory) -> None:
    with pytest.raises(InvalidRequest, match="line X9 is not part of order 1001"):
        validate_request(make_order(), [RequestedLine(line_item_id="X9")], [])


@pytest.mark.parametrize("quantity", [0, -1])
def test_zero_or_negative_quantity_is_refused(make_order: OrderFactory, quantity: int) -> None:
    with pytest.raises(InvalidRequest, match="at least 1"):
        validate_request(make_order(), [RequestedLine(line_item_id="L1", quantity=quantity)], [])


def test_an_empty_request_is_refused(make_order: OrderFactory) -> None:
    with pytest.raises(InvalidRequest, match="no order lines"):
        validate_request(make_order(), [], [])


def test_units_in_an_earlier_return_are_no_longer_returnable(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    order = make_order()
    first = make_case(lines=[("L1", None)], status="approved")
    assert returnable_units(order, [first]) == {"L1": 1, "L2": 1}
    validate_request(order, [RequestedLine(line_item_id="L1", quantity=1)], [first])
    with pytest.raises(InvalidRequest, match="1 already returned or refunded"):
        validate_request(order, [RequestedLine(line_item_id="L1", quantity=2)], [first])


@pytest.mark.parametrize("status", ["declined", "rejected", "expired", "cancelled"])
def test_a_void_case_gives_its_units_back(
    make_order: OrderFactory, make_case: CaseFactory, status: str
) -> None:
    order = make_order()
    void = make_case(lines=[("L1", None), ("L1", None)], status=status)
    assert returnable_units(order, [void])["L1"] == 2


def test_a_refund_made_in_the_shop_admin_counts_against_the_units(make_order: OrderFactory) -> None:
    admin = RefundRecord(id="r1", order_id="O1", amount=Money("100.00", "PLN"), line_quantities={"L1": 1})
    order = make_order(refunds=[admin])
    assert returnable_units(order, [])["L1"] == 1
    with pytest.raises(InvalidRequest, match="only 1"):
        validate_request(order, [RequestedLine(line_item_id="L1", quantity=2)], [])


def test_our_own_refunds_are_counted_through_their_case_not_twice(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    ours = RefundRecord(
        id="r1",
        order_id="O1",
        amount=Money("100.00", "PLN"),
        effect_key="refund:c1:1",
        line_quantities={"L1": 1},
    )
    absorbed = RefundRecord(id="r2", order_id="O1", amount=Money("50.00", "PLN"), line_quantities={"L2": 1})
    order = make_order(refunds=[ours, absorbed])
    refunded = make_case(lines=[("L1", None)], status="refunded")
    shopify_return = make_case(lines=[("L2", None)], status="refunded", data={"external_refunds": ["r2"]})
    assert returnable_units(order, [refunded, shopify_return]) == {"L1": 1, "L2": 0}


def test_units_value_prices_each_unit_so_the_parts_add_up(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    order = make_order(lines=[("L1", 3, "100.00")])
    one = make_case(lines=[("L1", None)])
    two = make_case(lines=[("L1", None), ("L1", None)])
    assert units_value(order, one.lines) == Money("33.34", "PLN")
    assert units_value(order, two.lines) == Money("66.67", "PLN")


# -- statutory withdrawal -------------------------------------------------------------------------


def test_a_withdrawal_inside_the_window_needs_no_approval(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    case = make_case(CaseType.WITHDRAWAL, deadlines=WINDOWS, statement_at=at(16))
    decision = decide(case, make_order(), RULES)
    assert (decision.eligible, decision.auto_approve) == (True, True)


def test_a_withdrawal_sent_at_midnight_after_the_last_day_is_late(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    late = datetime(2026, 3, 16, 23, 0, tzinfo=UTC)  # 17 March, 00:00 in Warsaw
    decision = decide(
        make_case(CaseType.WITHDRAWAL, deadlines=WINDOWS, statement_at=late), make_order(), RULES
    )
    assert not decision.eligible
    assert decision.reasons == ["the withdrawal window ended on 2026-03-16"]


def test_a_withdrawal_before_delivery_is_allowed(make_order: OrderFactory, make_case: CaseFactory) -> None:
    decision = decide(make_case(CaseType.WITHDRAWAL, statement_at=at(1)), make_order(delivered=[None]), RULES)
    assert (decision.eligible, decision.auto_approve) == (True, True)
    assert "before the goods were delivered" in decision.reasons[0]


def test_an_excluded_tag_sends_a_withdrawal_to_a_person_never_declines_it(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    order = make_order(line_tags={"L1": ["hygiene-opened"]})
    decision = decide(make_case(CaseType.WITHDRAWAL, deadlines=WINDOWS, statement_at=at(10)), order, RULES)
    assert (decision.eligible, decision.auto_approve) == (True, False)
    assert "hygiene-opened" in decision.reasons[0]


# -- commercial return ----------------------------------------------------------------------------


def test_a_return_after_the_statutory_window_but_inside_the_shops_window(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    case = make_case(CaseType.RETURN, lines=[("L2", "changed_mind")], deadlines=WINDOWS, statement_at=at(25))
    decision = decide(case, make_order(), RULES)
    assert (decision.eligible, decision.auto_approve) == (True, True)


def test_a_return_outside_every_window_is_not_eligible(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    case = make_case(CaseType.RETURN, deadlines=WINDOWS, statement_at=at(2, month=4))
    decision = decide(case, make_order(), RULES)
    assert not decision.eligible
    assert decision.reasons == ["the return window ended on 2026-04-01"]


def test_an_excluded_item_cannot_be_returned_commercially(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    order = make_order(tags=["final-sale"])
    case = make_case(CaseType.RETURN, deadlines=WINDOWS, statement_at=at(25))
    decision = decide(case, order, RULES)
    assert not decision.eligible
    assert decision.reasons == ["items tagged final-sale are excluded from returns"]


def test_an_excluded_item_inside_the_statutory_window_goes_to_a_person(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    order = make_order(tags=["final-sale"])
    decision = decide(make_case(CaseType.RETURN, deadlines=WINDOWS, statement_at=at(5)), order, RULES)
    assert (decision.eligible, decision.auto_approve) == (True, False)


@pytest.mark.parametrize(
    ("lines", "auto", "why"),
    [
        ([("L1", "wrong_size")], True, "within the auto-approve limit 150.00 PLN"),
        (
            [("L1", "wrong_size"), ("L1", "wrong_size")],
            False,
            "value 200.00 PLN is above the auto-approve limit",
        ),
        ([("L2", "defective")], False, "reason defective is not approved automatically"),
        ([("L2", None)], False, "reason no reason is not approved automatically"),
    ],
)
def test_auto_approval_follows_the_value_ceiling_and_the_reasons(
    make_order: OrderFactory,
    make_case: CaseFactory,
    lines: list[tuple[str, str | None]],
    auto: bool,
    why: str,
) -> None:
    case = make_case(CaseType.RETURN, lines=lines, deadlines=WINDOWS, statement_at=at(20))
    decision = decide(case, make_order(), RULES)
    assert decision.eligible
    assert decision.auto_approve is auto
    assert why in decision.reasons[0]


def test_no_auto_approve_rule_means_a_person_decides(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    case = make_case(CaseType.RETURN, deadlines=WINDOWS, statement_at=at(20))
    decision = decide(case, make_order(), ReturnRules(window_days=30))
    assert (decision.eligible, decision.auto_approve) == (True, False)


def test_goodwill_is_not_a_return(make_order: OrderFactory, make_case: CaseFactory) -> None:
    assert not decide(make_case(CaseType.GOODWILL), make_order(), RULES).eligible


# -- the statutory floor over plugins -------------------------------------------------------------


def test_a_plugins_no_to_a_withdrawal_inside_the_window_becomes_a_manual_review(
    make_case: CaseFactory,
) -> None:
    case = make_case(CaseType.WITHDRAWAL, deadlines=WINDOWS, statement_at=at(10))
    answer = Eligibility(eligible=False, reasons=("business customer",))
    floored = apply_statutory_floor(case, answer)
    assert (floored.eligible, floored.auto_approve) == (True, False)
    assert floored.reasons[0] == "business customer"


def test_the_floor_does_not_revive_a_late_withdrawal_or_a_commercial_return(make_case: CaseFactory) -> None:
    no = Eligibility(eligible=False, reasons=("late",))
    late = make_case(CaseType.WITHDRAWAL, deadlines=WINDOWS, statement_at=at(20))
    commercial = make_case(CaseType.RETURN, deadlines=WINDOWS, statement_at=at(5))
    assert apply_statutory_floor(late, no) is no
    assert apply_statutory_floor(commercial, no) is no


def test_a_return_before_the_delivery_is_known_is_inside_every_window(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    # WooCommerce never reports deliveries: no window has started, the shop's rules decide
    case = make_case(CaseType.RETURN, lines=[("L2", "changed_mind")], statement_at=at(20))
    decision = decide(case, make_order(delivered=[None]), RULES)
    assert (decision.eligible, decision.auto_approve) == (True, True)
    excluded = decide(case, make_order(delivered=[None], tags=["final-sale"]), RULES)
    assert (excluded.eligible, excluded.auto_approve) == (True, False)
