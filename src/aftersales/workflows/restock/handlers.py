"""The back-in-stock workflow on the engine: events, timers, deliveries and the customer commands.

- ``stock.changed`` / ``product.upserted`` (Shopify ``variants/in_stock`` and
  ``products/update``, WooCommerce ``product.updated`` for products and variations): every
  level is recorded; a restock opens an episode and its first wave goes out in the same step;
- ``product.deleted``: its variants stop accepting subscriptions;
- timer ``restock.wave``: the next wave (stock re-read first), scheduled ``wave.interval``
  after the previous one, or at the end of the quiet hours;
- timer ``restock.reconcile`` (every 15 minutes per shop once it has restock activity):
  ``ShopClient.list_stock_changed_since`` finds restocks whose webhooks never came
  (WooCommerce does not retry a failed delivery); the same episode logic dedupes them
  against the webhooks;
- timer ``restock.housekeeping`` (daily): unconfirmed and stale subscriptions expire;
- ``order.upserted`` / ``order.cancelled``: conversions within ``attribution_days``;
- message ``restock_alert`` delivered: the alert counts as sent (report, attribution window);
- commands for the pages (``runtime.execute_command(name, shop_id, ...)``):
  ``restock.subscribe``, ``restock.confirm`` (POST only), ``restock.unsubscribe``,
  ``restock.click``, ``restock.export``, ``restock.erase``, ``restock.reconcile``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select

from aftersales.domain import DomainEvent, EventType, OrderData, ResourceRef, StockData, StockLevel
from aftersales.engine.api import DeliveredInfo, StepContext, TimerInfo, registry
from aftersales.notify.compose import compose_message
from aftersales.notify.message import Message
from aftersales.platforms import ShopClient
from aftersales.store.models import Conversion, RestockEpisode, Shop, Timer
from aftersales.workflows.restock import attribution, privacy, subscriptions
from aftersales.workflows.restock.episodes import ENDED, EpisodeState, Source, latest_episode, observe_stock
from aftersales.workflows.restock.links import confirm_url, unsubscribe_url
from aftersales.workflows.restock.rules import RestockRules
from aftersales.workflows.restock.subscriptions import ALERT_TEMPLATE, CONFIRM_TEMPLATE
from aftersales.workflows.restock.tokens import RestockTokens
from aftersales.workflows.restock.wave import (
    WAVE_TIMER,
    StockReader,
    WavePorts,
    WaveResult,
    parse_alert_dedupe_key,
    run_wave,
)

log = structlog.get_logger("aftersales.workflows.restock")

RECONCILE_TIMER = "restock.reconcile"
HOUSEKEEPING_TIMER = "restock.housekeeping"
RECONCILE_EVERY = timedelta(minutes=15)
HOUSEKEEPING_EVERY = timedelta(days=1)
SYNC_KEY = "restock_stock"
"""``shops.sync`` key of the stock reconciliation cursor."""
PRODUCT_URL_ENV = "AFTERSALES_RESTOCK_PRODUCT_URL"
"""Template of the page a tracked link leads to: ``{shop_url}``, ``{product_id}``, ``{variant_id}``."""
SUBSCRIBE_LIMIT_ENV = "AFTERSALES_RESTOCK_SUBSCRIBE_LIMIT"

_DEFAULT_PRODUCT_URLS = {"woocommerce": "{shop_url}/?post_type=product&p={product_id}"}
"""WordPress resolves a product by id with these query variables (no slug needed)."""


# -- what every step needs --------------------------------------------------------------------


def _shop(ctx: StepContext) -> Shop:
    shop = ctx.session.get(Shop, ctx.shop_id)
    if shop is None:  # the engine checked it before the step; a step cannot lose its shop
        raise LookupError(f"shop {ctx.shop_id} is not registered")
    return shop


def rules_for(ctx: StepContext) -> RestockRules:
    """The shop's policy ``restock`` section plus the service settings (public URL, product links)."""
    from aftersales.web.links import public_base_url  # the public URL lives with the pages

    shop = _shop(ctx)
    shop_url = str((shop.credentials or {}).get("url") or "").rstrip("/") or None
    template = os.environ.get(PRODUCT_URL_ENV) or _DEFAULT_PRODUCT_URLS.get(shop.platform)
    product_template = template.replace("{shop_url}", shop_url) if template and shop_url else None
    limit = os.environ.get(SUBSCRIBE_LIMIT_ENV)
    base = RestockRules.from_policy(
        ctx.policy,
        public_url=public_base_url(),
        product_url_template=product_template,
        shop_url=shop_url,
    )
    if limit and limit.strip().isdigit():
        return replace(base, subscribe_limit_per_ip_hour=int(limit))
    return base


def tokens() -> RestockTokens:
    """Signed with the server's secret key (the one the status-page links use)."""
    from aftersales.web.links import secret_key

    return RestockTokens(secret_key())


def _client(ctx: StepContext) -> ShopClient | None:
    """The shop's platform client, for stock reads (a read, like ``ctx.fetch_order``).

    The engine API has ``fetch_order`` but no stock read yet; until it has, the runtime the
    context was built with provides the client (``EngineServices.client_for``).
    """
    services = getattr(ctx, "_services", None)
    if services is None:
        return None
    client: ShopClient | None = services.client_for(_shop(ctx))
    return client


def _stock_reader(ctx: StepContext) -> StockReader | None:
    read = getattr(ctx, "read_stock", None)
    if callable(read):
        return read  # type: ignore[no-any-return]
    client = _client(ctx)
    return client.read_stock if client is not None else None


def ports_for(ctx: StepContext, rules: RestockRules) -> WavePorts:
    def render(*, to: str, locale: str, context: Any) -> Message:
        return compose_message(
            shop_id=ctx.shop_id,
            template=ALERT_TEMPLATE,
            to=to,
            locale=locale,
            context=context,
            policy=ctx.policy,
        )

    def schedule(timer_id: str, due_at: datetime, payload: dict[str, Any]) -> None:
        ctx.schedule(timer_id, WAVE_TIMER, due_at, payload=payload)

    observers = ctx.plugins.pm.hook.aftersales_notification_render.get_hookimpls()
    return WavePorts(
        render=render,
        schedule=schedule,
        tokens=tokens(),
        read_stock=_stock_reader(ctx),
        size_wave=ctx.plugins.restock_wave,
        observe=ctx.plugins.notification_render if observers else None,
        queued=ctx.after.messages.extend,
    )


def _arm_periodic(ctx: StepContext, now: datetime) -> None:
    """Keep the shop's reconciliation and housekeeping timers armed.

    One timer per period slot, so the id says when it is due; a slot already armed is not
    touched again (subscriptions arrive by the thousand: no write, no enqueue for each).
    """
    for kind, every in ((RECONCILE_TIMER, RECONCILE_EVERY), (HOUSEKEEPING_TIMER, HOUSEKEEPING_EVERY)):
        slot = int(now.timestamp() // every.total_seconds()) + 1
        timer_id = f"restock:{ctx.shop_id}:{kind}:{slot}"
        if ctx.session.get(Timer, timer_id) is None:
            ctx.schedule(timer_id, kind, datetime.fromtimestamp(slot * every.total_seconds(), UTC))


def _log_wave(result: WaveResult) -> None:
    log.info(
        "restock_wave",
        episode=result.episode_id,
        wave=result.wave,
        status=str(result.status),
        queued=result.queued,
        queue=result.queue,
        available=result.available,
    )


def _observe(
    ctx: StepContext, levels: list[StockLevel], source: Source, name: str | None, at: datetime | None
) -> int:
    """Record levels; run the first wave of every episode they open. Returns the episodes opened."""
    rules = rules_for(ctx)
    now = ctx.now()
    opened = 0
    ports: WavePorts | None = None
    for level in levels:
        outcome = observe_stock(
            ctx.session, ctx.shop_id, level, source=source, now=now, rules=rules, observed_at=at, name=name
        )
        if outcome.opened is not None:
            opened += 1
            ports = ports or ports_for(ctx, rules)
            _log_wave(run_wave(ctx.session, outcome.opened, 1, now, rules, ports))
    return opened


# -- events -------------------------------------------------------------------------------------


@registry.on_event(EventType.STOCK_CHANGED, EventType.PRODUCT_UPSERTED)
def on_stock_changed(ctx: StepContext, event: DomainEvent) -> None:
    """Stock reports: WooCommerce's ``product.updated`` and Shopify's ``products/update`` arrive as
    ``product.upserted`` with stock levels, Shopify's ``variants/in_stock`` as ``stock.changed``.

    A reference without levels (Shopify's newer ``products/update`` bodies) is answered by
    re-reading the variants of that product we track; Shopify's ``inventory_levels/update``
    names an inventory item, which no variant we track is keyed by: the ``variants/in_stock``
    webhook and the reconciliation cover that restock.
    """
    source = Source.RECONCILE if "reconcil" in event.topic else Source.WEBHOOK
    if isinstance(event.data, StockData):
        levels = list(event.data.levels)
        if levels:
            _observe(ctx, levels, source, event.data.name, event.occurred_at)
            _arm_periodic(ctx, ctx.now())
        return
    if isinstance(event.data, ResourceRef) and event.data.resource == "product":
        read = _stock_reader(ctx)
        variants = tracked_variants(ctx, event.data.id)
        if read is None or not variants:
            return
        levels = [read(event.data.id, None if v == event.data.id else v) for v in variants]
        _observe(ctx, levels, source, None, None)


def tracked_variants(ctx: StepContext, product_id: str) -> list[str]:
    rows = ctx.session.scalars(
        select(RestockEpisode.variant_id)
        .where(RestockEpisode.shop_id == ctx.shop_id, RestockEpisode.product_id == product_id)
        .distinct()
    )
    return sorted(rows)


@registry.on_event(EventType.PRODUCT_DELETED)
def on_product_deleted(ctx: StepContext, event: DomainEvent) -> None:
    """A deleted product will not come back: its variants stop accepting subscriptions."""
    if not isinstance(event.data, ResourceRef):
        return
    for variant in tracked_variants(ctx, event.data.id):
        row = latest_episode(ctx.session, ctx.shop_id, variant)
        if row is not None and row.state not in ENDED:
            row.state, row.ended_at = EpisodeState.CLOSED.value, ctx.now()


@registry.on_event(EventType.ORDER_UPSERTED, EventType.ORDER_CANCELLED)
def on_order(ctx: StepContext, event: DomainEvent) -> None:
    if event.type is EventType.ORDER_CANCELLED:
        order_id = event.data.order.id if isinstance(event.data, OrderData) else None
        if isinstance(event.data, ResourceRef):
            order_id = event.data.id
        if order_id is not None:
            ctx.session.execute(
                delete(Conversion).where(Conversion.shop_id == ctx.shop_id, Conversion.order_id == order_id)
            )
        return
    if isinstance(event.data, OrderData):
        attribution.attribute_order(ctx.session, ctx.shop_id, event.data.order, rules_for(ctx))


# -- timers -------------------------------------------------------------------------------------


@registry.on_timer(WAVE_TIMER)
def on_wave_due(ctx: StepContext, timer: TimerInfo) -> None:
    rules = rules_for(ctx)
    episode, wave = int(timer.payload["episode_id"]), int(timer.payload["wave"])
    _log_wave(run_wave(ctx.session, episode, wave, ctx.now(), rules, ports_for(ctx, rules)))


@registry.on_timer(RECONCILE_TIMER)
def on_reconcile_due(ctx: StepContext, timer: TimerInfo) -> None:
    reconcile(ctx)
    _arm_periodic(ctx, ctx.now())


@registry.on_timer(HOUSEKEEPING_TIMER)
def on_housekeeping_due(ctx: StepContext, timer: TimerInfo) -> None:
    done = subscriptions.expire(ctx.session, ctx.shop_id, ctx.now(), rules_for(ctx))
    log.info("restock_housekeeping", shop=ctx.shop_id, unconfirmed=done.unconfirmed, stale=done.stale)
    _arm_periodic(ctx, ctx.now())


def reconcile(ctx: StepContext, since: datetime | None = None) -> dict[str, int]:
    """Stock changed at the platform since the cursor → the same path as a webhook."""
    client = _client(ctx)
    if client is None:
        return {"levels": 0, "opened": 0}
    shop = _shop(ctx)
    sync = dict(shop.sync or {})
    now = ctx.now()
    cursor = since or (
        datetime.fromisoformat(sync[SYNC_KEY]) if sync.get(SYNC_KEY) else now - RECONCILE_EVERY * 2
    )
    levels = list(client.list_stock_changed_since(cursor))
    # Only variants someone waits for or that we track matter; the rest are skipped cheaply.
    tracked = [lv for lv in levels if latest_episode(ctx.session, ctx.shop_id, lv.variant_key) is not None]
    opened = _observe(ctx, tracked, Source.RECONCILE, None, None)
    # A small overlap: a change in the same second as the last poll is found again (and deduped).
    sync[SYNC_KEY] = (now - timedelta(seconds=1)).isoformat()
    shop.sync = sync
    return {"levels": len(levels), "tracked": len(tracked), "opened": opened}


# -- deliveries ---------------------------------------------------------------------------------


@registry.on_message_delivered(ALERT_TEMPLATE)
def on_alert_delivered(ctx: StepContext, message: DeliveredInfo) -> None:
    parsed = parse_alert_dedupe_key(message.dedupe_key)
    if parsed is not None:
        attribution.mark_sent(ctx.session, parsed[0], parsed[1], message.sent_at)


# -- commands (the customer pages and operators) --------------------------------------------


def _answer(outcome: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"outcome": outcome, "message": message, **extra}


@registry.command("restock.subscribe")
def subscribe_command(
    ctx: StepContext,
    *,
    variant_id: str,
    email: str,
    ip: str | None = None,
    locale: str | None = None,
    wording_version: str = "default",
    product_id: str | None = None,
) -> dict[str, Any]:
    """The product page's form. The answer never says whether the address was subscribed before."""
    rules = rules_for(ctx)
    signer = tokens()
    result = subscriptions.subscribe(
        ctx.session,
        ctx.shop_id,
        str(variant_id),
        email,
        ip,
        locale or getattr(ctx.policy, "language", None) or "pl",
        wording_version,
        ctx.now(),
        rules,
        signer,
        product_id=product_id,
        read_stock=_stock_reader(ctx),
    )
    mail = result.confirmation
    if mail is not None:
        tracked = latest_episode(ctx.session, ctx.shop_id, mail.variant_id)
        name = str(((tracked.data or {}) if tracked is not None else {}).get("name") or mail.variant_id)
        ctx.notify(
            CONFIRM_TEMPLATE,
            mail.to,
            locale=mail.locale,
            context={
                "product_name": name,
                "confirm_url": confirm_url(rules, mail.token),
                "unsubscribe_url": unsubscribe_url(rules, signer.unsubscribe_token(mail.subscription_id)),
            },
            dedupe_key=f"restock-confirm:{mail.subscription_id}:{mail.nonce}",
        )
    if result.outcome is not subscriptions.SubscribeOutcome.RATE_LIMITED:
        _arm_periodic(ctx, ctx.now())
    return _answer(result.outcome, result.message)


@registry.command("restock.confirm")
def confirm_command(ctx: StepContext, *, token: str, ip: str | None = None) -> dict[str, Any]:
    """The confirm page's POST (its GET only shows a button: link checkers must not confirm)."""
    result = subscriptions.confirm(
        ctx.session, token, ip, ctx.now(), rules_for(ctx), tokens(), shop_id=ctx.shop_id
    )
    return _answer(result.outcome, result.message)


@registry.command("restock.unsubscribe")
def unsubscribe_command(ctx: StepContext, *, token: str) -> dict[str, Any]:
    """The ``List-Unsubscribe`` one-click POST and the unsubscribe page's button."""
    result = subscriptions.unsubscribe(ctx.session, token, ctx.now(), tokens(), shop_id=ctx.shop_id)
    return _answer(result.outcome, result.message)


@registry.command("restock.click")
def click_command(ctx: StepContext, *, token: str) -> dict[str, Any]:
    """The tracked link: where to redirect (``url`` None: show the shop's home page)."""
    result = attribution.record_click(ctx.session, token, ctx.now(), rules_for(ctx))
    return {"url": result.url, "first": result.first}


@registry.command("restock.export")
def export_command(ctx: StepContext, *, email: str) -> dict[str, Any]:
    return privacy.export_address(ctx.session, ctx.shop_id, email)


@registry.command("restock.erase")
def erase_command(ctx: StepContext, *, email: str) -> dict[str, Any]:
    done = privacy.erase_address(ctx.session, ctx.shop_id, email)
    return {
        "subscriptions": done.subscriptions,
        "messages_anonymized": done.messages_anonymized,
        "conversions_anonymized": done.conversions_anonymized,
        "emails_deleted": done.outbox_deleted,
    }


@registry.command("restock.reconcile")
def reconcile_command(ctx: StepContext, *, since: str | None = None) -> dict[str, Any]:
    return reconcile(ctx, datetime.fromisoformat(since) if since else None)
