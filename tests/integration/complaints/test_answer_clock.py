"""The 14-day answer clock on a real engine: reminders, answers that stop it, deemed acceptance that pays.

Dates: the complaint arrives on Monday 4 May 2026 at noon (Warsaw). Day 10 is 14 May, day 13
is 17 May, the last day is 18 May and the complaint is deemed accepted at midnight 18/19 May.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from aftersales.workflows.complaints.ladder import LadderViolation

WAW = ZoneInfo("Europe/Warsaw")
CUSTOMER = "john.doe@example.com"
MERCHANT = "reklamacje@sklep.example"


def submit(desk, **extra):  # type: ignore[no-untyped-def]
    payload = {
        "email": CUSTOMER,
        "order_number": desk.order_id,
        "description": "The coffee mug cracked on first use.",
        "lines": [{"line_item_id": "316"}],
        "remedy": "withdraw",
        "ground": "serious_defect",
        "request_id": "form-token-1",
    }
    payload.update(extra)
    return desk.cmd("complaints.submit", **payload)


def test_unanswered_complaint_is_deemed_accepted_and_refunded_exactly_once(desk) -> None:  # type: ignore[no-untyped-def]
    opened = submit(desk)
    assert opened["created"] is True and opened["status"] == "received"
    number = opened["case_number"]
    assert number.startswith("C-2026-")
    assert opened["answer_by"] == "2026-05-18"
    desk.run()
    ack = desk.mails_to(CUSTOMER, number)
    assert len(ack) == 1 and "2026" in ack[0].get_body(("plain",)).get_content()

    desk.until(datetime(2026, 5, 14, 9, 30, tzinfo=WAW))  # day 10
    assert len(desk.mails_to(MERCHANT, f"Reklamacja {number} czeka na odpowiedź")) == 1
    desk.until(datetime(2026, 5, 17, 9, 30, tzinfo=WAW))  # day 13
    assert len(desk.mails_to(MERCHANT, f"Reklamacja {number} czeka na odpowiedź")) == 2
    assert desk.case(number).status == "received"

    desk.until(datetime(2026, 5, 18, 23, 59, tzinfo=WAW))
    assert desk.case(number).status == "received"  # the last day is the trader's, to its end
    desk.until(datetime(2026, 5, 19, 0, 0, 1, tzinfo=WAW))
    case = desk.case(number)
    assert case.status == "resolved", desk.events(number)
    events = desk.events(number)
    assert events.index("deemed_accepted") < events.index("request_refund") < events.index("refund_confirmed")
    refunds = desk.shop.refunds(desk.order_id)
    assert len(refunds) == 1 and refunds[0]["amount"] == "12.90"
    assert case.refund_total is not None and str(case.refund_total.amount) == "12.90"
    assert len(desk.mails_to(CUSTOMER, "została uznana")) == 1
    assert len(desk.mails_to(MERCHANT, "Zlecenie odbioru PU-")) == 1

    # nothing pays twice: the same form token, more time, more sweeps
    again = submit(desk)
    assert again["case_number"] == number and again["created"] is False
    desk.advance(days=30)
    assert len(desk.shop.refunds(desk.order_id)) == 1
    assert [e.state for e in desk.effects()] == ["confirmed"]
    assert len(desk.mails_to(CUSTOMER, "została uznana")) == 1


def test_an_answer_that_reaches_the_consumer_on_day_13_stops_the_clock(desk) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk, remedy="repair", ground=None)["case_number"]
    desk.run()
    desk.until(datetime(2026, 5, 17, 15, 0, tzinfo=WAW))
    desk.cmd(
        "complaints.answer",
        case_number=number,
        decision="accept",
        text="We will repair the mug; a courier will collect it at our cost.",
    )
    assert desk.case(number).status == "answer_sent"  # queued, not yet received: the clock runs
    desk.run()  # the SMTP server accepts it: it reached the consumer
    case = desk.case(number)
    assert case.status == "in_repair"
    answer = case.data["answer"]
    assert answer["reached_at"].startswith("2026-05-17T13:00")
    assert len(desk.mails_to(CUSTOMER, f"Odpowiedź na reklamację nr {number}")) == 1

    desk.until(datetime(2026, 5, 25, 12, 0, tzinfo=WAW))
    assert "deemed_accepted" not in desk.events(number)
    assert desk.shop.refunds(desk.order_id) == []
    assert desk.mails_to(CUSTOMER, "została uznana") == []


def test_an_answer_stuck_in_the_outbox_past_the_deadline_does_not_count(desk, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk, remedy="repair", ground=None)["case_number"]
    desk.run()
    monkeypatch.setenv("AFTERSALES_SMTP_PORT", "1")  # the mail server is down
    desk.until(datetime(2026, 5, 18, 20, 0, tzinfo=WAW))
    desk.cmd("complaints.answer", case_number=number, decision="reject", text="The mug was dropped.")
    desk.run()
    assert desk.case(number).status == "answer_sent"
    desk.until(datetime(2026, 5, 19, 0, 30, tzinfo=WAW))
    case = desk.case(number)
    assert case.status == "in_repair"  # deemed accepted with the demand as stated: repair
    assert "deemed_accepted" in desk.events(number)

    monkeypatch.setenv("AFTERSALES_SMTP_PORT", str(desk.sink.port))
    desk.advance(hours=2)
    assert desk.case(number).status == "in_repair"
    assert "answer_late" in desk.events(number)


def test_the_customer_reading_the_answer_on_the_status_page_stops_the_clock(desk, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk, remedy="replace", ground=None)["case_number"]
    desk.run()
    monkeypatch.setenv("AFTERSALES_SMTP_PORT", "1")
    desk.until(datetime(2026, 5, 12, 10, 0, tzinfo=WAW))
    case_id = desk.case(number).id
    desk.cmd(
        "complaints.answer",
        case_number=number,
        decision="switch",
        remedy="repair",
        because="disproportionate",
        text="A new mug costs us ten times a repair; we will repair it.",
    )
    desk.advance(hours=1)
    assert desk.case(number).status == "answer_sent"
    opened = desk.cmd("complaints.answer_opened", case_id=case_id)
    assert opened["status"] == "in_repair"
    assert desk.case(number).data["answer"]["reached_via"] == "status_page"
    desk.until(datetime(2026, 5, 20, 10, 0, tzinfo=WAW))
    assert "deemed_accepted" not in desk.events(number)


def test_an_illegal_answer_is_refused_and_changes_nothing(desk) -> None:  # type: ignore[no-untyped-def]
    number = submit(desk, remedy="repair", ground=None)["case_number"]
    with pytest.raises(LadderViolation, match=r"art\. 43e ust\. 1"):
        desk.cmd(
            "complaints.answer",
            case_number=number,
            decision="switch",
            remedy="price_reduction",
            because="disproportionate",
            price_reduction="5.00",
            text="We give you 5 zł off instead.",
        )
    with pytest.raises(ValueError, match="voucher cannot be imposed"):
        desk.cmd(
            "complaints.answer",
            case_number=number,
            decision="accept",
            text="A voucher.",
            settlement="voucher",
        )
    assert desk.case(number).status == "received"
    assert desk.outbox("complaint_answer") == []
