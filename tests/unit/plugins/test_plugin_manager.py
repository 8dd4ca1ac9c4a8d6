"""The plugin manager: loading rules, registration records, decision and observer semantics."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import structlog

from aftersales import hookimpl
from aftersales.decisions import (
    ComplaintDecision,
    Deduction,
    DeductionKind,
    Eligibility,
    GuaranteeExclusion,
    PickupOrder,
    Remedy,
)
from aftersales.domain import Case, CaseType, LineItem, Money, Order, Platform, StockLevel
from aftersales.notify.message import DeliveryReceipt, Message
from aftersales.plugins import DecisionHookFailed, PluginError, load_plugins

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _order() -> Order:
    pln = "PLN"
    return Order(
        id="1",
        number="1001",
        platform=Platform.FAKE,
        currency=pln,
        created_at=NOW,
        line_items=[
            LineItem(
                id="11",
                quantity=1,
                subtotal=Money("100.00", pln),
                discount=Money.zero(pln),
                tax=Money.zero(pln),
            )
        ],
        total=Money("100.00", pln),
    )


def _case() -> Case:
    return Case(
        id="c1", number="W-2026-000001", shop_id="s", type=CaseType.WITHDRAWAL, status="new", opened_at=NOW
    )


class _Channel:
    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Message) -> DeliveryReceipt:
        return DeliveryReceipt(channel=self.name, accepted=True)


def test_two_plugins_registering_the_same_channel_name_fail_the_start() -> None:
    class A:
        @hookimpl
        def aftersales_register_channels(self, register: Any) -> None:
            register(_Channel("sms"))

    class B:
        @hookimpl
        def aftersales_register_channels(self, register: Any) -> None:
            register(_Channel("sms"))

    plugins = load_plugins(entrypoints=False, builtins=(), extra=[A(), B()])
    with pytest.raises(PluginError, match="two plugins registered the channel 'sms'"):
        plugins.channels()


def test_a_misspelt_hook_implementation_fails_at_start() -> None:
    class Typo:
        @hookimpl
        def aftersales_case_transiton(self, case: Case) -> None:  # missing "i"
            pass

    with pytest.raises(PluginError, match="unknown hook implementation"):
        load_plugins(entrypoints=False, builtins=(), extra=[Typo()])


def test_a_raising_decision_hook_fails_closed() -> None:
    class Broken:
        @hookimpl
        def aftersales_return_eligibility(self, case: Case, order: Order, policy: Any) -> Eligibility:
            raise RuntimeError("policy service down")

    plugins = load_plugins(entrypoints=False, builtins=(), extra=[Broken()])
    with pytest.raises(DecisionHookFailed, match="policy service down") as info:
        plugins.return_eligibility(_case(), _order(), None)
    assert info.value.hook == "aftersales_return_eligibility"


def test_a_raising_observer_is_logged_by_name_and_the_others_still_run() -> None:
    seen: list[str] = []

    class Bad:
        @hookimpl
        def aftersales_case_transition(self, case: Case, old: str, new: str, event: str) -> None:
            raise ValueError("boom")

    class Good:
        @hookimpl
        def aftersales_case_transition(self, case: Case, old: str, new: str, event: str) -> None:
            seen.append(f"{old}->{new}:{event}")

    plugins = load_plugins(entrypoints=False, builtins=(), extra=[Bad(), Good()])
    with structlog.testing.capture_logs() as logs:
        plugins.case_transition(_case(), "new", "approved", "auto_approve")
    assert seen == ["new->approved:auto_approve"]
    failures = [e for e in logs if e["event"] == "observer_failed"]
    assert len(failures) == 1
    assert failures[0]["hook"] == "aftersales_case_transition"
    assert "boom" in failures[0]["error"]


def test_every_decision_hook_reaches_the_first_plugin_that_answers() -> None:
    pln = "PLN"

    class Answers:
        @hookimpl
        def aftersales_return_eligibility(self, case: Case, order: Order, policy: Any) -> Eligibility:
            return Eligibility(eligible=True, auto_approve=True, reasons=("inside the window",))

        @hookimpl
        def aftersales_refund_adjustments(self, case: Case, quote: Any) -> list[Deduction]:
            return [
                Deduction(kind=DeductionKind.DIMINISHED_VALUE, amount=Money("5.00", pln), reason="scratched")
            ]

        @hookimpl
        def aftersales_complaint_decision(self, case: Case) -> ComplaintDecision:
            return ComplaintDecision(accept=True, remedy=Remedy.REPAIR, reason="known defect")

        @hookimpl
        def aftersales_guarantee_exclusion(
            self, order: Order, shipment: Any, policy: Any
        ) -> GuaranteeExclusion:
            return GuaranteeExclusion(reason="marketplace order")

        @hookimpl
        def aftersales_restock_wave(self, variant: StockLevel, available: int, queue: int) -> int:
            return min(queue, available * 2)

        @hookimpl
        def aftersales_request_pickup(self, case: Case, order: Order | None) -> PickupOrder:
            return PickupOrder(reference="PU-1", carrier="test")

    class Silent:
        @hookimpl
        def aftersales_return_eligibility(self, case: Case, order: Order, policy: Any) -> None:
            return None

        @hookimpl
        def aftersales_refund_adjustments(self, case: Case, quote: Any) -> None:
            return None

    plugins = load_plugins(entrypoints=False, builtins=(), extra=[Answers(), Silent()])
    case, order = _case(), _order()
    eligibility = plugins.return_eligibility(case, order, None)
    assert eligibility is not None and eligibility.auto_approve
    assert [d.amount.amount for d in plugins.refund_adjustments(case, None)] == [Decimal("5.00")]
    decision = plugins.complaint_decision(case)
    assert decision is not None and decision.remedy is Remedy.REPAIR
    exclusion = plugins.guarantee_exclusion(order, None, None)
    assert exclusion is not None and exclusion.reason == "marketplace order"
    assert plugins.restock_wave(StockLevel(product_id="p", in_stock=True, available=3), 3, 100) == 6
    pickup = plugins.request_pickup(case, order)
    assert pickup is not None and pickup.reference == "PU-1"


def test_notification_render_observers_may_edit_the_message() -> None:
    class Footer:
        @hookimpl
        def aftersales_notification_render(self, message: Message) -> None:
            message.text += "\n-- Example shop"

    plugins = load_plugins(entrypoints=False, builtins=(), extra=[Footer()])
    message = Message(shop_id="s", to="a@example.com", template="case_status", text="Hello")
    plugins.notification_render(message)
    assert message.text.endswith("-- Example shop")


def test_effect_done_observers_receive_the_ledger_row() -> None:
    got: list[dict[str, object]] = []

    class Audit:
        @hookimpl
        def aftersales_effect_done(self, effect: dict[str, object]) -> None:
            got.append(effect)

    plugins = load_plugins(entrypoints=False, builtins=(), extra=[Audit()])
    plugins.effect_done({"effect_key": "k", "state": "confirmed"})
    assert got == [{"effect_key": "k", "state": "confirmed"}]


def test_register_platforms_collects_adapters_by_name() -> None:
    class Adapter:
        name = "acme"

    class Acme:
        @hookimpl
        def aftersales_register_platforms(self, register: Any) -> None:
            register(Adapter())

    plugins = load_plugins(entrypoints=False, builtins=(), extra=[Acme()])
    assert list(plugins.platforms()) == ["acme"]
    with pytest.raises(PluginError, match="no platform plugin named 'nope'"):
        plugins.platform("nope")


def test_environment_chooses_which_entry_points_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_LOAD_PLUGINS", "shopify")
    only = load_plugins(builtins=())
    assert "woocommerce" not in only.platforms()
    monkeypatch.delenv("AFTERSALES_LOAD_PLUGINS")
    monkeypatch.setenv("AFTERSALES_DISABLE_PLUGINS", "shopify,woocommerce")
    none = load_plugins(builtins=())
    assert none.platforms() == {}
