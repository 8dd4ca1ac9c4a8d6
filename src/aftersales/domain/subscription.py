"""Back-in-stock subscriptions (guest, per variant) with the consent record GDPR asks for."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from aftersales.domain._base import AwareDatetime, DomainModel, PlatformId


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    """Waiting for the double opt-in confirmation."""
    CONFIRMED = "confirmed"
    NOTIFIED = "notified"
    UNSUBSCRIBED = "unsubscribed"
    EXPIRED = "expired"


class Consent(DomainModel):
    at: AwareDatetime
    ip: str | None = None
    wording_version: str


class Subscription(DomainModel):
    id: str
    shop_id: str
    variant_id: PlatformId
    email: str
    channel: str = "email"
    locale: str = "pl"
    status: SubscriptionStatus = SubscriptionStatus.PENDING
    created_at: AwareDatetime
    confirmed_at: AwareDatetime | None = None
    consent: Consent | None = None
    tags: list[str] = Field(default_factory=list)
