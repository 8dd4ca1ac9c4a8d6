"""Built-in ``aftersales_request_pickup``: a pick-up order e-mailed to the warehouse.

The trader collects non-conforming goods at its own cost (art. 43d ust. 5-6 u.p.k.). Without a
carrier integration, the shop's own people book the courier; this plugin answers the hook
with a pick-up order addressed to them, and the complaints workflow e-mails it (through the
outbox, like every message) to ``notifications.merchant_address``. A carrier plugin replaces it
by answering the hook itself (registered later, or ``tryfirst=True``) with the carrier's
booking reference; disable this module with
``AFTERSALES_DISABLE_PLUGINS=aftersales.builtin.pickup_email`` to make a missing carrier loud.

The hook only decides; it sends nothing itself, so a failing mail server never turns into a
failed decision, and the e-mail is sent exactly once by the outbox.
"""

from __future__ import annotations

from aftersales import hookimpl
from aftersales.decisions import PickupOrder
from aftersales.domain import Case, CaseType, Order
from aftersales.workflows.complaints.remedies import WAREHOUSE_EMAIL


@hookimpl(trylast=True)
def aftersales_request_pickup(case: Case, order: Order | None) -> PickupOrder | None:
    """A pick-up order for complaint and warranty goods; other case types are not ours to collect."""
    if case.type not in (CaseType.COMPLAINT, CaseType.WARRANTY):
        return None
    customer = case.customer
    details = {
        "name": customer.name or (order.customer.name if order else None) or "",
        "email": customer.email or (order.customer.email if order else None) or "",
        "phone": customer.phone or (order.customer.phone if order else None) or "",
    }
    if order is not None:
        details["order_number"] = order.number
    return PickupOrder(
        reference=f"PU-{case.number}",
        carrier=WAREHOUSE_EMAIL,
        details={key: value for key, value in details.items() if value},
    )
