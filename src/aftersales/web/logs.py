"""Structured logs (structlog): key=value on a terminal, one JSON object per line in production.

``AFTERSALES_LOG_FORMAT=json`` switches to JSON (what log shippers want). Nothing logged by the
web service carries a secret, a signature or a body: the callers pass ids, outcomes and
timings only, and :func:`drop_secrets` is a last net for a field named like a secret.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from aftersales.web.deliverylog import REDACTED, is_sensitive_header

LOG_FORMAT_ENV = "AFTERSALES_LOG_FORMAT"


def drop_secrets(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace the value of any field whose name looks like a secret (``secret``, ``token``...)."""
    for key in list(event):
        if key != "event" and is_sensitive_header(key):
            event[key] = REDACTED
    return event


def configure_logging(
    fmt: str | None = None, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Configure structlog for the process (idempotent; the last call wins)."""
    fmt = (fmt or os.environ.get(LOG_FORMAT_ENV) or "console").lower()
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
