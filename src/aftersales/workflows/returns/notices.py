"""What the customer (and the merchant) is told, and when, for a return case.

Every customer-visible transition sends one message through ``ctx.notify`` (an outbox row
written in the same transaction as the transition, sent after commit). The dedupe key is
derived from the case, the template and the case version, so a redelivered webhook or a
retried step never sends the same message twice.

The withdrawal receipt is the confirmation on a durable medium with the statement's
timestamp that art. 11a u.p.k. (the withdrawal button, from 19 June 2026) and art. 21
u.p.k. require; e-mail is a durable medium.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from aftersales.domain import Case, Money
from aftersales.workflows.returns.eligibility import statement_time
from aftersales.workflows.returns.states import ReturnStatus

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext

WITHDRAWAL_RECEIPT = "withdrawal_receipt"
RETURN_RECEIVED = "return_received"
REFUND_SENT = "refund_sent"
RETURN_DECLINED = "return_declined"
CASE_STATUS = "case_status"
RETURN_ALERT = "return_alert"
"""Merchant escalation (template added with this workflow: ``notify/templates/*/return_alert.jinja``)."""

_STATUS_TEMPLATES: dict[ReturnStatus, str] = {
    ReturnStatus.APPROVED: CASE_STATUS,
    ReturnStatus.MANUAL_REVIEW: CASE_STATUS,
    ReturnStatus.IN_TRANSIT: CASE_STATUS,
    ReturnStatus.RECEIVED: RETURN_RECEIVED,
    ReturnStatus.REFUNDED: REFUND_SENT,
    ReturnStatus.DECLINED: RETURN_DECLINED,
    ReturnStatus.REJECTED: RETURN_DECLINED,
    ReturnStatus.EXPIRED: CASE_STATUS,
    ReturnStatus.CANCELLED: CASE_STATUS,
}
"""Which message a customer gets when the case enters a status (none: internal steps)."""

STATUS_LABELS: dict[str, dict[ReturnStatus, str]] = {
    "en": {
        ReturnStatus.REQUESTED: "request received",
        ReturnStatus.MANUAL_REVIEW: "being reviewed by our team",
        ReturnStatus.APPROVED: "approved – please send the goods back",
        ReturnStatus.IN_TRANSIT: "parcel on its way to us",
        ReturnStatus.RECEIVED: "goods received",
        ReturnStatus.INSPECTED: "goods checked",
        ReturnStatus.REFUND_PENDING: "refund being sent",
        ReturnStatus.REFUNDED: "refunded",
        ReturnStatus.CLOSED: "closed",
        ReturnStatus.DECLINED: "declined",
        ReturnStatus.REJECTED: "rejected",
        ReturnStatus.EXPIRED: "expired – the goods did not arrive",
        ReturnStatus.CANCELLED: "cancelled",
    },
    "pl": {
        ReturnStatus.REQUESTED: "zgłoszenie przyjęte",
        ReturnStatus.MANUAL_REVIEW: "sprawdzane przez nasz zespół",
        ReturnStatus.APPROVED: "zaakceptowane – prosimy o odesłanie towaru",
        ReturnStatus.IN_TRANSIT: "paczka w drodze do nas",
        ReturnStatus.RECEIVED: "towar dotarł",
        ReturnStatus.INSPECTED: "towar sprawdzony",
        ReturnStatus.REFUND_PENDING: "zwrot pieniędzy w toku",
        ReturnStatus.REFUNDED: "pieniądze zwrócone",
        ReturnStatus.CLOSED: "zamknięte",
        ReturnStatus.DECLINED: "odrzucone",
        ReturnStatus.REJECTED: "odrzucone",
        ReturnStatus.EXPIRED: "wygasło – towar nie dotarł",
        ReturnStatus.CANCELLED: "anulowane",
    },
}


def _language(locale: str) -> str:
    return "pl" if locale.lower().startswith("pl") else "en"


def status_label(status: str, locale: str) -> str:
    try:
        return STATUS_LABELS[_language(locale)][ReturnStatus(status)]
    except ValueError:
        return status


def line_summary(case: Case) -> list[dict[str, Any]]:
    """Units per order line with the product names the customer saw on the order."""
    names = case.data.get("line_names")
    counts: Counter[str] = Counter()
    for line in case.lines:
        counts[line.line_item_id] += line.quantity
    return [
        {"name": str(names.get(line_id, line_id)) if isinstance(names, dict) else line_id, "quantity": qty}
        for line_id, qty in counts.items()
    ]


def _base(case: Case, locale: str) -> dict[str, Any]:
    return {
        "case": case,
        "case_number": case.number,
        "order_number": case.data.get("order_number") or case.order_id,
        "customer_name": case.customer.name,
        "status": case.status,
        "status_label": status_label(case.status, locale),
        "lines": line_summary(case),
    }


def _locale(ctx: StepContext, case: Case) -> str:
    return case.customer.locale or ctx.policy.language


def _send(ctx: StepContext, case: Case, template: str, context: dict[str, Any], dedupe: str) -> None:
    to = case.customer.email
    if not to:
        return
    locale = _locale(ctx, case)
    full = _base(case, locale)
    full.update(context)
    ctx.notify(template, to, locale=locale, case=case, context=full, dedupe_key=f"{case.id}:{dedupe}")


def send_withdrawal_receipt(ctx: StepContext, case: Case) -> None:
    """The receipt of a withdrawal statement, with its timestamp, on a durable medium (e-mail)."""
    deadline = case.data.get("refund_deadline")
    refund_by = deadline.get("last_day") if isinstance(deadline, dict) else None
    context = {"received_at": statement_time(case).isoformat(), "refund_by": refund_by}
    _send(ctx, case, WITHDRAWAL_RECEIPT, context, WITHDRAWAL_RECEIPT)


def on_status(ctx: StepContext, case: Case, old: str, *, reason: str | None = None) -> None:
    """Tell the customer that the case entered its current status (when that status is theirs to see)."""
    if case.status == old:
        return
    try:
        template = _STATUS_TEMPLATES.get(ReturnStatus(case.status))
    except ValueError:
        template = None
    if template is None:
        return
    context: dict[str, Any] = {"note": reason, "reason": reason or case.reason or ""}
    if template == RETURN_RECEIVED:
        context["received_at"] = ctx.now().isoformat()
    if template == REFUND_SENT:
        if case.refund_total is None:
            return
        context["amount"] = money_context(case.refund_total)
    _send(ctx, case, template, context, f"{template}:{case.status}:{case.version}")


def goods_reminder(ctx: StepContext, case: Case) -> None:
    locale = _locale(ctx, case)
    note = (
        "Czekamy jeszcze na zwracany towar – prosimy o jego odesłanie."
        if _language(locale) == "pl"
        else "We are still waiting for the goods – please send them back."
    )
    _send(ctx, case, CASE_STATUS, {"note": note}, "goods_reminder")


def alert_merchant(ctx: StepContext, case: Case, what: str, detail: str, *, key: str) -> None:
    """An escalation to the merchant at ``notifications.merchant_address`` (when the policy names one)."""
    to = ctx.policy.notifications.merchant_address
    if not to:
        return
    context = {
        "case": case,
        "case_number": case.number,
        "order_number": case.data.get("order_number") or case.order_id,
        "customer_email": case.customer.email,
        "status": case.status,
        "alert": what,
        "detail": detail,
        "deadlines": {k: v.isoformat() for k, v in case.deadlines.items()},
    }
    ctx.notify(
        RETURN_ALERT,
        to,
        locale=ctx.policy.language,
        case=case,
        context=context,
        dedupe_key=f"{case.id}:{RETURN_ALERT}:{key}",
    )


def money_context(amount: Money) -> dict[str, str]:
    """Money for a template (the ``money`` filter takes ``{amount, currency}``)."""
    return {"amount": str(amount.amount), "currency": amount.currency}
