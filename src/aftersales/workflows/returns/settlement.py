"""When a return's money moves, for which units, and under which idempotency key.

The policy's ``returns.refund_trigger`` says when a merchant wants to pay back:
``on_approval``, ``on_dispatch_proof``, ``on_receipt``, ``on_inspection`` or ``manual``.
The law caps it for a statutory withdrawal: the trader may withhold the refund only until
the goods are back *or* the consumer proves dispatch, whichever comes first (art. 32 ust. 3
u.p.k. / Directive 2011/83/EU art. 13(3)). So for a withdrawal ``on_receipt`` and
``on_inspection`` become "dispatch proof or receipt", and ``manual`` is backed by the
refund-due timer that pays on the last day when nothing lawful is left to wait for.

Pure functions over the case axes; the workflow steps call them after every change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum

from aftersales.domain import Authorization, Case, CaseLine, CaseType, Disposition, Logistics, Settlement
from aftersales.workflows.returns.eligibility import RETURN_TYPES
from aftersales.workflows.returns.states import SETTLING, VOID


class RefundTrigger(StrEnum):
    ON_APPROVAL = "on_approval"
    ON_DISPATCH_PROOF = "on_dispatch_proof"
    ON_RECEIPT = "on_receipt"
    ON_INSPECTION = "on_inspection"
    MANUAL = "manual"


GOODS_BACK = frozenset({Logistics.RECEIVED, Logistics.NOT_REQUIRED})
GOODS_SENT = GOODS_BACK | {Logistics.IN_TRANSIT}
TROUBLE = frozenset({Logistics.WRONG_ITEM, Logistics.LOST})
"""Logistics outcomes a person must look at before money moves for that unit."""
OPEN_SETTLEMENT = frozenset({Settlement.NONE, Settlement.FAILED})
EXTERNAL_UNITS = "external_units"
"""``Case.data`` key: {line_item_id: units} settled by refunds made in the shop admin."""
EXTERNAL_REFUNDS = "external_refunds"
"""``Case.data`` key: ids of platform refunds this case took over as its settlement."""
SETTLEMENT_STEP = "settlement_step"
"""``Case.data`` key: how many refunds were asked for (part of the idempotency key)."""


def effective_trigger(case_type: CaseType, policy_trigger: str) -> RefundTrigger:
    """The policy's trigger, as far as the law lets the shop wait (see the module docstring)."""
    trigger = RefundTrigger(policy_trigger)
    if case_type is CaseType.GOODWILL:
        return RefundTrigger.ON_APPROVAL
    if case_type is CaseType.WITHDRAWAL and trigger in (
        RefundTrigger.ON_RECEIPT,
        RefundTrigger.ON_INSPECTION,
    ):
        return RefundTrigger.ON_DISPATCH_PROOF
    return trigger


def approved(case: Case) -> list[CaseLine]:
    return [line for line in case.lines if line.authorization is Authorization.APPROVED]


def unsettled(case: Case) -> list[CaseLine]:
    """Approved units whose money has not moved (or whose refund failed and may be retried)."""
    return [line for line in approved(case) if line.settlement in OPEN_SETTLEMENT]


def payable(case: Case, *, force: bool = False) -> list[CaseLine]:
    """Units the next refund pays for: unsettled, and not the wrong item or lost (unless forced)."""
    return [line for line in unsettled(case) if force or line.logistics not in TROUBLE]


def trigger_reached(case: Case, trigger: RefundTrigger) -> bool:
    """Whether every unit still to be paid has reached the point the trigger waits for."""
    lines = unsettled(case)
    if not lines or trigger is RefundTrigger.MANUAL:
        return False
    if any(line.authorization in (Authorization.PENDING, Authorization.MANUAL_REVIEW) for line in case.lines):
        return False
    if any(line.logistics in TROUBLE for line in lines):
        return False
    if trigger is RefundTrigger.ON_APPROVAL:
        return True
    if trigger is RefundTrigger.ON_DISPATCH_PROOF:
        return all(line.logistics in GOODS_SENT for line in lines)
    if trigger is RefundTrigger.ON_RECEIPT:
        return all(line.logistics in GOODS_BACK for line in lines)
    return all(
        line.logistics is Logistics.NOT_REQUIRED
        or (line.logistics is Logistics.RECEIVED and line.disposition is not Disposition.UNDECIDED)
        for line in lines
    )


def withholding_ended(case: Case) -> bool:
    """For a withdrawal: the goods are back or dispatch is proven for every unit to be paid.

    From then on the trader has no lawful reason left to wait (art. 32 ust. 3 u.p.k.).
    """
    lines = unsettled(case)
    return bool(lines) and all(line.logistics in GOODS_SENT for line in lines)


def goods_settled(case: Case) -> bool:
    """No unit is still expected back (received, lost, the wrong item, or never needed)."""
    return all(line.logistics not in (Logistics.AWAITING, Logistics.IN_TRANSIT) for line in approved(case))


def refund_effect_key(case: Case, step: int) -> str:
    """The idempotency key of the ``step``-th refund of ``case``.

    Derived from the case and the settlement step only, never from time or a random value:
    a redelivered webhook or a worker restarted after a crash derives the same key, and the
    ledger (and the platform: Shopify ``@idempotent``, WooCommerce's meta_data marker) then
    refuses to pay twice. A new step exists only after a refund definitively failed.
    """
    return f"refund:{case.shop_id}:{case.id}:{step}"


def units(lines: Iterable[CaseLine]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for line in lines:
        counts[line.line_item_id] += line.quantity
    return dict(counts)


def external_units(case: Case) -> Counter[str]:
    raw = case.data.get(EXTERNAL_UNITS)
    counts: Counter[str] = Counter()
    if isinstance(raw, dict):
        for line_id, qty in raw.items():
            if isinstance(qty, int):
                counts[str(line_id)] += qty
    return counts


def earlier_returns(case: Case, cases: Iterable[Case]) -> dict[str, int]:
    """Units of each order line that other return cases took before this one (for unit pricing).

    The calculator prices a line's units one by one; an earlier case takes the first units.
    "Earlier" is: opened before this case, or already settling (its price is fixed). Units a
    case settled through a refund made in the shop admin are left out: the calculator counts
    those from the order's refunds already.
    """
    counts: Counter[str] = Counter()
    for other in cases:
        if other.id == case.id or other.type not in RETURN_TYPES or other.status in VOID:
            continue
        if not (other.opened_at < case.opened_at or other.status in SETTLING):
            continue
        held = Counter(
            units(line for line in other.lines if line.authorization is not Authorization.DECLINED)
        )
        held.subtract(external_units(other))
        counts.update({k: v for k, v in held.items() if v > 0})
    return dict(counts)
