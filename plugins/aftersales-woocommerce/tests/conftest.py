"""Fixtures for the WooCommerce plugin tests: sample payloads, a fake shop, a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aftersales_woocommerce import RetryPolicy, WooCommerceClient
from aftersales_woocommerce.testing import FakeWooCommerce

DATA = Path(__file__).parent / "data"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01)


@pytest.fixture
def order_json() -> dict[str, Any]:
    return load("rest_v3_order_retrieve.json")


@pytest.fixture
def product_json() -> dict[str, Any]:
    return load("rest_v3_product_retrieve.json")


@pytest.fixture
def variation_json() -> dict[str, Any]:
    return load("product_variation_webhook.json")


@pytest.fixture
def fake() -> Iterator[FakeWooCommerce]:
    with FakeWooCommerce(consumer_key="ck_test", consumer_secret="cs_test") as shop:
        yield shop


@pytest.fixture
def client(fake: FakeWooCommerce) -> WooCommerceClient:
    return WooCommerceClient(fake.credentials(), retry=FAST)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP endpoint that records webhook deliveries and answers ``status``."""

    url: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.received.append(Received(dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/woocommerce/shop-1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
