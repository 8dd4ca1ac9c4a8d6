"""Which shop a back-in-stock link belongs to.

The links in back-in-stock e-mails (``/restock/confirm/{token}``, ``/restock/unsubscribe/{token}``,
``/restock/go/{token}``, see :mod:`aftersales.workflows.restock.links`) carry no shop: a
subscription id signed with the server key, or the random token of one alert. The engine runs
commands per shop, so the web layer first learns the shop from the signed subscription id (or
the alert row), then lets the command check everything again — expiry, nonce, the shop
(``shop_id`` is passed on, so a token is never applied to another shop's rows).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from aftersales.store.models import RestockMessage, SubscriptionRow
from aftersales.web.api.service import ServiceRuntime, reading
from aftersales.web.links import secret_key
from aftersales.workflows.restock.tokens import RestockTokens

_ANY_AGE = 10 * 365 * 24 * 3600
"""The confirm token's age is the command's to judge (per the shop's policy); here only its signature."""


def _subscription_id(token: str, now: datetime) -> int | None:
    if not token or len(token) > 2000:
        return None
    signer = RestockTokens(secret_key())
    unsubscribe = signer.read_unsubscribe(token)
    if unsubscribe is not None:
        return unsubscribe.subscription_id
    confirm = signer.read_confirm(token, now, max_age_seconds=_ANY_AGE)
    return confirm.subscription_id if confirm is not None else None


def shop_of_restock_token(runtime: ServiceRuntime, token: str) -> str | None:
    """The shop of the subscription a genuine confirm or unsubscribe token names; None otherwise."""
    sid = _subscription_id(token, runtime.clock.now())
    if sid is None:
        return None
    with reading(runtime) as session:
        shop_id = session.scalar(select(SubscriptionRow.shop_id).where(SubscriptionRow.id == sid))
        return str(shop_id) if shop_id is not None else None


def shop_of_alert_token(runtime: ServiceRuntime, token: str) -> str | None:
    """The shop of the alert whose tracked link carries ``token``."""
    if not token or len(token) > 64:
        return None
    with reading(runtime) as session:
        shop_id = session.scalar(select(RestockMessage.shop_id).where(RestockMessage.token == token))
        return str(shop_id) if shop_id is not None else None
