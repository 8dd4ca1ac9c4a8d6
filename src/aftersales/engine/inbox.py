"""Inbox processing: one recorded webhook (or reconciliation find) becomes workflow steps.

The path of one item:

1. read the row (no lock); anything but ``pending`` is done already;
2. the shop's platform plugin normalizes ``(topic, body)`` into a :class:`DomainEvent`;
3. for order events, the authoritative order is re-read from the shop (webhooks arrive late
   and out of order; the body may be hours old) — before the transaction, so no lock is held
   during an HTTP call;
4. in ONE transaction: lock the row, store the order snapshot if it is newer than ours (a
   stale body is replaced by the newer snapshot before any handler sees it), run every
   handler registered for the event type, mark the row ``done``.

A crash anywhere redoes the whole item; handlers are idempotent because everything they
write is keyed. A handler that raises rolls the step back; the attempt is recorded with the
error and retried with backoff; after ``max_attempts`` the row is ``failed`` with the error
(visible in ``aftersales deliveries`` and the metrics), never silently dropped. A topic the
plugin does not handle is ``ignored``; a body that cannot be parsed is ``failed`` at once
(retrying cannot fix it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from aftersales.domain import DomainEvent, OrderData
from aftersales.engine.conflicts import retry_conflicts
from aftersales.engine.context import AfterCommit, StepContext
from aftersales.engine.orders import load_order, store_order
from aftersales.engine.reconcile import RECONCILE_TOPIC
from aftersales.engine.registry import registry
from aftersales.platforms import MalformedPayload, NotFound, UnknownTopic
from aftersales.store.models import InboxItem, Shop

if TYPE_CHECKING:
    from aftersales.engine.runtime import Runtime

log = structlog.get_logger("aftersales.engine.inbox")


@dataclass(frozen=True)
class _Item:
    id: int
    shop_id: str
    platform: str
    topic: str
    body: bytes


class _Permanent(Exception):
    """Retrying cannot help (malformed body, unknown shop): fail the item now."""


def process_inbox(rt: Runtime, inbox_id: int) -> str:
    """Process one inbox item; returns ``done``, ``ignored``, ``retry``, ``failed`` or ``skipped``."""
    with rt.read_session() as session:
        row = session.get(InboxItem, inbox_id)
        if row is None or row.state != "pending":
            return "skipped"
        item = _Item(row.id, row.shop_id, row.platform, row.topic, bytes(row.body))
        shop = session.get(Shop, row.shop_id)
    try:
        if shop is None:
            raise _Permanent(f"shop {item.shop_id} is not registered")
        event = _normalize(rt, item)
        if event is None:
            return _finish(rt, item.id, "ignored", f"topic {item.topic!r} is not handled by {item.platform}")
        event = _refetch(rt, shop, event)
        return retry_conflicts(lambda: _dispatch(rt, item, event))
    except _Permanent as exc:
        return _finish(rt, item.id, "failed", str(exc))
    except Exception as exc:
        return _record_failure(rt, item.id, exc)


def _normalize(rt: Runtime, item: _Item) -> DomainEvent | None:
    if item.topic == RECONCILE_TOPIC:  # found by polling: already a domain event
        try:
            return DomainEvent.model_validate_json(item.body)
        except ValueError as exc:
            raise _Permanent(f"unreadable reconciled event: {exc}") from exc
    adapter = rt.plugins.platform(item.platform)
    try:
        payload = json.loads(item.body)
    except ValueError as exc:
        raise _Permanent(f"the body is not JSON: {exc}") from exc
    try:
        return adapter.normalize(item.topic, payload)
    except UnknownTopic:
        return None
    except MalformedPayload as exc:
        raise _Permanent(f"malformed {item.topic} payload: {exc}") from exc


def _refetch(rt: Runtime, shop: Shop, event: DomainEvent) -> DomainEvent:
    """The order as the shop has it now (when we can ask), instead of the webhook's copy."""
    if not isinstance(event.data, OrderData):
        return event
    client = rt.client_for(shop)
    if client is None:
        return event
    try:
        fresh = client.fetch_order(event.data.order.id)
    except NotFound:
        return event  # deleted since: the body is the last word we have
    return event.model_copy(update={"data": OrderData(order=fresh)})


def _dispatch(rt: Runtime, item: _Item, event: DomainEvent) -> str:
    after = AfterCommit()
    with rt.transaction() as session:
        row = session.get(InboxItem, item.id, with_for_update=True)
        if row is None or row.state != "pending":
            return "skipped"
        shop = session.get(Shop, item.shop_id)
        if shop is None:
            raise _Permanent(f"shop {item.shop_id} is not registered")
        now = rt.clock.now()
        if isinstance(event.data, OrderData) and not store_order(session, shop.id, event.data.order, now):
            newer = load_order(session, shop.id, event.data.order.id)
            if newer is not None:
                event = event.model_copy(update={"data": OrderData(order=newer)})
        ctx = StepContext(session, rt, shop, after=after)
        for handler in registry.event_handlers(event.type):
            handler(ctx, event)
        row.state = "done"
        row.attempts += 1
        row.error = None
        row.processed_at = now
    rt.after_commit(after)
    return "done"


def _finish(rt: Runtime, inbox_id: int, state: str, error: str) -> str:
    def write() -> str:
        with rt.transaction() as session:
            row = session.get(InboxItem, inbox_id, with_for_update=True)
            if row is None or row.state != "pending":
                return "skipped"
            row.state = state
            row.attempts += 1
            row.error = error
            row.processed_at = rt.clock.now()
        (log.info if state == "ignored" else log.warning)("inbox_" + state, inbox_id=inbox_id, error=error)
        return state

    return retry_conflicts(write)


def _record_failure(rt: Runtime, inbox_id: int, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"

    def write() -> str:
        with rt.transaction() as session:
            row = session.get(InboxItem, inbox_id, with_for_update=True)
            if row is None or row.state != "pending":
                return "skipped"
            row.attempts += 1
            row.error = error
            row.processed_at = rt.clock.now()
            if row.attempts >= rt.settings.max_attempts:
                row.state = "failed"
            outcome = "failed" if row.state == "failed" else "retry"
        log.error("inbox_attempt_failed", inbox_id=inbox_id, outcome=outcome, error=error)
        return outcome

    return retry_conflicts(write)
