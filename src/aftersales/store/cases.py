"""Cases in the store: the domain :class:`~aftersales.domain.Case` to rows and back, and reads.

A case is one ``cases`` row (the columns operators filter on: number, type, status, order,
customer e-mail), its ``case_lines`` (one per unit or group of units, the four axes) and the
append-only ``case_events``. The case fields without a column of their own (customer,
reason, deadlines, refund total and the workflow's ``data``) live in the row's JSON ``data``
under the same names, so :class:`Case` stays the one definition of their shape.

Writes go through the engine's :class:`~aftersales.engine.context.StepContext` (numbering,
compare-and-set, the event log); this module holds the mapping and the read side that the
CLI and the web pages share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aftersales.domain import Case, CaseLine
from aftersales.store.models import CaseEvent, CaseLineRow, CaseRow

_EXTRA_FIELDS = ("customer", "reason", "deadlines", "refund_total", "data")


def case_from_rows(row: CaseRow, lines: Sequence[CaseLineRow]) -> Case:
    extra = dict(row.data or {})
    return Case.model_validate(
        {
            "id": row.id,
            "number": row.number,
            "shop_id": row.shop_id,
            "type": row.type,
            "status": row.status,
            "order_id": row.order_id,
            "opened_at": row.opened_at,
            "version": row.version,
            "lines": [
                {
                    "line_item_id": line.line_item_id,
                    "quantity": line.quantity,
                    "reason": line.reason,
                    "authorization": line.authorization,
                    "logistics": line.logistics,
                    "disposition": line.disposition,
                    "settlement": line.settlement,
                }
                for line in lines
            ],
            **{name: extra[name] for name in _EXTRA_FIELDS if name in extra and extra[name] is not None},
        }
    )


def case_extra(case: Case) -> dict[str, Any]:
    """The JSON ``data`` column of ``case``'s row."""
    dumped = case.model_dump(mode="json", include=set(_EXTRA_FIELDS))
    return {name: dumped.get(name) for name in _EXTRA_FIELDS}


def line_rows(case: Case) -> list[CaseLineRow]:
    return [_line_row(case, line) for line in case.lines]


def _line_row(case: Case, line: CaseLine) -> CaseLineRow:
    return CaseLineRow(
        shop_id=case.shop_id,
        case_id=case.id,
        line_item_id=line.line_item_id,
        quantity=line.quantity,
        reason=line.reason,
        authorization=line.authorization.value,
        logistics=line.logistics.value,
        disposition=line.disposition.value,
        settlement=line.settlement.value,
    )


def replace_lines(session: Session, case: Case) -> None:
    """Write ``case.lines`` as the case's line rows (the lines are small; rewriting is simplest)."""
    session.execute(delete(CaseLineRow).where(CaseLineRow.case_id == case.id))
    session.add_all(line_rows(case))


def _lines(session: Session, case_ids: Sequence[str]) -> dict[str, list[CaseLineRow]]:
    found: dict[str, list[CaseLineRow]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    rows = session.scalars(
        select(CaseLineRow).where(CaseLineRow.case_id.in_(case_ids)).order_by(CaseLineRow.id)
    )
    for line in rows:
        found[line.case_id].append(line)
    return found


def to_cases(session: Session, rows: Sequence[CaseRow]) -> list[Case]:
    lines = _lines(session, [row.id for row in rows])
    return [case_from_rows(row, lines[row.id]) for row in rows]


def get_case(session: Session, shop_id: str | None, case_id: str) -> Case | None:
    """The case ``case_id``; with ``shop_id`` only when it belongs to that shop."""
    row = session.get(CaseRow, case_id)
    if row is None or (shop_id is not None and row.shop_id != shop_id):
        return None
    return to_cases(session, [row])[0]


def find_case(session: Session, number: str, shop_id: str | None = None) -> Case | None:
    """A case by its human number (``W-2026-000001``); numbers are unique per shop."""
    query = select(CaseRow).where(CaseRow.number == number.strip())
    if shop_id is not None:
        query = query.where(CaseRow.shop_id == shop_id)
    rows = list(session.scalars(query.order_by(CaseRow.opened_at).limit(2)))
    if not rows:
        return None
    if len(rows) > 1:
        shops = ", ".join(sorted(r.shop_id for r in rows))
        raise LookupError(f"case number {number} exists in several shops ({shops}); name the shop")
    return to_cases(session, rows)[0]


def list_cases(
    session: Session,
    *,
    shop_id: str | None = None,
    status: str | None = None,
    type: str | None = None,
    order_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Case]:
    """Cases, newest first, filtered by shop, status, type, order."""
    query = select(CaseRow)
    if shop_id is not None:
        query = query.where(CaseRow.shop_id == shop_id)
    if status is not None:
        query = query.where(CaseRow.status == status)
    if type is not None:
        query = query.where(CaseRow.type == type)
    if order_id is not None:
        query = query.where(CaseRow.order_id == order_id)
    query = query.order_by(CaseRow.opened_at.desc(), CaseRow.number.desc()).limit(limit).offset(offset)
    return to_cases(session, list(session.scalars(query)))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    event: str
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    customer_visible: bool
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "event": self.event,
            "from": self.from_status,
            "to": self.to_status,
            "actor": self.actor,
            "reason": self.reason,
            "customer_visible": self.customer_visible,
            "data": self.data,
        }


def timeline(session: Session, case_id: str, *, customer_visible_only: bool = False) -> list[TimelineEntry]:
    """The case's event log, oldest first (what the status page and ``cases show`` print)."""
    query = select(CaseEvent).where(CaseEvent.case_id == case_id)
    if customer_visible_only:
        query = query.where(CaseEvent.customer_visible.is_(True))
    rows = session.scalars(query.order_by(CaseEvent.at, CaseEvent.id))
    return [
        TimelineEntry(
            at=row.at,
            event=row.event,
            from_status=row.from_status,
            to_status=row.to_status,
            actor=row.actor,
            reason=row.reason,
            customer_visible=row.customer_visible,
            data=dict(row.data or {}),
        )
        for row in rows
    ]
