"""A real uvicorn server on a free loopback port, a real SQLite file, and a small platform.

The ``acme`` platform below is a test-only adapter registered through ``load_plugins(extra=…)``:
it signs like Shopify and WooCommerce (base64 HMAC-SHA256 over the body) and has a
WooCommerce-style unsigned ping, so the ingress is exercised without depending on how a
real plugin names its headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from aftersales import hookimpl
from aftersales.domain import DomainEvent
from aftersales.platforms import (
    PlatformAdapter,
    ShopClient,
    StoreCredentials,
    WebhookEnvelope,
    header,
    hmac_sha256_base64_matches,
)
from aftersales.plugins import Plugins, load_plugins
from aftersales.store.db import make_engine, session_factory
from aftersales.store.migrate import upgrade
from aftersales.store.models import Shop
from aftersales.testing.server import LiveServer
from aftersales.web.app import create_app
from aftersales.web.settings import WebSettings

PING = re.compile(rb"^webhook_id=\d+$")


class AcmeAdapter:
    name = "acme"

    def topics(self) -> Sequence[str]:
        return ("order.updated",)

    def envelope(self, body: bytes, headers: Mapping[str, str]) -> WebhookEnvelope:
        if header(headers, "X-Acme-Signature") is None and PING.match(body.strip()):
            return WebhookEnvelope(topic=None, dedupe_key=None, is_ping=True)
        return WebhookEnvelope(
            topic=header(headers, "X-Acme-Topic"), dedupe_key=header(headers, "X-Acme-Webhook-Id")
        )

    def verify(self, body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> bool:
        return hmac_sha256_base64_matches(body, header(headers, "X-Acme-Signature"), secrets)

    def normalize(self, topic: str, payload: Any) -> DomainEvent:
        raise NotImplementedError("the web tests never normalize")

    def client(self, credentials: StoreCredentials) -> ShopClient:
        raise NotImplementedError

    def ensure_webhooks(
        self, credentials: StoreCredentials, address: str, secret: str | None
    ) -> list[dict[str, Any]]:
        raise NotImplementedError


class AcmePlugin:
    @hookimpl
    def aftersales_register_platforms(self, register: Any) -> None:
        adapter: PlatformAdapter = AcmeAdapter()
        register(adapter)


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def acme_headers(
    body: bytes, secret: str | None, webhook_id: str, topic: str = "order.updated"
) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Acme-Topic": topic, "X-Acme-Webhook-Id": webhook_id}
    if secret is not None:
        headers["X-Acme-Signature"] = sign(body, secret)
    return headers


class FixedClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class RecordingRuntime:
    """The engine's runtime as the web app sees it, recording what it was asked to enqueue."""

    sessions: sessionmaker[Session]
    plugins: Plugins
    clock: FixedClock = field(default_factory=FixedClock)
    submitted: list[int] = field(default_factory=list)

    async def submit_inbox_async(self, inbox_id: int) -> None:
        self.submitted.append(inbox_id)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head per test run; each test gets a copy (migrating is slow)."""
    path = tmp_path_factory.mktemp("template") / "aftersales.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path: Path, migrated_template: Path) -> str:
    path = tmp_path / "aftersales.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def plugins() -> Plugins:
    return load_plugins(entrypoints=False, extra=[AcmePlugin()])


@pytest.fixture
def runtime(sessions: sessionmaker[Session], plugins: Plugins) -> RecordingRuntime:
    return RecordingRuntime(sessions=sessions, plugins=plugins)


def add_shop(
    sessions: sessionmaker[Session], shop_id: str, secrets: list[str], platform: str = "acme"
) -> None:
    with sessions() as session, session.begin():
        session.add(
            Shop(
                id=shop_id,
                platform=platform,
                webhook_secrets=secrets,
                credentials={},
                created_at=datetime.now(UTC),
            )
        )


@pytest.fixture
def shops(sessions: sessionmaker[Session]) -> dict[str, str]:
    """Two shops on the same platform with different secrets (cross-shop checks need both)."""
    secrets = {"shop-a": "secret-of-shop-a-0123456789", "shop-b": "secret-of-shop-b-9876543210"}
    for shop_id, secret in secrets.items():
        add_shop(sessions, shop_id, [secret])
    return secrets


@pytest.fixture
def secret_key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AFTERSALES_SECRET_KEY_FILE", str(tmp_path / "secret-key"))
    monkeypatch.delenv("AFTERSALES_SECRET_KEY", raising=False)


@pytest.fixture
def live(runtime: RecordingRuntime, secret_key_env: None) -> Iterator[LiveServer]:
    app = create_app(runtime, settings=WebSettings(max_body_bytes=64 * 1024, db_timeout_seconds=1.0))
    with LiveServer(app) as server:
        yield server


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


class Sender:
    """Posts webhooks to the live server over a real socket."""

    def __init__(self, url: str, shops: dict[str, str]) -> None:
        self.url = url
        self.shops = shops
        self.client = httpx.Client(base_url=url, timeout=10)

    def post(
        self,
        shop: str,
        body: bytes,
        *,
        secret: str | None = None,
        webhook_id: str = "wh-1",
        platform: str = "acme",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = acme_headers(body, secret, webhook_id) if headers is None else headers
        return self.client.post(f"/webhooks/{platform}/{shop}", content=body, headers=sent)

    def signed(self, shop: str, body: bytes, webhook_id: str = "wh-1") -> httpx.Response:
        return self.post(shop, body, secret=self.shops[shop], webhook_id=webhook_id)


@pytest.fixture
def sender(live: LiveServer, shops: dict[str, str]) -> Iterator[Sender]:
    s = Sender(live.url, shops)
    yield s
    s.client.close()


class Kit:
    """The helpers above, for test modules (``--import-mode=importlib`` forbids importing conftest)."""

    sign = staticmethod(sign)
    acme_headers = staticmethod(acme_headers)
    add_shop = staticmethod(add_shop)
    wait_until = staticmethod(wait_until)
    LiveServer = LiveServer
    RecordingRuntime = RecordingRuntime


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
