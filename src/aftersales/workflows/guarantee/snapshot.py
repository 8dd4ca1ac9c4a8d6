"""The promise is snapshotted once, when the order is first seen paid, and never rewritten.

Why immutable: the guarantee is a promise made at checkout. A later webhook (an edit in the
shop admin, a payment captured again, a retry delivered hours late, an out-of-order
``orders/updated``) must not move the date the customer was promised, or the merchant could
"keep" every promise after the fact. So the row is written with ``INSERT ... ON CONFLICT DO
NOTHING``: two workers handling two webhooks of the same order at once write one row, and
whatever arrives later finds it and changes nothing in it (only the measurement columns and
the appended trace move afterwards, see :mod:`.terms`).

When an order is not covered, the row is still written (outcome ``excluded`` with the reason):
the promise is shown to the customer anyway, and the merchant's report counts exclusions by
reason. Reasons, in the order they are checked:

1. the payment came outside the payment window: the promise does not bind;
2. a plugin's ``aftersales_guarantee_exclusion`` (the built-in one applies ``guarantee.exclude``:
   sales channels, payment methods, tags);
3. measured on delivery, but no transit time is known for the order's zone;
4. the order is first seen after its promised day has ended. That is an order paid before
   the guarantee covered it (the merchant just switched it on, or just installed the service
   and reconciliation brings in older orders) far more often than an order whose webhooks
   were all lost; paying every such order automatically would flood a shop's first day with
   payouts it never promised. The reason says both, and the report lists it, so a merchant
   who had an outage can pay those by hand.

The order's shipping zone: the domain's ``Order`` carries no delivery address yet, so the
domestic zone (the shop's jurisdiction code, e.g. ``PL``) is used, else a ``default`` entry of
``guarantee.transit_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from aftersales.domain import FinancialStatus, Order
from aftersales.policy.schema import Policy
from aftersales.store.models import Promise as PromiseRow
from aftersales.workflows.guarantee.terms import PromiseTerms, TraceEntry, entries, terms_from_promise
from aftersales.workflows.promise import Promise, promise_for_policy

__all__ = [
    "SnapshotPlan",
    "is_cancelled",
    "is_paid",
    "paid_moment",
    "plan_snapshot",
    "shipping_zone",
    "write_snapshot",
]

FIRST_SEEN_LATE = (
    "first seen after its promised day had ended (paid before the guarantee covered it, "
    "or its webhooks were lost): not paid out automatically"
)

_PAID = (FinancialStatus.PAID, FinancialStatus.PARTIALLY_REFUNDED, FinancialStatus.REFUNDED)


def is_paid(order: Order) -> bool:
    """Paid as far as the platform says: a payment time, or a paid financial status."""
    return order.paid_at is not None or order.financial_status in _PAID


def is_cancelled(order: Order) -> bool:
    return order.cancelled_at is not None or (order.status or "").strip().lower() in ("cancelled", "canceled")


def paid_moment(order: Order) -> tuple[datetime, str | None]:
    """When the promise clock starts: the payment, else (a platform without it) the order's creation."""
    if order.paid_at is not None:
        return order.paid_at, None
    return order.created_at, (
        "the platform gave no payment time for this paid order: the promise is counted from the "
        f"order's creation, {order.created_at.isoformat()}"
    )


def shipping_zone(policy: Policy) -> str | None:
    """The zone whose transit time gives the delivery promise (see the module docstring)."""
    table = policy.guarantee.transit_days
    for zone in (policy.shop.jurisdiction, "default"):
        if zone in table:
            return zone
    return None


@dataclass(frozen=True)
class SnapshotPlan:
    """What :func:`write_snapshot` stores: the promise, its terms, and why it is (not) covered."""

    promise: Promise
    terms: PromiseTerms
    excluded: str | None
    trace: list[dict[str, Any]]
    customer_email: str | None


def plan_snapshot(order: Order, policy: Policy, *, exclusion: str | None, now: datetime) -> SnapshotPlan:
    """Compute the promise of a paid ``order`` under ``policy``.

    ``exclusion`` is the plugins' answer (``aftersales_guarantee_exclusion``), asked by the
    caller. Raises ``ValueError`` when the policy's promise settings cannot be computed.
    """
    paid_at, fallback = paid_moment(order)
    zone = shipping_zone(policy)
    promise = promise_for_policy(policy, paid_at=paid_at, ordered_at=order.created_at, shipping_zone=zone)
    terms = terms_from_promise(promise, policy)
    trace: list[dict[str, Any]] = []
    if fallback:
        trace += entries(now, "promise", [fallback])
    trace += entries(now, "promise", promise.trace)
    payout = terms.payout
    offered = str(payout.amount) if payout.amount is not None else "the shipping fee paid"
    trace.append(
        TraceEntry(
            at=now,
            step="terms",
            text=(
                f"measured on {terms.measured_on}; a late order earns {offered} as a "
                f"{'refund to the original payment' if payout.method == 'refund' else 'voucher'}"
            ),
            data=terms.model_dump(mode="json"),
        ).dump()
    )
    excluded: str | None = None
    if not promise.binding:
        excluded = "paid outside the payment window: the promise does not bind"
    elif exclusion is not None:
        excluded = exclusion
    elif terms.measured_on == "delivery" and terms.deliver_by is None:
        excluded = "no delivery promise (no transit time for the order's zone)"
    elif terms.deadline is not None and now >= terms.deadline:
        excluded = FIRST_SEEN_LATE
    if excluded is not None:
        trace += entries(now, "exclusion", [f"not covered by the guarantee: {excluded}"])
    email = (order.customer.email or "").strip().lower() or None
    return SnapshotPlan(promise, terms, excluded, trace, email)


def write_snapshot(session: Session, shop_id: str, order: Order, plan: SnapshotPlan, now: datetime) -> bool:
    """Insert the promise row unless one exists; True when this call wrote it."""
    values = {
        "shop_id": shop_id,
        "order_id": order.id,
        "dispatch_by": plan.promise.dispatch_by,
        "deliver_by": plan.promise.deliver_by,
        "trace": plan.trace,
        "excluded_reason": plan.excluded,
        "snapshot_at": now,
        "outcome": "excluded" if plan.excluded else "pending",
        "customer_email": plan.customer_email,
    }
    dialect = session.get_bind().dialect.name
    table: Any = PromiseRow.__table__
    if dialect == "sqlite":
        stmt: Any = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "postgresql":
        stmt = pg_insert(table).values(**values).on_conflict_do_nothing()
    else:  # another database: the primary key still refuses a second row (the step is retried)
        stmt = insert(table).values(**values)
    result = session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))
