"""What the customer, the merchant and the warehouse are told about a complaint.

Every message is an outbox row written in the step's transaction (``ctx.notify``) and sent
after the commit, with a dedupe key derived from the case and the occasion, so a retried
step or a redelivered e-mail never sends it twice. The acknowledgement goes out at once, on
every channel, with the case number the customer quotes afterwards; the complaint *answer* is
sent by :mod:`.answer` because its delivery is what stops the statutory clock.

Merchant messages go to ``notifications.merchant_address``; a shop without one still has
every fact on the case and in the outbound events, only the e-mail is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from aftersales.domain import Case
from aftersales.workflows.complaints.flow import CLOCK, PRODUCT, received_at

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext

log = structlog.get_logger("aftersales.workflows.complaints")

COMPLAINT_RECEIVED = "complaint_received"
COMPLAINT_ORDER_NEEDED = "complaint_order_needed"
COMPLAINT_ANSWER = "complaint_answer"
COMPLAINT_DEEMED_ACCEPTED = "complaint_deemed_accepted"
COMPLAINT_REMINDER = "complaint_reminder"
COMPLAINT_ALERT = "complaint_alert"
REPAIR_DELAYED = "repair_delayed"
LOANER_OVERDUE = "loaner_overdue"
PICKUP_ORDER = "pickup_order"
CASE_STATUS = "case_status"

ORDER_NUMBER = "order_number"
"""``Case.data`` key: the order's number as the customer knows it (``#1001``)."""

REMEDY_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "repair": "repair",
        "replace": "replacement",
        "price_reduction": "price reduction",
        "withdraw": "withdrawal from the contract and a refund",
    },
    "pl": {
        "repair": "naprawa",
        "replace": "wymiana na nowy",
        "price_reduction": "obniżenie ceny",
        "withdraw": "odstąpienie od umowy i zwrot pieniędzy",
    },
}


def locale_of(ctx: StepContext, case: Case) -> str:
    return case.customer.locale or getattr(ctx.policy, "language", None) or "pl"


def remedy_label(ctx: StepContext, case: Case, remedy: str | None) -> str | None:
    if not remedy:
        return None
    language = "pl" if locale_of(ctx, case).lower().startswith("pl") else "en"
    return REMEDY_LABELS[language].get(remedy, remedy)


def base_context(case: Case) -> dict[str, Any]:
    clock = case.data.get(CLOCK)
    answer_by = clock.get("answer_by") if isinstance(clock, dict) else None
    return {
        "case_number": case.number,
        "customer_name": case.customer.name,
        "order_number": case.data.get(ORDER_NUMBER),
        "product": case.data.get(PRODUCT),
        "received_at": received_at(case),
        "answer_by": answer_by,
    }


def to_customer(
    ctx: StepContext,
    case: Case,
    template: str,
    *,
    key: str,
    context: Mapping[str, Any] | None = None,
) -> bool:
    """Queue ``template`` for the customer once per ``key``; False without an address or when queued already."""
    address = case.customer.email
    if not address:
        log.warning("complaint_customer_without_address", case=case.number, template=template)
        return False
    full = {**base_context(case), **(context or {})}
    return ctx.notify(
        template,
        address,
        locale=locale_of(ctx, case),
        case=case,
        context=full,
        dedupe_key=f"{template}:{case.id}:{key}",
    )


def merchant_address(ctx: StepContext) -> str | None:
    notifications = getattr(ctx.policy, "notifications", None)
    address = getattr(notifications, "merchant_address", None)
    return str(address) if address else None


def to_merchant(
    ctx: StepContext,
    case: Case,
    template: str,
    *,
    key: str,
    context: Mapping[str, Any] | None = None,
) -> bool:
    address = merchant_address(ctx)
    if address is None:
        log.info("complaint_merchant_without_address", case=case.number, template=template)
        return False
    full = {
        **base_context(case),
        "customer_email": case.customer.email,
        **(context or {}),
    }
    return ctx.notify(
        template,
        address,
        locale=getattr(ctx.policy, "language", None) or "pl",
        case=case,
        context=full,
        dedupe_key=f"{template}:{case.id}:{key}",
    )


def acknowledge(ctx: StepContext, case: Case, *, order_needed: bool) -> None:
    """The acknowledgement with the case number, sent at once; plus a request for the order number."""
    to_customer(ctx, case, COMPLAINT_RECEIVED, key="ack")
    if order_needed:
        to_customer(ctx, case, COMPLAINT_ORDER_NEEDED, key="order_needed")


def alert(ctx: StepContext, case: Case, title: str, detail: str, *, key: str) -> None:
    """Tell the merchant something needs a person (once per ``key``)."""
    to_merchant(ctx, case, COMPLAINT_ALERT, key=f"alert:{key}", context={"title": title, "detail": detail})
