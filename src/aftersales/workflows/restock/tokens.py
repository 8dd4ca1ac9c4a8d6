"""Signed tokens for the links in back-in-stock e-mails (itsdangerous, HMAC with the server secret).

Why signed and not random strings in a table: unsubscribe links must keep working for as
long as the e-mail sits in an inbox (RFC 8058 one-click), without a row per link; a forged
token fails the signature check before the database is touched. Tokens carry only the
subscription id (and a nonce for confirmation), never the e-mail address: links end up in
proxy logs and referrers.

- **confirm**: ``{"s": subscription_id, "n": nonce, "t": issued}``; its age is checked
  against the engine's clock (not the wall clock itsdangerous' timed serializer reads), so
  tests and the demo can move time. The nonce is kept on the subscription while it is pending and dropped on
  confirmation or unsubscription, so a replayed confirm link cannot bring back a
  subscription the person cancelled.
- **unsubscribe**: ``<subscription id>.<0|1>.<MAC>`` (``1`` = every alert of the address at
  this shop), untimed. Hand-written HMAC-SHA256 (truncated to 128 bits) rather than
  itsdangerous: every alert carries two of these, and a wave to a hundred thousand
  subscribers should not spend seconds on JSON, zlib and base64 for a pair of integers.

Each kind has its own salt, so a confirm token is never accepted as an unsubscribe token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadData, URLSafeSerializer

CONFIRM_SALT = "aftersales.restock.confirm"
UNSUBSCRIBE_SALT = "aftersales.restock.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeClaim:
    subscription_id: int
    everything: bool
    """True for "all alerts of this address at this shop"."""


@dataclass(frozen=True)
class ConfirmClaim:
    subscription_id: int
    nonce: str


class RestockTokens:
    """Issue and check the tokens; ``secret`` is the service's secret key (never a shop's)."""

    def __init__(self, secret: str | bytes) -> None:
        if not secret:
            raise ValueError("restock links need a non-empty server secret")
        kwargs = {"digest_method": hashlib.sha256}
        self._confirm = URLSafeSerializer(secret, salt=CONFIRM_SALT, signer_kwargs=kwargs)
        self._key = secret.encode() if isinstance(secret, str) else secret

    def confirm_token(self, subscription_id: int, nonce: str, issued_at: datetime) -> str:
        return self._confirm.dumps({"s": subscription_id, "n": nonce, "t": int(issued_at.timestamp())})

    def read_confirm(self, token: str, now: datetime, max_age_seconds: int) -> ConfirmClaim | None:
        """The claim of a genuine, unexpired token; None for a forged, mangled or expired one."""
        try:
            data = self._confirm.loads(token)
        except BadData:
            return None
        if not isinstance(data, dict):
            return None
        sid, nonce, issued = data.get("s"), data.get("n"), data.get("t")
        if not isinstance(sid, int) or not isinstance(nonce, str) or not isinstance(issued, int):
            return None
        if now.timestamp() - issued > max_age_seconds:
            return None
        return ConfirmClaim(sid, nonce)

    def unsubscribe_token(self, subscription_id: int, *, everything: bool = False) -> str:
        body = f"{subscription_id}.{1 if everything else 0}"
        return f"{body}.{self._mac(UNSUBSCRIBE_SALT, body)}"

    def read_unsubscribe(self, token: str) -> UnsubscribeClaim | None:
        parts = token.split(".") if len(token) <= 80 else []
        if len(parts) != 3:
            return None
        sid, every, mac = parts
        if not (sid.isascii() and sid.isdigit()) or every not in ("0", "1"):
            return None
        if not hmac.compare_digest(self._mac(UNSUBSCRIBE_SALT, f"{sid}.{every}"), mac):
            return None
        return UnsubscribeClaim(int(sid), every == "1")

    def _mac(self, salt: str, body: str) -> str:
        digest = hmac.new(self._key, f"{salt}|{body}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
