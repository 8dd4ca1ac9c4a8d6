"""The returns transition table: what is listed is allowed, everything else is refused."""

from __future__ import annotations

import itertools

import pytest

from aftersales.workflows.returns.states import (
    SETTLING,
    TERMINAL,
    TRANSITIONS,
    VOID,
    IllegalTransition,
    ReturnEvent,
    ReturnStatus,
    allowed_events,
    next_status,
)

ALL_PAIRS = list(itertools.product(ReturnStatus, ReturnEvent))
ILLEGAL = [(s, e) for s, e in ALL_PAIRS if (s, e) not in TRANSITIONS]


@pytest.mark.parametrize(("status", "event"), sorted(TRANSITIONS))
def test_every_listed_transition_leads_where_the_table_says(status: ReturnStatus, event: ReturnEvent) -> None:
    assert next_status(status, event) is TRANSITIONS[(status, event)]


@pytest.mark.parametrize(("status", "event"), ILLEGAL)
def test_every_unlisted_transition_is_refused_with_what_is_allowed(
    status: ReturnStatus, event: ReturnEvent
) -> None:
    with pytest.raises(IllegalTransition) as info:
        next_status(status, event)
    assert info.value.status == status
    assert str(event) in str(info.value)
    for allowed in allowed_events(status):
        assert allowed.value in str(info.value)


def test_the_table_leaves_most_pairs_illegal() -> None:
    assert len(ILLEGAL) > len(TRANSITIONS)


def test_unknown_names_are_illegal_not_crashes() -> None:
    with pytest.raises(IllegalTransition):
        next_status("shipped_to_mars", "approve")
    with pytest.raises(IllegalTransition):
        next_status("requested", "teleport")


def test_terminal_states_have_no_way_out() -> None:
    assert {ReturnStatus.REJECTED, ReturnStatus.EXPIRED, ReturnStatus.CANCELLED} == TERMINAL
    for status in TERMINAL:
        assert allowed_events(status) == frozenset()


def test_every_state_is_reachable_from_a_new_request() -> None:
    seen = {ReturnStatus.REQUESTED}
    frontier = [ReturnStatus.REQUESTED]
    while frontier:
        current = frontier.pop()
        for (frm, _), to in TRANSITIONS.items():
            if frm == current and to not in seen:
                seen.add(to)
                frontier.append(to)
    assert seen == set(ReturnStatus)


def test_money_is_asked_for_only_once_per_settlement_step() -> None:
    # a redelivered webhook or a double click finds the case already settling: no second refund
    for status in SETTLING:
        with pytest.raises(IllegalTransition):
            next_status(status, ReturnEvent.REQUEST_REFUND)


def test_a_case_that_moved_money_is_never_void() -> None:
    assert not (SETTLING & VOID)
    for (frm, _), to in TRANSITIONS.items():
        if frm in SETTLING:
            assert to not in VOID, f"{frm} must not fall back to {to} after money moved"


def test_a_declined_or_refunded_case_cannot_be_approved_again() -> None:
    for status in (ReturnStatus.DECLINED, ReturnStatus.REFUNDED, ReturnStatus.CLOSED, ReturnStatus.REJECTED):
        with pytest.raises(IllegalTransition):
            next_status(status, ReturnEvent.APPROVE)


def test_goods_may_still_travel_after_an_early_refund() -> None:
    assert next_status(ReturnStatus.REFUNDED, ReturnEvent.DISPATCHED) is ReturnStatus.REFUNDED
    assert next_status(ReturnStatus.REFUNDED, ReturnEvent.GOODS_RECEIVED) is ReturnStatus.REFUNDED
    assert next_status(ReturnStatus.REFUNDED, ReturnEvent.CLOSE) is ReturnStatus.CLOSED
