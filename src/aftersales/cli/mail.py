"""``aftersales mail``: complaints by e-mail.

- ``aftersales mail ingest --shop ID [--db URL] < MESSAGE.eml`` (stable contract, DESIGN §13):
  records one RFC 822 message and prints ``{"case_number": ..., "created": true|false}``. The
  same message (same Message-ID) twice yields the same case and ``created: false``; a reply
  whose subject quotes a case number is threaded onto that case (``created: false``); a
  complaint whose order cannot be found still opens a case, which asks for the order number.
- ``aftersales mail listen --shop ID --port N [--worker]``: an SMTP server whose every message
  goes through the same intake (see :mod:`aftersales.workflows.complaints.listener`).

Both write the acknowledgement to the outbox; the engine's worker sends it (``aftersales
serve``, or ``listen --worker``). ``ingest`` does not run the engine: a command that files
one e-mail must not also pay refunds that happen to be due.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Annotated, Any, TextIO, cast

import structlog
import typer

from aftersales.cli._common import DbOption, db_url, fail, print_json
from aftersales.engine.api import UnknownShop
from aftersales.engine.runtime import Runtime
from aftersales.plugins import PluginError
from aftersales.store.db import DatabaseUnavailable
from aftersales.web.logs import configure_logging
from aftersales.workflows.complaints.flow import ComplaintError

app = typer.Typer(
    help="Complaints by e-mail: ingest a message, or listen for them over SMTP.", no_args_is_help=True
)

INGEST = "complaints.ingest_email"
EXIT_DATABASE = 2

ShopOption = Annotated[str, typer.Option("--shop", help="The shop the complaints mailbox belongs to.")]


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is logged (a test runner swaps it per command)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """Logs go to stderr while the command runs: standard output carries only the JSON answer."""
    before = structlog.get_config()
    configure_logging(level=logging.WARNING, stream=cast(TextIO, _Stderr()))
    try:
        yield
    finally:
        structlog.configure(**before)


def _runtime(url: str, *, worker: bool) -> Runtime:
    runtime = Runtime(url)
    try:
        runtime.launch(worker=worker)
    except DatabaseUnavailable as exc:
        fail(str(exc), EXIT_DATABASE)
    except PluginError as exc:
        fail(f"plugins: {exc}")
    return runtime


def _received(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--received-at {value!r} is not an ISO date-time (e.g. 2026-05-04T10:00:00+02:00)")
    if moment.tzinfo is None:
        fail("--received-at needs a UTC offset (e.g. 2026-05-04T10:00:00+02:00)")
    return moment


@app.command("ingest")
def ingest(
    shop: ShopOption,
    db: DbOption = None,
    received_at: Annotated[
        str | None,
        typer.Option(
            "--received-at",
            help="When the message reached the mailbox, if earlier than now (the legal clock starts then).",
        ),
    ] = None,
) -> None:
    """Record one e-mail (RFC 822 on standard input) as a complaint or a reply; print JSON."""
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        fail("no message on standard input (aftersales mail ingest --shop ID < MESSAGE.eml)")
    moment = _received(received_at)
    payload: dict[str, Any] = {"raw": raw}
    if moment is not None:
        payload["received_at"] = moment
    with _logs_to_stderr():
        runtime = _runtime(db_url(db), worker=False)
        try:
            result = runtime.execute_command(INGEST, shop, **payload)
        except (UnknownShop, ComplaintError) as exc:
            fail(str(exc))
        finally:
            runtime.shutdown()
    print_json({"case_number": result.get("case_number"), "created": bool(result.get("created"))})


@app.command("listen")
def listen(
    shop: ShopOption,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 2525,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    db: DbOption = None,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Also run an engine worker (sends acknowledgements).")
    ] = False,
) -> None:
    """Receive complaints over SMTP until interrupted; each message becomes (or joins) a case."""
    from aftersales.workflows.complaints.listener import ComplaintMailListener

    configure_logging(level=logging.INFO)
    runtime = _runtime(db_url(db), worker=worker)

    def record(raw: bytes) -> dict[str, Any]:
        return runtime.execute_command(INGEST, shop, raw=raw)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        with ComplaintMailListener(record, host=host, port=port) as listener:
            typer.echo(
                f"listening for complaints to shop {shop} on smtp://{listener.host}:{listener.port}", err=True
            )
            stop.wait()
    finally:
        runtime.shutdown()


def register(root: typer.Typer) -> None:
    """Add ``aftersales mail ...`` to the root app."""
    root.add_typer(app, name="mail")
