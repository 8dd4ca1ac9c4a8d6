"""Reading cases for the APIs and the status page: the customer's view and the merchant's.

The customer sees the case's customer-visible history only (``case_events.customer_visible``)
and never who acted; the merchant sees everything, including the workflow's ``data``. Both
read the store directly — reads are not commands — through the mapping in
:mod:`aftersales.store.cases`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from aftersales.domain import Case
from aftersales.store.cases import find_case, get_case, timeline, to_cases
from aftersales.store.models import Attachment, CaseRow
from aftersales.web.api import schemas
from aftersales.web.api.lookup import CaseLink
from aftersales.web.links import InvalidLink, read_status_token, status_token, status_url


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def line_names(case: Case) -> dict[str, str]:
    names = case.data.get("line_names")
    return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}


def _lines(case: Case) -> list[schemas.CaseLineAnswer]:
    """One entry per line and state: the workflows keep one case line per unit, a reader wants totals."""
    names = line_names(case)
    grouped: dict[tuple[str, str, str, str, str], int] = {}
    for line in case.lines:
        key = (
            line.line_item_id,
            line.authorization.value,
            line.logistics.value,
            line.disposition.value,
            line.settlement.value,
        )
        grouped[key] = grouped.get(key, 0) + line.quantity
    return [
        schemas.CaseLineAnswer(
            line_item_id=line_id,
            name=names.get(line_id),
            quantity=quantity,
            authorization=authorization,
            logistics=logistics,
            disposition=disposition,
            settlement=settlement,
        )
        for (line_id, authorization, logistics, disposition, settlement), quantity in grouped.items()
    ]


def order_number(case: Case) -> str | None:
    value = case.data.get("order_number")
    return str(value) if value is not None else None


def case_from_token(session: Session, token: str) -> Case | None:
    """The case a signed status token names; None for a forged, edited or stale one."""
    try:
        shop_id, case_id = read_status_token(token)
    except InvalidLink:
        return None
    return get_case(session, shop_id, case_id)


def token_for(case: Case) -> str:
    return status_token(CaseLink(case.id, case.shop_id))


def url_for(case: Case) -> str:
    return status_url(CaseLink(case.id, case.shop_id))


def customer_status(session: Session, case: Case) -> schemas.CaseStatusAnswer:
    entries = timeline(session, case.id, customer_visible_only=True)
    return schemas.CaseStatusAnswer(
        case_number=case.number,
        type=case.type.value,
        status=case.status,
        order_number=order_number(case),
        opened_at=case.opened_at,
        statement_at=_when(case.data.get("statement_at")),
        deadlines=dict(case.deadlines),
        refund_total=None if case.refund_total is None else str(case.refund_total.amount),
        currency=None if case.refund_total is None else case.refund_total.currency,
        lines=_lines(case),
        timeline=[
            schemas.TimelineEntry(
                at=e.at, event=e.event, status=e.to_status, reason=e.reason if _by_person(e.actor) else None
            )
            for e in entries
        ],
    )


def _by_person(actor: str) -> bool:
    """A reason a merchant typed (a decline, a message) is shown to the customer; the workflow's
    own reasons (also logged under the customer's actions) are its trace, in English, for the merchant."""
    return actor.startswith("merchant")


# -- merchant -----------------------------------------------------------------------------------------


def _summary_fields(row: CaseRow) -> dict[str, Any]:
    return {
        "case_number": row.number,
        "type": row.type,
        "status": row.status,
        "order_id": row.order_id,
        "customer_email": row.customer_email,
        "source": row.source,
        "opened_at": row.opened_at,
        "updated_at": row.updated_at,
    }


def _filtered(shop_id: str, query: schemas.CaseQuery) -> Select[Any]:
    stmt = select(CaseRow).where(CaseRow.shop_id == shop_id)
    if query.type is not None:
        stmt = stmt.where(CaseRow.type == query.type)
    if query.status is not None:
        stmt = stmt.where(CaseRow.status == query.status)
    if query.order_id is not None:
        stmt = stmt.where(CaseRow.order_id == query.order_id)
    if query.opened_from is not None:
        stmt = stmt.where(CaseRow.opened_at >= query.opened_from)
    if query.opened_to is not None:
        stmt = stmt.where(CaseRow.opened_at < query.opened_to)
    return stmt


def list_for_merchant(session: Session, shop_id: str, query: schemas.CaseQuery) -> schemas.CaseList:
    """One page of the shop's cases, newest first, with the total for the filter."""
    stmt = _filtered(shop_id, query)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(CaseRow.opened_at.desc(), CaseRow.number.desc()).limit(query.limit).offset(query.offset)
    ).all()
    following = query.offset + len(rows)
    return schemas.CaseList(
        cases=[schemas.CaseSummary(**_summary_fields(row)) for row in rows],
        limit=query.limit,
        offset=query.offset,
        total=total,
        next_offset=following if following < total else None,
    )


def find_for_merchant(session: Session, shop_id: str, number: str) -> Case | None:
    """The shop's case with this number (another shop's case of the same number is not found)."""
    return find_case(session, number, shop_id)


def merchant_detail(session: Session, case: Case) -> schemas.CaseDetail:
    row = session.get(CaseRow, case.id)
    if row is None:  # the caller just read it; a case is never deleted under a reader
        raise LookupError(f"case {case.number} vanished")
    [fresh] = to_cases(session, [row])
    files = session.scalars(
        select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.created_at)
    )
    return schemas.CaseDetail(
        **_summary_fields(row),
        customer=fresh.customer.model_dump(mode="json", exclude_none=True),
        reason=fresh.reason,
        deadlines=dict(fresh.deadlines),
        refund_total=None if fresh.refund_total is None else str(fresh.refund_total.amount),
        currency=None if fresh.refund_total is None else fresh.refund_total.currency,
        lines=_lines(fresh),
        data=dict(fresh.data),
        status_url=url_for(fresh),
        attachments=[
            schemas.AttachmentAnswer(
                filename=f.filename, content_type=f.content_type, size=f.size, sha256=f.sha256
            )
            for f in files
        ],
        timeline=[
            schemas.TimelineEntry(
                at=e.at,
                event=e.event,
                status=e.to_status,
                reason=e.reason,
                actor=e.actor,
                customer_visible=e.customer_visible,
            )
            for e in timeline(session, case.id)
        ],
    )
