"""Outbound events: every case transition, signed, to the merchant's own URLs.

Format: Standard Webhooks (standardwebhooks.com) — headers ``webhook-id`` (stable across
retries, so the receiver can dedupe), ``webhook-timestamp`` (Unix seconds *at send time*,
so a receiver's replay window accepts a retry hours later) and ``webhook-signature``
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the base64-decoded part of a
``whsec_`` secret. The signing is four lines of standard library, written here rather than
adding the reference package (and its dependencies) to the service; the tests verify with
the reference implementation.

Delivery goes through the outbox like an e-mail: :func:`queue_case_event` writes one row
per active endpoint with channel ``webhook`` (deduplicated by endpoint, case and version,
so an observer that runs twice queues nothing twice) and the engine's outbox sender calls
:class:`WebhookChannel`, which looks the endpoint's secret up at send time (a rotated or
deactivated endpoint takes effect for pending rows too) and POSTs with httpx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from aftersales.domain import Case
from aftersales.notify.message import DeliveryReceipt, Message
from aftersales.store.models import OutboundEndpoint, OutboxMessage

SECRET_PREFIX = "whsec_"
CHANNEL = "webhook"
TEMPLATE = "case.transition"
ENDPOINT_HEADER = "x-aftersales-endpoint"
"""Kept on the queued message (never sent): which endpoint's secret signs it."""
ID_HEADER = "webhook-id"


class WebhookDeliveryError(RuntimeError):
    """The receiver did not take the event now (non-2xx, timeout): the outbox retries."""


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` + base64 of 24 random bytes (the format receivers expect)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ValueError("an endpoint secret must be 'whsec_' followed by base64") from exc


def validate_secret(secret: str) -> str:
    if not secret.startswith(SECRET_PREFIX) or len(_key(secret)) < 16:
        raise ValueError("an endpoint secret must be 'whsec_' + base64 of at least 16 bytes")
    return secret


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value for ``body`` (Standard Webhooks, version 1)."""
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, msg_id: str, body: str, now: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if now is None else now
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def case_event(case: Case, old: str, new: str, event: str, at: datetime) -> dict[str, Any]:
    """The event body: ``{"type", "timestamp", "data"}`` as Standard Webhooks suggests."""
    return {
        "type": TEMPLATE,
        "timestamp": at.isoformat(),
        "data": {
            "shop_id": case.shop_id,
            "case_id": case.id,
            "case_number": case.number,
            "case_type": str(case.type),
            "order_id": case.order_id,
            "from": old,
            "to": new,
            "event": event,
            "version": case.version,
        },
    }


def _message_id(endpoint_id: int, case: Case, old: str, new: str) -> str:
    raw = f"{endpoint_id}:{case.shop_id}:{case.id}:{case.version}:{old}:{new}"
    return "msg_" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def queue_case_event(session: Session, case: Case, old: str, new: str, event: str, now: datetime) -> int:
    """Queue the transition for every active endpoint of the case's shop; returns rows queued."""
    endpoints = session.scalars(
        select(OutboundEndpoint).where(OutboundEndpoint.shop_id == case.shop_id, OutboundEndpoint.active)
    ).all()
    body = json.dumps(case_event(case, old, new, event, now), separators=(",", ":"), ensure_ascii=False)
    queued = 0
    dialect = session.get_bind().dialect.name
    for endpoint in endpoints:
        msg_id = _message_id(endpoint.id, case, old, new)
        message = Message(
            shop_id=case.shop_id,
            channel=CHANNEL,
            to=endpoint.url,
            template=TEMPLATE,
            locale="en",
            subject=f"{case.number}: {old} -> {new}",
            text=body,
            headers={ID_HEADER: msg_id, ENDPOINT_HEADER: str(endpoint.id)},
            case_number=case.number,
        )
        values = {
            "shop_id": case.shop_id,
            "dedupe_key": f"webhook:{msg_id}",
            "channel": CHANNEL,
            "recipient": endpoint.url[:500],
            "template": TEMPLATE,
            "case_id": case.id,
            "message": message.model_dump(mode="json"),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        result = session.execute(
            insert(OutboxMessage).values(**values).on_conflict_do_nothing().returning(OutboxMessage.id)
        )
        queued += 1 if result.scalar_one_or_none() is not None else 0
    return queued


class WebhookChannel:
    """``webhook``: POSTs a queued case event to the merchant's endpoint, signed at send time."""

    name = CHANNEL

    def __init__(self, sessions: sessionmaker[Session] | None = None, timeout: float = 10.0) -> None:
        self.sessions = sessions
        self.timeout = timeout

    def _endpoint_secret(self, headers: Mapping[str, str]) -> tuple[str | None, str]:
        """``(secret, why_not)`` for the endpoint named on the message."""
        if self.sessions is None:
            raise WebhookDeliveryError("the webhook channel is not bound to the store yet")
        raw_id = headers.get(ENDPOINT_HEADER, "")
        if not raw_id.isdigit():
            return None, "the message names no endpoint"
        with self.sessions() as session:
            endpoint = session.get(OutboundEndpoint, int(raw_id))
            if endpoint is None or not endpoint.active:
                return None, f"endpoint {raw_id} was removed or deactivated"
            return endpoint.secret, ""

    def send(self, message: Message) -> DeliveryReceipt:
        secret, why_not = self._endpoint_secret(message.headers)
        if secret is None:
            return DeliveryReceipt(channel=self.name, accepted=False, detail=why_not)
        msg_id = message.headers.get(ID_HEADER) or _fallback_id(message)
        headers = signed_headers(secret, msg_id, message.text)
        headers["user-agent"] = "aftersales-webhooks/1"
        try:
            response = httpx.post(
                message.to, content=message.text.encode(), headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise WebhookDeliveryError(f"POST to the endpoint failed: {type(exc).__name__}") from exc
        if 200 <= response.status_code < 300:
            return DeliveryReceipt(
                channel=self.name, accepted=True, detail=f"HTTP {response.status_code}", message_id=msg_id
            )
        if response.status_code == 410:
            # Standard Webhooks: 410 Gone means the receiver wants no more deliveries
            return DeliveryReceipt(channel=self.name, accepted=False, detail="endpoint answered 410 Gone")
        raise WebhookDeliveryError(f"endpoint answered HTTP {response.status_code}")


def _fallback_id(message: Message) -> str:
    return "msg_" + hashlib.sha256(message.text.encode()).hexdigest()[:32]
