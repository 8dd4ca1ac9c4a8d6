"""Restock detection: stock observations per variant → at most one restock episode per restock.

The newest ``restock_episodes`` row of a variant is the variant's tracked stock state:

======== ==================================================================================
waiting  out of stock (or below ``min_stock``) since ``started_at``: subscriptions accepted;
         the row becomes the next episode when the stock comes back
open     restocked; waves are being sent
exhausted restocked and everyone in the queue has been told
sold_out the episode ended because the stock ran out (a new ``waiting`` row follows)
closed   ended for another reason (the variant was deleted at the platform)
======== ==================================================================================

Why one row per episode and a lock: the same restock arrives several times — Shopify sends
``inventory_levels/update`` *and* ``variants/in_stock``, WooCommerce's ``product.updated``
fires on every edit, and the reconciler finds it again minutes later. Turning ``waiting``
into ``open`` is a compare-and-set under a per-variant lock, so only the first report opens
the episode and every later one sees ``open`` and does nothing: nobody is messaged twice
because there is only one episode to message them in (and ``restock_messages`` is UNIQUE per
subscription and episode besides).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from aftersales.domain import StockLevel, SubscriptionStatus
from aftersales.store.models import RestockEpisode, SubscriptionRow
from aftersales.workflows.restock._store import lock_variant
from aftersales.workflows.restock.rules import RestockRules


class EpisodeState(StrEnum):
    WAITING = "waiting"
    OPEN = "open"
    EXHAUSTED = "exhausted"
    SOLD_OUT = "sold_out"
    CLOSED = "closed"


IN_STOCK = frozenset({EpisodeState.OPEN, EpisodeState.EXHAUSTED})
ENDED = frozenset({EpisodeState.SOLD_OUT, EpisodeState.CLOSED})


class Availability(StrEnum):
    UNKNOWN = "unknown"
    """No stock report for this variant ever reached us."""
    OUT_OF_STOCK = "out_of_stock"
    IN_STOCK = "in_stock"


class Source(StrEnum):
    WEBHOOK = "webhook"
    RECONCILE = "reconcile"
    RECHECK = "recheck"
    """The stock re-read before a wave."""
    SUBSCRIBE = "subscribe"
    """Read once from the platform when a visitor asks about a variant no report has named yet."""


@dataclass(frozen=True)
class StockOutcome:
    variant_id: str
    opened: int | None = None
    """The episode this observation opened (start its first wave)."""
    ended: int | None = None
    """The episode this observation ended because the stock ran out."""
    stale: bool = False
    """The observation is older than what we already know and was ignored."""


def sellable(level: StockLevel, rules: RestockRules) -> bool:
    """Whether this stock is a restock worth announcing (in stock and at least ``min_stock``)."""
    if not level.in_stock:
        return False
    return level.available is None or level.available >= rules.threshold


def latest_episode(session: Session, shop_id: str, variant_id: str) -> RestockEpisode | None:
    return session.scalars(
        select(RestockEpisode)
        .where(RestockEpisode.shop_id == shop_id, RestockEpisode.variant_id == variant_id)
        .order_by(RestockEpisode.id.desc())
        .limit(1)
    ).first()


def availability(session: Session, shop_id: str, variant_id: str) -> Availability:
    """What the stock reports we have seen say about a variant (no platform call)."""
    row = latest_episode(session, shop_id, variant_id)
    if row is None or row.state == EpisodeState.CLOSED.value:
        return Availability.UNKNOWN
    if row.state in IN_STOCK:
        return Availability.IN_STOCK
    return Availability.OUT_OF_STOCK


def _has_queue(session: Session, shop_id: str, variant_id: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    SubscriptionRow.shop_id == shop_id,
                    SubscriptionRow.variant_id == variant_id,
                    SubscriptionRow.status == SubscriptionStatus.CONFIRMED.value,
                )
            )
        )
    )


def _data(previous: RestockEpisode | None, name: str | None) -> dict[str, Any]:
    data = dict(previous.data or {}) if previous is not None else {}
    if name:
        data["name"] = name
    return data


def _new_row(
    session: Session,
    shop_id: str,
    level: StockLevel,
    state: EpisodeState,
    source: str,
    at: datetime,
    data: dict[str, Any],
) -> RestockEpisode:
    row = RestockEpisode(
        shop_id=shop_id,
        variant_id=level.variant_key,
        product_id=level.product_id,
        state=state.value,
        detected_by=source,
        started_at=at,
        waves=0,
        last_available=level.available,
        data=data,
    )
    session.add(row)
    session.flush()
    return row


def end_episode(session: Session, episode: RestockEpisode, state: EpisodeState, now: datetime) -> bool:
    """Compare-and-set an in-stock episode to an ended state; False when someone else ended it."""
    done = session.execute(
        update(RestockEpisode)
        .where(RestockEpisode.id == episode.id, RestockEpisode.state.in_([s.value for s in IN_STOCK]))
        .values(state=state.value, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(episode)
    return bool(getattr(done, "rowcount", 0))


def observe_stock(
    session: Session,
    shop_id: str,
    level: StockLevel,
    *,
    source: Source | str,
    now: datetime,
    rules: RestockRules,
    observed_at: datetime | None = None,
    name: str | None = None,
) -> StockOutcome:
    """Record one stock report for a variant; open or end an episode when the state flips.

    ``observed_at`` is when the platform says the stock was so (the webhook's time); a report
    older than the variant's last flip is ignored, so a delayed "in stock" webhook cannot
    reopen a variant that has sold out since. ``name`` (the product's name from the
    platform) is kept for the alert e-mails.
    """
    variant = level.variant_key
    at = observed_at or now
    src = str(source)
    lock_variant(session, shop_id, variant)
    latest = latest_episode(session, shop_id, variant)
    # A live read (the re-check before a wave) is the truth now, whatever the clocks say.
    if latest is not None and src not in (Source.RECHECK, Source.SUBSCRIBE) and at < latest.started_at:
        return StockOutcome(variant, stale=True)
    data = _data(latest, name)

    if sellable(level, rules):
        if latest is None:
            # First report ever and already in stock: nobody can be waiting unless
            # subscriptions were imported; then this is their restock.
            if not _has_queue(session, shop_id, variant):
                return StockOutcome(variant)
            row = _new_row(session, shop_id, level, EpisodeState.OPEN, src, at, data)
            return StockOutcome(variant, opened=row.id)
        state = EpisodeState(latest.state)
        if state is EpisodeState.WAITING:
            flipped = session.execute(
                update(RestockEpisode)
                .where(RestockEpisode.id == latest.id, RestockEpisode.state == EpisodeState.WAITING.value)
                .values(
                    state=EpisodeState.OPEN.value,
                    detected_by=src,
                    started_at=at,
                    last_available=level.available,
                    data=data,
                )
                .execution_options(synchronize_session=False)
            )
            session.refresh(latest)
            return StockOutcome(variant, opened=latest.id if getattr(flipped, "rowcount", 0) else None)
        if state in ENDED:
            row = _new_row(session, shop_id, level, EpisodeState.OPEN, src, at, data)
            return StockOutcome(variant, opened=row.id)
        if data != (latest.data or {}):
            latest.data = data
        return StockOutcome(variant)  # already open or exhausted: the same restock reported again

    # Out of stock (or below the threshold).
    if latest is None:
        _new_row(session, shop_id, level, EpisodeState.WAITING, src, at, data)
        return StockOutcome(variant)
    state = EpisodeState(latest.state)
    if state in IN_STOCK:
        ended = latest.id if end_episode(session, latest, EpisodeState.SOLD_OUT, now) else None
        _new_row(session, shop_id, level, EpisodeState.WAITING, src, at, data)
        return StockOutcome(variant, ended=ended)
    if state in ENDED:
        _new_row(session, shop_id, level, EpisodeState.WAITING, src, at, data)
    elif data != (latest.data or {}):
        latest.data = data
    return StockOutcome(variant)
