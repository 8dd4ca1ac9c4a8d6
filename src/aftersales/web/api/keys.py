"""Per-shop API keys for the merchant API: issued once, stored hashed, revoked by id.

A key is ``askey_`` followed by 256 random bits (``secrets.token_urlsafe``); the prefix lets
secret scanners (GitHub's, gitleaks) recognise a leaked key. Only its SHA-256 is stored: the
key is as random as a hash input can be, so a slow password hash would add nothing but
latency to every API call, while a database dump still gives nobody a usable key. A request
is matched by looking the hash up in the unique ``api_keys.key_hash`` index; comparing hashes
rather than keys means response timing can reveal nothing about a valid key.

Each key belongs to exactly one shop: the merchant API answers 403 when a key is used on
another shop's path, so one merchant's integration can never read another's cases.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.store.models import ApiKey

PREFIX = "askey_"
MAX_LABEL = 100


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    id: int
    shop_id: str
    label: str
    key: str
    """The secret itself: shown once, never stored."""


@dataclass(frozen=True)
class KeyOwner:
    """Who a presented key belongs to (what the API authorizes with)."""

    id: int
    shop_id: str
    label: str

    @property
    def actor(self) -> str:
        """The name the case event log records (``merchant:<label>``, per ``case_events.actor``)."""
        return f"merchant:{self.label or f'key-{self.id}'}"


def create_key(session: Session, shop_id: str, label: str, now: datetime) -> IssuedKey:
    """Issue a new key for ``shop_id`` (the caller checks the shop exists and commits)."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(shop_id=shop_id, key_hash=hash_key(key), label=label.strip()[:MAX_LABEL], created_at=now)
    session.add(row)
    session.flush()
    return IssuedKey(id=row.id, shop_id=shop_id, label=row.label, key=key)


def list_keys(session: Session, shop_id: str) -> list[dict[str, Any]]:
    """The shop's keys without their secrets: id, label, when, and a short fingerprint of the hash."""
    rows = session.scalars(select(ApiKey).where(ApiKey.shop_id == shop_id).order_by(ApiKey.id))
    return [
        {
            "id": row.id,
            "label": row.label,
            "created_at": row.created_at.isoformat(),
            "fingerprint": row.key_hash[:12],
        }
        for row in rows
    ]


def revoke_key(session: Session, shop_id: str, key_id: int) -> bool:
    """Delete the key ``key_id`` of ``shop_id``; False when the shop has no such key."""
    row = session.get(ApiKey, key_id)
    if row is None or row.shop_id != shop_id:
        return False
    session.delete(row)
    return True


def find_owner(session: Session, presented: str) -> KeyOwner | None:
    """The owner of a presented key, or None for an unknown (or revoked) one."""
    if not presented.startswith(PREFIX) or len(presented) > 200:
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(presented))).first()
    if row is None:
        return None
    return KeyOwner(id=row.id, shop_id=row.shop_id, label=row.label)
