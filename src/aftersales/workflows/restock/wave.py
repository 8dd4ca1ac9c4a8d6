"""Alert waves: the first subscribers in line, as many as the stock can serve, then wait and repeat.

Telling every subscriber at once (Magento's cron, most e-mail tools) sends thousands of
people to five units: most find it sold out again and the alert becomes a disappointment.
A wave tells ``available × wave.per_unit`` subscribers (the ``aftersales_restock_wave``
hook decides), in the order they confirmed; the next wave waits ``wave.interval`` and
re-reads the stock from the platform first. When the stock is gone the episode ends and
everyone not yet told keeps their place: they stay at the front of the queue for the next
restock, because their ``confirmed_at`` does not change.

Built for one variant with a million subscribers: nothing loads the queue. The queue is
read through the ``ix_subscriptions_queue`` index (shop, variant, status, confirmed_at, id)
with keyset pagination in chunks, each chunk's ``restock_messages`` and outbox rows are
written with one batched INSERT each, and the only whole-queue operation is a COUNT on the
index. A wave runs in the caller's transaction: it commits whole or not at all, and the
UNIQUE (subscription, episode) key makes a second run of the same wave write nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from markupsafe import escape
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session

from aftersales.domain import StockLevel, SubscriptionStatus
from aftersales.notify.message import Message
from aftersales.platforms import NotFound
from aftersales.store.models import OutboxMessage, RestockEpisode, RestockMessage, SubscriptionRow
from aftersales.workflows.restock._store import insert_ignoring_duplicates
from aftersales.workflows.restock.episodes import EpisodeState, Source, end_episode, observe_stock, sellable
from aftersales.workflows.restock.links import click_url, list_unsubscribe_headers, unsubscribe_url
from aftersales.workflows.restock.rules import ACTIVE_RULES, RestockRules
from aftersales.workflows.restock.subscriptions import ALERT_TEMPLATE
from aftersales.workflows.restock.tokens import RestockTokens

WAVE_TIMER = "restock.wave"
"""Timer kind of a scheduled wave; payload ``{"episode_id": int, "wave": int}``."""

CHUNK = 1000
"""Subscribers per batch: big enough for fast batched INSERTs, small enough for bounded memory
(and under SQLite's limit on bound parameters in one IN list)."""


class StockReader(Protocol):
    def __call__(self, product_id: str, variant_id: str | None) -> StockLevel:
        """The stock as the platform has it now (``ShopClient.read_stock``)."""
        ...


class WaveSizer(Protocol):
    def __call__(self, variant: StockLevel, available: int, queue: int) -> int | None:
        """How many to tell now (``Plugins.restock_wave``)."""
        ...


class AlertRenderer(Protocol):
    def __call__(self, *, to: str, locale: str, context: Mapping[str, Any]) -> Message:
        """Render ``restock_alert`` for one subscriber (``aftersales.notify``)."""
        ...


Scheduler = Callable[[str, datetime, dict[str, Any]], None]
"""``schedule(timer_id, due_at, payload)``: a durable timer (``StepContext.schedule``)."""


@dataclass(frozen=True)
class WavePorts:
    """What a wave needs from outside the database; the engine handlers bind these to the StepContext."""

    render: AlertRenderer
    schedule: Scheduler
    tokens: RestockTokens
    read_stock: StockReader | None = None
    size_wave: WaveSizer | None = None
    observe: Callable[[Message], None] | None = None
    """``Plugins.notification_render``: plugins see (and may edit) each alert before it is queued
    (leave None when no plugin implements the hook: a million alerts skip a model round trip)."""
    queued: Callable[[list[int]], None] | None = None
    """Told the outbox ids a chunk wrote, so the engine sends them right after the commit
    (``StepContext.after.messages``); without it the engine's sweeper finds them."""
    channel: str = "email"
    chunk: int = CHUNK


class WaveStatus(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    """Quiet hours: the wave is scheduled for their end."""
    SOLD_OUT = "sold_out"
    EXHAUSTED = "exhausted"
    """Nobody left in the queue."""
    CLOSED = "closed"
    """The variant no longer exists at the platform."""
    SKIPPED = "skipped"
    """The episode is not open any more, or this wave already ran."""


@dataclass(frozen=True)
class WaveResult:
    status: WaveStatus
    episode_id: int
    wave: int
    queued: int = 0
    """Alerts written to the outbox by this wave."""
    queue: int = 0
    """Confirmed subscribers waiting before this wave."""
    available: int | None = None
    next_at: datetime | None = None


def default_wave_size(available: int, queue: int, per_unit: int) -> int:
    """``available × per_unit``, capped at the queue (the built-in ``aftersales_restock_wave``)."""
    return max(0, min(queue, available * per_unit))


def timer_id(episode_id: int, wave: int, due_at: datetime) -> str:
    """Unique per due time: a wave moved by quiet hours gets a new timer, not the fired one's id."""
    return f"restock:{episode_id}:wave:{wave}:{due_at.strftime('%Y%m%dT%H%M%S')}"


def queue_filter(shop_id: str, variant_id: str) -> tuple[Any, ...]:
    return (
        SubscriptionRow.shop_id == shop_id,
        SubscriptionRow.variant_id == variant_id,
        SubscriptionRow.status == SubscriptionStatus.CONFIRMED.value,
    )


def queue_length(session: Session, shop_id: str, variant_id: str) -> int:
    """Confirmed subscribers waiting for ``variant_id`` (an index-only COUNT)."""
    return int(
        session.scalar(
            select(func.count()).select_from(SubscriptionRow).where(*queue_filter(shop_id, variant_id))
        )
        or 0
    )


def _schedule(
    ports: WavePorts, rules: RestockRules, episode: RestockEpisode, wave: int, due: datetime
) -> datetime:
    due = rules.wave_start(due)
    ports.schedule(timer_id(episode.id, wave, due), due, {"episode_id": episode.id, "wave": wave})
    return due


def _current_stock(
    session: Session, episode: RestockEpisode, now: datetime, rules: RestockRules, ports: WavePorts
) -> StockLevel | WaveStatus:
    """The stock to size this wave by: re-read from the platform (policy ``recheck_stock``), or
    the last level the webhooks reported. A status when the episode has to stop instead."""
    variant = None if episode.variant_id == episode.product_id else episode.variant_id
    product = episode.product_id or episode.variant_id
    if not (rules.recheck_stock and ports.read_stock is not None):
        return StockLevel(
            product_id=product, variant_id=variant, available=episode.last_available, in_stock=True
        )
    try:
        level = ports.read_stock(product, variant)
    except NotFound:
        end_episode(session, episode, EpisodeState.CLOSED, now)
        return WaveStatus.CLOSED
    outcome = observe_stock(session, episode.shop_id, level, source=Source.RECHECK, now=now, rules=rules)
    session.refresh(episode)
    if outcome.ended is not None or not sellable(level, rules) or episode.state != EpisodeState.OPEN.value:
        return WaveStatus.SOLD_OUT
    return level


def run_wave(
    session: Session,
    episode_id: int,
    wave: int,
    now: datetime,
    rules: RestockRules,
    ports: WavePorts,
) -> WaveResult:
    """Run wave number ``wave`` (1-based) of an open episode; see the module docstring."""
    episode = session.get(RestockEpisode, episode_id)
    if episode is None or episode.state != EpisodeState.OPEN.value or episode.waves != wave - 1:
        return WaveResult(WaveStatus.SKIPPED, episode_id, wave)
    start = rules.wave_start(now)
    if start > now:
        return WaveResult(
            WaveStatus.DEFERRED, episode_id, wave, next_at=_schedule(ports, rules, episode, wave, start)
        )

    level = _current_stock(session, episode, now, rules, ports)
    if isinstance(level, WaveStatus):
        return WaveResult(level, episode_id, wave)

    queue = queue_length(session, episode.shop_id, episode.variant_id)
    if queue == 0:
        end_episode(session, episode, EpisodeState.EXHAUSTED, now)
        return WaveResult(WaveStatus.EXHAUSTED, episode_id, wave, available=level.available)

    # Stock the platform does not count (available None but in stock) limits nobody.
    available = level.available if level.available is not None else queue
    token = ACTIVE_RULES.set(rules)
    try:
        wanted = ports.size_wave(level, available, queue) if ports.size_wave is not None else None
    finally:
        ACTIVE_RULES.reset(token)
    size = (
        default_wave_size(available, queue, rules.per_unit) if wanted is None else max(0, min(queue, wanted))
    )

    claimed = session.execute(
        update(RestockEpisode)
        .where(
            RestockEpisode.id == episode.id,
            RestockEpisode.waves == wave - 1,
            RestockEpisode.state == EpisodeState.OPEN.value,
        )
        .values(waves=wave, last_available=level.available)
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        return WaveResult(WaveStatus.SKIPPED, episode_id, wave)
    session.refresh(episode)

    queued = enqueue_alerts(session, episode, wave, size, available, now, rules, ports)
    if queued >= queue:
        end_episode(session, episode, EpisodeState.EXHAUSTED, now)
        return WaveResult(WaveStatus.SENT, episode_id, wave, queued, queue, level.available)
    next_at = _schedule(ports, rules, episode, wave + 1, now + rules.interval)
    return WaveResult(WaveStatus.SENT, episode_id, wave, queued, queue, level.available, next_at)


_MARKERS = {
    "product_url": "zzaftersalesproducturlzz",
    "unsubscribe_url": "zzaftersalesunsubscribeurlzz",
    "unsubscribe_variant_url": "zzaftersalesunsubscribevarianturlzz",
}
"""Stand-ins for the per-subscriber links while a wave's template is rendered once.

Letters only, so they pass HTML escaping and URL filters unchanged and cannot occur in a
template by accident."""


_PARTS = ("subject", "text", "html")
_KEY_OF = {marker: key for key, marker in _MARKERS.items()}
_SPLIT = re.compile("(" + "|".join(_MARKERS.values()) + ")")


@dataclass(frozen=True)
class _Template:
    """A wave's alert rendered once, cut at the link markers: literal text and link names alternate."""

    data: dict[str, Any]
    parts: dict[str, list[str]]
    keys: frozenset[str]
    """The links the template shows (a link no template shows is not signed for each subscriber)."""

    @classmethod
    def cut(cls, message: Message) -> _Template:
        data = message.model_dump(mode="json")
        parts: dict[str, list[str]] = {}
        keys: set[str] = set()
        for part in _PARTS:
            rendered = data.get(part)
            if rendered:
                pieces = _SPLIT.split(rendered)
                parts[part] = [_KEY_OF[p] if i % 2 else p for i, p in enumerate(pieces)]
                keys.update(parts[part][1::2])
        return cls(data, parts, frozenset(keys))

    def fill(self, to: str, links: dict[str, str]) -> dict[str, Any]:
        data = dict(self.data)
        data["to"] = to
        for part, pieces in self.parts.items():
            values = {k: str(escape(v)) for k, v in links.items()} if part == "html" else links
            data[part] = "".join(values[p] if i % 2 else p for i, p in enumerate(pieces))
        return data


class _AlertComposer:
    """Render the alert once per locale and wave, then put each subscriber's links in.

    The alert says the same thing to everyone in a wave but its links; rendering Jinja per
    subscriber costs more than everything else in a wave together. The links go where the
    markers were in the rendered subject, text and HTML (HTML-escaped there). A template that
    transforms a link so the marker no longer appears falls back to a render per subscriber,
    which is slower but still right. Each finished message goes through
    ``aftersales_notification_render`` (``ports.observe``) on its own.
    """

    def __init__(self, ports: WavePorts, context: dict[str, Any]) -> None:
        self.ports = ports
        self.context = context
        self._templates: dict[str, _Template | None] = {}

    def template(self, locale: str) -> _Template | None:
        if locale not in self._templates:
            message = self.ports.render(to="", locale=locale, context={**self.context, **_MARKERS})
            cut = _Template.cut(message)
            usable = {"product_url", "unsubscribe_url"} <= cut.keys
            self._templates[locale] = cut if usable else None
        return self._templates[locale]

    def wants(self, locale: str, key: str) -> bool:
        """Whether this locale's alert shows the link ``key`` (always, when rendered per subscriber)."""
        template = self.template(locale)
        return template is None or key in template.keys

    def compose(self, to: str, locale: str, links: dict[str, str]) -> dict[str, Any]:
        """The outbox JSON of one subscriber's alert."""
        template = self.template(locale)
        if template is None:
            message = self.ports.render(to=to, locale=locale, context={**self.context, **links})
            data = message.model_dump(mode="json")
        else:
            data = template.fill(to, links)
        # Every alert carries the one-click header, whatever the template did.
        data["headers"] = {**data.get("headers", {}), **list_unsubscribe_headers(links["unsubscribe_url"])}
        if self.ports.observe is None:
            return data
        message = Message.model_validate(data)
        self.ports.observe(message)
        return message.model_dump(mode="json")


def enqueue_alerts(
    session: Session,
    episode: RestockEpisode,
    wave: int,
    size: int,
    available: int,
    now: datetime,
    rules: RestockRules,
    ports: WavePorts,
) -> int:
    """Queue alerts for the first ``size`` subscribers in line; returns how many were queued.

    Keyset pagination over ``(confirmed_at, id)``: each chunk starts after the last row of
    the previous one, so the database never skips over rows already handled.
    """
    queued = 0
    cursor: tuple[datetime | None, int] | None = None
    composer = _AlertComposer(
        ports,
        {
            "shop_name": rules.shop_name,
            "product_name": str((episode.data or {}).get("name") or ""),
            "product_id": episode.product_id,
            "variant_id": episode.variant_id,
            "available": available,
            "wave": wave,
        },
    )
    while queued < size:
        stmt = (
            select(
                SubscriptionRow.id,
                SubscriptionRow.email,
                SubscriptionRow.locale,
                SubscriptionRow.confirmed_at,
            )
            .where(*queue_filter(episode.shop_id, episode.variant_id))
            .order_by(SubscriptionRow.confirmed_at, SubscriptionRow.id)
            .limit(min(ports.chunk, size - queued))
        )
        if cursor is not None:
            stmt = stmt.where(tuple_(SubscriptionRow.confirmed_at, SubscriptionRow.id) > tuple_(*cursor))
        rows = session.execute(stmt).all()
        if not rows:
            break
        messages: list[dict[str, Any]] = []
        outbox: list[dict[str, Any]] = []
        for sub_id, email, locale, _confirmed in rows:
            click = secrets.token_urlsafe(16)
            links = {
                "product_url": click_url(rules, click),
                # After an alert the subscription is served, so "unsubscribe" means every alert
                # of this address at the shop; the per-product link is there for templates too.
                "unsubscribe_url": unsubscribe_url(
                    rules, ports.tokens.unsubscribe_token(sub_id, everything=True)
                ),
            }
            if composer.wants(locale, "unsubscribe_variant_url"):
                links["unsubscribe_variant_url"] = unsubscribe_url(
                    rules, ports.tokens.unsubscribe_token(sub_id)
                )
            messages.append(
                {
                    "shop_id": episode.shop_id,
                    "episode_id": episode.id,
                    "subscription_id": sub_id,
                    "wave": wave,
                    "token": click,
                    "queued_at": now,
                }
            )
            outbox.append(
                {
                    "shop_id": episode.shop_id,
                    "dedupe_key": f"{episode.shop_id}:{alert_dedupe_key(sub_id, episode.id)}",
                    "channel": ports.channel,
                    "recipient": email,
                    "template": ALERT_TEMPLATE,
                    "message": composer.compose(email, locale, links),
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        ids = [r[0] for r in rows]
        insert_ignoring_duplicates(session, RestockMessage, messages)
        outbox_ids = insert_ignoring_duplicates(session, OutboxMessage, outbox, returning=True)
        if ports.queued is not None and outbox_ids:
            ports.queued(outbox_ids)
        session.execute(
            update(SubscriptionRow)
            .where(SubscriptionRow.id.in_(ids), SubscriptionRow.status == SubscriptionStatus.CONFIRMED.value)
            .values(status=SubscriptionStatus.NOTIFIED.value, last_episode_id=episode.id)
            .execution_options(synchronize_session=False)
        )
        queued += len(rows)
        cursor = (rows[-1][3], rows[-1][0])
    return queued


def alert_dedupe_key(subscription_id: int, episode_id: int) -> str:
    """The key of one alert: one per (subscription, episode), like ``restock_messages``.

    Stored in the outbox as ``<shop>:<key>`` (the engine's per-shop namespace, as
    ``StepContext.notify`` does); starting with the subscription lets an unsubscribe drop
    that subscriber's queued alerts by a key range.
    """
    return f"restock:{subscription_id}:{episode_id}"


def parse_alert_dedupe_key(key: str) -> tuple[int, int] | None:
    """``(subscription_id, episode_id)`` from a key, with or without the ``<shop>:`` prefix."""
    parts = key.split(":")[-3:]
    if len(parts) != 3 or parts[0] != "restock" or not all(p.isascii() and p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2])
