"""What a demo scenario is, and the facts every summary row is read from.

A scenario acts in two halves around the clock jump: :meth:`Scenario.start` plays the shop
and the customer now (orders at the fake shop, signed webhooks, commands); the runner then
moves the engine clock to every moment a scenario waits for (:meth:`Scenario.wake_at`, read
from the timers table, never assumed) and lets the worker fire the timers; finally
:meth:`Scenario.conclude` checks the state the scenario expects and reports it.

Every figure in an :class:`Outcome` comes from the system itself: the case and its event log
from the database, the money from the refunds the fake shop recorded, the e-mails from the
SMTP sink. A scenario that cannot find what it expects raises :class:`ScenarioFailed` with
what was missing; the summary shows it and the demo exits 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.demo.stage import NotAvailable, ScenarioFailed, Stage
from aftersales.store.cases import get_case
from aftersales.store.models import CaseEvent, CaseRow

__all__ = [
    "Money",
    "NotAvailable",
    "Outcome",
    "Scenario",
    "ScenarioFailed",
    "case_data",
    "case_path",
    "emails_to",
    "find_case",
    "last_reason",
    "money_text",
    "require",
    "shopify_refunds",
    "wait_case",
    "woo_refunds",
]

Money = tuple[Decimal, str]


@dataclass
class Outcome:
    """One row of the summary."""

    key: str
    title: str
    platform: str
    ok: bool
    case: str = "-"
    happened: str = ""
    money: list[Money] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    """Subjects of the e-mails the SMTP sink received for this scenario."""
    problem: str | None = None
    available: bool = True
    links: list[str] = field(default_factory=list)
    """Where to look next (status pages)."""


class Scenario:
    """Base of the six scenarios; see the module docstring for the protocol."""

    key: ClassVar[str]
    title: ClassVar[str]
    platform: ClassVar[str]
    workflow: ClassVar[str]
    """The package under ``aftersales.workflows`` whose handlers the story exercises."""

    def start(self, stage: Stage) -> None:
        raise NotImplementedError

    def wake_at(self, stage: Stage) -> datetime | None:
        """The engine-clock moment this scenario's timer falls due (None: it waits for none)."""
        return None

    def woke(self, stage: Stage) -> None:
        """Called after the runner moved the clock to this scenario's :meth:`wake_at` and settled."""

    def conclude(self, stage: Stage) -> Outcome:
        raise NotImplementedError

    def outcome(self, **values: Any) -> Outcome:
        """This scenario's summary row; ``values`` are the :class:`Outcome` fields beyond its name."""
        return Outcome(key=self.key, title=self.title, platform=self.platform, **values)


# -- facts -------------------------------------------------------------------------------------------


def find_case(session: Session, shop_id: str, order_id: str, types: Iterable[str]) -> CaseRow | None:
    """The newest case of ``order_id`` with one of ``types``."""
    return session.scalars(
        select(CaseRow)
        .where(CaseRow.shop_id == shop_id, CaseRow.order_id == order_id, CaseRow.type.in_(list(types)))
        .order_by(CaseRow.opened_at.desc(), CaseRow.number.desc())
        .limit(1)
    ).first()


def case_path(session: Session, case_id: str) -> list[str]:
    """The statuses the case went through, from its append-only event log."""
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
    path: list[str] = []
    for event in events:
        if not path or path[-1] != event.to_status:
            path.append(event.to_status)
    return path


def case_data(session: Session, case: CaseRow) -> dict[str, object]:
    """The workflow's own facts on the case (``Case.data``), through the store's mapping."""
    found = get_case(session, case.shop_id, case.id)
    return dict(found.data) if found is not None else {}


def last_reason(session: Session, case_id: str) -> str | None:
    """Why the case's latest move with a stated reason was made (from the event log)."""
    return session.scalars(
        select(CaseEvent.reason)
        .where(CaseEvent.case_id == case_id, CaseEvent.reason.is_not(None))
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()


def woo_refunds(stage: Stage, order_id: str) -> list[Money]:
    """Refunds the fake WooCommerce shop recorded for the order (what the customer got back)."""
    order = stage.woo.order(order_id)
    currency = str(order.get("currency") or "")
    return [(abs(Decimal(str(r["amount"]))), currency) for r in stage.woo.refunds(order_id)]


def shopify_refunds(stage: Stage, order_id: str) -> list[Money]:
    """Refunds the fake Shopify shop recorded for the order."""
    return [(Decimal(r["amount"]), str(r["currency"])) for r in stage.shopify.refunds(order_id)]


def emails_to(stage: Stage, address: str) -> list[str]:
    """Subjects of the e-mails the SMTP sink received for ``address``."""
    return [str(m["Subject"]) for m in stage.sink.to(address)]


def money_text(amounts: list[Money]) -> str:
    if not amounts:
        return "-"
    totals: dict[str, Decimal] = {}
    for amount, currency in amounts:
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    parts = [f"{amount:.2f} {currency}" for currency, amount in sorted(totals.items())]
    count = len(amounts)
    return f"{', '.join(parts)} ({count} refund{'s' if count != 1 else ''})"


def wait_case(
    stage: Stage, shop_id: str, order_id: str, types: Iterable[str], statuses: Iterable[str], what: str
) -> CaseRow:
    """Wait until the order's case of one of ``types`` reaches one of ``statuses``."""
    kinds, wanted = list(types), set(statuses)

    def probe(session: Session) -> CaseRow | None:
        case = find_case(session, shop_id, order_id, kinds)
        return case if case is not None and case.status in wanted else None

    try:
        return stage.wait_for(what, probe)
    except ScenarioFailed:
        case = stage.read(lambda s: find_case(s, shop_id, order_id, kinds))
        state = f"it is {case.status}" if case is not None else "there is no such case"
        raise ScenarioFailed(f"{what}: {state}") from None


def require(condition: object, message: str) -> None:
    if not condition:
        raise ScenarioFailed(message)
