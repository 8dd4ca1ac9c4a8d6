"""Engine throughput: jobs per second on SQLite, and on PostgreSQL with one and with two workers.

A job is what the engine does most: a durable timer falls due and its handler moves a case
(load, compare-and-set transition, event log row), i.e. one DBOS queue workflow plus one
application transaction. The workers are real ``aftersales worker`` processes; this module
is also their handler module (``AFTERSALES_IMPORT=engine_throughput``).

To time the processing and not the start-up or the enqueueing, every run goes the same way:
the workers start on a database holding N cases and N timers not yet due; once they are up,
the queue is paused (DBOS worker concurrency 0), the timers are made due and their N jobs
enqueued, and the queue is resumed; the clock runs from the resume to the last case moved.

Prints one JSON object (jobs/s per setup and the ratio of two PostgreSQL workers to one;
target ≥ 1.6) and a one-line summary. Not a test: numbers depend on the machine.

    .venv/bin/python benchmarks/engine_throughput.py [--jobs 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aftersales.engine.api import StepContext, TimerInfo, registry

KIND = "bench.deadline"
SHOP = "bench-shop"


@registry.on_timer(KIND)
def deadline(ctx: StepContext, timer: TimerInfo) -> None:
    """The benchmark's job: a deadline moves its case on."""
    if timer.case_id is None:
        return
    case = ctx.load_case(timer.case_id)
    if case is None or case.status != "waiting":
        return
    ctx.transition(case, "done", event="deadline_reached", actor="timer", customer_visible=False)


def _prepare(url: str, jobs: int) -> None:
    from sqlalchemy import insert

    from aftersales.store.db import make_engine
    from aftersales.store.migrate import upgrade
    from aftersales.store.models import CaseRow, Shop, Timer

    upgrade(url)
    now = datetime.now(UTC)
    later = now + timedelta(days=1)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Shop).values(id=SHOP, platform="fake", credentials={}, created_at=now))
        conn.execute(
            insert(CaseRow),
            [
                {
                    "id": f"case-{n}",
                    "shop_id": SHOP,
                    "number": f"C-2026-{n:06d}",
                    "type": "complaint",
                    "status": "waiting",
                    "source": "api",
                    "data": {},
                    "opened_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for n in range(jobs)
            ],
        )
        conn.execute(
            insert(Timer),
            [
                {
                    "id": f"case-{n}:deadline",
                    "shop_id": SHOP,
                    "case_id": f"case-{n}",
                    "kind": KIND,
                    "due_at": later,
                    "payload": {},
                    "state": "pending",
                    "created_at": now,
                    "attempts": 0,
                }
                for n in range(jobs)
            ],
        )
    engine.dispose()


def _start_workers(url: str, count: int, concurrency: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    here = Path(__file__).resolve().parent
    env = {
        **os.environ,
        "AFTERSALES_IMPORT": "engine_throughput",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(here), os.environ.get("PYTHONPATH")])),
        "AFTERSALES_SWEEP_SECONDS": "3600",  # the benchmark enqueues; the sweeper stays out of the timing
        "AFTERSALES_WORKER_CONCURRENCY": str(concurrency),
    }
    cli = Path(sys.executable).with_name("aftersales")
    processes = []
    for n in range(count):
        log = (logs / f"worker-{n}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [str(cli), "worker", "--db", url, "--executor-id", f"bench-{n}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
    return processes


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def _count(url: str, sql: str) -> int:
    from sqlalchemy import text

    from aftersales.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def _run(url: str, workers: int, jobs: int, concurrency: int) -> dict[str, Any]:
    from dbos import DBOSClient
    from sqlalchemy import text

    from aftersales.engine.durable import APP_NAME, QUEUE, Durable, system_database
    from aftersales.store.db import make_engine

    _prepare(url, jobs)
    logs = Path(tempfile.mkdtemp(prefix="engine-bench-logs-"))
    processes = _start_workers(url, workers, concurrency, logs)
    try:
        deadline = time.monotonic() + 120
        # a worker prints its banner once DBOS is launched and its queue registered
        while (
            sum("stops it" in log.read_text(errors="replace") for log in logs.glob("worker-*.log")) < workers
        ):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"workers did not start; logs in {logs}")
            time.sleep(0.2)
        time.sleep(1.0)  # the queue threads are polling
        system_url, schema = system_database(url)
        client = DBOSClient(
            system_database_url=system_url, dbos_system_schema=schema, application_name=APP_NAME
        )
        queue = client.retrieve_queue(QUEUE)
        assert queue is not None
        queue.set_worker_concurrency(0)
        time.sleep(0.5)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE timers SET due_at = :now"), {"now": datetime.now(UTC) - timedelta(seconds=1)}
            )
        engine.dispose()
        enqueue = Durable.__new__(Durable)
        enqueue.client = client
        for n in range(jobs):
            timer_id = f"case-{n}:deadline"
            enqueue.enqueue("timer", timer_id, f"timer:{timer_id}:bench")
        cpu_before = sum(_cpu_seconds(p.pid) for p in processes)
        started = time.monotonic()
        queue.set_worker_concurrency(concurrency)
        while _count(url, "SELECT count(*) FROM cases WHERE status = 'done'") < jobs:
            if time.monotonic() - started > 600 or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"the jobs did not finish; logs in {logs}")
            time.sleep(0.05)
        seconds = time.monotonic() - started
        worker_cpu = sum(_cpu_seconds(p.pid) for p in processes) - cpu_before
        client.destroy()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    shutil.rmtree(logs, ignore_errors=True)
    return {
        "workers": workers,
        "jobs": jobs,
        "seconds": round(seconds, 3),
        "jobs_per_s": round(jobs / seconds, 1),
        "worker_cpu_ms_per_job": round(1000 * worker_cpu / jobs, 2),
        "load_average": round(_load(), 1),
    }


def _postgres(base: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_dbos" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16, help="jobs each worker runs at once")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("AFTERSALES_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()

    results: dict[str, Any] = {
        "job": "timer fires, handler transitions its case (1 queue workflow + 1 transaction)"
    }
    workdir = Path(tempfile.mkdtemp(prefix="engine-bench-"))
    try:
        results["sqlite_1_worker"] = _run(f"sqlite:///{workdir / 'bench.db'}", 1, args.jobs, args.concurrency)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for workers in (1, 2):
        url, schema = _postgres(args.postgres)
        try:
            results[f"postgres_{workers}_worker{'s' if workers > 1 else ''}"] = _run(
                url, workers, args.jobs, args.concurrency
            )
        finally:
            _drop(args.postgres, schema)
    one = results["postgres_1_worker"]["jobs_per_s"]
    two = results["postgres_2_workers"]["jobs_per_s"]
    results["ratio_2_vs_1_workers"] = round(two / one, 2)
    results["ratio_postgres_vs_sqlite"] = round(one / results["sqlite_1_worker"]["jobs_per_s"], 2)
    results["target_ratio_2_vs_1"] = 1.6
    results["cpus"] = os.cpu_count()
    print(json.dumps(results, indent=2))
    print(
        f"engine: SQLite {results['sqlite_1_worker']['jobs_per_s']} jobs/s; PostgreSQL 1 worker {one} jobs/s, "
        f"2 workers {two} jobs/s (x{results['ratio_2_vs_1_workers']}, target x1.6) on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
