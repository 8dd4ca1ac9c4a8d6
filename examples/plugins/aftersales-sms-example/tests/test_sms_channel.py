"""The example plugin loads through its entry point and delivers to a real HTTP gateway."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from aftersales.notify.message import Message
from aftersales.plugins import load_plugins
from aftersales_sms_example import SmsChannel


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["auth"] = self.headers.get("Authorization")
        _Gateway.received.append(body)
        self.send_response(_Gateway.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "sms-1"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    _Gateway.received = []
    _Gateway.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send"
    server.shutdown()
    server.server_close()


def test_the_channel_is_registered_through_the_entry_point() -> None:
    assert "sms" in load_plugins().channels()


def test_a_message_reaches_the_gateway_with_the_token(gateway: str) -> None:
    channel = SmsChannel(url=gateway, token="t0ken")
    message = Message(
        shop_id="s", channel="sms", to="+48600100200", template="refund_sent", text="Zwrot wysłany"
    )
    receipt = channel.send(message)
    assert receipt.accepted
    assert receipt.message_id == "sms-1"
    assert _Gateway.received == [
        {"to": "+48600100200", "text": "Zwrot wysłany", "reference": None, "auth": "Bearer t0ken"}
    ]


def test_a_busy_gateway_raises_so_the_outbox_retries(gateway: str) -> None:
    _Gateway.status = 503
    with pytest.raises(RuntimeError, match="will retry"):
        SmsChannel(url=gateway).send(Message(shop_id="s", to="+48600100200", template="t", text="x"))


def test_long_texts_are_cut_to_three_segments(gateway: str) -> None:
    SmsChannel(url=gateway).send(Message(shop_id="s", to="+48600100200", template="t", text="a" * 1000))
    assert len(str(_Gateway.received[0]["text"])) == 459
