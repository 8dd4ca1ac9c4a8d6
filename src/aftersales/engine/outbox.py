"""The outbox sender: messages written by ``ctx.notify`` go out after their step committed.

Sending one message:

1. claim it in a short transaction: still ``pending`` and due, ``attempts + 1``, and
   ``next_attempt_at`` pushed one lease ahead so a second worker's sweep leaves it alone;
2. hand it to the channel named on the row (``plugins.channels()``: the built-in e-mail
   channel, SMS or webhooks from plugins);
3. accepted → ``sent`` with the :class:`DeliveryReceipt`, and the workflow's
   ``on_message_delivered`` handlers run in the same transaction (the complaint clock stops
   when the answer reaches the consumer); refused or raising → the error is kept, the next
   attempt backs off, and after ``max_attempts`` the message is ``dead`` (dead-lettered,
   visible to operators).

A crash between the channel accepting and step 3 sends the message again after the lease:
e-mail has no idempotency key, so delivery is at-least-once; the message keeps the same
dedupe key and case number, and the lease makes a double send a crash-only event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog

from aftersales.engine._info import DeliveredInfo
from aftersales.engine.conflicts import is_conflict, retry_conflicts
from aftersales.engine.context import AfterCommit, StepContext
from aftersales.engine.registry import registry
from aftersales.notify.message import DeliveryReceipt, Message
from aftersales.store.models import OutboxMessage, Shop

if TYPE_CHECKING:
    from aftersales.engine.runtime import Runtime

log = structlog.get_logger("aftersales.engine.outbox")


@dataclass(frozen=True)
class _Claim:
    id: int
    channel: str
    message: dict[str, Any]
    attempts: int


def send_message(rt: Runtime, outbox_id: int) -> str:
    """Send one outbox message; returns ``sent``, ``retry``, ``dead``, ``early`` or ``skipped``."""
    claim = retry_conflicts(lambda: _claim(rt, outbox_id))
    if isinstance(claim, str):
        return claim
    try:
        channel = rt.plugins.channels().get(claim.channel)
        if channel is None:
            known = ", ".join(sorted(rt.plugins.channels())) or "none"
            raise LookupError(f"no channel named {claim.channel!r} is loaded (loaded: {known})")
        receipt = channel.send(Message.model_validate(claim.message))
        if not receipt.accepted:
            raise RuntimeError(f"{claim.channel} did not accept the message: {receipt.detail or 'no detail'}")
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        return retry_conflicts(lambda: _failed(rt, claim, error))
    try:
        return retry_conflicts(lambda: _sent(rt, claim, receipt, run_handlers=True))
    except Exception as exc:
        if is_conflict(exc):
            raise
        log.exception("on_message_delivered_handler_failed", outbox_id=outbox_id)
        note = f"on_message_delivered handler failed: {type(exc).__name__}: {exc}"
        return retry_conflicts(lambda: _sent(rt, claim, receipt, run_handlers=False, note=note))


def _claim(rt: Runtime, outbox_id: int) -> _Claim | str:
    with rt.transaction() as session:
        row = session.get(OutboxMessage, outbox_id, with_for_update=True)
        if row is None or row.state != "pending":
            return "skipped"
        now = rt.clock.now()
        if row.next_attempt_at > now:
            return "early"
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=rt.settings.effect_lease)
        return _Claim(row.id, row.channel, dict(row.message), row.attempts)


def _failed(rt: Runtime, claim: _Claim, error: str) -> str:
    with rt.transaction() as session:
        row = session.get(OutboxMessage, claim.id, with_for_update=True)
        if row is None or row.state != "pending" or row.attempts != claim.attempts:
            return "skipped"
        row.last_error = error
        if row.attempts >= rt.settings.max_attempts:
            row.state = "dead"
        else:
            row.next_attempt_at = rt.clock.now() + rt.settings.backoff(row.attempts)
        outcome = "dead" if row.state == "dead" else "retry"
    log.error("message_not_sent", outbox_id=claim.id, outcome=outcome, error=error)
    return outcome


def _sent(
    rt: Runtime, claim: _Claim, receipt: DeliveryReceipt, *, run_handlers: bool, note: str | None = None
) -> str:
    after = AfterCommit()
    with rt.transaction() as session:
        row = session.get(OutboxMessage, claim.id, with_for_update=True)
        if row is None or row.state != "pending":
            return "skipped"
        now = rt.clock.now()
        row.state = "sent"
        row.sent_at = now
        row.receipt = receipt.model_dump(mode="json")
        row.last_error = note
        shop = session.get(Shop, row.shop_id)
        if run_handlers and shop is not None:
            info = DeliveredInfo(
                outbox_id=row.id,
                shop_id=row.shop_id,
                template=row.template,
                channel=row.channel,
                recipient=row.recipient,
                case_id=row.case_id,
                dedupe_key=row.dedupe_key.removeprefix(f"{row.shop_id}:"),
                sent_at=now,
                receipt=receipt,
            )
            ctx = StepContext(session, rt, shop, after=after)
            for handler in registry.delivered_handlers(row.template):
                handler(ctx, info)
    rt.after_commit(after)
    return "sent"
