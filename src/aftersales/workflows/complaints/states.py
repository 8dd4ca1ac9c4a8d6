"""The states of a complaint or warranty case and the ONE table that links them.

A table rather than a state-machine library for the same reason as the returns workflow:
every pair not listed is illegal (tests walk the table), and the engine persists each move
itself (compare-and-set on the case's ``version`` plus a ``case_events`` row), so the clocks
that move a complaint along — the 14-day answer, reminders, the repair SLA, loaner returns —
are timer rows that survive restarts rather than in-memory callbacks.

The status is the coarse stage a customer reads on the status page; the remedy ladder's
facts (what was demanded, refused, tried) live in ``Case.data`` (see :mod:`.ladder`).

Three groups of statuses matter to the law:

- :data:`CLOCK_RUNNING` — the complaint is received and no answer has *reached* the
  consumer yet: the statutory answer clock runs (art. 7a u.p.k.), whatever the case waits
  for (an order number, a person, an answer still in the outbox);
- :data:`EXECUTING` — the complaint was accepted (by an answer or by law) and the remedy is
  under way;
- :data:`FINAL` — nothing moves the case any more except a consumer report that the defect
  came back (``defect_persists`` reopens a resolved repair: art. 43e ust. 1 pkt 2).

Some events are *notes*: self-loops that change nothing but are written to the event log
and reach the ``aftersales_case_transition`` observers (``sla_breached``, ``reminder_sent``,
``customer_message``, ``loaner_issued``...). That is how a breach becomes an outbound event
without inventing a status for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    """Received; the answer clock runs and no decision has been taken."""
    AWAITING_ORDER = "awaiting_order"
    """Received, but the order is unknown: the customer is asked for the order number (clock runs)."""
    MANUAL_REVIEW = "manual_review"
    """A person must act: a decision hook failed, the facts are unclear, a remedy could not be executed."""
    ANSWER_SENT = "answer_sent"
    """The answer is in the outbox; the clock stops only when it reaches the consumer."""
    ACCEPTED = "accepted"
    """The acceptance reached the consumer; the remedy is being arranged."""
    REJECTED = "rejected"
    """The rejection (with its reasons) reached the consumer in time."""
    DEEMED_ACCEPTED = "deemed_accepted"
    """No answer reached the consumer in time: accepted by law (art. 7a ust. 2 u.p.k.)."""
    AWAITING_CHOICE = "awaiting_choice"
    """Repair and replacement are refused or failed: the consumer may reduce the price or withdraw."""
    IN_REPAIR = "in_repair"
    """The goods are being collected or repaired; the declared repair time runs."""
    REPLACING = "replacing"
    """A replacement is being prepared and sent."""
    REFUND_PENDING = "refund_pending"
    """Money (price reduction or withdrawal) is in the effects ledger, not yet confirmed."""
    REFUNDED = "refunded"
    """The platform confirmed the money."""
    RESOLVED = "resolved"
    """Repaired, replaced or paid: the complaint is settled."""
    CANCELLED = "cancelled"
    """The customer took the complaint back before an answer."""


class ComplaintEvent(StrEnum):
    ORDER_IDENTIFIED = "order_identified"
    REVIEW = "review"
    ANSWER = "answer"
    """A merchant's (or a decision hook's) answer was queued for the consumer."""
    ANSWER_ACCEPTED = "answer_accepted"
    """An accepting answer reached the consumer."""
    ANSWER_REJECTED = "answer_rejected"
    """A rejecting answer reached the consumer."""
    ANSWER_REFUSED_REMEDIES = "answer_refused_remedies"
    """An answer refusing repair and replacement (art. 43d ust. 3) reached the consumer."""
    DEEMED_ACCEPTED = "deemed_accepted"
    START_REPAIR = "start_repair"
    START_REPLACEMENT = "start_replacement"
    REQUEST_REFUND = "request_refund"
    REFUND_CONFIRMED = "refund_confirmed"
    REFUND_FAILED = "refund_failed"
    REPAIR_DONE = "repair_done"
    REPLACEMENT_DONE = "replacement_done"
    REMEDY_FAILED = "remedy_failed"
    DEFECT_PERSISTS = "defect_persists"
    CLOSE = "close"
    CANCEL = "cancel"
    # -- notes (self-loops: logged, observed, no status change) ---------------------------------
    SLA_BREACHED = "sla_breached"
    REMINDER_SENT = "reminder_sent"
    CUSTOMER_MESSAGE = "customer_message"
    MERCHANT_MESSAGE = "merchant_message"
    ATTACHMENT_ADDED = "attachment_added"
    ITEM_RECEIVED = "item_received"
    PICKUP_ORDERED = "pickup_ordered"
    REPAIR_DELAYED = "repair_delayed"
    REPAIR_SLA_MISSED = "repair_sla_missed"
    LOANER_ISSUED = "loaner_issued"
    LOANER_RETURNED = "loaner_returned"
    LOANER_OVERDUE = "loaner_overdue"
    ANSWER_OPENED = "answer_opened"
    ANSWER_LATE = "answer_late"
    """An answer reached the consumer after the deadline: it changes nothing (deemed accepted)."""


S = ComplaintStatus
E = ComplaintEvent

CLOCK_RUNNING: frozenset[ComplaintStatus] = frozenset(
    {S.RECEIVED, S.AWAITING_ORDER, S.MANUAL_REVIEW, S.ANSWER_SENT}
)
"""Statuses in which an unanswered complaint can still be deemed accepted (unless answered).

``manual_review`` is in it because a case can go to review before its answer; after an
answer reached the consumer the answer clock's timers are cancelled, so review then does
not reopen the clock (the flow checks the case's ``answer`` record too)."""

EXECUTING: frozenset[ComplaintStatus] = frozenset(
    {S.ACCEPTED, S.DEEMED_ACCEPTED, S.AWAITING_CHOICE, S.IN_REPAIR, S.REPLACING, S.REFUND_PENDING, S.REFUNDED}
)
FINAL: frozenset[ComplaintStatus] = frozenset({S.REJECTED, S.RESOLVED, S.CANCELLED})

NOTES: frozenset[ComplaintEvent] = frozenset(
    {
        E.SLA_BREACHED,
        E.REMINDER_SENT,
        E.CUSTOMER_MESSAGE,
        E.MERCHANT_MESSAGE,
        E.ATTACHMENT_ADDED,
        E.ITEM_RECEIVED,
        E.PICKUP_ORDERED,
        E.REPAIR_DELAYED,
        E.REPAIR_SLA_MISSED,
        E.LOANER_ISSUED,
        E.LOANER_RETURNED,
        E.LOANER_OVERDUE,
        E.ANSWER_OPENED,
        E.ANSWER_LATE,
    }
)

_PRE_ANSWER = (S.RECEIVED, S.AWAITING_ORDER, S.MANUAL_REVIEW)
_MONEY_OR_WORK_FROM = (S.ACCEPTED, S.DEEMED_ACCEPTED, S.AWAITING_CHOICE, S.MANUAL_REVIEW)

_TABLE: dict[tuple[ComplaintStatus, ComplaintEvent], ComplaintStatus] = {
    # -- before the answer ------------------------------------------------------------------------
    (S.AWAITING_ORDER, E.ORDER_IDENTIFIED): S.RECEIVED,
    (S.MANUAL_REVIEW, E.ORDER_IDENTIFIED): S.MANUAL_REVIEW,
    (S.RECEIVED, E.REVIEW): S.MANUAL_REVIEW,
    (S.AWAITING_ORDER, E.REVIEW): S.MANUAL_REVIEW,
    (S.MANUAL_REVIEW, E.REVIEW): S.MANUAL_REVIEW,
    **{(s, E.ANSWER): S.ANSWER_SENT for s in _PRE_ANSWER},
    # a corrected answer before either reached the consumer: the first to arrive is the answer
    (S.ANSWER_SENT, E.ANSWER): S.ANSWER_SENT,
    **{(s, E.CANCEL): S.CANCELLED for s in _PRE_ANSWER},
    # -- the answer reaches the consumer, or the clock runs out ------------------------------------
    (S.ANSWER_SENT, E.ANSWER_ACCEPTED): S.ACCEPTED,
    (S.ANSWER_SENT, E.ANSWER_REJECTED): S.REJECTED,
    (S.ANSWER_SENT, E.ANSWER_REFUSED_REMEDIES): S.AWAITING_CHOICE,
    **{(s, E.DEEMED_ACCEPTED): S.DEEMED_ACCEPTED for s in CLOCK_RUNNING},
    # -- executing the remedy ------------------------------------------------------------------------
    **{(s, E.START_REPAIR): S.IN_REPAIR for s in _MONEY_OR_WORK_FROM},
    **{(s, E.START_REPLACEMENT): S.REPLACING for s in (*_MONEY_OR_WORK_FROM, S.IN_REPAIR)},
    **{(s, E.REQUEST_REFUND): S.REFUND_PENDING for s in _MONEY_OR_WORK_FROM},
    **{(s, E.REVIEW): S.MANUAL_REVIEW for s in (S.ACCEPTED, S.DEEMED_ACCEPTED, S.AWAITING_CHOICE)},
    (S.ACCEPTED, E.CLOSE): S.RESOLVED,
    (S.DEEMED_ACCEPTED, E.CLOSE): S.RESOLVED,
    (S.MANUAL_REVIEW, E.CLOSE): S.RESOLVED,
    (S.IN_REPAIR, E.REPAIR_DONE): S.RESOLVED,
    (S.IN_REPAIR, E.REMEDY_FAILED): S.AWAITING_CHOICE,
    (S.IN_REPAIR, E.REVIEW): S.MANUAL_REVIEW,
    (S.REPLACING, E.REPLACEMENT_DONE): S.RESOLVED,
    (S.REPLACING, E.REMEDY_FAILED): S.AWAITING_CHOICE,
    (S.REPLACING, E.REVIEW): S.MANUAL_REVIEW,
    (S.REFUND_PENDING, E.REFUND_CONFIRMED): S.REFUNDED,
    (S.REFUND_PENDING, E.REFUND_FAILED): S.MANUAL_REVIEW,
    (S.REFUNDED, E.CLOSE): S.RESOLVED,
    # -- the defect comes back after a repair or replacement (art. 43e ust. 1 pkt 2) ----------------
    (S.RESOLVED, E.DEFECT_PERSISTS): S.AWAITING_CHOICE,
}
for _status in ComplaintStatus:
    if _status in (S.REJECTED, S.CANCELLED):
        continue
    for _note in NOTES:
        _TABLE[(_status, _note)] = _status
# A late answer is only ever logged on a case the law already accepted.
for _status in ComplaintStatus:
    if _status not in EXECUTING and _status is not S.RESOLVED:
        _TABLE.pop((_status, E.ANSWER_LATE), None)
# Messages still arrive on a rejected or cancelled case (a disagreement, a thank-you): log them.
for _status in (S.REJECTED, S.CANCELLED):
    _TABLE[(_status, E.CUSTOMER_MESSAGE)] = _status
    _TABLE[(_status, E.ATTACHMENT_ADDED)] = _status
    _TABLE[(_status, E.ANSWER_OPENED)] = _status
    _TABLE[(_status, E.MERCHANT_MESSAGE)] = _status

TRANSITIONS: Mapping[tuple[ComplaintStatus, ComplaintEvent], ComplaintStatus] = MappingProxyType(_TABLE)
"""(from, event) → to. Anything not listed is an illegal transition."""


class IllegalTransition(ValueError):
    """An event the table does not allow in the case's current status."""

    def __init__(self, status: str, event: str) -> None:
        allowed = sorted(e.value for (frm, e) in _TABLE if frm == status and e not in NOTES)
        hint = ", ".join(allowed) if allowed else "nothing (the case is final)"
        super().__init__(f"cannot {event!s} a complaint that is {status!s}; allowed here: {hint}")
        self.status = status
        self.event = event


def next_status(status: str, event: str) -> ComplaintStatus:
    """The status ``event`` leads to from ``status``, or :class:`IllegalTransition`."""
    try:
        key = (ComplaintStatus(status), ComplaintEvent(event))
    except ValueError:
        raise IllegalTransition(status, event) from None
    try:
        return _TABLE[key]
    except KeyError:
        raise IllegalTransition(status, event) from None


def allowed_events(status: str) -> frozenset[ComplaintEvent]:
    """Events the table accepts in ``status`` (what a merchant screen may offer)."""
    return frozenset(e for (frm, e) in _TABLE if frm == status)
