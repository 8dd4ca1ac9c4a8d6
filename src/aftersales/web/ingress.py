"""Webhook ingress: size cap, raw body, signature, parse, one durable insert, then enqueue.

The path of one webhook (DESIGN §3, §10) is, in order:

1. read the body from the stream, refusing it past the cap (413) — ``Content-Length`` is
   checked first but never trusted alone, since chunked bodies have none;
2. unknown platform, or a shop that is not registered on that platform → 404;
3. WooCommerce's activation ping (an unsigned form body ``webhook_id=N``) → 200, nothing kept
   but the delivery log line: WooCommerce refuses to activate a webhook whose ping fails;
4. the signature over the exact bytes with *this* shop's secrets only → 401 (so one shop's
   secret never authorizes another shop's route);
5. a signed body that is not JSON, or has no dedupe key → 400;
6. one transaction inserts the inbox row (``UNIQUE (shop_id, dedupe_key)``: a re-send is a
   duplicate and changes nothing) and the delivery row → 200; the runtime is told after the
   response is sent, because a pending inbox row is also found by the engine's sweeper.

Steps 2-6 run in one worker thread (the database driver and the HMAC over up to 1 MiB are
blocking); the event loop only reads the body and writes the answer. Nothing on this path
talks to a platform: "never trust order of arrival, refetch" happens in the engine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import anyio
import structlog
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.platforms import PlatformAdapter, WebhookEnvelope
from aftersales.plugins import Plugins
from aftersales.store.models import InboxItem, Shop
from aftersales.web.deliverylog import record_delivery, redact_headers
from aftersales.web.metrics import WebMetrics
from aftersales.web.runtime import Clock, IngressRuntime
from aftersales.web.settings import WebSettings

log = structlog.get_logger("aftersales.web.ingress")

SIGNATURE_DIGESTS = "_signature_digests"
"""Key in a delivery's stored headers holding SHA-256 digests of its signature headers.

The signature itself is redacted; its digest lets ``aftersales replay`` re-verify a
rejected delivery after a secret fix (see :func:`reverify`) without keeping anything that
could be presented to the ingress again.
"""


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    PING = "ping"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_PLATFORM = "unknown_platform"
    UNKNOWN_SHOP = "unknown_shop"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    ERROR = "error"

    @property
    def status_code(self) -> int:
        return _STATUS[self]


_STATUS = {
    Outcome.ACCEPTED: 200,
    Outcome.DUPLICATE: 200,
    Outcome.PING: 200,
    Outcome.BAD_SIGNATURE: 401,
    Outcome.UNKNOWN_PLATFORM: 404,
    Outcome.UNKNOWN_SHOP: 404,
    Outcome.MALFORMED: 400,
    Outcome.TOO_LARGE: 413,
    Outcome.ERROR: 503,
}

_MESSAGES = {
    Outcome.ACCEPTED: "accepted",
    Outcome.DUPLICATE: "already received",
    Outcome.PING: "pong",
    Outcome.BAD_SIGNATURE: "invalid signature",
    Outcome.UNKNOWN_PLATFORM: "not found",
    Outcome.UNKNOWN_SHOP: "not found",
    Outcome.MALFORMED: "malformed body",
    Outcome.TOO_LARGE: "body too large",
    Outcome.ERROR: "temporarily unavailable, retry later",
}


@dataclass(frozen=True)
class Verdict:
    """What the ingress decided about one delivery."""

    outcome: Outcome
    topic: str | None = None
    inbox_id: int | None = None
    delivery_id: int | None = None
    error: str | None = None


class IngestUnavailable(RuntimeError):
    """The database could not take the delivery: answer 503 so the platform retries."""


def signature_digests(headers: Mapping[str, str]) -> dict[str, str]:
    """SHA-256 of every signature-like header value (see :data:`SIGNATURE_DIGESTS`)."""
    return {
        name.lower(): hashlib.sha256(value.strip().encode("utf-8", "replace")).hexdigest()
        for name, value in headers.items()
        if "signature" in name.lower() or "hmac" in name.lower()
    }


def _stored_headers(headers: Mapping[str, str]) -> dict[str, Any]:
    stored: dict[str, Any] = dict(redact_headers(headers.items()))
    digests = signature_digests(headers)
    if digests:
        stored[SIGNATURE_DIGESTS] = digests
    return stored


def insert_inbox(
    session: Session,
    *,
    shop_id: str,
    platform: str,
    envelope: WebhookEnvelope,
    body: bytes,
    source: str,
    received_at: Any,
) -> tuple[int, bool]:
    """Insert the inbox row unless its dedupe key is already there: ``(inbox_id, created)``.

    ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` is one statement on both SQLite and
    PostgreSQL, so two concurrent re-sends of the same webhook cannot both be accepted and
    neither waits on an exception/rollback round trip.
    """
    assert envelope.topic is not None and envelope.dedupe_key is not None
    values = {
        "shop_id": shop_id,
        "platform": platform,
        "topic": envelope.topic,
        "dedupe_key": envelope.dedupe_key,
        "body": body,
        "source": source,
        "state": "pending",
        "attempts": 0,
        "received_at": received_at,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(InboxItem).values(**values).on_conflict_do_nothing()
    elif dialect == "postgresql":
        stmt = postgresql.insert(InboxItem).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - the store supports these two
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    new_id = session.execute(stmt.returning(InboxItem.id)).scalar_one_or_none()
    if new_id is not None:
        return int(new_id), True
    existing = session.execute(
        select(InboxItem.id).where(InboxItem.shop_id == shop_id, InboxItem.dedupe_key == envelope.dedupe_key)
    ).scalar_one()
    return int(existing), False


def safe_envelope(
    adapter: PlatformAdapter, body: bytes, headers: Mapping[str, str]
) -> tuple[WebhookEnvelope | None, str | None]:
    try:
        return adapter.envelope(body, headers), None
    except Exception as exc:  # a plugin bug or hostile input must never become a 500
        return None, f"{type(exc).__name__}: {exc}"


def safe_verify(
    adapter: PlatformAdapter, body: bytes, headers: Mapping[str, str], secrets: list[str]
) -> bool:
    try:
        return bool(adapter.verify(body, headers, secrets))
    except Exception:  # a verifier that crashes on odd input has not verified anything
        return False


def parse_problem(body: bytes) -> str | None:
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"body is not JSON: {exc}"
    return None


def envelope_problem(envelope: WebhookEnvelope | None, error: str | None) -> str | None:
    if envelope is None:
        return error or "the platform plugin could not read the headers"
    if not envelope.topic:
        return "no topic header"
    if not envelope.dedupe_key:
        return "no dedupe key (webhook id) in the headers"
    if len(envelope.topic) > 100 or len(envelope.dedupe_key) > 300:
        return "topic or dedupe key too long"
    return None


class Ingress:
    """The synchronous half of the webhook route: everything that touches the database."""

    def __init__(self, sessions: sessionmaker[Session], plugins: Plugins, clock: Clock) -> None:
        self.sessions = sessions
        self.plugins = plugins
        self.clock = clock

    def _shop_secrets(self, platform: str, shop_id: str) -> list[str] | None:
        with self.sessions() as session:
            shop = session.get(Shop, shop_id)
            if shop is None or shop.platform != platform or not shop.active:
                return None
            return [str(s) for s in shop.webhook_secrets or []]

    def _log_rejection(
        self,
        *,
        platform: str,
        shop_id: str,
        outcome: Outcome,
        topic: str | None,
        headers: Mapping[str, str],
        body: bytes | None,
        body_size: int,
        error: str | None,
    ) -> int | None:
        """Write the delivery row of a refused request; a failing database does not change the answer."""
        try:
            with self.sessions() as session, session.begin():
                row = record_delivery(
                    session,
                    platform=platform,
                    shop_id=shop_id,
                    topic=topic,
                    received_at=self.clock.now(),
                    status_code=outcome.status_code,
                    outcome=outcome.value,
                    headers=_stored_headers(headers),
                    body=body,
                    body_size=body_size,
                    error=error,
                )
                session.flush()
                return row.id
        except SQLAlchemyError as exc:
            log.warning("delivery_log_failed", platform=platform, shop_id=shop_id, error=type(exc).__name__)
            return None

    def refuse(
        self,
        *,
        platform: str,
        shop_id: str,
        outcome: Outcome,
        headers: Mapping[str, str],
        body: bytes | None,
        body_size: int,
        topic: str | None = None,
        error: str | None = None,
    ) -> Verdict:
        delivery_id = self._log_rejection(
            platform=platform,
            shop_id=shop_id,
            outcome=outcome,
            topic=topic,
            headers=headers,
            body=body,
            body_size=body_size,
            error=error,
        )
        return Verdict(outcome=outcome, topic=topic, delivery_id=delivery_id, error=error)

    def ingest(self, platform: str, shop_id: str, body: bytes, headers: Mapping[str, str]) -> Verdict:
        """Decide and record one delivery whose body is already read (and within the cap).

        Raises :class:`IngestUnavailable` when the database cannot record an acceptable
        delivery: it must not be acknowledged.
        """
        size = len(body)
        adapter = self.plugins.platforms().get(platform)
        if adapter is None:
            return self.refuse(
                platform=platform,
                shop_id=shop_id,
                outcome=Outcome.UNKNOWN_PLATFORM,
                headers=headers,
                body=body,
                body_size=size,
            )
        try:
            secrets = self._shop_secrets(platform, shop_id)
        except SQLAlchemyError as exc:
            raise IngestUnavailable(f"shop lookup failed: {type(exc).__name__}") from exc
        if secrets is None:
            return self.refuse(
                platform=platform,
                shop_id=shop_id,
                outcome=Outcome.UNKNOWN_SHOP,
                headers=headers,
                body=body,
                body_size=size,
            )
        envelope, envelope_error = safe_envelope(adapter, body, headers)
        topic = envelope.topic if envelope is not None else None
        if envelope is not None and envelope.is_ping:
            return self.refuse(
                platform=platform,
                shop_id=shop_id,
                outcome=Outcome.PING,
                topic=topic,
                headers=headers,
                body=body,
                body_size=size,
            )
        if not secrets or not safe_verify(adapter, body, headers, secrets):
            return self.refuse(
                platform=platform,
                shop_id=shop_id,
                outcome=Outcome.BAD_SIGNATURE,
                topic=topic,
                headers=headers,
                body=body,
                body_size=size,
            )
        problem = parse_problem(body) or envelope_problem(envelope, envelope_error)
        if problem is not None or envelope is None:
            return self.refuse(
                platform=platform,
                shop_id=shop_id,
                outcome=Outcome.MALFORMED,
                topic=topic,
                headers=headers,
                body=body,
                body_size=size,
                error=problem,
            )
        return self.record(platform, shop_id, envelope, body, headers, source="webhook")

    def record(
        self,
        platform: str,
        shop_id: str,
        envelope: WebhookEnvelope,
        body: bytes,
        headers: Mapping[str, str],
        *,
        source: str,
    ) -> Verdict:
        """One transaction: the inbox row (or the existing one) and the delivery row."""
        now = self.clock.now()
        try:
            with self.sessions() as session, session.begin():
                inbox_id, created = insert_inbox(
                    session,
                    shop_id=shop_id,
                    platform=platform,
                    envelope=envelope,
                    body=body,
                    source=source,
                    received_at=now,
                )
                outcome = Outcome.ACCEPTED if created else Outcome.DUPLICATE
                row = record_delivery(
                    session,
                    platform=platform,
                    shop_id=shop_id,
                    topic=envelope.topic,
                    received_at=now,
                    status_code=outcome.status_code,
                    outcome=outcome.value,
                    headers=_stored_headers(headers),
                    # the inbox row holds the accepted body; a duplicate's bytes may differ
                    body=None if created else body,
                    body_size=len(body),
                    inbox_id=inbox_id,
                )
                session.flush()
                delivery_id = row.id
        except (DBAPIError, SQLAlchemyError) as exc:
            raise IngestUnavailable(f"recording the delivery failed: {type(exc).__name__}") from exc
        return Verdict(outcome=outcome, topic=envelope.topic, inbox_id=inbox_id, delivery_id=delivery_id)


def reverify(
    adapter: PlatformAdapter, body: bytes, stored_headers: Mapping[str, Any], secrets: list[str]
) -> dict[str, str] | None:
    """Rebuild the original signed headers of a stored delivery, if the secrets now sign it.

    The log keeps only a SHA-256 digest of each signature header. Both built-in platforms
    sign with base64 HMAC-SHA256 over the body, so for each secret the signature it would
    produce is computed and compared with the digest; a match restores the header, and the
    adapter's own ``verify`` still has the final word. A platform with another scheme
    cannot be re-verified this way and gets ``None``.
    """
    digests = stored_headers.get(SIGNATURE_DIGESTS)
    if not isinstance(digests, dict) or not digests:
        return None
    headers = {str(k): str(v) for k, v in stored_headers.items() if k != SIGNATURE_DIGESTS}
    restored = False
    for secret in secrets:
        candidate = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        fingerprint = hashlib.sha256(candidate.encode()).hexdigest()
        for name, digest in digests.items():
            if hmac.compare_digest(str(digest), fingerprint):
                headers[str(name)] = candidate
                restored = True
    if not restored or not safe_verify(adapter, body, headers, secrets):
        return None
    return headers


async def read_capped(request: Request, limit: int) -> tuple[bytes, int, bool]:
    """Read at most ``limit`` bytes of the body: ``(body, bytes_seen, too_large)``.

    Stops reading as soon as the limit is passed, so a sender cannot make the service
    buffer more than ``limit`` (plus one chunk) whatever it declares.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        return b"", int(declared), True
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            kept = b"".join(chunks) + chunk
            return kept[:limit], seen, True
        chunks.append(chunk)
    return b"".join(chunks), seen, False


def webhook_endpoint(
    runtime: IngressRuntime, settings: WebSettings, metrics: WebMetrics
) -> Any:  # an ASGI-callable Starlette endpoint
    ingress = Ingress(runtime.sessions, runtime.plugins, runtime.clock)
    known_platforms = frozenset(runtime.plugins.platforms())

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        platform = str(request.path_params["platform"])
        shop_id = str(request.path_params["shop_id"])
        headers = request.headers
        body, seen, too_large = await read_capped(request, settings.max_body_bytes)
        try:
            if too_large:
                verdict = await anyio.to_thread.run_sync(
                    lambda: ingress.refuse(
                        platform=platform,
                        shop_id=shop_id,
                        outcome=Outcome.TOO_LARGE,
                        headers=headers,
                        body=body or None,
                        body_size=seen,
                        error=f"body of {seen} bytes exceeds the {settings.max_body_bytes}-byte cap",
                    ),
                    abandon_on_cancel=True,
                )
            else:
                with anyio.fail_after(settings.db_timeout_seconds):
                    verdict = await anyio.to_thread.run_sync(
                        ingress.ingest, platform, shop_id, body, headers, abandon_on_cancel=True
                    )
        except (IngestUnavailable, TimeoutError) as exc:
            error = str(exc) if isinstance(exc, IngestUnavailable) else "database write timed out"
            verdict = Verdict(outcome=Outcome.ERROR, error=error)
        outcome = verdict.outcome
        elapsed = time.perf_counter() - started
        label = platform if platform in known_platforms else "unknown"
        metrics.observe_delivery(label, outcome.value, elapsed)
        log.info(
            "webhook",
            platform=platform,
            shop_id=shop_id,
            outcome=outcome.value,
            status=outcome.status_code,
            topic=verdict.topic,
            delivery_id=verdict.delivery_id,
            inbox_id=verdict.inbox_id,
            bytes=seen,
            ms=round(elapsed * 1000, 2),
            error=verdict.error if outcome in (Outcome.MALFORMED, Outcome.ERROR) else None,
        )
        background = None
        if outcome is Outcome.ACCEPTED and verdict.inbox_id is not None:
            background = BackgroundTask(_submit, runtime, verdict.inbox_id)
        payload: dict[str, Any] = {"status": _MESSAGES[outcome]}
        if verdict.delivery_id is not None:
            payload["delivery_id"] = verdict.delivery_id
        headers_out = {"Retry-After": "5"} if outcome is Outcome.ERROR else None
        return JSONResponse(
            payload, status_code=outcome.status_code, background=background, headers=headers_out
        )

    return webhook


async def _submit(runtime: IngressRuntime, inbox_id: int) -> None:
    """Tell the engine after the answer went out; a miss is caught by its sweep of pending rows."""
    try:
        await runtime.submit_inbox_async(inbox_id)
    except Exception as exc:  # the row is committed; the sweeper will find it
        log.warning("enqueue_failed", inbox_id=inbox_id, error=f"{type(exc).__name__}: {exc}")
