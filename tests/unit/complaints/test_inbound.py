"""An e-mail read as a complaint: identity, threading, order numbers, demands, auto-replies, parts."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from aftersales.decisions import Remedy
from aftersales.workflows.complaints.inbound import MalformedMail, parse_mail

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def mail(
    subject: str = "Broken kettle",
    body: str = "Hello, my kettle from order #1001 stopped working. Please repair it.",
    *,
    sender: str = "Anna Nowak <Anna@Example.com>",
    message_id: str | None = "<abc-1@mail.example.com>",
    headers: dict[str, str] | None = None,
    files: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "reklamacje@sklep.example"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, ctype, data in files:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def test_a_plain_complaint() -> None:
    parsed = parse_mail(mail())
    assert parsed.message_id == "abc-1@mail.example.com"
    assert parsed.sender == "anna@example.com"
    assert parsed.sender_name == "Anna Nowak"
    assert parsed.order_numbers == ("1001",)
    assert parsed.remedy is Remedy.REPAIR
    assert not parsed.auto_reply
    assert parsed.case_numbers == ()


def test_polish_order_number_and_demand() -> None:
    parsed = parse_mail(
        mail(subject="Reklamacja", body="Zamówienie nr 55123 – czajnik przecieka, proszę o wymianę na nowy.")
    )
    assert parsed.order_numbers == ("55123",)
    assert parsed.remedy is Remedy.REPLACE


def test_a_reply_quotes_the_case_number_in_its_subject() -> None:
    parsed = parse_mail(
        mail(subject="Re: Przyjęliśmy reklamację nr c-2026-000042", body="> old text\nThanks!")
    )
    assert parsed.case_numbers == ("C-2026-000042",)
    assert parsed.order_numbers == ()


def test_quoted_text_does_not_restate_an_old_demand() -> None:
    parsed = parse_mail(mail(body="Still waiting.\n> Please repair it, order #1001"))
    assert parsed.remedy is None
    assert parsed.order_numbers == ()


def test_two_demands_leave_the_demand_unknown() -> None:
    assert parse_mail(mail(body="Repair or replace it, I don't mind.")).remedy is None


@pytest.mark.parametrize(
    "headers",
    [{"Auto-Submitted": "auto-replied"}, {"Precedence": "auto_reply"}, {"X-Autoreply": "yes"}],
)
def test_auto_replies_are_recognised(headers: dict[str, str]) -> None:
    assert parse_mail(mail(headers=headers)).auto_reply


def test_auto_submitted_no_is_a_person() -> None:
    assert not parse_mail(mail(headers={"Auto-Submitted": "no"})).auto_reply


def test_a_message_without_message_id_is_identified_by_its_bytes() -> None:
    raw = mail(message_id=None)
    first, second = parse_mail(raw), parse_mail(raw)
    assert first.message_id.startswith("sha256:")
    assert first.message_id == second.message_id
    assert parse_mail(mail(message_id=None, body="other")).message_id != first.message_id


def test_attachments_come_from_mime_parts() -> None:
    parsed = parse_mail(
        mail(files=[("photo.png", "image/png", PNG), ("notes.exe", "application/octet-stream", b"MZ")])
    )
    assert [(a.filename, a.declared_type, a.content) for a in parsed.attachments] == [
        ("photo.png", "image/png", PNG),
        ("notes.exe", "application/octet-stream", b"MZ"),
    ]


def test_html_only_mail_is_read_as_text() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg["Subject"] = "Help"
    msg.set_content("<p>My order <b>#2002</b> is broken</p>", subtype="html")
    parsed = parse_mail(msg.as_bytes())
    assert "<p>" not in parsed.text
    assert parsed.order_numbers == ("2002",)


def test_no_sender_is_refused() -> None:
    with pytest.raises(MalformedMail):
        parse_mail(b"Subject: hi\r\n\r\nno sender")
