"""Which deductions the law lets a shop keep back from a refund, per case type and jurisdiction.

Plugins propose deductions (``aftersales_refund_adjustments``); this module is the core's filter
that they cannot get around. It fails closed: a kind that is not explicitly allowed for a case
type is refused, so a new case type never silently starts charging customers.

The rules (PL first, the EU directive as the default for every other jurisdiction):

- **statutory withdrawal** — withdrawing costs the consumer nothing except the direct cost of
  sending the goods back (when the trader said so and did not offer to carry it) and the
  diminished value from handling the goods beyond what was needed to check them
  (art. 34 ust. 2 and 4 u.p.k.; Directive 2011/83/EU art. 13-14). No restocking fee, no fee
  for the withdrawal itself.
- **complaint (non-conformity)** and **warranty claims** — the trader bears the cost of the
  remedy, returning the goods included (art. 43d-43f u.p.k.; Directive 2019/771 art. 14, 16);
  nothing is deducted. A commercial guarantee may not worsen the statutory position, so the
  engine deducts nothing there either; a merchant who wants to can do it by hand.
- **shipping-guarantee payout** — a fixed compensation the shop promised; nothing is deducted.
- **commercial return** and **goodwill** — the shop's own terms: every kind is allowed.

Every deduction needs a reason a customer can read (the refund note quotes it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aftersales.decisions import Deduction, DeductionKind
from aftersales.domain import CaseType

EU_EEA = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
        "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO", "EU",
    }
)  # fmt: skip
"""Jurisdictions where Directive 2011/83/EU (consumer rights) applies directly or through the EEA."""


@dataclass(frozen=True)
class ReturnShippingTerms:
    """Who carries the cost of sending goods back, as the shop's policy and the case say.

    ``customer_pays``: the policy says the customer pays return shipping (and the customer was
    told so before the contract: otherwise the trader bears it, art. 34 ust. 2 u.p.k.).
    ``prepaid_label``: the customer got the shop's prepaid label for this case, so the customer
    had no cost of their own to carry.
    """

    customer_pays: bool = False
    prepaid_label: bool = False


def _withdrawal_law(jurisdiction: str) -> str:
    if jurisdiction == "PL":
        return "art. 34 u.p.k. (Directive 2011/83/EU art. 13-14)"
    if jurisdiction in EU_EEA:
        return "Directive 2011/83/EU art. 13-14"
    return f"Directive 2011/83/EU art. 13-14 (EU default profile; no own profile for {jurisdiction})"


def _complaint_law(jurisdiction: str) -> str:
    if jurisdiction == "PL":
        return "art. 43d-43f u.p.k. (Directive 2019/771 art. 14, 16)"
    return "Directive 2019/771 art. 14, 16"


def refusal(
    deduction: Deduction, case_type: CaseType, jurisdiction: str, shipping: ReturnShippingTerms
) -> str | None:
    """Why ``deduction`` may not be kept back in this case, or None when it may."""
    if not deduction.reason.strip():
        return "a deduction needs a reason the customer can read; none was given"
    kind = deduction.kind
    if case_type is CaseType.WITHDRAWAL:
        law = _withdrawal_law(jurisdiction)
        if kind is DeductionKind.RESTOCKING_FEE:
            return (
                f"a statutory withdrawal is free of charge: no restocking fee or fee for the withdrawal "
                f"itself ({law})"
            )
        if kind is DeductionKind.RETURN_SHIPPING:
            if not shipping.customer_pays:
                return (
                    "the shop's policy does not put the cost of returning the goods on the customer, "
                    f"so the trader bears it ({law})"
                )
            if shipping.prepaid_label:
                return (
                    "the customer sent the goods back with the shop's prepaid label and had no return "
                    f"cost of their own ({law})"
                )
            return None
        if kind is DeductionKind.DIMINISHED_VALUE:
            return None  # art. 34 ust. 4 u.p.k.: handling beyond what was needed to check the goods
    elif case_type in (CaseType.COMPLAINT, CaseType.WARRANTY):
        return (
            "a claim about goods not in conformity with the contract is free of charge to the "
            f"consumer: the trader bears the costs, returning the goods included ({_complaint_law(jurisdiction)})"
        )
    elif case_type is CaseType.GUARANTEE_PAYOUT:
        return (
            "a shipping-guarantee payout is the compensation the shop promised; nothing is deducted from it"
        )
    elif case_type in (CaseType.RETURN, CaseType.GOODWILL):
        return None  # the shop's own commercial terms
    return f"deductions of kind {kind.value} are not allowed for {case_type.value} cases"


def judge(
    deductions: Iterable[Deduction],
    case_type: CaseType,
    jurisdiction: str,
    shipping: ReturnShippingTerms,
) -> tuple[list[Deduction], list[tuple[Deduction, str]]]:
    """Split ``deductions`` into the allowed ones and the refused ones (each with its reason)."""
    allowed: list[Deduction] = []
    refused: list[tuple[Deduction, str]] = []
    for deduction in deductions:
        why = refusal(deduction, case_type, jurisdiction, shipping)
        if why is None:
            allowed.append(deduction)
        else:
            refused.append((deduction, why))
    return allowed, refused
