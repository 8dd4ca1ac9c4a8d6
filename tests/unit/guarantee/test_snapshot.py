"""The promise is computed from the policy and written once; nothing later rewrites it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from aftersales.domain import FinancialStatus, Order
from aftersales.policy.schema import Policy
from aftersales.store.db import make_engine, session_factory
from aftersales.store.models import Base
from aftersales.store.models import Promise as PromiseRow
from aftersales.workflows.guarantee import plan_snapshot, terms_from_trace, write_snapshot
from aftersales.workflows.guarantee.snapshot import is_cancelled, is_paid, shipping_zone

NOW = datetime.fromisoformat("2026-11-30T10:05:00+01:00")


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'snapshot.db'}")
    Base.metadata.create_all(engine)
    yield session_factory(engine)
    engine.dispose()


def test_a_covered_order_gets_its_promise_and_frozen_terms(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    plan = plan_snapshot(make_order(), make_policy(), exclusion=None, now=NOW)
    assert plan.promise.dispatch_by == date(2026, 12, 1)
    assert plan.excluded is None
    assert plan.customer_email == "anna@example.pl"
    terms = terms_from_trace(plan.trace)
    assert terms is not None
    assert terms.dispatch_deadline == datetime.fromisoformat("2026-12-02T00:00:00+01:00")
    assert (terms.measured_on, terms.payout.kind, str(terms.payout.amount)) == (
        "dispatch",
        "fixed",
        "50.00 PLN",
    )
    steps = [entry["step"] for entry in plan.trace]
    assert steps[-1] == "terms" and set(steps[:-1]) == {"promise"}
    assert any("before the 12:00 cut-off" in entry["text"] for entry in plan.trace)


def test_a_payment_outside_the_window_makes_a_promise_that_does_not_bind(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    order = make_order(paid_at="2026-11-30T10:00:00+01:00")
    late_payment = order.model_copy(
        update={"created_at": datetime.fromisoformat("2026-11-30T08:00:00+01:00")}
    )
    plan = plan_snapshot(
        late_payment, make_policy(promise={"payment_window_minutes": 30}), exclusion=None, now=NOW
    )
    assert plan.excluded == "paid outside the payment window: the promise does not bind"
    assert plan.trace[-1]["step"] == "exclusion"


def test_the_plugins_exclusion_is_recorded_with_its_reason(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    plan = plan_snapshot(
        make_order(), make_policy(), exclusion="sales channel 'marketplace' is excluded", now=NOW
    )
    assert plan.excluded == "sales channel 'marketplace' is excluded"


def test_a_delivery_guarantee_needs_a_transit_time(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    without = plan_snapshot(make_order(), make_policy(measured_on="delivery"), exclusion=None, now=NOW)
    assert without.excluded == "no delivery promise (no transit time for the order's zone)"
    policy = make_policy(measured_on="delivery", transit_days={"PL": 1, "EU": 4})
    assert shipping_zone(policy) == "PL"
    with_transit = plan_snapshot(make_order(), policy, exclusion=None, now=NOW)
    assert with_transit.excluded is None
    assert with_transit.promise.deliver_by == date(2026, 12, 2)


def test_paid_and_cancelled(make_order: Callable[..., Order]) -> None:
    assert is_paid(make_order())
    assert not is_paid(make_order(status=FinancialStatus.PENDING))
    assert is_cancelled(make_order(cancelled_at="2026-12-01T10:00:00+01:00"))
    assert is_cancelled(make_order().model_copy(update={"status": "cancelled"}))
    assert not is_cancelled(make_order())


def test_the_row_is_written_once_and_never_rewritten(
    sessions: sessionmaker[Session], make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    policy = make_policy()
    first = plan_snapshot(make_order(), policy, exclusion=None, now=NOW)
    with sessions() as session, session.begin():
        assert write_snapshot(session, "shop", make_order(), first, NOW) is True
    # an out-of-order webhook with another payment time, and a policy edited since: nothing changes
    other = make_order(paid_at="2026-12-01T15:00:00+01:00")
    second = plan_snapshot(other, make_policy(promise={"handling_business_days": 3}), exclusion="x", now=NOW)
    with sessions() as session, session.begin():
        assert write_snapshot(session, "shop", other, second, NOW) is False
    with sessions() as session:
        row = session.get(PromiseRow, ("shop", "1001"))
        assert row is not None
        assert (row.dispatch_by, row.outcome, row.excluded_reason) == (date(2026, 12, 1), "pending", None)
        assert row.trace == first.trace
        assert row.customer_email == "anna@example.pl"


def test_an_excluded_order_is_written_as_excluded(
    sessions: sessionmaker[Session], make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    plan = plan_snapshot(
        make_order(), make_policy(), exclusion="payment method 'instalments' is excluded", now=NOW
    )
    with sessions() as session, session.begin():
        write_snapshot(session, "shop", make_order(), plan, NOW)
    with sessions() as session:
        row = session.get(PromiseRow, ("shop", "1001"))
        assert row is not None
        assert (row.outcome, row.excluded_reason) == ("excluded", "payment method 'instalments' is excluded")


def test_an_order_first_seen_after_its_promised_day_is_not_covered(
    make_policy: Callable[..., Policy], make_order: Callable[..., Order]
) -> None:
    after = datetime.fromisoformat("2026-12-02T00:00:00+01:00")  # Tuesday's promise has ended
    plan = plan_snapshot(make_order(), make_policy(), exclusion=None, now=after)
    assert plan.excluded is not None and plan.excluded.startswith("first seen after its promised day")
    just_before = datetime.fromisoformat("2026-12-01T23:59:59+01:00")
    assert plan_snapshot(make_order(), make_policy(), exclusion=None, now=just_before).excluded is None
