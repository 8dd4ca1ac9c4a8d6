"""``aftersales shop``, ``deliveries list`` and ``replay`` with the real WooCommerce plugin.

The deliveries come over a real socket to the live ingress; the commands run through the
Typer app against the same SQLite file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from aftersales.cli import app
from aftersales.plugins import load_plugins
from aftersales.store.models import Delivery, InboxItem, Shop
from aftersales.web.app import create_app

ORDER = (Path(__file__).parent / "data" / "rest_v3_order_retrieve.json").read_bytes()
RIGHT = "woo-webhook-secret-right"
TYPO = "woo-webhook-secret-rigth"


def wc_headers(body: bytes, secret: str, topic: str = "order.updated") -> dict[str, str]:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": "31",
        "X-WC-Webhook-Delivery-ID": "a1b2c3",
        "X-WC-Webhook-Source": "https://shop.example/",
    }


@pytest.fixture
def cli(db_url: str) -> Any:
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(app, [*args, "--db", db_url], input=stdin)

    return run


@pytest.fixture
def woo_live(kit: Any, sessions: sessionmaker[Session], secret_key_env: None) -> Iterator[Any]:
    runtime = kit.RecordingRuntime(sessions=sessions, plugins=load_plugins())
    with kit.LiveServer(create_app(runtime)) as server:
        server.runtime = runtime
        yield server


def test_shop_add_stores_secrets_and_credentials_and_list_never_shows_them(
    cli: Any, sessions: sessionmaker[Session]
) -> None:
    added = cli(
        "shop", "add", "woo-1", "--platform", "woocommerce", "--webhook-secret", RIGHT,
        "--url", "https://shop.example", "--key", "ck_123", "--secret", "cs_456",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "/webhooks/woocommerce/woo-1" in added.output

    listed = cli("shop", "list", "--json")
    assert listed.exit_code == 0
    [shop] = json.loads(listed.stdout)
    assert shop["id"] == "woo-1" and shop["platform"] == "woocommerce"
    assert shop["webhook_secrets"] == 1
    assert shop["credentials"] == ["key", "secret", "url"]
    for output in (added.output, listed.output, cli("shop", "list").output):
        assert RIGHT not in output and "cs_456" not in output and "ck_123" not in output
    with sessions() as session:
        row = session.get(Shop, "woo-1")
        assert row is not None
        assert row.webhook_secrets == [RIGHT]
        assert row.credentials == {"url": "https://shop.example", "key": "ck_123", "secret": "cs_456"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--platform", "magento", "--webhook-secret", RIGHT], "no platform plugin named 'magento'"),
        (["--platform", "woocommerce", "--webhook-secret", "short"], "at least 8 characters"),
    ],
)
def test_shop_add_refuses_an_unknown_platform_or_a_weak_secret(
    cli: Any, args: list[str], message: str
) -> None:
    result = cli("shop", "add", "woo-2", *args)
    assert result.exit_code == 1
    assert message in result.output


def test_shop_add_refuses_an_id_that_cannot_be_a_url_segment_and_a_second_registration(cli: Any) -> None:
    assert cli("shop", "add", "a/b", "--platform", "woocommerce", "--webhook-secret", RIGHT).exit_code == 1
    assert cli("shop", "add", "w", "--platform", "woocommerce", "--webhook-secret", RIGHT).exit_code == 0
    again = cli("shop", "add", "w", "--platform", "woocommerce", "--webhook-secret", RIGHT)
    assert again.exit_code == 1 and "already registered" in again.output


def test_rotate_secret_keeps_the_old_one_until_retired_and_reads_stdin(
    cli: Any, sessions: sessionmaker[Session]
) -> None:
    cli("shop", "add", "w", "--platform", "woocommerce", "--webhook-secret", "old-secret-123")
    assert cli("shop", "rotate-secret", "w", "--secret", "-", stdin="new-secret-456\n").exit_code == 0
    with sessions() as session:
        assert session.get(Shop, "w").webhook_secrets == ["new-secret-456", "old-secret-123"]  # type: ignore[union-attr]
    assert cli("shop", "rotate-secret", "w", "--secret", "new-secret-456", "--retire-old").exit_code == 0
    with sessions() as session:
        assert session.get(Shop, "w").webhook_secrets == ["new-secret-456"]  # type: ignore[union-attr]


def test_a_delivery_refused_for_a_mistyped_secret_is_recorded_by_replay_after_the_fix(
    cli: Any, woo_live: Any, sessions: sessionmaker[Session]
) -> None:
    # the merchant registered the shop with a typo; WooCommerce signs with the right secret
    assert cli("shop", "add", "woo", "--platform", "woocommerce", "--webhook-secret", TYPO).exit_code == 0
    response = httpx.post(
        f"{woo_live.url}/webhooks/woocommerce/woo", content=ORDER, headers=wc_headers(ORDER, RIGHT)
    )
    assert response.status_code == 401

    listed = cli("deliveries", "list", "--json", "--shop", "woo", "--outcome", "bad_signature")
    [delivery] = json.loads(listed.stdout)
    assert delivery["headers"]["x-wc-webhook-signature"] == "[redacted]"
    assert wc_headers(ORDER, RIGHT)["X-WC-Webhook-Signature"] not in listed.stdout

    still_wrong = cli("replay", str(delivery["id"]))
    assert still_wrong.exit_code == 1
    assert "does not match" in still_wrong.output

    assert cli("shop", "rotate-secret", "woo", "--secret", RIGHT, "--retire-old").exit_code == 0
    fixed = cli("replay", str(delivery["id"]))
    assert fixed.exit_code == 0, fixed.output
    assert "recorded" in fixed.output
    with sessions() as session:
        [item] = session.scalars(select(InboxItem)).all()
        assert (item.source, item.topic, item.body, item.state) == (
            "replay",
            "order.updated",
            ORDER,
            "pending",
        )
        assert session.get(Delivery, delivery["id"]).inbox_id == item.id  # type: ignore[union-attr]

    # WooCommerce's next real send of the same change is now a duplicate, not a second event
    resent = httpx.post(
        f"{woo_live.url}/webhooks/woocommerce/woo", content=ORDER, headers=wc_headers(ORDER, RIGHT)
    )
    assert resent.status_code == 200 and resent.json()["status"] == "already received"


def test_replay_of_an_accepted_delivery_puts_its_inbox_row_back_to_pending(
    cli: Any, woo_live: Any, sessions: sessionmaker[Session]
) -> None:
    cli("shop", "add", "woo", "--platform", "woocommerce", "--webhook-secret", RIGHT)
    accepted = httpx.post(
        f"{woo_live.url}/webhooks/woocommerce/woo", content=ORDER, headers=wc_headers(ORDER, RIGHT)
    )
    assert accepted.status_code == 200
    with sessions() as session, session.begin():
        item = session.scalars(select(InboxItem)).one()
        item.state, item.error = "failed", "a bug since fixed"

    result = cli("replay", str(accepted.json()["delivery_id"]))
    assert result.exit_code == 0, result.output
    assert "requeued" in result.output and "failed back to pending" in result.output
    with sessions() as session:
        item = session.scalars(select(InboxItem)).one()
        assert (item.state, item.error) == ("pending", None)


def test_the_woocommerce_activation_ping_is_answered_200(cli: Any, woo_live: Any) -> None:
    cli("shop", "add", "woo", "--platform", "woocommerce", "--webhook-secret", RIGHT)
    ping = httpx.post(
        f"{woo_live.url}/webhooks/woocommerce/woo",
        content=b"webhook_id=31",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ping.status_code == 200
    assert cli("replay", "1").exit_code == 1, "a ping carries nothing to replay"


def test_replay_of_an_unknown_delivery_fails_clearly(cli: Any) -> None:
    result = cli("replay", "999")
    assert result.exit_code == 1 and "no delivery 999" in result.output


def test_shop_add_keeps_a_valid_policy_and_refuses_one_that_undercuts_the_law(
    cli: Any, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    good = Path(__file__).parent / "data" / "pl-shop.yaml"
    added = cli(
        "shop", "add", "pl", "--platform", "woocommerce", "--webhook-secret", RIGHT, "--policy", str(good)
    )
    assert added.exit_code == 0, added.output
    with sessions() as session:
        shop = session.get(Shop, "pl")
        assert shop is not None and shop.policy_yaml == good.read_text(encoding="utf-8")
        assert shop.policy_path == str(good.resolve())

    bad = tmp_path / "short-window.yaml"
    bad.write_text(
        "shop: {name: X, jurisdiction: PL, currency: PLN, timezone: Europe/Warsaw}\nreturns:\n  window_days: 7\n"
    )
    refused = cli(
        "shop", "add", "bad", "--platform", "woocommerce", "--webhook-secret", RIGHT, "--policy", str(bad)
    )
    assert refused.exit_code == 1
    assert f"{bad}:3:" in refused.output, refused.output
    with sessions() as session:
        assert session.get(Shop, "bad") is None
