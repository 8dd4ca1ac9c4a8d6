"""From a template and a context to a :class:`Message` ready for the outbox.

This is what ``ctx.notify`` needs in one call: render (:func:`render_message`), address the
message from the shop's policy (``notifications.from_address`` / ``reply_to``; the Reply-To
gives the customer a durable channel for answers), and let plugins edit it through the
``aftersales_notification_render`` observer hook before it is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aftersales.notify.message import Message
from aftersales.notify.render import render_message
from aftersales.plugins import Plugins


def sender_headers(policy: Any) -> dict[str, str]:
    """``From`` and ``Reply-To`` from a policy's ``notifications`` section, when set."""
    notifications = getattr(policy, "notifications", None)
    headers: dict[str, str] = {}
    from_address = getattr(notifications, "from_address", None)
    reply_to = getattr(notifications, "reply_to", None)
    if from_address:
        headers["From"] = str(from_address)
    if reply_to:
        headers["Reply-To"] = str(reply_to)
    return headers


def compose_message(
    *,
    shop_id: str,
    template: str,
    to: str,
    locale: str,
    context: Mapping[str, Any],
    channel: str = "email",
    policy: Any = None,
    plugins: Plugins | None = None,
) -> Message:
    """Render and address one message; plugins see it (and may edit it) last."""
    full = dict(context)
    shop = getattr(policy, "shop", None)
    if shop is not None:
        full.setdefault("shop_name", getattr(shop, "name", "") or "")
        full.setdefault("timezone", getattr(shop, "timezone", None) or "Europe/Warsaw")
    subject, text, html = render_message(template, locale, full)
    case = full.get("case")
    case_number = full.get("case_number") or (getattr(case, "number", None) if case is not None else None)
    message = Message(
        shop_id=shop_id,
        channel=channel,
        to=to,
        template=template,
        locale=locale,
        subject=subject,
        text=text,
        html=html,
        headers=sender_headers(policy) if channel == "email" else {},
        case_number=str(case_number) if case_number else None,
    )
    if plugins is not None:
        plugins.notification_render(message)
    return message
