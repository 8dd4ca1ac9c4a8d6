"""An SMS channel for aftersales, as an example of a third-party plugin distribution.

The gateway contract is deliberately plain (most SMS providers accept something like it):
``POST {SMS_GATEWAY_URL}`` with JSON ``{"to", "text", "reference"}`` and a bearer token;
a 2xx answer with ``{"id": ...}`` means accepted. SMS has no subject or HTML, so the text
part of the rendered message is sent, shortened to the 3 concatenated segments most
carriers deliver (459 GSM characters).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx

from aftersales import hookimpl
from aftersales.notify.message import Channel, DeliveryReceipt, Message

MAX_CHARS = 459


class SmsChannel:
    name = "sms"

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url or os.environ.get("SMS_GATEWAY_URL", "")
        self.token = token or os.environ.get("SMS_GATEWAY_TOKEN", "")
        self.timeout = timeout

    def send(self, message: Message) -> DeliveryReceipt:
        if not self.url:
            raise RuntimeError("SMS_GATEWAY_URL is not set: the sms channel has nowhere to send")
        text = message.text if len(message.text) <= MAX_CHARS else message.text[: MAX_CHARS - 1] + "…"
        response = httpx.post(
            self.url,
            json={"to": message.to, "text": text, "reference": message.case_number},
            headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
            timeout=self.timeout,
        )
        if response.status_code >= 500 or response.status_code == 429:
            raise RuntimeError(f"SMS gateway busy ({response.status_code}); the outbox will retry")
        if response.status_code >= 400:
            return DeliveryReceipt(channel=self.name, accepted=False, detail=response.text[:200])
        return DeliveryReceipt(channel=self.name, accepted=True, message_id=str(response.json().get("id")))


@hookimpl
def aftersales_register_channels(register: Callable[[Channel], None]) -> None:
    register(SmsChannel())
