"""Built-in plugin: the ``email`` channel (SMTP), registered like any third-party channel.

A plugin that registers its own channel named ``email`` conflicts with this one at start;
disable this module (``AFTERSALES_DISABLE_PLUGINS=aftersales.builtin.email_channel``) to
replace it, e.g. with an API-based mail provider.
"""

from __future__ import annotations

from collections.abc import Callable

from aftersales import hookimpl
from aftersales.notify.mail import EmailChannel
from aftersales.notify.message import Channel


@hookimpl
def aftersales_register_channels(register: Callable[[Channel], None]) -> None:
    register(EmailChannel())
