"""Workflow handlers the worker subprocesses of these tests import (``AFTERSALES_IMPORT=engine_jobs``).

They are written like real workflows: everything keyed, told-twice safe. Where a test must
*see* a double execution, the handler writes something that is deliberately not keyed (a
case with a fresh ``source_ref``), so a step that committed twice leaves two of them.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from aftersales.domain import CaseType, Money
from aftersales.engine.api import EffectInfo, StepContext, TimerInfo, registry
from aftersales.platforms import RefundRequest

SUITE = "engine-it"


@registry.on_timer("enginetest.refund")
def request_refund(ctx: StepContext, timer: TimerInfo) -> None:
    """The automated refund of one case: one ledger effect keyed by the case."""
    assert timer.case_id is not None
    case = ctx.load_case(timer.case_id)
    if case is None or case.status != "approved":
        return
    key = f"refund:{case.id}"
    request = RefundRequest(
        effect_key=key,
        order_id=str(case.order_id),
        amount=Money(str(timer.payload.get("amount", "1.00")), str(timer.payload.get("currency", "USD"))),
        reason=f"{case.number}: engine test",
    )
    ctx.request_effect(key, "refund", request, case_id=case.id)
    ctx.transition(case, "refunding", event="refund_requested", actor="timer")


@registry.on_effect("refund")
def refund_settled(ctx: StepContext, effect: EffectInfo) -> None:
    if effect.case_id is None:
        return
    case = ctx.load_case(effect.case_id)
    if case is None or case.data.get("suite") != SUITE or case.status != "refunding":
        return  # not ours, or told twice
    status = "settled" if effect.state == "confirmed" else "refund_failed"
    ctx.transition(case, status, event=f"refund_{effect.state}", actor="platform", data={"pid": os.getpid()})


@registry.on_timer("enginetest.mark")
def mark(ctx: StepContext, timer: TimerInfo) -> None:
    """Leaves one unkeyed case per firing: two firings would leave two."""
    ctx.open_case(
        type=CaseType.COMPLAINT,
        status="marked",
        source="timer",
        source_ref=uuid.uuid4().hex,
        data={"suite": SUITE, "timer": timer.id, "pid": os.getpid()},
    )


@registry.on_timer("enginetest.job")
def job(ctx: StepContext, timer: TimerInfo) -> None:
    """One job of the multi-worker tests: one note at the shop, plus an unkeyed marker (a
    timer row with a fresh id, far in the future) so that a second execution would show."""
    ctx.schedule(
        f"mark:{timer.id}:{os.getpid()}:{uuid.uuid4().hex}",
        "enginetest.never",
        timer.due_at + timedelta(days=3650),
        payload={"job": timer.id, "pid": os.getpid()},
    )
    ctx.request_effect(
        f"note:{timer.id}",
        "note",
        {"order_id": str(timer.payload["order_id"]), "text": f"job {timer.id}", "customer_visible": False},
    )
