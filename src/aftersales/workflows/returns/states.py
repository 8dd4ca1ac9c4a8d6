"""The states of a return / withdrawal / goodwill case and the ONE table that links them.

Why a table and not a state-machine library: the transitions are data that tests can walk
(every pair that is not in the table is illegal) and the engine persists every step itself
(compare-and-set on the case's ``version`` plus an append-only ``case_events`` row), so the
timers that move a case along are rows in the database, not in-memory callbacks that a
deploy would lose (DESIGN §5).

The case status is the coarse stage a person reads on a status page. The per-line axes on
:class:`aftersales.domain.CaseLine` (authorization, logistics, disposition, settlement) carry
the detail, which is why a few events are self-loops: goods may still travel after an early
refund (``refund_trigger: on_approval``), and that is recorded in the event log without
pretending the case moved backwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    """Opened; the authorization decision has not been taken yet."""
    MANUAL_REVIEW = "manual_review"
    """Waiting for a person: a hook failed, a rule asks for review, the wrong item came back..."""
    APPROVED = "approved"
    """Authorized; waiting for the goods (or for the settlement trigger)."""
    IN_TRANSIT = "in_transit"
    """The customer proved dispatch (tracking number)."""
    RECEIVED = "received"
    """Every unit is back at the warehouse."""
    INSPECTED = "inspected"
    """Every received unit has a disposition (restock, not restocked, repair)."""
    REFUND_PENDING = "refund_pending"
    """A refund effect is in the ledger and not yet confirmed by the platform."""
    REFUNDED = "refunded"
    """The platform confirmed the refund; goods may still be on their way."""
    CLOSED = "closed"
    """Money settled and goods accounted for."""
    DECLINED = "declined"
    """The merchant (or the policy) said no; the reason is on the case."""
    REJECTED = "rejected"
    """The request itself was invalid (too many units, foreign line, outside every window...)."""
    EXPIRED = "expired"
    """A commercial return whose goods never came back in time."""
    CANCELLED = "cancelled"
    """Withdrawn by the customer or cancelled at the platform before any money moved."""


class ReturnEvent(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"
    REJECT = "reject"
    CANCEL = "cancel"
    DISPATCHED = "dispatched"
    GOODS_RECEIVED = "goods_received"
    WRONG_ITEM = "wrong_item"
    GOODS_LOST = "goods_lost"
    INSPECTED = "inspected"
    REQUEST_REFUND = "request_refund"
    REFUND_CONFIRMED = "refund_confirmed"
    REFUND_FAILED = "refund_failed"
    REFUNDED_EXTERNALLY = "refunded_externally"
    """The shop refunded the units itself (shop admin): nothing left for us to pay."""
    EXPIRE = "expire"
    CLOSE = "close"
    REOPEN = "reopen"


S = ReturnStatus
E = ReturnEvent

_TABLE: dict[tuple[ReturnStatus, ReturnEvent], ReturnStatus] = {
    # -- authorization ------------------------------------------------------------------------
    (S.REQUESTED, E.APPROVE): S.APPROVED,
    (S.REQUESTED, E.REVIEW): S.MANUAL_REVIEW,
    (S.REQUESTED, E.DECLINE): S.DECLINED,
    (S.REQUESTED, E.REJECT): S.REJECTED,
    (S.REQUESTED, E.CANCEL): S.CANCELLED,
    (S.REQUESTED, E.REFUNDED_EXTERNALLY): S.REFUNDED,
    (S.MANUAL_REVIEW, E.APPROVE): S.APPROVED,
    (S.MANUAL_REVIEW, E.DECLINE): S.DECLINED,
    (S.MANUAL_REVIEW, E.CANCEL): S.CANCELLED,
    (S.MANUAL_REVIEW, E.REVIEW): S.MANUAL_REVIEW,
    (S.MANUAL_REVIEW, E.REQUEST_REFUND): S.REFUND_PENDING,
    (S.MANUAL_REVIEW, E.REFUNDED_EXTERNALLY): S.REFUNDED,
    # goods keep moving while a person looks at the case; the log records it
    (S.MANUAL_REVIEW, E.DISPATCHED): S.MANUAL_REVIEW,
    (S.MANUAL_REVIEW, E.GOODS_RECEIVED): S.MANUAL_REVIEW,
    (S.MANUAL_REVIEW, E.WRONG_ITEM): S.MANUAL_REVIEW,
    (S.MANUAL_REVIEW, E.GOODS_LOST): S.MANUAL_REVIEW,
    (S.MANUAL_REVIEW, E.INSPECTED): S.MANUAL_REVIEW,
    # -- logistics ----------------------------------------------------------------------------
    (S.APPROVED, E.DISPATCHED): S.IN_TRANSIT,
    (S.APPROVED, E.GOODS_RECEIVED): S.RECEIVED,
    (S.APPROVED, E.WRONG_ITEM): S.MANUAL_REVIEW,
    (S.APPROVED, E.GOODS_LOST): S.MANUAL_REVIEW,
    (S.APPROVED, E.REVIEW): S.MANUAL_REVIEW,
    (S.APPROVED, E.REQUEST_REFUND): S.REFUND_PENDING,
    (S.APPROVED, E.REFUNDED_EXTERNALLY): S.REFUNDED,
    (S.APPROVED, E.EXPIRE): S.EXPIRED,
    (S.APPROVED, E.CANCEL): S.CANCELLED,
    (S.APPROVED, E.INSPECTED): S.INSPECTED,
    (S.IN_TRANSIT, E.DISPATCHED): S.IN_TRANSIT,
    (S.IN_TRANSIT, E.GOODS_RECEIVED): S.RECEIVED,
    (S.IN_TRANSIT, E.WRONG_ITEM): S.MANUAL_REVIEW,
    (S.IN_TRANSIT, E.GOODS_LOST): S.MANUAL_REVIEW,
    (S.IN_TRANSIT, E.REVIEW): S.MANUAL_REVIEW,
    (S.IN_TRANSIT, E.REQUEST_REFUND): S.REFUND_PENDING,
    (S.IN_TRANSIT, E.REFUNDED_EXTERNALLY): S.REFUNDED,
    (S.RECEIVED, E.INSPECTED): S.INSPECTED,
    (S.RECEIVED, E.WRONG_ITEM): S.MANUAL_REVIEW,
    (S.RECEIVED, E.REVIEW): S.MANUAL_REVIEW,
    (S.RECEIVED, E.REQUEST_REFUND): S.REFUND_PENDING,
    (S.RECEIVED, E.REFUNDED_EXTERNALLY): S.REFUNDED,
    (S.INSPECTED, E.REVIEW): S.MANUAL_REVIEW,
    (S.INSPECTED, E.REQUEST_REFUND): S.REFUND_PENDING,
    (S.INSPECTED, E.REFUNDED_EXTERNALLY): S.REFUNDED,
    # -- settlement ---------------------------------------------------------------------------
    (S.REFUND_PENDING, E.REFUND_CONFIRMED): S.REFUNDED,
    (S.REFUND_PENDING, E.REFUND_FAILED): S.MANUAL_REVIEW,
    (S.REFUND_PENDING, E.DISPATCHED): S.REFUND_PENDING,
    (S.REFUND_PENDING, E.GOODS_RECEIVED): S.REFUND_PENDING,
    (S.REFUND_PENDING, E.WRONG_ITEM): S.REFUND_PENDING,
    (S.REFUND_PENDING, E.GOODS_LOST): S.REFUND_PENDING,
    (S.REFUND_PENDING, E.INSPECTED): S.REFUND_PENDING,
    (S.REFUNDED, E.DISPATCHED): S.REFUNDED,
    (S.REFUNDED, E.GOODS_RECEIVED): S.REFUNDED,
    (S.REFUNDED, E.WRONG_ITEM): S.REFUNDED,
    (S.REFUNDED, E.GOODS_LOST): S.REFUNDED,
    (S.REFUNDED, E.INSPECTED): S.REFUNDED,
    (S.REFUNDED, E.CLOSE): S.CLOSED,
    # -- reopening (a Shopify return can be reopened; our idempotency keys still hold) ------
    (S.DECLINED, E.REOPEN): S.MANUAL_REVIEW,
    (S.CLOSED, E.REOPEN): S.MANUAL_REVIEW,
}

TRANSITIONS: Mapping[tuple[ReturnStatus, ReturnEvent], ReturnStatus] = MappingProxyType(_TABLE)
"""(from, event) → to. Anything not listed is an illegal transition."""

TERMINAL: frozenset[ReturnStatus] = frozenset(
    s for s in ReturnStatus if not any(frm == s for frm, _ in _TABLE)
)
"""States no event leaves (``declined`` and ``closed`` can only be reopened)."""

VOID: frozenset[ReturnStatus] = frozenset({S.DECLINED, S.REJECTED, S.EXPIRED, S.CANCELLED})
"""Cases that returned nothing and refunded nothing: their units are free for another case."""

SETTLING: frozenset[ReturnStatus] = frozenset({S.REFUND_PENDING, S.REFUNDED, S.CLOSED})
"""Money was asked for or has moved."""


class IllegalTransition(ValueError):
    """An event that the table does not allow in the case's current state."""

    def __init__(self, status: str, event: str) -> None:
        allowed = sorted(e.value for (frm, e) in _TABLE if frm == status)
        hint = ", ".join(allowed) if allowed else "nothing (the case is final)"
        super().__init__(f"cannot {event!s} a case that is {status!s}; allowed here: {hint}")
        self.status = status
        self.event = event


def next_status(status: str, event: str) -> ReturnStatus:
    """The state ``event`` leads to from ``status``, or :class:`IllegalTransition`."""
    try:
        key = (ReturnStatus(status), ReturnEvent(event))
    except ValueError:
        raise IllegalTransition(status, event) from None
    try:
        return _TABLE[key]
    except KeyError:
        raise IllegalTransition(status, event) from None


def allowed_events(status: str) -> frozenset[ReturnEvent]:
    """The events the table accepts in ``status`` (what the merchant UI may offer)."""
    return frozenset(e for (frm, e) in _TABLE if frm == status)
