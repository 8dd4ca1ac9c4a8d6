"""Commands the web form, the merchant API, the status page and the CLI call: one function each.

A command runs in one engine transaction (``Runtime.execute_command``). Its payload is
validated by a pydantic model first (unknown keys and wrong types are refused with the
field's name); domain rules follow. Every refusal is a ``ValueError`` with the reason —
:class:`~aftersales.workflows.complaints.flow.ComplaintError`,
:class:`~aftersales.workflows.complaints.ladder.LadderViolation` (the article it breaks),
:class:`~aftersales.workflows.complaints.attachments.AttachmentRejected` — and nothing is
written. A concurrent duplicate (two clicks racing on the same idempotency token) loses the
unique index, and the engine runs the command again, which then finds the first case.

======================================  ==========  ===============================================
command                                 who         what
======================================  ==========  ===============================================
complaints.submit                       customer    the complaint form (photos and PDFs attached)
complaints.ingest_email                 mailbox     an RFC 822 message: a new complaint or a reply
complaints.provide_order                customer    the order number a complaint was missing
complaints.declare                      customer    a (new) demand: the ladder's second rung
complaints.defect_persists              customer    the defect came back after a repair
complaints.cancel                       customer    take the complaint back before an answer
complaints.status / .timeline           customer    the case and its customer-visible history
complaints.answer_opened                status page the customer read the answer there
complaints.answer                       merchant    accept / switch / refuse repair+replace / reject
complaints.message                      merchant    a message to the customer (first response)
complaints.execute                      merchant    carry out a remedy after a person's review
complaints.item_received                merchant    the goods reached the service
complaints.report_delay                 merchant    the repair will be late: tell the customer now
complaints.repair_done / .replacement_sent / .remedy_failed   merchant   the repair's outcome
complaints.issue_loaner / .return_loaner                       merchant   replacement equipment
======================================  ==========  ===============================================
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from aftersales.decisions import Remedy
from aftersales.domain import Case, CaseType
from aftersales.engine.api import StepContext, registry
from aftersales.store.cases import timeline
from aftersales.workflows.complaints import answer, notices, remedies, repairs
from aftersales.workflows.complaints.attachments import (
    AttachmentRejected,
    Upload,
    check_uploads,
    original_message,
    partition_uploads,
)
from aftersales.workflows.complaints.flow import (
    ANSWER,
    CLOCK,
    COMPLAINT_TYPES,
    CUSTOMER,
    DECLARED_AT,
    MERCHANT,
    PRICE_REDUCTION,
    PRIORITY,
    TIMER_FIRST_RESPONSE,
    ComplaintError,
    fire,
    ladder_of,
    set_ladder,
    timer_id,
)
from aftersales.workflows.complaints.inbound import MalformedMail, parse_mail
from aftersales.workflows.complaints.intake import (
    LineClaim,
    Opened,
    Submission,
    claim_lines,
    existing_by_source,
    identify_order,
    open_complaint,
    submission_from_mail,
    thread_reply,
    thread_target,
)
from aftersales.workflows.complaints.ladder import (
    MONEY_REMEDIES,
    AnswerKind,
    Ground,
    SwitchReason,
    TraderAnswer,
)
from aftersales.workflows.complaints.states import ComplaintEvent, ComplaintStatus


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttachmentPayload(_Payload):
    filename: str = "attachment"
    content_type: str | None = None
    content: bytes | None = None
    """The bytes (in-process callers: the web form)."""
    content_base64: str | None = None
    """The bytes in base64 (JSON callers)."""

    def upload(self) -> Upload:
        data = self.content
        if data is None and self.content_base64 is not None:
            try:
                data = base64.b64decode(self.content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise AttachmentRejected(f"{self.filename}: content_base64 is not valid base64") from None
        if data is None:
            raise AttachmentRejected(f"{self.filename}: no content")
        return Upload(filename=self.filename, content=data, declared_type=self.content_type)


class LinePayload(_Payload):
    line_item_id: str = Field(min_length=1)
    quantity: int = Field(default=1, ge=1)


class SubmitPayload(_Payload):
    email: str = Field(min_length=3, max_length=320)
    description: str = Field(min_length=1, max_length=20_000)
    order_number: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    locale: str | None = Field(default=None, max_length=16)
    type: Literal["complaint", "warranty"] | None = None
    lines: list[LinePayload] = Field(default_factory=list)
    product: str | None = Field(default=None, max_length=300)
    remedy: Remedy | None = None
    ground: Ground | None = None
    price_reduction: Decimal | None = None
    defect_noticed_at: AwareDatetime | None = None
    request_id: str | None = Field(default=None, max_length=200)
    """The form's idempotency token: a double click opens one case."""
    channel: Literal["web", "api"] = "web"
    attachments: list[AttachmentPayload] = Field(default_factory=list)


class EmailPayload(_Payload):
    raw: bytes | None = None
    raw_base64: str | None = None
    received_at: AwareDatetime | None = None
    """When the message reached the shop's mailbox, if earlier than now (a mailbox fetched late)."""


class CasePayload(_Payload):
    case_number: str = Field(min_length=1)


class CustomerPayload(CasePayload):
    email: str = Field(min_length=3)


class ProvideOrderPayload(CustomerPayload):
    order_number: str = Field(min_length=1)


class DeclarePayload(CustomerPayload):
    remedy: Remedy
    ground: Ground | None = None
    price_reduction: Decimal | None = None
    lines: list[LinePayload] = Field(default_factory=list)
    """Which goods of the order the demand is about (a complaint by e-mail rarely says)."""


class PersistsPayload(CustomerPayload):
    description: str = Field(min_length=1)


class CancelPayload(CustomerPayload):
    reason: str | None = None


class OpenedPayload(_Payload):
    case_id: str | None = None
    case_number: str | None = None


class AnswerPayload(CasePayload):
    decision: AnswerKind
    text: str = Field(min_length=1)
    remedy: Remedy | None = None
    because: SwitchReason | None = None
    price_reduction: Decimal | None = None
    settlement: Literal["money", "voucher"] = "money"
    actor: str = MERCHANT


class MessagePayload(CasePayload):
    text: str = Field(min_length=1)
    actor: str = MERCHANT


class ExecutePayload(CasePayload):
    remedy: Remedy
    price_reduction: Decimal | None = None
    actor: str = MERCHANT


class NotePayload(CasePayload):
    note: str | None = None
    actor: str = MERCHANT


class FailedPayload(CasePayload):
    reason: str = Field(min_length=1)
    actor: str = MERCHANT


class DelayPayload(CasePayload):
    expected_by: date
    reason: str | None = None
    actor: str = MERCHANT


class LoanerPayload(CasePayload):
    serial: str = Field(min_length=1, max_length=100)
    due_back_at: AwareDatetime | None = None
    actor: str = MERCHANT


P = TypeVar("P", bound=_Payload)


def _parse(model: type[P], payload: dict[str, Any]) -> P:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
        )
        raise ComplaintError(f"invalid request: {problems}") from None


# -- answers to callers --------------------------------------------------------------------------------


def summary(case: Case, *, created: bool | None = None) -> dict[str, Any]:
    """What a caller learns about a complaint (no internal notes)."""
    clock = case.data.get(CLOCK)
    ladder = ladder_of(case)
    answer_record = case.data.get(ANSWER)
    out: dict[str, Any] = {
        "case_id": case.id,
        "case_number": case.number,
        "type": case.type.value,
        "status": case.status,
        "order_id": case.order_id,
        "order_number": case.data.get(notices.ORDER_NUMBER),
        "answer_by": clock.get("answer_by") if isinstance(clock, dict) else None,
        "deemed_accepted_at": clock.get("deemed_at") if isinstance(clock, dict) else None,
        "answered_at": answer_record.get("reached_at") if isinstance(answer_record, dict) else None,
        "demanded": ladder.demanded.value if ladder.demanded else None,
        "remedies_open": sorted(r.value for r in ladder.allowed()),
        "priority": case.data.get(PRIORITY),
        "deadlines": {key: value.isoformat() for key, value in case.deadlines.items()},
        "refund_total": None if case.refund_total is None else str(case.refund_total.amount),
        "currency": None if case.refund_total is None else case.refund_total.currency,
    }
    if case.status == ComplaintStatus.AWAITING_ORDER:
        out["notice"] = (
            "the complaint is registered and its answer clock runs, but its order was not found for this "
            "e-mail address: send the order number (complaints.provide_order, or reply to our e-mail)"
        )
    if created is not None:
        out["created"] = created
    return out


def _complaint(ctx: StepContext, number: str) -> Case:
    case = ctx.find_case(number)
    if case is None or case.type not in COMPLAINT_TYPES:
        raise ComplaintError(f"no complaint {number}")
    return case


def _customers(ctx: StepContext, payload: CustomerPayload) -> Case:
    """A customer's own case: the e-mail must be the one it was opened with."""
    case = ctx.find_case(payload.case_number)
    if (
        case is None
        or case.type not in COMPLAINT_TYPES
        or (case.customer.email or "").strip().lower() != payload.email.strip().lower()
    ):
        raise ComplaintError(f"no complaint {payload.case_number} for this e-mail address")
    return case


def _first_response(ctx: StepContext, case: Case, actor: str) -> Case:
    answer.mark_first_response(ctx, case, actor=actor)
    ctx.save_case(case)
    return case


# -- customer ----------------------------------------------------------------------------------------------


@registry.command("complaints.submit")
def submit(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """The complaint form: one case per idempotency token; files checked before anything is written."""
    request = _parse(SubmitPayload, payload)
    if request.request_id:
        existing = existing_by_source(ctx, request.channel, request.request_id)
        if existing is not None:
            return summary(existing, created=False)
    files = check_uploads([a.upload() for a in request.attachments])
    if request.defect_noticed_at is not None and request.defect_noticed_at > ctx.now():
        raise ComplaintError("the defect cannot have been noticed in the future")
    sub = Submission(
        channel=request.channel,
        email=request.email,
        received_at=ctx.now(),
        name=request.name,
        phone=request.phone,
        locale=request.locale,
        case_type=CaseType(request.type) if request.type else None,
        order_number=request.order_number,
        lines=[LineClaim(line.line_item_id, line.quantity) for line in request.lines],
        product=request.product,
        description=request.description,
        remedy=request.remedy,
        ground=request.ground,
        price_reduction=request.price_reduction,
        noticed_at=request.defect_noticed_at,
        source_ref=request.request_id,
        files=files,
        strict=True,
    )
    opened = open_complaint(ctx, sub)
    return summary(opened.case, created=opened.created)


@registry.command("complaints.ingest_email")
def ingest_email(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """An e-mail: a reply threads onto its case, a new message opens one, the same message twice is one case.

    The answer always carries ``case_number`` and ``created`` (the ``mail ingest`` contract).
    """
    request = _parse(EmailPayload, payload)
    raw = request.raw
    if raw is None and request.raw_base64 is not None:
        try:
            raw = base64.b64decode(request.raw_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ComplaintError("raw_base64 is not valid base64") from None
    if not raw:
        raise ComplaintError("no message: pass the RFC 822 bytes as raw (or raw_base64)")
    try:
        mail = parse_mail(raw)
    except MalformedMail as exc:
        raise ComplaintError(str(exc)) from None
    received = ctx.now()
    if request.received_at is not None and request.received_at < received:
        received = request.received_at
    existing = existing_by_source(ctx, "email", mail.message_id)
    if existing is not None:
        return {**summary(existing), "created": False, "threaded": False}
    target = thread_target(ctx, mail)
    files, refused = partition_uploads(mail.attachments)
    original = original_message(raw)
    if mail.auto_reply:
        return {
            "case_number": target.number if target else None,
            "created": False,
            "threaded": False,
            "ignored": "auto-reply",
        }
    if target is not None:
        opened: Opened = thread_reply(ctx, target, mail, files=files, refused=refused, original=original)
        return {**summary(opened.case), "created": False, "threaded": True}
    opened = open_complaint(
        ctx, submission_from_mail(mail, received=received, files=files, refused=refused, original=original)
    )
    return {**summary(opened.case), "created": opened.created, "threaded": False}


@registry.command("complaints.provide_order")
def provide_order(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(ProvideOrderPayload, payload)
    case = _customers(ctx, request)
    if case.status != ComplaintStatus.AWAITING_ORDER:
        raise ComplaintError(f"complaint {case.number} already has its order")
    return summary(identify_order(ctx, case, [request.order_number], actor=CUSTOMER))


@registry.command("complaints.declare")
def declare(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """The consumer states (or changes) what they ask for; the ladder decides whether they may."""
    request = _parse(DeclarePayload, payload)
    case = _customers(ctx, request)
    ladder = ladder_of(case).demand(request.remedy, request.ground)
    if request.lines:
        order = ctx.order(case.order_id) if case.order_id else None
        if order is None:
            raise ComplaintError(f"complaint {case.number} has no order yet: give the order number first")
        case.lines = claim_lines(
            order, [LineClaim(line.line_item_id, line.quantity) for line in request.lines], strict=True
        )
    if request.price_reduction is not None:
        if request.price_reduction <= 0:
            raise ComplaintError("a price reduction must be more than 0")
        case.data[PRICE_REDUCTION] = str(request.price_reduction)
    if case.status in (
        ComplaintStatus.RECEIVED,
        ComplaintStatus.AWAITING_ORDER,
        ComplaintStatus.MANUAL_REVIEW,
    ):
        set_ladder(case, ladder)
        return summary(
            fire(
                ctx,
                case,
                ComplaintEvent.CUSTOMER_MESSAGE,
                actor=CUSTOMER,
                reason=f"asks for {request.remedy.value}",
                data={"remedy": request.remedy.value},
                visible=True,
            )
        )
    if case.status != ComplaintStatus.AWAITING_CHOICE or request.remedy not in MONEY_REMEDIES:
        raise ComplaintError(
            f"complaint {case.number} is {case.status}: a new demand is possible before the answer, "
            "or a price reduction or withdrawal once repair and replacement are refused or failed"
        )
    set_ladder(case, ladder.answer(TraderAnswer(AnswerKind.ACCEPT, remedy=request.remedy)))
    case.data[DECLARED_AT] = ctx.now().isoformat()
    amount = request.price_reduction
    if amount is None and case.data.get(PRICE_REDUCTION) is not None:
        amount = Decimal(str(case.data[PRICE_REDUCTION]))
    return summary(remedies.execute(ctx, case, request.remedy, amount=amount, actor=CUSTOMER))


@registry.command("complaints.defect_persists")
def report_persisting_defect(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(PersistsPayload, payload)
    case = _customers(ctx, request)
    return summary(repairs.defect_persists(ctx, case, actor=CUSTOMER, description=request.description))


@registry.command("complaints.cancel")
def cancel(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(CancelPayload, payload)
    case = _customers(ctx, request)
    if case.status not in (
        ComplaintStatus.RECEIVED,
        ComplaintStatus.AWAITING_ORDER,
        ComplaintStatus.MANUAL_REVIEW,
    ):
        raise ComplaintError(f"complaint {case.number} is {case.status}: it can no longer be taken back")
    answer.stop_clock(ctx, case)
    ctx.cancel_timer(timer_id(case, TIMER_FIRST_RESPONSE))
    return summary(
        fire(ctx, case, ComplaintEvent.CANCEL, actor=CUSTOMER, reason=request.reason or "taken back")
    )


@registry.command("complaints.status")
def status(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(CustomerPayload, payload)
    case = _customers(ctx, request)
    return {**summary(case), "timeline": _timeline(ctx, case)}


@registry.command("complaints.timeline")
def customer_timeline(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(CustomerPayload, payload)
    case = _customers(ctx, request)
    return {"case_number": case.number, "timeline": _timeline(ctx, case)}


def _timeline(ctx: StepContext, case: Case) -> list[dict[str, Any]]:
    entries = timeline(ctx.session, case.id, customer_visible_only=True)
    return [
        {
            "at": e.at.isoformat(),
            "event": e.event,
            "status": e.to_status,
            "reason": e.reason,
            "data": {k: v for k, v in e.data.items() if k not in ("message_id",)},
        }
        for e in entries
    ]


@registry.command("complaints.answer_opened")
def answer_opened(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """The status page showed the customer the answer: it reached them now (if it had not already)."""
    request = _parse(OpenedPayload, payload)
    case: Case | None = None
    if request.case_id:
        case = ctx.load_case(request.case_id)
    elif request.case_number:
        case = ctx.find_case(request.case_number)
    if case is None or case.type not in COMPLAINT_TYPES:
        raise ComplaintError("no such complaint")
    if case.status == ComplaintStatus.ANSWER_SENT:
        case = answer.answer_reached(ctx, case, outbox_key=None, at=ctx.now(), via="status_page")
    return summary(case)


# -- merchant ----------------------------------------------------------------------------------------------


@registry.command("complaints.answer")
def answer_complaint(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """The merchant's answer, judged by the remedy ladder; it stops the clock when it reaches the consumer."""
    request = _parse(AnswerPayload, payload)
    if request.settlement == "voucher":
        raise ComplaintError(
            "a voucher cannot be imposed instead of money: a price reduction or withdrawal is paid back "
            "with the payment method the consumer used (art. 43e-43g u.p.k.), unless they agree otherwise"
        )
    case = _complaint(ctx, request.case_number)
    reply = TraderAnswer(request.decision, remedy=request.remedy, because=request.because)
    case = answer.send_answer(
        ctx, case, reply, text=request.text, actor=request.actor, price_reduction=request.price_reduction
    )
    return summary(case)


@registry.command("complaints.message")
def message(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """A message to the customer (a question, an update): counts as the first response."""
    request = _parse(MessagePayload, payload)
    case = _complaint(ctx, request.case_number)
    answer.mark_first_response(ctx, case, actor=request.actor)
    notices.to_customer(
        ctx,
        case,
        notices.CASE_STATUS,
        key=f"message:{case.version}",
        context={"status": case.status, "note": request.text},
    )
    return summary(
        fire(
            ctx, case, ComplaintEvent.MERCHANT_MESSAGE, actor=request.actor, reason=request.text, visible=True
        )
    )


@registry.command("complaints.execute")
def execute(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    """After a person's review: carry out the granted (or, for a deemed acceptance, the agreed) remedy."""
    request = _parse(ExecutePayload, payload)
    case = _complaint(ctx, request.case_number)
    record = case.data.get(ANSWER)
    accepted = isinstance(record, dict) and (record.get("deemed") or record.get("reached_at"))
    if not accepted or case.status not in (
        ComplaintStatus.MANUAL_REVIEW,
        ComplaintStatus.ACCEPTED,
        ComplaintStatus.DEEMED_ACCEPTED,
        ComplaintStatus.AWAITING_CHOICE,
    ):
        raise ComplaintError(f"complaint {case.number} is {case.status}: answer it first (complaints.answer)")
    ladder = ladder_of(case)
    if (
        ladder.granted is not None
        and request.remedy is not ladder.granted
        and request.remedy not in ladder.allowed()
    ):
        raise ComplaintError(
            f"{request.remedy.value} was not granted (granted: {ladder.granted.value}); "
            f"open remedies: {', '.join(sorted(r.value for r in ladder.allowed())) or 'none'}"
        )
    if ladder.granted is None:
        set_ladder(case, ladder.answer(TraderAnswer(AnswerKind.ACCEPT, remedy=request.remedy)))
    _first_response(ctx, case, request.actor)
    amount = request.price_reduction
    if amount is None and case.data.get(PRICE_REDUCTION) is not None:
        amount = Decimal(str(case.data[PRICE_REDUCTION]))
    return summary(remedies.execute(ctx, case, request.remedy, amount=amount, actor=request.actor))


@registry.command("complaints.item_received")
def item_received(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(NotePayload, payload)
    return summary(repairs.item_received(ctx, _complaint(ctx, request.case_number), actor=request.actor))


@registry.command("complaints.report_delay")
def report_delay(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(DelayPayload, payload)
    case = _complaint(ctx, request.case_number)
    return summary(
        repairs.report_delay(
            ctx, case, expected_by=request.expected_by, reason=request.reason, actor=request.actor
        )
    )


@registry.command("complaints.repair_done")
def repair_done(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(NotePayload, payload)
    case = _complaint(ctx, request.case_number)
    return summary(repairs.repair_done(ctx, case, actor=request.actor, note=request.note))


@registry.command("complaints.replacement_sent")
def replacement_sent(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(NotePayload, payload)
    case = _complaint(ctx, request.case_number)
    return summary(repairs.replacement_done(ctx, case, actor=request.actor, note=request.note))


@registry.command("complaints.remedy_failed")
def remedy_failed(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(FailedPayload, payload)
    case = _complaint(ctx, request.case_number)
    return summary(repairs.remedy_failed(ctx, case, actor=request.actor, reason=request.reason))


@registry.command("complaints.issue_loaner")
def issue_loaner(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(LoanerPayload, payload)
    case = _complaint(ctx, request.case_number)
    return summary(
        repairs.issue_loaner(
            ctx, case, serial=request.serial, due_back_at=request.due_back_at, actor=request.actor
        )
    )


@registry.command("complaints.return_loaner")
def return_loaner(ctx: StepContext, **payload: Any) -> dict[str, Any]:
    request = _parse(LoanerPayload, payload)
    case = _complaint(ctx, request.case_number)
    return summary(repairs.return_loaner(ctx, case, serial=request.serial, actor=request.actor))
