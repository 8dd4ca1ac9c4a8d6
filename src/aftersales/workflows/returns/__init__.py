"""Returns, statutory withdrawals and goodwill refunds: one workflow, three case types.

Read in this order (each module has one job):

- :mod:`.states` — the case statuses and the one transition table;
- :mod:`.eligibility` — quantities, windows and auto-approval (pure, no engine);
- :mod:`.clocks` — the case's dates from the law's clocks and the policy;
- :mod:`.settlement` — when money moves (the policy's trigger, capped by law) and its keys;
- :mod:`.flow` — every status change (:func:`~.flow.fire`) and the durable timers;
- :mod:`.authorization`, :mod:`.refunds`, :mod:`.progress` — the four axes of a case's lines;
- :mod:`.intake` — opening cases from customers, merchants and platforms;
- :mod:`.notices` — what the customer and the merchant are told;
- :mod:`.commands` and :mod:`.handlers` — what the engine registry calls (commands, platform
  events, timers, ledger outcomes).

The engine imports every module of ``aftersales.workflows`` at start, which registers the
commands and handlers.
"""
