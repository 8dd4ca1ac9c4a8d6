"""The engine API workflows are written against (the contract in docs/architecture.md).

::

    from aftersales.engine.api import registry, StepContext, TimerInfo, EffectInfo, DeliveredInfo

    @registry.on_timer("returns.refund_due")
    def on_refund_due(ctx: StepContext, timer: TimerInfo) -> None: ...

Only names exported here are stable for workflows; everything else in ``aftersales.engine``
is the engine's own business.
"""

from aftersales.engine._info import (
    CaseConflict,
    DeliveredInfo,
    EffectInfo,
    EngineError,
    TimerInfo,
    UnknownCommand,
    UnknownShop,
)
from aftersales.engine.clock import Clock, ManualClock, SystemClock
from aftersales.engine.context import EFFECT_KINDS, StepContext
from aftersales.engine.registry import Registry, registry

__all__ = [
    "EFFECT_KINDS",
    "CaseConflict",
    "Clock",
    "DeliveredInfo",
    "EffectInfo",
    "EngineError",
    "ManualClock",
    "Registry",
    "StepContext",
    "SystemClock",
    "TimerInfo",
    "UnknownCommand",
    "UnknownShop",
    "registry",
]
