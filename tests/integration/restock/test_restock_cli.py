"""``aftersales restock report|export|erase|expire`` against a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from aftersales.cli import app
from aftersales.domain import StockLevel
from aftersales.notify.compose import compose_message
from aftersales.store.db import make_engine, session_factory
from aftersales.store.migrate import upgrade
from aftersales.store.models import Shop
from aftersales.workflows.restock import (
    RestockRules,
    RestockTokens,
    Source,
    WavePorts,
    confirm,
    observe_stock,
    run_wave,
    subscribe,
)

T0 = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)
"""Long before the commands run: `expire` uses the real clock, so these are stale by then."""
RULES = RestockRules(public_url="https://alerts.example", quiet_hours=None)


def _shop_with_alerts(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    tokens = RestockTokens("cli-secret")
    with session_factory(engine).begin() as s:
        s.add(Shop(id="sklep", platform="woocommerce", webhook_secrets=[], credentials={}, created_at=T0))
        out = StockLevel(product_id="P1", variant_id="V1", available=0, in_stock=False)
        observe_stock(s, "sklep", out, source=Source.WEBHOOK, now=T0, rules=RULES, name="Kubek")
        for i, email in enumerate(["a@example.pl", "b@example.pl", "c@example.pl"]):
            at = T0 + timedelta(minutes=i)
            mail = subscribe(
                s, "sklep", "V1", email, "203.0.113.1", "pl", "v1", at, RULES, tokens
            ).confirmation
            assert mail is not None
            confirm(s, mail.token, "203.0.113.1", at, RULES, tokens)
        subscribe(s, "sklep", "V1", "pending@example.pl", "203.0.113.2", "pl", "v1", T0, RULES, tokens)
        back = StockLevel(product_id="P1", variant_id="V1", available=0 + 1, in_stock=True)
        episode = observe_stock(
            s, "sklep", back, source=Source.WEBHOOK, now=T0 + timedelta(hours=1), rules=RULES
        )
        assert episode.opened is not None

        def render(*, to: str, locale: str, context: dict[str, object]) -> object:
            return compose_message(
                shop_id="sklep", template="restock_alert", to=to, locale=locale, context=context
            )

        ports = WavePorts(render=render, schedule=lambda *a: None, tokens=tokens)  # type: ignore[arg-type]
        run_wave(
            s, episode.opened, 1, T0 + timedelta(hours=1), RestockRules(per_unit=2, quiet_hours=None), ports
        )
    engine.dispose()


def test_report_export_erase_and_expire(sqlite_url: str) -> None:
    _shop_with_alerts(sqlite_url)
    runner = CliRunner()

    report = runner.invoke(app, ["restock", "report", "--json", "--db", sqlite_url])
    assert report.exit_code == 0, report.output
    (row,) = json.loads(report.stdout)["variants"]
    assert (row["variant_id"], row["name"], row["state"]) == ("V1", "Kubek", "open")
    assert (row["waiting"], row["pending"], row["queued"], row["episodes"]) == (1, 1, 2, 1)
    table = runner.invoke(app, ["restock", "report", "--shop", "sklep", "--db", sqlite_url])
    assert table.exit_code == 0 and "Kubek" in table.stdout

    export = runner.invoke(app, ["restock", "export", "A@Example.pl", "--shop", "sklep", "--db", sqlite_url])
    data = json.loads(export.stdout)
    assert data["email"] == "a@example.pl" and len(data["subscriptions"]) == 1 and len(data["messages"]) == 1

    refused = runner.invoke(app, ["restock", "erase", "a@example.pl", "--shop", "sklep", "--db", sqlite_url])
    assert refused.exit_code == 1 and "--yes" in refused.output
    erased = runner.invoke(
        app, ["restock", "erase", "a@example.pl", "--shop", "sklep", "--yes", "--db", sqlite_url]
    )
    assert json.loads(erased.stdout) == {
        "subscriptions": 1,
        "messages_anonymized": 1,
        "conversions_anonymized": 0,
        "emails_deleted": 1,
    }
    again = json.loads(
        runner.invoke(
            app, ["restock", "export", "a@example.pl", "--shop", "sklep", "--db", sqlite_url]
        ).stdout
    )
    assert again["subscriptions"] == [] and again["emails"] == []

    expired = runner.invoke(app, ["restock", "expire", "--db", sqlite_url])
    assert expired.exit_code == 0, expired.output
    assert json.loads(expired.stdout) == {"sklep": {"unconfirmed": 1, "stale": 1}}

    unknown = runner.invoke(app, ["restock", "expire", "--shop", "nope", "--db", sqlite_url])
    assert unknown.exit_code == 1 and "no shop 'nope'" in unknown.output
