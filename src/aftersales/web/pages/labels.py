"""What the customer reads for the workflows' machine names: case types, statuses, history events.

The workflows' states are ``StrEnum`` values meant for code and logs (``refund_pending``);
the pages show these labels instead, translated through the catalog (each one is marked with
:func:`~aftersales.web.pages.i18n.N_` so extraction finds it). An unknown value — a state a
newer workflow or a plugin added — is shown readably rather than failing the page.
"""

from __future__ import annotations

from aftersales.web.pages.i18n import N_

TYPES = {
    "withdrawal": N_("Withdrawal from the contract"),
    "return": N_("Return"),
    "goodwill": N_("Goodwill refund"),
    "complaint": N_("Complaint"),
    "warranty": N_("Warranty claim"),
    "guarantee_payout": N_("Delivery guarantee compensation"),
}

STATUSES = {
    # returns and withdrawals
    "requested": N_("Received"),
    "manual_review": N_("Being reviewed by our team"),
    "approved": N_("Approved: waiting for the goods"),
    "in_transit": N_("Goods on their way back"),
    "received": N_("Received by us"),
    "inspected": N_("Goods checked"),
    "refund_pending": N_("Refund in progress"),
    "refunded": N_("Refunded"),
    "closed": N_("Closed"),
    "declined": N_("Declined"),
    "rejected": N_("Not accepted"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
    # complaints
    "awaiting_order": N_("Waiting for your order number"),
    "answer_sent": N_("Answered"),
    "accepted": N_("Accepted"),
    "deemed_accepted": N_("Accepted (no answer in time)"),
    "awaiting_choice": N_("Waiting for your choice"),
    "in_repair": N_("In repair"),
    "replacing": N_("Replacement on its way"),
    "resolved": N_("Resolved"),
    # guarantee payouts
    "paying": N_("Payment in progress"),
    "paid": N_("Paid"),
    "failed": N_("Being handled by our team"),
    "clawback_review": N_("Being reviewed by our team"),
}

EVENTS = {
    "opened": N_("Request received"),
    "approve": N_("Approved"),
    "review": N_("Passed to our team"),
    "decline": N_("Declined"),
    "reject": N_("Not accepted"),
    "cancel": N_("Cancelled"),
    "dispatched": N_("You sent the goods back"),
    "goods_received": N_("We received the goods"),
    "wrong_item": N_("We received a different item"),
    "goods_lost": N_("The parcel was lost"),
    "request_refund": N_("Refund requested"),
    "refund_confirmed": N_("Refund sent"),
    "refund_failed": N_("Refund delayed: our team is on it"),
    "close": N_("Closed"),
    "answer": N_("We answered"),
    "answer_accepted": N_("Complaint accepted"),
    "answer_rejected": N_("Complaint not accepted"),
    "deemed_accepted": N_("Accepted: we did not answer within 14 days"),
    "start_repair": N_("Repair started"),
    "start_replacement": N_("Replacement started"),
    "repair_done": N_("Repair finished"),
    "replacement_done": N_("Replacement sent"),
    "merchant_message": N_("Message from us"),
    "customer_message": N_("Your message"),
    "item_received": N_("We received the item"),
    "pickup_ordered": N_("Courier pick-up ordered"),
    "repair_delayed": N_("Repair delayed"),
    "loaner_issued": N_("Replacement equipment lent"),
    "loaner_returned": N_("Replacement equipment returned"),
    "order_identified": N_("Order found"),
}

RETURN_REASONS = (
    ("changed_mind", N_("I changed my mind")),
    ("wrong_size", N_("Wrong size")),
    ("not_as_described", N_("Not as described")),
    ("damaged", N_("Arrived damaged")),
    ("other", N_("Another reason")),
)

REMEDIES = (
    ("", N_("Let the shop propose")),
    ("repair", N_("Repair")),
    ("replace", N_("Replacement")),
)

DEADLINES = (
    ("refund_due", N_("Refund at the latest by")),
    ("goods_due", N_("Please send the goods by")),
    ("answer_due", N_("We answer at the latest by")),
    ("repair_due", N_("Repair finished by")),
)

TITLES = {
    "no_shop": N_("Page not found"),
    "no_link": N_("This link is not valid"),
    "no_link_detail": N_("Please use the newest link from our e-mail, or look your order up again."),
    "expired_pass": N_("Please look your order up again"),
    "expired_pass_detail": N_("For your security, this page is valid for two hours."),
    "csrf": N_("The form has expired"),
    "csrf_detail": N_("Please go back, reload the page and send the form again."),
    "too_many": N_("Too many attempts"),
    "too_many_detail": N_("Please wait a few minutes and try again."),
    "not_found_order": N_("We could not find an order with this number and e-mail address."),
    "refused": N_("We could not accept this request"),
    "nothing_chosen": N_("Choose at least one item."),
}


def humanize(value: str) -> str:
    return value.replace("_", " ").capitalize()


def type_label(value: str) -> str:
    return TYPES.get(value, humanize(value))


def status_label(value: str) -> str:
    return STATUSES.get(value, humanize(value))


def event_label(event: str, status: str) -> str:
    """The event's own label, else the status it led to (``approve`` → "Approved")."""
    return EVENTS.get(event) or STATUSES.get(status) or humanize(event)
