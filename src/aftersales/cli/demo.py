"""``aftersales demo``: the product end to end on embedded SQLite with fake shops (DESIGN §13).

Only the command-line wiring lives here; the demo itself is :mod:`aftersales.demo`.
"""

from __future__ import annotations

import gc
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where to keep the database, log and e-mails (default: a new temporary directory)."
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--start",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
            help="Start the engine clock here instead of now, e.g. 2026-12-24T21:30+01:00 (deadlines, holidays).",
        ),
    ] = None,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the service and the fake shops up until Ctrl-C.")
    ] = False,
) -> None:
    """Run the six after-sales scenarios end to end and print what the system did (exit 1 if any failed)."""
    from aftersales.demo import run_demo

    code = run_demo(directory, start=start, keep_running=keep_running)
    # Everything is stopped and flushed. The interpreter's final garbage collection would
    # still walk every object the run created (the fake Shopify's schema alone is huge),
    # which takes seconds on a busy machine for memory the OS reclaims anyway.
    gc.freeze()
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``aftersales demo`` to the root app."""
    app.command("demo")(demo)
