"""Carrying out complaints: the ladder's second rung, money through the ledger, repairs, loaners, SLAs, hooks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from aftersales import hookimpl
from aftersales.decisions import ComplaintDecision, Remedy
from aftersales.domain import Case
from aftersales.store.models import Loaner
from aftersales.workflows.complaints.ladder import LadderViolation

WAW = ZoneInfo("Europe/Warsaw")
CUSTOMER = "john.doe@example.com"
MERCHANT = "reklamacje@sklep.example"


def submit(desk, **extra):  # type: ignore[no-untyped-def]
    payload = {
        "email": CUSTOMER,
        "order_number": desk.order_id,
        "description": "The mug leaks.",
        "lines": [{"line_item_id": "316"}],
        "remedy": "repair",
    }
    payload.update(extra)
    return desk.cmd("complaints.submit", **payload)


def laptop(desk, kit, order_id: str = "5004"):  # type: ignore[no-untyped-def]
    desk.store(
        kit.delivered_order(order_id, delivered_at=datetime(2026, 4, 20, 12, tzinfo=UTC), category="laptops")
    )
    return submit(desk, order_number=order_id, lines=[], description="The screen flickers.")["case_number"]


def test_refused_repair_and_replacement_let_the_consumer_withdraw_and_get_the_money(desk) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk)["case_number"]
    desk.cmd(
        "complaints.answer",
        case_number=number,
        decision="refuse_remedies",
        because="impossible",
        text="This model is no longer made and cannot be repaired.",
    )
    desk.run()
    assert desk.case(number).status == "awaiting_choice"
    with pytest.raises(LadderViolation, match=r"art\. 43d ust\. 3"):
        desk.cmd("complaints.declare", case_number=number, email=CUSTOMER, remedy="repair")
    with pytest.raises(ValueError, match="for this e-mail"):
        desk.cmd("complaints.declare", case_number=number, email="someone@else.pl", remedy="withdraw")
    done = desk.cmd("complaints.declare", case_number=number, email=CUSTOMER, remedy="withdraw")
    assert done["status"] == "refund_pending"
    desk.run()
    assert desk.case(number).status == "resolved"
    refunds = desk.shop.refunds(desk.order_id)
    assert [r["amount"] for r in refunds] == ["12.90"]
    assert len(desk.mails_to(CUSTOMER, "Zwrot")) == 1


def test_an_accepted_price_reduction_is_paid_in_money_once(desk) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk, remedy="price_reduction", ground="serious_defect", price_reduction="5.00")[
        "case_number"
    ]
    desk.cmd("complaints.answer", case_number=number, decision="accept", text="We agree to 5.00 off.")
    desk.run()
    desk.advance(days=1)
    assert desk.case(number).status == "resolved"
    assert [r["amount"] for r in desk.shop.refunds(desk.order_id)] == ["5.00"]
    effects = desk.effects()
    assert [(e.effect_key.split(":")[-1], e.state) for e in effects] == [("price_reduction", "confirmed")]


def test_a_price_reduction_larger_than_the_goods_is_refused(desk) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"more than the 12\.90"):
        submit(desk, remedy="price_reduction", ground="serious_defect", price_reduction="20.00")


def test_an_insignificant_defect_turns_a_withdrawal_into_a_price_reduction(desk) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk, remedy="withdraw", ground="serious_defect")["case_number"]
    with pytest.raises(ValueError, match="needs its amount"):
        desk.cmd(
            "complaints.answer",
            case_number=number,
            decision="switch",
            remedy="price_reduction",
            because="insignificant",
            text="A scratch on the bottom does not justify withdrawal.",
        )
    desk.cmd(
        "complaints.answer",
        case_number=number,
        decision="switch",
        remedy="price_reduction",
        because="insignificant",
        price_reduction="2.50",
        text="A scratch on the bottom does not justify withdrawal; 2.50 off.",
    )
    desk.run()
    assert [r["amount"] for r in desk.shop.refunds(desk.order_id)] == ["2.50"]


def test_a_laptop_repair_with_a_loaner_a_delay_notice_and_a_missed_sla(desk, kit) -> None:  # type: ignore[no-untyped-def]
    number = laptop(desk, kit)
    desk.cmd("complaints.answer", case_number=number, decision="accept", text="We will repair it.")
    desk.run()
    case = desk.case(number)
    assert case.status == "in_repair"
    assert case.deadlines["repair_due"] == datetime(2026, 5, 10, 0, 0, tzinfo=WAW)  # 5 days for laptops
    assert len(desk.mails_to(MERCHANT, "issue a loaner")) == 1
    assert len(desk.mails_to(MERCHANT, "Zlecenie odbioru PU-")) == 1
    desk.cmd("complaints.issue_loaner", case_number=number, serial="LN-0042")
    desk.cmd("complaints.issue_loaner", case_number=number, serial="LN-0042")  # double submit
    with desk.runtime.transaction() as session:
        assert [row.serial for row in session.scalars(select(Loaner))] == ["LN-0042"]

    desk.cmd("complaints.report_delay", case_number=number, expected_by="2026-05-15", reason="parts on order")
    desk.run()
    delayed = desk.mails_to(CUSTOMER, "Naprawa potrwa dłużej")
    assert len(delayed) == 1 and "LN-0042" in delayed[0].get_body(("plain",)).get_content()

    desk.until(datetime(2026, 5, 10, 0, 5, tzinfo=WAW))
    events = desk.events(number)
    assert "repair_sla_missed" in events
    assert (number, "in_repair", "in_repair", "sla_breached") in desk.observed.transitions
    assert len(desk.mails_to(CUSTOMER, "Naprawa potrwa dłużej")) == 1  # announced already: not twice
    assert (
        "price_reduction"
        in desk.cmd("complaints.status", case_number=number, email=CUSTOMER)["remedies_open"]
    )

    desk.cmd("complaints.repair_done", case_number=number, note="screen replaced")
    desk.run()
    assert desk.case(number).status == "resolved"
    with desk.runtime.transaction() as session:
        due_back = session.scalars(select(Loaner.due_back_at)).one()
    assert due_back == datetime(2026, 5, 18, 0, 0, tzinfo=WAW)  # the end of 17 May, a week after
    desk.until(datetime(2026, 5, 18, 10, 0, tzinfo=WAW))
    assert len(desk.mails_to(CUSTOMER, "zwrot urządzenia zastępczego")) == 1
    desk.advance(days=3)
    assert len(desk.mails_to(CUSTOMER, "zwrot urządzenia zastępczego")) == 2
    desk.cmd("complaints.return_loaner", case_number=number, serial="LN-0042")
    desk.advance(days=10)
    assert len(desk.mails_to(CUSTOMER, "zwrot urządzenia zastępczego")) == 2
    assert "loaner_returned" in desk.events(number, visible_only=True)


def test_a_missed_repair_time_is_announced_to_the_customer_at_once(desk, kit) -> None:  # type: ignore[no-untyped-def]
    number = laptop(desk, kit, "5005")
    desk.cmd("complaints.answer", case_number=number, decision="accept", text="We will repair it.")
    desk.run()
    desk.until(datetime(2026, 5, 8, 9, 30, tzinfo=WAW))
    assert len(desk.mails_to(MERCHANT, "repair due soon")) == 1
    desk.until(datetime(2026, 5, 10, 0, 5, tzinfo=WAW))
    assert len(desk.mails_to(CUSTOMER, "Naprawa potrwa dłużej")) == 1


def test_a_repair_that_fails_opens_the_second_rung(desk) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk)["case_number"]
    with pytest.raises(LadderViolation):
        desk.cmd("complaints.declare", case_number=number, email=CUSTOMER, remedy="price_reduction")
    desk.cmd("complaints.answer", case_number=number, decision="accept", text="We will repair it.")
    desk.run()
    desk.cmd("complaints.remedy_failed", case_number=number, reason="the crack reopened after gluing")
    status = desk.cmd("complaints.status", case_number=number, email=CUSTOMER)
    assert status["status"] == "awaiting_choice"
    assert set(status["remedies_open"]) >= {"price_reduction", "withdraw"}
    assert [e["event"] for e in status["timeline"]][:2] == ["opened", "answer"]


def test_no_first_response_within_business_hours_is_a_breach_event(desk) -> None:  # type: ignore[no-untyped-def]
    quiet = submit(desk, request_id="a")["case_number"]
    answered = submit(desk, request_id="b")["case_number"]
    desk.cmd("complaints.message", case_number=answered, text="We are looking at it and will answer soon.")
    # received Monday 12:00; 8 business hours (9-17) → Tuesday 12:00
    desk.until(datetime(2026, 5, 5, 11, 59, tzinfo=WAW))
    assert (quiet, "received", "received", "sla_breached") not in desk.observed.transitions
    desk.until(datetime(2026, 5, 5, 12, 1, tzinfo=WAW))
    assert (quiet, "received", "received", "sla_breached") in desk.observed.transitions
    assert (answered, "received", "received", "sla_breached") not in desk.observed.transitions
    assert desk.case(quiet).data["first_response"]["breached"] is True


def test_repeat_complaints_rank_higher(desk) -> None:  # type: ignore[no-untyped-def]
    first = submit(desk, request_id="1")
    second = submit(desk, request_id="2")
    assert "repeat" not in first["priority"]["reasons"]
    assert "repeat" in second["priority"]["reasons"]


class Decides:
    def __init__(self, decision: ComplaintDecision | None = None, error: Exception | None = None) -> None:
        self.decision, self.error = decision, error
        self.seen: list[str] = []

    @hookimpl
    def aftersales_complaint_decision(self, case: Case) -> ComplaintDecision | None:
        self.seen.append(case.number)
        if self.error is not None:
            raise self.error
        return self.decision


@pytest.fixture
def plugin(desk):  # type: ignore[no-untyped-def]
    registered: list[object] = []

    def add(obj: object) -> object:
        desk.runtime.plugins.pm.register(obj)
        registered.append(obj)
        return obj

    yield add
    for obj in registered:
        desk.runtime.plugins.pm.unregister(obj)


def test_a_decision_plugin_answers_at_once(desk, plugin) -> None:  # type: ignore[no-untyped-def]
    plugin(Decides(ComplaintDecision(accept=True, remedy=Remedy.REPAIR, reason="Covered: we repair it.")))
    number = submit(desk)["case_number"]
    desk.run()
    case = desk.case(number)
    assert case.status == "in_repair"
    assert case.data["first_response"]["by"] == "plugin"


def test_a_failing_decision_plugin_sends_the_complaint_to_a_person_and_the_clock_runs(desk, plugin) -> None:  # type: ignore[no-untyped-def]
    plugin(Decides(error=RuntimeError("rules service down")))
    number = submit(desk)["case_number"]
    assert desk.case(number).status == "manual_review"
    desk.run()
    assert len(desk.mails_to(MERCHANT, "the decision plugin failed")) == 1
    desk.until(datetime(2026, 5, 19, 0, 1, tzinfo=WAW))
    assert desk.case(number).status == "in_repair"  # silence: deemed accepted, the repair asked for
    assert "deemed_accepted" in desk.events(number)


def test_a_plugin_decision_the_ladder_forbids_is_not_sent(desk, plugin) -> None:  # type: ignore[no-untyped-def]
    plugin(Decides(ComplaintDecision(accept=True, remedy=Remedy.WITHDRAW, reason="Just refund it.")))
    number = submit(desk)["case_number"]
    case = desk.case(number)
    assert case.status == "manual_review"
    assert desk.outbox("complaint_answer") == []


def test_a_warranty_claim_gives_the_guarantor_14_days_from_receiving_the_item(desk, kit) -> None:  # type: ignore[no-untyped-def]
    desk.store(
        kit.delivered_order("5006", delivered_at=datetime(2023, 9, 1, 12, tzinfo=UTC), category="laptops")
    )
    number = submit(desk, order_number="5006", lines=[], type="warranty", description="The hinge broke.")[
        "case_number"
    ]
    assert number.startswith("WR-")
    desk.cmd("complaints.answer", case_number=number, decision="accept", text="Covered by our guarantee.")
    desk.run()
    desk.until(datetime(2026, 5, 6, 11, 0, tzinfo=WAW))
    desk.cmd("complaints.item_received", case_number=number)
    case = desk.case(number)
    assert case.deadlines["guarantee_action_due"] == datetime(2026, 5, 21, 0, 0, tzinfo=WAW)
    desk.cmd("complaints.report_delay", case_number=number, expected_by="2026-05-25", reason="hinge on order")
    desk.until(datetime(2026, 5, 21, 0, 5, tzinfo=WAW))
    assert len(desk.mails_to(MERCHANT, "guarantee deadline")) == 1


def test_a_corrected_answer_may_follow_and_the_first_to_reach_the_consumer_counts(desk, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk)["case_number"]
    monkeypatch.setenv("AFTERSALES_SMTP_PORT", "1")
    desk.cmd("complaints.answer", case_number=number, decision="reject", text="Not a defect.")
    desk.run()  # the mail server is down: the rejection waits in the outbox, backing off
    monkeypatch.setenv("AFTERSALES_SMTP_PORT", str(desk.sink.port))
    desk.cmd(
        "complaints.answer",
        case_number=number,
        decision="switch",
        remedy="replace",
        because="impossible",
        text="On second thought: the mug cannot be repaired, we replace it.",
    )
    desk.run()
    assert desk.case(number).status == "replacing"
    desk.advance(hours=1)  # the stale rejection is delivered later: it changes nothing
    assert desk.case(number).status == "replacing"
    bodies = [
        m.get_body(("plain",)).get_content() for m in desk.mails_to(CUSTOMER, "Odpowiedź na reklamację")
    ]
    assert len(bodies) == 2 and "second thought" in bodies[0]
    with pytest.raises(ValueError, match="answer was already given"):
        desk.cmd("complaints.answer", case_number=number, decision="accept", text="again")
