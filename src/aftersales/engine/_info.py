"""What a handler is told (timer fired, effect settled, message delivered) and the engine's errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aftersales.notify.message import DeliveryReceipt


@dataclass(frozen=True)
class TimerInfo:
    """A durable timer that fell due (``ctx.schedule``); handlers run once per firing."""

    id: str
    kind: str
    shop_id: str
    case_id: str | None
    due_at: datetime
    fired_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EffectInfo:
    """An external effect that reached a final state in the ledger.

    ``state`` is ``confirmed`` (``result`` holds the platform's answer, e.g. the refund record)
    or ``failed`` (``error`` says why; no money moved).
    """

    effect_key: str
    kind: str
    shop_id: str
    case_id: str | None
    state: str
    request: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    attempts: int


@dataclass(frozen=True)
class DeliveredInfo:
    """An outbox message its channel accepted (for e-mail: the SMTP server took it).

    The complaint clock stops when the answer reaches the consumer; ``sent_at`` and the
    receipt are that record.
    """

    outbox_id: int
    shop_id: str
    template: str
    channel: str
    recipient: str
    case_id: str | None
    dedupe_key: str
    sent_at: datetime
    receipt: DeliveryReceipt


class EngineError(RuntimeError):
    """Base of the engine's own errors."""


class CaseConflict(EngineError):
    """Compare-and-set lost: the case changed since it was read (another worker, another request).

    Raised inside a step, it rolls the step back; the engine runs the step again with fresh
    data (a webhook, a timer) or the caller sees it (a command: answer 409 and let the user retry).
    """


class UnknownCommand(EngineError, LookupError):
    """``execute_command`` was given a name no workflow registered."""


class UnknownShop(EngineError, LookupError):
    """A step or command names a shop that is not registered."""


class EffectDeferred(EngineError):
    """An effect is in flight at another live executor; try again after its lease."""
