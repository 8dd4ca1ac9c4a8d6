"""Complaints from every channel, and the bad input a service desk really gets.

A clear answer, one case, nothing lost: duplicates (a double click, the same e-mail twice),
unknown orders, attachments that are too big or not photos, complaints after the liability.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from aftersales.domain import DomainEvent, EventType, ReturnData, ReturnLine
from aftersales.engine.context import StepContext
from aftersales.store.models import Attachment, CaseRow, Shop
from aftersales.workflows.complaints.attachments import AttachmentRejected
from aftersales.workflows.complaints.handlers import on_defect_return
from aftersales.workflows.complaints.ladder import LadderViolation

CUSTOMER = "john.doe@example.com"
MERCHANT = "reklamacje@sklep.example"


def email(
    subject: str,
    body: str,
    *,
    message_id: str,
    sender: str = f"John Doe <{CUSTOMER}>",
    files: tuple[tuple[str, str, bytes], ...] = (),
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = MERCHANT
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, ctype, data in files:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return msg.as_bytes()


def attachments(desk, number: str) -> list[Attachment]:  # type: ignore[no-untyped-def]
    case_id = desk.case(number).id
    with desk.runtime.transaction() as session:
        rows = list(session.scalars(select(Attachment).where(Attachment.case_id == case_id)))
        session.expunge_all()
        return rows


# -- e-mail ----------------------------------------------------------------------------------------------


def test_an_email_complaint_with_its_order_number_photo_and_a_virus(desk, files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raw = email(
        "Reklamacja kubka",
        f"Dzień dobry, kubek z zamówienia nr {desk.order_id} pękł. Proszę o wymianę.",
        message_id="<m1@mail.example.com>",
        files=(("kubek.png", "image/png", files.png), ("faktura.exe", "application/octet-stream", b"MZ\x90")),
    )
    result = desk.cmd("complaints.ingest_email", raw=raw)
    assert result["created"] is True and result["status"] == "received"
    assert result["order_number"] == desk.order_id and result["demanded"] == "replace"
    number = result["case_number"]
    stored = {a.filename: a for a in attachments(desk, number)}
    assert set(stored) == {"kubek.png", "message.eml"}
    assert (tmp_path / "data" / "attachments" / stored["kubek.png"].path).read_bytes() == files.png
    assert (tmp_path / "data" / "attachments" / stored["message.eml"].path).read_bytes() == raw
    refused = desk.case(number).data["refused_attachments"]
    assert refused[0]["filename"] == "faktura.exe" and "not a photo or PDF" in refused[0]["reason"]
    desk.run()
    assert len(desk.mails_to(CUSTOMER, f"Przyjęliśmy reklamację nr {number}")) == 1


def test_the_same_email_twice_is_one_case_and_a_reply_threads_onto_it(desk) -> None:  # type: ignore[no-untyped-def]
    raw = email("Broken mug", "The mug from my order cracked.", message_id="<dup@mail.example.com>")
    first = desk.cmd("complaints.ingest_email", raw=raw)
    second = desk.cmd("complaints.ingest_email", raw=raw)
    number = first["case_number"]
    assert first["created"] is True and first["status"] == "awaiting_order"
    assert second == {**second, "case_number": number, "created": False}
    desk.run()
    assert len(desk.mails_to(CUSTOMER, "którego zamówienia dotyczy")) == 1  # asks for the order number

    reply = email(
        f"Re: Reklamacja nr {number}: którego zamówienia dotyczy?",
        f"It was order #{desk.order_id}.\n> earlier text",
        message_id="<reply-1@mail.example.com>",
    )
    threaded = desk.cmd("complaints.ingest_email", raw=reply)
    assert threaded["case_number"] == number and threaded["created"] is False and threaded["threaded"] is True
    assert threaded["status"] == "received" and threaded["order_number"] == desk.order_id
    again = desk.cmd("complaints.ingest_email", raw=reply)
    assert again["case_number"] == number and again["created"] is False
    events = desk.events(number)
    assert events.count("customer_message") == 1 and "order_identified" in events
    with desk.runtime.transaction() as session:
        assert len(list(session.scalars(select(CaseRow.id)))) == 1


def test_a_reply_from_someone_else_is_not_threaded_onto_the_case(desk) -> None:  # type: ignore[no-untyped-def]
    number = desk.cmd("complaints.ingest_email", raw=email("Broken", "mug", message_id="<a@x>"))[
        "case_number"
    ]
    other = desk.cmd(
        "complaints.ingest_email",
        raw=email(f"Re: {number}", "I am not the customer", message_id="<b@x>", sender="mallory@example.net"),
    )
    assert other["created"] is True and other["case_number"] != number


def test_an_out_of_office_reply_to_the_acknowledgement_opens_nothing(desk) -> None:  # type: ignore[no-untyped-def]
    number = desk.cmd("complaints.ingest_email", raw=email("Broken", "mug", message_id="<c@x>"))[
        "case_number"
    ]
    auto = desk.cmd(
        "complaints.ingest_email",
        raw=email(
            f"Auto: Przyjęliśmy reklamację nr {number}",
            "I am on holiday",
            message_id="<d@x>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    assert auto == {"case_number": number, "created": False, "threaded": False, "ignored": "auto-reply"}
    assert desk.events(number).count("customer_message") == 0


def test_the_mail_ingest_command_prints_the_contract(desk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from aftersales.cli import app

    runner = CliRunner()
    raw = email("Zepsuty czajnik", "Czajnik nie grzeje.", message_id="<cli-1@mail.example.com>")
    args = ["mail", "ingest", "--shop", "sklep", "--db", desk.runtime.db_url]
    first = runner.invoke(app, args, input=raw)
    assert first.exit_code == 0, first.output
    import json

    out = json.loads(first.stdout)
    assert set(out) == {"case_number", "created"} and out["created"] is True
    second = json.loads(runner.invoke(app, args, input=raw).stdout)
    assert second == {"case_number": out["case_number"], "created": False}
    reply = email(f"Re: [{out['case_number']}]", "Any news?", message_id="<cli-2@mail.example.com>")
    third = json.loads(runner.invoke(app, args, input=reply).stdout)
    assert third == {"case_number": out["case_number"], "created": False}
    unknown = runner.invoke(app, ["mail", "ingest", "--shop", "nope", "--db", desk.runtime.db_url], input=raw)
    assert unknown.exit_code == 1 and "not registered" in unknown.stderr


# -- the web form ------------------------------------------------------------------------------------------


def form(desk, **extra):  # type: ignore[no-untyped-def]
    payload = {
        "email": CUSTOMER,
        "order_number": desk.order_id,
        "description": "The mug cracked.",
        "lines": [{"line_item_id": "316"}],
        "remedy": "repair",
    }
    payload.update(extra)
    return desk.cmd("complaints.submit", **payload)


def test_a_double_click_opens_one_case(desk) -> None:  # type: ignore[no-untyped-def]
    first = form(desk, request_id="tok-1")
    second = form(desk, request_id="tok-1")
    assert first["created"] is True and second["created"] is False
    assert first["case_number"] == second["case_number"]
    desk.run()
    assert len(desk.mails_to(CUSTOMER, "Przyjęliśmy reklamację")) == 1


def test_photos_are_stored_and_bad_files_refuse_the_form_as_a_whole(desk, files) -> None:  # type: ignore[no-untyped-def]
    too_big = {"filename": "big.jpg", "content": files.jpeg + b"\x00" * (10 * 1024 * 1024)}
    with pytest.raises(AttachmentRejected, match="over the limit"):
        form(desk, request_id="t1", attachments=[too_big])
    with pytest.raises(AttachmentRejected, match="not a photo or PDF"):
        form(desk, request_id="t2", attachments=[{"filename": "a.jpg", "content": b"#!/bin/sh\nrm -rf /"}])
    with pytest.raises(AttachmentRejected, match="at most 5"):
        form(
            desk,
            request_id="t3",
            attachments=[{"filename": f"{i}.png", "content": files.png} for i in range(6)],
        )
    with desk.runtime.transaction() as session:
        assert session.scalar(select(CaseRow.id)) is None  # nothing was opened
    ok = form(
        desk,
        request_id="t4",
        attachments=[
            {"filename": "crack.jpg", "content": files.jpeg, "content_type": "image/jpeg"},
            {"filename": "receipt.pdf", "content_base64": base64.b64encode(files.pdf).decode()},
        ],
    )
    stored = sorted((a.filename, a.content_type) for a in attachments(desk, ok["case_number"]))
    assert stored == [("crack.jpg", "image/jpeg"), ("receipt.pdf", "application/pdf")]
    assert "attachment_added" in desk.events(ok["case_number"], visible_only=True)


def test_an_unknown_order_still_opens_a_case_that_asks_for_it(desk) -> None:  # type: ignore[no-untyped-def]
    opened = form(desk, order_number="999999", lines=[])
    assert opened["status"] == "awaiting_order" and opened["answer_by"] == "2026-05-18"
    assert "order was not found" in opened["notice"]
    with pytest.raises(ValueError, match="no order 31337"):
        desk.cmd(
            "complaints.provide_order",
            case_number=opened["case_number"],
            email=CUSTOMER,
            order_number="31337",
        )
    with pytest.raises(ValueError, match="for this e-mail"):
        desk.cmd(
            "complaints.provide_order",
            case_number=opened["case_number"],
            email="x@y.z",
            order_number=desk.order_id,
        )
    found = desk.cmd(
        "complaints.provide_order",
        case_number=opened["case_number"],
        email=CUSTOMER,
        order_number=desk.order_id,
    )
    assert found["status"] == "received" and found["order_number"] == desk.order_id


def test_a_jump_straight_to_money_is_refused_with_the_article(desk) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LadderViolation, match=r"ask for repair or replacement first.*art\. 43e ust\. 1"):
        form(desk, remedy="withdraw")
    with pytest.raises(ValueError, match="line 999 is not part of order"):
        form(desk, lines=[{"line_item_id": "999"}])


# -- liability and guarantee ---------------------------------------------------------------------------------


def test_a_defect_noticed_after_two_years_gets_a_clear_rejection(desk, kit) -> None:  # type: ignore[no-untyped-def]
    desk.store(kit.delivered_order("5001", delivered_at=datetime(2024, 3, 1, 12, tzinfo=UTC), name="Czajnik"))
    opened = form(
        desk, order_number="5001", lines=[], defect_noticed_at="2026-04-20T10:00:00+02:00", request_id="old"
    )
    assert opened["status"] == "answer_sent"
    desk.run()
    case = desk.case(opened["case_number"])
    assert case.status == "rejected"
    answer = desk.mails_to(CUSTOMER, "Odpowiedź na reklamację")[0].get_body(("plain",)).get_content()
    assert "2026-03-01" in answer and "43c" in answer


def test_a_late_complaint_without_a_defect_date_goes_to_a_person(desk, kit) -> None:  # type: ignore[no-untyped-def]
    desk.store(kit.delivered_order("5002", delivered_at=datetime(2024, 3, 1, 12, tzinfo=UTC), name="Czajnik"))
    opened = form(desk, order_number="5002", lines=[], request_id="old2")
    assert opened["status"] == "manual_review"
    assert opened["answer_by"] == "2026-05-18"  # the clock runs meanwhile


def test_the_shops_guarantee_turns_a_late_laptop_complaint_into_a_warranty_claim(desk, kit) -> None:  # type: ignore[no-untyped-def]
    desk.store(
        kit.delivered_order("5003", delivered_at=datetime(2023, 9, 1, 12, tzinfo=UTC), category="laptops")
    )
    opened = form(desk, order_number="5003", lines=[], defect_noticed_at="2026-05-01T10:00:00+02:00")
    assert opened["type"] == "warranty" and opened["case_number"].startswith("WR-")
    assert opened["status"] == "received"
    case = desk.case(opened["case_number"])
    assert case.data["coverage"]["basis"] == "guarantee"
    assert case.data["product"] == "Laptop Pro 14"


# -- the platform ----------------------------------------------------------------------------------------------


def test_a_platform_return_for_a_defect_is_a_complaint(desk) -> None:  # type: ignore[no-untyped-def]
    event = DomainEvent(
        platform="shopify",
        topic="returns/request",
        type=EventType.RETURN_REQUESTED,
        shop_resource_id="gid://shopify/Return/1",
        occurred_at=datetime(2026, 5, 4, 9, 0, tzinfo=UTC),
        data=ReturnData(
            return_id="gid://shopify/Return/1",
            order_id=desk.order_id,
            status="requested",
            lines=[
                ReturnLine(id="r1", line_item_id="316", quantity=1, reason="DEFECTIVE", note="handle broke"),
                ReturnLine(id="r2", line_item_id="315", quantity=1, reason="SIZE_TOO_SMALL"),
            ],
        ),
    )
    for _ in range(2):  # a redelivered webhook
        with desk.runtime.transaction() as session:
            shop = session.get(Shop, "sklep")
            on_defect_return(StepContext(session, desk.runtime, shop), event)
    with desk.runtime.transaction() as session:
        rows = list(session.scalars(select(CaseRow).where(CaseRow.type == "complaint")))
        assert len(rows) == 1 and rows[0].source == "platform"
        number = rows[0].number
    case = desk.case(number)
    assert [line.line_item_id for line in case.lines] == ["316"]
    assert case.data["received_at"].startswith("2026-05-04T09:00")


def test_asking_for_a_guarantee_the_shop_does_not_give_files_a_statutory_complaint(desk) -> None:  # type: ignore[no-untyped-def]
    opened = form(desk, type="warranty", request_id="no-guarantee")
    assert opened["type"] == "complaint" and opened["case_number"].startswith("C-")
    assert desk.case(opened["case_number"]).data["converted_from"] == "warranty"
