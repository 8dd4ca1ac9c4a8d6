"""When money moves: the policy's trigger, capped by the law for withdrawals; keys that never repeat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from aftersales.domain import Authorization, Case, CaseType, Disposition, Logistics, Settlement
from aftersales.workflows.returns.settlement import (
    RefundTrigger,
    earlier_returns,
    effective_trigger,
    goods_settled,
    payable,
    refund_effect_key,
    trigger_reached,
    withholding_ended,
)

CaseFactory = Callable[..., Case]
T = RefundTrigger


@pytest.mark.parametrize(
    ("case_type", "policy", "effective"),
    [
        (CaseType.WITHDRAWAL, "on_receipt", T.ON_DISPATCH_PROOF),
        (CaseType.WITHDRAWAL, "on_inspection", T.ON_DISPATCH_PROOF),
        (CaseType.WITHDRAWAL, "on_approval", T.ON_APPROVAL),
        (CaseType.WITHDRAWAL, "manual", T.MANUAL),
        (CaseType.RETURN, "on_inspection", T.ON_INSPECTION),
        (CaseType.RETURN, "on_receipt", T.ON_RECEIPT),
        (CaseType.GOODWILL, "on_inspection", T.ON_APPROVAL),
    ],
)
def test_the_law_caps_how_long_a_withdrawal_refund_may_wait(
    case_type: CaseType, policy: str, effective: RefundTrigger
) -> None:
    assert effective_trigger(case_type, policy) is effective


def _approve(case: Case, logistics: Logistics = Logistics.AWAITING) -> Case:
    for line in case.lines:
        line.authorization = Authorization.APPROVED
        line.logistics = logistics
    return case


def test_nothing_moves_before_every_unit_is_authorized(make_case: CaseFactory) -> None:
    case = make_case(lines=[("L1", None), ("L2", None)])
    case.lines[0].authorization = Authorization.APPROVED
    case.lines[1].authorization = Authorization.MANUAL_REVIEW
    assert not trigger_reached(case, T.ON_APPROVAL)


@pytest.mark.parametrize(
    ("logistics", "reached"),
    [
        (Logistics.AWAITING, {T.ON_APPROVAL}),
        (Logistics.IN_TRANSIT, {T.ON_APPROVAL, T.ON_DISPATCH_PROOF}),
        (Logistics.RECEIVED, {T.ON_APPROVAL, T.ON_DISPATCH_PROOF, T.ON_RECEIPT}),
        (Logistics.WRONG_ITEM, set()),
        (Logistics.LOST, set()),
    ],
)
def test_each_trigger_waits_for_its_point_in_the_goods_journey(
    make_case: CaseFactory, logistics: Logistics, reached: set[RefundTrigger]
) -> None:
    case = _approve(make_case(lines=[("L1", None), ("L1", None)]), logistics)
    assert {t for t in RefundTrigger if trigger_reached(case, t)} == reached


def test_inspection_waits_for_a_disposition_of_every_received_unit(make_case: CaseFactory) -> None:
    case = _approve(make_case(lines=[("L1", None), ("L1", None)]), Logistics.RECEIVED)
    case.lines[0].disposition = Disposition.RESTOCK
    assert not trigger_reached(case, T.ON_INSPECTION)
    case.lines[1].disposition = Disposition.NOT_RESTOCKED
    assert trigger_reached(case, T.ON_INSPECTION)


def test_a_settled_case_triggers_nothing_more(make_case: CaseFactory) -> None:
    case = _approve(make_case(), Logistics.RECEIVED)
    case.lines[0].settlement = Settlement.PENDING
    assert not any(trigger_reached(case, t) for t in RefundTrigger)
    assert payable(case) == []


def test_a_failed_refund_may_be_retried(make_case: CaseFactory) -> None:
    case = _approve(make_case(), Logistics.RECEIVED)
    case.lines[0].settlement = Settlement.FAILED
    assert trigger_reached(case, T.ON_RECEIPT)


def test_the_wrong_item_is_paid_only_when_a_person_forces_it(make_case: CaseFactory) -> None:
    case = _approve(make_case(lines=[("L1", None), ("L2", None)]), Logistics.RECEIVED)
    case.lines[1].logistics = Logistics.WRONG_ITEM
    assert [line.line_item_id for line in payable(case)] == ["L1"]
    assert [line.line_item_id for line in payable(case, force=True)] == ["L1", "L2"]


def test_withholding_ends_with_proof_of_dispatch_for_every_unit(make_case: CaseFactory) -> None:
    case = _approve(make_case(lines=[("L1", None), ("L2", None)]))
    assert not withholding_ended(case)
    case.lines[0].logistics = Logistics.IN_TRANSIT
    assert not withholding_ended(case)
    case.lines[1].logistics = Logistics.RECEIVED
    assert withholding_ended(case)
    assert not goods_settled(case)
    case.lines[0].logistics = Logistics.RECEIVED
    assert goods_settled(case)


def test_the_refund_key_depends_only_on_the_case_and_the_step(make_case: CaseFactory) -> None:
    case = make_case()
    assert refund_effect_key(case, 1) == refund_effect_key(case.model_copy(deep=True), 1)
    assert refund_effect_key(case, 1) != refund_effect_key(case, 2)
    assert refund_effect_key(case, 1) != refund_effect_key(make_case(), 1)
    assert len(refund_effect_key(case, 99)) <= 200  # the ledger's key column


def test_earlier_cases_take_the_first_units(make_case: CaseFactory) -> None:
    first = make_case(lines=[("L1", None)], status="approved", statement_at=datetime(2026, 3, 3, tzinfo=UTC))
    me = make_case(lines=[("L1", None)], status="approved", statement_at=datetime(2026, 3, 4, tzinfo=UTC))
    later_settled = make_case(
        lines=[("L2", None)], status="refunded", statement_at=datetime(2026, 3, 5, tzinfo=UTC)
    )
    later_open = make_case(
        lines=[("L1", None)], status="approved", statement_at=datetime(2026, 3, 6, tzinfo=UTC)
    )
    declined = make_case(
        lines=[("L1", None)], status="declined", statement_at=datetime(2026, 3, 1, tzinfo=UTC)
    )
    admin = make_case(
        lines=[("L2", None)],
        status="refunded",
        statement_at=datetime(2026, 3, 1, tzinfo=UTC),
        data={"external_units": {"L2": 1}},
    )
    assert earlier_returns(me, [first, me, later_settled, later_open, declined, admin]) == {"L1": 1, "L2": 1}
