"""The complaints mailbox as an SMTP server: every message received becomes (or joins) a case.

A shop points its complaints address (``reklamacje@sklep.pl``) at this listener, directly
or through its mail server's forwarding. aiosmtpd speaks SMTP; the handler feeds the raw
message to the same intake as ``aftersales mail ingest`` (the ``complaints.ingest_email``
command) and answers the sending server only after the case is committed:

- ``250`` — recorded (a new case, a reply threaded onto one, or a duplicate of either);
- ``451`` — the database or the engine failed: the sending server keeps the message and
  retries later, so nothing is lost and the Message-ID dedupes the retry;
- ``550`` — the message cannot be a complaint (no sender address to answer).

The acknowledgement e-mail is written to the outbox in the same transaction and sent by the
engine's worker (``aftersales serve``, or ``mail listen --worker``). Why the complaint's
receipt is the moment the listener accepted it: the statutory clock starts when the complaint
reaches the trader's mailbox (art. 61 k.c.), and this listener *is* that mailbox.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Any

import structlog
from aiosmtpd.controller import Controller

from aftersales.workflows.complaints.flow import ComplaintError

log = structlog.get_logger("aftersales.workflows.complaints.listener")

Ingest = Callable[[bytes], dict[str, Any]]
"""Records one raw message; returns the command's answer (``case_number``, ``created``...)."""

DATA_SIZE_LIMIT = 80 * 1024 * 1024
"""Five 10 MiB photos in base64 fit; larger messages are refused by the SMTP server itself."""


class ComplaintMailHandler:
    """aiosmtpd handler: one ``ingest`` call per message, answered after it committed."""

    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest
        self.results: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            result = await asyncio.to_thread(self.ingest, bytes(raw))
        except ComplaintError as exc:
            log.warning("complaint_mail_refused", error=str(exc))
            return f"550 5.6.0 {_one_line(str(exc))}"
        except Exception as exc:  # the sender retries: nothing is lost
            log.error("complaint_mail_failed", error=f"{type(exc).__name__}: {exc}")
            return "451 4.3.0 temporary failure, try again later"
        self.results.append(result)
        number = result.get("case_number")
        return f"250 2.0.0 recorded{f' as {number}' if number else ''}"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ComplaintMailListener:
    """``with ComplaintMailListener(ingest, port=2525) as listener: ...`` — a started SMTP server."""

    def __init__(self, ingest: Ingest, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.handler = ComplaintMailHandler(ingest)
        self._controller = Controller(
            self.handler, hostname=host, port=self.port, data_size_limit=DATA_SIZE_LIMIT
        )

    def start(self) -> ComplaintMailListener:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> ComplaintMailListener:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
