"""What the web service needs from the engine, as a protocol.

The engine's ``aftersales.engine.runtime.Runtime`` satisfies it; tests and the benchmark
may pass anything with the same shape. Keeping the web room typed against this small
surface is what lets ``web/`` stay "verify, record, enqueue" (DESIGN §2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from aftersales.plugins import Plugins


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime (UTC)."""
        ...


class IngressRuntime(Protocol):
    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def plugins(self) -> Plugins: ...

    @property
    def clock(self) -> Clock: ...

    async def submit_inbox_async(self, inbox_id: int) -> None:
        """Hand a committed inbox row to the workers (idempotent; a sweeper catches misses)."""
        ...
