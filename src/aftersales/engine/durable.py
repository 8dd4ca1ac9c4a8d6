"""DBOS Transact as the engine's durable queue, executor and crash recovery.

Why DBOS (measured with dbos 3.4 on this project's machines, see docs/architecture.md): it is
a library, not a server — the same code runs in-process on SQLite (the embedded mode) and
across processes and machines on PostgreSQL; its queue has per-worker concurrency, delayed
enqueue and deduplication; a process killed with ``kill -9`` resumes its workflows when it
starts again with the same executor id.

How we use it, deliberately thin: one workflow type, ``aftersales.job(kind, ref)``, whose
body is one engine job (process an inbox item, fire a timer, execute an effect, send a
message). The job's own state lives in our tables and every job is idempotent on those rows,
so DBOS only has to answer "who runs what next" and "what was running when the process
died". Consequences:

- ``application_version`` is pinned (:data:`APP_VERSION`): DBOS's default is a hash of the
  workflow code, and a pending workflow of another version is never recovered — any deploy
  would orphan the queue. The job workflow's signature is the only thing the version
  protects, and it changes only with this constant;
- every enqueue carries a deduplication id (``inbox:<id>``, ``effect:<key>``...) with
  "return the existing workflow": the ingress, the post-commit hook and the sweeper may all
  offer the same work, and only one job per piece of work is queued at a time. Workflow ids
  are unique per enqueue, so the same piece of work can be queued again once the previous
  job finished (a replayed webhook, a retry after backoff);
- enqueues go through a :class:`dbos.DBOSClient` (plain inserts in the system database), so
  they work the same from a worker, from a web request's event loop (``enqueue_async``) and
  from inside a running job;
- the system database is the application database on PostgreSQL (its own schema, ``dbos``
  or ``<search_path schema>_dbos``) and a sibling file on SQLite (``aftersales.dbos.db``
  beside ``aftersales.db``), so DBOS's polling never holds the application file's write lock.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbos import DBOS, DBOSClient, EnqueueOptions
from sqlalchemy.engine import make_url

from aftersales.store.db import is_sqlite, normalize_url, search_path_schema

if TYPE_CHECKING:
    from aftersales.engine.runtime import Runtime

APP_NAME = "aftersales"
APP_VERSION = "aftersales-engine-1"
"""Pinned DBOS application version; bump only when the job workflow's signature changes."""
QUEUE = "aftersales"
JOB_WORKFLOW = "aftersales.job"

_active: Runtime | None = None


@DBOS.workflow(name=JOB_WORKFLOW)
def job_workflow(kind: str, ref: str) -> str:
    """One engine job. Idempotent on our rows, so a recovered re-run is harmless."""
    runtime = _active
    if runtime is None:
        raise RuntimeError("no aftersales runtime is launched in this process")
    return runtime.run_job(kind, ref)


def system_database(db_url: str) -> tuple[str, str]:
    """``(url, schema)`` of the DBOS system database for the application database ``db_url``."""
    url = normalize_url(db_url)
    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("the worker needs an SQLite file, not an in-memory database")
        path = Path(database)
        sibling = path.with_name(f"{path.stem}.dbos{path.suffix or '.db'}")
        return f"sqlite:///{sibling}", "dbos"
    schema = search_path_schema(url)
    return url, f"{schema}_dbos" if schema else "dbos"


class Durable:
    """The launched DBOS instance of this process (at most one: DBOS is a process singleton)."""

    def __init__(
        self, runtime: Runtime, db_url: str, executor_id: str, *, log_level: str = "WARNING"
    ) -> None:
        self.runtime = runtime
        self.system_url, self.schema = system_database(db_url)
        self.executor_id = executor_id
        self.log_level = log_level
        self.client: DBOSClient | None = None

    def launch(self) -> None:
        global _active
        if _active is not None:
            raise RuntimeError(
                "a worker runtime is already launched in this process (DBOS is one per process)"
            )
        settings = self.runtime.settings
        config: Any = {
            "name": APP_NAME,
            "system_database_url": self.system_url,
            "dbos_system_schema": self.schema,
            "application_version": APP_VERSION,
            "executor_id": self.executor_id,
            "log_level": self.log_level,
            "sys_db_pool_size": settings.concurrency + 8,
        }
        _active = self.runtime
        try:
            DBOS(config=config)
            DBOS.listen_queues([QUEUE])
            DBOS.launch()
            DBOS.register_queue(
                QUEUE,
                worker_concurrency=settings.concurrency,
                polling_interval_sec=settings.poll_interval,
                on_conflict="always_update",
            )
            self.client = DBOSClient(
                system_database_url=self.system_url,
                dbos_system_schema=self.schema,
                application_name=APP_NAME,
            )
        except BaseException:
            _active = None
            DBOS.destroy()
            raise

    def _options(self, dedupe: str, delay: float | None) -> EnqueueOptions:
        options: EnqueueOptions = {
            "workflow_name": JOB_WORKFLOW,
            "queue_name": QUEUE,
            "workflow_id": f"{dedupe}:{uuid.uuid4().hex[:12]}",
            "deduplication_id": dedupe,
            "duplication_policy": "return-existing",
            "app_version": APP_VERSION,
        }
        if delay is not None and delay > 0:
            options["delay_seconds"] = delay
        return options

    def enqueue(self, kind: str, ref: str, dedupe: str, *, delay: float | None = None) -> None:
        if self.client is None:
            raise RuntimeError("the worker is not launched")
        self.client.enqueue(self._options(dedupe, delay), kind, ref)

    async def enqueue_async(self, kind: str, ref: str, dedupe: str, *, delay: float | None = None) -> None:
        if self.client is None:
            raise RuntimeError("the worker is not launched")
        await self.client.enqueue_async(self._options(dedupe, delay), kind, ref)

    def recover(self, executor_ids: list[str]) -> int:
        """Re-enqueue the pending workflows of dead executors for any worker to run.

        DBOS's own recovery call (what its Conductor service runs): the executor-id predicate
        makes it idempotent, a workflow already picked up by a live worker is not touched.
        """
        if not executor_ids:
            return 0
        return len(DBOS._recover_pending_workflows(executor_ids))

    def prune(self, older_than_epoch_ms: int, limit: int = 1000) -> int:
        """Delete finished job records older than the retention (our tables keep the history)."""
        from datetime import UTC, datetime

        before = datetime.fromtimestamp(older_than_epoch_ms / 1000, UTC).isoformat()
        finished = DBOS.list_workflows(
            status=["SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"],
            end_time=before,
            name=JOB_WORKFLOW,
            limit=limit,
            load_input=False,
            load_output=False,
        )
        ids = [w.workflow_id for w in finished]
        if ids:
            DBOS.delete_workflows(ids)
        return len(ids)

    def shutdown(self, grace_seconds: int) -> None:
        global _active
        try:
            if self.client is not None:
                self.client.destroy()
                self.client = None
            DBOS.destroy(workflow_completion_timeout_sec=grace_seconds)
        finally:
            _active = None
