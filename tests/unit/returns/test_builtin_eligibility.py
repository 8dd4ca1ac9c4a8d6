"""The built-in eligibility plugin through the real plugin manager, and how plugins override it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from aftersales import hookimpl
from aftersales.decisions import Eligibility
from aftersales.domain import Case, CaseType, Order
from aftersales.plugins import DecisionHookFailed, load_plugins
from aftersales.policy.schema import Policy
from aftersales.workflows.returns.eligibility import RETURN_WINDOW, WITHDRAWAL_WINDOW

OrderFactory = Callable[..., Order]
CaseFactory = Callable[..., Case]
WINDOWS = {
    WITHDRAWAL_WINDOW: datetime(2026, 3, 16, 23, tzinfo=UTC),
    RETURN_WINDOW: datetime(2026, 4, 1, 22, tzinfo=UTC),
}


def policy(**returns: Any) -> Policy:
    return Policy.model_validate(
        {
            "shop": {"name": "Sklep", "jurisdiction": "PL", "currency": "PLN", "timezone": "Europe/Warsaw"},
            "returns": {"window_days": 30, **returns},
        }
    )


def test_the_builtin_plugin_applies_the_policy(make_order: OrderFactory, make_case: CaseFactory) -> None:
    plugins = load_plugins(entrypoints=False)
    case = make_case(
        CaseType.RETURN,
        lines=[("L2", "wrong_size")],
        deadlines=WINDOWS,
        statement_at=datetime(2026, 3, 25, tzinfo=UTC),
    )
    generous = policy(auto_approve={"max_value": "60.00", "reasons": ["wrong_size"]})
    answer = plugins.return_eligibility(case, make_order(), generous)
    assert answer == Eligibility(
        eligible=True, auto_approve=True, reasons=("value 50.00 PLN within the auto-approve limit 60.00 PLN",)
    )
    strict = policy(excluded_tags=["final-sale"])
    answer = plugins.return_eligibility(case, make_order(line_tags={"L2": ["final-sale"]}), strict)
    assert answer is not None
    assert not answer.eligible


def test_the_builtin_plugin_leaves_other_case_types_alone(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    plugins = load_plugins(entrypoints=False)
    assert plugins.return_eligibility(make_case(CaseType.GOODWILL), make_order(), policy()) is None


class BusinessCustomers:
    """A shop's own rule: B2B orders have no statutory withdrawal."""

    @hookimpl(tryfirst=True)
    def aftersales_return_eligibility(self, case: Case, order: Order, policy: Policy) -> Eligibility | None:
        if "b2b" in order.tags:
            return Eligibility(eligible=False, reasons=("business customer",))
        return None


class Broken:
    @hookimpl
    def aftersales_return_eligibility(self, case: Case, order: Order, policy: Policy) -> Eligibility | None:
        raise RuntimeError("eligibility service is down")


def test_a_plugin_answering_first_overrides_the_builtin(
    make_order: OrderFactory, make_case: CaseFactory
) -> None:
    plugins = load_plugins(entrypoints=False, extra=[BusinessCustomers()])
    case = make_case(CaseType.WITHDRAWAL, deadlines=WINDOWS, statement_at=datetime(2026, 3, 10, tzinfo=UTC))
    answer = plugins.return_eligibility(case, make_order(tags=["b2b"]), policy())
    assert answer == Eligibility(eligible=False, reasons=("business customer",))
    answer = plugins.return_eligibility(case, make_order(), policy())
    assert answer is not None
    assert answer.auto_approve


def test_a_failing_plugin_fails_closed(make_order: OrderFactory, make_case: CaseFactory) -> None:
    plugins = load_plugins(entrypoints=False, extra=[Broken()])
    with pytest.raises(DecisionHookFailed, match="eligibility service is down"):
        plugins.return_eligibility(make_case(deadlines=WINDOWS), make_order(), policy())
