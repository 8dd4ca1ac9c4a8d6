"""The outbox: ctx.notify renders and queues in the step's transaction; the sender delivers after it."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.engine.api import DeliveredInfo, Registry, StepContext
from aftersales.engine.clock import ManualClock
from aftersales.engine.runtime import Runtime
from aftersales.store.models import OutboxMessage


@pytest.fixture
def delivered(handlers: Registry) -> list[DeliveredInfo]:
    told: list[DeliveredInfo] = []

    @handlers.command("test.notify")
    def notify(ctx: StepContext, *, to: str = "ann@example.com", channel: str = "test") -> dict[str, Any]:
        queued = ctx.notify(
            "restock_confirm",
            to,
            locale="en",
            channel=channel,
            context={
                "product_name": "Kettle",
                "confirm_url": "https://shop.example/confirm/abc",
                "unsubscribe_url": "https://shop.example/unsubscribe/abc",
            },
            dedupe_key=f"confirm:{to}",
        )
        return {"queued": queued}

    @handlers.on_message_delivered("restock_confirm")
    def on_delivered(ctx: StepContext, message: DeliveredInfo) -> None:
        told.append(message)

    return told


def messages(rt: Runtime) -> list[OutboxMessage]:
    with rt.read_session() as session:
        return list(session.query(OutboxMessage).order_by(OutboxMessage.id))


def test_a_message_is_rendered_queued_once_and_delivered_after_commit(
    runtime: Runtime, channel: Any, delivered: list[DeliveredInfo], manual_clock: ManualClock
) -> None:
    assert runtime.execute_command("test.notify", "shop-1") == {"queued": True}
    assert runtime.execute_command("test.notify", "shop-1") == {"queued": False}
    assert channel.sent == []  # nothing leaves inside the step

    runtime.run_until_idle()
    assert len(channel.sent) == 1
    sent = channel.sent[0]
    assert (sent.to, sent.template, sent.locale) == ("ann@example.com", "restock_confirm", "en")
    assert "Kettle" in sent.subject + sent.text
    [row] = messages(runtime)
    assert (row.state, row.attempts, row.sent_at) == ("sent", 1, manual_clock.now())
    assert row.receipt == {"channel": "test", "accepted": True, "detail": "", "message_id": "<1@test>"}
    assert [(d.template, d.recipient, d.dedupe_key, d.receipt.message_id) for d in delivered] == [
        ("restock_confirm", "ann@example.com", "confirm:ann@example.com", "<1@test>")
    ]


def test_a_failing_channel_is_retried_with_backoff_then_dead_lettered(
    runtime: Runtime, channel: Any, delivered: list[DeliveredInfo], manual_clock: ManualClock
) -> None:
    channel.refuse = [ConnectionRefusedError("smtp down")] * 3
    runtime.execute_command("test.notify", "shop-1")
    runtime.run_until_idle()
    [row] = messages(runtime)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "ConnectionRefusedError: smtp down")
    assert row.next_attempt_at == manual_clock.now() + runtime.settings.backoff(1)
    for attempt in (1, 2):
        manual_clock.advance(runtime.settings.backoff(attempt))
        runtime.run_until_idle()
    [row] = messages(runtime)
    assert (row.state, row.attempts) == ("dead", 3)
    assert channel.sent == [] and delivered == []


def test_a_message_for_a_channel_nobody_loaded_is_kept_with_the_reason(
    runtime: Runtime, delivered: list[DeliveredInfo]
) -> None:
    runtime.execute_command("test.notify", "shop-1", channel="sms")
    runtime.run_until_idle()
    [row] = messages(runtime)
    assert row.state == "pending"
    assert "no channel named 'sms'" in (row.last_error or "") and "test" in (row.last_error or "")
