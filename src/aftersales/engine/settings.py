"""Engine tuning, with defaults for one shop on one machine and environment overrides.

Every value can be set by an environment variable (``AFTERSALES_<NAME>``, e.g.
``AFTERSALES_SWEEP_SECONDS=1``), so a worker started by a process manager, a test or the
benchmark is tuned without code. The defaults and why:

- ``poll_interval`` 0.05 s: DBOS's default queue poll of 1 s caps a worker at a few dozen
  jobs per second; 50 ms polls cost one indexed query each.
- ``sweep_interval`` 2 s / ``grace`` 30 s: the sweeper re-enqueues what no queue holds (an
  enqueue lost to a crash right after a commit, a retry whose backoff ended, a timer that
  fell due); the grace keeps it from re-offering work that was enqueued a moment ago.
- ``dead_after`` 30 s: an executor whose heartbeat (every ``heartbeat_interval``) is older is
  taken over by a live one; ``effect_lease`` 120 s: an effect marked ``sent`` by another
  executor is not looked up or retried before that (a platform call has a 10 s timeout; the
  margin covers a slow process that is not dead).
- retries back off from ``retry_base`` doubling up to ``retry_cap``; after ``max_attempts``
  an inbox item, timer or message is failed/dead-lettered with its error, never dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any

_ENV: dict[str, str] = {
    "concurrency": "AFTERSALES_WORKER_CONCURRENCY",
    "poll_interval": "AFTERSALES_QUEUE_POLL_SECONDS",
    "sweep_interval": "AFTERSALES_SWEEP_SECONDS",
    "grace": "AFTERSALES_SWEEP_GRACE_SECONDS",
    "heartbeat_interval": "AFTERSALES_HEARTBEAT_SECONDS",
    "dead_after": "AFTERSALES_EXECUTOR_DEAD_SECONDS",
    "effect_lease": "AFTERSALES_EFFECT_LEASE_SECONDS",
    "retry_base": "AFTERSALES_RETRY_BASE_SECONDS",
    "retry_cap": "AFTERSALES_RETRY_CAP_SECONDS",
    "max_attempts": "AFTERSALES_MAX_ATTEMPTS",
    "max_effect_attempts": "AFTERSALES_MAX_EFFECT_ATTEMPTS",
    "delay_horizon": "AFTERSALES_TIMER_DELAY_HORIZON_SECONDS",
    "shutdown_grace": "AFTERSALES_SHUTDOWN_GRACE_SECONDS",
    "retention": "AFTERSALES_WORKFLOW_RETENTION_SECONDS",
    "sweep_batch": "AFTERSALES_SWEEP_BATCH",
}


@dataclass(frozen=True)
class EngineSettings:
    concurrency: int = 16
    """Jobs one worker process runs at once (DBOS ``worker_concurrency``). A job mostly waits
    for the database or a platform, so more jobs than cores pay off (measured: 32 > 8)."""
    poll_interval: float = 0.05
    sweep_interval: float = 2.0
    grace: float = 30.0
    heartbeat_interval: float = 5.0
    dead_after: float = 30.0
    effect_lease: float = 120.0
    retry_base: float = 2.0
    retry_cap: float = 3600.0
    max_attempts: int = 8
    """Inbox items, timers and outbox messages: attempts before failed / dead."""
    max_effect_attempts: int = 12
    """Effects: transient failures before failed; an ``unknown`` effect then waits for a person."""
    delay_horizon: float = 900.0
    """Timers due within this many seconds are also enqueued with a DBOS delay (exact firing)."""
    shutdown_grace: int = 10
    """Seconds a stopping worker lets running jobs finish."""
    retention: float = 86400.0
    """Seconds finished DBOS workflow records are kept (our own tables are the durable record)."""
    sweep_batch: int = 500

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> EngineSettings:
        """Defaults, then ``AFTERSALES_*`` variables, then ``overrides`` (None values ignored)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            var = _ENV.get(spec.name)
            raw = env.get(var) if var else None
            if raw is None or not raw.strip():
                continue
            kind = int if spec.type in ("int", int) else float
            try:
                values[spec.name] = kind(raw)
            except ValueError:
                raise ValueError(f"{var}={raw!r} is not a number") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = replace(cls(), **values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.concurrency < 1:
            raise ValueError("worker concurrency must be at least 1")
        for name in ("poll_interval", "sweep_interval", "heartbeat_interval", "retry_base"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.dead_after <= self.heartbeat_interval:
            raise ValueError("dead_after must be longer than the heartbeat interval")

    def backoff(self, attempts: int) -> timedelta:
        """Wait before attempt ``attempts + 1``: base, 2×base, 4×base... up to the cap."""
        exponent = max(0, attempts - 1)
        seconds = min(self.retry_cap, self.retry_base * (2.0 ** min(exponent, 40)))
        return timedelta(seconds=seconds)
