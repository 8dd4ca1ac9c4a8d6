"""The engine runtime: one per process, owning the database, the plugins, the clock and DBOS.

Two ways to run it:

- **worker** (``launch()``; ``aftersales worker`` and ``aftersales serve``): migrations run,
  the process claims an executor id, DBOS starts its queue workers, and a sweeper thread
  heartbeats, takes over dead executors and re-enqueues whatever is due. Any number of
  worker processes may share one PostgreSQL database; on SQLite one process is the norm.
- **inline** (``launch(worker=False)``; tests, the demo, CLI commands): migrations run and
  nothing happens in the background; :meth:`Runtime.run_until_idle` processes everything
  due in the calling thread, in a fixed order, so a test reads as a scenario.

Both share the job functions (:mod:`inbox`, :mod:`timers`, :mod:`ledger`, :mod:`outbox`),
so the inline path is the production path minus the queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import os
import pkgutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aftersales.engine import executors
from aftersales.engine._info import UnknownShop
from aftersales.engine.clock import Clock, SystemClock
from aftersales.engine.conflicts import retry_conflicts
from aftersales.engine.context import AfterCommit, StepContext
from aftersales.engine.due import Due, due_work, timer_dedupe
from aftersales.engine.durable import Durable
from aftersales.engine.inbox import process_inbox
from aftersales.engine.ledger import execute_effect
from aftersales.engine.outbox import send_message
from aftersales.engine.registry import registry
from aftersales.engine.settings import EngineSettings
from aftersales.engine.timers import fire_timer
from aftersales.platforms import ShopClient, StoreCredentials
from aftersales.plugins import Plugins, load_plugins
from aftersales.store import migrate
from aftersales.store.db import check_connection, make_engine, session_factory
from aftersales.store.models import Shop

log = structlog.get_logger("aftersales.engine")

DEFAULT_WORKFLOWS: tuple[str, ...] = ("aftersales.workflows",)
"""Packages whose modules register handlers on import (walked recursively)."""

IMPORT_ENV = "AFTERSALES_IMPORT"
"""Comma-separated extra modules to import at start (a plugin's or a test's handlers)."""

EXECUTOR_ENV = "AFTERSALES_EXECUTOR_ID"

_JOBS = ("inbox", "timer", "effect", "outbox")


def import_workflows(modules: Sequence[str]) -> list[str]:
    """Import ``modules`` (packages recursively) so their handlers are registered; return the names."""
    imported: list[str] = []
    for name in modules:
        module = importlib.import_module(name)
        imported.append(name)
        path = getattr(module, "__path__", None)
        if path is None:
            continue
        for info in pkgutil.walk_packages(path, prefix=f"{name}."):
            importlib.import_module(info.name)
            imported.append(info.name)
    return imported


def env_modules() -> list[str]:
    raw = os.environ.get(IMPORT_ENV, "")
    return [m.strip() for m in raw.split(",") if m.strip()]


class Runtime:
    """``Runtime(db_url, clock=..., plugins=..., executor_id=...)`` — see the module docstring."""

    def __init__(
        self,
        db_url: str,
        *,
        clock: Clock | None = None,
        plugins: Plugins | None = None,
        executor_id: str | None = None,
        settings: EngineSettings | None = None,
        workflows: Sequence[str] | None = None,
        imports: Sequence[str] = (),
    ) -> None:
        self.db_url = db_url
        self.clock: Clock = clock or SystemClock()
        self._plugins = plugins
        self.settings = settings or EngineSettings.from_env()
        self.requested_executor_id = executor_id or os.environ.get(EXECUTOR_ENV) or None
        self.incarnation = uuid.uuid4().hex
        self.executor_id = f"inline-{executors.hostname()}-{os.getpid()}-{self.incarnation[:8]}"
        self.workflows = tuple(DEFAULT_WORKFLOWS if workflows is None else workflows)
        self.imports = (*imports, *env_modules())
        # one connection per concurrent job, plus the sweeper, the heartbeat and a web request or two
        self.engine = make_engine(db_url, pool_size=self.settings.concurrency + 4, max_overflow=8)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self._durable: Durable | None = None
        self._launched = False
        self._inflight: set[str] = set()
        self._active_jobs = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lost_id = threading.Event()
        self._policies: dict[tuple[str, str], Any] = {}
        self._offered: dict[str, float] = {}
        self._local = threading.local()

    # -- services the steps use -------------------------------------------------------------
    @property
    def plugins(self) -> Plugins:
        if self._plugins is None:
            self._plugins = load_plugins()
        return self._plugins

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite): committed on success, else rolled back."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only session that does not wait for writers (WAL readers on SQLite)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="DEFERRED")
            with Session(bind=conn, expire_on_commit=False) as session:
                yield session  # closing detaches the rows with their loaded values; nothing is written

    def policy_for(self, shop: Shop) -> Any:
        """The shop's parsed policy: its stored YAML, else its policy file, else lawful defaults."""
        from aftersales.policy import default_policy, load_policy, parse_policy

        text = shop.policy_yaml or ""
        stamp = ""
        if not text.strip() and shop.policy_path:
            try:  # an edited policy file is read again
                stamp = str(os.stat(shop.policy_path).st_mtime_ns)
            except OSError:
                stamp = "missing"
        key = (shop.id, hashlib.sha256(f"{text}\0{shop.policy_path or ''}\0{stamp}".encode()).hexdigest())
        with self._lock:
            cached = self._policies.get(key)
        if cached is not None:
            return cached
        if text.strip():
            policy: Any = parse_policy(text, filename=f"<policy of shop {shop.id}>")
        elif shop.policy_path:
            policy = load_policy(shop.policy_path)
        else:
            policy = default_policy(name=shop.id)
        with self._lock:
            self._policies[key] = policy
        return policy

    def shops_with_credentials(self) -> list[str]:
        """Ids of the active shops the engine can call (reconciliation is armed for these)."""
        with self.read_session() as session:
            return [s.id for s in session.scalars(select(Shop).where(Shop.active.is_(True))) if s.credentials]

    def client_for(self, shop: Shop) -> ShopClient | None:
        """The shop's platform client (None without credentials); one per thread and credentials."""
        if not shop.credentials:
            return None
        key = (shop.id, shop.platform, json.dumps(shop.credentials, sort_keys=True, default=str))
        clients: dict[tuple[str, str, str], ShopClient] = getattr(self._local, "clients", None) or {}
        self._local.clients = clients
        client = clients.get(key)
        if client is None:
            adapter = self.plugins.platform(shop.platform)
            client = adapter.client(StoreCredentials.model_validate(shop.credentials))
            clients[key] = client
        return client

    # -- lifecycle --------------------------------------------------------------------------
    def launch(self, *, worker: bool = True, migrate_schema: bool = True) -> Runtime:
        """Check the database, migrate, import the workflows; with ``worker`` start DBOS and the sweeper.

        Raises :class:`~aftersales.store.db.DatabaseUnavailable` within the connect timeout
        when the database is down, and :class:`~aftersales.engine.executors.ExecutorIdInUse`
        when the requested executor id is held by a live process.
        """
        if self._launched:
            return self
        check_connection(self.engine)
        if migrate_schema:
            migrate.upgrade(self.db_url)
        import_workflows([*self.workflows, *self.imports])
        self.plugins  # noqa: B018 - load (and validate) the plugins now, not in the first job
        self._bind_builtins()
        if worker:
            self.executor_id = executors.claim(
                self.sessions,
                self.requested_executor_id,
                self.incarnation,
                dead_after=self.settings.dead_after,
            )
            durable = Durable(
                self,
                self.db_url,
                self.executor_id,
                log_level=os.environ.get("AFTERSALES_DBOS_LOG_LEVEL", "WARNING"),
            )
            try:
                durable.launch()
            except BaseException:
                executors.release(self.sessions, self.executor_id, self.incarnation)
                raise
            self._durable = durable
            self._stop.clear()
            self._threads = [
                threading.Thread(target=self._heartbeat_loop, name="aftersales-heartbeat", daemon=True),
                threading.Thread(target=self._sweep_loop, name="aftersales-sweeper", daemon=True),
            ]
            for thread in self._threads:
                thread.start()
            log.info("worker_started", executor_id=self.executor_id, concurrency=self.settings.concurrency)
        self._launched = True
        return self

    def _bind_builtins(self) -> None:
        """Built-in observers that write (outbound webhook events) need this process's database."""
        from aftersales.builtin import outbound_webhooks

        outbound_webhooks.bind(self.sessions, self.clock.now)

    @property
    def is_worker(self) -> bool:
        return self._durable is not None

    def shutdown(self) -> None:
        """Stop the sweeper, let running jobs finish (``shutdown_grace``), release the executor id."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.settings.sweep_interval + 10)
        self._threads = []
        durable, self._durable = self._durable, None
        if durable is not None:
            try:
                durable.shutdown(self.settings.shutdown_grace)
            finally:
                try:
                    executors.release(self.sessions, self.executor_id, self.incarnation)
                except Exception as exc:
                    log.warning("executor_release_failed", error=str(exc))
        self._launched = False
        self.engine.dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the worker must stop (its executor id was claimed by another process)."""
        return self._lost_id.wait(timeout)

    # -- submitting work --------------------------------------------------------------------
    def submit_inbox(self, inbox_id: int) -> None:
        """Queue processing of a committed inbox row (idempotent; a no-op inline: ``run_until_idle`` finds it)."""
        if self._durable is not None:
            self._durable.enqueue("inbox", str(inbox_id), f"inbox:{inbox_id}")

    async def submit_inbox_async(self, inbox_id: int) -> None:
        """:meth:`submit_inbox` for an event loop (the web ingress): the insert runs in a thread."""
        if self._durable is not None:
            await self._durable.enqueue_async("inbox", str(inbox_id), f"inbox:{inbox_id}")

    def execute_command(self, name: str, shop_id: str, /, **payload: Any) -> dict[str, Any]:
        """Run the registered command ``name`` for ``shop_id`` in one transaction.

        Its effects, messages and timers are performed after the commit like any step's. A
        concurrent change (compare-and-set lost, a unique-key race) runs the command again on
        fresh data; any other error rolls back and propagates to the caller.
        """
        handler = registry.get_command(name)

        def run() -> tuple[dict[str, Any], AfterCommit]:
            after = AfterCommit()
            with self.transaction() as session:
                shop = session.get(Shop, shop_id)
                if shop is None:
                    raise UnknownShop(f"shop {shop_id!r} is not registered")
                result = handler(StepContext(session, self, shop, after=after), **payload)
            return dict(result or {}), after

        result, after = retry_conflicts(run)
        self.after_commit(after)
        return result

    async def execute_command_async(self, name: str, shop_id: str, /, **payload: Any) -> dict[str, Any]:
        return await asyncio.to_thread(lambda: self.execute_command(name, shop_id, **payload))

    def after_commit(self, after: AfterCommit) -> None:
        """Tell observers of committed transitions and queue the effects, messages and timers."""
        for case, old, new, event in after.transitions:
            self.plugins.case_transition(case, old, new, event)
        durable = self._durable
        if durable is None:
            return
        try:
            for key in after.effects:
                durable.enqueue("effect", key, f"effect:{key}")
            for message_id in after.messages:
                durable.enqueue("outbox", str(message_id), f"outbox:{message_id}")
            if isinstance(self.clock, SystemClock):
                now = self.clock.now()
                for timer_id, due_at in after.timers:
                    delay = (due_at - now).total_seconds()
                    if delay <= self.settings.delay_horizon:
                        durable.enqueue(
                            "timer", timer_id, timer_dedupe(timer_id, due_at), delay=max(0.0, delay)
                        )
        except Exception as exc:  # the rows are committed: the sweeper enqueues them after its grace
            log.warning("enqueue_after_commit_failed", error=str(exc))

    # -- running jobs -----------------------------------------------------------------------
    def run_job(self, kind: str, ref: str) -> str:
        """Run one job (what the DBOS workflow calls); returns its outcome."""
        with self._lock:
            self._active_jobs += 1
        try:
            if kind == "inbox":
                return process_inbox(self, int(ref))
            if kind == "timer":
                return fire_timer(self, ref)
            if kind == "effect":
                return execute_effect(self, ref)
            if kind == "outbox":
                return send_message(self, int(ref))
            raise ValueError(f"unknown job kind {kind!r} (known: {', '.join(_JOBS)})")
        finally:
            with self._lock:
                self._active_jobs -= 1

    def begin_inflight(self, key: str) -> bool:
        with self._lock:
            if key in self._inflight:
                return False
            self._inflight.add(key)
            return True

    def end_inflight(self, key: str) -> None:
        with self._lock:
            self._inflight.discard(key)

    def due(self, *, grace: float | None = None, limit: int | None = None) -> list[Due]:
        """The work that is due now by the engine clock (see :mod:`aftersales.engine.due`)."""
        with self.read_session() as session:
            return due_work(
                session,
                self.clock.now(),
                self.settings,
                grace=self.settings.grace if grace is None else grace,
                limit=limit or self.settings.sweep_batch,
            )

    def sweep(self, *, grace: float | None = None) -> dict[str, int]:
        """Enqueue everything due (deduplicated against what the queue holds); counts per kind."""
        if self._durable is None:
            raise RuntimeError("sweep() needs a launched worker; inline, use run_until_idle()")
        counts = dict.fromkeys(_JOBS, 0)
        window = self.settings.grace if grace is None else grace
        due = self.due(grace=grace)
        now = time.monotonic()
        with self._lock:
            # re-offer a piece of work at most once per grace period: a backlog of due rows
            # would otherwise cost one deduplicated insert per row per pass
            self._offered = {k: t for k, t in self._offered.items() if now - t < window}
            fresh = [item for item in due if item.dedupe not in self._offered]
        for item in fresh:
            if self._stop.is_set():
                break
            self._durable.enqueue(item.kind, item.ref, item.dedupe)
            counts[item.kind] += 1
            with self._lock:
                self._offered[item.dedupe] = now
        return counts

    def run_until_idle(self, timeout: float = 30.0) -> dict[str, int]:
        """Process everything due now in this thread until nothing is left; counts per outcome.

        Deterministic: inbox items, then timers, then effects, then messages, each oldest
        first, repeated until a pass changes nothing (work one job creates, such as the effect
        a handler requested, is done in a later pass). Jobs this process's worker threads are
        running are waited for. Raises :class:`TimeoutError` if work is still due after
        ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        outcomes: dict[str, int] = {}
        idle = {"skipped", "busy", "deferred", "early", "already_done", "lost"}
        while True:
            progressed = False
            for item in self.due(grace=0):
                outcome = self.run_job(item.kind, item.ref)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                progressed = progressed or outcome not in idle
            with self._lock:
                busy = self._active_jobs > 0 or bool(self._inflight)
            if not progressed and not busy:
                return outcomes
            if time.monotonic() > deadline:
                left = self.due(grace=0)
                raise TimeoutError(f"still due after {timeout} s: {[(d.kind, d.ref) for d in left][:10]}")
            if not progressed:
                time.sleep(0.02)

    # -- the worker's background loop ------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        """Liveness on its own thread, so a long sweep (a backlog after downtime) never makes
        this executor look dead to the others; then take over executors that are."""
        while not self._stop.is_set():
            try:
                if not executors.heartbeat(self.sessions, self.executor_id, self.incarnation):
                    log.error("executor_id_lost", executor_id=self.executor_id)
                    self._lost_id.set()
                    return
                self._take_over()
            except Exception as exc:  # the database may be away for a moment; beat again next time
                log.warning("heartbeat_failed", error=f"{type(exc).__name__}: {exc}")
            self._stop.wait(self.settings.heartbeat_interval)

    def _sweep_loop(self) -> None:
        last_prune = time.monotonic()
        first = True
        while not self._stop.is_set():
            try:
                # the first pass after a start re-offers everything due at once (work a crash left behind)
                self.sweep(grace=0 if first else None)
                first = False
                if time.monotonic() - last_prune >= 600:
                    last_prune = time.monotonic()
                    self._prune()
            except Exception as exc:  # a database blip must not kill the loop; the next pass retries
                log.warning("sweep_failed", error=f"{type(exc).__name__}: {exc}")
            self._stop.wait(self.settings.sweep_interval)

    def _take_over(self) -> None:
        durable = self._durable
        if durable is None:
            return
        dead = executors.claim_dead(self.sessions, self.executor_id, dead_after=self.settings.dead_after)
        if dead:
            log.warning("executors_taken_over", executors=dead)
        # every beat, not only when this worker declared the death: a taker that died between
        # the dead mark and this call would otherwise strand those jobs (DBOS's recovery is
        # idempotent: it only moves jobs still pending under a dead executor's id)
        recovered = durable.recover(executors.dead_ids(self.sessions))
        if recovered:
            log.warning("workflows_recovered", workflows=recovered)

    def _prune(self) -> None:
        durable = self._durable
        if durable is None:
            return
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.retention)
        durable.prune(int(cutoff.timestamp() * 1000))
