"""What the customer pages and the APIs need from the engine, and how a command's refusal is answered.

The web room never changes a case itself (DESIGN §2): every action is a workflow *command*
run by the engine in one transaction (``Runtime.execute_command``), whose effects, messages
and timers the engine performs after the commit. Reads (the order a customer looks up, a
case's timeline, the reports) go straight to the store through read-only sessions.

Commands refuse bad requests with a ``ValueError`` carrying the reason (``InvalidRequest`` in
returns, ``ComplaintError`` / ``LadderViolation`` / ``AttachmentRejected`` in complaints, a
pydantic ``ValidationError`` for a malformed payload) and write nothing; those become 422
with the reason. A concurrent change the engine could not settle by retrying is 409; a shop
that is not registered is 404. Anything else is a bug and surfaces as a 500 (logged by
Starlette), never as a silent 4xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from aftersales.engine.api import CaseConflict, UnknownShop
from aftersales.store.models import Shop
from aftersales.web.runtime import IngressRuntime


@runtime_checkable
class ServiceRuntime(IngressRuntime, Protocol):
    """The engine's :class:`~aftersales.engine.runtime.Runtime` as the pages and APIs use it."""

    async def execute_command_async(self, name: str, shop_id: str, /, **payload: Any) -> dict[str, Any]:
        """Run the registered command ``name`` for ``shop_id`` in one transaction."""
        ...

    def policy_for(self, shop: Shop) -> Any:
        """The shop's parsed :class:`~aftersales.policy.Policy`."""
        ...


class CommandRefused(Exception):
    """A command said no; ``status`` is the HTTP status to answer with, ``reason`` why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def run_command(
    runtime: ServiceRuntime, command: str, shop_id: str, /, **payload: Any
) -> dict[str, Any]:
    """``runtime.execute_command_async`` with the refusals turned into :class:`CommandRefused`.

    The engine's ``execute_command(name, shop_id, **payload)`` cannot carry a payload field
    called ``name`` (it would collide with the command's name), which is why no caller here
    sends one: the complaint form takes the customer's name from the order instead.
    """
    if "name" in payload or "shop_id" in payload:
        raise TypeError(f"{command}: a payload field named 'name' or 'shop_id' cannot reach the engine")
    try:
        return await runtime.execute_command_async(command, shop_id, **payload)
    except UnknownShop:
        raise CommandRefused(404, "no such shop") from None
    except CaseConflict:
        raise CommandRefused(409, "the case changed at the same moment; please try again") from None
    except ValueError as exc:
        raise CommandRefused(422, str(exc) or type(exc).__name__) from None


@contextmanager
def reading(runtime: IngressRuntime) -> Iterator[Session]:
    """A read-only session that does not queue behind the engine's writers.

    On SQLite every transaction of this project starts ``BEGIN IMMEDIATE`` (see
    :mod:`aftersales.store.db`); a page view must not take the write lock, so the session's
    connection asks for a deferred ``BEGIN`` (WAL readers run beside the writer). PostgreSQL
    ignores the option.
    """
    with runtime.sessions() as session:
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        try:
            yield session
        finally:
            session.rollback()


def active_shop(session: Session, shop_id: str) -> Shop | None:
    """The shop, when it is registered and active (an inactive shop's pages answer 404)."""
    shop = session.get(Shop, shop_id)
    if shop is None or not shop.active:
        return None
    session.expunge(shop)
    return shop
