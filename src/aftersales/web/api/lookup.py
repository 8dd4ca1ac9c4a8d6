"""A customer finds their order by its number and e-mail: neutral answers, a rate limit, a signed pass.

Why each piece:

- **Neutral answer.** "No such order" and "wrong e-mail for this order" read the same, so the
  form cannot be used to learn which order numbers exist or whose they are.
- **Rate limit.** Failed attempts are counted per shop and client address in fixed windows in
  the ``counters`` table, so every web process shares one count (an in-memory limiter would
  allow N times the limit behind a load balancer). Only failures count: a customer who knows
  their details may look them up as often as they like; someone guessing e-mails cannot.
- **Order pass.** After a successful lookup the customer carries a short-lived signed token
  (itsdangerous, timestamped) naming the shop and the order. It holds no e-mail in clear —
  tokens end up in URLs, proxy logs and browser history — only a digest of the address the
  order had, so the pass dies when the order's e-mail changes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aftersales.domain import Case, Order
from aftersales.engine.orders import find_order, load_order
from aftersales.store.cases import list_cases
from aftersales.store.models import Counter
from aftersales.web.links import secret_key, status_token
from aftersales.workflows.returns.eligibility import returnable_units

LIMIT_ENV = "AFTERSALES_LOOKUP_LIMIT"
WINDOW_ENV = "AFTERSALES_LOOKUP_WINDOW"
DEFAULT_LIMIT = 10
"""Failed lookups allowed per client address and shop in one window."""
DEFAULT_WINDOW = 900
"""Seconds (15 minutes)."""
PASS_MAX_AGE = 2 * 3600
"""An order pass is valid for two hours: long enough to fill a complaint form with photos."""
_PASS_SALT = "aftersales.order-pass.v1"
_COUNTER_PREFIX = "lookup:"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


@dataclass(frozen=True)
class LookupLimit:
    failures: int = DEFAULT_LIMIT
    window_seconds: int = DEFAULT_WINDOW

    @classmethod
    def from_env(cls) -> LookupLimit:
        return cls(_int_env(LIMIT_ENV, DEFAULT_LIMIT), max(1, _int_env(WINDOW_ENV, DEFAULT_WINDOW)))


class TooManyAttempts(Exception):
    """The client failed too many lookups in this window (answer 429)."""


# -- the rate limit ---------------------------------------------------------------------------------


def _window(now: datetime, limit: LookupLimit) -> int:
    return int(now.timestamp()) // limit.window_seconds


def _counter_name(window: int, client: str) -> str:
    # the address is hashed: the counters table is not a log of who visited
    digest = hashlib.sha256(client.encode()).hexdigest()[:24]
    return f"{_COUNTER_PREFIX}{window:012d}:{digest}"


def _failures(session: Session, shop_id: str, name: str) -> int:
    value = session.scalar(select(Counter.value).where(Counter.shop_id == shop_id, Counter.name == name))
    return int(value or 0)


def _count_failure(session: Session, shop_id: str, name: str, window: int) -> None:
    """Add one to the counter (an atomic upsert) and drop this shop's counters of past windows."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(Counter)
        .values(shop_id=shop_id, name=name, value=1)
        .on_conflict_do_update(index_elements=["shop_id", "name"], set_={"value": Counter.value + 1})
    )
    session.execute(
        delete(Counter).where(
            Counter.shop_id == shop_id,
            Counter.name >= _COUNTER_PREFIX,
            Counter.name < f"{_COUNTER_PREFIX}{window:012d}",
        )
    )


def lookup_order(
    session: Session,
    shop_id: str,
    number: str,
    email: str,
    *,
    client: str,
    now: datetime,
    limit: LookupLimit,
) -> Order | None:
    """The order with this number and e-mail, or None; :class:`TooManyAttempts` past the limit.

    Runs in a write transaction (the failure count); the caller commits.
    """
    window = _window(now, limit)
    name = _counter_name(window, client)
    if limit.failures > 0 and _failures(session, shop_id, name) >= limit.failures:
        raise TooManyAttempts
    found = find_order(session, shop_id, number, email) if number.strip() and email.strip() else None
    if found is None and limit.failures > 0:
        _count_failure(session, shop_id, name, window)
    return found


# -- the order pass ---------------------------------------------------------------------------------


def _email_digest(email: str | None) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:20]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt=_PASS_SALT)


def issue_pass(shop_id: str, order: Order) -> str:
    return str(_serializer().dumps({"s": shop_id, "o": order.id, "h": _email_digest(order.customer.email)}))


def read_pass(session: Session, shop_id: str, token: str) -> Order | None:
    """The order a genuine, fresh pass of this shop names (and whose e-mail has not changed)."""
    try:
        data = _serializer().loads(token, max_age=PASS_MAX_AGE)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("s") != shop_id or not isinstance(data.get("o"), str):
        return None
    order = load_order(session, shop_id, data["o"])
    if order is None or data.get("h") != _email_digest(order.customer.email):
        return None
    return order


# -- what the customer sees of an order -------------------------------------------------------------


@dataclass(frozen=True)
class CaseLink:
    """The bits of a case that :func:`aftersales.web.links.status_token` signs."""

    id: str
    shop_id: str


@dataclass(frozen=True)
class OrderLine:
    id: str
    name: str
    quantity: int
    returnable: int
    """Units not yet held by another return or withdrawal, nor refunded in the shop admin."""


@dataclass(frozen=True)
class OrderView:
    shop_id: str
    order: Order
    lines: list[OrderLine]
    cases: list[Case] = field(default_factory=list)
    """This customer's cases about the order, newest first."""

    @property
    def any_returnable(self) -> bool:
        return any(line.returnable > 0 for line in self.lines)

    def status_token(self, case: Case) -> str:
        return status_token(CaseLink(case.id, case.shop_id))

    def as_json(self) -> dict[str, Any]:
        order = self.order
        delivered = order.delivered_at()
        return {
            "order_id": order.id,
            "order_number": order.number,
            "created_at": order.created_at.isoformat(),
            "delivered_at": delivered.isoformat() if delivered else None,
            "currency": order.currency,
            "total": str(order.total.amount),
            "lines": [
                {"line_item_id": ln.id, "name": ln.name, "quantity": ln.quantity, "returnable": ln.returnable}
                for ln in self.lines
            ],
            "cases": [
                {
                    "case_number": c.number,
                    "type": c.type.value,
                    "status": c.status,
                    "status_token": self.status_token(c),
                }
                for c in self.cases
            ],
        }


def order_view(session: Session, shop_id: str, order: Order) -> OrderView:
    cases = list_cases(session, shop_id=shop_id, order_id=order.id, limit=200)
    free = returnable_units(order, cases)
    email = (order.customer.email or "").strip().lower()
    mine = [c for c in cases if (c.customer.email or "").strip().lower() == email]
    lines = [
        OrderLine(id=line.id, name=line.name, quantity=line.quantity, returnable=free.get(line.id, 0))
        for line in order.line_items
        if line.quantity > 0
    ]
    return OrderView(shop_id=shop_id, order=order, lines=lines, cases=mine)


def lookup_count(session: Session, shop_id: str) -> int:
    """Counters of failed lookups kept for the shop (tests and operators: old windows are dropped)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Counter)
            .where(Counter.shop_id == shop_id, Counter.name.startswith(_COUNTER_PREFIX))
        )
        or 0
    )
