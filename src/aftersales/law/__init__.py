"""Consumer law the engine encodes: jurisdiction profiles and statutory clocks (PL first, EU default).

- :mod:`.profiles` — the numbers and the articles they come from, per jurisdiction;
- :mod:`.clocks` — last days of the withdrawal, refund, complaint-answer, liability and
  commercial-guarantee periods, each with a trace a merchant can read.
"""

from aftersales.law.clocks import (
    Deadline,
    add_months,
    complaint_answer_last_day,
    complaint_liability_ends,
    deadline_ends_at,
    guarantee_action_last_day,
    legal_calendar,
    refund_last_day,
    shop_timezone,
    withdrawal_last_day,
)
from aftersales.law.profiles import (
    PROFILES,
    JurisdictionProfile,
    UnknownJurisdiction,
    get_profile,
    supported_jurisdictions,
)

__all__ = [
    "PROFILES",
    "Deadline",
    "JurisdictionProfile",
    "UnknownJurisdiction",
    "add_months",
    "complaint_answer_last_day",
    "complaint_liability_ends",
    "deadline_ends_at",
    "get_profile",
    "guarantee_action_last_day",
    "legal_calendar",
    "refund_last_day",
    "shop_timezone",
    "supported_jurisdictions",
    "withdrawal_last_day",
]
