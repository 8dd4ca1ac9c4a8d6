"""Opening a complaint from any channel: the web form, an e-mail, the platform.

The law starts the answer clock when the complaint *reaches* the trader (art. 7a u.p.k.),
whatever the channel and whatever is missing from it. So intake never loses a complaint:

- an unknown order still opens a case, in ``awaiting_order``, and the customer is asked for
  the order number (the clock runs meanwhile);
- a defect noticed after the 2-year liability still opens a case and gets a clear answer
  (rejected with the dates, or a person looks when the date is unknown); if the shop's
  commercial guarantee covers it, the case is opened as a ``warranty`` claim instead;
- a web form with an unacceptable attachment or an unlawful demand is refused *as a whole*
  with the reason (the customer fixes it and sends again); an e-mail cannot be sent back, so
  its unacceptable parts are listed on the case and the raw message is kept.

Duplicates are one case: the web form's idempotency token, the e-mail's Message-ID and the
platform's return id are the case's ``(source, source_ref)``; a reply threaded onto a case by
the number in its subject is recorded once per Message-ID.

Every new complaint is acknowledged at once with its number; then the decision hook may
answer it (:mod:`.answer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from aftersales.decisions import Remedy
from aftersales.domain import Case, CaseLine, CaseType, Customer, Logistics, Money, Order
from aftersales.platforms import PlatformError
from aftersales.store.models import CaseRow
from aftersales.workflows.complaints import answer, notices
from aftersales.workflows.complaints.attachments import Checked, store_attachments
from aftersales.workflows.complaints.clock import Coverage, coverage, warranty_for
from aftersales.workflows.complaints.flow import (
    CATEGORY,
    CHANNEL,
    COMPLAINT_TYPES,
    COVERAGE,
    CUSTOMER,
    DESCRIPTION,
    LADDER,
    MESSAGES,
    NOTICED_AT,
    ORDER_HINTS,
    PRICE_REDUCTION,
    PRODUCT,
    RECEIVED_AT,
    REFUSED_ATTACHMENTS,
    ComplaintError,
    fire,
    received_at,
)
from aftersales.workflows.complaints.inbound import InboundMail
from aftersales.workflows.complaints.ladder import Ground, Ladder, LadderViolation
from aftersales.workflows.complaints.notices import ORDER_NUMBER
from aftersales.workflows.complaints.states import ComplaintEvent, ComplaintStatus

if TYPE_CHECKING:
    from aftersales.engine.api import StepContext

log = structlog.get_logger("aftersales.workflows.complaints")

MAX_MESSAGES_KEPT = 200
"""Message-IDs remembered per case to dedupe threaded replies."""
_CONVERTED = "converted_from"


@dataclass(frozen=True)
class LineClaim:
    line_item_id: str
    quantity: int = 1


@dataclass
class Submission:
    """A complaint as a channel hands it over, before any lookup."""

    channel: str
    """``web``, ``email``, ``platform`` or ``api`` (the case's ``source``)."""
    email: str
    received_at: datetime
    name: str | None = None
    phone: str | None = None
    locale: str | None = None
    case_type: CaseType | None = None
    """Asked for by the customer; None: decided from the dates (complaint, else guarantee)."""
    order_id: str | None = None
    """Exact platform id, when the channel knows it (a platform return)."""
    order_number: str | None = None
    order_hints: Sequence[str] = ()
    lines: Sequence[LineClaim] = ()
    product: str | None = None
    description: str = ""
    remedy: Remedy | None = None
    ground: Ground | None = None
    price_reduction: Decimal | None = None
    noticed_at: datetime | None = None
    source_ref: str | None = None
    files: Sequence[Checked] = ()
    refused_files: Sequence[dict[str, str]] = ()
    original: Checked | None = None
    strict: bool = True
    """Web/API: refuse an unlawful demand or a foreign line. E-mail/platform: keep and flag."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Opened:
    case: Case
    created: bool
    threaded: bool = False


def existing_by_source(ctx: StepContext, source: str, source_ref: str | None) -> Case | None:
    if not source_ref:
        return None
    row = ctx.session.scalars(
        select(CaseRow.id).where(
            CaseRow.shop_id == ctx.shop_id, CaseRow.source == source, CaseRow.source_ref == source_ref
        )
    ).first()
    return ctx.load_case(row) if row is not None else None


# -- finding the order -------------------------------------------------------------------------------


def find_customer_order(ctx: StepContext, number: str, email: str) -> Order | None:
    """The order with ``number`` that belongs to ``email``: the snapshot, else the platform.

    The platform is asked by id only when the number is all digits (a WooCommerce order's
    number is its id); the e-mail must still match, so a guessed number reveals nothing.
    """
    found = ctx.find_order(number, email)
    if found is not None:
        return found
    candidate = number.strip().lstrip("#")
    if not candidate.isdigit():
        return None
    try:
        fetched = ctx.fetch_order(candidate)
    except PlatformError:
        return None
    if (fetched.customer.email or "").strip().lower() != email.strip().lower():
        return None
    return fetched


def _order_for(ctx: StepContext, sub: Submission) -> Order | None:
    if sub.order_id:
        order = ctx.order(sub.order_id)
        if order is None:
            try:
                order = ctx.fetch_order(sub.order_id)
            except PlatformError as exc:
                log.warning("complaint_order_unreadable", order_id=sub.order_id, error=str(exc))
        return order
    for number in [n for n in (sub.order_number, *sub.order_hints) if n]:
        order = find_customer_order(ctx, number, sub.email)
        if order is not None:
            return order
    return None


def claim_lines(order: Order, claims: Sequence[LineClaim], *, strict: bool) -> list[CaseLine]:
    """The case lines: the claimed order lines, or the order's only line when none is named."""
    lines: list[CaseLine] = []
    for claim in claims:
        try:
            item = order.line(claim.line_item_id)
        except KeyError:
            if strict:
                raise ComplaintError(
                    f"line {claim.line_item_id} is not part of order {order.number}"
                ) from None
            continue
        if claim.quantity < 1 or claim.quantity > item.quantity:
            if strict:
                raise ComplaintError(
                    f"line {claim.line_item_id} ({item.name}): {claim.quantity} unit(s) claimed, "
                    f"{item.quantity} bought"
                )
            continue
        lines.append(
            CaseLine(line_item_id=item.id, quantity=claim.quantity, logistics=Logistics.NOT_REQUIRED)
        )
    if not lines and len(order.line_items) == 1:
        lines.append(CaseLine(line_item_id=order.line_items[0].id, logistics=Logistics.NOT_REQUIRED))
    return lines


def _goods(order: Order, lines: Sequence[CaseLine]) -> tuple[str | None, str | None, Decimal | None]:
    """Product name, category and value of the claimed units (what priority and labels need)."""
    if not lines:
        return None, None, order.total.amount
    names, categories, value = [], [], Decimal(0)
    for line in lines:
        item = order.line(line.line_item_id)
        names.append(item.name)
        if item.category:
            categories.append(item.category)
        if item.quantity:
            value += item.paid(order.prices_include_tax).amount * line.quantity / item.quantity
    return ", ".join(n for n in names if n) or None, (categories[0] if categories else None), value


def _decide_type(asked: CaseType | None, cover: Coverage, *, has_guarantee: bool) -> CaseType:
    """Which case the facts make of the request.

    A defect the statute no longer covers but the shop's guarantee does is a warranty claim; a
    customer who asks for the guarantee gets it only where one exists — otherwise the statutory
    complaint, which is never worse for them.
    """
    if cover.basis == "guarantee":
        return CaseType.WARRANTY
    if asked is CaseType.WARRANTY and has_guarantee:
        return CaseType.WARRANTY
    return CaseType.COMPLAINT


def _ladder(sub: Submission, data: dict[str, Any]) -> Ladder:
    ladder = Ladder()
    if sub.remedy is None:
        return ladder
    try:
        return ladder.demand(sub.remedy, sub.ground)
    except LadderViolation as exc:
        if sub.strict:
            raise
        data["refused_demand"] = {"remedy": sub.remedy.value, "reason": str(exc)}
        return ladder


# -- opening ----------------------------------------------------------------------------------------------


def open_complaint(ctx: StepContext, sub: Submission) -> Opened:
    """Open (or find) the complaint ``sub`` describes, acknowledge it, start its clocks, decide if possible."""
    existing = existing_by_source(ctx, sub.channel, sub.source_ref)
    if existing is not None:
        return Opened(existing, created=False)
    order = _order_for(ctx, sub)
    data: dict[str, Any] = {
        RECEIVED_AT: sub.received_at.isoformat(),
        CHANNEL: sub.channel,
        DESCRIPTION: sub.description,
        **sub.extra,
    }
    if sub.order_hints:
        data[ORDER_HINTS] = list(sub.order_hints)
    if sub.order_number:
        data.setdefault(ORDER_HINTS, [])
        data[ORDER_HINTS] = list(dict.fromkeys([sub.order_number, *data[ORDER_HINTS]]))
    if sub.noticed_at is not None:
        data[NOTICED_AT] = sub.noticed_at.isoformat()
    if sub.price_reduction is not None:
        data[PRICE_REDUCTION] = str(sub.price_reduction)
    if sub.refused_files:
        data[REFUSED_ATTACHMENTS] = list(sub.refused_files)
    if sub.channel == "email" and sub.source_ref:
        data[MESSAGES] = [sub.source_ref]
    ladder = _ladder(sub, data)
    set_ladder_data(data, ladder)

    lines: list[CaseLine] = []
    product, category, value = sub.product, None, None
    case_type = sub.case_type or CaseType.COMPLAINT
    cover: Coverage | None = None
    if order is not None:
        lines = claim_lines(order, sub.lines, strict=sub.strict)
        name, category, value = _goods(order, lines)
        product = product or name
        data[ORDER_NUMBER] = order.number
        if sub.price_reduction is not None:
            _check_reduction(order, sub.price_reduction, value)
        cover = coverage(
            order.delivered_at(), sub.noticed_at or sub.received_at, ctx.policy, category=category
        )
        data[COVERAGE] = _coverage_data(cover)
        case_type = _decide_type(
            sub.case_type, cover, has_guarantee=warranty_for(category, ctx.policy) is not None
        )
        if sub.case_type is not None and case_type is not sub.case_type:
            data[_CONVERTED] = sub.case_type.value
    if product:
        data[PRODUCT] = product
    if category:
        data[CATEGORY] = category
    customer = Customer(
        id=order.customer.id if order else None,
        email=sub.email.strip() or None,
        name=sub.name or (order.customer.name if order else None),
        phone=sub.phone or (order.customer.phone if order else None),
        locale=sub.locale or (order.customer.locale if order else None),
    )
    status = ComplaintStatus.RECEIVED if order is not None else ComplaintStatus.AWAITING_ORDER
    case = ctx.open_case(
        type=case_type,
        status=status.value,
        order_id=order.id if order else None,
        customer=customer,
        lines=lines,
        reason=_summary(sub),
        source=sub.channel,
        source_ref=sub.source_ref,
        data=data,
        actor=CUSTOMER if sub.channel in ("web", "email", "api") else sub.channel,
    )
    _store_files(ctx, case, sub)
    answer.arm_clocks(ctx, case, value=value)
    notices.acknowledge(ctx, case, order_needed=order is None)
    if order is None:
        return Opened(case, created=True)
    return Opened(settle_intake(ctx, case, cover), created=True)


def settle_intake(ctx: StepContext, case: Case, cover: Coverage | None) -> Case:
    """After the order is known: answer out-of-liability complaints, else let the hook decide."""
    if cover is not None and not cover.covered:
        if NOTICED_AT in case.data:
            return answer.reject_out_of_liability(ctx, case, cover)
        return fire(
            ctx,
            case,
            ComplaintEvent.REVIEW,
            actor="system",
            reason=(
                f"{cover.detail}; the customer did not say when the defect appeared — "
                "ask, or answer the complaint"
            ),
            visible=False,
        )
    if "refused_demand" in case.data:
        refused = case.data["refused_demand"]
        detail = refused.get("reason") if isinstance(refused, dict) else None
        return fire(
            ctx,
            case,
            ComplaintEvent.REVIEW,
            actor="system",
            reason=f"the customer's demand is not on the remedy ladder: {detail}",
            visible=False,
        )
    return answer.consult_hook(ctx, case)


def set_ladder_data(data: dict[str, Any], ladder: Ladder) -> None:
    data[LADDER] = ladder.to_data()


def _check_reduction(order: Order, amount: Decimal, value: Decimal | None) -> None:
    if amount <= 0:
        raise ComplaintError("a price reduction must be more than 0")
    ceiling = value if value is not None else order.total.amount
    if amount > ceiling:
        raise ComplaintError(
            f"a price reduction of {amount} is more than the {ceiling} {order.currency} paid for the goods"
        )
    Money(amount, order.currency)  # refuses more decimal places than the currency has


def _coverage_data(cover: Coverage) -> dict[str, Any]:
    return {
        "covered": cover.covered,
        "basis": cover.basis,
        "ends_on": cover.ends_on.isoformat() if cover.ends_on else None,
        "detail": cover.detail,
        "rule": cover.rule,
    }


def _summary(sub: Submission) -> str:
    text = " ".join((sub.description or "").split())
    head = sub.product or ""
    summary = f"{head}: {text}" if head and text else (head or text or "complaint")
    return summary[:300]


def _store_files(ctx: StepContext, case: Case, sub: Submission) -> None:
    files: list[Checked] = list(sub.files)
    now = ctx.now()
    stored = store_attachments(ctx.session, shop_id=ctx.shop_id, case_id=case.id, files=files, now=now)
    if sub.original is not None:
        store_attachments(
            ctx.session, shop_id=ctx.shop_id, case_id=case.id, files=[sub.original], now=now, original=True
        )
    if stored or sub.refused_files:
        fire(
            ctx,
            case,
            ComplaintEvent.ATTACHMENT_ADDED,
            actor=CUSTOMER,
            data={
                "files": [{"filename": r.filename, "type": r.content_type, "size": r.size} for r in stored],
                "refused": list(sub.refused_files),
            },
            visible=True,
        )


# -- e-mail --------------------------------------------------------------------------------------------------


def submission_from_mail(
    mail: InboundMail,
    *,
    received: datetime,
    files: Sequence[Checked],
    refused: Sequence[dict[str, str]],
    original: Checked,
) -> Submission:
    description = mail.text or mail.subject
    return Submission(
        channel="email",
        email=mail.sender,
        received_at=received,
        name=mail.sender_name,
        order_hints=mail.order_numbers,
        product=None,
        description=f"{mail.subject}\n\n{description}".strip() if mail.subject else description,
        remedy=mail.remedy,
        source_ref=mail.message_id,
        files=files,
        refused_files=refused,
        original=original,
        strict=False,
        extra={"subject": mail.subject, **({"mail_date": mail.date} if mail.date else {})},
    )


def thread_target(ctx: StepContext, mail: InboundMail) -> Case | None:
    """The complaint a reply belongs to: a number in its subject, from the case's own customer."""
    for number in mail.case_numbers:
        case = ctx.find_case(number)
        if case is None or case.type not in COMPLAINT_TYPES:
            continue
        if (case.customer.email or "").strip().lower() == mail.sender:
            return case
        log.info("complaint_reply_from_other_sender", case=case.number)
    return None


def thread_reply(
    ctx: StepContext,
    case: Case,
    mail: InboundMail,
    *,
    files: Sequence[Checked],
    refused: Sequence[dict[str, str]],
    original: Checked,
) -> Opened:
    """Record a customer's reply on its case (once per Message-ID); an order number settles ``awaiting_order``."""
    seen = case.data.get(MESSAGES)
    seen_ids = list(seen) if isinstance(seen, list) else []
    if mail.message_id in seen_ids:
        return Opened(case, created=False, threaded=True)
    case.data[MESSAGES] = [*seen_ids, mail.message_id][-MAX_MESSAGES_KEPT:]
    now = ctx.now()
    stored = store_attachments(ctx.session, shop_id=ctx.shop_id, case_id=case.id, files=files, now=now)
    store_attachments(
        ctx.session, shop_id=ctx.shop_id, case_id=case.id, files=[original], now=now, original=True
    )
    case = fire(
        ctx,
        case,
        ComplaintEvent.CUSTOMER_MESSAGE,
        actor=CUSTOMER,
        reason=mail.subject,
        data={
            "message_id": mail.message_id,
            "text": mail.text[:2000],
            "files": [r.filename for r in stored],
            "refused": list(refused),
        },
        visible=True,
    )
    if case.status == ComplaintStatus.AWAITING_ORDER and mail.order_numbers:
        try:
            case = identify_order(ctx, case, mail.order_numbers, actor=CUSTOMER)
        except ComplaintError as exc:
            log.info("complaint_reply_order_not_found", case=case.number, error=str(exc))
    elif case.status == ComplaintStatus.RECEIVED:
        case = answer.consult_hook(ctx, case)  # new evidence: the decision hook may answer now
    return Opened(case, created=False, threaded=True)


def identify_order(ctx: StepContext, case: Case, numbers: Sequence[str], *, actor: str) -> Case:
    """Attach the customer's order to an ``awaiting_order`` complaint; a wrong number changes nothing."""
    email = case.customer.email or ""
    for number in numbers:
        order = find_customer_order(ctx, number, email)
        if order is None:
            continue
        lines = claim_lines(order, [], strict=False)
        name, category, value = _goods(order, lines)
        case.order_id = order.id
        case.lines = lines
        case.data[ORDER_NUMBER] = order.number
        if name and PRODUCT not in case.data:
            case.data[PRODUCT] = name
        if category:
            case.data[CATEGORY] = category
        noticed = case.data.get(NOTICED_AT)
        at = datetime.fromisoformat(noticed) if isinstance(noticed, str) else received_at(case)
        cover = coverage(order.delivered_at(), at, ctx.policy, category=category)
        case.data[COVERAGE] = _coverage_data(cover)
        case = fire(
            ctx,
            case,
            ComplaintEvent.ORDER_IDENTIFIED,
            actor=actor,
            reason=f"order {order.number}",
            data={"order_id": order.id, "value": None if value is None else str(value)},
        )
        if case.status == ComplaintStatus.RECEIVED:
            return settle_intake(ctx, case, cover)
        return case
    raise ComplaintError(f"no order {', '.join(numbers)} for {email}")


__all__ = [
    "LineClaim",
    "Opened",
    "Submission",
    "claim_lines",
    "existing_by_source",
    "find_customer_order",
    "identify_order",
    "open_complaint",
    "settle_intake",
    "submission_from_mail",
    "thread_reply",
    "thread_target",
]
