"""The remedy ladder (art. 43d → 43e u.p.k.): lawful steps pass, illegal jumps are refused with the article."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from aftersales.decisions import Remedy
from aftersales.workflows.complaints.ladder import (
    AnswerKind,
    Ground,
    Ladder,
    LadderViolation,
    SwitchReason,
    TraderAnswer,
)

R, G, A, W = Remedy, Ground, AnswerKind, SwitchReason


def asked(remedy: Remedy, ground: Ground | None = None) -> Ladder:
    return Ladder().demand(remedy, ground)


REFUSED = asked(R.REPAIR).answer(TraderAnswer(A.REFUSE_REMEDIES, because=W.IMPOSSIBLE))
REPAIR_FAILED = asked(R.REPAIR).answer(TraderAnswer(A.ACCEPT)).fix_tried(R.REPAIR).establish(G.NOT_PERFORMED)
INSIGNIFICANT = asked(R.WITHDRAW, G.SERIOUS_DEFECT).answer(
    TraderAnswer(A.SWITCH, remedy=R.PRICE_REDUCTION, because=W.INSIGNIFICANT)
)


@dataclass(frozen=True)
class Demand:
    name: str
    start: Ladder
    remedy: Remedy
    ground: Ground | None
    rule: str | None
    """None: allowed; else the article the refusal quotes."""


DEMANDS = [
    Demand("repair first", Ladder(), R.REPAIR, None, None),
    Demand("replacement first", Ladder(), R.REPLACE, None, None),
    Demand("price reduction straight away", Ladder(), R.PRICE_REDUCTION, None, "art. 43e ust. 1"),
    Demand("withdrawal straight away", Ladder(), R.WITHDRAW, None, "art. 43e ust. 1"),
    Demand("withdrawal for a serious defect", Ladder(), R.WITHDRAW, G.SERIOUS_DEFECT, None),
    Demand(
        "price reduction: the trader said it won't fix it", Ladder(), R.PRICE_REDUCTION, G.TRADER_WONT, None
    ),
    Demand(
        "claiming a failed repair that never happened",
        Ladder(),
        R.WITHDRAW,
        G.DEFECT_PERSISTS,
        "art. 43e ust. 1",
    ),
    Demand(
        "claiming a refusal that never happened",
        Ladder(),
        R.PRICE_REDUCTION,
        G.TRADER_REFUSED,
        "art. 43e ust. 1",
    ),
    Demand("money after both fixes were refused", REFUSED, R.WITHDRAW, None, None),
    Demand("a repair after both fixes were refused", REFUSED, R.REPAIR, None, "art. 43d ust. 3"),
    Demand("money after a failed repair", REPAIR_FAILED, R.PRICE_REDUCTION, None, None),
    Demand("withdrawal of an insignificant defect", INSIGNIFICANT, R.WITHDRAW, None, "art. 43e ust. 3"),
    Demand("price reduction of an insignificant defect", INSIGNIFICANT, R.PRICE_REDUCTION, None, None),
]


@pytest.mark.parametrize("case", DEMANDS, ids=lambda c: c.name)
def test_consumer_demands(case: Demand) -> None:
    if case.rule is None:
        assert case.start.demand(case.remedy, case.ground).demanded is case.remedy
        return
    with pytest.raises(LadderViolation) as caught:
        case.start.demand(case.remedy, case.ground)
    assert case.rule in caught.value.rule
    assert caught.value.reason  # a sentence a customer can read


@dataclass(frozen=True)
class Answer:
    name: str
    start: Ladder
    answer: TraderAnswer
    rule: str | None


ANSWERS = [
    Answer("grant the repair asked for", asked(R.REPAIR), TraderAnswer(A.ACCEPT), None),
    Answer("reject: no lack of conformity", asked(R.REPAIR), TraderAnswer(A.REJECT), None),
    Answer(
        "grant a replacement instead without a reason",
        asked(R.REPAIR),
        TraderAnswer(A.ACCEPT, remedy=R.REPLACE),
        "art. 43d ust. 2",
    ),
    Answer(
        "switch to replacement: repair impossible",
        asked(R.REPAIR),
        TraderAnswer(A.SWITCH, remedy=R.REPLACE, because=W.IMPOSSIBLE),
        None,
    ),
    Answer(
        "switch to repair without a reason",
        asked(R.REPLACE),
        TraderAnswer(A.SWITCH, remedy=R.REPAIR),
        "art. 43d ust. 2",
    ),
    Answer(
        "impose a price reduction instead of a repair",
        asked(R.REPAIR),
        TraderAnswer(A.SWITCH, remedy=R.PRICE_REDUCTION, because=W.DISPROPORTIONATE),
        "art. 43e ust. 1",
    ),
    Answer(
        "impose a refund on a complaint with no stated demand",
        Ladder(),
        TraderAnswer(A.ACCEPT, remedy=R.WITHDRAW),
        "art. 43e ust. 1",
    ),
    Answer(
        "refuse both fixes: both impossible",
        asked(R.REPLACE),
        TraderAnswer(A.REFUSE_REMEDIES, because=W.DISPROPORTIONATE),
        None,
    ),
    Answer(
        "refuse both fixes without a reason",
        asked(R.REPLACE),
        TraderAnswer(A.REFUSE_REMEDIES),
        "art. 43d ust. 3",
    ),
    Answer(
        "refuse fixes to a consumer asking for money",
        asked(R.WITHDRAW, G.SERIOUS_DEFECT),
        TraderAnswer(A.REFUSE_REMEDIES, because=W.IMPOSSIBLE),
        "art. 43d ust. 3",
    ),
    Answer(
        "turn a withdrawal into a price reduction: insignificant defect",
        asked(R.WITHDRAW, G.SERIOUS_DEFECT),
        TraderAnswer(A.SWITCH, remedy=R.PRICE_REDUCTION, because=W.INSIGNIFICANT),
        None,
    ),
    Answer(
        "turn a withdrawal into a price reduction without a reason",
        asked(R.WITHDRAW, G.SERIOUS_DEFECT),
        TraderAnswer(A.SWITCH, remedy=R.PRICE_REDUCTION),
        "art. 43e ust. 3",
    ),
    Answer(
        "dispute a claimed serious defect and offer a repair",
        asked(R.WITHDRAW, G.SERIOUS_DEFECT),
        TraderAnswer(A.SWITCH, remedy=R.REPAIR, because=W.GROUND_DISPUTED),
        None,
    ),
    Answer(
        "send the consumer back to repair after a failed repair",
        REPAIR_FAILED.demand(R.WITHDRAW),
        TraderAnswer(A.SWITCH, remedy=R.REPAIR, because=W.GROUND_DISPUTED),
        "art. 43e ust. 1",
    ),
    Answer(
        "offer the fix it declared impossible",
        asked(R.REPAIR)
        .answer(TraderAnswer(A.SWITCH, remedy=R.REPLACE, because=W.IMPOSSIBLE))
        .demand(R.REPLACE),
        TraderAnswer(A.SWITCH, remedy=R.REPAIR, because=W.IMPOSSIBLE),
        "art. 43d ust. 2",
    ),
    Answer(
        "swap a price reduction for a withdrawal",
        REFUSED.demand(R.PRICE_REDUCTION),
        TraderAnswer(A.SWITCH, remedy=R.WITHDRAW, because=W.DISPROPORTIONATE),
        "art. 43e ust. 1",
    ),
]


@pytest.mark.parametrize("case", ANSWERS, ids=lambda c: c.name)
def test_trader_answers(case: Answer) -> None:
    if case.rule is None:
        after = case.start.answer(case.answer)
        assert after.history[-1]["step"] == f"answer:{case.answer.kind.value}"
        return
    with pytest.raises(LadderViolation) as caught:
        case.start.answer(case.answer)
    assert case.rule in caught.value.rule


def test_refusing_both_fixes_opens_the_second_rung_and_closes_the_first() -> None:
    assert REFUSED.allowed() == {R.PRICE_REDUCTION, R.WITHDRAW}
    assert Ground.TRADER_REFUSED in REFUSED.grounds


def test_an_insignificant_defect_leaves_only_a_price_reduction() -> None:
    assert R.WITHDRAW not in INSIGNIFICANT.establish(G.NOT_PERFORMED).allowed()


def test_the_ladder_round_trips_through_case_data() -> None:
    ladder = REPAIR_FAILED.demand(R.WITHDRAW)
    assert Ladder.from_data(ladder.to_data()) == ladder
    assert Ladder.from_data(None) == Ladder()


def test_an_unknown_remedy_is_a_clear_error() -> None:
    with pytest.raises(LadderViolation, match="unknown remedy 'voucher'"):
        Ladder().demand("voucher")
