"""``StepContext``: what a workflow handler may do, all inside one database transaction.

Everything a handler writes through the context (cases and their event log, timers, ledger
rows, outbox rows, order snapshots) commits together or not at all. Nothing external happens
inside the step: effects and messages are *recorded* here and performed by the engine after
the commit, and observers (``aftersales_case_transition``) hear of a transition only once it
is committed. That is what makes a step safe to run again after a crash: every write is
keyed (the case's ``(source, source_ref)``, the timer id, the effect key, the message's
dedupe key), so the second run finds the first run's rows instead of adding more.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from aftersales.domain import Case, CaseLine, CaseType, Customer, Order
from aftersales.engine._info import CaseConflict
from aftersales.engine.clock import Clock
from aftersales.engine.numbers import allocate_case_number
from aftersales.engine.orders import find_order, load_order, store_order
from aftersales.platforms import PlatformError, RefundRequest, ShopClient
from aftersales.plugins import Plugins
from aftersales.store import cases as case_store
from aftersales.store.models import CaseEvent, CaseRow, Effect, OutboxMessage, Shop, Timer

EFFECT_KINDS = frozenset({"refund", "note", "platform_action"})
"""What the ledger can execute: ``refund`` (a ``RefundRequest``), ``note`` (``order_id``,
``text``, ``customer_visible``) and ``platform_action`` (``action``, ``params``)."""


class EngineServices(Protocol):
    """What a step needs from the runtime (the :class:`~aftersales.engine.runtime.Runtime`)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def plugins(self) -> Plugins: ...

    def policy_for(self, shop: Shop) -> Any: ...

    def client_for(self, shop: Shop) -> ShopClient | None: ...


@dataclass
class AfterCommit:
    """What the engine does once the step's transaction has committed."""

    effects: list[str] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    timers: list[tuple[str, datetime]] = field(default_factory=list)
    transitions: list[tuple[Case, str, str, str]] = field(default_factory=list)
    """``(case as committed, old status, new status, event)`` for the observers."""

    def merge(self, other: AfterCommit) -> None:
        self.effects += other.effects
        self.messages += other.messages
        self.timers += other.timers
        self.transitions += other.transitions


def _jsonable(request: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(request, BaseModel):
        return request.model_dump(mode="json")
    # a round trip proves it is JSON and detaches it from the caller's objects
    data: dict[str, Any] = json.loads(json.dumps(dict(request)))
    return data


class StepContext:
    """The handler's view of one shop inside one transaction (see docs/architecture.md)."""

    def __init__(
        self,
        session: Session,
        services: EngineServices,
        shop: Shop,
        *,
        after: AfterCommit | None = None,
    ) -> None:
        self._session = session
        self._services = services
        self._shop = shop
        self._policy: Any = None
        self._lines_seen: dict[str, list[dict[str, Any]]] = {}
        """Each case's lines as last read or written here: unchanged lines are not rewritten."""
        self.after = after if after is not None else AfterCommit()

    # -- what the step runs with ------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self._session

    def now(self) -> datetime:
        return self._services.clock.now()

    @property
    def plugins(self) -> Plugins:
        return self._services.plugins

    @property
    def shop_id(self) -> str:
        return self._shop.id

    @property
    def platform(self) -> str:
        return self._shop.platform

    @property
    def policy(self) -> Any:
        """The shop's parsed :class:`~aftersales.policy.Policy` (read once per step)."""
        if self._policy is None:
            self._policy = self._services.policy_for(self._shop)
        return self._policy

    # -- orders -----------------------------------------------------------------------------
    def order(self, order_id: str) -> Order | None:
        """The stored snapshot of the order (no platform call)."""
        return load_order(self._session, self.shop_id, str(order_id))

    def fetch_order(self, order_id: str) -> Order:
        """Re-read the order from the platform and keep the snapshot if it is newer.

        Raises :class:`~aftersales.platforms.PlatformError` when the platform cannot answer
        (or the shop has no credentials); callers fall back to :meth:`order` where that is safe.
        """
        client = self._services.client_for(self._shop)
        if client is None:
            raise PlatformError(f"shop {self.shop_id} has no platform credentials to read order {order_id}")
        fetched = client.fetch_order(str(order_id))
        store_order(self._session, self.shop_id, fetched, self.now())
        return fetched

    def platform_client(self) -> ShopClient | None:
        """The shop's platform client for reads (stock, order lists); None without credentials.

        Reads only: effects go through :meth:`request_effect` and the ledger.
        """
        return self._services.client_for(self._shop)

    def find_order(self, number: str, email: str) -> Order | None:
        return find_order(self._session, self.shop_id, number, email)

    # -- cases ------------------------------------------------------------------------------
    def open_case(
        self,
        *,
        type: CaseType | str,
        status: str,
        order_id: str | None = None,
        customer: Customer | None = None,
        lines: Sequence[CaseLine] = (),
        reason: str | None = None,
        source: str = "api",
        source_ref: str | None = None,
        data: Mapping[str, Any] | None = None,
        actor: str = "system",
    ) -> Case:
        """Open a case with the next human number; the same ``(source, source_ref)`` returns the first one."""
        if source_ref is not None:
            existing = self._session.scalars(
                select(CaseRow).where(
                    CaseRow.shop_id == self.shop_id,
                    CaseRow.source == source,
                    CaseRow.source_ref == source_ref,
                )
            ).first()
            if existing is not None:
                return self._seen(case_store.to_cases(self._session, [existing]))[0]
        now = self.now()
        case_type = CaseType(type)
        case = Case(
            id=uuid.uuid4().hex,
            number=allocate_case_number(self._session, self.shop_id, case_type.value, now),
            shop_id=self.shop_id,
            type=case_type,
            status=str(status),
            order_id=order_id,
            customer=customer or Customer(),
            lines=list(lines),
            reason=reason,
            opened_at=now,
            data=dict(data or {}),
        )
        row = CaseRow(
            id=case.id,
            shop_id=case.shop_id,
            number=case.number,
            type=case.type.value,
            status=case.status,
            order_id=case.order_id,
            customer_email=(case.customer.email or "").lower() or None,
            source=source,
            source_ref=source_ref,
            data=case_store.case_extra(case),
            opened_at=now,
            updated_at=now,
        )
        self._session.add(row)
        self._session.flush()
        self._session.add_all(case_store.line_rows(case))
        self._seen([case])
        self._log(case, "opened", None, case.status, actor=actor, reason=reason, data={}, visible=True)
        case.version = row.version
        self.after.transitions.append((case.model_copy(deep=True), "", case.status, "opened"))
        return case

    def load_case(self, case_id: str) -> Case | None:
        case = case_store.get_case(self._session, self.shop_id, case_id)
        return self._seen([case])[0] if case is not None else None

    def find_case(self, number: str) -> Case | None:
        case = case_store.find_case(self._session, number, self.shop_id)
        return self._seen([case])[0] if case is not None else None

    def cases_for_order(self, order_id: str) -> list[Case]:
        rows = self._session.scalars(
            select(CaseRow)
            .where(CaseRow.shop_id == self.shop_id, CaseRow.order_id == str(order_id))
            .order_by(CaseRow.opened_at, CaseRow.number)
        )
        return self._seen(case_store.to_cases(self._session, list(rows)))

    def _seen(self, cases: list[Case]) -> list[Case]:
        for case in cases:
            self._lines_seen[case.id] = [line.model_dump(mode="json") for line in case.lines]
        return cases

    def transition(
        self,
        case: Case,
        new_status: str,
        *,
        event: str,
        actor: str = "system",
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
        customer_visible: bool = True,
    ) -> Case:
        """Move ``case`` to ``new_status`` (saving its lines and data too) by compare-and-set.

        Raises :class:`CaseConflict` when the case changed since ``case`` was read. The event
        is appended to the case's log; observers hear of it after the commit. ``case`` itself
        is updated (status, version) and returned.
        """
        old = self._write(case, status=str(new_status))
        self._log(
            case,
            event,
            old,
            case.status,
            actor=actor,
            reason=reason,
            data=_jsonable(data or {}),
            visible=customer_visible,
        )
        self.after.transitions.append((case.model_copy(deep=True), old, case.status, event))
        return case

    def save_case(self, case: Case) -> Case:
        """Save lines, data, deadlines and totals without a status change (compare-and-set too)."""
        self._write(case, status=None)
        return case

    def _write(self, case: Case, *, status: str | None) -> str:
        row = self._session.get(CaseRow, case.id)
        if row is None or row.shop_id != self.shop_id:
            raise LookupError(f"case {case.id} does not exist in shop {self.shop_id}")
        if row.version != case.version:
            raise CaseConflict(
                f"case {row.number} changed since it was read (version {case.version}, now {row.version})"
            )
        old, number = row.status, row.number
        if status is not None:
            row.status = status
        row.order_id = case.order_id
        row.customer_email = (case.customer.email or "").lower() or None
        row.data = case_store.case_extra(case)
        flag_modified(row, "data")  # always an UPDATE, so the version moves even if nothing else did
        row.updated_at = self.now()
        try:
            self._session.flush()  # the compare-and-set UPDATE ... WHERE version = seen
        except StaleDataError as exc:
            raise CaseConflict(f"case {number} was changed by another transaction") from exc
        lines = [line.model_dump(mode="json") for line in case.lines]
        if self._lines_seen.get(case.id) != lines:
            case_store.replace_lines(self._session, case)
            self._lines_seen[case.id] = lines
        case.version = row.version
        case.status = row.status
        return old

    def _log(
        self,
        case: Case,
        event: str,
        old: str | None,
        new: str,
        *,
        actor: str,
        reason: str | None,
        data: dict[str, Any],
        visible: bool,
    ) -> None:
        self._session.add(
            CaseEvent(
                shop_id=self.shop_id,
                case_id=case.id,
                at=self.now(),
                actor=actor,
                event=event,
                from_status=old,
                to_status=new,
                reason=reason,
                data=data,
                customer_visible=visible,
            )
        )

    # -- timers -----------------------------------------------------------------------------
    def schedule(
        self,
        timer_id: str,
        kind: str,
        due_at: datetime,
        *,
        case_id: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Arm the durable timer ``timer_id`` (ids are global: include the case id in them).

        Idempotent by id: a pending timer is moved to the new ``due_at``/payload (so running
        a step twice changes nothing); a timer that already fired or was cancelled stays so.
        """
        if due_at.tzinfo is None or due_at.utcoffset() is None:
            raise ValueError(f"timer {timer_id}: due_at must be time-zone aware")
        row = self._session.get(Timer, timer_id)
        body = _jsonable(payload or {})
        if row is None:
            self._session.add(
                Timer(
                    id=timer_id,
                    shop_id=self.shop_id,
                    case_id=case_id,
                    kind=kind,
                    due_at=due_at,
                    payload=body,
                    state="pending",
                    created_at=self.now(),
                    attempts=0,
                )
            )
        elif row.state == "pending":
            if row.shop_id != self.shop_id:
                raise ValueError(f"timer id {timer_id} belongs to another shop")
            row.kind, row.due_at, row.case_id, row.payload = kind, due_at, case_id, body
        else:
            return
        self.after.timers.append((timer_id, due_at))

    def cancel_timer(self, timer_id: str) -> bool:
        """Cancel a pending timer; False when there was none pending."""
        row = self._session.get(Timer, timer_id)
        if row is None or row.state != "pending" or row.shop_id != self.shop_id:
            return False
        row.state = "cancelled"
        return True

    # -- effects ----------------------------------------------------------------------------
    def request_effect(
        self,
        effect_key: str,
        kind: str,
        request: BaseModel | Mapping[str, Any],
        *,
        case_id: str | None = None,
    ) -> bool:
        """Record an *intended* effect; the engine performs it after the commit, exactly once.

        A second request with the same key is a no-op (returns False), whatever it asks for:
        the key *is* the effect.
        """
        if kind not in EFFECT_KINDS:
            raise ValueError(f"unknown effect kind {kind!r} (known: {', '.join(sorted(EFFECT_KINDS))})")
        body = _jsonable(request)
        amount: str | None = None
        currency: str | None = None
        if kind == "refund":
            refund = RefundRequest.model_validate(body)
            if refund.effect_key != effect_key:
                raise ValueError(
                    f"refund request carries key {refund.effect_key!r}, the effect is {effect_key!r}"
                )
            amount, currency = str(refund.amount.amount), refund.amount.currency
        existing = self._session.get(Effect, effect_key)
        if existing is not None:
            if existing.shop_id != self.shop_id:
                raise ValueError(f"effect key {effect_key} belongs to another shop")
            return False
        now = self.now()
        self._session.add(
            Effect(
                effect_key=effect_key,
                shop_id=self.shop_id,
                case_id=case_id,
                kind=kind,
                state="intended",
                request=body,
                amount=amount,
                currency=currency,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
        self.after.effects.append(effect_key)
        return True

    # -- messages ---------------------------------------------------------------------------
    def notify(
        self,
        template: str,
        to: str,
        *,
        locale: str | None = None,
        case: Case | None = None,
        context: Mapping[str, Any] | None = None,
        dedupe_key: str | None = None,
        channel: str = "email",
    ) -> bool:
        """Render ``template`` and queue it in the outbox; sent after the commit.

        ``dedupe_key`` (per shop) makes it idempotent; without one the key is derived from
        the template, the case and its version, and the recipient. Returns False when a
        message with the key exists already.
        """
        from aftersales.notify.compose import compose_message

        key = dedupe_key or f"{template}:{case.id if case else '-'}:{case.version if case else ''}:{to}"
        stored_key = f"{self.shop_id}:{key}"
        if self._session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == stored_key)
        ).first():
            return False
        full = dict(context or {})
        if case is not None:
            full.setdefault("case", case)
        message = compose_message(
            shop_id=self.shop_id,
            template=template,
            to=to,
            locale=locale or getattr(self.policy, "language", None) or "pl",
            context=full,
            channel=channel,
            policy=self.policy,
            plugins=self.plugins,
        )
        now = self.now()
        row = OutboxMessage(
            shop_id=self.shop_id,
            dedupe_key=stored_key,
            channel=message.channel,
            recipient=message.to,
            template=template,
            case_id=case.id if case else None,
            message=message.model_dump(mode="json"),
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self._session.add(row)
        self._session.flush()
        self.after.messages.append(row.id)
        return True
