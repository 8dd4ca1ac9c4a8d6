"""Options and output helpers shared by the command modules."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer

from aftersales.config import resolve_db_url

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $AFTERSALES_DB, else sqlite:///./aftersales.db)."),
]


def db_url(value: str | None) -> str:
    return resolve_db_url(value)


def print_json(data: Any) -> None:
    """JSON on stdout, one object, keys in a stable order (the contract's machine-readable output)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    """A clear one-line error on stderr and a non-zero exit; never a traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
