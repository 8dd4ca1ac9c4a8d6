"""The shipping guarantee (DESIGN §8): "dispatched on the promised day or 50 zł back".

One module per job; all but :mod:`.handlers` work without the engine:

- :mod:`aftersales.workflows.promise` — the promise calculator (cut-off, business days, window);
- :mod:`.terms` — the promise and the offer frozen at payment, and the trace format;
- :mod:`.snapshot` — the promise row, written once when the order is first seen paid;
- :mod:`.measure` — the judgement: on time, late, excused by force majeure (pure);
- :mod:`.payout` — the amount a late order earns, cut by the caps (pure);
- :mod:`.ledger` — the payout's effect key and the month's payouts read from the ledger;
- :mod:`.report` — the merchant's monthly report;
- :mod:`.handlers` — the engine binding: webhooks, the deadline timer, the ledger's answer.
"""

from aftersales.workflows.guarantee.ledger import payout_history, payout_key
from aftersales.workflows.guarantee.measure import Measurement, Verdict, excused_deadline, judge, measure
from aftersales.workflows.guarantee.payout import PayoutHistory, PayoutPlan, plan_payout, shipping_fee_paid
from aftersales.workflows.guarantee.report import GuaranteeReport, guarantee_report
from aftersales.workflows.guarantee.snapshot import SnapshotPlan, plan_snapshot, write_snapshot
from aftersales.workflows.guarantee.terms import PayoutTerms, PromiseTerms, TraceEntry, terms_from_trace

__all__ = [
    "GuaranteeReport",
    "Measurement",
    "PayoutHistory",
    "PayoutPlan",
    "PayoutTerms",
    "PromiseTerms",
    "SnapshotPlan",
    "TraceEntry",
    "Verdict",
    "excused_deadline",
    "guarantee_report",
    "judge",
    "measure",
    "payout_history",
    "payout_key",
    "plan_payout",
    "plan_snapshot",
    "shipping_fee_paid",
    "terms_from_trace",
    "write_snapshot",
]
