"""``aftersales policy check FILE...`` and ``aftersales policy schema``.

Contract (DESIGN §13): ``check`` prints ``FILE: ok`` per valid file (warnings above it) and
``FILE:LINE:COL: message`` per problem, all on stdout so editors and CI can parse one
stream; exit 0 when every file is valid, 1 when any is not. ``schema`` prints the JSON
Schema that editors use to autocomplete the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aftersales.cli._common import fail, print_json
from aftersales.policy import PolicyError, check_policy_file, policy_json_schema

app = typer.Typer(help="Check a shop policy file or print its JSON Schema.", no_args_is_help=True)


@app.command()
def check(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Policy YAML files to validate.", show_default=False)
    ] = None,
) -> None:
    """Validate policy files: FILE:LINE:COL for every problem, exit 1 if any file is invalid."""
    if not files:
        fail(
            "policy check needs at least one FILE (e.g. aftersales policy check examples/policies/pl-shop.yaml)"
        )
    invalid = 0
    for path in files:
        try:
            result = check_policy_file(path)
        except PolicyError as exc:
            invalid += 1
            for problem in exc.problems:
                typer.echo(str(problem))
            continue
        for warning in result.warnings:
            typer.echo(str(warning))
        typer.echo(f"{path}: ok")
    if invalid:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the policy file's JSON Schema (draft 2020-12) on stdout."""
    print_json(policy_json_schema())


def register(root: typer.Typer) -> None:
    """Add ``aftersales policy ...`` to the root app."""
    root.add_typer(app, name="policy")
