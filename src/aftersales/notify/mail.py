"""The e-mail channel: a rendered :class:`Message` sent over SMTP as text + HTML alternatives.

Why SMTP through the standard library: ``Channel.send`` is synchronous (the engine's outbox
sender calls it from a worker thread), and ``smtplib`` + ``email.message.EmailMessage`` are
all a multipart/alternative message needs.

The receipt matters legally: a complaint answer stops the 14-day clock when it *reaches* the
consumer, so the outbox keeps the SMTP server's acceptance and our Message-ID as the record.

Settings (environment): ``AFTERSALES_SMTP_HOST`` (localhost), ``AFTERSALES_SMTP_PORT`` (25),
``AFTERSALES_SMTP_USER`` / ``AFTERSALES_SMTP_PASSWORD`` (login when set),
``AFTERSALES_SMTP_STARTTLS`` (1/true/yes), ``AFTERSALES_SMTP_TIMEOUT`` (30 s) and
``AFTERSALES_MAIL_FROM`` — the sender when the message carries no ``From`` header of its own
(the shop policy's ``notifications.from_address`` is set on the message by
:func:`aftersales.notify.compose.compose_message`).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from aftersales.notify.message import DeliveryReceipt, Message

DEFAULT_FROM = "aftersales@localhost"
_TRUE = {"1", "true", "yes", "on"}
_RESERVED = {"from", "to", "subject", "date", "message-id", "content-type", "mime-version"}


class TransientMailError(RuntimeError):
    """The server could not take the message now (4xx, connection trouble): the outbox retries."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0
    mail_from: str = DEFAULT_FROM

    @classmethod
    def from_env(cls) -> SmtpSettings:
        env = os.environ
        return cls(
            host=env.get("AFTERSALES_SMTP_HOST") or "localhost",
            port=int(env.get("AFTERSALES_SMTP_PORT") or 25),
            user=env.get("AFTERSALES_SMTP_USER") or None,
            password=env.get("AFTERSALES_SMTP_PASSWORD") or None,
            starttls=(env.get("AFTERSALES_SMTP_STARTTLS") or "").strip().lower() in _TRUE,
            timeout=float(env.get("AFTERSALES_SMTP_TIMEOUT") or 30),
            mail_from=env.get("AFTERSALES_MAIL_FROM") or DEFAULT_FROM,
        )


def _domain(address: str) -> str:
    _, addr = parseaddr(address)
    return addr.rpartition("@")[2] or "localhost"


def build_email(message: Message, mail_from: str) -> EmailMessage:
    """The MIME message: text/plain first, text/html as the preferred alternative."""
    email = EmailMessage()
    sender = message.headers.get("From") or mail_from
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = message.headers.get("Message-ID") or make_msgid(
        idstring=message.template, domain=_domain(sender)
    )
    # RFC 3834: tells vacation responders not to answer an automatic message
    email["Auto-Submitted"] = "auto-generated"
    if message.case_number:
        email["X-Aftersales-Case"] = message.case_number
    for name, value in message.headers.items():
        if name.lower() not in _RESERVED:
            email[name] = value
    email.set_content(message.text or "", subtype="plain", charset="utf-8")
    if message.html:
        email.add_alternative(message.html, subtype="html", charset="utf-8")
    return email


class EmailChannel:
    """``email``: one SMTP session per message (the outbox sends few, retried ones)."""

    name = "email"

    def __init__(self, settings: SmtpSettings | None = None) -> None:
        self._settings = settings

    @property
    def settings(self) -> SmtpSettings:
        # read at send time so a deployment (or a test's SMTP sink) can change it without a restart
        return self._settings or SmtpSettings.from_env()

    def send(self, message: Message) -> DeliveryReceipt:
        settings = self.settings
        email = build_email(message, settings.mail_from)
        envelope_from = parseaddr(str(email["From"]))[1] or settings.mail_from
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.user:
                    smtp.login(settings.user, settings.password or "")
                refused = smtp.send_message(email, from_addr=envelope_from, to_addrs=[message.to])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                return self._rejected(exc.recipients)
            raise TransientMailError(f"recipient temporarily refused: {codes}") from exc
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code >= 500:
                return DeliveryReceipt(
                    channel=self.name, accepted=False, detail=f"message rejected: {exc.smtp_code}"
                )
            raise TransientMailError(f"message deferred: {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientMailError(
                f"SMTP to {settings.host}:{settings.port} failed: {type(exc).__name__}"
            ) from exc
        if refused:
            return self._rejected(refused)
        return DeliveryReceipt(
            channel=self.name,
            accepted=True,
            detail=f"accepted by {settings.host}:{settings.port}",
            message_id=str(email["Message-ID"]),
        )

    def _rejected(self, refused: dict[str, tuple[int, bytes]]) -> DeliveryReceipt:
        detail = "; ".join(f"{addr}: {code}" for addr, (code, _) in refused.items())
        return DeliveryReceipt(channel=self.name, accepted=False, detail=f"recipient refused: {detail}")
