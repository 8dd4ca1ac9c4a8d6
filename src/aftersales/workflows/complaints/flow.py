"""The moves of a complaint: every status change goes through :func:`fire`; facts live in ``Case.data``.

:func:`fire` looks the event up in the one transition table (an illegal move raises before
anything is written), then asks the engine to apply it (compare-and-set on the case's
version, an event-log row, the ``aftersales_case_transition`` observers after commit).
Timer ids are derived from the case and the clock's name, so arming a clock twice (a
retried step) is a no-op, and cancelling one needs no lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aftersales.domain import Case, CaseType
from aftersales.workflows.complaints.ladder import Ladder
from aftersales.workflows.complaints.states import NOTES, ComplaintEvent, next_status

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext

COMPLAINT_TYPES = frozenset({CaseType.COMPLAINT, CaseType.WARRANTY})

# -- who acts -------------------------------------------------------------------------------------
SYSTEM = "system"
CUSTOMER = "customer"
MERCHANT = "merchant"
PLATFORM = "platform"
TIMER = "timer"

# -- durable clocks (timer kinds) -------------------------------------------------------------------
TIMER_ANSWER_DUE = "complaints.answer_due"
TIMER_REMINDER = "complaints.reminder"
TIMER_FIRST_RESPONSE = "complaints.first_response"
TIMER_REPAIR_WARNING = "complaints.repair_warning"
TIMER_REPAIR_DUE = "complaints.repair_due"
TIMER_REFUND_DUE = "complaints.refund_due"
TIMER_LOANER_DUE = "complaints.loaner_due"
TIMER_GUARANTEE_DUE = "complaints.guarantee_due"

# -- Case.data keys -----------------------------------------------------------------------------------
RECEIVED_AT = "received_at"
CHANNEL = "channel"
DESCRIPTION = "description"
PRODUCT = "product"
CATEGORY = "category"
NOTICED_AT = "defect_noticed_at"
LADDER = "ladder"
CLOCK = "answer_clock"
ANSWER = "answer"
COVERAGE = "coverage"
PRIORITY = "priority"
FIRST_RESPONSE = "first_response"
REPAIR = "repair"
PICKUP = "pickup"
REFUNDS = "complaint_refunds"
"""Not ``refunds``: the returns workflow reads that key on every refund effect of any case."""
PRICE_REDUCTION = "price_reduction"
REFUSED_ATTACHMENTS = "refused_attachments"
ORDER_HINTS = "order_numbers"
MESSAGES = "messages"
DECLARED_AT = "declared_at"
"""When the consumer's latest statement (a second-rung demand) reached the trader."""

# -- Case.deadlines keys --------------------------------------------------------------------------------
DEADLINE_ANSWER = "answer_due"
DEADLINE_FIRST_RESPONSE = "first_response_due"
DEADLINE_REPAIR = "repair_due"
DEADLINE_REFUND = "refund_due"
DEADLINE_GUARANTEE = "guarantee_action_due"


class ComplaintError(ValueError):
    """A request the complaint workflow refuses; the message says why (nothing is written)."""


def timer_id(case: Case, kind: str, suffix: str | int | None = None) -> str:
    """Deterministic: ``case:<id>:<kind>[:<suffix>]`` (scheduling twice is a no-op)."""
    tail = f":{suffix}" if suffix is not None else ""
    return f"case:{case.id}:{kind}{tail}"


def fire(
    ctx: StepContext,
    case: Case,
    event: ComplaintEvent,
    *,
    actor: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    visible: bool | None = None,
) -> Case:
    """Apply ``event`` to ``case`` through the table; raises ``IllegalTransition`` before any write.

    Notes (self-loops) are internal unless ``visible`` says otherwise; status changes are
    customer-visible unless ``visible`` is False (the timeline on the status page).
    """
    new = next_status(case.status, event)
    shown = visible if visible is not None else event not in NOTES
    return ctx.transition(
        case,
        new.value,
        event=event.value,
        actor=actor,
        reason=reason,
        data=data or {},
        customer_visible=shown,
    )


def ladder_of(case: Case) -> Ladder:
    raw = case.data.get(LADDER)
    return Ladder.from_data(raw if isinstance(raw, dict) else None)


def set_ladder(case: Case, ladder: Ladder) -> None:
    case.data[LADDER] = ladder.to_data()


def received_at(case: Case) -> datetime:
    raw = case.data.get(RECEIVED_AT)
    return datetime.fromisoformat(raw) if isinstance(raw, str) else case.opened_at


def section(case: Case, key: str) -> dict[str, Any]:
    """A dict stored under ``key`` in ``case.data`` (created empty when missing)."""
    value = case.data.get(key)
    if not isinstance(value, dict):
        value = {}
        case.data[key] = value
    return value
