"""An e-mail sent over SMTP to the complaints listener becomes a case; its acknowledgement reaches the customer."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from aftersales.workflows.complaints.listener import ComplaintMailListener

CUSTOMER = "john.doe@example.com"


def message(
    message_id: str, subject: str = "Zepsuty kubek", body: str = "Kubek z zamówienia #727 pękł."
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"John Doe <{CUSTOMER}>"
    msg["To"] = "reklamacje@sklep.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def test_a_mailed_complaint_becomes_a_case_and_is_acknowledged(desk) -> None:  # type: ignore[no-untyped-def]
    with ComplaintMailListener(lambda raw: desk.cmd("complaints.ingest_email", raw=raw)) as listener:
        with smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp:
            smtp.send_message(message("<smtp-1@mail.example.com>"))
            smtp.send_message(message("<smtp-1@mail.example.com>"))  # the sender's retry
        results = listener.handler.results
    assert [r["created"] for r in results] == [True, False]
    number = results[0]["case_number"]
    assert results[1]["case_number"] == number
    assert results[0]["status"] == "received" and results[0]["order_number"] == "727"
    desk.run()
    acks = desk.mails_to(CUSTOMER, f"Przyjęliśmy reklamację nr {number}")
    assert len(acks) == 1
    assert number in acks[0].get_body(("plain",)).get_content()


def test_a_database_failure_is_a_temporary_smtp_error_so_the_sender_retries() -> None:
    def broken(raw: bytes) -> dict[str, object]:
        raise RuntimeError("database is down")

    with (
        ComplaintMailListener(broken) as listener,
        smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPDataError) as caught,
    ):
        smtp.send_message(message("<smtp-2@mail.example.com>"))
    assert caught.value.smtp_code == 451


def test_a_message_without_a_sender_is_refused_for_good(desk) -> None:  # type: ignore[no-untyped-def]
    with (
        ComplaintMailListener(lambda raw: desk.cmd("complaints.ingest_email", raw=raw)) as listener,
        smtplib.SMTP(listener.host, listener.port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPDataError) as caught,
    ):
        smtp.sendmail(
            "bounce@example.com", ["reklamacje@sklep.example"], b"Subject: hi\r\n\r\nno from header\r\n"
        )
    assert caught.value.smtp_code == 550
