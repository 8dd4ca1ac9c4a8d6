"""What the customer was promised, frozen at payment, and how every decision is written down.

The ``promises`` row keeps the promised dates in columns and everything else in ``trace``, a
JSON list of :class:`TraceEntry` dumps (the schema has no other JSON column there, and a
promise needs no more). The first entries are written with the snapshot and never change:

- ``step="promise"``: one entry per sentence of the calculator's trace (why this date);
- ``step="terms"``: the :class:`PromiseTerms` in ``data`` — the deadlines as instants, the
  time zone, whether the promise binds, what is measured and what a late order earns.

Later entries (``measure``, ``payout``, ``cancel``, ``clawback``, ``exclusion``) are appended,
never edited: the row is a log of why, and the terms a customer bought under stay readable
even after the merchant edits the policy. Terms are snapshotted because they are part of the
offer the customer accepted (the amount promised, the event that counts); caps and exclusions
are the merchant's budget and are re-read from the current policy when paying.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from aftersales.domain import Money
from aftersales.policy.schema import Policy
from aftersales.workflows.promise import Promise

__all__ = [
    "MeasuredOn",
    "Outcome",
    "PayoutTerms",
    "PromiseTerms",
    "TraceEntry",
    "entries",
    "terms_from_promise",
    "terms_from_trace",
]

MeasuredOn = Literal["dispatch", "delivery"]
Outcome = Literal["pending", "on_time", "late", "excluded", "cancelled"]


class PayoutTerms(BaseModel):
    """What a late order earns, as offered when the customer paid."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["fixed", "shipping_fee"]
    method: Literal["refund", "voucher"]
    amount: Money | None = None
    """The fixed amount (kind ``fixed``); None for the shipping fee, read from the order."""


class PromiseTerms(BaseModel):
    """The promise and the guarantee's terms at the moment the order was paid."""

    model_config = ConfigDict(frozen=True)

    dispatch_by: date
    dispatch_deadline: datetime
    """First instant after ``dispatch_by`` in the shop's zone: a hand-over before it is on time."""
    deliver_by: date | None = None
    delivery_deadline: datetime | None = None
    day_zero: date
    handling_business_days: int
    timezone: str
    binding: bool
    measured_on: MeasuredOn
    payout: PayoutTerms

    @property
    def deadline(self) -> datetime | None:
        """The instant the measured event must come before (None: no delivery promise)."""
        return self.dispatch_deadline if self.measured_on == "dispatch" else self.delivery_deadline

    @property
    def promised_day(self) -> date | None:
        return self.dispatch_by if self.measured_on == "dispatch" else self.deliver_by


class TraceEntry(BaseModel):
    """One sentence of the promise's log: when, which step, why (and structured data if any)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    step: str
    text: str
    data: dict[str, Any] | None = None

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def entries(at: datetime, step: str, texts: Iterable[str]) -> list[dict[str, Any]]:
    """Trace entries (as JSON) for several sentences of one step."""
    return [TraceEntry(at=at, step=step, text=text).dump() for text in texts]


def terms_from_promise(promise: Promise, policy: Policy) -> PromiseTerms:
    """Freeze the promise with the policy's guarantee terms."""
    guarantee = policy.guarantee
    payout = guarantee.payout
    amount = policy.money(payout.amount) if payout.kind == "fixed" and payout.amount is not None else None
    return PromiseTerms(
        dispatch_by=promise.dispatch_by,
        dispatch_deadline=promise.dispatch_deadline,
        deliver_by=promise.deliver_by,
        delivery_deadline=promise.delivery_deadline,
        day_zero=promise.day_zero,
        handling_business_days=promise.handling_business_days,
        timezone=promise.timezone,
        binding=promise.binding,
        measured_on=guarantee.measured_on,
        payout=PayoutTerms(kind=payout.kind, method=payout.method, amount=amount),
    )


def terms_from_trace(trace: Sequence[Any]) -> PromiseTerms | None:
    """The terms written with the snapshot (None for a row written by something else)."""
    for item in trace:
        if isinstance(item, dict) and item.get("step") == "terms" and isinstance(item.get("data"), dict):
            return PromiseTerms.model_validate(item["data"])
    return None
