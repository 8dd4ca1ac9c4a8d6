"""``aftersales webhook normalize``: see what a platform payload means to the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aftersales.cli._common import fail, print_json
from aftersales.platforms import MalformedPayload, UnknownTopic
from aftersales.plugins import PluginError, load_plugins

app = typer.Typer(help="Inspect webhook payloads.", no_args_is_help=True)


@app.command()
def normalize(
    file: Annotated[Path, typer.Argument(help="The webhook body (JSON) as the platform sent it.")],
    platform: Annotated[str, typer.Option("--platform", help="shopify | woocommerce | ...")],
    topic: Annotated[str, typer.Option("--topic", help="The webhook topic, e.g. orders/create.")],
) -> None:
    """Print the domain event for a webhook body as JSON."""
    try:
        adapter = load_plugins().platform(platform)
    except PluginError as exc:
        fail(str(exc))
    try:
        raw = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        fail(f"{file}: not valid JSON: {exc}")
    try:
        event = adapter.normalize(topic, payload)
    except UnknownTopic as exc:
        fail(f"unknown topic {topic!r} for {platform}: {exc}")
    except MalformedPayload as exc:
        fail(f"{file}: malformed {topic} payload: {exc}")
    print_json(event.model_dump(mode="json"))
