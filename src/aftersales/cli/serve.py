"""``aftersales serve`` (web + worker in one process) and ``aftersales worker`` (scale-out).

Embedded mode is one command on one SQLite file: ``aftersales serve`` migrates, starts the
engine's worker (DBOS queue, sweeper) and the ASGI app in the same process. Scale-out is the
same code on PostgreSQL: any number of ``aftersales worker`` processes on any number of
machines, plus web processes (``aftersales serve`` also works, each one is a worker too).

Every worker needs a unique, stable executor id: ``--executor-id`` (or
``$AFTERSALES_EXECUTOR_ID``), else the first free ``<host>-<n>``. A database that is down at
start is one line on stderr and exit status 2 within the connect timeout, never a hang.

``AFTERSALES_IMPORT=module,module`` (or ``--import``) imports modules at start: the way a
plugin or a test adds workflow handlers to a worker without changing the package.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import datetime
from types import FrameType
from typing import Annotated, Any

import typer

from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.config import DB_ENV
from aftersales.engine._info import UnknownShop
from aftersales.engine.executors import ExecutorIdInUse
from aftersales.engine.runtime import IMPORT_ENV, Runtime
from aftersales.engine.settings import EngineSettings
from aftersales.plugins import PluginError
from aftersales.store.db import DatabaseUnavailable, redact

ExecutorOption = Annotated[
    str | None,
    typer.Option("--executor-id", help="Stable id of this worker (default: the first free <host>-<n>)."),
]
ImportOption = Annotated[
    list[str] | None,
    typer.Option("--import", help=f"Import this module at start (handlers); repeatable; also ${IMPORT_ENV}."),
]

EXIT_DATABASE = 2
EXIT_ID_LOST = 3


def _launch(runtime: Runtime) -> None:
    try:
        runtime.launch()
    except DatabaseUnavailable as exc:
        fail(str(exc), EXIT_DATABASE)
    except ExecutorIdInUse as exc:
        fail(str(exc))
    except PluginError as exc:
        fail(f"plugins: {exc}")
    _arm_reconciliation(runtime)


RECONCILE_ENV = "AFTERSALES_RECONCILE_MINUTES"


def _arm_reconciliation(runtime: Runtime) -> None:
    """Arm the periodic order reconciliation of every shop with credentials (idempotent).

    ``AFTERSALES_RECONCILE_MINUTES`` sets the interval (default 15); ``0`` turns it off.
    """
    minutes = float(os.environ.get(RECONCILE_ENV, "15") or 0)
    if minutes <= 0:
        return
    for shop_id in runtime.shops_with_credentials():
        runtime.execute_command("orders.arm_reconciliation", shop_id, interval_seconds=minutes * 60)


def reconcile(
    shop: Annotated[str, typer.Option("--shop", help="The shop to reconcile.")],
    since: Annotated[
        str | None, typer.Option("--since", help="ISO datetime with offset (default: the last sync).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Poll the shop for orders changed since the last sync and queue what webhooks missed."""
    if since is not None:
        try:
            parsed = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not an ISO datetime")
        if parsed.tzinfo is None:
            fail("--since needs a time zone offset, e.g. 2026-11-23T10:00:00+01:00")
    runtime = Runtime(db_url(db))
    try:
        runtime.launch(worker=False)
    except DatabaseUnavailable as exc:
        fail(str(exc), EXIT_DATABASE)
    try:
        print_json(runtime.execute_command("orders.reconcile", shop, since=since))
    except UnknownShop as exc:
        fail(str(exc))
    finally:
        runtime.shutdown()


def worker(
    db: DbOption = None,
    executor_id: ExecutorOption = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, help="Jobs run at once.")] = None,
    imports: ImportOption = None,
) -> None:
    """Run an engine worker: webhooks, timers, effects and messages from the shared database."""
    url = db_url(db)
    runtime = Runtime(
        url,
        executor_id=executor_id,
        settings=EngineSettings.from_env(concurrency=concurrency),
        imports=imports or (),
    )
    _launch(runtime)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    typer.echo(
        f"worker {runtime.executor_id} on {redact(url)} (concurrency {runtime.settings.concurrency}); "
        "SIGTERM or Ctrl-C stops it",
        err=True,
    )
    lost = False
    try:
        while not stop.is_set():
            if runtime.wait_stopped(timeout=0.5):
                lost = True
                break
    finally:
        runtime.shutdown()
    if lost:
        fail(f"executor id {runtime.executor_id} was claimed by another process; stopped", EXIT_ID_LOST)


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes, each web + worker.")] = 1,
    executor_id: ExecutorOption = None,
    imports: ImportOption = None,
) -> None:
    """Run the web service and the engine worker in one process (embedded mode)."""
    import uvicorn

    url = db_url(db)
    if workers > 1:
        # each process builds its own runtime (one DBOS per process) through app_from_env
        os.environ[DB_ENV] = url
        if imports:
            os.environ[IMPORT_ENV] = ",".join(
                [*imports, *filter(None, os.environ.get(IMPORT_ENV, "").split(","))]
            )
        _check_database(url)
        uvicorn.run(
            "aftersales.cli.serve:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )
        return
    from aftersales.web.app import create_app

    runtime = Runtime(url, executor_id=executor_id, imports=imports or ())
    _launch(runtime)
    typer.echo(
        f"serving on http://{host}:{port} with worker {runtime.executor_id} on {redact(url)}", err=True
    )
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again for the previous
    # handler: make that a clean exit (status 0) that still runs the finally below
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        app = _ShutdownRuntime(create_app(runtime), runtime)
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info")).run()
    finally:
        runtime.shutdown()


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def _check_database(url: str) -> None:
    from aftersales.store.db import check_connection, make_engine

    engine = make_engine(url)
    try:
        check_connection(engine)
    except DatabaseUnavailable as exc:
        fail(str(exc), EXIT_DATABASE)
    finally:
        engine.dispose()


class _ShutdownRuntime:
    """ASGI wrapper that shuts the process's runtime down with the server (lifespan shutdown)."""

    def __init__(self, app: Any, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                import asyncio

                await asyncio.to_thread(self.runtime.shutdown)
            await send(message)

        await self.app(scope, receive, send_wrapper)


def app_from_env() -> Any:
    """The ASGI app of one ``serve --workers N`` process: its own runtime, launched here."""
    from aftersales.web.app import create_app

    runtime = Runtime(os.environ.get(DB_ENV) or db_url(None))
    runtime.launch()
    return _ShutdownRuntime(create_app(runtime), runtime)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("reconcile")(reconcile)
