"""Guest subscriptions to "tell me when it is back": subscribe, confirm, unsubscribe, expire.

These are the functions behind the customer pages (the web layer calls them through the
engine's commands, or directly with a session). Every answer is one of a few neutral
outcomes: the page must not tell a visitor whether some address is already subscribed
(e-mail enumeration), so a duplicate gets exactly the answer a new subscription gets, and a
forged or replayed link gets the same answer as an expired one.

Consent (GDPR art. 7(1): the controller must be able to demonstrate consent) is recorded on
the subscription: when, from which IP, which wording the visitor saw, and when and from
where the double opt-in was confirmed. Confirmation happens only on a POST from the confirm
page: mail scanners and link checkers follow every GET in a message, so a GET that confirmed
would subscribe addresses whose owners never saw the e-mail.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aftersales.domain import StockLevel, SubscriptionStatus
from aftersales.platforms import PlatformError
from aftersales.store.models import Counter, OutboxMessage, SubscriptionRow
from aftersales.workflows.restock._store import bump_counter
from aftersales.workflows.restock.episodes import Availability, Source, availability, observe_stock
from aftersales.workflows.restock.rules import RestockRules
from aftersales.workflows.restock.tokens import RestockTokens

ALERT_TEMPLATE = "restock_alert"
CONFIRM_TEMPLATE = "restock_confirm"
RATE_PREFIX = "restock:ip:"


class SubscribeOutcome(StrEnum):
    ACCEPTED = "accepted"
    """New, duplicate or renewed: the visitor cannot tell which."""
    INVALID_EMAIL = "invalid_email"
    UNAVAILABLE = "unavailable"
    """The variant is in stock or unknown: nothing to wait for."""
    RATE_LIMITED = "rate_limited"


class ConfirmOutcome(StrEnum):
    CONFIRMED = "confirmed"
    INVALID = "invalid"
    """Forged, expired, replayed after unsubscribing, or erased: one answer for all."""


class UnsubscribeOutcome(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    INVALID = "invalid"


MESSAGES: dict[str, str] = {
    SubscribeOutcome.ACCEPTED: "Thank you. If this address can receive alerts for this product, "
    "we will write to it (check your inbox to confirm).",
    SubscribeOutcome.INVALID_EMAIL: "Please enter a valid e-mail address.",
    SubscribeOutcome.UNAVAILABLE: "Alerts are not available for this product.",
    SubscribeOutcome.RATE_LIMITED: "Too many requests. Please try again later.",
    ConfirmOutcome.CONFIRMED: "Your alert is confirmed. We will write when the product is back.",
    ConfirmOutcome.INVALID: "This link is not valid any more. You can ask for an alert again on the product page.",
    UnsubscribeOutcome.UNSUBSCRIBED: "You will not receive these alerts any more.",
    UnsubscribeOutcome.INVALID: "This link is not valid.",
}
"""Neutral default wording (the pages translate by outcome)."""


@dataclass(frozen=True)
class ConfirmationMail:
    """A double opt-in e-mail to send; never shown to the visitor."""

    subscription_id: int
    to: str
    locale: str
    variant_id: str
    product_id: str | None
    token: str
    nonce: str


@dataclass(frozen=True)
class SubscribeResult:
    outcome: SubscribeOutcome
    confirmation: ConfirmationMail | None = None
    """Set when a confirmation e-mail must go out (internal; the page shows only ``message``)."""

    @property
    def message(self) -> str:
        return MESSAGES[self.outcome]


@dataclass(frozen=True)
class ConfirmResult:
    outcome: ConfirmOutcome

    @property
    def message(self) -> str:
        return MESSAGES[self.outcome]


@dataclass(frozen=True)
class UnsubscribeResult:
    outcome: UnsubscribeOutcome
    subscriptions: int = 0
    """How many subscriptions stopped (internal)."""

    @property
    def message(self) -> str:
        return MESSAGES[self.outcome]


@dataclass(frozen=True)
class ExpiryReport:
    unconfirmed: int
    stale: int
    rate_counters: int


def normalize_email(raw: str) -> str | None:
    """The address as stored and matched, or None when it is not a deliverable-looking address.

    email-validator checks the syntax (no DNS lookup: a public form must answer fast and
    the same way for every address); the whole address is lower-cased, as the shop
    platforms do, so ``Anna@Example.com`` and ``anna@example.com`` are one subscriber.
    """
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except (EmailNotValidError, UnicodeError):
        return None
    return info.normalized.lower()


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _rate_bucket(now: datetime) -> str:
    return f"{int(now.timestamp() // 3600):08d}"


def _rate_key(ip: str, now: datetime) -> str:
    digest = hashlib.sha256(ip.encode()).hexdigest()[:32]
    return f"{RATE_PREFIX}{_rate_bucket(now)}:{digest}"


def _rate_limited(session: Session, shop_id: str, ip: str | None, now: datetime, rules: RestockRules) -> bool:
    """Fixed one-hour window per IP, counted in the ``counters`` table (so every process shares it).

    Every attempt counts, valid or not: a flood of made-up addresses is what this stops.
    """
    if not ip or rules.subscribe_limit_per_ip_hour <= 0:
        return False
    return bump_counter(session, shop_id, _rate_key(ip, now)) > rules.subscribe_limit_per_ip_hour


def _has_unsubscribed(session: Session, shop_id: str, email: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    SubscriptionRow.shop_id == shop_id,
                    SubscriptionRow.email == email,
                    SubscriptionRow.unsubscribed_at.is_not(None),
                )
            )
        )
    )


def _consent(ip: str | None, wording_version: str, now: datetime, double_opt_in: bool) -> dict[str, Any]:
    return {
        "at": now.isoformat(),
        "ip": ip,
        "wording_version": wording_version,
        "double_opt_in": double_opt_in,
        "confirmation": {"nonce": None, "sent_at": None, "confirmed_at": None, "ip": None},
    }


def _confirmation(consent: dict[str, Any] | None) -> dict[str, Any]:
    conf = dict((consent or {}).get("confirmation") or {})
    for key in ("nonce", "sent_at", "confirmed_at", "ip"):
        conf.setdefault(key, None)
    return conf


def _with_confirmation(consent: dict[str, Any] | None, **changes: Any) -> dict[str, Any]:
    """A new dict (JSON columns are compared by value: mutate in place and nothing is saved)."""
    out = dict(consent or {})
    conf = _confirmation(consent)
    conf.update(changes)
    out["confirmation"] = conf
    return out


def _mail(row: SubscriptionRow, tokens: RestockTokens, now: datetime) -> ConfirmationMail:
    nonce = secrets.token_urlsafe(12)
    row.consent = _with_confirmation(row.consent, nonce=nonce, sent_at=now.isoformat())
    return ConfirmationMail(
        subscription_id=row.id,
        to=row.email,
        locale=row.locale,
        variant_id=row.variant_id,
        product_id=row.product_id,
        token=tokens.confirm_token(row.id, nonce, now),
        nonce=nonce,
    )


def subscribe(
    session: Session,
    shop_id: str,
    variant_id: str,
    email: str,
    ip: str | None,
    locale: str,
    wording_version: str,
    now: datetime,
    rules: RestockRules,
    tokens: RestockTokens,
    *,
    product_id: str | None = None,
    read_stock: Callable[[str, str | None], StockLevel] | None = None,
) -> SubscribeResult:
    """Ask for an alert when ``variant_id`` is back. See the module docstring for the answers.

    The variant must be known out of stock from the stock reports. One that no report has
    named yet (sold out since before the shop was connected) is read once from the platform
    with ``read_stock`` when the form says its ``product_id``; the IP rate limit, counted
    first, bounds those reads.

    A subscription that ended (unsubscribed, expired, already alerted) is renewed in place
    and goes to the back of the queue. Once an address has unsubscribed at this shop, any
    new subscription for it needs the double opt-in even where the policy does not ask for
    one: "an unsubscribed address never receives another alert" unless its owner confirms.
    """
    if _rate_limited(session, shop_id, ip, now, rules):
        return SubscribeResult(SubscribeOutcome.RATE_LIMITED)
    address = normalize_email(email)
    if address is None:
        return SubscribeResult(SubscribeOutcome.INVALID_EMAIL)
    known = availability(session, shop_id, variant_id)
    if known is Availability.UNKNOWN and read_stock is not None and product_id:
        known = _learn_stock(session, shop_id, variant_id, product_id, now, rules, read_stock)
    if known is not Availability.OUT_OF_STOCK:
        return SubscribeResult(SubscribeOutcome.UNAVAILABLE)

    row = session.scalars(
        select(SubscriptionRow).where(
            SubscriptionRow.shop_id == shop_id,
            SubscriptionRow.variant_id == variant_id,
            SubscriptionRow.email == address,
        )
    ).first()
    if row is not None and row.status == SubscriptionStatus.CONFIRMED.value:
        return SubscribeResult(SubscribeOutcome.ACCEPTED)
    if row is not None and row.status == SubscriptionStatus.PENDING.value:
        sent = _confirmation(row.consent).get("sent_at")
        if sent is not None and now - datetime.fromisoformat(sent) < rules.confirm_resend_after:
            return SubscribeResult(SubscribeOutcome.ACCEPTED)
        return SubscribeResult(SubscribeOutcome.ACCEPTED, _mail(row, tokens, now))

    double_opt_in = rules.double_opt_in or _has_unsubscribed(session, shop_id, address)
    status = SubscriptionStatus.PENDING if double_opt_in else SubscriptionStatus.CONFIRMED
    consent = _consent(ip, wording_version, now, double_opt_in)
    if row is None:
        row = SubscriptionRow(shop_id=shop_id, variant_id=variant_id, email=address, channel="email")
        nested = session.begin_nested()
        session.add(row)
        try:
            _renew(row, status, now, locale, product_id, consent)
            session.flush()
        except IntegrityError:
            # The same address subscribed in a concurrent request: the same neutral answer.
            nested.rollback()
            return SubscribeResult(SubscribeOutcome.ACCEPTED)
        nested.commit()
    else:
        _renew(row, status, now, locale, product_id, consent)
        session.flush()
    if status is SubscriptionStatus.CONFIRMED:
        return SubscribeResult(SubscribeOutcome.ACCEPTED)
    return SubscribeResult(SubscribeOutcome.ACCEPTED, _mail(row, tokens, now))


def _learn_stock(
    session: Session,
    shop_id: str,
    variant_id: str,
    product_id: str,
    now: datetime,
    rules: RestockRules,
    read_stock: Callable[[str, str | None], StockLevel],
) -> Availability:
    try:
        level = read_stock(product_id, None if variant_id == product_id else variant_id)
    except PlatformError:
        return Availability.UNKNOWN  # no such product (404), or the shop cannot say now
    if level.variant_key != variant_id:
        return Availability.UNKNOWN
    observe_stock(session, shop_id, level, source=Source.SUBSCRIBE, now=now, rules=rules)
    return availability(session, shop_id, variant_id)


def _renew(
    row: SubscriptionRow,
    status: SubscriptionStatus,
    now: datetime,
    locale: str,
    product_id: str | None,
    consent: dict[str, Any],
) -> None:
    row.status = status.value
    row.locale = locale
    row.product_id = product_id or row.product_id
    row.created_at = now
    row.confirmed_at = now if status is SubscriptionStatus.CONFIRMED else None
    if status is SubscriptionStatus.CONFIRMED:
        row.unsubscribed_at = None
    # A renewal of an unsubscribed address keeps ``unsubscribed_at`` until it is confirmed, so
    # an unconfirmed renewal that expires falls back to "unsubscribed" instead of vanishing.
    row.consent = consent


def _subscription_for_confirm(
    session: Session,
    token: str,
    now: datetime,
    rules: RestockRules,
    tokens: RestockTokens,
    shop_id: str | None,
) -> SubscriptionRow | None:
    claim = tokens.read_confirm(token, now, max_age_seconds=rules.unconfirmed_expire_hours * 3600)
    if claim is None:
        return None
    row = session.get(SubscriptionRow, claim.subscription_id)
    if row is None or (shop_id is not None and row.shop_id != shop_id):
        return None
    stored = _confirmation(row.consent).get("nonce")
    if stored is None or not secrets.compare_digest(str(stored), claim.nonce):
        # A replay after unsubscribing, or an older confirmation mail than the newest one;
        # a subscription confirmed by this very token answers "confirmed" (a double click).
        if (
            row.status == SubscriptionStatus.CONFIRMED.value
            and _confirmation(row.consent).get("confirmed_nonce")
            == hashlib.sha256(claim.nonce.encode()).hexdigest()
        ):
            return row
        return None
    if row.status != SubscriptionStatus.PENDING.value:
        return None
    return row


def confirmation_is_valid(
    session: Session,
    token: str,
    now: datetime,
    rules: RestockRules,
    tokens: RestockTokens,
    *,
    shop_id: str | None = None,
) -> bool:
    """For the confirm page's GET: whether to show the "Confirm" button. Changes nothing."""
    return _subscription_for_confirm(session, token, now, rules, tokens, shop_id) is not None


def confirm(
    session: Session,
    token: str,
    ip: str | None,
    now: datetime,
    rules: RestockRules,
    tokens: RestockTokens,
    *,
    shop_id: str | None = None,
) -> ConfirmResult:
    """Confirm a double opt-in (call only from the page's POST). Idempotent for the same token.

    ``shop_id`` (the shop whose page received the POST) refuses another shop's token.
    """
    row = _subscription_for_confirm(session, token, now, rules, tokens, shop_id)
    if row is None:
        return ConfirmResult(ConfirmOutcome.INVALID)
    if row.status == SubscriptionStatus.CONFIRMED.value:
        return ConfirmResult(ConfirmOutcome.CONFIRMED)
    nonce = _confirmation(row.consent)["nonce"]
    row.consent = _with_confirmation(
        row.consent,
        nonce=None,
        confirmed_nonce=hashlib.sha256(str(nonce).encode()).hexdigest(),
        confirmed_at=now.isoformat(),
        ip=ip,
    )
    row.status = SubscriptionStatus.CONFIRMED.value
    row.confirmed_at = now
    row.unsubscribed_at = None
    session.flush()
    return ConfirmResult(ConfirmOutcome.CONFIRMED)


def _cancel_pending_alerts(session: Session, shop_id: str, subscription_ids: list[int]) -> None:
    """Drop alerts already queued for these subscriptions (the wave ran, the sender has not yet).

    Outbox keys are ``<shop>:restock:<subscription>:<episode>``: one key range per subscription.
    """
    for sid in subscription_ids:
        low, high = f"{shop_id}:restock:{sid}:", f"{shop_id}:restock:{sid};"
        session.execute(
            delete(OutboxMessage)
            .where(
                OutboxMessage.shop_id == shop_id,
                OutboxMessage.dedupe_key >= low,
                OutboxMessage.dedupe_key < high,
                OutboxMessage.state == "pending",
            )
            .execution_options(synchronize_session=False)
        )


def unsubscribe(
    session: Session, token: str, now: datetime, tokens: RestockTokens, *, shop_id: str | None = None
) -> UnsubscribeResult:
    """RFC 8058 one-click unsubscribe (the POST to the ``List-Unsubscribe`` URL) and the page's button.

    Repeating it is harmless; a link of an erased subscription (or of another shop, when
    ``shop_id`` is given) answers like a forged one.
    """
    claim = tokens.read_unsubscribe(token)
    if claim is None:
        return UnsubscribeResult(UnsubscribeOutcome.INVALID)
    row = session.get(SubscriptionRow, claim.subscription_id)
    if row is None or (shop_id is not None and row.shop_id != shop_id):
        return UnsubscribeResult(UnsubscribeOutcome.INVALID)
    if claim.everything:
        targets = list(
            session.scalars(
                select(SubscriptionRow).where(
                    SubscriptionRow.shop_id == row.shop_id, SubscriptionRow.email == row.email
                )
            )
        )
    else:
        targets = [row]
    stopped = 0
    for target in targets:
        if target.status != SubscriptionStatus.UNSUBSCRIBED.value:
            target.status = SubscriptionStatus.UNSUBSCRIBED.value
            target.unsubscribed_at = now
            target.consent = _with_confirmation(target.consent, nonce=None)
            stopped += 1
    session.flush()
    _cancel_pending_alerts(session, row.shop_id, [t.id for t in targets])
    return UnsubscribeResult(UnsubscribeOutcome.UNSUBSCRIBED, stopped)


def expire(session: Session, shop_id: str, now: datetime, rules: RestockRules) -> ExpiryReport:
    """Housekeeping, in bulk statements (safe on a million rows).

    - unconfirmed subscriptions older than ``unconfirmed_expire_hours`` are deleted: without
      a confirmation there is no consent to keep the address for (a renewal of an address
      that had unsubscribed goes back to "unsubscribed" instead, so the refusal is not lost);
    - confirmed subscriptions waiting longer than ``expire_after_days`` expire (nobody wants
      an alert for a product they forgot months ago);
    - rate-limit counters of past hours are dropped.
    """
    unconfirmed_before = now - timedelta(hours=rules.unconfirmed_expire_hours)
    pending = (
        SubscriptionRow.shop_id == shop_id,
        SubscriptionRow.status == SubscriptionStatus.PENDING.value,
        SubscriptionRow.created_at < unconfirmed_before,
    )
    reverted = session.execute(
        update(SubscriptionRow)
        .where(*pending, SubscriptionRow.unsubscribed_at.is_not(None))
        .values(status=SubscriptionStatus.UNSUBSCRIBED.value)
        .execution_options(synchronize_session=False)
    )
    deleted = session.execute(
        delete(SubscriptionRow)
        .where(*pending, SubscriptionRow.unsubscribed_at.is_(None))
        .execution_options(synchronize_session=False)
    )
    stale = session.execute(
        update(SubscriptionRow)
        .where(
            SubscriptionRow.shop_id == shop_id,
            SubscriptionRow.status == SubscriptionStatus.CONFIRMED.value,
            SubscriptionRow.confirmed_at < now - timedelta(days=rules.expire_after_days),
        )
        .values(status=SubscriptionStatus.EXPIRED.value)
        .execution_options(synchronize_session=False)
    )
    old_bucket = f"{RATE_PREFIX}{int(now.timestamp() // 3600):08d}"
    counters = session.execute(
        delete(Counter)
        .where(and_(Counter.shop_id == shop_id, Counter.name >= RATE_PREFIX, Counter.name < old_bucket))
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return ExpiryReport(
        unconfirmed=_count(deleted) + _count(reverted),
        stale=_count(stale),
        rate_counters=_count(counters),
    )


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
