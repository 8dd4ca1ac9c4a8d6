"""The complaint table: every move is listed, the law's groups hold, illegal moves say what is allowed."""

from __future__ import annotations

import pytest

from aftersales.workflows.complaints.states import (
    CLOCK_RUNNING,
    FINAL,
    NOTES,
    TRANSITIONS,
    ComplaintEvent,
    ComplaintStatus,
    IllegalTransition,
    allowed_events,
    next_status,
)

S, E = ComplaintStatus, ComplaintEvent


def test_every_status_the_clock_runs_in_can_be_deemed_accepted() -> None:
    for status in CLOCK_RUNNING:
        assert next_status(status, E.DEEMED_ACCEPTED) is S.DEEMED_ACCEPTED


def test_nothing_after_the_answer_can_be_deemed_accepted() -> None:
    for status in set(ComplaintStatus) - CLOCK_RUNNING:
        with pytest.raises(IllegalTransition):
            next_status(status, E.DEEMED_ACCEPTED)


def test_only_an_answer_that_reached_the_consumer_accepts_or_rejects() -> None:
    for event in (E.ANSWER_ACCEPTED, E.ANSWER_REJECTED, E.ANSWER_REFUSED_REMEDIES):
        sources = {frm for (frm, ev) in TRANSITIONS if ev is event}
        assert sources == {S.ANSWER_SENT}


def test_notes_never_change_the_status() -> None:
    for (frm, event), to in TRANSITIONS.items():
        if event in NOTES:
            assert frm is to, (frm, event, to)


def test_final_statuses_only_log_messages() -> None:
    for status in (S.REJECTED, S.CANCELLED):
        assert all(e in NOTES or e is E.CUSTOMER_MESSAGE for e in allowed_events(status))
    assert allowed_events(S.RESOLVED) - NOTES == {E.DEFECT_PERSISTS}
    assert {S.REJECTED, S.RESOLVED, S.CANCELLED} == FINAL


def test_a_late_answer_is_logged_only_where_the_law_already_accepted() -> None:
    sources = {frm for (frm, ev) in TRANSITIONS if ev is E.ANSWER_LATE}
    assert S.DEEMED_ACCEPTED in sources
    assert not sources & CLOCK_RUNNING


def test_every_status_is_reachable_from_received() -> None:
    seen = {S.RECEIVED, S.AWAITING_ORDER}
    frontier = list(seen)
    while frontier:
        here = frontier.pop()
        for (frm, _), to in TRANSITIONS.items():
            if frm is here and to not in seen:
                seen.add(to)
                frontier.append(to)
    assert seen == set(ComplaintStatus)


def test_an_illegal_move_names_the_allowed_ones() -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_status(S.REJECTED, E.START_REPAIR)
    assert "cannot start_repair a complaint that is rejected" in str(caught.value)
    with pytest.raises(IllegalTransition, match=r"allowed here: .*answer"):
        next_status(S.RECEIVED, E.REPAIR_DONE)


def test_unknown_names_are_illegal_not_crashes() -> None:
    with pytest.raises(IllegalTransition):
        next_status("nonsense", E.ANSWER)
    with pytest.raises(IllegalTransition):
        next_status(S.RECEIVED, "explode")
