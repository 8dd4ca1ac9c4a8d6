"""``aftersales plugins``: what is loaded, from which distribution, implementing which hooks."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aftersales.cli._common import print_json
from aftersales.plugins import load_plugins


def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List loaded plugins, their distribution versions and the hooks they implement."""
    loaded = load_plugins()
    rows = loaded.info()
    platforms = sorted(loaded.platforms())
    channels = sorted(loaded.channels())
    if as_json:
        print_json(
            {
                "plugins": [
                    {
                        "name": r.name,
                        "distribution": r.distribution,
                        "version": r.version,
                        "hooks": list(r.hooks),
                    }
                    for r in rows
                ],
                "platforms": platforms,
                "channels": channels,
            }
        )
        return
    table = Table(title="aftersales plugins")
    table.add_column("plugin")
    table.add_column("distribution")
    table.add_column("version")
    table.add_column("hooks")
    for r in rows:
        table.add_row(r.name, r.distribution or "-", r.version or "-", "\n".join(r.hooks))
    console = Console(width=140)
    console.print(table)
    console.print(f"platforms: {', '.join(platforms) or 'none'}")
    console.print(f"channels: {', '.join(channels) or 'none'}")
