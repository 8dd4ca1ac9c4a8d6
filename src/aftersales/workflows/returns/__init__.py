"""Returns, statutory withdrawals and goodwill refunds: one workflow, three case types.

- :mod:`.states` — the case statuses and the one transition table;
- :mod:`.eligibility` — windows, quantities and auto-approval (pure, no engine);
"""
