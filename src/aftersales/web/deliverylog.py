"""The webhook delivery log: every request to the ingress, accepted or not, with redacted headers.

Why keep rejected requests too: WooCommerce never retries and disables a webhook after five
failures, so when a merchant's secret is wrong the only copy of the lost deliveries is this
log; ``aftersales replay`` re-verifies them once the secret is fixed. Why redact: signature
headers are a function of the secret and the body, and tokens or cookies that a proxy adds
must never end up readable in a table an operator lists on a terminal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, insert

from aftersales.store.models import Delivery

REDACTED = "[redacted]"

_SENSITIVE_PARTS = (
    "signature",
    "hmac",
    "token",
    "authorization",
    "cookie",
    "secret",
    "password",
    "api-key",
    "apikey",
    "x-api-key",
    "session",
)
"""A header whose lower-cased name contains one of these is never stored in clear."""

MAX_HEADER_VALUE = 1000
MAX_HEADERS = 100


_SENSITIVE = re.compile("|".join(re.escape(part) for part in _SENSITIVE_PARTS), re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def is_sensitive_header(name: str) -> bool:
    """Cached: the same few header names arrive on every request."""
    return _SENSITIVE.search(name) is not None


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict for the log: sensitive values replaced, long values and lists cut.

    Repeated headers are joined with ``, `` (RFC 9110 list semantics); a sender cannot grow a
    row without bound with thousands of headers or a megabyte-long value.
    """
    kept: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if name not in kept and len(kept) >= MAX_HEADERS:
            continue
        value = REDACTED if is_sensitive_header(name) else raw_value[:MAX_HEADER_VALUE]
        if name in kept and value != REDACTED:
            kept[name] = (kept[name] + ", " + value)[:MAX_HEADER_VALUE]
        else:
            kept[name] = value
    return kept


DELIVERIES = cast(Table, Delivery.__table__)
_INSERT = insert(DELIVERIES).returning(DELIVERIES.c.id, sort_by_parameter_order=True)


def delivery_row(
    *,
    platform: str,
    shop_id: str | None,
    topic: str | None,
    received_at: datetime,
    status_code: int,
    outcome: str,
    headers: dict[str, Any],
    body: bytes | None,
    body_size: int,
    inbox_id: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The column values of one delivery row, cut to the column sizes."""
    return {
        "platform": platform[:32],
        "shop_id": shop_id[:64] if shop_id is not None else None,
        "topic": topic[:100] if topic is not None else None,
        "received_at": received_at,
        "status_code": status_code,
        "outcome": outcome,
        "headers": headers,
        "body": body,
        "body_size": body_size,
        "inbox_id": inbox_id,
        "error": error[:2000] if error else None,
    }


def insert_deliveries(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert delivery rows in the caller's transaction; their ids, in the order given.

    One multi-row ``INSERT … RETURNING`` compiled once, not an ORM unit of work: the ingress
    writes one row per request, and per-row ORM bookkeeping cost more than SQLite's commit.
    """
    if not rows:
        return []
    return [int(row_id) for row_id in connection.execute(_INSERT, rows).scalars()]


def delivery_summary(row: Delivery) -> dict[str, Any]:
    """A delivery as JSON-ready data for the CLI (no body, headers already redacted)."""
    return {
        "id": row.id,
        "received_at": row.received_at.isoformat(),
        "platform": row.platform,
        "shop_id": row.shop_id,
        "topic": row.topic,
        "status_code": row.status_code,
        "outcome": row.outcome,
        "body_size": row.body_size,
        "inbox_id": row.inbox_id,
        "error": row.error,
        "headers": row.headers,
    }
