"""Back-in-stock alerts (DESIGN §9): subscriptions, restock episodes, fair waves, attribution.

One module per job, each usable with a plain SQLAlchemy session (the engine handlers bind
them to a ``StepContext``):

- :mod:`.subscriptions` — subscribe, double opt-in by POST, unsubscribe, expiry, rate limit;
- :mod:`.privacy` — GDPR export and erasure per e-mail address;
- :mod:`.episodes` — stock reports → one restock episode per restock (webhook + reconcile);
- :mod:`.wave` — FIFO waves sized by the ``aftersales_restock_wave`` hook, re-checked stock;
- :mod:`.attribution` — tracked links and conversions (direct / assisted);
- :mod:`.report` — demand, sent, clicked, converted and revenue per variant;
- :mod:`.tokens`, :mod:`.links`, :mod:`.rules` — signed links, public URLs, settings.
"""

from aftersales.workflows.restock.attribution import ClickResult, attribute_order, mark_sent, record_click
from aftersales.workflows.restock.episodes import (
    Availability,
    EpisodeState,
    Source,
    StockOutcome,
    availability,
    observe_stock,
)
from aftersales.workflows.restock.privacy import ErasureReport, erase_address, export_address
from aftersales.workflows.restock.report import VariantReport, restock_report
from aftersales.workflows.restock.rules import QuietHours, RestockRules
from aftersales.workflows.restock.subscriptions import (
    ConfirmOutcome,
    ConfirmResult,
    SubscribeOutcome,
    SubscribeResult,
    UnsubscribeOutcome,
    UnsubscribeResult,
    confirm,
    confirmation_is_valid,
    expire,
    subscribe,
    unsubscribe,
)
from aftersales.workflows.restock.tokens import RestockTokens
from aftersales.workflows.restock.wave import WavePorts, WaveResult, WaveStatus, queue_length, run_wave

__all__ = [
    "Availability",
    "ClickResult",
    "ConfirmOutcome",
    "ConfirmResult",
    "EpisodeState",
    "ErasureReport",
    "QuietHours",
    "RestockRules",
    "RestockTokens",
    "Source",
    "StockOutcome",
    "SubscribeOutcome",
    "SubscribeResult",
    "UnsubscribeOutcome",
    "UnsubscribeResult",
    "VariantReport",
    "WavePorts",
    "WaveResult",
    "WaveStatus",
    "attribute_order",
    "availability",
    "confirm",
    "confirmation_is_valid",
    "erase_address",
    "expire",
    "export_address",
    "mark_sent",
    "observe_stock",
    "queue_length",
    "record_click",
    "restock_report",
    "run_wave",
    "subscribe",
    "unsubscribe",
]
