"""Built-in plugin: every case transition as a signed Standard Webhooks event (DESIGN §3 "outbound").

It observes ``aftersales_case_transition`` (called after the transition committed) and queues
one outbox row per active endpoint of the shop in its own short transaction; the engine's
outbox sender delivers them through the ``webhook`` channel registered here, with retries.

The hook gives no database handle, so the process binds one at start: ``create_app`` does
(web + embedded worker) and a worker-only process calls :func:`bind` with its sessions.
Unbound, a transition is logged and skipped rather than written to a guessed database.
Because the observer runs after the commit, a crash between the two loses that one event;
the outbox dedupe key (endpoint, case, version) makes a re-run of the observer harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from aftersales import hookimpl
from aftersales.domain import Case
from aftersales.notify.message import Channel
from aftersales.notify.outbound import WebhookChannel, queue_case_event
from aftersales.store.db import transaction

log = structlog.get_logger("aftersales.outbound")

_channel = WebhookChannel()
_clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 - replaced by bind()


def bind(sessions: sessionmaker[Session], now: Callable[[], datetime] | None = None) -> None:
    """Give the plugin the process's database (and the engine clock, for event timestamps)."""
    global _clock
    _channel.sessions = sessions
    if now is not None:
        _clock = now


@hookimpl
def aftersales_register_channels(register: Callable[[Channel], None]) -> None:
    register(_channel)


@hookimpl
def aftersales_case_transition(case: Case, old: str, new: str, event: str) -> None:
    sessions = _channel.sessions
    if sessions is None:
        log.error("outbound_unbound", case_id=case.id, transition=event)
        return
    with transaction(sessions) as session:
        queued = queue_case_event(session, case, old, new, event, _clock())
    if queued:
        log.info("outbound_queued", shop_id=case.shop_id, case_id=case.id, to=new, endpoints=queued)
