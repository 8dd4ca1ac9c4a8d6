"""Messages to customers and merchants, and the channel contract that delivers them."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    """A rendered message, ready for a channel. Plugins may edit it in ``aftersales_notification_render``."""

    model_config = ConfigDict(validate_assignment=True)

    shop_id: str
    channel: str = "email"
    to: str
    template: str
    """Template/event name, e.g. ``withdrawal_receipt``."""
    locale: str = "pl"
    subject: str = ""
    text: str = ""
    html: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    case_number: str | None = None


class DeliveryReceipt(BaseModel):
    """Proof that a channel handed the message over (e.g. the SMTP server accepted it).

    The complaint clock stops when the answer reaches the consumer; this is the record of that.
    """

    model_config = ConfigDict(frozen=True)

    channel: str
    accepted: bool
    detail: str = ""
    message_id: str | None = None


@runtime_checkable
class Channel(Protocol):
    name: str

    def send(self, message: Message) -> DeliveryReceipt:
        """Deliver ``message``; raise on a failure worth retrying (the outbox retries with backoff)."""
        ...
