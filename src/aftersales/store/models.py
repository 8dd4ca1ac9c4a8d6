"""SQLAlchemy 2 models: the whole schema, one table per concept, ``shop_id`` on every row.

The schema is created and changed only through Alembic migrations (``store/migrations``);
these classes are what the code reads and writes. Money is stored as decimal strings plus a
currency (never floats); platform ids as strings. Timestamps are stored in UTC.

Large JSON columns hold pydantic dumps (an order snapshot, a case's data, a trace), so the
domain models stay the single definition of their shape.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no tz support) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware datetime")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
        date: Date,
    }


# -- shops ------------------------------------------------------------------------------------


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    webhook_secrets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Several secrets allow rotation; never printed or logged."""
    credentials: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    policy_yaml: Mapped[str | None] = mapped_column(Text)
    policy_path: Mapped[str | None] = mapped_column(String(500))
    sync: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Reconciliation cursors, e.g. ``{"orders": "2026-11-23T10:00:00+00:00"}``."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]


class Counter(Base):
    """Per-shop sequences for human-readable numbers (R-2026-000042), advanced by compare-and-set."""

    __tablename__ = "counters"

    shop_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# -- orders -----------------------------------------------------------------------------------


class OrderSnapshot(Base):
    """The newest authoritative copy of a platform order (refetched, never trusted from arrival order)."""

    __tablename__ = "orders"

    shop_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    number: Mapped[str] = mapped_column(String(64), index=True)
    customer_email: Mapped[str | None] = mapped_column(String(320), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``aftersales.domain.Order`` as JSON."""
    platform_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Promise(Base):
    """The shipping-guarantee promise snapshotted on an order: immutable once written."""

    __tablename__ = "promises"

    shop_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    dispatch_by: Mapped[date]
    deliver_by: Mapped[date | None]
    trace: Mapped[list[Any]] = mapped_column(JSON, default=list)
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    snapshot_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(32), default="pending")
    """pending | on_time | late | excluded | cancelled."""
    measured_at: Mapped[datetime | None]
    late_reason: Mapped[str | None] = mapped_column(Text)
    payout_effect_key: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320))


# -- cases ------------------------------------------------------------------------------------


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("shop_id", "number", name="uq_cases_shop_number"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(64), index=True)
    number: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(48), index=True)
    order_id: Mapped[str | None] = mapped_column(String(128), index=True)
    customer_email: Mapped[str | None] = mapped_column(String(320), index=True)
    source: Mapped[str] = mapped_column(String(32), default="api")
    """Intake channel: api, web, email, platform."""
    source_ref: Mapped[str | None] = mapped_column(String(300))
    """The platform return id or e-mail Message-ID that opened the case (dedupes intake)."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=0)
    """Compare-and-set: every transition writes ``version + 1 WHERE version = seen``."""

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as a plain dict


Index("uq_cases_source_ref", CaseRow.shop_id, CaseRow.source, CaseRow.source_ref, unique=True)


class CaseLineRow(Base):
    __tablename__ = "case_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    line_item_id: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str | None] = mapped_column(Text)
    authorization: Mapped[str] = mapped_column(String(32))
    logistics: Mapped[str] = mapped_column(String(32))
    disposition: Mapped[str] = mapped_column(String(32))
    settlement: Mapped[str] = mapped_column(String(32))


class CaseEvent(Base):
    """Append-only log of every case transition: who, when, why, from, to."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    """``system``, ``customer``, ``merchant:<key label>``, ``platform``, ``timer``."""
    event: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(48))
    to_status: Mapped[str] = mapped_column(String(48))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_visible: Mapped[bool] = mapped_column(Boolean, default=True)


class Attachment(Base):
    """Evidence uploaded with a complaint; bytes live on disk (or object storage), not in rows."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]


class Loaner(Base):
    """Replacement equipment lent while the customer's item is repaired."""

    __tablename__ = "loaners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    serial: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime]
    due_back_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]


# -- engine -----------------------------------------------------------------------------------


class Timer(Base):
    """A durable wake-up: the 14-day clocks are rows, so they survive restarts and deploys."""

    __tablename__ = "timers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    """Deterministic, e.g. ``case:<id>:refund_due``: scheduling twice is a no-op."""
    shop_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    """pending | fired | cancelled | failed (its handlers kept raising; ``error`` says why)."""
    fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Failed firings so far; a failing handler is retried with backoff, then the timer is ``failed``."""
    error: Mapped[str | None] = mapped_column(Text)


class EngineExecutor(Base):
    """One engine process (``aftersales worker`` / ``serve``), known by a stable executor id.

    DBOS resumes a crashed process's workflows when a process with the same executor id starts
    again; a heartbeat row lets the other workers see that an id is dead for good and take its
    workflows over, and lets a starting process refuse an id that a live process still holds.
    Not tenant data, so no ``shop_id``; heartbeats are wall-clock time, never the engine clock.
    """

    __tablename__ = "engine_executors"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    incarnation: Mapped[str] = mapped_column(String(64))
    """Random per process start: tells a restarted process from the one that died."""
    state: Mapped[str] = mapped_column(String(16), default="alive")
    """alive | stopped (clean shutdown) | dead (taken over by ``taken_over_by``)."""
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    taken_over_by: Mapped[str | None] = mapped_column(String(128))


class InboxItem(Base):
    """A verified webhook delivery (or a reconciliation find) waiting for the engine."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("shop_id", "dedupe_key", name="uq_inbox_shop_dedupe"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(100))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(16), default="webhook")
    """webhook | reconcile | replay."""
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    """pending | done | failed | ignored."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    """When the engine last worked on it: done, failed, or the last failed attempt (retry backoff)."""


class Delivery(Base):
    """Every webhook request, accepted or not, with redacted headers (the delivery log)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str | None] = mapped_column(String(64), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime]
    status_code: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(32))
    """accepted | duplicate | ping | bad_signature | unknown_shop | malformed | too_large | error."""
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    """Kept (up to the size cap) so a rejected delivery can be inspected and replayed."""
    body_size: Mapped[int] = mapped_column(Integer, default=0)
    inbox_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class Effect(Base):
    """The effects ledger: one row per external effect, keyed by its idempotency key.

    States: intended (recorded, not yet sent) → sent (request may have reached the platform)
    → confirmed | failed; ``unknown`` when the outcome could not be learnt. A row in ``sent``
    or ``unknown`` is looked up at the platform before any retry.
    """

    __tablename__ = "effects"

    effect_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """refund | payout | note | platform_action | voucher."""
    state: Mapped[str] = mapped_column(String(16), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    amount: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str | None] = mapped_column(String(3))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """A notification to send (e-mail, SMS, outbound webhook), retried with backoff, then dead-lettered."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(64), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(500))
    template: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``aftersales.notify.message.Message`` as JSON (or the outbound event for webhooks)."""
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    """pending | sent | dead."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class OutboundEndpoint(Base):
    """A merchant's URL that receives signed case events (Standard Webhooks)."""

    __tablename__ = "outbound_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


# -- back in stock ----------------------------------------------------------------------------


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("shop_id", "variant_id", "email", name="uq_subscriptions_shop_variant_email"),
        Index("ix_subscriptions_queue", "shop_id", "variant_id", "status", "confirmed_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str] = mapped_column(String(128))
    product_id: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(320), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="email")
    locale: Mapped[str] = mapped_column(String(16), default="pl")
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    consent: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_episode_id: Mapped[int | None] = mapped_column(Integer)


class RestockEpisode(Base):
    __tablename__ = "restock_episodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str] = mapped_column(String(128), index=True)
    product_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="open")
    """waiting (out of stock, the next episode) | open | exhausted (no one left to notify) | sold_out | closed."""
    detected_by: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    waves: Mapped[int] = mapped_column(Integer, default=0)
    last_available: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the alerts need about the variant, from the platform: ``{"name": ...}``."""


class RestockMessage(Base):
    __tablename__ = "restock_messages"
    __table_args__ = (
        UniqueConstraint("subscription_id", "episode_id", name="uq_restock_messages_sub_episode"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    episode_id: Mapped[int] = mapped_column(Integer, index=True)
    subscription_id: Mapped[int] = mapped_column(BigInteger)
    wave: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    queued_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]


class Conversion(Base):
    __tablename__ = "conversions"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id", "subscription_id", name="uq_conversions_order_sub"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_id: Mapped[str] = mapped_column(String(128), index=True)
    order_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    """direct (the tracked link was clicked) | assisted (ordered within N days without a click)."""
    at: Mapped[datetime]
