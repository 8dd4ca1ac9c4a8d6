"""Built-in ``aftersales_return_eligibility``: the shop policy's return rules, as an ordinary plugin.

Registered first, so it answers last: a plugin that answers (``tryfirst`` or registered
later) overrides it. Whatever any plugin answers, the workflow then applies the statutory
floor (:func:`aftersales.workflows.returns.eligibility.apply_statutory_floor`): a withdrawal
inside the 14-day window is never declined without a person.

The windows themselves are on the case (``case.deadlines``), computed by the workflow from
the law's clocks before this hook is called, so every plugin judges against the same dates.
"""

from __future__ import annotations

from aftersales import hookimpl
from aftersales.decisions import Eligibility
from aftersales.domain import Case, CaseType, Order
from aftersales.policy.schema import Policy
from aftersales.workflows.returns.eligibility import decide, rules_from_policy


@hookimpl
def aftersales_return_eligibility(case: Case, order: Order, policy: Policy) -> Eligibility | None:
    """Windows, excluded tags and ``returns.auto_approve`` from the policy."""
    if case.type not in (CaseType.WITHDRAWAL, CaseType.RETURN):
        return None
    return decide(case, order, rules_from_policy(policy)).freeze()
