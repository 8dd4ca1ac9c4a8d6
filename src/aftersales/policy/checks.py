"""Checks that need the whole policy: legal floors of the jurisdiction, and consistency.

Two outcomes besides "fine":

- **error** — the policy would undercut the law or contradict itself; it is rejected with
  the rule it breaks (a withdrawal window below 14 days, a restocking fee on a statutory
  withdrawal, a complaint answered after the legal maximum, money finer than the currency);
- **warning + clamp** — a *commercial* field set below what the law gives anyway is raised
  to the legal value and the merchant is told. Clamped fields (the choice made here):
  ``returns.goods_due_days`` (the consumer always has 14 days to send goods back,
  art. 34 ust. 1 u.p.k.) and ``complaints.remedies`` (the consumer keeps every statutory
  remedy, art. 43d-43e u.p.k.). Neither can harm the merchant's own legal position, which
  is why they are clamped instead of rejected; the return window itself is *rejected*
  below the floor, because a shorter window printed on the shop's site misleads customers.

Each finding carries the path of the key it is about, so the loader can point at the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from aftersales.domain.money import minor_units, quantum
from aftersales.policy.schema import STATUTORY_REMEDIES, Policy

__all__ = ["Finding", "check_policy_rules"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """One problem found in a parsed policy, located by key path."""

    loc: Loc
    message: str
    severity: Literal["error", "warning"] = "error"


def check_policy_rules(policy: Policy) -> tuple[Policy, list[Finding]]:
    """Return the policy (with clamped fields) and every finding, errors and warnings."""
    findings: list[Finding] = []
    findings += _money_precision(policy)
    findings += _returns(policy)
    findings += _complaints(policy)
    findings += _guarantee(policy)
    policy = _clamp(policy, findings)
    return policy, findings


# -- legal floors ---------------------------------------------------------------------------------------


def _returns(policy: Policy) -> list[Finding]:
    prof = policy.profile
    returns = policy.returns
    out: list[Finding] = []
    if returns.window_days < prof.withdrawal_days:
        out.append(
            Finding(
                ("returns", "window_days"),
                f"returns.window_days {returns.window_days} is below the legal minimum of "
                f"{prof.withdrawal_days} days: {prof.withdrawal_floor_message}",
            )
        )
    if returns.refund_shipping == "none":
        out.append(
            Finding(
                ("returns", "refund_shipping"),
                "returns.refund_shipping none is unlawful: on withdrawal of the whole order the cheapest "
                f"standard delivery is refunded ({prof.refund_rule}); use standard or paid",
            )
        )
    fee = returns.restocking_fee
    if fee is not None:
        if "withdrawal" in fee.applies_to:
            index = fee.applies_to.index("withdrawal")
            out.append(
                Finding(
                    ("returns", "restocking_fee", "applies_to", index),
                    "a restocking fee may not be charged on a statutory withdrawal: the consumer bears no cost "
                    f"of withdrawing beyond the direct cost of sending the goods back ({prof.withdrawal_cost_rule})",
                )
            )
        elif returns.window_days <= prof.withdrawal_days:
            out.append(
                Finding(
                    ("returns", "restocking_fee"),
                    f"returns.restocking_fee never applies: with returns.window_days {returns.window_days} every "
                    f"return falls inside the {prof.withdrawal_days}-day statutory withdrawal window, where no fee "
                    "is allowed",
                    "warning",
                )
            )
    if returns.refund_trigger in ("on_receipt", "on_inspection", "manual"):
        out.append(
            Finding(
                ("returns", "refund_trigger"),
                f"returns.refund_trigger {returns.refund_trigger} applies to commercial returns only: statutory "
                "withdrawals are refunded once the goods are back or proof of their dispatch arrives, whichever "
                f"comes first ({prof.refund_withholding_rule})",
                "warning",
            )
        )
    if returns.goods_due_days < prof.goods_return_days:
        out.append(
            Finding(
                ("returns", "goods_due_days"),
                f"returns.goods_due_days {returns.goods_due_days} raised to {prof.goods_return_days}: the consumer "
                f"has {prof.goods_return_days} days from the withdrawal statement to send the goods back "
                f"({prof.goods_return_rule})",
                "warning",
            )
        )
    return out


def _complaints(policy: Policy) -> list[Finding]:
    prof = policy.profile
    complaints = policy.complaints
    out: list[Finding] = []
    if complaints.answer_within_days > prof.complaint_answer_days:
        out.append(
            Finding(
                ("complaints", "answer_within_days"),
                f"complaints.answer_within_days {complaints.answer_within_days} exceeds the legal maximum of "
                f"{prof.complaint_answer_days} days ({prof.complaint_answer_rule})",
            )
        )
    for index, day in enumerate(complaints.reminder_days):
        if day >= complaints.answer_within_days:
            out.append(
                Finding(
                    ("complaints", "reminder_days", index),
                    f"reminder on day {day} comes too late: the answer is due within "
                    f"{complaints.answer_within_days} days (complaints.answer_within_days)",
                )
            )
    missing = [r for r in STATUTORY_REMEDIES if r not in complaints.remedies]
    if missing:
        out.append(
            Finding(
                ("complaints", "remedies"),
                f"complaints.remedies omits {', '.join(missing)}: the consumer keeps every statutory remedy "
                "(art. 43d-43e u.p.k. / Directive 2019/771 art. 13), so the complaint form offers "
                f"{'it' if len(missing) == 1 else 'them'} anyway",
                "warning",
            )
        )
    return out


# -- consistency --------------------------------------------------------------------------------------


def _guarantee(policy: Policy) -> list[Finding]:
    guarantee = policy.guarantee
    out: list[Finding] = []
    payout = guarantee.payout
    if guarantee.enabled and payout.kind == "fixed" and not payout.amount:
        out.append(
            Finding(
                ("guarantee", "payout", "amount") if payout.amount is not None else ("guarantee", "payout"),
                'an enabled guarantee with payout kind "fixed" needs guarantee.payout.amount (e.g. "50.00")',
            )
        )
    if payout.kind == "shipping_fee" and payout.amount is not None:
        out.append(
            Finding(
                ("guarantee", "payout", "amount"),
                "guarantee.payout.amount is ignored when kind is shipping_fee (the payout is the shipping fee paid)",
                "warning",
            )
        )
    cap = guarantee.caps.per_order
    if cap is not None and payout.kind == "fixed" and payout.amount is not None and cap < payout.amount:
        out.append(
            Finding(
                ("guarantee", "caps", "per_order"),
                f"guarantee.caps.per_order {cap} is below the payout amount {payout.amount}: payouts will be cut to it",
                "warning",
            )
        )
    return out


def _money_precision(policy: Policy) -> list[Finding]:
    currency = policy.shop.currency
    fee = policy.returns.restocking_fee
    amounts: list[tuple[Loc, Decimal | None]] = [
        (("returns", "auto_approve", "max_value"), policy.returns.auto_approve.max_value),
        (
            ("returns", "restocking_fee", "amount"),
            fee.amount if fee else None,
        ),
        (("guarantee", "payout", "amount"), policy.guarantee.payout.amount),
        (("guarantee", "caps", "per_order"), policy.guarantee.caps.per_order),
        (("guarantee", "caps", "per_customer_per_month"), policy.guarantee.caps.per_customer_per_month),
        (("guarantee", "caps", "per_month"), policy.guarantee.caps.per_month),
    ]
    out: list[Finding] = []
    for loc, amount in amounts:
        if amount is not None and amount != amount.quantize(quantum(currency)):
            out.append(
                Finding(
                    loc,
                    f"{'.'.join(map(str, loc))} {amount} has more decimal places than {currency} allows "
                    f"({minor_units(currency)})",
                )
            )
    return out


# -- clamping -----------------------------------------------------------------------------------------


def _clamp(policy: Policy, findings: list[Finding]) -> Policy:
    """Apply the clamps announced by warnings (only when the policy has no errors to report)."""
    if any(f.severity == "error" for f in findings):
        return policy
    prof = policy.profile
    returns = policy.returns
    complaints = policy.complaints
    if returns.goods_due_days < prof.goods_return_days:
        returns = returns.model_copy(update={"goods_due_days": prof.goods_return_days})
    if any(r not in complaints.remedies for r in STATUTORY_REMEDIES):
        missing = [r for r in STATUTORY_REMEDIES if r not in complaints.remedies]
        complaints = complaints.model_copy(update={"remedies": [*complaints.remedies, *missing]})
    if returns is policy.returns and complaints is policy.complaints:
        return policy
    return policy.model_copy(update={"returns": returns, "complaints": complaints})
