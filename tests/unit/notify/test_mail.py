"""The e-mail channel against real SMTP servers (aiosmtpd on loopback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from aftersales.notify.mail import EmailChannel, SmtpSettings, TransientMailError
from aftersales.notify.message import Message
from aftersales.plugins import load_plugins
from aftersales.testing import SmtpSink


def message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "shop_id": "shop-a",
        "to": "jan@example.pl",
        "template": "complaint_received",
        "locale": "pl",
        "subject": "Przyjęliśmy reklamację nr C-2026-000007",
        "text": "Dzień dobry,\n\nprzyjęliśmy Twoją reklamację.\n",
        "html": "<p>Dzień dobry,</p><p>przyjęliśmy Twoją reklamację.</p>",
        "case_number": "C-2026-000007",
    }
    return Message(**(fields | overrides))


def test_the_builtin_email_channel_is_registered() -> None:
    assert isinstance(load_plugins(entrypoints=False).channels()["email"], EmailChannel)


def test_a_message_arrives_with_text_and_html_parts_and_its_headers(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERSALES_MAIL_FROM", "noreply@returns.example")
    receipt = EmailChannel().send(message(headers={"Reply-To": "reklamacje@example.pl"}))

    [received] = smtp_sink.wait_for(1)
    assert receipt.accepted and receipt.channel == "email"
    assert received["Message-ID"].strip() == receipt.message_id
    assert received["From"] == "noreply@returns.example"
    assert received["To"] == "jan@example.pl"
    assert received["Subject"] == "Przyjęliśmy reklamację nr C-2026-000007"
    assert received["Reply-To"] == "reklamacje@example.pl"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["X-Aftersales-Case"] == "C-2026-000007"
    assert received["Date"]
    assert received.get_content_type() == "multipart/alternative"
    plain = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert plain is not None and "przyjęliśmy Twoją reklamację" in plain.get_content()
    assert html is not None and "<p>przyjęliśmy Twoją reklamację.</p>" in html.get_content()


def test_the_shops_own_sender_wins_over_the_default(smtp_sink: SmtpSink) -> None:
    EmailChannel().send(message(headers={"From": "Sklep Przykład <sklep@example.pl>"}))
    [received] = smtp_sink.wait_for(1)
    assert received["From"].addresses[0].addr_spec == "sklep@example.pl"
    assert received["From"].addresses[0].display_name == "Sklep Przykład"


def test_a_text_only_message_is_a_single_plain_part(smtp_sink: SmtpSink) -> None:
    EmailChannel().send(message(html=None))
    [received] = smtp_sink.wait_for(1)
    assert received.get_content_type() == "text/plain"


def test_no_server_listening_is_worth_retrying() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = EmailChannel(SmtpSettings(host="127.0.0.1", port=port, timeout=2))
    with pytest.raises(TransientMailError):
        channel.send(message())


class Picky:
    """Refuses some recipients: 5xx for ``bounce@`` (permanent), 4xx for ``later@`` (try again)."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bounce@"):
            return "550 5.1.1 no such user"
        if address.startswith("later@"):
            return "451 4.3.0 greylisted, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def picky() -> Iterator[EmailChannel]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Picky(), hostname="127.0.0.1", port=port)
    controller.start()
    yield EmailChannel(SmtpSettings(host="127.0.0.1", port=port, timeout=5))
    controller.stop()


def test_a_permanently_refused_recipient_is_a_failed_receipt_not_a_retry(picky: EmailChannel) -> None:
    receipt = picky.send(message(to="bounce@example.pl"))
    assert not receipt.accepted
    assert "550" in receipt.detail


def test_a_temporarily_refused_recipient_is_retried(picky: EmailChannel) -> None:
    with pytest.raises(TransientMailError):
        picky.send(message(to="later@example.pl"))
