"""Durable clocks of a return: refund-deadline escalation, payment at the deadline, goods that never come."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aftersales import hookimpl
from aftersales.decisions import Eligibility
from aftersales.domain import Case, Order

EMAIL = "john.doe@example.com"
MERCHANT = "obsluga@example.pl"


@pytest.fixture
def refund_trigger() -> str:
    return "manual"


def withdraw(shop: Any, line: str = "316") -> dict[str, Any]:
    shop.add_order()
    return dict(
        shop.command("request_withdrawal", order_number="727", email=EMAIL, lines=[{"line_item_id": line}])
    )


def test_the_merchant_is_warned_before_the_refund_deadline_and_the_engine_pays_on_the_last_day(
    shop: Any,
) -> None:
    # statement Monday 2 March 2026 → refund due by Monday 16 March (art. 32 u.p.k.)
    case = withdraw(shop)
    number = case["case_number"]
    assert case["status"] == "approved"
    timers = shop.timers(number)
    assert timers["returns.refund_escalation"] == (datetime(2026, 3, 12, 7, 0, tzinfo=UTC), "pending")
    assert timers["returns.refund_due"] == (datetime(2026, 3, 15, 23, 0, tzinfo=UTC), "pending")

    shop.advance(timedelta(days=9, hours=21))  # Wednesday 11 March 06:00 UTC: nothing yet
    assert shop.messages("return_alert") == []
    shop.advance(timedelta(hours=2))  # Thursday 12 March 08:00 Warsaw
    [alert] = shop.messages("return_alert")
    assert alert.recipient == MERCHANT
    assert "refund deadline approaching" in alert.message["subject"]

    # the customer proves dispatch; the policy refunds only by hand, the merchant does nothing
    shop.command("mark_in_transit", case_number=number, tracking_number="PX1", actor="customer")
    assert shop.refunds_at_shop(727) == []
    shop.advance(timedelta(days=3, hours=16))  # Monday 16 March 00:00 Warsaw
    [refund] = shop.refunds_at_shop(727)
    assert refund["amount"] == "12.90"
    assert shop.case(number).status == "refunded"
    assert ("request_refund", "in_transit", "refund_pending") in shop.events(number)
    assert shop.timers(number)["returns.refund_due"][1] == "fired"


def test_without_goods_or_proof_of_dispatch_the_deadline_only_raises_the_alarm(shop: Any) -> None:
    case = withdraw(shop)
    shop.advance(timedelta(days=14))
    assert shop.refunds_at_shop(727) == []
    alerts = [m.message["subject"] for m in shop.messages("return_alert")]
    assert any("refund deadline approaching" in s for s in alerts)
    assert any("refund deadline reached" in s for s in alerts)
    assert shop.case(case["case_number"]).status == "approved"


def test_goods_never_sent_a_commercial_return_expires_a_withdrawal_goes_to_a_person(shop: Any) -> None:
    shop.add_order()
    ret = shop.command(
        "request_return",
        order_number="727",
        email=EMAIL,
        lines=[{"line_item_id": "315", "reason": "changed_mind"}],
    )
    withdrawal = shop.command(
        "request_withdrawal", order_number="727", email=EMAIL, lines=[{"line_item_id": "316"}]
    )
    assert ret["status"] == "approved"

    shop.advance(timedelta(days=15))  # the goods were due on 16 March: a reminder
    reminders = [
        m
        for m in shop.messages("case_status")
        if "waiting for the goods" in m.message["text"].lower() or "czekamy" in m.message["text"].lower()
    ]
    assert len(reminders) == 2
    shop.advance(timedelta(days=20))  # 6 April: past the request expiry (30 days)
    assert shop.case(ret["case_number"]).status == "expired"
    assert shop.case(withdrawal["case_number"]).status == "manual_review"
    # the expired return gave its unit back: it can be returned again
    again = shop.command("request_return", order_number="727", email=EMAIL, lines=[{"line_item_id": "315"}])
    assert again["case_number"] != ret["case_number"]


class EligibilityServiceDown:
    @hookimpl(tryfirst=True)
    def aftersales_return_eligibility(self, case: Case, order: Order, policy: Any) -> Eligibility | None:
        raise ConnectionError("fraud scoring service unreachable")


@pytest.mark.parametrize("extra_plugins", [[EligibilityServiceDown()]])
def test_a_failing_eligibility_hook_sends_the_case_to_a_person_and_moves_no_money(shop: Any) -> None:
    case = withdraw(shop)
    assert case["status"] == "manual_review"
    reasons = shop.load(case["case_number"]).data["eligibility"]["reasons"]
    assert "eligibility check failed" in reasons[0]
    assert "fraud scoring service unreachable" in reasons[0]
    shop.command("mark_in_transit", case_number=case["case_number"], tracking_number="PX2")
    assert shop.refunds_at_shop(727) == []
    # a person approves; the goods already travel, the refund goes out with the approval's settle
    approved = shop.command("approve", case_number=case["case_number"], actor="merchant:anna")
    assert approved["status"] == "in_transit"
    shop.command("settle", case_number=case["case_number"], actor="merchant:anna")
    assert [r["amount"] for r in shop.refunds_at_shop(727)] == ["12.90"]
