"""The goods' journey and the merchant's decisions after intake, one unit at a time.

Each function updates the per-line axes first (logistics, disposition, authorization), then
fires the case event that matches where the *whole* case now stands, then lets
:func:`~aftersales.workflows.returns.refunds.advance` decide whether money moves. Units are
addressed as ``(order line, quantity)``: the first matching units still in the right state
take the change, so "2 of line 17 received" is enough and nobody has to name unit numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from aftersales.domain import Authorization, Case, CaseLine, Disposition, Logistics
from aftersales.workflows.returns import notices
from aftersales.workflows.returns.authorization import approve
from aftersales.workflows.returns.eligibility import InvalidRequest
from aftersales.workflows.returns.flow import cancel_goods_clocks, cancel_refund_clocks, fire
from aftersales.workflows.returns.refunds import PLATFORM_RETURN, advance, platform_action, request_refund
from aftersales.workflows.returns.settlement import GOODS_BACK, GOODS_SENT, approved
from aftersales.workflows.returns.states import SETTLING, IllegalTransition, ReturnEvent, ReturnStatus

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext

DECIDABLE = frozenset({ReturnStatus.REQUESTED, ReturnStatus.MANUAL_REVIEW})


def pick(
    case: Case, wanted: Mapping[str, int] | None, accept: Callable[[CaseLine], bool], what: str
) -> list[CaseLine]:
    """The first units of each named line that ``accept`` takes; all accepted units when ``wanted`` is None.

    Asking for more units than the case holds in that state is an error naming the numbers.
    """
    if wanted is None:
        chosen = [line for line in case.lines if accept(line)]
        if not chosen:
            raise InvalidRequest(f"case {case.number} has no unit that can be {what}")
        return chosen
    chosen = []
    for line_id, qty in wanted.items():
        if qty < 1:
            raise InvalidRequest(f"quantity for line {line_id} must be at least 1, got {qty}")
        candidates = [line for line in case.lines if line.line_item_id == line_id and accept(line)]
        if not any(line.line_item_id == line_id for line in case.lines):
            raise InvalidRequest(f"line {line_id} is not part of case {case.number}")
        if qty > len(candidates):
            raise InvalidRequest(
                f"{qty} unit(s) of line {line_id} cannot be {what}: case {case.number} has {len(candidates)}"
            )
        chosen.extend(candidates[:qty])
    return chosen


def _fire_if_allowed(
    ctx: StepContext, case: Case, event: ReturnEvent, *, actor: str, reason: str | None
) -> Case:
    try:
        return fire(ctx, case, event, actor=actor, reason=reason)
    except IllegalTransition as exc:
        raise InvalidRequest(str(exc)) from exc


# -- authorization by a person -------------------------------------------------------------------


def merchant_approve(
    ctx: StepContext,
    case: Case,
    *,
    actor: str,
    decline_units: Mapping[str, int] | None = None,
    note: str | None = None,
) -> Case:
    if case.status not in DECIDABLE:
        raise InvalidRequest(
            f"case {case.number} is {case.status}; only a requested or reviewed case can be approved"
        )
    if decline_units:
        pick(case, decline_units, lambda line: line.authorization is not Authorization.DECLINED, "declined")
    case = approve(ctx, case, actor=actor, reason=note, decline_units=dict(decline_units or {}))
    tell_platform(ctx, case, "return.approve", actor=actor)
    return sync_logistics(ctx, case, actor=actor)


def merchant_decline(ctx: StepContext, case: Case, *, actor: str, reason: str) -> Case:
    if not reason.strip():
        raise InvalidRequest("declining needs a reason the customer can read")
    if case.status not in DECIDABLE:
        raise InvalidRequest(
            f"case {case.number} is {case.status}; only a requested or reviewed case can be declined"
        )
    for line in case.lines:
        line.authorization = Authorization.DECLINED
    case = fire(ctx, case, ReturnEvent.DECLINE, actor=actor, reason=reason)
    cancel_goods_clocks(ctx, case)
    cancel_refund_clocks(ctx, case)
    tell_platform(ctx, case, "return.decline", actor=actor, reason=reason)
    return case


def cancel(ctx: StepContext, case: Case, *, actor: str, reason: str | None = None) -> Case:
    """The customer (or the platform) takes the request back before any money moved."""
    case = _fire_if_allowed(ctx, case, ReturnEvent.CANCEL, actor=actor, reason=reason or "cancelled")
    cancel_goods_clocks(ctx, case)
    cancel_refund_clocks(ctx, case)
    return case


def tell_platform(
    ctx: StepContext, case: Case, action: str, *, actor: str, reason: str | None = None
) -> None:
    """Mirror our decision on the platform's own return (Shopify), unless the platform told us.

    Shopify's ``returnDeclineRequest`` takes a reason code (``RETURN_PERIOD_ENDED``,
    ``FINAL_SALE``, ``OTHER``) and a free-text note; the code is read off our own reasons.
    """
    return_id = case.data.get(PLATFORM_RETURN)
    if not isinstance(return_id, str) or actor == "platform":
        return
    params: dict[str, object] = {"return_id": return_id, "order_id": case.order_id}
    if action == "return.decline":
        params["reason"] = decline_code(reason or "")
        if reason:
            params["note"] = reason
    ctx.request_effect(
        f"platform:{case.shop_id}:{case.id}:{action}",
        "platform_action",
        platform_action(action, params),
        case_id=case.id,
    )


def decline_code(reason: str) -> str:
    """The platform's decline reason code for one of our reasons."""
    text = reason.lower()
    if "window ended" in text:
        return "RETURN_PERIOD_ENDED"
    if "excluded from returns" in text:
        return "FINAL_SALE"
    return "OTHER"


# -- logistics ---------------------------------------------------------------------------------------


def sync_logistics(ctx: StepContext, case: Case, *, actor: str) -> Case:
    """Bring the case status up to where its approved units are (goods may move before approval)."""
    units = approved(case)
    if case.status == ReturnStatus.APPROVED and units:
        if all(line.logistics in GOODS_BACK for line in units) and any(
            line.logistics is Logistics.RECEIVED for line in units
        ):
            case = fire(ctx, case, ReturnEvent.GOODS_RECEIVED, actor=actor)
        elif all(line.logistics in GOODS_SENT for line in units) and any(
            line.logistics is Logistics.IN_TRANSIT for line in units
        ):
            case = fire(ctx, case, ReturnEvent.DISPATCHED, actor=actor)
    return advance(ctx, case, actor=actor)


def mark_in_transit(
    ctx: StepContext,
    case: Case,
    *,
    actor: str,
    tracking_number: str,
    carrier: str | None = None,
    units: Mapping[str, int] | None = None,
) -> Case:
    """Proof of dispatch (a tracking number): for a withdrawal, the end of the right to withhold the refund."""
    if not tracking_number.strip():
        raise InvalidRequest("proof of dispatch needs a tracking number")
    lines = pick(case, units, lambda line: line.logistics is Logistics.AWAITING, "marked as sent")
    for line in lines:
        line.logistics = Logistics.IN_TRANSIT
    proofs = case.data.get("dispatch_proofs")
    case.data["dispatch_proofs"] = [
        *(proofs if isinstance(proofs, list) else []),
        {
            "tracking_number": tracking_number,
            "carrier": carrier,
            "at": ctx.now().isoformat(),
            "units": len(lines),
        },
    ]
    if case.status == ReturnStatus.APPROVED and any(
        line.logistics is Logistics.AWAITING for line in approved(case)
    ):
        ctx.save_case(case)  # part of the goods is on its way; the case waits for the rest
        return case
    case = _fire_if_allowed(
        ctx, case, ReturnEvent.DISPATCHED, actor=actor, reason=f"tracking {tracking_number}"
    )
    return advance(ctx, case, actor=actor)


def _waiting(line: CaseLine) -> bool:
    return line.logistics in (Logistics.AWAITING, Logistics.IN_TRANSIT)


def receive(
    ctx: StepContext,
    case: Case,
    *,
    actor: str,
    received: Mapping[str, int] | None = None,
    wrong_item: Mapping[str, int] | None = None,
    disposition: Mapping[str, Disposition] | None = None,
) -> Case:
    """Goods at the warehouse: per unit received (with an optional disposition) or the wrong item."""
    if received is None and wrong_item is None:
        got = pick(case, None, _waiting, "received")  # everything still expected arrived
    else:
        got = pick(case, received, _waiting, "received") if received else []
    for line in got:
        line.logistics = Logistics.RECEIVED
        chosen = (disposition or {}).get(line.line_item_id)
        if chosen is not None:
            line.disposition = chosen
    wrong = pick(case, wrong_item, _waiting, "received") if wrong_item else []
    for line in wrong:
        line.logistics = Logistics.WRONG_ITEM
    if any(line.logistics is Logistics.RECEIVED for line in got):
        case.data["goods_back_at"] = ctx.now().isoformat()
    if wrong:
        reason = f"{len(wrong)} unit(s) came back as the wrong item"
        case = _fire_if_allowed(ctx, case, ReturnEvent.WRONG_ITEM, actor=actor, reason=reason)
        case = _review_if_still_open(ctx, case, actor=actor, reason=reason)
        return case
    if any(_waiting(line) for line in approved(case)):
        ctx.save_case(case)  # a partial parcel: the rest is still expected
        return case
    cancel_goods_clocks(ctx, case)
    case = _fire_if_allowed(ctx, case, ReturnEvent.GOODS_RECEIVED, actor=actor, reason=None)
    if case.status == ReturnStatus.RECEIVED and all(
        line.disposition is not Disposition.UNDECIDED for line in approved(case)
    ):
        case = fire(ctx, case, ReturnEvent.INSPECTED, actor=actor)
    return advance(ctx, case, actor=actor)


def inspect(
    ctx: StepContext, case: Case, *, actor: str, disposition: Mapping[str, Mapping[str, int]]
) -> Case:
    """Dispositions after inspection: ``{"restock": {line: qty}, "not_restocked": {...}, "repair": {...}}``."""
    for kind, wanted in disposition.items():
        value = Disposition(kind)
        lines = pick(
            case,
            wanted,
            lambda line: line.logistics is Logistics.RECEIVED and line.disposition is Disposition.UNDECIDED,
            "inspected",
        )
        for line in lines:
            line.disposition = value
    if any(
        line.logistics is Logistics.RECEIVED and line.disposition is Disposition.UNDECIDED
        for line in case.lines
    ):
        ctx.save_case(case)
        return case
    case = _fire_if_allowed(ctx, case, ReturnEvent.INSPECTED, actor=actor, reason=None)
    return advance(ctx, case, actor=actor)


def mark_lost(ctx: StepContext, case: Case, *, actor: str, reason: str | None = None) -> Case:
    """The carrier lost the parcel: a person decides (the customer's proof of dispatch may still oblige us)."""
    lines = pick(case, None, lambda line: line.logistics is Logistics.IN_TRANSIT, "marked as lost")
    for line in lines:
        line.logistics = Logistics.LOST
    why = reason or f"{len(lines)} unit(s) lost in transit"
    case = _fire_if_allowed(ctx, case, ReturnEvent.GOODS_LOST, actor=actor, reason=why)
    return _review_if_still_open(ctx, case, actor=actor, reason=why)


def _review_if_still_open(ctx: StepContext, case: Case, *, actor: str, reason: str) -> Case:
    """Tell the merchant; the case went to (or stayed in) review unless its money already moved."""
    if case.status in SETTLING:
        notices.alert_merchant(ctx, case, "goods problem after refund", reason, key=f"goods:{case.version}")
        return case
    if case.status == ReturnStatus.MANUAL_REVIEW:
        notices.alert_merchant(ctx, case, "manual review", reason, key=f"review:{case.version}")
    return case


# -- settlement by a person ------------------------------------------------------------------------------


def settle(ctx: StepContext, case: Case, *, actor: str, force: bool = False, note: str | None = None) -> Case:
    """Refund now (``refund_trigger: manual``, or after a review); ``force`` pays wrong/lost units too."""
    if case.status not in (
        ReturnStatus.MANUAL_REVIEW,
        ReturnStatus.APPROVED,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
    ):
        raise InvalidRequest(f"case {case.number} is {case.status}; there is nothing to refund now")
    if case.status == ReturnStatus.MANUAL_REVIEW:
        for line in case.lines:
            if line.authorization in (Authorization.PENDING, Authorization.MANUAL_REVIEW):
                line.authorization = Authorization.APPROVED
    return request_refund(
        ctx, case, actor=actor, reason=note or "refund approved by the merchant", force=force
    )
