"""The guarantee through the real engine: an order paid on Monday 30 Nov 2026 at 10:00 in Warsaw
(before the 12:00 cut-off, one handling day) must be handed to the carrier by Tuesday 1 Dec."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.domain import CaseType
from aftersales.store.models import CaseRow, Effect, Timer
from aftersales.store.models import Promise as PromiseRow

END_OF_TUESDAY = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
"""Midnight Tuesday→Wednesday in Warsaw (CET): the first late instant."""


def promise_row(h: Any, order_id: str = "1001") -> PromiseRow:
    with h.rt.read_session() as session:
        row = session.get(PromiseRow, ("sklep", order_id))
        assert row is not None
        session.expunge(row)
        return row


def timers(h: Any) -> list[tuple[str, str, datetime]]:
    with h.rt.read_session() as session:
        return [(t.id, t.state, t.due_at) for t in session.scalars(select(Timer).order_by(Timer.id))]


def cases(h: Any) -> list[CaseRow]:
    with h.rt.read_session() as session:
        rows = list(session.scalars(select(CaseRow).where(CaseRow.type == CaseType.GUARANTEE_PAYOUT.value)))
        for row in rows:
            session.expunge(row)
        return rows


def effects(h: Any) -> list[Effect]:
    with h.rt.read_session() as session:
        rows = list(session.scalars(select(Effect).order_by(Effect.effect_key)))
        for row in rows:
            session.expunge(row)
        return rows


def test_never_dispatched_the_timer_pays_at_the_end_of_the_promised_day(
    make_harness: Any, kit: SimpleNamespace
) -> None:
    h = make_harness()
    h.order(kit.make_order())
    row = promise_row(h)
    assert (row.dispatch_by, row.outcome) == (date(2026, 12, 1), "pending")
    [(timer_id, state, due)] = timers(h)
    assert (state, due) == ("pending", END_OF_TUESDAY)
    assert timer_id == "guarantee:sklep:1001:deadline:2026-12-01"

    h.at(datetime(2026, 12, 1, 22, 59, 59, tzinfo=UTC))  # 23:59:59 on Tuesday: nothing yet
    assert promise_row(h).outcome == "pending" and h.shop.refunds == []

    h.at(END_OF_TUESDAY)
    row = promise_row(h)
    assert (row.outcome, row.late_reason) == ("late", "not dispatched by the promised day")
    assert row.payout_effect_key == "guarantee:sklep:1001"
    [refund] = h.shop.refunds
    assert (refund.effect_key, str(refund.amount)) == ("guarantee:sklep:1001", "50.00 PLN")
    assert (refund.lines, refund.shipping) == ((), None)  # money only: no units, nothing restocked
    assert refund.notify_customer is False  # we tell the customer ourselves
    [case] = cases(h)
    assert (case.status, case.source, case.source_ref) == ("paid", "guarantee", "guarantee:sklep:1001")
    assert case.data["data"]["guarantee"]["late_reason"] == "not dispatched by the promised day"
    [message] = h.mailbox.sent
    assert message.to == "anna@example.pl" and message.template == "guarantee_payout"
    assert "50,00" in message.subject and "#1001" in message.subject
    assert "1 grudnia 2026" in message.text
    assert message.case_number == case.number
    steps = [entry["step"] for entry in row.trace]
    assert steps[0] == "promise" and "terms" in steps and steps[-1] == "payout"
    assert any("not dispatched by" in entry["text"] for entry in row.trace)


def test_dispatched_on_time_is_recorded_and_the_timer_disarmed(
    make_harness: Any, kit: SimpleNamespace
) -> None:
    h = make_harness()
    h.order(kit.make_order())
    h.clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    h.fulfil("1001", kit.parcel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC)))
    row = promise_row(h)
    assert (row.outcome, row.measured_at) == ("on_time", datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    assert [state for _, state, _ in timers(h)] == ["cancelled"]
    h.at(datetime(2026, 12, 10, tzinfo=UTC))
    assert h.shop.refunds == [] and cases(h) == [] and h.mailbox.sent == []


def test_a_late_fulfillment_delivered_twice_pays_once(make_harness: Any, kit: SimpleNamespace) -> None:
    h = make_harness()
    h.order(kit.make_order())
    late = kit.parcel(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))  # Wednesday 09:00 in Warsaw
    h.clock.set(datetime(2026, 12, 1, 22, 0, tzinfo=UTC))  # before the timer: the webhook decides
    h.fulfil("1001", late, delivery="first")
    h.fulfil("1001", late, delivery="again")  # the platform re-sends it with a new delivery id
    h.at(datetime(2026, 12, 3, tzinfo=UTC))
    h.fulfil("1001", late, delivery="third")
    row = promise_row(h)
    assert (row.outcome, row.late_reason) == ("late", "dispatched 1 business day late")
    assert len(h.shop.refunds) == 1
    assert len(cases(h)) == 1
    assert len(h.mailbox.sent) == 1
    assert h.inbox_states() == ["done", "done", "done", "done"]
    assert [e.effect_key for e in effects(h)] == ["guarantee:sklep:1001"]


def test_an_order_updated_with_a_late_shipment_measures_too(make_harness: Any, kit: SimpleNamespace) -> None:
    """WooCommerce has no fulfillment webhook: the order update carries the tracking."""
    h = make_harness()
    h.order(kit.make_order())
    h.clock.set(datetime(2026, 12, 1, 22, 30, tzinfo=UTC))
    shipped = kit.make_order(
        shipments=[kit.parcel(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))],  # 00:30 Wednesday
        updated=datetime(2026, 12, 1, 23, 30, tzinfo=UTC),
    )
    h.order(shipped)
    assert promise_row(h).outcome == "late"
    assert len(h.shop.refunds) == 1


def test_cancelled_before_dispatch_gets_nothing(make_harness: Any, kit: SimpleNamespace) -> None:
    h = make_harness()
    h.order(kit.make_order())
    h.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    h.cancel(kit.make_order(cancelled=True, updated=datetime(2026, 12, 1, 8, 0, tzinfo=UTC)))
    row = promise_row(h)
    assert row.outcome == "cancelled"
    assert row.trace[-1]["text"] == "the order was cancelled: no payout"
    h.at(datetime(2026, 12, 5, tzinfo=UTC))
    assert h.shop.refunds == [] and cases(h) == []


def test_withdrawn_before_the_deadline_gets_nothing(make_harness: Any, kit: SimpleNamespace) -> None:
    from aftersales.domain import CaseLine
    from aftersales.engine.api import StepContext, registry

    @registry.command("test.withdraw")
    def withdraw(ctx: StepContext, **payload: Any) -> dict[str, Any]:
        case = ctx.open_case(
            type=CaseType.WITHDRAWAL,
            status="requested",
            order_id="1001",
            lines=[CaseLine(line_item_id="L1", quantity=2)],
        )
        return {"number": case.number}

    h = make_harness()
    h.order(kit.make_order())
    number = h.rt.execute_command("test.withdraw", "sklep")["number"]
    h.at(END_OF_TUESDAY)
    row = promise_row(h)
    assert row.outcome == "cancelled"
    assert number in row.trace[-1]["text"]
    assert h.shop.refunds == []


def test_excluded_orders_are_recorded_and_never_timed(make_harness: Any, kit: SimpleNamespace) -> None:
    h = make_harness()
    h.order(kit.make_order(channel="marketplace"))
    row = promise_row(h)
    assert (row.outcome, row.excluded_reason) == (
        "excluded",
        "sales channel 'marketplace' is excluded from the guarantee",
    )
    assert timers(h) == []
    h.at(datetime(2026, 12, 5, tzinfo=UTC))
    assert h.shop.refunds == []


def test_the_promise_never_changes_after_the_snapshot(make_harness: Any, kit: SimpleNamespace) -> None:
    h = make_harness()
    h.order(kit.make_order())
    first = promise_row(h)
    # the merchant edits the order: a later update with another payment time changes nothing
    h.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    h.order(
        kit.make_order(
            paid_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC), updated=datetime(2026, 12, 1, 9, tzinfo=UTC)
        )
    )
    again = promise_row(h)
    assert (again.dispatch_by, again.trace, again.snapshot_at) == (
        first.dispatch_by,
        first.trace,
        first.snapshot_at,
    )


def test_a_fulfillment_for_an_unknown_order_is_read_from_the_shop(
    make_harness: Any, kit: SimpleNamespace
) -> None:
    h = make_harness()
    h.shop.orders["2002"] = kit.make_order("2002")  # the order webhook was lost
    h.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    h.fulfil("2002", kit.parcel(datetime(2026, 12, 1, 10, 0, tzinfo=UTC)))
    row = promise_row(h, "2002")
    assert (row.dispatch_by, row.outcome) == (date(2026, 12, 1), "on_time")
    assert h.shop.refunds == []


def test_an_order_first_seen_after_its_promised_day_is_not_paid_automatically(
    make_harness: Any, kit: SimpleNamespace
) -> None:
    """Switching the guarantee on (or installing) must not pay every older unshipped order."""
    h = make_harness()
    h.clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    h.shop.orders["2002"] = kit.make_order("2002")
    h.fulfil("2002", kit.parcel(datetime(2026, 12, 2, 10, 0, tzinfo=UTC)))
    row = promise_row(h, "2002")
    assert row.outcome == "excluded"
    assert (row.excluded_reason or "").startswith("first seen after its promised day had ended")
    assert h.shop.refunds == [] and timers(h) == []


def test_a_fulfillment_for_an_order_nobody_knows_is_ignored(make_harness: Any, kit: SimpleNamespace) -> None:
    h = make_harness()
    h.fulfil("9999", kit.parcel(datetime(2026, 12, 2, 10, 0, tzinfo=UTC)))
    assert h.inbox_states() == ["done"]
    with h.rt.read_session() as session:
        assert session.scalars(select(PromiseRow)).all() == []


def test_caps_per_customer_per_month(make_harness: Any, kit: SimpleNamespace) -> None:
    h = make_harness(caps='{per_customer_per_month: "80.00"}')
    for order_id in ("1", "2", "3"):
        h.order(kit.make_order(order_id))
    h.order(kit.make_order("4", email="other@example.pl"))
    h.at(END_OF_TUESDAY)
    paid = {r.order_id: str(r.amount) for r in h.shop.refunds}
    assert paid == {"1": "50.00 PLN", "2": "30.00 PLN", "4": "50.00 PLN"}
    third = promise_row(h, "3")
    assert (third.outcome, third.payout_effect_key) == ("late", None)
    assert "per-customer 2026-12 cap 80.00 PLN reached" in third.trace[-1]["text"]


def test_a_payout_then_a_cancellation_goes_to_a_person_and_takes_nothing_back(
    make_harness: Any, kit: SimpleNamespace
) -> None:
    h = make_harness()
    h.order(kit.make_order())
    h.at(END_OF_TUESDAY)
    assert len(h.shop.refunds) == 1
    h.clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    h.cancel(kit.make_order(cancelled=True, updated=datetime(2026, 12, 2, 10, 0, tzinfo=UTC)))
    h.cancel(kit.make_order(cancelled=True, updated=datetime(2026, 12, 2, 10, 0, tzinfo=UTC)))
    [case] = cases(h)
    assert case.status == "clawback_review"
    assert len(h.shop.refunds) == 1  # nothing taken or given
    [(order_id, note)] = h.shop.notes
    assert order_id == "1001" and "nothing is taken back" in note
    row = promise_row(h)
    assert row.outcome == "late" and row.trace[-1]["step"] == "clawback"


def test_force_majeure_on_the_promised_day_moves_the_timer(make_harness: Any, kit: SimpleNamespace) -> None:
    h = make_harness(force_majeure="[2026-12-01]")
    h.order(kit.make_order())
    h.at(END_OF_TUESDAY)
    assert promise_row(h).outcome == "pending"
    assert (
        "guarantee:sklep:1001:deadline:2026-12-02",
        "pending",
        datetime(2026, 12, 2, 23, 0, tzinfo=UTC),
    ) in timers(h)
    h.clock.set(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    h.fulfil("1001", kit.parcel(datetime(2026, 12, 2, 12, 0, tzinfo=UTC)))
    row = promise_row(h)
    assert (row.outcome, row.excluded_reason) == ("excluded", "force majeure declared by the merchant")
    assert h.shop.refunds == []
    assert all(state != "pending" for _, state, _ in timers(h))


def test_voucher_payouts_ask_the_platform_for_a_voucher(make_harness: Any, kit: SimpleNamespace) -> None:
    h = make_harness(method="voucher")
    h.order(kit.make_order())
    h.at(END_OF_TUESDAY)
    [(action, params, key)] = h.shop.actions
    assert (action, key) == ("voucher.issue", "guarantee:sklep:1001")
    assert (params["amount"], params["currency"], params["customer_email"]) == (
        "50.00",
        "PLN",
        "anna@example.pl",
    )
    assert h.shop.refunds == []
    [case] = cases(h)
    assert case.status == "paid"
    assert "w formie bonu" in h.mailbox.sent[0].text


def test_a_voucher_the_platform_cannot_issue_goes_to_a_person(
    make_harness: Any, kit: SimpleNamespace
) -> None:
    h = make_harness(method="voucher")
    h.shop.vouchers = False
    h.order(kit.make_order())
    h.at(END_OF_TUESDAY)
    [case] = cases(h)
    assert case.status == "failed"
    assert h.mailbox.sent == []
    assert "issue it by hand" in promise_row(h).trace[-1]["text"]
    [effect] = effects(h)
    assert effect.state == "failed"


@pytest.mark.postgres
def test_on_postgresql_the_snapshot_and_the_payout_happen_once(
    make_harness: Any, kit: SimpleNamespace, pg_url: str
) -> None:
    h = make_harness(url=pg_url)
    h.order(kit.make_order())
    h.order(
        kit.make_order(updated=datetime(2026, 11, 30, 9, 5, tzinfo=UTC))
    )  # a second update: no second row
    late = kit.parcel(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    h.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    h.fulfil("1001", late, delivery="first")
    h.fulfil("1001", late, delivery="again")
    row = promise_row(h)
    assert (row.outcome, row.late_reason) == ("late", "dispatched 1 business day late")
    assert len(h.shop.refunds) == 1 and len(cases(h)) == 1 and len(h.mailbox.sent) == 1
