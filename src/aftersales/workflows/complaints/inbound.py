"""An inbound e-mail, read as a complaint (pure): who, about what, which case, which order.

A complaint may arrive as an ordinary e-mail (art. 7a u.p.k. starts the clock on receipt,
whatever the channel), through ``aftersales mail ingest`` or the inbound SMTP listener. This
module turns the RFC 822 bytes into an :class:`InboundMail` with the standard library's
``email`` package (``policy.default`` decodes RFC 2047 headers and charsets):

- **Message-ID** identifies the message: the same e-mail ingested twice (a retried SMTP
  delivery, a mailbox fetched twice) opens one case. A message without one gets a digest of
  its bytes instead, which dedupes exact copies.
- **A case number in the subject** (``Re: [C-2026-000042] ...``) threads a reply onto its case.
- **Order numbers** are looked for in the subject and text (``order #1001``, ``zamówienie nr
  1001``); the workflow accepts one only if it belongs to the sender's e-mail address.
- **Auto-replies** (RFC 3834 ``Auto-Submitted``, ``Precedence: auto_reply/bulk``, ``X-Autoreply``)
  are recognised so an out-of-office answer to our acknowledgement never opens a complaint.
- The customer's **demand** is read only from unambiguous words (repair / wymiana ...); when
  none or several are found it stays unknown and a person (or the decision hook) learns it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from aftersales.decisions import Remedy
from aftersales.workflows.complaints.attachments import Upload

__all__ = ["InboundMail", "MalformedMail", "parse_mail"]

MAX_TEXT = 20_000
"""Characters of the body kept on the case (the whole message is kept as a file)."""

CASE_NUMBER = re.compile(r"\b((?:C|WR)-\d{4}-\d{6})\b", re.IGNORECASE)
_ORDER_PATTERNS = (
    re.compile(
        r"(?:order|zam[óo]wieni(?:e|a|u)|zam\.)\s*(?:no\.?|nr\.?|number|numer|id)?\s*[:#]?\s*#?\s*"
        r"([A-Z0-9][A-Z0-9-]{1,30}\d)\b",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w#])#\s?(\d{3,12})\b"),
)
_REMEDY_WORDS: dict[Remedy, tuple[str, ...]] = {
    Remedy.REPAIR: ("repair", "napraw"),
    Remedy.REPLACE: ("replace", "replacement", "exchange", "wymian", "wymien", "wymień", "nowy egzemplarz"),
    Remedy.PRICE_REDUCTION: ("price reduction", "reduce the price", "obniżeni", "obnizeni", "obniżk"),
    Remedy.WITHDRAW: (
        "withdraw",
        "money back",
        "odstępuj",
        "odstepuj",
        "odstąpi",
        "odstapi",
        "zwrot pieniędzy",
    ),
}
_HTML_TAG = re.compile(r"<[^>]+>")
_QUOTED_REPLY = re.compile(r"^\s*>.*$", re.MULTILINE)


class MalformedMail(ValueError):
    """Bytes that are not an e-mail we can answer (no sender address)."""


@dataclass(frozen=True)
class InboundMail:
    message_id: str
    sender: str
    sender_name: str | None
    subject: str
    text: str
    in_reply_to: tuple[str, ...]
    case_numbers: tuple[str, ...]
    order_numbers: tuple[str, ...]
    remedy: Remedy | None
    auto_reply: bool
    date: str | None
    attachments: tuple[Upload, ...] = field(default_factory=tuple)
    raw: bytes = b""


def _strip_id(value: str | None) -> str:
    return (value or "").strip().strip("<>").strip()


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content)
    if part.get_content_subtype() == "html":
        text = _HTML_TAG.sub(" ", text)
    return text


def _attachments(msg: EmailMessage) -> tuple[Upload, ...]:
    found: list[Upload] = []
    for part in msg.iter_attachments():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        found.append(
            Upload(
                filename=part.get_filename() or "attachment",
                content=payload,
                declared_type=part.get_content_type(),
            )
        )
    return tuple(found)


def _auto_reply(msg: EmailMessage) -> bool:
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("auto_reply", "bulk", "junk", "list"):
        return True
    return any(msg.get(h) is not None for h in ("X-Autoreply", "X-Autorespond"))


def _orders(*texts: str) -> tuple[str, ...]:
    seen: list[str] = []
    for text in texts:
        for pattern in _ORDER_PATTERNS:
            for match in pattern.finditer(text):
                value = match.group(1).strip().lstrip("#")
                if value and value not in seen and not CASE_NUMBER.fullmatch(value):
                    seen.append(value)
    return tuple(seen)


def _remedy(*texts: str) -> Remedy | None:
    haystack = " ".join(texts).lower()
    hits = {remedy for remedy, words in _REMEDY_WORDS.items() if any(w in haystack for w in words)}
    return hits.pop() if len(hits) == 1 else None


def parse_mail(raw: bytes) -> InboundMail:
    """Read ``raw`` (RFC 822 bytes); raises :class:`MalformedMail` when there is no sender."""
    msg = message_from_bytes(raw, policy=email_policy.default)
    if not isinstance(msg, EmailMessage):  # pragma: no cover - policy.default always builds these
        raise MalformedMail("not an e-mail message")
    name, address = parseaddr(str(msg.get("Reply-To") or msg.get("From") or ""))
    from_name, from_address = parseaddr(str(msg.get("From") or ""))
    sender = (from_address or address).strip()
    if "@" not in sender:
        raise MalformedMail("the message has no sender address (From:) to answer")
    subject = " ".join(str(msg.get("Subject", "")).split())
    text = _body(msg).replace("\r\n", "\n").strip()
    fresh = _QUOTED_REPLY.sub("", text)  # a quoted earlier message must not re-state an old demand
    message_id = _strip_id(str(msg.get("Message-ID") or ""))
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    references = [
        _strip_id(v)
        for header in ("In-Reply-To", "References")
        for v in str(msg.get(header) or "").split()
        if _strip_id(v)
    ]
    numbers = tuple(dict.fromkeys(m.upper() for m in CASE_NUMBER.findall(subject)))
    return InboundMail(
        message_id=message_id[:300],
        sender=sender.lower(),
        sender_name=(from_name or name or None),
        subject=subject,
        text=text[:MAX_TEXT],
        in_reply_to=tuple(dict.fromkeys(references)),
        case_numbers=numbers,
        order_numbers=_orders(subject, fresh),
        remedy=_remedy(subject, fresh),
        auto_reply=_auto_reply(msg),
        date=str(msg.get("Date")) if msg.get("Date") else None,
        attachments=_attachments(msg),
        raw=raw,
    )


def recipients(raw: bytes) -> list[str]:
    """Addresses the message was sent to (To/Cc), lower-cased."""
    msg = message_from_bytes(raw, policy=email_policy.default)
    values = [str(v) for h in ("To", "Cc") for v in msg.get_all(h, [])]
    return [addr.lower() for _, addr in getaddresses(values) if addr]
