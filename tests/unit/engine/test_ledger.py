"""The effects ledger: a refund reaches the shop exactly once, whatever fails on the way."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from aftersales.domain import Money
from aftersales.engine.api import EffectInfo, Registry, StepContext
from aftersales.engine.runtime import Runtime
from aftersales.platforms import OutcomeUnknown, RefundRecord, RejectedByPlatform, TransientPlatformError
from aftersales.store.models import Effect


@pytest.fixture
def told(handlers: Registry, kit: SimpleNamespace) -> list[tuple[str, str]]:
    """Registers ``test.refund`` / ``test.note`` commands and records what ``on_effect`` is told."""
    seen: list[tuple[str, str]] = []

    @handlers.command("test.refund")
    def refund(ctx: StepContext, *, key: str, order_id: str = "100") -> dict[str, Any]:
        return {"new": ctx.request_effect(key, "refund", kit.refund_request(key, order_id))}

    @handlers.command("test.note")
    def note(ctx: StepContext, *, key: str) -> dict[str, Any]:
        ctx.request_effect(key, "note", {"order_id": "100", "text": "refund sent", "customer_visible": False})
        ctx.request_effect(
            f"{key}:approve", "platform_action", {"action": "return.approve", "params": {"id": "9"}}
        )
        return {}

    @handlers.on_effect("refund", "note", "platform_action")
    def settled(ctx: StepContext, effect: EffectInfo) -> None:
        seen.append((effect.effect_key, effect.state))

    return seen


def effect(rt: Runtime, key: str) -> Effect:
    with rt.read_session() as session:
        row = session.get(Effect, key)
        assert row is not None
        return row


def mark_sent(rt: Runtime, key: str, *, executor: str, incarnation: str, at: float) -> None:
    """What a process leaves behind when it dies after marking the effect sent."""
    with rt.transaction() as session:
        row = session.get(Effect, key)
        assert row is not None
        row.state = "sent"
        row.attempts = 1
        row.result = {"sending": {"executor": executor, "incarnation": incarnation, "at": at}}


def test_a_duplicate_key_never_calls_the_platform_twice(
    runtime: Runtime, memshop: Any, told: list[Any]
) -> None:
    assert runtime.execute_command("test.refund", "shop-1", key="refund:c1:1") == {"new": True}
    assert runtime.execute_command("test.refund", "shop-1", key="refund:c1:1") == {"new": False}
    runtime.run_until_idle()
    assert runtime.execute_command("test.refund", "shop-1", key="refund:c1:1") == {"new": False}
    runtime.run_until_idle()
    assert runtime.run_job("effect", "refund:c1:1") == "already_done"

    assert memshop.calls.count("create_refund") == 1
    assert len(memshop.refunds) == 1
    assert told == [("refund:c1:1", "confirmed")]
    row = effect(runtime, "refund:c1:1")
    assert (row.state, row.amount, row.currency) == ("confirmed", "10.00", "PLN")
    assert row.result is not None and row.result["effect_key"] == "refund:c1:1"


def test_sent_by_a_killed_process_is_looked_up_and_confirmed_without_a_second_call(
    runtime: Runtime, memshop: Any, told: list[Any], manual_clock: Any
) -> None:
    runtime.execute_command("test.refund", "shop-1", key="refund:c2:1")
    # the shop made the refund; the process died before it could record the answer
    memshop.refunds.append(
        RefundRecord(id="77", order_id="100", amount=Money("10.00", "PLN"), effect_key="refund:c2:1")
    )
    mark_sent(
        runtime, "refund:c2:1", executor=runtime.executor_id, incarnation="the-killed-one", at=time.time()
    )

    manual_clock.advance(timedelta(seconds=runtime.settings.effect_lease + 1))
    runtime.run_until_idle()

    assert memshop.calls == ["find_refund"]
    assert len(memshop.refunds) == 1
    row = effect(runtime, "refund:c2:1")
    assert row.state == "confirmed"
    assert row.result is not None and row.result["found_by_lookup"] is True and row.result["id"] == "77"
    assert told == [("refund:c2:1", "confirmed")]


def test_unknown_outcome_is_looked_up_then_retried_when_the_shop_never_got_it(
    runtime: Runtime, memshop: Any, told: list[Any], manual_clock: Any
) -> None:
    memshop.fail_next("create_refund", OutcomeUnknown("read timeout before the shop answered"))
    runtime.execute_command("test.refund", "shop-1", key="refund:c3:1")
    runtime.run_until_idle()
    row = effect(runtime, "refund:c3:1")
    assert row.state == "unknown" and "outcome unknown" in (row.error or "")
    assert told == []

    runtime.run_until_idle()  # not before its backoff
    assert memshop.calls == ["create_refund"]

    manual_clock.advance(runtime.settings.backoff(1))
    runtime.run_until_idle()
    assert memshop.calls == ["create_refund", "find_refund", "create_refund"]
    assert len(memshop.refunds) == 1
    assert effect(runtime, "refund:c3:1").state == "confirmed"
    assert told == [("refund:c3:1", "confirmed")]


def test_a_lost_answer_is_found_by_the_lookup_and_never_paid_twice(
    runtime: Runtime, memshop: Any, told: list[Any], manual_clock: Any
) -> None:
    memshop.fail_next("create_refund", OutcomeUnknown("connection dropped after sending"), effect_first=True)
    runtime.execute_command("test.refund", "shop-1", key="refund:c4:1")
    runtime.run_until_idle()
    assert effect(runtime, "refund:c4:1").state == "unknown"
    manual_clock.advance(runtime.settings.backoff(1))
    runtime.run_until_idle()

    assert memshop.calls == ["create_refund", "find_refund"]
    assert len(memshop.refunds) == 1
    assert told == [("refund:c4:1", "confirmed")]


def test_another_executors_fresh_send_is_left_alone_until_its_lease_ends(
    runtime: Runtime, memshop: Any, told: list[Any]
) -> None:
    runtime.execute_command("test.refund", "shop-1", key="refund:c5:1")
    mark_sent(runtime, "refund:c5:1", executor="host-b-1", incarnation="b", at=time.time())
    assert runtime.run_job("effect", "refund:c5:1") == "deferred"
    assert memshop.calls == []

    mark_sent(runtime, "refund:c5:1", executor="host-b-1", incarnation="b", at=time.time() - 10_000)
    assert runtime.run_job("effect", "refund:c5:1") == "confirmed"
    assert memshop.calls == ["find_refund", "create_refund"]
    assert len(memshop.refunds) == 1


def test_transient_errors_back_off_then_fail_and_the_workflow_is_told(
    runtime: Runtime, memshop: Any, told: list[Any], observed: Any, manual_clock: Any
) -> None:
    for _ in range(runtime.settings.max_effect_attempts):
        memshop.fail_next("create_refund", TransientPlatformError("503 Service Unavailable"))
    runtime.execute_command("test.refund", "shop-1", key="refund:c6:1")
    runtime.run_until_idle()
    row = effect(runtime, "refund:c6:1")
    assert (row.state, row.attempts) == ("intended", 1)
    for attempt in range(1, runtime.settings.max_effect_attempts):
        manual_clock.advance(runtime.settings.backoff(attempt))
        runtime.run_until_idle()

    row = effect(runtime, "refund:c6:1")
    assert row.state == "failed"
    assert "gave up after 4 attempts" in (row.error or "")
    assert memshop.refunds == []
    assert told == [("refund:c6:1", "failed")]
    assert [e["state"] for e in observed.effects] == ["failed"]


def test_a_refusal_fails_at_once(runtime: Runtime, memshop: Any, told: list[Any]) -> None:
    memshop.fail_next("create_refund", RejectedByPlatform("amount exceeds the refundable total"))
    runtime.execute_command("test.refund", "shop-1", key="refund:c7:1")
    runtime.run_until_idle()
    row = effect(runtime, "refund:c7:1")
    assert row.state == "failed" and "refundable total" in (row.error or "")
    assert told == [("refund:c7:1", "failed")]


def test_a_broken_on_effect_handler_does_not_lose_the_platforms_answer(
    runtime: Runtime, memshop: Any, handlers: Registry, kit: SimpleNamespace
) -> None:
    @handlers.command("test.refund")
    def refund(ctx: StepContext, *, key: str) -> dict[str, Any]:
        ctx.request_effect(key, "refund", kit.refund_request(key))
        return {}

    @handlers.on_effect("refund")
    def broken(ctx: StepContext, effect: EffectInfo) -> None:
        raise KeyError("a bug in the workflow")

    runtime.execute_command("test.refund", "shop-1", key="refund:c8:1")
    runtime.run_until_idle()
    row = effect(runtime, "refund:c8:1")
    assert row.state == "confirmed"
    assert "on_effect handler failed: KeyError" in (row.error or "")
    assert len(memshop.refunds) == 1


def test_notes_and_platform_actions_go_through_the_ledger(
    runtime: Runtime, memshop: Any, told: list[Any], observed: Any
) -> None:
    runtime.execute_command("test.note", "shop-1", key="note:c9")
    runtime.run_until_idle()
    assert memshop.notes == [("100", "refund sent")]
    assert memshop.actions == [("return.approve", "note:c9:approve")]
    assert sorted(told) == [("note:c9", "confirmed"), ("note:c9:approve", "confirmed")]
    assert {e["effect_key"] for e in observed.effects} == {"note:c9", "note:c9:approve"}


def test_a_shop_without_credentials_fails_the_effect_with_the_reason(
    make_runtime: Any, sqlite_url: str, kit: SimpleNamespace, told: list[Any]
) -> None:
    rt = make_runtime(sqlite_url)
    kit.add_shop(rt, "bare", credentials=False)
    rt.execute_command("test.refund", "bare", key="refund:c10:1")
    rt.run_until_idle()
    row = effect(rt, "refund:c10:1")
    assert row.state == "failed" and "no platform credentials" in (row.error or "")


def test_requests_are_checked_before_anything_is_written(
    runtime: Runtime, handlers: Registry, kit: SimpleNamespace
) -> None:
    @handlers.command("test.bad")
    def bad(ctx: StepContext, *, kind: str) -> dict[str, Any]:
        ctx.request_effect("fine", "note", {"order_id": "1", "text": "x"})
        if kind == "mismatch":
            ctx.request_effect("refund:x", "refund", kit.refund_request("refund:other"))
        else:
            ctx.request_effect("voucher:x", kind, {})
        return {}

    with pytest.raises(ValueError, match="carries key"):
        runtime.execute_command("test.bad", "shop-1", kind="mismatch")
    with pytest.raises(ValueError, match="unknown effect kind"):
        runtime.execute_command("test.bad", "shop-1", kind="voucher")
    with runtime.read_session() as session:
        assert session.get(Effect, "fine") is None  # the whole step was rolled back
