"""Was the promise kept? A Warsaw shop, 12:00 cut-off, one handling day, scenario by scenario."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import pytest

from aftersales.domain import Shipment, ShipmentStatus
from aftersales.policy.schema import Policy
from aftersales.workflows.guarantee import PromiseTerms, judge, measure
from aftersales.workflows.guarantee.measure import excused_deadline
from aftersales.workflows.guarantee.terms import terms_from_promise
from aftersales.workflows.promise import promise_for_policy


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def terms_for(policy: Policy, paid: str) -> PromiseTerms:
    zone = "PL" if policy.guarantee.transit_days else None
    return terms_from_promise(promise_for_policy(policy, paid_at=at(paid), shipping_zone=zone), policy)


def verdict_for(
    policy: Policy,
    paid: str,
    shipments: Sequence[Shipment],
    now: str,
    force_majeure: Sequence[date] = (),
) -> Any:
    terms = terms_for(policy, paid)
    calendar = policy.shop_calendar()
    if terms.measured_on == "delivery":
        calendar = calendar.without_closures()
    return judge(
        terms,
        measure(shipments, terms.measured_on),
        now=at(now),
        calendar=calendar,
        force_majeure=force_majeure,
    )


DISPATCH = [
    # (scenario, paid at, dispatched at, outcome, reason)
    (
        "23:59 local on the promised Tuesday is on time",
        "2026-11-30T10:00:00+01:00",
        "2026-12-01T23:59:00+01:00",
        "on_time",
        None,
    ),
    (
        "00:01 local on the Wednesday after is late",
        "2026-11-30T10:00:00+01:00",
        "2026-12-02T00:01:00+01:00",
        "late",
        "dispatched 1 business day late",
    ),
    (
        "the same instant written in UTC is judged in Warsaw: 22:59Z on Tuesday is on time",
        "2026-11-30T10:00:00+01:00",
        "2026-12-01T22:59:59+00:00",
        "on_time",
        None,
    ),
    (
        "23:00Z on Tuesday is midnight in Warsaw: late",
        "2026-11-30T10:00:00+01:00",
        "2026-12-01T23:00:00+00:00",
        "late",
        "dispatched 1 business day late",
    ),
    (
        "handed over on Friday for a Tuesday promise: three business days late",
        "2026-11-30T10:00:00+01:00",
        "2026-12-04T09:00:00+01:00",
        "late",
        "dispatched 3 business days late",
    ),
    (
        "handed over on Saturday: still three business days late (the weekend does not count)",
        "2026-11-30T10:00:00+01:00",
        "2026-12-05T09:00:00+01:00",
        "late",
        "dispatched 3 business days late",
    ),
    (
        "11 November (holiday) is skipped: paid Tuesday 10th, promised Thursday 12th, on time",
        "2026-11-10T10:00:00+01:00",
        "2026-11-12T16:00:00+01:00",
        "on_time",
        None,
    ),
    (
        "DST ends on Sunday 25 Oct: 23:30 CET on Monday 26th (22:30Z) is on time",
        "2026-10-23T10:00:00+02:00",
        "2026-10-26T22:30:00+00:00",
        "on_time",
        None,
    ),
    (
        "DST ends: 00:01 CET on Tuesday 27th (23:01Z on the 26th) is late",
        "2026-10-23T10:00:00+02:00",
        "2026-10-26T23:01:00+00:00",
        "late",
        "dispatched 1 business day late",
    ),
    (
        "DST starts on Sunday 29 Mar: 23:59 CEST on Monday 30th (21:59Z) is on time",
        "2026-03-27T10:00:00+01:00",
        "2026-03-30T21:59:00+00:00",
        "on_time",
        None,
    ),
    (
        "DST starts: 00:01 CEST on Tuesday 31st (22:01Z on the 30th) is late",
        "2026-03-27T10:00:00+01:00",
        "2026-03-30T22:01:00+00:00",
        "late",
        "dispatched 1 business day late",
    ),
]


@pytest.mark.parametrize(
    ("scenario", "paid", "dispatched", "outcome", "reason"), DISPATCH, ids=[s[0] for s in DISPATCH]
)
def test_dispatch_is_judged_in_the_shops_local_day(
    make_policy: Callable[..., Policy],
    shipped: Callable[..., Shipment],
    scenario: str,
    paid: str,
    dispatched: str,
    outcome: str,
    reason: str | None,
) -> None:
    verdict = verdict_for(make_policy(), paid, [shipped(dispatched)], now="2026-12-31T12:00:00+01:00")
    assert (verdict.outcome, verdict.reason) == (outcome, reason), verdict.trace
    assert verdict.measured is not None and verdict.measured.shipment_id == "F1"
    assert "InPost" in verdict.trace[-1]


def test_nothing_dispatched_is_pending_until_the_promised_day_ends_then_late(
    make_policy: Callable[..., Policy],
) -> None:
    policy = make_policy()
    paid = "2026-11-30T10:00:00+01:00"
    before = verdict_for(policy, paid, [], now="2026-12-01T23:59:59+01:00")
    assert before.outcome is None
    assert before.deadline == at("2026-12-02T00:00:00+01:00")
    after = verdict_for(policy, paid, [], now="2026-12-02T00:00:00+01:00")
    assert (after.outcome, after.reason) == ("late", "not dispatched by the promised day")
    assert "2026-12-01 (Tuesday)" in after.trace[-1]


def test_cancelled_and_pending_shipments_do_not_count(
    make_policy: Callable[..., Policy], shipped: Callable[..., Shipment]
) -> None:
    parcels = [
        shipped("2026-12-01T09:00:00+01:00", shipment_id="cancelled", status=ShipmentStatus.FAILED),
        shipped("2026-12-01T10:00:00+01:00", shipment_id="label-only", status=ShipmentStatus.PENDING),
    ]
    verdict = verdict_for(
        make_policy(), "2026-11-30T10:00:00+01:00", parcels, now="2026-12-02T08:00:00+01:00"
    )
    assert (verdict.outcome, verdict.reason) == ("late", "not dispatched by the promised day")


def test_the_first_hand_over_counts(
    make_policy: Callable[..., Policy], shipped: Callable[..., Shipment]
) -> None:
    parcels = [
        shipped("2026-12-03T10:00:00+01:00", shipment_id="second"),
        shipped("2026-12-01T15:00:00+01:00", shipment_id="first"),
    ]
    verdict = verdict_for(
        make_policy(), "2026-11-30T10:00:00+01:00", parcels, now="2026-12-04T08:00:00+01:00"
    )
    assert verdict.outcome == "on_time"
    assert verdict.measured.shipment_id == "first"


FORCE_MAJEURE = [
    # (scenario, declared days, dispatched at, outcome, reason)
    (
        "a strike on the promised Tuesday moves it to Wednesday: Wednesday is excused",
        [date(2026, 12, 1)],
        "2026-12-02T15:00:00+01:00",
        "excluded",
        "force majeure declared by the merchant",
    ),
    (
        "...but Thursday is still one business day late",
        [date(2026, 12, 1)],
        "2026-12-03T15:00:00+01:00",
        "late",
        "dispatched 1 business day late",
    ),
    (
        "two strike days (Tuesday, Wednesday): Thursday is excused",
        [date(2026, 12, 1), date(2026, 12, 2)],
        "2026-12-03T15:00:00+01:00",
        "excluded",
        "force majeure declared by the merchant",
    ),
    (
        "a strike after the promised day does not excuse an order already late",
        [date(2026, 12, 2)],
        "2026-12-02T15:00:00+01:00",
        "late",
        "dispatched 1 business day late",
    ),
    (
        "a declared Saturday changes nothing (not a business day anyway)",
        [date(2026, 11, 28)],
        "2026-12-02T15:00:00+01:00",
        "late",
        "dispatched 1 business day late",
    ),
    (
        "on time stays on time whatever is declared",
        [date(2026, 12, 1)],
        "2026-12-01T15:00:00+01:00",
        "on_time",
        None,
    ),
]


@pytest.mark.parametrize(
    ("scenario", "declared", "dispatched", "outcome", "reason"),
    FORCE_MAJEURE,
    ids=[s[0] for s in FORCE_MAJEURE],
)
def test_force_majeure_days_excuse_lateness_they_caused(
    make_policy: Callable[..., Policy],
    shipped: Callable[..., Shipment],
    scenario: str,
    declared: list[date],
    dispatched: str,
    outcome: str,
    reason: str | None,
) -> None:
    verdict = verdict_for(
        make_policy(force_majeure_days=[d.isoformat() for d in declared]),
        "2026-11-30T10:00:00+01:00",
        [shipped(dispatched)],
        now="2026-12-31T12:00:00+01:00",
        force_majeure=declared,
    )
    assert (verdict.outcome, verdict.reason) == (outcome, reason), verdict.trace


def test_force_majeure_moves_the_deadline_a_timer_waits_for(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy()
    terms = terms_for(policy, "2026-11-30T10:00:00+01:00")
    moved, counted = excused_deadline(terms, policy.shop_calendar(), [date(2026, 12, 1), date(2026, 12, 4)])
    # Tuesday moves the promise to Wednesday; Friday is after it, so it does not count
    assert (moved, counted) == (date(2026, 12, 2), [date(2026, 12, 1)])
    verdict = verdict_for(
        policy, "2026-11-30T10:00:00+01:00", [], "2026-12-02T08:00:00+01:00", [date(2026, 12, 1)]
    )
    assert verdict.outcome is None
    assert verdict.deadline == at("2026-12-03T00:00:00+01:00")
    assert verdict.promised == date(2026, 12, 2)


def test_delivery_promise_is_measured_on_the_first_attempt(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(measured_on="delivery", transit_days={"PL": 1})
    paid = "2026-11-30T10:00:00+01:00"  # dispatch by Tue 1 Dec, deliver by Wed 2 Dec
    attempt = Shipment(
        id="F1",
        status=ShipmentStatus.DELIVERY_ATTEMPTED,
        dispatched_at=at("2026-12-01T10:00:00+01:00"),
        first_attempt_at=at("2026-12-02T18:00:00+01:00"),
    )
    assert verdict_for(policy, paid, [attempt], now="2026-12-05T12:00:00+01:00").outcome == "on_time"
    delivered_late = Shipment(
        id="F1",
        status=ShipmentStatus.DELIVERED,
        dispatched_at=at("2026-12-01T10:00:00+01:00"),
        delivered_at=at("2026-12-03T09:00:00+01:00"),
    )
    verdict = verdict_for(policy, paid, [delivered_late], now="2026-12-05T12:00:00+01:00")
    assert (verdict.outcome, verdict.reason) == ("late", "first delivery attempt 1 business day late")
    nothing = verdict_for(policy, paid, [], now="2026-12-03T00:00:00+01:00")
    assert (nothing.outcome, nothing.reason) == ("late", "no delivery attempt by the promised day")


def test_delivery_without_a_transit_time_cannot_be_late(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(measured_on="delivery")
    verdict = verdict_for(policy, "2026-11-30T10:00:00+01:00", [], now="2026-12-31T00:00:00+01:00")
    assert verdict.outcome == "excluded"
    assert "no delivery promise" in (verdict.reason or "")


def test_naive_times_are_refused(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy()
    terms = terms_for(policy, "2026-11-30T10:00:00+01:00")
    with pytest.raises(ValueError, match="offset"):
        judge(terms, None, now=datetime(2026, 12, 2, 12), calendar=policy.shop_calendar())
