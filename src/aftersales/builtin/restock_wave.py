"""Built-in ``aftersales_restock_wave``: ``available × wave.per_unit`` subscribers, capped at the queue.

Three alerts per unit (the policy default) is backinstock.org's "notification rate": not
everyone alerted buys, so a wave a little larger than the stock sells it without sending
hundreds of people to a sold-out page. The hook carries no policy argument; the wave being
sized publishes its rules in :data:`aftersales.workflows.restock.rules.ACTIVE_RULES`, and
outside a wave the policy's default ``per_unit`` applies. Registered first, so any plugin
answering the hook replaces it.
"""

from __future__ import annotations

from aftersales import hookimpl
from aftersales.domain import StockLevel
from aftersales.policy.schema import Wave
from aftersales.workflows.restock.rules import ACTIVE_RULES
from aftersales.workflows.restock.wave import default_wave_size


@hookimpl(trylast=True)
def aftersales_restock_wave(variant: StockLevel, available: int, queue: int) -> int | None:
    rules = ACTIVE_RULES.get()
    per_unit = rules.per_unit if rules is not None else Wave().per_unit
    return default_wave_size(available, queue, per_unit)
