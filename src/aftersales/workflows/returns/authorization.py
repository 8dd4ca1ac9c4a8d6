"""The authorization axis: eligible or not, automatically or by a person.

A request is judged by the ``aftersales_return_eligibility`` decision hook (the built-in
plugin applies the policy), then by the statutory floor. A hook that raises never approves
anything: the case goes to the manual review queue with the error as its reason (fail
closed, DESIGN §4). A statutory withdrawal inside the window is never rejected by a rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aftersales.decisions import Eligibility
from aftersales.domain import Authorization, Case, Logistics, Order
from aftersales.plugins import DecisionHookFailed
from aftersales.workflows.returns.eligibility import apply_statutory_floor
from aftersales.workflows.returns.flow import SYSTEM, fire, schedule_goods_clocks
from aftersales.workflows.returns.refunds import advance
from aftersales.workflows.returns.states import ReturnEvent

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext


def eligibility(ctx: StepContext, case: Case, order: Order) -> Eligibility:
    """Ask the decision hook; a failing plugin means a person decides (fail closed), never a yes."""
    try:
        answer = ctx.plugins.return_eligibility(case, order, ctx.policy)
    except DecisionHookFailed as exc:
        return Eligibility(eligible=True, auto_approve=False, reasons=(f"eligibility check failed: {exc}",))
    if answer is None:
        answer = Eligibility(
            eligible=True, auto_approve=False, reasons=("no plugin decided: a person decides",)
        )
    return apply_statutory_floor(case, answer)


def authorize(ctx: StepContext, case: Case, order: Order, *, actor: str = SYSTEM) -> Case:
    """Decide a fresh request: approve it, queue it for a person, or reject it with the reasons."""
    answer = eligibility(ctx, case, order)
    reason = "; ".join(answer.reasons) or None
    case.data["eligibility"] = {
        "eligible": answer.eligible,
        "auto_approve": answer.auto_approve,
        "reasons": list(answer.reasons),
    }
    if not answer.eligible:
        for line in case.lines:
            line.authorization = Authorization.DECLINED
        return fire(ctx, case, ReturnEvent.REJECT, actor=actor, reason=reason)
    if not answer.auto_approve:
        for line in case.lines:
            line.authorization = Authorization.MANUAL_REVIEW
        return fire(ctx, case, ReturnEvent.REVIEW, actor=actor, reason=reason)
    return approve(ctx, case, actor=actor, reason=reason)


def approve(
    ctx: StepContext,
    case: Case,
    *,
    actor: str,
    reason: str | None = None,
    decline_units: dict[str, int] | None = None,
) -> Case:
    """Authorize every unit (less ``decline_units`` per line), start the goods clocks, maybe refund."""
    refuse = dict(decline_units or {})
    for line in case.lines:
        if line.authorization is Authorization.DECLINED:
            continue
        if refuse.get(line.line_item_id, 0) > 0:
            refuse[line.line_item_id] -= 1
            line.authorization = Authorization.DECLINED
            line.logistics = Logistics.NOT_REQUIRED
        else:
            line.authorization = Authorization.APPROVED
    if case.lines and not any(line.authorization is Authorization.APPROVED for line in case.lines):
        return fire(ctx, case, ReturnEvent.DECLINE, actor=actor, reason=reason or "no unit was approved")
    case = fire(ctx, case, ReturnEvent.APPROVE, actor=actor, reason=reason)
    schedule_goods_clocks(ctx, case)
    return advance(ctx, case, actor=actor)
