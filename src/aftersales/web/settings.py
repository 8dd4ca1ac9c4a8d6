"""Settings of the web service, read from the environment once per app.

Defaults suit the embedded mode (one process, SQLite). Each value has an environment
variable so an operator can tune a deployment without code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MAX_BODY = 1024 * 1024
"""1 MiB: far above any Shopify/WooCommerce order payload, small enough to refuse abuse cheaply."""

DEFAULT_DB_TIMEOUT = 4.0
"""Seconds the ingress waits for its database write before answering 503.

Shopify gives up after 5 s; answering 503 before that lets the platform retry instead of
counting a timeout. A write that still lands after we gave up is harmless: the retry hits
the inbox's UNIQUE dedupe key and is acknowledged as a duplicate.
"""


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class WebSettings:
    max_body_bytes: int = DEFAULT_MAX_BODY
    """Webhook bodies above this are answered 413 (``AFTERSALES_MAX_BODY_BYTES``)."""
    db_timeout_seconds: float = DEFAULT_DB_TIMEOUT
    """How long a webhook waits for the database before 503 (``AFTERSALES_INGEST_DB_TIMEOUT``)."""

    @classmethod
    def from_env(cls) -> WebSettings:
        return cls(
            max_body_bytes=int(_float("AFTERSALES_MAX_BODY_BYTES", DEFAULT_MAX_BODY)),
            db_timeout_seconds=_float("AFTERSALES_INGEST_DB_TIMEOUT", DEFAULT_DB_TIMEOUT),
        )
