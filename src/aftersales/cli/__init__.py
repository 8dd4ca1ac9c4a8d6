"""The ``aftersales`` command. Each command group lives in its own module beside this one.

The names, arguments and JSON outputs listed in DESIGN §13 are a stable contract.
"""

from __future__ import annotations

import sys

import typer

from aftersales import __version__
from aftersales.cli import (
    cases,
    db,
    deliveries,
    demo,
    guarantee,
    law,
    mail,
    plugins_cmd,
    policy,
    refund,
    restock,
    serve,
    setup,
    shop,
    webhook,
)

app = typer.Typer(
    name="aftersales",
    help="After-sales automation: withdrawals, returns, complaints, shipping guarantees, back-in-stock.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """After-sales automation for online shops."""


app.command("plugins")(plugins_cmd.plugins)
app.add_typer(webhook.app, name="webhook")
# Each module adds its own commands; one line each keeps parallel work out of each other's way.
for _module in (
    policy,
    law,
    guarantee,
    refund,
    shop,
    serve,
    db,
    cases,
    deliveries,
    mail,
    demo,
    setup,
    restock,
):
    _module.register(app)


def main() -> None:
    """Entry point: run the app and turn unexpected errors into one clear line (exit 1)."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # last line of defence: no traceback to the user
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
