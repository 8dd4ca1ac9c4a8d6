"""Durable execution: inbox processing, timers, the effects ledger and the outbox, on DBOS.

Workflows import :mod:`aftersales.engine.api`; processes build a
:class:`~aftersales.engine.runtime.Runtime` (``from aftersales.engine.runtime import Runtime``).
This package's ``__init__`` stays light on purpose so that importing the API does not start
or import DBOS.
"""
