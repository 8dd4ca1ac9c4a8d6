"""Complaints (non-conformity, 2-year liability) and warranty claims (the shop's own guarantee).

The service desk's side of after-sales, with the law's clocks as durable timers:

- :mod:`.states` — the statuses and the one transition table;
- :mod:`.ladder` — the remedy ladder, art. 43d → 43e u.p.k. (pure);
- :mod:`.clock` — answer deadline, reminders, liability and guarantee coverage (pure);
- :mod:`.sla` — first response in business hours, priorities (pure);
- :mod:`.inbound` — an RFC 822 e-mail read as a complaint (pure);
- :mod:`.attachments` — photo/PDF checks and storage outside the rows;
- :mod:`.intake` — opening a complaint from any channel;
- :mod:`.answer` — the statutory answer: reminders, delivery stops the clock, deemed acceptance;
- :mod:`.remedies` — carrying out repair, replacement, price reduction, withdrawal (money via the ledger);
- :mod:`.repairs` — the declared repair time, delay notices, loaner equipment;
- :mod:`.handlers` and :mod:`.commands` — what the engine and the callers run.
"""
